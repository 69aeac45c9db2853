"""TaskSet loader: the 12 real DPL tasks, the raw npz layout, the DPL filter, errors and the parsed-task cache."""
from __future__ import annotations

import json
import os
import time
import warnings

import numpy as np
import pandas as pd
import pytest

from lcsim import benchmarks
from lcsim.benchmarks import _cache
from lcsim.benchmarks.taskset import DPL_TASKS, HP_NAMES, LOG_HPS, dpl_filter, sample_adam8p_wide_grid
from lcsim.errors import DataFormatError, DataNotFoundError, InvalidParameterError, UnknownNameError
from lcsim.testing.task_contract import check_task
from lcsim.testing.taskset_files import write_dpl_json, write_raw_npz

TASK = "FixedTextRNNClassification_imdb_patch32_GRU128_bs128"


# ---------------------------------------------------------------- real data (module-scoped: parse 37 MB once)
@pytest.fixture(scope="module")
def json_ref(shared_data):
    """Direct json parse of every real task, independent of lcsim: task -> dict of arrays."""
    out = {}
    for p in sorted((shared_data / "taskset" / "dpl_json").glob("*.json")):
        recs = json.load(open(p))
        out[p.stem] = {
            "nan_curves": sum(any(v != v for ch in ("train", "valid", "test") for v in r[ch]["loss"]) for r in recs),
            "valid": np.array([r["valid"]["loss"] for r in recs], dtype=float),
            "train": np.array([r["train"]["loss"] for r in recs], dtype=float),
            "test": np.array([r["test"]["loss"] for r in recs], dtype=float),
            "hp": pd.DataFrame([r["hp"] for r in recs])[HP_NAMES],
        }
    return out


@pytest.fixture(scope="module")
def real_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("taskset-cache")


@pytest.fixture(scope="module")
def real_tasks(shared_data, real_cache):
    """All 12 tasks loaded through lcsim (cold build into a module cache directory)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LCSIM_CACHE", str(real_cache))
        mp.setenv("LCSIM_DATA", str(shared_data))
        t0 = time.perf_counter()
        tasks = {n: benchmarks.load("taskset", n, filter="none") for n in benchmarks.get_benchmark("taskset").tasks()}
        tasks["_cold_s"] = time.perf_counter() - t0
    return tasks


def test_twelve_tasks_listed(real_tasks):
    names = sorted(k for k in real_tasks if not k.startswith("_"))
    assert names == sorted(DPL_TASKS)


@pytest.mark.parametrize("name", DPL_TASKS)
def test_real_task_shape_values_and_nan_count(name, real_tasks, json_ref):
    t, ref = real_tasks[name], json_ref[name]
    assert t.curves.shape == (1000, 1, 51, 3)
    assert list(t.metrics) == ["train_loss", "valid_loss", "valid2_loss"]
    assert t.objective == "valid_loss" and t.minimize and t.cost_unit == "unit"
    assert np.array_equal(t.fidelities, np.arange(1, 52))
    # per-task number of curves containing NaN equals the direct json count
    assert int(t.diverged.sum()) == ref["nan_curves"]
    assert int(np.isnan(t.curves[:, 0, :, 1]).any(axis=1).sum()) == ref["nan_curves"]
    # values equal the json (stored as float32 by the cache)
    for key, ch in (("train", 0), ("valid", 1), ("test", 2)):
        np.testing.assert_array_equal(t.curves[:, 0, :, ch], ref[key].astype(np.float32).astype(float))
    pd.testing.assert_frame_equal(t.configs, ref["hp"])


def test_known_nan_counts_from_data_readme(real_tasks, shared_data):
    """The loaded tasks' NaN counts span the range the data README states ("Diverged runs contain JSON `NaN`
    (0-245 curves per task)"), counted on the loader's curves and on its diverged mask. A loader that dropped NaN
    curves, or served them as finite values, fails this (planted: ``np.nan_to_num`` on the parsed losses -> max 0)."""
    import re

    lo, hi = map(int, re.search(r"\((\d+)-(\d+) curves per task\)", (shared_data / "README.md").read_text()).groups())
    tasks = [real_tasks[n] for n in DPL_TASKS]
    nan_curves = [int(np.isnan(t.curves[:, 0]).any(axis=(1, 2)).sum()) for t in tasks]
    assert (min(nan_curves), max(nan_curves)) == (lo, hi) == (0, 245)
    assert [int(t.diverged.sum()) for t in tasks] == nan_curves


def test_sampler_reproduces_all_json_configurations(json_ref):
    ref = json_ref[TASK]["hp"].to_numpy()
    mine = np.array([[sample_adam8p_wide_grid(i)[k] for k in HP_NAMES] for i in range(1000)])
    np.testing.assert_allclose(mine, ref, rtol=1e-13, atol=0)


def test_space_matches_dpl_appendix_b(real_tasks):
    space = real_tasks[TASK].space
    assert sorted(space.keys()) == sorted(HP_NAMES)
    for name in HP_NAMES:
        assert space[name].log == (name in LOG_HPS), name
    assert LOG_HPS == set(HP_NAMES) - {"beta1", "beta2"}


@pytest.mark.parametrize("name", DPL_TASKS)
def test_real_task_contract(name, real_tasks, tmp_path):
    check_task(real_tasks[name], tmp_path)


def _dpl_reference_keep(valid: np.ndarray) -> np.ndarray:
    """The DPL authors' filter_curves, written with pandas as in their code."""
    df = pd.DataFrame(valid)
    non_nan = df.notnull().all(axis=1)
    non_div = (df < df.quantile(0.95).min()).all(axis=1)
    return np.flatnonzero((non_nan & non_div).to_numpy())


