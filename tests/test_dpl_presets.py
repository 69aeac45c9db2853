"""DPL presets: ``preset="paper"`` (default) is exactly its named values; ``preset="code"`` reproduces the
mechanics of the authors' code (github.com/machinelearningnuremberg/DPL), each checked against a hand-computed value
or an independent reference (scikit-learn's pipeline for the encoding, scipy for EI)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from scipy.stats import norm

from lcsim.benchmarks.synthetic import synthetic_task
from lcsim.errors import InvalidParameterError
from lcsim.optimizers import Observation, make_optimizer
from lcsim.optimizers.acquisition import expected_improvement
from lcsim.replay import Budget, problem_for, run
from lcsim.surrogates.dpl_ensemble import DPLEnsemble

torch.set_num_threads(1)
TINY = dict(n_members=2, n_units=8, initial_epochs=3, refine_epochs=1)
CODE_KEYS = ("head", "batch_norm", "full_fits", "restart_patience", "encoding", "clip_targets", "ei_zero_std",
             "reseed_fits")

# The paper preset's runs: a 60-step run on synthetic_task(n_configs=40, n_epochs=8, seed=7), DPL seed 5, replay
# seed 5. When the presets were introduced (commit 16c99cd) this run was checked step for step against one recorded
# with the code before them (bc9a395) on the same machine. That record is not portable: on another CPU, torch's float32
# rounding swaps two near-tied EI choices at step 17 (measured 2026-12-06), so the portable check is that the default,
# preset="paper" and the paper's values set one by one give the same run bit for bit in one process.
BEFORE_PARAMS = dict(n_members=3, n_units=16, initial_epochs=30, refine_epochs=3, batch_size=16)
PAPER_VALUES = {"head": "sigmoid", "batch_norm": True, "full_fits": 1, "restart_patience": None, "encoding": "space",
                "clip_targets": True, "ei_zero_std": "limit", "reseed_fits": False}


def _before_run(**extra):
    task = synthetic_task(n_configs=40, n_epochs=8, seed=7)
    opt = make_optimizer("dpl", problem_for(task), 5, {**BEFORE_PARAMS, **extra})
    res = run(task, opt, Budget(60), seed=5)
    return task, opt, res.table


def test_paper_preset_is_the_default_and_its_values_one_by_one():
    runs = [_before_run(**extra) for extra in ({}, {"preset": "paper"}, {"preset": "code", **PAPER_VALUES})]
    steps = [list(zip(t["config_id"], t["epoch"])) for _, _, t in runs]
    assert len(steps[0]) == 60 and len(set(steps[0])) == 60 and steps[0] == steps[1] == steps[2]
    posts = [opt._model.posterior(problem_for(task).encoded_candidates(), 1.0) for task, opt, _ in runs]
    for mean, var in posts[1:]:
        np.testing.assert_array_equal(mean, posts[0][0])
        np.testing.assert_array_equal(var, posts[0][1])
    for (_, opt, t), preset in zip(runs, ("paper", "paper", "code")):
        p = opt.params()
        assert {k: p[k] for k in CODE_KEYS} == PAPER_VALUES
        assert p["preset"] == preset and f'"preset": "{preset}"' in t["method_params"].iloc[0]
    # the code preset's own values change the run (the comparison above can fail)
    _, _, code = _before_run(preset="code")
    assert list(zip(code["config_id"], code["epoch"])) != steps[0]


def test_code_preset_values_and_overrides():
    p = problem_for(synthetic_task(n_configs=8, n_epochs=51, seed=1))
    code = make_optimizer("dpl", p, 0, {**TINY, "preset": "code"}).params()
    # int(51 + 0.2 * 51) = int(61.2) = 61 (the code's no_improvement_threshold on TaskSet's 51 steps)
    assert {k: code[k] for k in CODE_KEYS} == {
        "head": "silu", "batch_norm": False, "full_fits": 10, "restart_patience": 61, "encoding": "pool",
        "clip_targets": False, "ei_zero_std": "half", "reseed_fits": True}
    assert make_optimizer("dpl", p, 0, {**TINY, "preset": "code", "b_step": 2}).params()["full_fits"] == 11
    # explicit values win over the preset, in both directions
    mixed = make_optimizer("dpl", p, 0, {**TINY, "preset": "code", "head": "sigmoid", "restart_patience": None,
                                         "clip_targets": True}).params()
    assert (mixed["head"], mixed["restart_patience"], mixed["clip_targets"], mixed["batch_norm"]) == (
        "sigmoid", None, True, False)
    paper = make_optimizer("dpl", p, 0, {**TINY, "encoding": "pool", "ei_zero_std": "half"}).params()
    assert (paper["encoding"], paper["ei_zero_std"], paper["head"]) == ("pool", "half", "sigmoid")
    # the recorded parameters rebuild the same optimizer
    rebuilt = make_optimizer("dpl", p, 0, code).params()
    assert rebuilt == code


@pytest.mark.parametrize("bad, match", [({"preset": "authors"}, "preset"), ({"encoding": "minmax"}, "encoding"),
                                        ({"clip_targets": "no"}, "clip_targets"), ({"ei_zero_std": 0}, "ei_zero_std"),
                                        ({"batch_norm": "yes"}, "batch_norm"), ({"reseed_fits": 2}, "reseed_fits"),
                                        ({"full_fits": 0}, "full_fits")])
def test_invalid_preset_parameters(bad, match):
    p = problem_for(synthetic_task(n_configs=8, n_epochs=5, seed=1))
    with pytest.raises(InvalidParameterError, match=match):
        make_optimizer("dpl", p, 0, {**TINY, **bad})


def test_pool_encoding_needs_a_pool():
    from dataclasses import replace

    p = replace(problem_for(synthetic_task(n_configs=8, n_epochs=5, seed=1)), candidates=None)
    with pytest.raises(InvalidParameterError, match="encoding='space'"):
        make_optimizer("dpl", p, 0, {**TINY, "preset": "code"})
    assert make_optimizer("dpl", p, 0, {**TINY, "preset": "code", "encoding": "space"}).encoding == "space"


# ---------------------------------------------------------------- driving the optimizer observation by observation
def _drive(opt, served, n_obs, value_of=None):
    """Ask/tell ``n_obs`` times; observation ``j`` (1-based) is served ``value_of(j)`` at each new epoch if given,
    else the task's curve. Returns, per observation, the (epochs, targets) of every ensemble fit it caused."""
    fits: dict[int, list] = {}
    orig = DPLEnsemble.fit
    j = 0

    def spy(self, X, b, y, epochs, emphasize=None):
        fits.setdefault(j, []).append((epochs, np.array(y)))
        return orig(self, X, b, y, epochs, emphasize)

    DPLEnsemble.fit = spy
    try:
        for j in range(1, n_obs + 1):
            job = opt.ask()
            ep = np.arange(opt.paid.get(job.trial_id, 0) + 1, job.epoch + 1)
            vals = served[job.config_id, ep - 1] if value_of is None else np.full(len(ep), value_of(j))
            opt.tell(job, Observation(job.trial_id, job.config_id, ep, vals))
    finally:
        DPLEnsemble.fit = orig
    return fits


