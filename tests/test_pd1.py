"""PD1 loaders (raw jsonl.gz, syne-tune layout) checked field by field against the fixture records."""
from __future__ import annotations

import gzip
import json

import numpy as np
import pytest

from lcsim import benchmarks
from lcsim.benchmarks.pd1 import PD1_DPL_TASKS, PD1Benchmark, clear_cache
from lcsim.errors import DataFormatError, DataNotFoundError, InvalidParameterError, UnknownNameError
from lcsim.testing.fixtures import PD1_FILES, write_pd1_raw, write_pd1_syne_tune

RELU = "mnist_max_pooling_cnn_relu_batch_size_256"
CIFAR = "cifar10_wide_resnet_batch_size_256"
LM1B = "lm1b_transformer_batch_size_2048"
KEYS = {"valid_error_rate": "valid/error_rate", "valid_ce_loss": "valid/ce_loss", "train_error_rate":
        "train/error_rate", "train_ce_loss": "train/ce_loss", "test_error_rate": "test/error_rate",
        "test_ce_loss": "test/ce_loss"}
BOUNDED = {"valid_error_rate", "train_error_rate", "test_error_rate"}


@pytest.fixture(autouse=True)
def _fresh():
    clear_cache()
    yield
    clear_cache()


@pytest.fixture
def pd1_root(tmp_path):
    recs = write_pd1_raw(tmp_path / "pd1", seed=4)
    return tmp_path, recs


def _name(r):
    act = r.get("hps.activation_fn")
    return f"{r['dataset']}_{r['model']}{'' if act is None else '_' + act}_batch_size_{r['hps.batch_size']}"


def _expected(recs, task, files=PD1_FILES):
    rows = [r for f in files for r in recs[f] if _name(r) == task]
    length = max(len(r["valid/error_rate"]) for r in rows)
    return rows, length


def test_task_list_and_dpl_filter(pd1_root):
    root, _ = pd1_root
    bench = PD1Benchmark(root)
    assert bench.tasks() == sorted([RELU, "mnist_max_pooling_cnn_tanh_batch_size_256", CIFAR])
    assert set(bench.tasks(dpl_filter=False)) == set(bench.tasks()) | {LM1B, "imagenet_resnet_batch_size_1024"}
    with pytest.raises(UnknownNameError, match="dpl_filter=False"):
        bench.load(LM1B)
    task = bench.load(LM1B, dpl_filter=False)
    assert task.n_epochs == 5
    assert "test_error_rate" not in task.metrics  # transformers carry no test arrays
    with pytest.raises(InvalidParameterError, match="dpl_filter"):
        bench.load(RELU, dpl_filter="yes")


@pytest.mark.parametrize("task_name", [RELU, CIFAR])
def test_raw_field_by_field(pd1_root, task_name):
    root, recs = pd1_root
    task = PD1Benchmark(root).load(task_name)
    rows, length = _expected(recs, task_name)
    assert task.benchmark == "pd1" and task.name == task_name
    assert task.objective == "valid_error_rate" and task.minimize
    assert task.curves.shape == (len(rows), 1, length, 6)
    assert list(task.metrics) == list(KEYS)
    assert task.cost_unit == "seconds" and task.extra["cost_source"] == "eval_time"
    assert list(task.configs.columns) == ["lr_initial_value", "lr_power", "lr_decay_steps_factor",
                                          "one_minus_momentum"]
    for i, r in enumerate(rows):
        assert task.extra["trial_dir"][i] == r["trial_dir"]
        assert task.configs.loc[i, "lr_initial_value"] == r["hps.lr_hparams.initial_value"]
        assert task.configs.loc[i, "lr_power"] == r["hps.lr_hparams.power"]
        assert task.configs.loc[i, "lr_decay_steps_factor"] == r["hps.lr_hparams.decay_steps_factor"]
        assert task.configs.loc[i, "one_minus_momentum"] == 1 - r["hps.opt_hparams.momentum"]  # raw = momentum
        should_diverge = r["status"] == "diverged"
        for m, key in KEYS.items():
            raw = r[key]
            for e in range(length):
                v = raw[e] if e < len(raw) else None
                if v is not None and m in BOUNDED and not 0 <= v <= 1:
                    v = None
                got = task.curves[i, 0, e, task.metric_index(m)]
                if v is None:
                    assert np.isnan(got), (i, m, e)
                    should_diverge |= m == "valid_error_rate"
                else:
                    assert got == np.float32(v), (i, m, e)  # tasks are stored as float32
        assert bool(task.diverged[i, 0]) == should_diverge, i
        finite = [x for x in r["eval_time"]]
        for e in range(length):
            want = finite[e] if e < len(finite) else np.median(finite)
            assert task.epoch_cost[i, 0, e] == pytest.approx(want), (i, e)
    # one run per kind in the fixture: done, status 'diverged' (cut short), a null inside valid/error_rate
    assert task.diverged[:, 0].tolist() == [False, True, True] * 4
    # fidelity axis = evaluation index; epoch values averaged per index
    np.testing.assert_array_equal(task.fidelities, np.arange(1, length + 1))
    for e in range(length):
        vals = [r["epoch"][e] for r in rows if e < len(r["epoch"])]
        assert task.extra["epoch"][e] == pytest.approx(np.mean(vals))
    # diverged runs are served at the worst finite error
    served = task.served_objective()
    assert np.all(np.isfinite(served)) and served[1, 0, -1] == task.worst_value()


