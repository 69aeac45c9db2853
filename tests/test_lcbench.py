"""LCBench loaders (raw json, official zip, syne-tune layout) and the api.py facade, checked field by field."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from lcsim import benchmarks
from lcsim.benchmarks.lcbench import TAG_METRICS, LCBenchBenchmark, clear_cache, read_raw
from lcsim.errors import DataFormatError, DataNotFoundError, UnknownNameError
from lcsim.testing.fixtures import lcbench_raw_dict, write_lcbench_raw, write_lcbench_syne_tune

HPS = ["batch_size", "learning_rate", "momentum", "weight_decay", "num_layers", "max_units", "max_dropout"]


@pytest.fixture(autouse=True)
def _fresh():
    clear_cache()
    yield
    clear_cache()


@pytest.fixture
def raw_root(tmp_path):
    data = write_lcbench_raw(tmp_path / "lcbench" / "data_2k_lw.json", n_configs=5, seed=1)
    return tmp_path, data


def _check_against_raw(task, runs, metric_names):
    ids = sorted(runs, key=int)
    assert task.n_configs == len(ids) and task.n_seeds == 1 and task.n_epochs == 50
    assert list(task.configs.columns) == HPS
    for i, cid in enumerate(ids):
        cfg, log = runs[cid]["config"], runs[cid]["log"]
        for hp in HPS:
            want = 1 if cfg[hp] is True else cfg[hp]
            assert task.configs.loc[i, hp] == pytest.approx(want, rel=1e-12), (cid, hp)
        for m in metric_names:
            tag = TAG_METRICS[m][0]
            for e in range(50):  # epoch e+1 is raw index e+1; index 0 and the repeated index 51 are dropped
                assert task.curves[i, 0, e, task.metric_index(m)] == pytest.approx(log[tag][e + 1], rel=1e-6)
        for e in range(50):
            assert task.epoch_cost[i, 0, e] == pytest.approx(log["time"][e + 1] - log["time"][e], rel=1e-5)


def test_raw_json_field_by_field(raw_root):
    root, data = raw_root
    bench = LCBenchBenchmark(root)
    assert bench.tasks() == list(data)
    for name in data:
        task = bench.load(name)
        assert task.benchmark == "lcbench" and task.name == name
        assert task.objective == "val_balanced_accuracy" and not task.minimize
        assert list(task.metrics) == ["val_balanced_accuracy", "val_accuracy", "val_cross_entropy",
                                      "test_balanced_accuracy", "test_accuracy", "test_cross_entropy",
                                      "train_loss", "train_accuracy"]
        assert task.metrics["val_cross_entropy"].minimize and task.metrics["train_loss"].minimize
        assert not task.metrics["test_accuracy"].minimize
        assert task.cost_unit == "seconds" and task.version.startswith("lcbench-data_2k_lw.json-")
        assert not task.diverged.any()
        np.testing.assert_array_equal(task.fidelities, np.arange(1, 51))
        _check_against_raw(task, data[name], list(task.metrics))
    # the raw fixture spells one layer as JSON true
    assert bench.load("credit-g").configs.loc[1, "num_layers"] == 1


def test_space_matches_lcbench_ranges(raw_root):
    root, _ = raw_root
    space = LCBenchBenchmark(root).load("adult").space
    want = {"batch_size": (16, 512, True), "learning_rate": (1e-4, 1e-1, True), "momentum": (0.1, 0.99, False),
            "weight_decay": (1e-5, 1e-1, False), "num_layers": (1, 5, False), "max_units": (64, 1024, True),
            "max_dropout": (0.0, 1.0, False)}
    assert sorted(space.keys()) == sorted(want)
    for name, (lo, hi, log) in want.items():
        hp = space[name]
        assert (hp.lower, hp.upper, hp.log) == (lo, hi, log), name


def test_zip_layout_equals_json(tmp_path):
    data = write_lcbench_raw(tmp_path / "z" / "lcbench" / "data_2k_lw.zip", n_configs=4, seed=2)
    write_lcbench_raw(tmp_path / "j" / "lcbench" / "data_2k_lw.json", data=data)
    a = LCBenchBenchmark(tmp_path / "z").load("vehicle")
    b = LCBenchBenchmark(tmp_path / "j").load("vehicle")
    np.testing.assert_array_equal(a.curves, b.curves)
    np.testing.assert_array_equal(a.epoch_cost, b.epoch_cost)
    assert a.configs.equals(b.configs)


def test_full_variant_and_registry(tmp_path, monkeypatch):
    data = write_lcbench_raw(tmp_path / "lcbench" / "data_2k.json", datasets=("kc1",), n_configs=3, seed=3)
    monkeypatch.setenv("LCSIM_DATA", str(tmp_path))
    task = benchmarks.load("lcbench", "kc1")
    _check_against_raw(task, data["kc1"], list(task.metrics))
    with pytest.raises(DataNotFoundError, match="download lcbench"):
        benchmarks.load("lcbench", "kc1", variant="lw")


def test_syne_tune_layout_matches_raw(raw_root, tmp_path):
    root, data = raw_root
    st = write_lcbench_syne_tune(tmp_path / "st" / "lcbench", data)
    raw_bench, st_bench = LCBenchBenchmark(root), LCBenchBenchmark(tmp_path / "st")
    assert st_bench.tasks() == list(data)
    for name in data:
        a, b = raw_bench.load(name), st_bench.load(name, source="syne_tune")
        assert list(b.metrics) == ["val_balanced_accuracy", "val_accuracy", "val_cross_entropy",
                                   "test_balanced_accuracy", "test_accuracy", "test_cross_entropy"]
        for m in b.metrics:  # float32 storage in syne-tune's npy
            np.testing.assert_allclose(b.curves[..., b.metric_index(m)], a.curves[..., a.metric_index(m)],
                                       rtol=1e-6, atol=1e-5)
        np.testing.assert_allclose(b.epoch_cost, a.epoch_cost, rtol=1e-4, atol=1e-3)
        for hp in HPS:
            np.testing.assert_allclose(b.configs[hp].to_numpy(float), a.configs[hp].to_numpy(float), rtol=1e-12)
        assert b.extra["source"] == "syne_tune"
    assert st_bench._paths()["syne_tune"] == st  # lcbench/ itself; lcbench/syne_tune/: the test below


def test_syne_tune_subfolder_beside_raw_files(raw_root):
    """``lcbench/syne_tune/`` is searched; under ``auto`` the raw json wins, ``source="syne_tune"`` reads the
    converted files (as the README's data section says)."""
    root, data = raw_root
    write_lcbench_syne_tune(root / "lcbench" / "syne_tune", data)
    bench = LCBenchBenchmark(root)
    assert bench._paths()["syne_tune"] == root / "lcbench" / "syne_tune"
    auto = bench.load("adult", cache=False)
    syne = bench.load("adult", source="syne_tune", cache=False)
    assert auto.extra["source"] == "data_2k_lw.json" and syne.extra["source"] == "syne_tune"
    assert "train_loss" in auto.metrics and "train_loss" not in syne.metrics  # the raw json has more tags
    np.testing.assert_allclose(syne.curves[..., 0], auto.curves[..., 0], rtol=1e-6)


def test_readme_documents_syne_tune_repository():
    """The README's data section names syne-tune's default repository, the subfolders read and how a layout is
    chosen (where a syne-tune pd1/ folder also holds the raw files)."""
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = readme[readme.index("## Benchmark data"):readme.index("## Running a comparison")]
    for phrase in ("~/.blackbox-repository/", "`lcbench/syne_tune/`", 'source="syne_tune"', 'source="auto"',
                   "reads the raw files whenever any are present", "`pd1/` holds syne-tune's per-task files and also",
                   "`1 - momentum`", "plot_by_name", "`cache=False`"):
        assert phrase in section, phrase


def _check_syne_tune_task_against_raw(task, runs):
    """Brute force: every metric of every config and epoch, and the per-epoch cost, against the raw json tags."""
    for m in task.metrics:
        tag = TAG_METRICS[m][0]
        for i in range(task.n_configs):
            log = runs[str(i)]["log"]
            for e in range(task.n_epochs):
                if task.curves[i, 0, e, task.metric_index(m)] != pytest.approx(log[tag][e + 1], rel=1e-5, abs=1e-5):
                    return f"{m} config {i} epoch {e + 1}"
    for i in range(task.n_configs):
        t = runs[str(i)]["log"]["time"]
        want = np.diff(np.asarray(t[:-1], dtype=float))
        if not np.allclose(task.epoch_cost[i, 0], want, rtol=1e-4, atol=1e-3):
            return f"cost config {i}"
    return None


def test_syne_tune_objective_order_read_by_the_loader(raw_root, tmp_path):
    """syne-tune stores the 7 objectives in its order (val_accuracy, val_balanced_accuracy, ...); lcsim's loader
    must take each metric from the column metadata.json names for it. Checked on the loaded task against the raw
    tags; the same check rejects a task loaded with a wrong order (metadata listing the columns permuted)."""
    _, data = raw_root
    st = write_lcbench_syne_tune(tmp_path / "ok" / "lcbench", data)
    meta = json.loads((st / "metadata.json").read_text())
    assert meta["objectives_names"] == ["val_accuracy", "val_balanced_accuracy", "val_cross_entropy",
                                        "test_accuracy", "test_balanced_accuracy", "test_cross_entropy", "time"]
    bench = LCBenchBenchmark(tmp_path / "ok")
    for name in data:
        task = bench.load(name, source="syne_tune", cache=False)
        assert list(task.metrics) == ["val_balanced_accuracy", "val_accuracy", "val_cross_entropy",
                                      "test_balanced_accuracy", "test_accuracy", "test_cross_entropy"]
        assert _check_syne_tune_task_against_raw(task, data[name]) is None, name
    # a wrong order: swap the names of the two accuracy columns and of time/test_cross_entropy
    wrong = list(meta["objectives_names"])
    wrong[0], wrong[1], wrong[5], wrong[6] = wrong[1], wrong[0], wrong[6], wrong[5]
    bad = write_lcbench_syne_tune(tmp_path / "bad" / "lcbench", data)
    (bad / "metadata.json").write_text(json.dumps(dict(meta, objectives_names=wrong)))
    task = LCBenchBenchmark(tmp_path / "bad").load("adult", source="syne_tune", cache=False)
    assert _check_syne_tune_task_against_raw(task, data["adult"]) == "val_balanced_accuracy config 0 epoch 1"


# ------------------------------------------------------------------------------------------------ errors
def test_missing_files_name_the_download_command(tmp_path):
    bench = LCBenchBenchmark(tmp_path)
    assert "credit-g" in bench.tasks() and len(bench.tasks()) == 35
    with pytest.raises(DataNotFoundError, match=r"python -m lcsim.data download lcbench"):
        bench.load("credit-g")


def test_unknown_task_suggests(raw_root):
    root, _ = raw_root
    with pytest.raises(UnknownNameError, match=r"Did you mean 'credit-g'"):
        LCBenchBenchmark(root).load("credit_g")
    with pytest.raises(UnknownNameError, match="'adult'"):
        LCBenchBenchmark(root / "nothing").load("adlt")  # published list when no file is present


@pytest.mark.parametrize("damage", ["truncate", "not_object", "short_curve", "no_tag", "text_value", "no_config"])
def test_malformed_raw_json(tmp_path, damage):
    path = tmp_path / "lcbench" / "data_2k_lw.json"
    data = lcbench_raw_dict(datasets=("adult",), n_configs=3)
    run = data["adult"]["2"]
    if damage == "truncate":
        path.parent.mkdir(parents=True)
        path.write_text(json.dumps(data)[:-500])
    else:
        if damage == "not_object":
            data = [1, 2, 3]
        elif damage == "short_curve":
            run["log"]["Train/val_cross_entropy"] = run["log"]["Train/val_cross_entropy"][:30]
        elif damage == "no_tag":
            del run["log"]["Train/val_accuracy"]
        elif damage == "text_value":
            run["log"]["Train/val_balanced_accuracy"][4] = "n/a"
        elif damage == "no_config":
            del run["config"]["max_units"]
        write_lcbench_raw(path, data=data)
    with pytest.raises(DataFormatError):
        LCBenchBenchmark(tmp_path).load("adult")


def test_truncated_zip(tmp_path):
    path = tmp_path / "lcbench" / "data_2k_lw.zip"
    write_lcbench_raw(path, datasets=("adult",), n_configs=3)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(DataFormatError, match="zip"):
        LCBenchBenchmark(tmp_path).load("adult")


def test_malformed_syne_tune(raw_root, tmp_path):
    _, data = raw_root
    st = write_lcbench_syne_tune(tmp_path / "st" / "lcbench", data)
    bench = LCBenchBenchmark(tmp_path / "st")
    np.save(st / "objectives_evaluations.npy", np.zeros((3, 5, 1, 50, 6), dtype=np.float32))
    with pytest.raises(DataFormatError, match="shape"):
        bench.load("adult")
    (st / "objectives_evaluations.npy").write_bytes(b"\x93NUMPY garbage")
    with pytest.raises(DataFormatError):
        bench.load("adult")
    (st / "hyperparameters.parquet").write_bytes(b"PAR1 truncated")
    with pytest.raises(DataFormatError, match="parquet"):
        bench.load("adult")
    (st / "metadata.json").write_text("{not json")
    with pytest.raises(DataFormatError, match="metadata"):
        bench.load("adult")


def test_saved_task_round_trip(raw_root, tmp_path):
    root, _ = raw_root
    task = LCBenchBenchmark(root).load("adult")
    back = type(task).from_file(task.save(tmp_path / "t.npz"))
    np.testing.assert_allclose(back.curves, task.curves, rtol=1e-6)
    assert back.configs.equals(task.configs) and back.version == task.version


# ------------------------------------------------------------------------------------------------ facade
def test_facade_answers_like_the_raw_json(raw_root):
    from lcsim.benchmarks.lcbench_api import Benchmark

    root, data = raw_root
    path = root / "lcbench" / "data_2k_lw.json"
    bench = Benchmark(str(path), cache=False)
    assert bench.get_dataset_names() == list(data)
    assert bench.get_openml_task_ids() == [data[d]["1"]["config"]["OpenML_task_id"] for d in data]
    for ds in data:
        assert bench.get_number_of_configs(ds) == len(data[ds])
        for cid, run in data[ds].items():
            for id_ in (cid, int(cid)):
                for tag, v in run["log"].items():
                    assert bench.query(ds, tag, id_) == v
                for tag, v in run["results"].items():
                    assert bench.query(dataset_name=ds, tag=tag, config_id=id_) == v
                for tag, v in run["config"].items():
                    assert bench.query(ds, tag, id_) == v
                assert bench.query(ds, "config", id_) == run["config"]
                assert bench.get_config(ds, id_) == run["config"]
            assert bench.get_queriable_tags(ds, cid) == (list(run["log"]) + list(run["results"])
                                                         + list(run["config"]) + ["config"])
    first = data[next(iter(data))]["0"]
    assert bench.get_queriable_tags() == list(first["log"]) + list(first["results"]) + list(first["config"]) \
        + ["config"]
    # query_best: brute force over the maximum of the criterion curve
    ds, crit = "adult", "Train/val_balanced_accuracy"
    ranked = sorted(data[ds], key=lambda c: max(data[ds][c]["log"][crit]), reverse=True)
    for pos in range(3):
        want = data[ds][ranked[pos]]["log"]["Train/val_accuracy"]
        assert bench.query_best(ds, "Train/val_accuracy", crit, pos) == want
    # a folder or the zip work too, and get_task is the loader's task
    assert Benchmark(root / "lcbench").get_dataset_names() == list(data)
    t = bench.get_task("adult")
    np.testing.assert_array_equal(t.curves, LCBenchBenchmark(root).load("adult", cache=False).curves)


def test_facade_errors_are_valueerrors_with_suggestions(raw_root):
    from lcsim.benchmarks.lcbench_api import Benchmark

    root, _ = raw_root
    bench = Benchmark(root / "lcbench" / "data_2k_lw.json")
    with pytest.raises(ValueError, match=r"Dataset name not found.*Did you mean 'credit-g'"):
        bench.query("credit_g", "time", 0)
    with pytest.raises(ValueError, match="Config nr 99 not found"):
        bench.query("adult", "time", 99)
    with pytest.raises(ValueError, match=r"Tag Train/val_acc not found.*Did you mean"):
        bench.query("adult", "Train/val_acc", 0)
    with pytest.raises(ValueError):
        bench.get_number_of_configs("nope")
    with pytest.raises(DataNotFoundError):
        Benchmark(root / "missing.json")


# What LCBench's api.py (github.com/automl/LCBench) raises at each call site, read from its code: ValueError from its
# explicit checks, KeyError where it indexes the json dict without a check, IndexError from the ranking list.
ORIGINAL_ERRORS = [
    ("query, unknown dataset", lambda b: b.query("credit_g", "time", 0), ValueError),
    ("query, unknown config", lambda b: b.query("adult", "time", 99), ValueError),
    ("query, unknown tag", lambda b: b.query("adult", "Train/val_acc", 0), ValueError),
    ("query_best, unknown dataset", lambda b: b.query_best("adlt", "time", "time"), KeyError),
    ("query_best, unknown criterion", lambda b: b.query_best("adult", "time", "Train/nope"), ValueError),
    ("get_queriable_tags, unknown dataset", lambda b: b.get_queriable_tags("adlt", 0), KeyError),
    ("get_queriable_tags, unknown config", lambda b: b.get_queriable_tags("adult", 99), KeyError),
    ("get_number_of_configs, unknown dataset", lambda b: b.get_number_of_configs("adlt"), ValueError),
    ("get_config, unknown dataset", lambda b: b.get_config("adlt", "0"), ValueError),
    ("get_config, unknown config", lambda b: b.get_config("adult", "99"), KeyError),
    ("plot_by_name, not a list", lambda b: b.plot_by_name(("adult",), "epoch", "time"), ValueError),
]


@pytest.mark.parametrize("site, call, original", ORIGINAL_ERRORS, ids=[e[0] for e in ORIGINAL_ERRORS])
def test_facade_raises_the_originals_types(raw_root, site, call, original):
    """Each error is the type the original raises there (so a client's ``except`` clause still catches it) and an
    lcsim error (so lcsim's own handling and message conventions apply)."""
    from lcsim.benchmarks.lcbench_api import Benchmark
    from lcsim.errors import LcsimError

    root, _ = raw_root
    with pytest.raises(original) as info:
        call(Benchmark(root / "lcbench" / "data_2k_lw.json"))
    assert isinstance(info.value, LcsimError), site
    other = KeyError if original is ValueError else ValueError
    assert not isinstance(info.value, other), site  # the other type: a client's other except branch stays dry


def test_facade_missing_file_is_a_valueerror_and_datanotfound(tmp_path):
    from lcsim.benchmarks.lcbench_api import Benchmark, BenchmarkFileNotFoundError

    for where in (tmp_path / "missing.json", tmp_path):  # a file, and a folder holding none
        try:
            Benchmark(str(where))
        except ValueError as exc:  # the original: ValueError("Please specify path to the bench json file.")
            assert isinstance(exc, DataNotFoundError) and isinstance(exc, BenchmarkFileNotFoundError)
            assert "download lcbench" in str(exc)
        else:
            pytest.fail(f"no error for {where}")


def test_facade_cache_defaults_to_the_originals_and_answers_are_not_shared(raw_root):
    """``cache=False`` is the default (as in the original): a client that mutates an answer changes only that
    object's later answers; with ``cache=True`` (shared parsed json) answers are copies."""
    import inspect

    from lcsim.benchmarks.lcbench_api import Benchmark

    root, data = raw_root
    path = root / "lcbench" / "data_2k_lw.json"
    assert inspect.signature(Benchmark).parameters["cache"].default is False
    tag = "Train/val_accuracy"
    want = list(data["adult"]["2"]["log"][tag])
    a = Benchmark(path)
    assert a.cache is False
    got = a.query("adult", tag, 2)
    got[0] = -1.0
    a.get_config("adult", 2)["momentum"] = -1.0
    assert a.query("adult", tag, 2)[0] == -1.0  # the original returns the stored list itself
    b = Benchmark(path)
    assert b.query("adult", tag, 2) == want and b.get_config("adult", 2) == data["adult"]["2"]["config"]
    for _ in range(2):  # two objects sharing the in-memory json
        c = Benchmark(path, cache=True)
        assert c.query("adult", tag, 2) == want
        c.query("adult", tag, 2)[0] = -1.0
        c.query("adult", "config", 2)["momentum"] = -1.0
        c.query_best("adult", tag, tag)[0] = -1.0
        c.get_config("adult", 2)["max_units"] = -1
        assert c.query("adult", tag, 2) == want
    assert c.data is read_raw(path)  # the one shared dict, unchanged by the mutations above
    assert read_raw(path)["adult"]["2"]["config"] == data["adult"]["2"]["config"]
    assert LCBenchBenchmark(root).load("adult", cache=False).curves[2, 0, 0, 1] == pytest.approx(want[1])


def _drawn(ax):
    return [(list(line.get_xdata()), list(line.get_ydata()), line.get_marker(), line.get_linestyle())
            for line in ax.lines]


def test_plot_by_name_draws_what_the_original_draws(raw_root, capsys):
    """Rows of axes per dataset; runs 1..n_configs (or the best by brute-force ranking) as 'p-' lines of y_col
    against x_col; x label "step"; the title from config 0's features/classes/instances; missing runs printed."""
    import matplotlib.pyplot as plt

    from lcsim.benchmarks.lcbench_api import Benchmark

    root, data = raw_root
    bench = Benchmark(root / "lcbench" / "data_2k_lw.json")
    names, y = ["adult", "vehicle"], "Train/val_accuracy"
    axes = bench.plot_by_name(dataset_names=names, x_col="epoch", y_col=y, n_configs=7)
    try:
        assert len(axes) == 2 and tuple(axes[0].figure.get_size_inches()) == (10, 14)
        for ax, ds in zip(axes, names):
            runs = data[ds]
            cfg = runs["0"]["config"]
            assert ax.get_title() == (f"{ds}, features: {cfg['features']}, classes: {cfg['classes']}, "
                                      f"instances: {cfg['instances']}")
            assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_xscale(), ax.get_yscale()) == ("step", y, "linear",
                                                                                            "linear")
            # config ids 1..7 asked for; the fixture has ids 0..4, so ids 1..4 are drawn
            assert _drawn(ax) == [(runs[c]["log"]["epoch"], runs[c]["log"][y], "p", "-") for c in "1234"]
        printed = capsys.readouterr().out.splitlines()
        assert printed == [f"Run {i} not found for dataset {ds}" for ds in names for i in (4, 5, 6)]
    finally:
        plt.close("all")
    crit = "Train/val_balanced_accuracy"
    ax = bench.plot_by_name("credit-g", "epoch", y, n_configs=3, show_best=True, xscale="log", yscale="log",
                            criterion=crit)
    try:
        runs = data["credit-g"]
        best = sorted(runs, key=lambda c: max(runs[c]["log"][crit]), reverse=True)[:3]
        assert tuple(ax.figure.get_size_inches()) == (10, 7) and (ax.get_xscale(), ax.get_yscale()) == ("log", "log")
        assert _drawn(ax) == [(runs[c]["log"]["epoch"], runs[c]["log"][y], "p", "-") for c in best]
        # criterion defaults to y_col
        ax2 = bench.plot_by_name(["credit-g"], "epoch", crit, n_configs=2, show_best=True)
        assert _drawn(ax2) == [(runs[c]["log"]["epoch"], runs[c]["log"][crit], "p", "-") for c in best[:2]]
    finally:
        plt.close("all")


