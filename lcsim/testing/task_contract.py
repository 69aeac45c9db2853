"""The contract every :class:`~lcsim.benchmarks.Task` must satisfy, as plain check functions.

Each ``check_*`` function takes a task, raises ``AssertionError`` with a precise message on a violation and returns
nothing. :data:`TASK_CHECKS` lists them for ``pytest.mark.parametrize``; :func:`check_task` runs them all. In the
spirit of scikit-learn's ``parametrize_with_checks``::

    @pytest.mark.parametrize("check", TASK_CHECKS, ids=lambda c: c.__name__)
    def test_my_task(check, tmp_path):
        run_check(check, my_task, tmp_path)

:func:`check_seeded_determinism` takes a zero-argument *loader* instead of a task (it loads twice).
"""
from __future__ import annotations

import math
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from ConfigSpace import Configuration

from ..benchmarks._base import Task

__all__ = ["TASK_CHECKS", "check_task", "run_check", "check_shapes", "check_metric_bounds", "check_oracle",
           "check_divergence_mask", "check_version", "check_configs_in_space", "check_roundtrip",
           "check_seeded_determinism", "check_served_objective"]


def check_shapes(task: Task) -> None:
    """Curves (n_cfg, n_seed, n_epoch, n_metric); cost, mask, fidelities and configs aligned with them."""
    n_cfg, n_seed, n_epoch, n_metric = task.curves.shape
    assert task.curves.ndim == 4 and min(task.curves.shape) >= 1, f"{task.key}: curves shape {task.curves.shape}"
    assert task.curves.dtype == np.float64, f"{task.key}: curves dtype {task.curves.dtype}"
    assert len(task.metrics) == n_metric, f"{task.key}: {len(task.metrics)} metrics vs {n_metric} channels"
    assert task.objective in task.metrics, f"{task.key}: objective {task.objective!r} not a metric"
    assert task.epoch_cost.shape == (n_cfg, n_seed, n_epoch), f"{task.key}: epoch_cost {task.epoch_cost.shape}"
    assert np.all(np.isfinite(task.epoch_cost)) and np.all(task.epoch_cost >= 0), f"{task.key}: bad epoch cost"
    assert task.cost_unit in ("seconds", "unit"), f"{task.key}: cost_unit {task.cost_unit!r}"
    assert task.diverged.shape == (n_cfg, n_seed) and task.diverged.dtype == bool, f"{task.key}: diverged mask"
    assert task.fidelities.shape == (n_epoch,), f"{task.key}: fidelities {task.fidelities.shape}"
    assert np.all(np.diff(task.fidelities) > 0), f"{task.key}: fidelities not increasing"
    assert isinstance(task.configs, pd.DataFrame) and task.configs.shape[0] == n_cfg, f"{task.key}: configs rows"
    assert list(task.configs.index) == list(range(n_cfg)), f"{task.key}: configs index is not 0..n_cfg-1"


def check_metric_bounds(task: Task) -> None:
    """Every finite value of a metric lies within its declared ``bounds``."""
    for j, (name, m) in enumerate(task.metrics.items()):
        lo, hi = m.bounds
        assert lo <= hi, f"{task.key}: metric {name} bounds {m.bounds}"
        v = task.curves[..., j]
        v = v[np.isfinite(v)]
        if v.size:
            assert v.min() >= lo and v.max() <= hi, (
                f"{task.key}: metric {name} has values in [{v.min():g}, {v.max():g}] outside bounds {m.bounds}")


def check_served_objective(task: Task) -> None:
    """Served objective: finite everywhere, equal to the raw curve where finite, the worst value elsewhere."""
    raw = task.curves[..., task.objective_index]
    served = task.served_objective()
    assert served.shape == raw.shape and np.all(np.isfinite(served)), f"{task.key}: served objective not finite"
    fin = np.isfinite(raw)
    assert np.array_equal(served[fin], raw[fin]), f"{task.key}: served values differ from finite raw values"
    worst = np.nanmax(raw[fin]) if task.minimize else np.nanmin(raw[fin])
    assert np.all(served[~fin] == worst), f"{task.key}: non-finite values not served as the worst value"


