"""Acquisition functions, kept apart from the models that produce posteriors (botorch's model / acquisition split).

A model returns a posterior mean and variance for candidate configurations; an acquisition function turns them
into scores; the optimizer takes the argmax over the candidates it may ask.
"""
from __future__ import annotations

import numpy as np
from scipy.special import ndtr

from ..errors import check_choice

__all__ = ["expected_improvement", "ZERO_STD_RULES"]

_INV_SQRT_2PI = 1.0 / np.sqrt(2.0 * np.pi)
#: what :func:`expected_improvement` returns where ``sigma == 0`` (see its docstring)
ZERO_STD_RULES = ("limit", "half")


def expected_improvement(mean, std, best: float, zero_std: str = "limit") -> np.ndarray:
    """Expected Improvement for minimization (Mockus et al. 1978; DPL eq. 7).

    ``EI = (best - mu) * Phi(z) + sigma * phi(z)`` with ``z = (best - mu) / sigma``. Where ``sigma == 0``:

    * ``zero_std="limit"`` (default): the limit ``max(best - mu, 0)``; the result is clipped at 0 everywhere (the
      closed form is >= 0, rounding can make it slightly negative).
    * ``zero_std="half"``: what the DPL authors' code computes (``PowerLawSurrogate.acq``): ``z`` is set to 0, so
      ``EI = (best - mu) * Phi(0) = (best - mu) / 2``, negative where ``mu > best``; nothing is clipped.

    Args:
        mean: posterior means, shape (n,).
        std: posterior standard deviations (>= 0), shape (n,).
        best: the incumbent value ``f_best`` (lowest target observed so far).
        zero_std: ``"limit"`` or ``"half"``, see above.

    Returns:
        float array of shape (n,); >= 0 with ``zero_std="limit"``.
    """
    check_choice("expected_improvement", "zero_std", zero_std, ZERO_STD_RULES)
    mu = np.asarray(mean, dtype=float)
    sigma = np.asarray(std, dtype=float)
    diff = float(best) - mu
    pos = sigma > 0
    if zero_std == "half":
        z = np.zeros_like(diff)
        z[pos] = diff[pos] / sigma[pos]
        return diff * ndtr(z) + sigma * _INV_SQRT_2PI * np.exp(-0.5 * z * z)
    out = np.maximum(diff, 0.0)
    if np.any(pos):
        z = diff[pos] / sigma[pos]
        out[pos] = diff[pos] * ndtr(z) + sigma[pos] * _INV_SQRT_2PI * np.exp(-0.5 * z * z)
    return np.maximum(out, 0.0)