def test_cached_read_is_reused(raw_root):
    root, _ = raw_root
    p = root / "lcbench" / "data_2k_lw.json"
    assert read_raw(p) is read_raw(p)
    assert read_raw(p, cache=False) is not read_raw(p)
    assert math.isfinite(LCBenchBenchmark(root).load("adult").oracle.best)


def _read_official(path):
    """Independent read of an official LCBench file (the zip's one json member, or the json): zipfile + json."""
    import zipfile

    if path.suffix == ".zip":
        with zipfile.ZipFile(path) as zf:
            member = next(m for m in zf.namelist() if m.endswith(".json") and not m.startswith("__MACOSX"))
            return json.loads(zf.read(member))
    return json.loads(path.read_text())


@pytest.fixture
def official_root(shared_data, tmp_path):
    """The shared data root when it holds LCBench's raw file; else an official-format ``data_2k_lw.zip`` (the
    figshare download: a zip holding ``data_2k_lw.json``) of all 35 datasets written by lcsim.testing.fixtures."""
    from lcsim.benchmarks.lcbench import LCBENCH_DATASETS

    found = LCBenchBenchmark(shared_data)._paths()["raw"]["lw"]
    if found is not None:
        return shared_data, found, 2000
    path = tmp_path / "lcbench" / "data_2k_lw.zip"
    write_lcbench_raw(path, datasets=tuple(LCBENCH_DATASETS), n_configs=4, seed=7)
    return tmp_path, path, 4