@pytest.mark.parametrize("name", DPL_TASKS)
def test_dpl_filter_matches_pandas_reference(name, json_ref):
    valid = json_ref[name]["valid"]
    np.testing.assert_array_equal(dpl_filter(valid), _dpl_reference_keep(valid))


def test_dpl_filter_option_pool_and_oracle(shared_data, json_ref):
    name = "FixedTextRNNClassification_imdb_patch32_IRNN64_relu_avg_bs128"
    t = benchmarks.load("taskset", name, filter="dpl")
    valid = json_ref[name]["valid"]
    keep = _dpl_reference_keep(valid)
    assert t.n_configs == keep.size < 1000 - json_ref[name]["nan_curves"]
    assert t.extra["kept_config_ids"] == keep.tolist() and not t.diverged.any()
    kept = valid[keep].astype(np.float32).astype(float)
    assert t.oracle.best == pytest.approx(kept[:, -1].min(), rel=1e-12)
    assert t.oracle.worst == pytest.approx(kept[:, -1].max(), rel=1e-12)
    assert t.extra["dpl_oracle"]["best"] == pytest.approx(valid[keep].min(), rel=1e-12)
    assert t.extra["dpl_oracle"]["worst"] == pytest.approx(valid[keep].max(), rel=1e-12)
    assert t.version.endswith("-dplfilter")


def test_warm_cache_is_identical_and_fast(real_tasks, real_cache, monkeypatch):
    monkeypatch.setenv("LCSIM_CACHE", str(real_cache))
    _cache.clear_memo()   # re-hash the sources like a fresh process would
    t0 = time.perf_counter()
    warm = {n: benchmarks.load("taskset", n, filter="none") for n in DPL_TASKS}
    warm_s = time.perf_counter() - t0
    for n in DPL_TASKS:
        assert np.array_equal(warm[n].curves, real_tasks[n].curves, equal_nan=True)
        assert warm[n].version == real_tasks[n].version
    assert len(list(real_cache.rglob("*.npz"))) == 12
    assert warm_s < real_tasks["_cold_s"], (warm_s, real_tasks["_cold_s"])


# ---------------------------------------------------------------- errors
def test_unknown_task_suggests_closest(shared_data):
    with pytest.raises(UnknownNameError, match="Did you mean 'FixedTextRNNClassification_imdb_patch32_GRU128_bs128'"):
        benchmarks.load("taskset", "FixedTextRNNClassification_imdb_patch32_GRU128_bs12", filter="none")


def test_missing_data_dir_names_download_command(tmp_path, monkeypatch):
    monkeypatch.setenv("LCSIM_DATA", str(tmp_path / "nowhere"))
    with pytest.raises(DataNotFoundError, match=r"python -m lcsim\.data download taskset"):
        benchmarks.load("taskset", TASK, filter="none")