def test_cost_options_and_phases(pd1_root):
    root, recs = pd1_root
    bench = PD1Benchmark(root)
    unit = bench.load(RELU, cost="unit")
    assert unit.cost_unit == "unit" and np.all(unit.epoch_cost == 1.0)
    cum = bench.load(RELU, cost="eval_time_cumulative")
    rows, _ = _expected(recs, RELU)
    # read as a clock: differences, negative steps clipped to 0 (the fixture's per-eval times are not a clock)
    np.testing.assert_allclose(cum.epoch_cost[0, 0], np.maximum(np.diff(rows[0]["eval_time"], prepend=0.0), 0))
    with pytest.raises(InvalidParameterError, match="'cost'"):
        bench.load(RELU, cost="flops")
    p1 = bench.load(RELU, phases=(1,))
    rows1, _ = _expected(recs, RELU, [f for f in PD1_FILES if "phase1" in f])
    assert p1.extra["trial_dir"] == [r["trial_dir"] for r in rows1]
    m = bench.load(RELU, groups=("matched",))
    assert len(m.configs) == 6


def test_duplicate_trials_kept_once(tmp_path):
    recs = write_pd1_raw(tmp_path / "src", seed=1)
    recs["pd1_unmatched_phase1_results.jsonl.gz"] = list(recs["pd1_matched_phase1_results.jsonl.gz"])
    write_pd1_raw(tmp_path / "pd1", records=recs)
    task = PD1Benchmark(tmp_path).load(RELU)
    assert len(task.extra["trial_dir"]) == len(set(task.extra["trial_dir"])) == 9


def test_syne_tune_layout_matches_raw_phase1(pd1_root, tmp_path):
    root, recs = pd1_root
    st = tmp_path / "st"
    write_pd1_syne_tune(st / "pd1", recs)
    raw = PD1Benchmark(root).load(CIFAR, phases=(1,))
    got = PD1Benchmark(st).load(CIFAR)
    assert got.extra["source"] == "syne_tune" and list(got.metrics) == ["valid_error_rate", "valid_ce_loss"]
    for m in got.metrics:
        np.testing.assert_allclose(got.curves[..., got.metric_index(m)], raw.curves[..., raw.metric_index(m)],
                                   rtol=1e-6, equal_nan=True)
    np.testing.assert_allclose(got.configs.to_numpy(), raw.configs.to_numpy(), rtol=1e-12)
    # cumulative metric_elapsed_time -> per-evaluation seconds == raw eval_time where recorded
    fin = np.isfinite(raw.curves[..., 0])
    np.testing.assert_allclose(got.epoch_cost[fin], raw.epoch_cost[fin], rtol=1e-4)
    # diverged from the curves (syne-tune drops the status): cut-short and null runs
    np.testing.assert_array_equal(got.diverged[:, 0], [False, True, True, False, True, True])
    assert PD1Benchmark(st).tasks() == [RELU, "mnist_max_pooling_cnn_tanh_batch_size_256", CIFAR]
    assert set(PD1Benchmark(st).tasks(dpl_filter=False)) >= {LM1B}


