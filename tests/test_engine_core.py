"""Core replay-engine behaviour on a synthetic task: paying, freeze-thaw, budgets, workers, determinism."""
from __future__ import annotations

import numpy as np
import pytest

from lcsim.errors import ProtocolError
from lcsim.optimizers import Job, Optimizer, make_optimizer
from lcsim.replay import Budget, problem_for, run


class Scripted(Optimizer):
    """Asks a fixed list of jobs, records what it is told."""

    name = "scripted"

    def __init__(self, problem, seed, jobs):
        super().__init__(problem, seed)
        self.jobs = list(jobs)
        self.told = []

    def _ask(self):
        return self.jobs.pop(0) if self.jobs else None

    def _tell(self, job, obs):
        self.told.append((job, obs))


def test_freeze_thaw_pays_only_new_epochs(synth):
    p = problem_for(synth)
    opt = Scripted(p, 0, [Job(0, 3, config_id=5), Job(0, 7, config_id=5), Job(0, 2, config_id=5)])
    res = run(synth, opt, Budget(100), seed=0)
    t = res.table
    assert list(t["epoch"]) == list(range(1, 8))  # epochs 1..7 paid once each
    first, second, third = (o for _, o in opt.told)
    assert list(first.epochs) == [1, 2, 3] and list(second.epochs) == [4, 5, 6, 7]
    assert list(third.epochs) == [2] and third.cost == 0.0  # re-read of a paid epoch is free
    served = synth.served_objective()[5, 0]
    np.testing.assert_allclose(second.values, served[3:7])
    cost = synth.epoch_cost[5, 0]
    np.testing.assert_allclose(t["sim_time"], np.cumsum(cost[:7]))


def test_epoch_budget_never_exceeded_and_last_job_cut(synth):
    opt = make_optimizer("random_search", problem_for(synth, 3), 1)
    res = run(synth, opt, Budget(40), n_workers=3, seed=1)
    assert len(res.table) == 40
    assert res.table["budget_used"].max() == 40
    # each trial's epochs are consecutive from 1
    for _, g in res.table.groupby("trial_id"):
        assert list(g["epoch"]) == list(range(1, len(g) + 1))


def test_seconds_budget_stops_at_limit(synth, record_asks):
    """Rows of a seconds budget equal a hand-written schedule: each asked trial starts on the earliest free worker
    (lowest index on ties) and runs its whole curve; an epoch is recorded iff it ends by the limit. A run that stops
    early, records an epoch past the limit or drops one completed by then fails it."""
    import heapq

    limit = 30.0
    opt = make_optimizer("random_search", problem_for(synth, 2), 1)
    jobs = record_asks(opt)
    res = run(synth, opt, Budget(limit, "seconds"), n_workers=2, seed=1)
    asked = [(j.trial_id, j.config_id, j.epoch) for j in jobs]
    t = res.table
    replica = int(t["replica"].iloc[0])
    free = [(0.0, 0), (0.0, 1)]  # (time the worker is free, worker index)
    expected = []
    for trial, cfg, epoch in asked:
        start, worker = heapq.heappop(free)
        assert start < limit  # nothing is asked once the clock has reached the limit
        ends = start + np.cumsum(synth.epoch_cost[cfg, replica, :epoch].astype(float))
        expected += [(trial, e + 1, end) for e, end in enumerate(ends) if end <= limit]
        heapq.heappush(free, (float(ends[-1]), worker))
    assert min(f for f, _ in free) >= limit  # the run did not stop while a worker could still start a trial
    got = sorted(zip(t["trial_id"], t["epoch"], t["sim_time"]))
    assert [g[:2] for g in got] == [e[:2] for e in sorted(expected)]
    np.testing.assert_allclose([g[2] for g in got], [e[2] for e in sorted(expected)], rtol=1e-9)


