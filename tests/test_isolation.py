"""Observations own their memory and tasks are read-only: a method can neither reach unpaid values through
``.base`` nor corrupt the task (and so every later cell of a grid worker that caches it)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lcsim.benchmarks.synthetic import synthetic_task
from lcsim.optimizers import Job
from lcsim.optimizers.hyperband import Hyperband
from lcsim.replay import Budget, problem_for, run
from lcsim.replay import grid as grid_mod


def _chain(a):
    """``a`` and every array on its ``.base`` chain."""
    out = []
    while isinstance(a, np.ndarray):
        out.append(a)
        a = a.base
    return out


class _Walker(Hyperband):
    """Hyperband (freeze-thaw resumes: observations of several epochs) that inspects what it is told."""

    def __init__(self, problem, seed):
        super().__init__(problem, seed)
        self.reachable: list[tuple[int, int]] = []  # (epochs told, largest array size reachable from values/metrics)
        self.epoch_bases: list[np.ndarray] = []

    def _tell(self, job: Job, observation):
        k = len(observation.epochs)
        sizes = [x.shape[0] for a in (observation.values, observation.metrics) for x in _chain(a)]
        self.reachable.append((k, max(sizes)))
        self.epoch_bases += _chain(observation.epochs)[1:]
        super()._tell(job, observation)


class _Vandal(Hyperband):
    """Hyperband that normalises its observations in place (a method that should copy first, but does not)."""

    name = "vandal"

    def _tell(self, job: Job, observation):
        for a in (observation.values, observation.metrics):
            try:
                a[...] = 0.0
            except ValueError:  # read-only: the engine's own arrays
                pass
        super()._tell(job, observation)


def test_nothing_beyond_the_paid_epochs_is_reachable_from_an_observation():
    """Fails if the engine hands views into the task (their .base is the whole (n_cfg, n_seed, n_epoch) array)."""
    task = synthetic_task(n_configs=30, n_epochs=9, seed=1)
    opt = _Walker(problem_for(task), 0)
    run(task, opt, Budget(20 * task.n_epochs))
    assert opt.reachable
    for k, biggest in opt.reachable:
        assert biggest == k  # own memory of exactly the told epochs
    for b in opt.epoch_bases:  # the epoch numbers view 1..max_epoch: no curve value, and read-only
        np.testing.assert_array_equal(b, np.arange(1, task.n_epochs + 1))
        assert not b.flags.writeable


def test_writing_into_observations_leaves_the_task_unchanged():
    """Fails if an observation shares memory with task.curves / served_objective (the vandal would zero them)."""
    task = synthetic_task(n_configs=30, n_epochs=9, seed=2)
    curves, served = task.curves.copy(), task.served_objective().copy()
    a = run(task, _Vandal(problem_for(task), 0), Budget(10 * task.n_epochs)).table
    np.testing.assert_array_equal(task.curves, curves)
    np.testing.assert_array_equal(task.served_objective(), served)
    # the table records the task's values, not what the method overwrote
    want = task.served_objective()[a["config_id"], a["replica"], a["epoch"] - 1]
    np.testing.assert_array_equal(a["objective"].to_numpy(), want)
    assert (a["objective"] != 0).all()


def test_task_arrays_are_read_only():
    task = synthetic_task(n_configs=8, n_epochs=4, seed=0)
    for name in ("curves", "epoch_cost", "diverged", "fidelities"):
        arr = getattr(task, name)
        assert not arr.flags.writeable, name
        with pytest.raises(ValueError, match="read-only"):
            arr.flat[0] = arr.flat[0]
    with pytest.raises(ValueError, match="read-only"):
        task.served_objective()[0, 0, 0] = 0.0


def test_a_vandal_cell_does_not_change_later_cells_of_the_same_worker(tmp_path, monkeypatch):
    """The grid keeps loaded tasks per worker process (_TASKS); a method writing into its observations must not
    change the next cell's numbers there."""
    from lcsim import optimizers

    monkeypatch.setitem(optimizers.METHODS, "vandal", "test_isolation:_Vandal")
    monkeypatch.setattr(grid_mod, "_TASKS", {})
    spec = grid_mod.GridSpec(benchmark="synthetic", tasks=["powerlaw-0"], methods={"hyperband": ("hyperband", {})},
                             seeds=[0], budget=("full", 5))
    fresh = grid_mod.run_grid(spec, tmp_path / "fresh", executor="serial", progress=False)
    vandal = grid_mod.GridSpec(benchmark="synthetic", tasks=["powerlaw-0"], methods={"vandal": ("vandal", {})},
                               seeds=[0], budget=("full", 5))
    grid_mod.run_grid(vandal, tmp_path / "vandal", executor="serial", progress=False)
    after = grid_mod.run_grid(spec, tmp_path / "after", executor="serial", progress=False)
    pd.testing.assert_frame_equal(fresh.drop(columns="overhead_s"), after.drop(columns="overhead_s"))
