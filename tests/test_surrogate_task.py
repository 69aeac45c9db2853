"""Continuous proposals evaluated directly by the YAHPO-LCBench surrogate through the replay engine."""
from __future__ import annotations

import numpy as np
import pytest

from lcsim import benchmarks
from lcsim.benchmarks.yahpo import YahpoLCBenchSurrogate
from lcsim.errors import InvalidParameterError
from lcsim.optimizers import make_optimizer
from lcsim.replay import Budget, problem_for, run

TASK = "3945"


@pytest.fixture(scope="module")
def direct(shared_data):
    return benchmarks.load("lcbench_yahpo", TASK, n_configs=40, seed=0, direct=True)


def test_proposals_are_evaluated_by_the_surrogate(direct, shared_data):
    problem = problem_for(direct)
    assert problem.candidates is None  # methods must propose configurations
    res = run(direct, make_optimizer("hyperband", problem, 3), Budget(3 * 52), seed=3)
    t = res.table
    grown = res.task
    assert grown.n_configs > direct.n_configs == 40  # the run's own copy grew, the given task did not
    assert t["config_id"].min() >= 40                 # every trial was a new surrogate evaluation
    sur = YahpoLCBenchSurrogate(shared_data / "yahpo_data" / "lcbench")
    ids = sorted(t["config_id"].unique())[:5]
    want = sur.curves(TASK, grown.configs.iloc[ids])[:, :, sur_index("val_balanced_accuracy")]
    for k, cid in enumerate(ids):
        rows = t[t["config_id"] == cid]
        np.testing.assert_allclose(rows["objective"], want[k, rows["epoch"].to_numpy() - 1], rtol=1e-5)
    # regret is measured against the reference tabulation's oracle
    assert grown.oracle == direct.oracle
    assert (t["regret"] >= 0).all()


def sur_index(name):
    from lcsim.benchmarks.yahpo import Y_NAMES

    return list(Y_NAMES).index(name)


def test_direct_runs_are_deterministic(direct):
    a = run(direct, make_optimizer("random_search", problem_for(direct, 2), 5), Budget(4 * 52), n_workers=2, seed=5)
    b = run(direct, make_optimizer("random_search", problem_for(direct, 2), 5), Budget(4 * 52), n_workers=2, seed=5)
    cols = ["trial_id", "config_id", "epoch", "objective", "sim_time"]
    assert a.table[cols].equals(b.table[cols])
    assert a.task.configs.equals(b.task.configs)


def test_invalid_proposal_is_refused(direct):
    bad = dict(direct.configs.iloc[0])
    bad["learning_rate"] = 5.0  # outside [1e-4, 1e-1]
    with pytest.raises(InvalidParameterError, match="not valid in the space"):
        direct.fresh().add_config(bad)
