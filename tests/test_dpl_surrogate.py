"""DPL ensemble surrogate (eq. 3-6, appendix A) and Expected Improvement (eq. 7)."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.stats import norm

from lcsim.errors import InvalidParameterError
from lcsim.optimizers.acquisition import expected_improvement
from lcsim.surrogates.dpl_ensemble import DPLEnsemble, power_law

torch.set_num_threads(1)


def _data(n=60, d=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.random((n, d))
    b = rng.integers(1, 28, n) / 27.0
    y = 0.2 + 0.3 * X[:, 0] + 0.4 * b ** (-0.3 - 0.4 * X[:, 1])
    return X, b, y


@pytest.mark.parametrize("head", ["sigmoid", "leaky_relu", "silu"])
@pytest.mark.parametrize("loss", ["l1", "mse"])
def test_vectorized_equals_looped_members(head, loss):
    """One stacked pass with hand-written gradients == K torch.nn members trained one by one with autograd."""
    X, b, y = _data()
    kw = dict(n_members=3, n_units=16, head=head, loss=loss, batch_size=16, dtype=torch.float64)
    vec = DPLEnsemble(3, 11, vectorized=True, **kw)
    loop = DPLEnsemble(3, 11, vectorized=False, **kw)
    for m in (vec, loop):
        m.fit(X, b, y, 6)
        m.fit(X, b, y, 3, emphasize=5)  # a refinement with the newest point in every batch
    np.testing.assert_allclose(vec.predict_members(X, b), loop.predict_members(X, b), rtol=1e-7, atol=1e-8)


@pytest.mark.parametrize("batch_norm, batch_size", [(False, 16), (True, None)])
def test_vectorized_equals_looped_without_batch_norm_and_full_batch(batch_norm, batch_size):
    """The authors'-code variant (no batch norm) and full-batch training take other branches of the stacked pass."""
    X, b, y = _data()
    kw = dict(n_members=3, n_units=16, batch_norm=batch_norm, batch_size=batch_size, dtype=torch.float64)
    vec = DPLEnsemble(3, 4, vectorized=True, **kw)
    loop = DPLEnsemble(3, 4, vectorized=False, **kw)
    for m in (vec, loop):
        m.fit(X, b, y, 5)
        m.fit(X, b, y, 2, emphasize=7)
    np.testing.assert_allclose(vec.predict_members(X, b), loop.predict_members(X, b), rtol=1e-7, atol=1e-8)
    fresh = DPLEnsemble(3, 4, vectorized=True, **kw)
    assert np.abs(fresh.predict_members(X, b) - vec.predict_members(X, b)).max() > 1e-3
    for i in range(len(vec.running_mean)):  # batch-norm running statistics too
        np.testing.assert_allclose(vec.running_var[i].numpy(), loop.running_var[i].numpy(), rtol=1e-7)
    # and the fit moved away from the initial weights (the test would be vacuous otherwise)
    fresh = DPLEnsemble(3, 11, vectorized=True, **kw)
    assert np.abs(fresh.predict_members(X, b) - vec.predict_members(X, b)).max() > 1e-3


@pytest.mark.parametrize("n_layers, n_units", [(1, 16), (3, 8)])
def test_vectorized_equals_looped_for_other_depths(n_layers, n_units):
    """The stacked backward pass indexes layers generically: one hidden layer, and three (input widths 5, 8, 8)."""
    X, b, y = _data(d=5)
    kw = dict(n_members=2, n_units=n_units, n_layers=n_layers, batch_size=16, dtype=torch.float64)
    vec, loop = DPLEnsemble(5, 3, vectorized=True, **kw), DPLEnsemble(5, 3, vectorized=False, **kw)
    for m in (vec, loop):
        m.fit(X, b, y, 4)
        m.fit(X, b, y, 2, emphasize=0)
    np.testing.assert_allclose(vec.predict_members(X, b), loop.predict_members(X, b), rtol=1e-7, atol=1e-8)
    assert np.abs(DPLEnsemble(5, 3, **kw).predict_members(X, b) - vec.predict_members(X, b)).max() > 1e-3


