"""Acquisition functions, kept apart from the models that produce posteriors (botorch's model / acquisition split).

A model returns a posterior mean and variance for candidate configurations; an acquisition function turns them
into scores; the optimizer takes the argmax over the candidates it may ask.
"""
from __future__ import annotations

import numpy as np
from scipy.special import ndtr

__all__ = ["expected_improvement"]

_INV_SQRT_2PI = 1.0 / np.sqrt(2.0 * np.pi)


def expected_improvement(mean, std, best: float) -> np.ndarray:
    """Expected Improvement for minimization (Mockus et al. 1978; DPL eq. 7).

    ``EI = (best - mu) * Phi(z) + sigma * phi(z)`` with ``z = (best - mu) / sigma``; where ``sigma == 0`` the limit
    ``max(best - mu, 0)`` is returned (the authors' code would give ``(best - mu) / 2`` there, a small bug we do not
    copy).

    Args:
        mean: posterior means, shape (n,).
        std: posterior standard deviations (>= 0), shape (n,).
        best: the incumbent value ``f_best`` (lowest target observed so far).

    Returns:
        float array of shape (n,), >= 0.
    """
    mu = np.asarray(mean, dtype=float)
    sigma = np.asarray(std, dtype=float)
    diff = float(best) - mu
    out = np.maximum(diff, 0.0)
    pos = sigma > 0
    if np.any(pos):
        z = diff[pos] / sigma[pos]
        out[pos] = diff[pos] * ndtr(z) + sigma[pos] * _INV_SQRT_2PI * np.exp(-0.5 * z * z)
    return np.maximum(out, 0.0)
