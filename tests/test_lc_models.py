"""Hypothesis-1 learning-curve predictors and the Fig. 2 study helper."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from lcsim.benchmarks.synthetic import synthetic_task
from lcsim.errors import InvalidParameterError, UnknownNameError
from lcsim.surrogates.lc_models import DPLLC, GPLC, NNLC, ConditionedNNLC, PowerLawLC, lc_prediction_study, lc_targets

torch.set_num_threads(1)


def _curves(n=6, T=20, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.random((n, 2))
    a, c, g = 0.2 + 0.3 * X[:, 0], 0.5 + 0.2 * X[:, 1], 0.3 + 0.5 * X[:, 0]
    s = np.arange(1, T + 1) / T
    return X, a[:, None] + c[:, None] * s[None] ** (-g[:, None]), a + c


def test_power_law_fit_recovers_exact_power_law_from_half_a_curve():
    X, Y, final = _curves()
    part = Y.copy()
    part[:, 10:] = np.nan
    mean, std = PowerLawLC().fit(X, part, np.arange(1, 21)).predict(np.arange(6), 20)
    np.testing.assert_allclose(mean, final, rtol=1e-5)
    assert np.all(std < 1e-3)


def test_short_curves_fall_back_to_last_value_and_rows_are_checked():
    X, Y, _ = _curves()
    part = Y.copy()
    part[:, 2:] = np.nan
    m = PowerLawLC().fit(X, part, np.arange(1, 21))
    np.testing.assert_allclose(m.predict(np.arange(6), 20)[0], part[:, 1])
    with pytest.raises(InvalidParameterError, match="row ids"):
        m.predict(np.array([6]), 20)
    with pytest.raises(InvalidParameterError, match="new configurations"):
        m.predict(X, 20)  # per-curve model: no unseen configurations
    with pytest.raises(InvalidParameterError, match="first budget"):
        PowerLawLC().fit(X, np.full_like(Y, np.nan), np.arange(1, 21))


def test_gp_interpolates_observed_points():
    X, Y, _ = _curves(n=3)
    m = GPLC().fit(X, Y, np.arange(1, 21))
    mean, std = m.predict(np.arange(3), 10)
    np.testing.assert_allclose(mean, Y[:, 9], atol=1e-2)
    assert np.all(std >= 0)


def test_nn_models_fit_and_conditioned_ones_predict_new_configs():
    X, Y, final = _curves(n=8)
    nn = NNLC(seed=0, epochs=200).fit(X, Y, np.arange(1, 21))
    mean, std = nn.predict(np.arange(8), 20)
    assert np.abs(mean - Y[:, -1]).max() < 0.1 and np.all(std >= 0)
    for cls in (ConditionedNNLC, DPLLC):
        m = cls(seed=1, epochs=200, n_units=32).fit(X, Y, np.arange(1, 21))
        mean, std = m.predict(X[:2] + 0.01, 20)  # unseen configurations
        assert mean.shape == (2,) and np.all(std > 0)
        assert np.abs(m.predict(np.arange(8), 20)[0] - final).mean() < 0.1  # full curves seen: a fit, not a guess


def test_lc_prediction_study_table():
    t = synthetic_task(n_configs=30, n_epochs=12, seed=0)
    df = lc_prediction_study(t, fractions=(0.25, 0.5), n_train=20, seed=0, models=["power_law", "dpl"],
                             model_params={"dpl": {"epochs": 150, "n_units": 32}})
    assert list(df.columns) == ["model", "fraction", "observed_epochs", "n_configs", "pearson", "spearman", "mae",
                                "seed"]
    assert len(df) == 4 and set(df["observed_epochs"]) == {3, 6}
    # the synthetic curves are power laws: both models predict the final values well from half the curve
    assert df[df.fraction == 0.5]["pearson"].min() > 0.8
    with pytest.raises(UnknownNameError, match="power_law"):
        lc_prediction_study(t, models=["powerlaw"])


def test_lc_targets_normalizes_accuracy():
    t = synthetic_task(n_configs=5, n_epochs=4, seed=0)
    t.objective = "valid_acc"  # bounded (0, 1), maximized -> error
    t._served = None
    np.testing.assert_allclose(lc_targets(t), 1.0 - t.curves[..., 1].mean(axis=1))
