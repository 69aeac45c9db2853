"""AGN-objective search (AGN paper eq. 6, section 4.1, appendix A.1)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from lcsim.errors import InvalidParameterError, UnknownNameError
from lcsim.live import LiveTask, load_dataset
from lcsim.optimizers import make_optimizer
from lcsim.optimizers.scores import agn_objective
from lcsim.proxy.agn_search import agn_search, reduced
from lcsim.proxy.spaces import AGN_INITIAL, agn_space

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def iris():
    return load_dataset("iris", seed=0)


def test_reduced_subset_is_stratified_and_fixed(iris):
    r = reduced(iris, 0.2, 3)
    assert len(r.y_train) == round(0.2 * len(iris.y_train))
    assert np.array_equal(r.x_valid, iris.x_valid) and np.array_equal(r.y_test, iris.y_test)
    counts = np.bincount(r.y_train, minlength=3)
    assert counts.max() - counts.min() <= 1
    assert np.array_equal(reduced(iris, 0.2, 3).y_train, r.y_train)
    with pytest.raises(InvalidParameterError, match="fraction"):
        reduced(iris, 0.0, 0)


@pytest.mark.parametrize("method,objective", [("cmaes", "agn_train"), ("pso", "agn_val"), ("cmaes", "val")])
def test_blackbox_minimizes_eq6_from_the_last_epoch(iris, method, objective):
    live = LiveTask(iris, "mlp", agn_space(), seed=1, max_epoch=2)
    kw = {"popsize": 4} if method == "cmaes" else {"n_particles": 4}
    opt = make_optimizer(method, live.problem(), 2, {"n_evals": 4, "score": objective, "alpha": 0.05,
                                                    "x0": AGN_INITIAL, **kw})
    live.run(opt, 8)
    assert len(opt.results) == 4
    for t, (_cfg, loss) in enumerate(opt.results):
        rec = live.trainers[t].records[-1]
        if objective == "val":
            want = rec["valid_loss"]
        else:
            want = 0.05 * rec["agn_sum"] + rec["train_loss" if objective == "agn_train" else "valid_loss"]
            # hand check of AGN(theta_T): the sum of per-epoch AGN values
            assert rec["agn_sum"] == pytest.approx(sum(r["agn"] for r in live.trainers[t].records))
        if np.isfinite(want):
            assert loss == pytest.approx(want)
    # the initial point is the first configuration tried by PSO (particle 0); CMA-ES centres its mean there
    if method == "pso":
        first = opt.results[0][0]
        assert first["batch_size"] == AGN_INITIAL["batch_size"]
        assert first["momentum"] == pytest.approx(AGN_INITIAL["momentum"])


def test_agn_objective_values_and_errors():
    row = {"agn_sum": 2.0, "train_loss": 0.5, "valid_loss": 0.7}
    assert agn_objective(row, "agn_train", 0.1) == pytest.approx(0.7)
    assert agn_objective(row, "agn_val", 0.1) == pytest.approx(0.9)
    assert agn_objective(row, "val") == pytest.approx(0.7)
    with pytest.raises(InvalidParameterError, match="objective"):
        agn_objective(row, "agn")
    from lcsim.benchmarks.synthetic import synthetic_task
    from lcsim.replay.engine import problem_for

    with pytest.raises(UnknownNameError, match="agn_sum"):
        make_optimizer("cmaes", problem_for(synthetic_task()), 0, {"score": "agn_train"})


def test_agn_search_tiny_is_deterministic(iris):
    a = agn_search("pso", "agn_train", 0.05, scale="tiny", seed=4, final_repeats=2, dataset=iris)
    b = agn_search("pso", "agn_train", 0.05, scale="tiny", seed=4, final_repeats=2, dataset=iris)
    assert a["config"] == b["config"] and a["test_acc"] == b["test_acc"]
    assert len(a["test_acc"]) == 2 and a["epochs_used"] == 1 * 4 * 2


def test_objective_task_serves_normalized_eq6_to_bohb(iris):
    from lcsim.proxy.agn_task import AGNObjectiveTask

    live = AGNObjectiveTask(iris, "mlp", agn_space(), seed=1, max_epoch=4, min_epoch=1, search_objective="agn_train",
                            alpha=0.5)
    opt = make_optimizer("bohb", live.problem(), 2, {"eta": 2})
    tab = live.run(opt, 24)
    assert tab["epoch"].nunique() > 1  # several budgets were observed
    checked = 0
    for r in tab.itertuples():
        rec = live.trainers[r.trial_id].records[r.epoch - 1]
        if np.isfinite(rec["agn_sum"]):
            assert r.objective == pytest.approx(0.5 * rec["agn_sum"] / r.epoch + rec["train_loss"])
            checked += 1
    assert checked > 0
    with pytest.raises(InvalidParameterError, match="objective"):
        AGNObjectiveTask(iris, "mlp", agn_space(), search_objective="agn")


@pytest.mark.parametrize("method", ["bohb", "random_search"])
def test_agn_search_served_objective_path(iris, method):
    kw = dict(scale="tiny", seed=3, final_repeats=2, dataset=iris, overrides={"epochs": 4})
    a = agn_search(method, "agn_val", 0.5, **kw)
    b = agn_search(method, "agn_val", 0.5, **kw)
    assert a["config"] == b["config"] and a["test_loss"] == b["test_loss"] and np.isfinite(a["search_score"])
    assert len(a["test_loss"]) == 2 and a["test_loss_mean"] == pytest.approx(np.mean(a["test_loss"]))
    assert a["epochs_used"] >= 1 * 4 * 4
