"""Property tests of the replay engine (hypothesis): no read beyond the paid epoch, budgets, time order.

The task is wrapped in :class:`CheckedTask`: its curve arrays are off limits, the engine's cost reads are recorded as
payments, and every ``lookup`` (and vectorized ``lookup_points``) is checked against those payments, so any read of
an unpaid epoch fails the test.
"""
from __future__ import annotations

import time
from collections import defaultdict

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lcsim.errors import LookAheadError
from lcsim.optimizers import Job, Optimizer, make_optimizer
from lcsim.replay import Budget, problem_for, run
from lcsim.testing.synthetic import synthetic_task

TASK = synthetic_task(n_configs=12, n_epochs=8, n_seeds=2, seed=4, diverged_share=0.2)


class _CostView:
    def __init__(self, owner):
        self.owner = owner

    def __getitem__(self, key):
        cid, rep, sl = key
        assert isinstance(sl, slice) and sl.step is None
        self.owner.paid[(int(cid), int(rep))] = max(self.owner.paid[(int(cid), int(rep))], int(sl.stop))
        return self.owner.task.epoch_cost[key]


class CheckedTask:
    """Forwards to a Task, but curve access goes only through ``lookup`` and only up to paid epochs."""

    _FORBIDDEN = ("curves", "served_objective", "final_objective", "subset")

    def __init__(self, task):
        self.task = task
        self.paid = defaultdict(int)   # (config_id, replica) -> highest epoch whose cost was charged
        self.reads = 0

    def __getattr__(self, name):
        if name in self._FORBIDDEN:
            raise LookAheadError(f"engine touched task.{name}")
        return getattr(self.task, name)

    @property
    def epoch_cost(self):
        return _CostView(self)

    def lookup(self, cid, rep, first, last):
        self.reads += 1
        if last > self.paid[(int(cid), int(rep))]:
            raise LookAheadError(f"read of epoch {last} of config {cid} but {self.paid[(cid, rep)]} paid")
        return self.task.lookup(cid, rep, first, last)

    def lookup_points(self, cids, rep, epochs):
        self.reads += 1
        for cid, e in zip(np.asarray(cids).tolist(), np.asarray(epochs).tolist()):
            if e > self.paid[(int(cid), int(rep))]:
                raise LookAheadError(f"read of epoch {e} of config {cid} but {self.paid[(cid, rep)]} paid")
        return self.task.lookup_points(cids, rep, epochs)


class RandomJobs(Optimizer):
    """Random jobs: new trials (config_id or a continuous config), resumes to random epochs, random ``None``."""

    name = "random_jobs"

    def __init__(self, problem, seed, n_asks=40, p_none=0.1, p_resume=0.5, p_config=0.2):
        super().__init__(problem, seed)
        self.left, self.p_none, self.p_resume, self.p_config = n_asks, p_none, p_resume, p_config
        self.told = []

    def _ask(self):
        if self.left <= 0 or self.rng.random() < self.p_none:
            return None
        self.left -= 1
        idle = [t for t in self.paid if t not in self.running]
        e = int(self.rng.integers(1, self.problem.max_epoch + 1))
        if idle and self.rng.random() < self.p_resume:
            return Job(int(self.rng.choice(idle)), e)
        if self.rng.random() < self.p_config:
            return Job(self.new_trial_id(), e, config=self.sample_config())
        return Job(self.new_trial_id(), e, config_id=self.sample_config_id())

    def _tell(self, job, obs):
        self.told.append((job, obs))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), workers=st.integers(1, 5), amount=st.integers(1, 90),
       seconds=st.booleans(), p_none=st.floats(0, 0.5), p_resume=st.floats(0, 1))
def test_random_optimizers_never_see_unpaid_epochs(seed, workers, amount, seconds, p_none, p_resume):
    checked = CheckedTask(TASK)
    opt = RandomJobs(problem_for(TASK, workers), seed, p_none=p_none, p_resume=p_resume)
    budget = Budget(float(amount), "seconds" if seconds else "epochs")
    res = run(checked, opt, budget, n_workers=workers, seed=seed)
    t = res.table
    # budget
    if seconds:
        assert (t["sim_time"] <= amount + 1e-9).all()
    else:
        assert len(t) <= amount
    # each (trial, epoch) paid once, in epoch order
    assert not t.duplicated(["trial_id", "epoch"]).any()
    for _, g in t.groupby("trial_id"):
        assert list(g.sort_values("epoch")["epoch"]) == list(range(1, len(g) + 1))
    served = TASK.served_objective()
    rows = {(r.trial_id, r.epoch): r for r in t.itertuples()}
    last_finish = -np.inf
    for job, obs in opt.told:
        # only epochs the table shows as paid, values equal to the recorded curve of the served replica
        assert obs.epochs[-1] == job.epoch
        for e, v in zip(obs.epochs, obs.values):
            r = rows[(job.trial_id, int(e))]
            assert v == served[r.config_id, r.replica, e - 1]
        if obs.cost > 0:  # told in simulated-time order of completion
            finish = rows[(job.trial_id, job.epoch)].sim_time
            assert finish >= last_finish
            last_finish = finish
    assert t["sim_time"].is_monotonic_increasing


def test_checked_task_catches_a_leaky_read():
    checked = CheckedTask(TASK)
    with pytest.raises(LookAheadError):
        checked.lookup(0, 0, 1, 3)
    with pytest.raises(LookAheadError):
        checked.lookup_points([0], 0, [1])
    with pytest.raises(LookAheadError):
        checked.curves  # noqa: B018


class SlowRS(Optimizer):
    """Random search that burns wall time in every ask."""

    name = "slow_rs"

    def __init__(self, problem, seed, delay=0.0):
        super().__init__(problem, seed)
        self.inner = make_optimizer("random_search", problem, seed)
        self.delay = delay

    def _ask(self):
        time.sleep(self.delay)
        job = self.inner._ask()
        return job

    def _tell(self, job, obs):
        pass


def test_wall_time_never_leaks_without_charge(synth):
    fast = run(synth, SlowRS(problem_for(synth, 2), 3, 0.0), Budget(60), n_workers=2, seed=3)
    slow = run(synth, SlowRS(problem_for(synth, 2), 3, 0.004), Budget(60), n_workers=2, seed=3)
    np.testing.assert_array_equal(fast.table["sim_time"], slow.table["sim_time"])
    assert slow.overhead_s > fast.overhead_s + 0.004 * 5
    assert slow.table["overhead_s"].sum() <= slow.overhead_s + 1e-12


def test_charge_overhead_adds_measured_time(synth):
    base = run(synth, SlowRS(problem_for(synth), 3, 0.0), Budget(45), seed=3)
    charged = run(synth, SlowRS(problem_for(synth), 3, 0.005), Budget(45), seed=3, charge_overhead=True)
    assert list(base.table["trial_id"]) == list(charged.table["trial_id"])
    # one worker: every job starts after the overhead measured so far was added to the clock
    n_jobs = base.table["trial_id"].nunique()
    gap = charged.table["sim_time"].iloc[-1] - base.table["sim_time"].iloc[-1]
    assert gap >= 0.005 * n_jobs
    assert gap <= charged.overhead_s + 1e-9