def test_code_scratch_fits_at_observations_2_to_11():
    """The code fits from scratch at observations 1-11 (``iterations_counter <= 10`` after each), and the first of
    them, on one point, trains nothing; so scratch fits (initial_epochs) on data at observations 2-11, refinements
    (refine_epochs) from observation 12. ``full_fits=11`` (the old docstring's claim) would give 2-12. (20 steps: the
    restart patience, int(20 + 0.2 * 20) = 24, is not reached in 16 observations.)"""
    task = synthetic_task(n_configs=12, n_epochs=20, seed=2)
    served = task.served_objective()[:, 0]
    opt = make_optimizer("dpl", problem_for(task), 1, {**TINY, "preset": "code", "initial_epochs": 7,
                                                       "refine_epochs": 2})
    fits = _drive(opt, served, 16)
    assert 1 not in fits
    assert {j: f[0][0] for j, f in fits.items()} == {**{j: 7 for j in range(2, 12)}, **{j: 2 for j in range(12, 17)}}
    assert all(len(y) == j for j, f in fits.items() for _, y in f)  # one point per observation (b_step = 1)
    paper = make_optimizer("dpl", problem_for(task), 1, {**TINY, "initial_epochs": 7, "refine_epochs": 2})
    assert [j for j, f in _drive(paper, served, 16).items() if f[0][0] == 7] == [2]


def test_code_restart_after_61_observations_without_improvement():
    """Hand count on a 51-step task: observation 1 improves f_best (from inf), observation 30 improves it again, every
    other observation does not. The code's patience reaches 61 at observation 30 + 61 = 91 and restarts from scratch
    there (and would again at 152); the paper preset never restarts."""
    task = synthetic_task(n_configs=6, n_epochs=51, seed=2)
    served = task.served_objective()[:, 0]

    def value(j):
        return {1: 0.5, 30: 0.1}.get(j, 0.9)

    opt = make_optimizer("dpl", problem_for(task), 1, {**TINY, "preset": "code", "initial_epochs": 7,
                                                       "refine_epochs": 1})
    fits = _drive(opt, served, 100, value)
    assert [j for j, f in fits.items() if f[0][0] == 7] == [*range(2, 12), 91]
    assert opt._best == 0.1
    paper = make_optimizer("dpl", problem_for(task), 1, {**TINY, "initial_epochs": 7, "refine_epochs": 1})
    assert [j for j, f in _drive(paper, served, 100, value).items() if f[0][0] == 7] == [2]