def check_lookup_points(task: Task) -> None:
    """The vectorized ``lookup_points`` equals ``lookup`` read one epoch at a time (a random sample of points)."""
    rng = np.random.default_rng(0)
    n = min(64, task.n_configs * task.n_epochs)
    cfg = rng.integers(task.n_configs, size=n)
    ep = rng.integers(1, task.n_epochs + 1, size=n)
    for s in range(task.n_seeds):
        obj, met, div = task.lookup_points(cfg, s, ep)
        for i in range(n):
            one = task.lookup(int(cfg[i]), s, int(ep[i]), int(ep[i]))
            assert obj[i] == one["objective"][0], f"{task.key}: lookup_points objective differs from lookup"
            assert np.array_equal(met[i], one["metrics"][0], equal_nan=True), f"{task.key}: lookup_points metrics"
            assert bool(div[i]) == one["diverged"], f"{task.key}: lookup_points diverged flag differs from lookup"


def check_oracle(task: Task) -> None:
    """For each normaliser rule (:meth:`Task.oracle_for`, DPL section 6), the oracle's best/worst equal the
    best/worst seed-averaged objective over the pool recomputed from the raw curves by a loop: at the maximum budget
    (``"final"``) or at every epoch (``"any_epoch"``), a non-finite value counted as the task's worst finite value;
    ``task.oracle`` is the ``"final"`` one; the pool's regrets are >= 0 and its normalized regrets in [0, 1]."""
    obj = task.curves[..., task.objective_index]
    finite = [float(v) for v in obj.ravel() if math.isfinite(v)]
    fill = max(finite) if task.minimize else min(finite)

    def seed_mean(i: int, e: int) -> float:
        vals = [float(obj[i, s, e]) for s in range(task.n_seeds)]
        return float(np.mean([v if math.isfinite(v) else fill for v in vals]))

    pools = {"final": [seed_mean(i, task.n_epochs - 1) for i in range(task.n_configs)],
             "any_epoch": [seed_mean(i, e) for i in range(task.n_configs) for e in range(task.n_epochs)]}
    for rule, values in pools.items():
        best, worst = (min(values), max(values)) if task.minimize else (max(values), min(values))
        o = task.oracle if rule == "final" else task.oracle_for(rule)
        assert o.minimize == task.minimize, f"{task.key}: oracle direction"
        assert o.rule == rule, f"{task.key}: oracle_for({rule!r}) has rule {o.rule!r}"
        assert math.isclose(o.best, best, rel_tol=1e-12, abs_tol=1e-12), \
            f"{task.key}: {rule} oracle best {o.best} != {best}"
        assert math.isclose(o.worst, worst, rel_tol=1e-12, abs_tol=1e-12), \
            f"{task.key}: {rule} oracle worst {o.worst} != {worst}"
        assert float(o.regret(best)) == 0.0, f"{task.key}: regret of the {rule} oracle is not 0"
        assert np.all(o.regret(np.array(values)) >= 0), f"{task.key}: negative regret"
        nr = o.normalized_regret(np.array(values))
        assert np.all((nr >= 0) & (nr <= 1 + 1e-12)), f"{task.key}: normalized regret of a pool value outside [0, 1]"
    o = task.oracle_for("final")
    assert (o.best, o.worst) == (task.oracle.best, task.oracle.worst), f"{task.key}: oracle != oracle_for('final')"


def check_divergence_mask(task: Task) -> None:
    """A run with a non-finite objective value is flagged diverged; every unflagged run is finite throughout."""
    obj = task.curves[..., task.objective_index]
    has_nan = ~np.all(np.isfinite(obj), axis=2)
    assert np.all(task.diverged[has_nan]), f"{task.key}: {int((has_nan & ~task.diverged).sum())} NaN runs unflagged"
    assert np.all(np.isfinite(obj[~task.diverged])), f"{task.key}: unflagged run with non-finite objective"
    assert not np.all(task.diverged), f"{task.key}: every run diverged"


