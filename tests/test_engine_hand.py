"""Engine behaviour checked against hand computations: regret (DPL eq. 9), seconds limits, nearest candidates."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from ConfigSpace import ConfigurationSpace, Float, Integer

from lcsim.benchmarks._base import Metric, Task
from lcsim.optimizers import Job, Optimizer
from lcsim.replay import Budget, problem_for, run


def hand_task(values, cost=1.0, seconds=False, minimize=True):
    v = np.asarray(values, dtype=float)  # (n_cfg, n_epoch)
    space = ConfigurationSpace(seed=0)
    space.add([Float("x", (0.0, 1.0))])
    configs = pd.DataFrame({"x": np.linspace(0, 1, len(v))})
    return Task("hand", "t", configs, v[:, None, :, None], {"loss": Metric("loss", minimize)}, "loss", space,
                cost, "seconds" if seconds else "unit", np.zeros((len(v), 1), bool), "hand-v1")


class Scripted(Optimizer):
    name = "scripted"

    def __init__(self, problem, seed, jobs):
        super().__init__(problem, seed)
        self.jobs, self.told = list(jobs), []

    def _ask(self):
        return self.jobs.pop(0) if self.jobs else None

    def _tell(self, job, obs):
        self.told.append((job, obs))


CURVES = [[0.9, 0.7, 0.6], [0.8, 0.5, 0.3], [0.95, 0.9, 0.85]]
JOBS = [Job(0, 2, config_id=2), Job(1, 3, config_id=0), Job(2, 1, config_id=1)]


def test_regret_and_normalized_regret_by_hand():
    task = hand_task(CURVES)
    # oracle: best final 0.3 (config 1), worst final 0.85 (config 2), range 0.55
    t = run(task, Scripted(problem_for(task), 0, JOBS), Budget(100)).table
    assert list(zip(t["config_id"], t["epoch"])) == [(2, 1), (2, 2), (0, 1), (0, 2), (0, 3), (1, 1)]
    np.testing.assert_allclose(t["incumbent_any"], [0.95, 0.9, 0.9, 0.7, 0.6, 0.6])
    np.testing.assert_allclose(t["regret"], [0.65, 0.6, 0.6, 0.4, 0.3, 0.3])
    np.testing.assert_allclose(t["normalized_regret"], np.array([0.65, 0.6, 0.6, 0.4, 0.3, 0.3]) / 0.55)
    np.testing.assert_allclose(t["incumbent_max"], [np.nan] * 4 + [0.6, 0.6])
    np.testing.assert_allclose(t["budget_used"], [1, 2, 3, 4, 5, 6])
    m = run(task, Scripted(problem_for(task), 0, JOBS), Budget(100), incumbent="max_budget").table
    # no full evaluation yet -> the worst final value (regret 0.55, normalized 1)
    np.testing.assert_allclose(m["regret"], [0.55] * 4 + [0.3, 0.3])
    np.testing.assert_allclose(m["normalized_regret"], [1.0] * 4 + [0.3 / 0.55] * 2)
    assert (m["incumbent_rule"] == "max_budget").all()


def test_regret_maximization_by_hand():
    acc = 1 - np.asarray(CURVES)
    task = hand_task(acc, minimize=False)
    t = run(task, Scripted(problem_for(task), 0, JOBS), Budget(100)).table
    # best final 0.7, worst final 0.15, range 0.55: regret = 0.7 - incumbent
    np.testing.assert_allclose(t["regret"], [0.65, 0.6, 0.6, 0.4, 0.3, 0.3])
    np.testing.assert_allclose(t["normalized_regret"], np.array([0.65, 0.6, 0.6, 0.4, 0.3, 0.3]) / 0.55)


def test_seconds_limit_stops_every_running_job():
    task = hand_task(np.tile(np.linspace(1, 0.1, 9), (3, 1)), cost=1.0, seconds=True)
    opt = Scripted(problem_for(task, 2), 0, [Job(0, 9, config_id=0), Job(1, 9, config_id=1)])
    res = run(task, opt, Budget(5.5, "seconds"), n_workers=2)
    t = res.table
    # both jobs ran 5 whole epochs by t = 5.5 s; neither finished, so nothing was told
    assert sorted(t.groupby("trial_id").size().tolist()) == [5, 5]
    assert t["sim_time"].max() == 5.0 and opt.told == []
    assert res.sim_time == 5.5


def test_epoch_budget_cuts_the_last_job_and_does_not_tell_it():
    task = hand_task(CURVES)
    opt = Scripted(problem_for(task), 0, [Job(0, 3, config_id=0), Job(1, 3, config_id=1)])
    t = run(task, opt, Budget(4)).table
    assert len(t) == 4 and list(t["epoch"]) == [1, 2, 3, 1]
    assert [j.trial_id for j, _ in opt.told] == [0]


def test_async_workers_tell_in_time_order():
    # config 0 costs 3 s/epoch, config 1 costs 1 s/epoch: the later job finishes first and is told first
    cost = np.array([[3.0] * 3, [1.0] * 3, [1.0] * 3])[:, None, :]
    task = hand_task(CURVES, cost=cost, seconds=True)
    opt = Scripted(problem_for(task, 2), 0, [Job(0, 2, config_id=0), Job(1, 2, config_id=1),
                                             Job(2, 1, config_id=2)])
    t = run(task, opt, Budget(100), n_workers=2).table
    assert [j.trial_id for j, _ in opt.told] == [1, 2, 0]
    np.testing.assert_allclose(t["sim_time"], [1, 2, 3, 3, 6])
    assert list(t["worker"]) == [1, 1, 1, 0, 0]


def test_resuming_a_trial_with_another_config_is_refused():
    task = hand_task(CURVES)
    from lcsim.errors import ProtocolError

    with pytest.raises(ProtocolError, match="new trial id"):
        run(task, Scripted(problem_for(task), 0, [Job(0, 1, config_id=0), Job(0, 2, config_id=1)]), Budget(10))


def test_nearest_candidate_mapping_against_brute_force():
    space = ConfigurationSpace(seed=0)
    space.add([Float("lr", (1e-4, 1.0), log=True), Integer("width", (1, 100))])
    configs = pd.DataFrame({"lr": [1e-4, 1e-3, 1e-2, 1e-1, 1.0], "width": [1, 100, 50, 25, 75]})
    curves = np.linspace(1, 0.5, 4)[None, None, :, None] * np.ones((5, 1, 4, 1))
    task = Task("hand", "nn", configs, curves, {"loss": Metric("loss", True)}, "loss", space, 1.0, "unit",
                np.zeros((5, 1), bool), "v1")
    proposals = [{"lr": 2e-2, "width": 45}, {"lr": 2e-2, "width": 45}, {"lr": 0.5, "width": 2}]
    opt = Scripted(problem_for(task), 0, [Job(i, 1, config=c) for i, c in enumerate(proposals)]
                   + [Job(0, 2, config={"lr": 1.0, "width": 75})])
    run(task, opt, Budget(100))
    served = [o.config_id for _, o in opt.told]

    def enc(lr, w):  # log scale for lr, linear for width, both to [0, 1]
        return np.array([(np.log(lr) - np.log(1e-4)) / (np.log(1.0) - np.log(1e-4)), (w - 1) / 99])

    X = np.array([enc(r.lr, r.width) for r in configs.itertuples()])
    used = set()
    expected = []
    for p in proposals:
        d = ((X - enc(p["lr"], p["width"])) ** 2).sum(1)
        d[list(used)] = np.inf
        expected.append(int(np.argmin(d)))
        used.add(expected[-1])
    assert served[:3] == expected == [2, 3, 4]  # the repeated proposal gets the next-nearest unused row
    assert served[3] == served[0]  # resuming trial 0 keeps its row whatever config the job names
