"""The embedded default benchmark shipped in data/embedded (no network, no ../shared)."""
from __future__ import annotations

import numpy as np
import pytest

from lcsim import benchmarks
from lcsim.benchmarks.embedded import embedded_dir
from lcsim.errors import DataNotFoundError, InvalidParameterError, UnknownNameError
from lcsim.live.build import build_tasks

EXPECTED = ["breast_cancer", "digits", "iris", "wine"]


def test_shipped_tasks_load(monkeypatch):
    monkeypatch.delenv("LCSIM_EMBEDDED", raising=False)
    monkeypatch.setenv("LCSIM_DATA", "/nonexistent")  # must not need the shared data
    b = benchmarks.get_benchmark("embedded")
    assert b.tasks() == EXPECTED
    sizes = sum(p.stat().st_size for p in embedded_dir().glob("*.npz"))
    assert sizes < 10e6
    for name in EXPECTED:
        t = benchmarks.load("embedded", name)
        assert t.objective == "valid_loss" and t.minimize and t.n_epochs == 50 and t.n_configs >= 100
        assert {"sharpness", "agn", "agn_sum", "epoch_seconds", "valid_auc", "test_bacc"} <= set(t.metrics)
        assert t.cost_unit == "seconds" and np.all(t.epoch_cost > 0)
        served = t.served_objective()
        assert np.isfinite(served).all()
        ok = ~t.diverged[:, 0]
        assert ok.mean() > 0.5
        agn = t.curves[ok, 0, :, t.metric_index("agn")]
        np.testing.assert_allclose(np.cumsum(agn, axis=1), t.curves[ok, 0, :, t.metric_index("agn_sum")],
                                   rtol=1e-4)
        acc = t.curves[ok, 0, :, t.metric_index("valid_acc")]
        assert np.nanmax(acc) > 0.8  # something learns


def test_env_override_and_objective_option(tmp_path, monkeypatch):
    tasks = build_tasks(["iris"], n_configs=2, epochs=2, seed=1, work_dir=tmp_path / "w", progress=False)
    tasks["iris"].save(tmp_path / "e" / "iris.npz")
    monkeypatch.setenv("LCSIM_EMBEDDED", str(tmp_path / "e"))
    assert benchmarks.get_benchmark("embedded").tasks() == ["iris"]
    t = benchmarks.load("embedded", "iris", objective="valid_acc")
    assert t.objective == "valid_acc" and not t.minimize
    with pytest.raises(UnknownNameError, match="valid_auc"):
        benchmarks.load("embedded", "iris", objective="valid_auk")
    with pytest.raises(UnknownNameError, match="embedded task"):
        benchmarks.load("embedded", "digits")
    monkeypatch.setenv("LCSIM_EMBEDDED", str(tmp_path / "missing"))
    with pytest.raises(DataNotFoundError, match="lcsim.live.build"):
        benchmarks.load("embedded", "iris")


def test_replay_runs_on_a_live_built_task(tmp_path):
    from lcsim.optimizers import make_optimizer
    from lcsim.replay import Budget, problem_for, run

    task = build_tasks(["wine"], n_configs=4, epochs=3, seed=2, work_dir=tmp_path, progress=False)["wine"]
    res = run(task, make_optimizer("random_search", problem_for(task), 0), Budget(9, "epochs"))
    tab = res.table
    assert len(tab) == 9 and tab.config_id.nunique() == 3
    assert np.isfinite(tab["normalized_regret"]).all() and "m_sharpness" in tab.columns


def test_shipped_curves_reproduce_from_code(monkeypatch):
    """Retrain two shipped configurations from the recorded seeds: every metric except wall seconds matches, to float32
    rounding across machines (the benchmark was built on another one): continuous metrics to rtol 1e-6 (1e-5 for the
    training-pass AGN sums); AUCs, rank statistics, to 1e-3, since a rounding-level change in two scores can swap
    their order (measured 2026-12-06: one train AUC of 50 epochs moved by 1.9e-4, everything else within 1e-6)."""
    import torch

    from lcsim.live import Trainer, load_dataset
    from lcsim.seeding import derive

    torch.set_num_threads(1)
    monkeypatch.delenv("LCSIM_EMBEDDED", raising=False)
    t = benchmarks.load("embedded", "iris")
    seed, split_seed = t.extra["seed"], t.extra["split_seed"]
    ds = load_dataset("iris", seed=split_seed)
    for i in (0, 1):
        cfg = {k: (v.item() if hasattr(v, "item") else v) for k, v in t.configs.iloc[i].items()}
        tr = Trainer(ds, "mlp", cfg, derive(seed, "build", "iris", "config", i))
        tr.train_until(t.n_epochs)
        new = tr.curve(t.n_epochs)
        for j, m in enumerate(t.metrics):
            if m.endswith("_seconds"):
                continue
            tol = 1e-5 if m.startswith("agn") and not m.startswith("agn_end") else 1e-6
            atol = 1e-3 if m.endswith("_auc") else 1e-30
            np.testing.assert_allclose(new[:, j], t.curves[i, 0, :, j], rtol=tol, atol=atol, equal_nan=True,
                                       err_msg=m)


def test_exploded_losses_are_clipped_at_a_multiple_of_chance():
    """Finite blow-ups (1e26+) would be the oracle's worst value; they are clipped at 10 ln K, nothing else moves."""
    raw = benchmarks.load("embedded", "breast_cancer", exploded=None)
    t = benchmarks.load("embedded", "breast_cancer")
    cap = 10 * np.log(2)
    assert raw.oracle.worst > 1e20 and t.oracle.worst == pytest.approx(cap)
    j = t.objective_index
    a, b = raw.curves[..., j], t.curves[..., j]
    low = ~(a > cap)  # NaN (diverged) or at most the cap: untouched
    np.testing.assert_array_equal(a[low], b[low])
    assert (b[a > cap] == cap).all() and (a > cap).sum() > 0
    assert np.array_equal(t.diverged, raw.diverged) and t.version == raw.version + "+clip10"
    # other metrics are untouched; digits never reaches its cap (10 ln 10)
    k = [i for i, m in enumerate(t.metrics) if m != t.objective]
    np.testing.assert_array_equal(np.nan_to_num(raw.curves[..., k]), np.nan_to_num(t.curves[..., k]))
    d, d_raw = benchmarks.load("embedded", "digits"), benchmarks.load("embedded", "digits", exploded=None)
    assert d.version == d_raw.version and np.array_equal(np.nan_to_num(d.curves), np.nan_to_num(d_raw.curves))
    with pytest.raises(InvalidParameterError):
        benchmarks.load("embedded", "wine", exploded=0.5)