def test_code_targets_are_raw_and_paper_targets_clipped():
    """Unbounded loss with one far outlier: the code preset fits the raw values; the paper preset clips at
    median + 3 * (median - min), by hand 0.5 + 3 * (0.5 - 0.1) = 1.7 for the values below."""
    task = synthetic_task(n_configs=8, n_epochs=5, seed=3)
    served = task.served_objective()[:, 0]
    vals = {1: 0.1, 2: 0.5, 3: 1e6, 4: 0.6, 5: 0.3}
    seen = {}
    for preset in ("code", "paper"):
        opt = make_optimizer("dpl", problem_for(task), 0, {**TINY, "preset": preset})
        seen[preset] = _drive(opt, served, 5, vals.get)[5][0][1]
    np.testing.assert_array_equal(seen["code"], [0.1, 0.5, 1e6, 0.6, 0.3])
    np.testing.assert_allclose(seen["paper"], [0.1, 0.5, 1.7, 0.6, 0.3])


# ---------------------------------------------------------------- acquisition at sigma = 0
def test_ei_half_at_zero_std_matches_the_code_formula():
    mu = np.array([0.05, 0.2, 0.5, 0.3, 0.1])
    sd = np.array([0.0, 0.0, 0.0, 0.1, 0.2])
    best = 0.1
    out = expected_improvement(mu, sd, best, zero_std="half")
    np.testing.assert_allclose(out[:3], [(best - 0.05) / 2, (best - 0.2) / 2, (best - 0.5) / 2], rtol=1e-15)
    z = (best - mu[3:]) / sd[3:]
    np.testing.assert_allclose(out[3:], (best - mu[3:]) * norm.cdf(z) + sd[3:] * norm.pdf(z), rtol=1e-12)
    np.testing.assert_allclose(expected_improvement(mu, sd, best)[:3], [0.05, 0.0, 0.0], rtol=1e-15)
    with pytest.raises(InvalidParameterError, match="zero_std"):
        expected_improvement(mu, sd, best, zero_std="code")


@pytest.mark.parametrize("preset, expected", [("code", 1), ("paper", 0)])
def test_optimizer_uses_its_zero_std_rule(preset, expected):
    """Every candidate predicted above f_best with zero spread: the paper's limit gives EI 0 everywhere (the tie goes to
    the lowest row), the code's (f_best - mu) / 2 prefers the smallest mean (row 1)."""
    task = synthetic_task(n_configs=3, n_epochs=5, seed=3)
    served = task.served_objective()[:, 0]
    opt = make_optimizer("dpl", problem_for(task), 0, {**TINY, "preset": preset})
    _drive(opt, served, 1)
    opt._cand = {"mean": np.array([0.5, 0.2, 0.9]), "std": np.zeros(3)}
    opt._best = 0.1
    assert opt.ask().config_id == expected


# ---------------------------------------------------------------- model: head and no batch norm
def test_code_model_is_silu_head_without_batch_norm():
    task = synthetic_task(n_configs=10, n_epochs=5, seed=3)
    served = task.served_objective()[:, 0]
    opt = make_optimizer("dpl", problem_for(task), 0, {**TINY, "preset": "code"})
    _drive(opt, served, 4)
    m = opt._model
    assert m.head == "silu" and not m.batch_norm and m.bn_scale == []
    assert not any(isinstance(mod, torch.nn.BatchNorm1d) for k in range(m.n_members)
                   for mod in m.member_module(k).modules())
    # coefficients by hand: Linear-LeakyReLU layers, then alpha = a, beta = b * sigmoid(b), gamma = g * sigmoid(g)
    X = opt.encoded_pool()
    for k in range(m.n_members):
        h = X
        for i in range(m.n_layers):
            h = h @ m.weights[i][k].detach().double().numpy() + m.biases[i][k, 0].detach().double().numpy()
            h = np.where(h > 0, h, 0.01 * h)
        raw = h @ m.weights[-1][k].detach().double().numpy() + m.biases[-1][k, 0].detach().double().numpy()
        ref = np.column_stack([raw[:, 0], raw[:, 1] / (1 + np.exp(-raw[:, 1])), raw[:, 2] / (1 + np.exp(-raw[:, 2]))])
        np.testing.assert_allclose(m.coefficients(X)[k], ref, rtol=1e-4, atol=1e-6)


