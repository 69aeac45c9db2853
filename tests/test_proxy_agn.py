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


@pytest.mark.parametrize("method,objective,column", [("cmaes", "agn_train", None), ("pso", "agn_val", None),
                                                     ("cmaes", "agn_train", "agn_sum"), ("cmaes", "val", None)])
def test_blackbox_minimizes_eq6_from_the_last_epoch(iris, method, objective, column):
    live = LiveTask(iris, "mlp", agn_space(), seed=1, max_epoch=2)
    kw = {"popsize": 4} if method == "cmaes" else {"n_particles": 4}
    if column is not None:
        kw["agn_metric"] = column
    opt = make_optimizer(method, live.problem(), 2, {"n_evals": 4, "score": objective, "alpha": 0.05,
                                                    "x0": AGN_INITIAL, **kw})
    col = column or "agn_end_sum"  # the default: eq. 5 at the end-of-epoch weights
    live.run(opt, 8)
    assert len(opt.results) == 4
    for t, (_cfg, loss) in enumerate(opt.results):
        rec = live.trainers[t].records[-1]
        if objective == "val":
            want = rec["valid_loss"]
        else:
            want = 0.05 * rec[col] + rec["train_loss" if objective == "agn_train" else "valid_loss"]
            # hand check of AGN(theta_T): the sum of the per-epoch values (eq. 5: at the epoch ends)
            per_epoch = "agn_end" if col == "agn_end_sum" else "agn"
            assert rec[col] == pytest.approx(sum(r[per_epoch] for r in live.trainers[t].records))
            assert rec["agn_end_sum"] != rec["agn_sum"]  # the two columns differ, so the check tells them apart
        if np.isfinite(want):
            assert loss == pytest.approx(want)
    # the initial point is the first configuration tried by PSO (particle 0); CMA-ES centres its mean there
    if method == "pso":
        first = opt.results[0][0]
        assert first["batch_size"] == AGN_INITIAL["batch_size"]
        assert first["momentum"] == pytest.approx(AGN_INITIAL["momentum"])


def test_agn_objective_values_and_errors():
    row = {"agn_end_sum": 2.0, "agn_sum": 4.0, "train_loss": 0.5, "valid_loss": 0.7}
    assert agn_objective(row, "agn_train", 0.1) == pytest.approx(0.7)
    assert agn_objective(row, "agn_val", 0.1) == pytest.approx(0.9)
    assert agn_objective(row, "agn_val", 0.1, agn_metric="agn_sum") == pytest.approx(1.1)
    assert agn_objective(row, "agn_train", 0.1, epoch=4) == pytest.approx(0.55)
    assert agn_objective(row, "val") == pytest.approx(0.7)
    with pytest.raises(InvalidParameterError, match="objective"):
        agn_objective(row, "agn")
    with pytest.raises(InvalidParameterError, match="agn_end_sum"):
        agn_objective(row, "agn_val", agn_metric="gn_sum")
    with pytest.raises(InvalidParameterError, match="agn_metric"):
        agn_search("cmaes", "agn_val", scale="tiny", agn_metric="agn")
    from lcsim.benchmarks.synthetic import synthetic_task
    from lcsim.replay.engine import problem_for

    with pytest.raises(UnknownNameError, match="agn_end_sum"):
        make_optimizer("cmaes", problem_for(synthetic_task()), 0, {"score": "agn_train"})
    with pytest.raises(InvalidParameterError, match="agn_metric"):
        make_optimizer("cmaes", problem_for(synthetic_task()), 0, {"score": "agn_train", "agn_metric": "gn"})


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
        if np.isfinite(rec["agn_end_sum"]):  # eq. 5's AGN(theta_t), normalized by t
            assert r.objective == pytest.approx(0.5 * rec["agn_end_sum"] / r.epoch + rec["train_loss"])
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


def test_cli_agn_tiny_reads_the_chosen_column(tmp_path, capsys):
    """``python -m lcsim.proxy agn --agn-metric agn_sum`` searches on the training-pass column (recorded per row);
    an unknown column is refused by the parser with exit status 2 and the valid choices."""
    import pandas as pd

    from lcsim.proxy.__main__ import main

    assert main(["agn", "--scale", "tiny", "--out", str(tmp_path), "--methods", "pso", "--agn-metric",
                 "agn_sum"]) == 0
    res = pd.read_csv(tmp_path / "agn_results.csv")
    searched = res[res.method == "pso"]
    assert len(searched) == 3 and set(searched.agn_metric) == {"agn_sum"}
    with pytest.raises(SystemExit) as exc:
        main(["agn", "--scale", "tiny", "--out", str(tmp_path), "--agn-metric", "gn"])
    assert exc.value.code == 2 and "agn_end_sum" in capsys.readouterr().err