def test_momentum_is_one_configuration_in_both_layouts(pd1_root, tmp_path):
    """A trial with momentum 0.816 has one_minus_momentum 0.184 read from the raw jsonl.gz and from syne-tune's
    layout (whose pd1_import.py stores ``1 - momentum``); the value lies in the search space's [1e-3, 1]."""
    import pandas as pd

    _, recs = pd1_root
    first = next(r for r in recs["pd1_matched_phase1_results.jsonl.gz"] if _name(r) == CIFAR)
    first["hps.opt_hparams.momentum"] = 0.816
    write_pd1_raw(tmp_path / "raw" / "pd1", records=recs)
    st = write_pd1_syne_tune(tmp_path / "st" / "pd1", recs)
    # the syne-tune writer follows syne-tune's convention, checked on the file itself
    column = pd.read_parquet(st / f"{CIFAR}-hyperparameters.parquet")["one_minus_momentum"]
    assert column.iloc[0] == pytest.approx(0.184, abs=1e-12)
    raw = PD1Benchmark(tmp_path / "raw").load(CIFAR, phases=(1,), cache=False)
    syne = PD1Benchmark(tmp_path / "st").load(CIFAR, cache=False)
    assert raw.extra["trial_dir"][0] == first["trial_dir"]
    assert raw.configs.loc[0, "one_minus_momentum"] == pytest.approx(0.184, abs=1e-12)
    assert syne.configs.loc[0, "one_minus_momentum"] == pytest.approx(0.184, abs=1e-12)
    # every trial: the same configuration from both layouts, bit for bit (both compute 1 - x in float64)
    np.testing.assert_array_equal(raw.configs.to_numpy(), syne.configs.to_numpy())
    hp = raw.space["one_minus_momentum"]
    assert (hp.lower, hp.upper, hp.log) == (1e-3, 1.0, True)
    assert ((raw.configs["one_minus_momentum"] >= hp.lower) & (raw.configs["one_minus_momentum"] <= hp.upper)).all()


def test_syne_tune_pd1_folder_with_raw_files(pd1_root, tmp_path):
    """syne-tune unpacks pd1.tar.gz into the pd1/ folder it converts into: ``auto`` reads the raw files there (all
    phases), ``source="syne_tune"`` the converted ones; both give the phase-1 trials the same configurations."""
    _, recs = pd1_root
    d = tmp_path / "repo" / "pd1"
    write_pd1_raw(d, records=recs)
    write_pd1_syne_tune(d, recs)
    bench = PD1Benchmark(tmp_path / "repo")
    auto = bench.load(CIFAR, cache=False)
    syne = bench.load(CIFAR, source="syne_tune", cache=False)
    assert auto.extra["source"] == "raw" and syne.extra["source"] == "syne_tune"
    assert len(auto.configs) == 12 and len(syne.configs) == 6  # 4 files x 3 trials; phase-1 files only
    phase1 = [i for i, t in enumerate(auto.extra["trial_dir"]) if "phase1" in t]
    np.testing.assert_array_equal(auto.configs.to_numpy()[phase1], syne.configs.to_numpy())


# ----------------------------------------------------------------------------------------------------- errors
def test_missing_files_name_the_download_command(tmp_path, monkeypatch):
    monkeypatch.setenv("LCSIM_DATA", str(tmp_path))
    assert PD1Benchmark().tasks() == PD1_DPL_TASKS
    with pytest.raises(DataNotFoundError, match=r"python -m lcsim.data download pd1"):
        benchmarks.load("pd1", "cifar10_wide_resnet_batch_size_256")


def test_unknown_task_suggests(pd1_root):
    root, _ = pd1_root
    with pytest.raises(UnknownNameError, match=f"Did you mean '{CIFAR}'"):
        PD1Benchmark(root).load("cifar10_wide_resnet_batch_size_265")


def _rewrite(path, lines):
    with gzip.open(path, "wt") as fh:
        fh.write("\n".join(lines) + "\n")