# ---------------------------------------------------------------- encoding over the pool
def _sklearn_preprocess(values: np.ndarray, log_indicator: list[bool]) -> np.ndarray:
    """The authors' ``framework.preprocess`` for numerical columns, with scikit-learn as they run it."""
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer, MinMaxScaler

    log_cols = [i for i, is_log in enumerate(log_indicator) if is_log]
    steps = [("log_pre", ColumnTransformer([("log", FunctionTransformer(np.log), log_cols)], remainder="passthrough")),
             ("feature_types_pre", ColumnTransformer([("num", MinMaxScaler(), list(range(values.shape[1])))]))]
    return Pipeline(steps).fit_transform(values)


def test_pool_encoding_is_the_codes_min_max_over_the_pool():
    task = synthetic_task(n_configs=20, n_epochs=5, seed=6)
    p = problem_for(task)
    served = task.served_objective()[:, 0]
    opt = make_optimizer("dpl", p, 0, {**TINY, "preset": "code"})
    cand = p.candidates  # columns learning_rate (log), dropout, width (log)
    ref = _sklearn_preprocess(cand.to_numpy(dtype=float), [True, False, True])
    np.testing.assert_allclose(opt.encoded_pool(), ref, rtol=1e-12, atol=1e-15)
    # by hand: column 0 is log learning_rate scaled over the pool, so its min/max rows are 0 and 1
    lr = np.log(cand["learning_rate"].to_numpy())
    np.testing.assert_allclose(opt.encoded_pool()[:, 0], (lr - lr.min()) / (lr.max() - lr.min()), rtol=1e-12)
    # the surrogate is fed those rows
    _drive(opt, served, 3)
    for tid, cid in opt._cfg_of.items():
        np.testing.assert_array_equal(opt._x_of[tid], opt.encoded_pool()[cid])


def test_pool_encoding_on_the_taskset_dpl_pool(shared_data):
    """On the real DPL pool of a TaskSet task: the code's column order (log-scaled first: learning_rate, epsilon, l1,
    l2, linear_decay, exponential_decay, then beta1, beta2) and its values, against scikit-learn."""
    from lcsim import benchmarks
    from lcsim.benchmarks.taskset import HP_NAMES, LOG_HPS
    from lcsim.optimizers.dpl import pool_encoding

    task = benchmarks.load("taskset", "FixedTextRNNClassification_imdb_patch32_GRU64_avg_bs128", filter="dpl")
    p = problem_for(task)
    assert list(p.candidates.columns) == HP_NAMES
    ref = _sklearn_preprocess(p.candidates.to_numpy(dtype=float), [h in LOG_HPS for h in HP_NAMES])
    x = pool_encoding(p.space, p.candidates)
    np.testing.assert_allclose(x, ref, rtol=1e-12, atol=1e-14)
    order = ["learning_rate", "epsilon", "l1", "l2", "linear_decay", "exponential_decay", "beta1", "beta2"]
    c = p.candidates
    for i, name in enumerate(order):
        v = np.log(c[name].to_numpy()) if name in LOG_HPS else c[name].to_numpy()
        np.testing.assert_allclose(x[:, i], (v - v.min()) / (v.max() - v.min()), rtol=1e-12, atol=1e-14)
    assert not np.allclose(x, p.encoded_candidates())  # the paper preset's encoding (space bounds) differs


def test_pool_encoding_keeps_categoricals_and_constants():
    from ConfigSpace import Categorical, ConfigurationSpace, Constant, Float

    from lcsim.optimizers.dpl import pool_encoding

    space = ConfigurationSpace()
    space.add([Float("a", (1.0, 100.0), log=True), Categorical("opt", ["sgd", "adam", "rms"]), Constant("c", 3),
               Float("b", (0.0, 1.0))])
    cand = pd.DataFrame({"b": [0.2, 0.4, 0.3], "opt": ["adam", "rms", "sgd"], "a": [1.0, 10.0, 100.0], "c": [3, 3, 3]})
    # order: log-scaled a first, then b, opt, c in the pool's column order
    np.testing.assert_allclose(pool_encoding(space, cand), [[0.0, 0.0, 0.5, 0.0], [0.5, 1.0, 1.0, 0.0],
                                                            [1.0, 0.5, 0.0, 0.0]], atol=1e-15)