@pytest.mark.parametrize("head, loss, batch_norm, batch_size", [
    ("sigmoid", "l1", True, 16), ("leaky_relu", "mse", True, 16), ("silu", "l1", False, 16),
    ("sigmoid", "mse", True, None)])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_scripted_training_loop_equals_eager(head, loss, batch_norm, batch_size, dtype):
    """TorchScript runs the same operator calls as eager PyTorch: bit-identical weights and running statistics."""
    from lcsim.surrogates import _dpl_steps

    # the default path really is compiled here (a silent fallback to eager would only show as lost speed)
    assert isinstance(_dpl_steps.scripted(), torch.jit.ScriptFunction)
    X, b, y = _data()
    kw = dict(n_members=3, n_units=16, head=head, loss=loss, batch_norm=batch_norm, batch_size=batch_size,
              dtype=dtype)
    ts, eager = DPLEnsemble(3, 8, scripted=True, **kw), DPLEnsemble(3, 8, scripted=False, **kw)
    for m in (ts, eager):
        m.fit(X, b, y, 5)
        m.fit(X, b, y, 3, emphasize=4)
    for p, q in zip(ts._parameters() + ts.running_mean + ts.running_var,
                    eager._parameters() + eager.running_mean + eager.running_var):
        assert torch.equal(p, q)
    assert not torch.equal(ts.weights[0], DPLEnsemble(3, 8, **kw).weights[0])  # training moved the weights


def test_scripted_falls_back_to_eager_when_torchscript_fails(monkeypatch):
    """A PyTorch without a working TorchScript: one RuntimeWarning, then the eager loop."""
    from lcsim.surrogates import _dpl_steps

    def broken(fn):
        raise RuntimeError("no TorchScript here")

    monkeypatch.setattr(_dpl_steps, "_SCRIPTED", None)
    monkeypatch.setattr(torch.jit, "script", broken)
    with pytest.warns(RuntimeWarning, match="TorchScript could not compile"):
        assert _dpl_steps.scripted() is _dpl_steps.train_steps
    X, b, y = _data()
    kw = dict(n_members=2, n_units=8, batch_size=16)
    fitted = DPLEnsemble(3, 1, **kw).fit(X, b, y, 2)  # scripted=True now runs the eager loop, and it trains
    assert not torch.equal(fitted.weights[1], DPLEnsemble(3, 1, **kw).weights[1])


def test_members_differ_and_posterior_is_eq6():
    X, b, y = _data()
    m = DPLEnsemble(3, 2, n_members=4, n_units=16, batch_size=16)
    m.fit(X, b, y, 5)
    p = m.predict_members(X, 1.0)
    assert p.shape == (4, len(X))
    assert np.std(p, axis=0).min() > 0  # different inits / batch orders
    mean, var = m.posterior(X, 1.0)
    np.testing.assert_allclose(mean, p.sum(0) / 4, rtol=1e-6)
    np.testing.assert_allclose(var, ((p - p.mean(0)) ** 2).sum(0) / 4, rtol=1e-5, atol=1e-12)


def test_same_seed_same_fit_other_seed_differs():
    X, b, y = _data()
    a, c, d = (DPLEnsemble(3, s, n_members=2, n_units=16, batch_size=16) for s in (5, 5, 6))
    for m in (a, c, d):
        m.fit(X, b, y, 4)
    np.testing.assert_array_equal(a.predict_members(X, b), c.predict_members(X, b))
    assert not np.allclose(a.predict_members(X, b), d.predict_members(X, b))