@pytest.mark.parametrize("damage", ["truncated", "not_json", "not_object", "no_key", "no_hp", "text_value"])
def test_malformed_raw(pd1_root, damage):
    root, recs = pd1_root
    path = root / "pd1" / PD1_FILES[0]
    lines = [json.dumps(r) for r in recs[PD1_FILES[0]]]
    if damage == "truncated":
        path.write_bytes(path.read_bytes()[:-200])
    elif damage == "not_json":
        _rewrite(path, lines[:2] + ["{oops"] + lines[2:])
    elif damage == "not_object":
        _rewrite(path, lines + ["[1, 2]"])
    elif damage == "no_key":
        r = dict(recs[PD1_FILES[0]][0])
        del r["valid/error_rate"]
        _rewrite(path, [json.dumps(r)] + lines[1:])
    elif damage == "no_hp":
        r = dict(recs[PD1_FILES[0]][0])
        del r["hps.lr_hparams.power"]
        _rewrite(path, [json.dumps(r)] + lines[1:])
    elif damage == "text_value":
        r = dict(recs[PD1_FILES[0]][0])
        r["valid/ce_loss"] = ["nan-ish"] * 3
        _rewrite(path, [json.dumps(r)] + lines[1:])
    with pytest.raises(DataFormatError):
        PD1Benchmark(root).load(RELU)


def test_malformed_syne_tune(pd1_root, tmp_path):
    _, recs = pd1_root
    d = write_pd1_syne_tune(tmp_path / "st" / "pd1", recs)
    bench = PD1Benchmark(tmp_path / "st")
    np.save(d / f"{RELU}-objectives_evaluations.npy", np.zeros((2, 1, 12, 3), dtype=np.float32))
    with pytest.raises(DataFormatError, match="shape"):
        bench.load(RELU)
    (d / "metadata.json").write_text("[]")
    with pytest.raises(DataFormatError, match="metadata"):
        bench.load(RELU)


def test_dpl_task_list_matches_the_papers(shared_data):
    listed = (shared_data / "meta" / "pd1_tasks.txt").read_text().split()
    assert sorted(listed) == sorted(PD1_DPL_TASKS)
    from lcsim.benchmarks.lcbench import LCBENCH_DATASETS

    assert sorted((shared_data / "meta" / "lcbench_datasets.txt").read_text().split()) == sorted(LCBENCH_DATASETS)


def test_loaded_tasks_replay_end_to_end(pd1_root, tmp_path):
    """A PD1 task with diverged runs and an LCBench task both replay; paid epochs match the budget."""
    from lcsim.benchmarks.lcbench import LCBenchBenchmark
    from lcsim.optimizers.random_search import RandomSearch
    from lcsim.replay.engine import Budget, problem_for, run
    from lcsim.testing.fixtures import write_lcbench_raw

    root, _ = pd1_root
    write_lcbench_raw(tmp_path / "lc" / "lcbench" / "data_2k_lw.json", datasets=("adult",), n_configs=4)
    for task in (PD1Benchmark(root).load(RELU), LCBenchBenchmark(tmp_path / "lc").load("adult")):
        res = run(task, RandomSearch(problem_for(task), seed=0), Budget(3 * task.n_epochs), seed=0)
        table = res.table
        assert len(table) == 3 * task.n_epochs
        assert (table["regret"] >= 0).all() and table["objective"].notna().all()


def test_saved_task_round_trip(pd1_root, tmp_path):
    root, _ = pd1_root
    task = PD1Benchmark(root).load(CIFAR)
    back = type(task).from_file(task.save(tmp_path / "t.npz"))
    np.testing.assert_allclose(back.curves, task.curves, rtol=1e-6, equal_nan=True)
    np.testing.assert_array_equal(back.diverged, task.diverged)
    assert back.extra["trial_dir"] == task.extra["trial_dir"] and back.version == task.version


def test_parsed_task_cache_is_used(pd1_root, monkeypatch):
    """A second load of a PD1 task reads lcsim's cache file instead of re-parsing the jsonl.gz files."""
    import lcsim.benchmarks.pd1 as pd1

    root, _ = pd1_root
    calls = []
    real = pd1._parse
    monkeypatch.setattr(pd1, "_parse", lambda *a, **k: calls.append(1) or real(*a, **k))
    a = PD1Benchmark(root).load(RELU)
    b = PD1Benchmark(root).load(RELU)
    assert len(calls) == 1
    np.testing.assert_array_equal(a.curves, b.curves)
    c = PD1Benchmark(root).load(RELU, cost="unit")  # another option is another cache entry
    assert len(calls) == 2 and c.cost_unit == "unit"