@pytest.mark.slow
def test_real_lcbench_layout(official_root):
    """The official file (real, or the official-format fixture when the shared data folder has none): its 35
    datasets, credit-g's task checked against an independent zipfile + json read, and the api.py facade on it."""
    from lcsim.benchmarks.lcbench import LCBENCH_DATASETS
    from lcsim.benchmarks.lcbench_api import Benchmark

    root, path, n_configs = official_root
    raw = _read_official(path)
    bench = LCBenchBenchmark(root)
    assert sorted(bench.tasks()) == sorted(LCBENCH_DATASETS) == sorted(raw)
    task = bench.load("credit-g", cache=False)
    assert task.curves.shape == (n_configs, 1, 50, len(task.metrics)) and task.extra["source"] == path.name
    runs = raw["credit-g"]
    for i in sorted({0, 1, n_configs // 2, n_configs - 1}):
        run = runs[str(i)]
        for m in task.metrics:
            want = np.asarray(run["log"][TAG_METRICS[m][0]][1:51], dtype=float)
            np.testing.assert_allclose(task.curves[i, 0, :, task.metric_index(m)], want, rtol=1e-12)
        np.testing.assert_allclose(task.epoch_cost[i, 0], np.maximum(np.diff(run["log"]["time"][:51]), 0),
                                   rtol=1e-12)
        for hp in HPS:
            v = run["config"][hp]
            assert task.configs.loc[i, hp] == (1 if v is True else v), (i, hp)
    facade = Benchmark(path)
    assert facade.get_dataset_names() == list(raw)
    assert facade.query("credit-g", "Train/val_accuracy", 1) == runs["1"]["log"]["Train/val_accuracy"]
    assert facade.get_openml_task_ids() == [raw[d]["1"]["config"]["OpenML_task_id"] for d in raw]


def test_parsed_task_cache_is_used_and_invalidated(raw_root, monkeypatch):
    """The second load reads lcsim's cache file; a changed source file is parsed again."""
    import lcsim.benchmarks.lcbench as lcb

    root, _ = raw_root
    calls = []
    real = lcb._parse
    monkeypatch.setattr(lcb, "_parse", lambda *a, **k: calls.append(1) or real(*a, **k))
    first = LCBenchBenchmark(root).load("adult")
    second = LCBenchBenchmark(root).load("adult")
    assert len(calls) == 1
    np.testing.assert_array_equal(first.curves, second.curves)
    clear_cache()
    write_lcbench_raw(root / "lcbench" / "data_2k_lw.json", n_configs=5, seed=2)
    third = LCBenchBenchmark(root).load("adult")
    assert len(calls) == 2
    assert not np.array_equal(np.nan_to_num(first.curves), np.nan_to_num(third.curves))
