"""Statistics of the FGHPO protocol and the black-box baselines."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import mannwhitneyu

from analysis.stats import benjamini_hochberg, pairwise_mwu, wins_ties_losses
from lcsim.benchmarks.synthetic import synthetic_task
from lcsim.optimizers import make_optimizer
from lcsim.proxy.protocol import run_replayed
from lcsim.replay.engine import Budget, problem_for, run
from lcsim.space import decode_unit, encode_configs


def test_bh_hand_computation():
    p = [0.01, 0.04, 0.03, 0.20]
    # sorted 0.01, 0.03, 0.04, 0.20 ; m p / i = 0.04, 0.06, 0.05333, 0.20 ; running min from the top
    # -> 0.04, 0.05333, 0.05333, 0.20 ; back in input order
    q = benjamini_hochberg(p)
    np.testing.assert_allclose(q, [0.04, 0.16 / 3, 0.16 / 3, 0.20])
    q2 = benjamini_hochberg([0.5, np.nan, 0.9, 0.01])
    np.testing.assert_allclose(q2[[0, 2, 3]], [0.75, 0.9, 0.03])
    assert np.isnan(q2[1])


def test_pairwise_mwu_matches_scipy():
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"method": np.repeat(["a", "b", "c"], 10),
                       "score": np.concatenate([rng.normal(0, 1, 10), rng.normal(2, 1, 10), rng.normal(0.1, 1, 10)])})
    pw = pairwise_mwu(df)
    raw = []
    for a, b in [("a", "b"), ("a", "c"), ("b", "c")]:
        x = df.score[df.method == a]
        y = df.score[df.method == b]
        raw.append(mannwhitneyu(x, y, alternative="two-sided").pvalue)
    np.testing.assert_allclose(pw["p"], raw)
    np.testing.assert_allclose(pw["p_adj"], benjamini_hochberg(raw))
    assert pw.set_index(["a", "b"]).loc[("a", "b"), "better"] == "b"


def test_wins_ties_losses_hand_table():
    # dataset d1: A clearly best -> A win, B and C losses; d2: A and B equal and above C -> A tie, B tie, C loss
    n = 12
    rows = []
    for m, v in [("A", 10.0), ("B", 5.0), ("C", 0.0)]:
        rows += [("d1", m, v + 0.01 * i) for i in range(n)]
    for m, v in [("A", 10.0), ("B", 10.0), ("C", 0.0)]:
        rows += [("d2", m, v + 0.01 * ((i * 7) % n)) for i in range(n)]
    df = pd.DataFrame(rows, columns=["dataset", "method", "score"])
    t = wins_ties_losses(df)
    assert t.loc["A", "d1"] == "win" and t.loc["B", "d1"] == "loss" and t.loc["C", "d1"] == "loss"
    assert t.loc["A", "d2"] == "tie" and t.loc["B", "d2"] == "tie" and t.loc["C", "d2"] == "loss"
    assert list(t.loc["A", ["wins", "ties", "losses"]]) == [1, 1, 0]
    assert t.loc["C", "win_tie_pct"] == 0.0


def test_decode_encode_round_trip():
    task = synthetic_task(n_configs=5)
    x = encode_configs(task.space, task.configs)
    for i in range(5):
        cfg = decode_unit(task.space, x[i])
        row = task.configs.iloc[i]
        assert cfg["width"] == row["width"]
        assert cfg["learning_rate"] == pytest.approx(row["learning_rate"])


@pytest.mark.parametrize("method", ["tpe", "cmaes", "pso", "turbo"])
def test_blackbox_budget_and_determinism(method):
    task = synthetic_task(n_configs=80, n_epochs=4)
    out = []
    for _ in range(2):
        opt = make_optimizer(method, problem_for(task), 7, {"n_evals": 12})
        tab = run(task, opt, Budget(1000)).table
        assert tab["trial_id"].nunique() == 12 and (tab.groupby("trial_id")["epoch"].max() == 4).all()
        out.append(tab["config_id"].tolist())
    assert out[0] == out[1]


def test_turbo_trust_region_counters():
    task = synthetic_task(n_configs=10)
    opt = make_optimizer("turbo", problem_for(task), 0, {"n_evals": 50, "n_init": 2})
    x = np.full(3, 0.5)
    for v in (5.0, 4.0):  # initial design: counters untouched
        opt._observe(x, x, v)
    assert opt.length == 0.8 and opt.n_succ == 0
    for v in (3.0, 2.0, 1.0):  # three successes double the side
        opt._observe(x, x, v)
    assert opt.length == 1.6
    for _ in range(opt.fail_tol):  # fail_tol failures halve it
        opt._observe(x, x, 9.0)
    assert opt.length == 0.8



def _with_sharpness():
    """A small synthetic task and its copy with a ``sharpness`` column (the final loss + 1) so that FGHPO can run."""
    from lcsim.benchmarks._base import Metric, Task

    task = synthetic_task(n_configs=40, n_epochs=5)
    sharp = np.repeat(task.curves[:, :, -1:, 0] + 1.0, task.n_epochs, axis=2)
    curves = np.concatenate([task.curves, sharp[..., None]], axis=-1)
    metrics = {**task.metrics, "sharpness": Metric("sharpness", True)}
    return task, Task(task.benchmark, task.name, task.configs, curves, metrics, task.objective, task.space,
                      task.epoch_cost, task.cost_unit, task.diverged, task.version)

def test_run_replayed_protocol_small():
    task, t2 = _with_sharpness()
    res = run_replayed({"s": t2}, ["fghpo", "random_search"], repeats=3, score_metric="valid_acc",
                       params={"fghpo": {"n_probe": 10, "n_full": 3}, "random_search": {"n_evals": 5}},
                       progress=False)
    assert len(res) == 6 and res["score"].notna().all()
    assert (res[res.method == "random_search"]["n_trials"] == 5).all()
    assert (res[res.method == "fghpo"]["n_trials"] == 10).all()


def test_run_live_protocol_tiny():
    import torch

    from lcsim.live import load_dataset
    from lcsim.proxy.protocol import run_live
    from lcsim.proxy.tasks import live_task

    torch.set_num_threads(1)
    ds = load_dataset("iris", seed=0)
    res = run_live({"iris": lambda: live_task("iris", epochs=2, dataset_obj=ds)}, ["fghpo", "random_search"],
                   params={"fghpo": {"n_probe": 3, "n_full": 1}, "random_search": {"n_evals": 2}}, progress=False)
    assert list(res["method"]) == ["fghpo", "random_search"]
    assert list(res["n_trials"]) == [3, 2]
    assert res["score"].between(0, 1).all() and (res["runtime_s"] > 0).all()


def test_direction_from_u_when_medians_are_equal():
    x = [5.0] * 11 + [10.0] * 9
    y = [0.0] * 9 + [5.0] * 11
    df = pd.DataFrame({"method": ["x"] * 20 + ["y"] * 20, "score": x + y})
    pw = pairwise_mwu(df)
    assert pw["median_a"].iloc[0] == pw["median_b"].iloc[0] == 5.0
    assert pw["p_adj"].iloc[0] < 0.05 and pw["better"].iloc[0] == "x"
    assert pairwise_mwu(df, maximize=False)["better"].iloc[0] == "y"


def test_n_evals_sets_the_budget_of_methods_without_it():
    """BOHB takes no n_evals parameter: the protocol turns it into a budget of n_evals full evaluations' worth of
    epochs (it used to be passed on and refused)."""
    task, t2 = _with_sharpness()
    res = run_replayed({"s": t2}, ["bohb"], repeats=2, score_metric="valid_acc", params={"bohb": {"n_evals": 3}},
                       progress=False)
    full_cost = task.epoch_cost[:, 0, :].sum(axis=1).max()
    assert res["score"].notna().all() and (res["runtime_s"] <= 3 * full_cost + 1e-9).all()
    big = run_replayed({"s": t2}, ["bohb"], repeats=2, score_metric="valid_acc", params={"bohb": {"n_evals": 12}},
                       progress=False)
    assert (big["runtime_s"] > res["runtime_s"]).all()
