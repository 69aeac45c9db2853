"""DyHPO (Wistuba et al. 2022): deep-kernel GP posterior and marginal likelihood against brute-force numpy, the
multi-fidelity EI choice against scipy.stats.norm, one-epoch freeze-thaw advances, determinism, the contract."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch
from scipy.stats import multivariate_normal, norm

from lcsim.benchmarks.synthetic import synthetic_task
from lcsim.errors import InvalidParameterError
from lcsim.optimizers import METHODS, Observation, make_optimizer, method_class
from lcsim.optimizers.dyhpo import DeepKernelGP, DyHPO
from lcsim.replay import Budget, problem_for, run
from lcsim.testing.optimizer_contract import CHECKS, fast_params

torch.set_num_threads(1)
FAST = dict(units1=8, units2=8, initial_epochs=30, refine_epochs=3, full_fits=2)


@pytest.fixture(scope="module")
def task():
    return synthetic_task(n_configs=24, n_epochs=6, seed=4)


def _run(task, seed=0, workers=1, amount=30, **params):
    opt = make_optimizer("dyhpo", problem_for(task, workers), seed, {**FAST, **params})
    return opt, run(task, opt, Budget(amount), n_workers=workers, seed=seed)


# ------------------------------------------------------------------------------------------------- registry, contract
def test_registered_and_flagged():
    assert METHODS["dyhpo"] == "lcsim.optimizers.dyhpo:DyHPO"
    cls = method_class("dyhpo")
    assert cls is DyHPO and cls.name == "dyhpo" and cls.slow is True and not cls.proposes_configs


@pytest.mark.timeout(180)
@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__.removeprefix("check_"))
def test_contract(check):
    check("dyhpo", fast_params("dyhpo"))


@pytest.mark.parametrize("params, match", [
    ({"units1": 0}, "'units1' parameter of DyHPO must be an int in \\[1, inf\\)"),
    ({"kernel_size": 0}, "'kernel_size'"), ({"learning_rate": 0.0}, "'learning_rate'"),
    ({"initial_epochs": -1}, "'initial_epochs'"), ({"full_fits": 0}, "'full_fits'"),
    ({"restart_patience": -1}, "'restart_patience'"), ({"encoding": "onehot"}, "'encoding'"),
    ({"batch_norm": "yes"}, "'batch_norm'"), ({"n_units": 3}, "Valid parameters"),
])
def test_parameter_validation(task, params, match):
    with pytest.raises(InvalidParameterError, match=match):
        make_optimizer("dyhpo", problem_for(task), 0, params)


def test_defaults_follow_the_authors_release(task):
    p = make_optimizer("dyhpo", problem_for(task), 0).params()
    assert (p["units1"], p["units2"], p["channels"], p["kernel_size"]) == (64, 128, 4, 3)
    assert (p["learning_rate"], p["initial_epochs"], p["refine_epochs"], p["full_fits"]) == (1e-3, 1000, 50, 10)
    assert p["restart_patience"] == int(6 + 0.2 * 6)


# ------------------------------------------------------------------------------------------------- the model
def _toy(seed=0, n=9, n_test=5, d=3, curve_len=4):
    rng = np.random.default_rng(seed)
    X, Xs = rng.random((n, d)), rng.random((n_test, d))
    b, bs = rng.integers(1, 6, n) / 5, rng.integers(1, 6, n_test) / 5
    C, Cs = rng.random((n, curve_len)), rng.random((n_test, curve_len))
    y = np.sin(3 * X[:, 0]) + b + 0.1 * rng.standard_normal(n)
    return X, b, C, y, Xs, bs, Cs


def _features(gp, X, b, C):
    gp.net.eval()
    with torch.no_grad():
        return gp.net(*(torch.as_tensor(a, dtype=torch.float64) for a in (X, b, C))).numpy()


def _brute_kernel(Za, Zb, s, ell):
    K = np.empty((len(Za), len(Zb)))
    for i in range(len(Za)):
        for j in range(len(Zb)):
            K[i, j] = s * np.exp(-np.sum((Za[i] - Zb[j]) ** 2) / (2 * ell ** 2))
    return K


def test_gp_posterior_matches_brute_force_numpy():
    """After a fit, the posterior mean and variance equal the textbook GP formulas written with np.linalg.solve on the
    network's features (a double loop for the kernel), noise included in the variance."""
    X, b, C, y, Xs, bs, Cs = _toy()
    gp = DeepKernelGP(3, 4, 0, units1=6, units2=5, channels=2, kernel_size=2)
    assert gp.fit(X, b, C, y, 40)
    mean, var = gp.posterior(Xs, bs, Cs)
    p = gp.gp_params()
    Z, Zs = _features(gp, X, b, C), _features(gp, Xs, bs, Cs)
    K = _brute_kernel(Z, Z, p["outputscale"], p["lengthscale"]) + p["noise"] * np.eye(len(y))
    Ks = _brute_kernel(Z, Zs, p["outputscale"], p["lengthscale"])
    ref_mean = p["mean"] + Ks.T @ np.linalg.solve(K, y - p["mean"])
    ref_var = p["outputscale"] - np.sum(Ks * np.linalg.solve(K, Ks), axis=0) + p["noise"]
    np.testing.assert_allclose(mean, ref_mean, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(var, ref_var, rtol=1e-7, atol=1e-10)
    assert np.ptp(mean) > 1e-3   # the check is not on a constant prediction


def test_marginal_likelihood_matches_scipy_and_training_lowers_it():
    """The loss is -log N(y | c, K + sigma^2 I) / n (scipy.stats.multivariate_normal), and Adam lowers it."""
    X, b, C, y, *_ = _toy(1, n=12)
    gp = DeepKernelGP(3, 4, 1, units1=6, units2=5, channels=2, kernel_size=2)

    def loss_now():
        gp.net.train()  # the loss is taken with batch statistics, as during the fit
        with torch.no_grad():
            t = [torch.as_tensor(a, dtype=torch.float64) for a in (X, b, C, y)]
            Z = gp.net(*t[:3])
            return float(gp.neg_mll(Z, t[3])), Z.numpy()

    before, Z = loss_now()
    p = gp.gp_params()
    K = _brute_kernel(Z, Z, p["outputscale"], p["lengthscale"]) + p["noise"] * np.eye(len(y))
    ref = -multivariate_normal(np.full(len(y), p["mean"]), K).logpdf(y) / len(y)
    assert before == pytest.approx(ref, rel=1e-9)
    assert gp.fit(X, b, C, y, 200)
    after, _ = loss_now()
    assert after < before - 0.1


def test_gpytorch_initial_values():
    """c = 0, outputscale and lengthscale softplus(0) = log 2, noise log 2 + 1e-4 (GPyTorch's defaults)."""
    p = DeepKernelGP(2, 3, 0).gp_params()
    assert p["mean"] == 0.0
    assert p["outputscale"] == pytest.approx(np.log(2)) and p["lengthscale"] == pytest.approx(np.log(2))
    assert p["noise"] == pytest.approx(np.log(2) + 1e-4)


def test_the_curve_input_is_the_curve_before_each_budget(task):
    """Training rows: one per observed (trial, epoch), the curve input holding that trial's targets of the earlier
    epochs, zero-padded; written out here from the run's table."""
    opt, res = _run(task, amount=20)
    X, b, C, y, ep, clip = opt.training_data()
    assert len(y) == 20 and C.shape == (20, task.n_epochs - 1)
    v = res.table["objective"].to_numpy(float)
    level = np.median(v) + 3 * (np.median(v) - v.min())   # the clip rule for an unbounded loss, by hand
    assert clip == pytest.approx(level)
    rows = {}
    for _, r in res.table.iterrows():
        rows.setdefault(int(r["trial_id"]), []).append(min(float(r["objective"]), level))
    expect = []
    for t in rows:
        for e in range(1, len(rows[t]) + 1):
            c = np.zeros(task.n_epochs - 1)
            c[: e - 1] = rows[t][: e - 1]
            expect.append((e / task.n_epochs, tuple(c), rows[t][e - 1]))
    got = sorted(zip(b, map(tuple, C), y))
    np.testing.assert_allclose(np.array([g[2] for g in got]), np.array([e[2] for e in sorted(expect)]))
    assert [g[:2] for g in got] == [e[:2] for e in sorted(expect)]


# ------------------------------------------------------------------------------------------------- the loop
def test_one_epoch_freeze_thaw_steps_and_initial_history(task):
    opt, res = _run(task, amount=30)
    t = res.table
    assert len(t) == 30 and t["epoch"].iloc[0] == 1
    for _, g in t.groupby("trial_id"):
        assert list(g["epoch"]) == list(range(1, len(g) + 1))  # every job advances its trial by one epoch
    assert t.groupby("trial_id")["config_id"].nunique().max() == 1
    assert t["config_id"].nunique() == t["trial_id"].nunique()
    assert t["trial_id"].nunique() < 30   # some trials are resumed (the race), not only new configurations


def _closed_form_ei(mu, sigma, f_best):
    """EI for minimisation: ``(f - mu) Phi(z) + sigma phi(z)``, ``z = (f - mu) / sigma`` (limit where sigma = 0)."""
    out = np.maximum(f_best - mu, 0.0)
    for i in np.flatnonzero(sigma > 0):
        z = (f_best[i] - mu[i]) / sigma[i]
        out[i] = (f_best[i] - mu[i]) * norm.cdf(z) + sigma[i] * norm.pdf(z)
    return out


def test_choice_is_the_multi_fidelity_ei_argmax(task):
    """Each informed ask takes the argmax over unfinished pool rows of scipy's closed-form EI of the model's own
    posterior at the row's next epoch, against f_best(j): the lowest target observed at that epoch, else the lowest at
    any epoch (Sec. 4.2), both recomputed here from the values told. A planted best-over-all-budgets incumbent or a
    posterior at the maximum budget fails it."""
    p = problem_for(task)
    opt = make_optimizer("dyhpo", p, 3, FAST)
    served = task.served_objective()[:, 0]
    told: dict[int, list[float]] = {}     # config_id -> targets of epochs 1..k
    checked = differs = 0
    for _ in range(16):
        cand = opt._cand
        job = opt.ask()
        if cand is not None:
            rows = [r for r in range(p.n_candidates) if len(told.get(r, [])) < p.max_epoch]
            nxt = np.array([len(told.get(r, [])) + 1 for r in rows])
            curves = np.zeros((len(rows), opt.curve_len))
            for k, r in enumerate(rows):
                curves[k, : len(told.get(r, []))] = told.get(r, [])
            mean, var = opt._model.posterior(opt.encoded_pool()[rows], nxt / p.max_epoch, curves)
            every = [v for c in told.values() for v in c]
            f = np.array([min((c[j - 1] for c in told.values() if len(c) >= j), default=min(every)) for j in nxt])
            ei = _closed_form_ei(mean, np.sqrt(var), f)
            differs += int(np.any(f != min(every)))
            assert ei[rows.index(job.config_id)] == pytest.approx(ei.max(), rel=1e-9, abs=1e-14)
            assert np.ptp(ei) > 0
            checked += 1
        ep = np.arange(opt.paid.get(job.trial_id, 0) + 1, job.epoch + 1)
        vals = served[job.config_id, ep - 1]
        told.setdefault(job.config_id, []).extend(vals.tolist())
        opt.tell(job, Observation(job.trial_id, job.config_id, ep, vals))
    assert checked == 15 and differs > 0  # the per-budget incumbent mattered in some steps


def test_deterministic_under_seed_and_seed_matters(task):
    _, a = _run(task, seed=5)
    _, b = _run(task, seed=5)
    _, c = _run(task, seed=6)
    cols = ["trial_id", "config_id", "epoch", "objective"]
    assert a.table[cols].equals(b.table[cols])
    assert not a.table[cols].equals(c.table[cols])


def test_three_workers_and_termination():
    small = synthetic_task(n_configs=4, n_epochs=3, seed=1)
    opt, res = _run(small, amount=10_000, workers=3)
    assert len(res.table) == 12 and opt.ask() is None  # everything trained to the end, then it stops
    for _, g in res.table.groupby("trial_id"):
        assert g["sim_time"].is_monotonic_increasing and list(g["epoch"]) == [1, 2, 3]


def test_schedule_full_fits_and_restart(task, monkeypatch):
    """Fits from scratch at the first ``full_fits`` observations, refinements after; a restart after
    ``restart_patience`` observations without improvement."""
    calls = []
    orig = DeepKernelGP.fit
    monkeypatch.setattr(DeepKernelGP, "fit", lambda self, X, b, C, y, e: calls.append(e) or orig(self, X, b, C, y, e))
    _run(task, amount=8, full_fits=3, restart_patience=0)
    assert calls == [30, 30, 30, 3, 3, 3, 3, 3]
    calls.clear()
    opt, _ = _run(task, amount=25, full_fits=1, restart_patience=2)
    assert calls[0] == 30 and calls.count(30) > 1


def test_non_tabular_problem_samples_configurations(task):
    p = replace(problem_for(task), candidates=None)
    opt = make_optimizer("dyhpo", p, 0, {**FAST, "n_samples": 30})
    seen = {}
    for _ in range(10):
        job = opt.ask()
        assert job.config is not None and job.config_id is None
        prev = opt.paid.get(job.trial_id, 0)
        assert job.epoch == prev + 1
        seen.setdefault(job.trial_id, job.config)
        assert seen[job.trial_id] == job.config
        ep = np.arange(prev + 1, job.epoch + 1)
        lr = job.config["learning_rate"]
        opt.tell(job, Observation(job.trial_id, None, ep, 0.1 + abs(np.log10(lr) + 2) + 0.5 * ep ** -0.5))
    assert len(seen) >= 2


def test_beats_random_search_on_synthetic_power_laws():
    """Same budget (5 full-curve equivalents of a 40 x 8 pool), 4 seeds: DyHPO's mean final normalized regret is
    below random search's."""
    t = synthetic_task(n_configs=40, n_epochs=8, seed=2)
    dy, rs = [], []
    for s in range(4):
        _, res = _run(t, seed=s, amount=40, initial_epochs=100, refine_epochs=10, units1=16, units2=16)
        dy.append(res.table["normalized_regret"].iloc[-1])
        rs.append(run(t, make_optimizer("random_search", problem_for(t), s), Budget(40), seed=s)
                  .table["normalized_regret"].iloc[-1])
    assert np.mean(dy) < np.mean(rs), (dy, rs)