def check_version(task: Task) -> None:
    """A non-empty data version string and benchmark/task names."""
    assert isinstance(task.version, str) and task.version.strip(), f"{task.key}: empty version"
    assert task.benchmark and task.name, "task without benchmark or name"


def check_configs_in_space(task: Task, max_rows: int = 200) -> None:
    """Configuration columns are the space's hyperparameters; every row lies within the numeric bounds, and the
    first ``max_rows`` rows are legal ConfigSpace configurations (types, conditions, forbiddens)."""
    names = list(task.space.keys())
    assert sorted(task.configs.columns) == sorted(names), (
        f"{task.key}: config columns {list(task.configs.columns)} vs space {names}")
    for hp in task.space.values():   # vectorized range check of every row
        if hasattr(hp, "lower") and hasattr(hp, "upper"):
            col = task.configs[hp.name].to_numpy(dtype=float)
            bad = ~((col >= hp.lower) & (col <= hp.upper))
            assert not bad.any(), (f"{task.key}: config {int(np.flatnonzero(bad)[0])} has {hp.name}="
                                   f"{float(col[bad][0])!r} outside [{hp.lower}, {hp.upper}]")
    rows = task.configs.iloc[:max_rows]
    for i, row in rows.iterrows():
        values = {k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()}
        try:
            Configuration(task.space, values=values).check_valid_configuration()
        except Exception as exc:  # ConfigSpace raises several types
            raise AssertionError(f"{task.key}: config {i} {values} not valid in the space: {exc}") from exc


def check_roundtrip(task: Task, tmp_dir: str | Path | None = None) -> None:
    """``save`` then ``from_file`` gives the same task (curves and costs to float32 precision)."""
    with tempfile.TemporaryDirectory(dir=tmp_dir) as d:
        p = Path(d) / "task.npz"
        task.save(p)
        back = Task.from_file(p)
    assert (back.benchmark, back.name, back.version, back.objective, back.cost_unit) == \
        (task.benchmark, task.name, task.version, task.objective, task.cost_unit), f"{task.key}: header changed"
    assert list(back.metrics.values()) == list(task.metrics.values()), f"{task.key}: metrics changed"
    f32 = task.curves.astype(np.float32).astype(float)
    assert np.array_equal(np.isnan(back.curves), np.isnan(task.curves)), f"{task.key}: NaN pattern changed"
    assert np.array_equal(np.nan_to_num(back.curves, nan=0.0), np.nan_to_num(f32, nan=0.0)), f"{task.key}: curves"
    assert np.array_equal(back.epoch_cost, task.epoch_cost.astype(np.float32).astype(float)), f"{task.key}: cost"
    assert np.array_equal(back.diverged, task.diverged), f"{task.key}: divergence mask changed"
    assert np.array_equal(back.fidelities, task.fidelities), f"{task.key}: fidelities changed"
    pd.testing.assert_frame_equal(back.configs, task.configs)
    assert back.space == task.space, f"{task.key}: space changed"


def check_seeded_determinism(loader: Callable[[], Task]) -> None:
    """Two calls of ``loader`` (same seed) give identical curves, costs and configurations."""
    a, b = loader(), loader()
    assert a.version == b.version, "version differs between two seeded loads"
    assert np.array_equal(a.curves, b.curves, equal_nan=True), "curves differ between two seeded loads"
    assert np.array_equal(a.epoch_cost, b.epoch_cost), "costs differ between two seeded loads"
    pd.testing.assert_frame_equal(a.configs, b.configs)


TASK_CHECKS = [check_shapes, check_metric_bounds, check_served_objective, check_lookup_points, check_oracle,
               check_divergence_mask, check_version, check_configs_in_space, check_roundtrip]


def run_check(check: Callable, task: Task, tmp_dir: str | Path | None = None) -> None:
    """Run one check of :data:`TASK_CHECKS` (passing ``tmp_dir`` to those that write files)."""
    if check is check_roundtrip:
        check(task, tmp_dir)
    else:
        check(task)


def check_task(task: Task, tmp_dir: str | Path | None = None) -> None:
    """Run every check of :data:`TASK_CHECKS` on ``task``."""
    for check in TASK_CHECKS:
        run_check(check, task, tmp_dir)