def test_truncated_json_raises_and_leaves_no_cache(tmp_path, monkeypatch):
    data = tmp_path / "data"
    p = write_dpl_json(data, "tiny")
    p.write_bytes(p.read_bytes()[: p.stat().st_size // 2])
    cache = tmp_path / "cache"
    monkeypatch.setenv("LCSIM_DATA", str(data))
    monkeypatch.setenv("LCSIM_CACHE", str(cache))
    with pytest.raises(DataFormatError, match="truncated or corrupt"):
        benchmarks.load("taskset", "tiny", filter="none")
    assert not cache.exists() or not [f for f in cache.rglob("*") if f.is_file()]


def test_wrong_length_curve_raises(tmp_path, monkeypatch):
    data = tmp_path / "data"
    p = write_dpl_json(data, "tiny")
    recs = json.loads(p.read_text())
    recs[5]["valid"]["loss"] = recs[5]["valid"]["loss"][:50]
    p.write_text(json.dumps(recs))
    monkeypatch.setenv("LCSIM_DATA", str(data))
    with pytest.raises(DataFormatError, match="record 5 'valid' curve has 50 values, expected 51"):
        benchmarks.load("taskset", "tiny", filter="none")


def test_missing_hp_key_raises(tmp_path, monkeypatch):
    data = tmp_path / "data"
    p = write_dpl_json(data, "tiny")
    recs = json.loads(p.read_text())
    del recs[2]["hp"]["beta2"]
    p.write_text(json.dumps(recs))
    monkeypatch.setenv("LCSIM_DATA", str(data))
    with pytest.raises(DataFormatError, match="record 2 lacks 'beta2'"):
        benchmarks.load("taskset", "tiny", filter="none")


def test_wrong_shape_raw_array_raises(tmp_path, monkeypatch):
    data = tmp_path / "data"
    write_raw_npz(data, "rawtask", ys=np.zeros((10, 5, 51, 3)))
    monkeypatch.setenv("LCSIM_DATA", str(data))
    with pytest.raises(DataFormatError, match=r"'ys' must have shape .* got \(10, 5, 51, 3\)"):
        benchmarks.load("taskset", "rawtask", filter="none")


def test_invalid_options(tmp_path, monkeypatch):
    data = tmp_path / "data"
    write_dpl_json(data, "tiny")
    monkeypatch.setenv("LCSIM_DATA", str(data))
    with pytest.raises(InvalidParameterError, match=r"'filter' parameter .* one of \['none', 'dpl'\]"):
        benchmarks.load("taskset", "tiny", filter="DPL")
    with pytest.raises(InvalidParameterError,
                       match=r"Unknown option\(s\) \['filtr'\] .* \['filter', 'source', 'cache'\]"):
        benchmarks.load("taskset", "tiny", filtr="dpl", filter="none")
    with pytest.raises(DataNotFoundError, match="no raw file"):
        benchmarks.load("taskset", "tiny", source="raw", filter="none")


# ---------------------------------------------------------------- small json + raw npz in the upstream layouts
def test_small_json_task(tmp_path, monkeypatch):
    data = tmp_path / "data"
    write_dpl_json(data, "tiny", n=12, nan_rows=(3, 7))
    monkeypatch.setenv("LCSIM_DATA", str(data))
    t = benchmarks.load("taskset", "tiny", filter="none")
    assert t.curves.shape == (12, 1, 51, 3)
    assert np.flatnonzero(t.diverged[:, 0]).tolist() == [3, 7]
    check_task(t, tmp_path)


def test_raw_npz_task(tmp_path, monkeypatch):
    data = tmp_path / "data"
    _, ys = write_raw_npz(data, "rawtask", n=10)
    monkeypatch.setenv("LCSIM_DATA", str(data))
    assert benchmarks.get_benchmark("taskset").tasks() == ["rawtask"]
    t = benchmarks.load("taskset", "rawtask", filter="none")
    assert t.curves.shape == (10, 5, 51, 4) and t.n_seeds == 5
    assert list(t.metrics) == ["train_loss", "valid_loss", "valid2_loss", "test_loss"]
    np.testing.assert_array_equal(t.curves, ys.astype(np.float32).astype(float))
    # divergence per replica: config 1 replica 2 and every replica of config 4
    expected = np.zeros((10, 5), dtype=bool)
    expected[1, 2] = True
    expected[4, :] = True
    np.testing.assert_array_equal(t.diverged, expected)
    # hyperparameters recomputed from the seeds in the optimizer names
    ref = pd.DataFrame([sample_adam8p_wide_grid(s) for s in range(100, 110)])[HP_NAMES]
    pd.testing.assert_frame_equal(t.configs, ref)
    assert t.extra["inner_iterations"] == list(range(0, 51 * 200, 200))
    check_task(t, tmp_path)
    # DPL filter on the replica-mean validation curves: both diverged configurations (a NaN replica) go
    f = benchmarks.load("taskset", "rawtask", filter="dpl")
    mean_valid = ys[..., 1].mean(axis=1)
    assert f.extra["kept_config_ids"] == _dpl_reference_keep(mean_valid).tolist()
    assert 1 not in f.extra["kept_config_ids"] and 4 not in f.extra["kept_config_ids"]


def test_raw_npz_bad_optimizer_name(tmp_path, monkeypatch):
    data = tmp_path / "data"
    p, ys = write_raw_npz(data, "rawtask", n=3)
    np.savez(p.with_suffix(""), optimizers=np.array([b"adam8p_a", b"b", b"c"]), xs=np.arange(51), ys=ys)
    monkeypatch.setenv("LCSIM_DATA", str(data))
    with pytest.raises(DataFormatError, match="does not end in 'seed<k>'"):
        benchmarks.load("taskset", "rawtask", filter="none")


def test_raw_npz_object_array_names(tmp_path, monkeypatch):
    data = tmp_path / "data"
    p, ys = write_raw_npz(data, "rawtask", n=3)
    names = np.array([f"adam8p_wide_grid_seed{s}" for s in (5, 6, 7)], dtype=object)
    np.savez(p.with_suffix(""), optimizers=names, xs=np.arange(51) * 200, ys=ys)
    monkeypatch.setenv("LCSIM_DATA", str(data))
    t = benchmarks.load("taskset", "rawtask", filter="none")
    pd.testing.assert_frame_equal(t.configs, pd.DataFrame([sample_adam8p_wide_grid(s) for s in (5, 6, 7)]))


def test_auto_source_prefers_json(tmp_path, monkeypatch):
    data = tmp_path / "data"
    write_dpl_json(data, "both")
    write_raw_npz(data, "both")
    monkeypatch.setenv("LCSIM_DATA", str(data))
    assert benchmarks.load("taskset", "both", filter="none").curves.shape[1:] == (1, 51, 3)
    assert benchmarks.load("taskset", "both", source="raw", filter="none").curves.shape[1:] == (5, 51, 4)


# ---------------------------------------------------------------- cache behaviour
def _cache_files(cache):
    return sorted(cache.rglob("*.npz"))


def test_changed_source_invalidates_cache(tmp_path, monkeypatch):
    data, cache = tmp_path / "data", tmp_path / "cache"
    p = write_dpl_json(data, "tiny", seed=0)
    monkeypatch.setenv("LCSIM_DATA", str(data))
    monkeypatch.setenv("LCSIM_CACHE", str(cache))
    a = benchmarks.load("taskset", "tiny", filter="none")
    first = _cache_files(cache)
    assert len(first) == 1
    recs = json.loads(p.read_text())
    recs[0]["valid"]["loss"][-1] = 123.0
    p.write_text(json.dumps(recs))
    b = benchmarks.load("taskset", "tiny", filter="none")
    assert b.curves[0, 0, -1, 1] == 123.0 and a.curves[0, 0, -1, 1] != 123.0
    assert a.version != b.version
    second = _cache_files(cache)
    assert len(second) == 1 and second != first      # stale file replaced


def test_options_get_separate_cache_entries(tmp_path, monkeypatch):
    data, cache = tmp_path / "data", tmp_path / "cache"
    write_dpl_json(data, "tiny")
    monkeypatch.setenv("LCSIM_DATA", str(data))
    monkeypatch.setenv("LCSIM_CACHE", str(cache))
    benchmarks.load("taskset", "tiny", filter="none")
    benchmarks.load("taskset", "tiny", filter="dpl")
    assert len(_cache_files(cache)) == 2


def test_corrupt_cache_file_is_rebuilt(tmp_path, monkeypatch):
    data, cache = tmp_path / "data", tmp_path / "cache"
    write_dpl_json(data, "tiny")
    monkeypatch.setenv("LCSIM_DATA", str(data))
    monkeypatch.setenv("LCSIM_CACHE", str(cache))
    good = benchmarks.load("taskset", "tiny", filter="none")
    (f,) = _cache_files(cache)
    f.write_bytes(f.read_bytes()[:100])
    with pytest.warns(RuntimeWarning, match="Rebuilding unreadable cache file"):
        again = benchmarks.load("taskset", "tiny", filter="none")
    assert np.array_equal(again.curves, good.curves, equal_nan=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        benchmarks.load("taskset", "tiny", filter="none")            # the rebuilt file reads cleanly


def test_cache_inside_data_root_refused(tmp_path, monkeypatch):
    data = tmp_path / "data"
    write_dpl_json(data, "tiny")
    monkeypatch.setenv("LCSIM_DATA", str(data))
    monkeypatch.setenv("LCSIM_CACHE", str(data / "cache"))
    with pytest.raises(InvalidParameterError, match="never writes into the data root"):
        benchmarks.load("taskset", "tiny", filter="none")
    assert not (data / "cache").exists()


def test_cache_bypass_writes_nothing(tmp_path, monkeypatch):
    data, cache = tmp_path / "data", tmp_path / "cache"
    write_dpl_json(data, "tiny")
    monkeypatch.setenv("LCSIM_DATA", str(data))
    monkeypatch.setenv("LCSIM_CACHE", str(cache))
    t = benchmarks.load("taskset", "tiny", cache=False, filter="none")
    assert t.curves.shape == (12, 1, 51, 3) and not cache.exists()
    assert os.listdir(data / "taskset" / "dpl_json") == ["tiny.json"]