def test_workers_run_in_parallel(synth):
    p1 = problem_for(synth, 1)
    p4 = problem_for(synth, 4)
    r1 = run(synth, make_optimizer("random_search", p1, 2), Budget(36), n_workers=1, seed=2)
    r4 = run(synth, make_optimizer("random_search", p4, 2), Budget(36), n_workers=4, seed=2)
    assert r4.table["sim_time"].max() < r1.table["sim_time"].max() / 2
    assert set(r4.table["worker"]) == {0, 1, 2, 3}
    assert r4.table["sim_time"].is_monotonic_increasing


def test_same_seed_same_table(synth):
    a = run(synth, make_optimizer("random_search", problem_for(synth, 2), 7), Budget(50), n_workers=2, seed=7)
    b = run(synth, make_optimizer("random_search", problem_for(synth, 2), 7), Budget(50), n_workers=2, seed=7)
    cols = [c for c in a.table.columns if c != "overhead_s"]
    assert a.table[cols].equals(b.table[cols])


def test_regret_matches_oracle(synth):
    res = run(synth, make_optimizer("random_search", problem_for(synth), 0), Budget(9 * 32), seed=0)
    # all 32 configurations evaluated fully: the incumbent at max budget is the oracle best
    o = synth.oracle
    assert res.table["incumbent_max"].iloc[-1] == pytest.approx(o.best)
    assert res.table["regret"].iloc[-1] == pytest.approx(max(0.0, res.table["incumbent_any"].iloc[-1] - o.best))
    assert (res.table["normalized_regret"].between(0, 1)).all()


def test_bad_epoch_and_config_raise(synth):
    p = problem_for(synth)
    with pytest.raises(ProtocolError, match="valid epochs"):
        run(synth, Scripted(p, 0, [Job(0, 99, config_id=0)]), Budget(100))
    with pytest.raises(ProtocolError, match="valid rows"):
        run(synth, Scripted(p, 0, [Job(0, 2, config_id=10_000)]), Budget(100))


def test_diverged_values_served_as_worst():
    from lcsim.benchmarks.synthetic import synthetic_task

    t = synthetic_task(n_configs=40, n_epochs=10, seed=1, diverged_share=0.3)
    cid = int(np.flatnonzero(t.diverged[:, 0])[0])
    p = problem_for(t)
    opt = Scripted(p, 0, [Job(0, 10, config_id=cid)])
    run(t, opt, Budget(100))
    obs = opt.told[0][1]
    assert obs.diverged
    assert np.all(np.isfinite(obs.values))
    assert obs.values[-1] == pytest.approx(t.worst_value())


def test_job_and_observation_keep_dataclass_semantics():
    """Job and Observation have hand-written __init__s (speed); they must still behave as frozen dataclasses."""
    import dataclasses

    from lcsim.optimizers import Observation

    a, b = Job(3, 9), Job(3, 9, info={"rung": 1})
    assert a == b and a.info == {} and a.info is not Job(3, 9).info  # info: fresh dict, excluded from ==
    assert (Job(3, 9, config_id=4).config_id, Job(3, 9, 4, {"x": 1}).config) == (4, {"x": 1})
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.epoch = 10
    assert dataclasses.replace(a, epoch=12) == Job(3, 12)
    assert [f.name for f in dataclasses.fields(Observation)] == ["trial_id", "config_id", "epochs", "values",
                                                                  "diverged", "cost", "metrics"]
    o = Observation(1, 2, np.arange(1, 3), np.array([0.5, 0.4]))
    assert (o.diverged, o.cost, o.metrics, o.last) == (False, 0.0, None, 0.4)
    assert dataclasses.replace(o, cost=2.0).cost == 2.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        o.cost = 1.0


def test_told_epochs_are_read_only_and_match_the_paid_range(synth):
    opt = Scripted(problem_for(synth), 0, [Job(0, 2, config_id=1), Job(0, 5), Job(1, 1, config_id=2), Job(0, 3)])
    run(synth, opt, Budget(50))
    assert [obs.epochs.tolist() for _, obs in opt.told] == [[1, 2], [3, 4, 5], [1], [3]]
    for _, obs in opt.told:
        with pytest.raises(ValueError):  # a view of the engine's epoch numbers: not the method's to change
            obs.epochs[0] = 99