def test_power_law_head_recovers_a_known_power_law():
    """Four configurations with known (alpha, beta, gamma): the fitted ensemble reproduces their curves (eq. 4),
    and fitted on the first half of the budgets it extrapolates to the maximum budget."""
    x = np.array([0.0, 1 / 3, 2 / 3, 1.0])
    alpha, beta, gamma = 0.2 + 0.2 * x, 0.3 + 0.2 * x, 0.3 + 0.3 * x
    budgets = np.arange(1, 41) / 40.0
    X = np.repeat(x, len(budgets))[:, None]
    b = np.tile(budgets, len(x))
    truth = power_law(np.repeat(alpha, 40), np.repeat(beta, 40), np.repeat(gamma, 40), b)
    m = DPLEnsemble(1, 0, n_members=2, n_units=32, batch_size=None, loss="mse", learning_rate=1e-2)
    m.fit(X, b, truth, 1500)
    pred = m.predict_members(X, b)
    assert np.abs(pred - truth).max() < 0.02
    np.testing.assert_allclose(m.posterior(x[:, None], 1.0)[0], alpha + beta, atol=0.01)  # f(b=1) = alpha + beta
    half = b <= 0.5
    m2 = DPLEnsemble(1, 1, n_members=2, n_units=32, batch_size=None, loss="mse", learning_rate=1e-2)
    m2.fit(X[half], b[half], truth[half], 1500)
    np.testing.assert_allclose(m2.posterior(x[:, None], 1.0)[0], alpha + beta, atol=0.03)


def test_bad_input_raises():
    with pytest.raises(InvalidParameterError, match="head"):
        DPLEnsemble(2, 0, head="relu")
    with pytest.raises(InvalidParameterError, match="batch_size"):
        DPLEnsemble(2, 0, batch_size=1)
    m = DPLEnsemble(2, 0, n_units=4)
    with pytest.raises(InvalidParameterError, match="shape"):
        m.fit(np.zeros((3, 5)), np.ones(3), np.ones(3), 1)
    with pytest.raises(InvalidParameterError, match="finite"):
        m.fit(np.zeros((3, 2)), np.ones(3), np.array([1, np.nan, 1]), 1)


def test_expected_improvement_closed_form():
    rng = np.random.default_rng(0)
    mu, sd, best = rng.normal(size=200), rng.uniform(0.01, 2, 200), 0.1
    z = (best - mu) / sd
    ref = (best - mu) * norm.cdf(z) + sd * norm.pdf(z)
    np.testing.assert_allclose(expected_improvement(mu, sd, best), ref, rtol=1e-12, atol=1e-15)
    # the expectation of max(best - Y, 0) for Y ~ N(mu, sd) by quadrature, for one point
    from scipy.integrate import quad

    val, _ = quad(lambda t: max(best - t, 0.0) * norm.pdf(t, mu[0], sd[0]), mu[0] - 12 * sd[0], mu[0] + 12 * sd[0])
    assert expected_improvement(mu[:1], sd[:1], best)[0] == pytest.approx(val, rel=1e-6, abs=1e-10)
    # zero variance: the improvement itself
    np.testing.assert_allclose(expected_improvement([0.0, 0.5], [0.0, 0.0], 0.2), [0.2, 0.0])


@pytest.mark.parametrize("vectorized", [True, False])
def test_reseed_restarts_initialization_and_order_streams(vectorized):
    """``reseed=True`` (the authors' ``torch.manual_seed`` before every training call): every reset draws the same
    initial weights and every fit the same mini-batch orders, so fitting twice from the same state gives the same
    weights; the default continues both streams (new weights, new orders)."""
    X, b, y = _data(n=40)
    kw = dict(n_members=2, n_units=8, batch_size=16, vectorized=vectorized)

    def weights(m):
        return [w.detach().clone() for w in m.weights]

    for reseed in (True, False):
        m = DPLEnsemble(3, 4, reseed=reseed, **kw)
        w0 = weights(m)
        m.reset()
        same_init = all(torch.equal(a, c) for a, c in zip(w0, weights(m)))
        m.fit(X, b, y, 3)
        w1 = weights(m)
        m.reset()
        m.fit(X, b, y, 3)
        same_fit = all(torch.equal(a, c) for a, c in zip(w1, weights(m)))
        assert same_init == reseed and same_fit == reseed
    # with reseed, the first fit equals a fresh ensemble's first fit of the same seed (nothing carried over)
    a, c = DPLEnsemble(3, 4, reseed=True, **kw), DPLEnsemble(3, 4, reseed=True, **kw)
    a.fit(X[:20], b[:20], y[:20], 2)
    a.reset()
    a.fit(X, b, y, 3)
    c.fit(X, b, y, 3)
    assert all(torch.equal(p, q) for p, q in zip(weights(a), weights(c)))
