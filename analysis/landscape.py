"""Filter-normalized 2-D loss landscapes (Li, Xu, Taylor, Studer & Goldstein 2018, "Visualizing the Loss Landscape
of Neural Nets", section 4), used for the FGHPO flatness illustrations.

Two random Gaussian directions ``d1, d2`` with the parameters' shapes are drawn; each filter (row of a weight
tensor's first dimension; the whole tensor for 1-D parameters) is rescaled to the norm of the matching filter of the
trained weights: ``d_ij <- d_ij / ||d_ij|| * ||theta_ij||``. Biases and other 1-D parameters (batch-norm) get a zero
direction (the paper's "ignore biasbn" setting). The surface is ``L(theta + a d1 + b d2)`` on an ``n x n`` grid.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from lcsim.errors import check_float, check_int

__all__ = ["filter_normalized_direction", "loss_landscape", "plot_landscape"]


def filter_normalized_direction(params, generator):
    """A random direction, filter-normalized to ``params`` (list of tensors); 1-D tensors get zeros."""
    import torch

    out = []
    for p in params:
        d = torch.randn(p.shape, generator=generator, dtype=p.dtype)
        if p.dim() <= 1:
            out.append(torch.zeros_like(p))
            continue
        dn = d.reshape(d.shape[0], -1).norm(dim=1).clamp_min(1e-12)
        pn = p.detach().reshape(p.shape[0], -1).norm(dim=1)
        out.append(d * (pn / dn).reshape(-1, *([1] * (p.dim() - 1))))
    return out


def loss_landscape(model, loss_fn, data, *, n: int = 11, span: float = 1.0, seed: int = 0) -> pd.DataFrame:
    """Loss on an ``n x n`` grid of ``[-span, span]^2`` along two filter-normalized directions.

    Args:
        model: a ``torch.nn.Module``; its parameters are restored afterwards.
        loss_fn: ``loss_fn(model, data) -> scalar tensor`` (mean loss over ``data``).
        data: whatever ``loss_fn`` takes (e.g. a tuple of tensors ``(x, y)``).
        n: grid points per axis (small by default: n*n forward passes).

    Returns:
        frame with columns alpha, beta, loss (n*n rows).
    """
    import torch

    from lcsim.seeding import torch_generator

    n = check_int("loss_landscape", "n", n, 2)
    span = check_float("loss_landscape", "span", span, 0, None, closed="neither")
    params = [p for p in model.parameters()]
    theta = [p.detach().clone() for p in params]
    g = torch_generator(seed)
    d1 = filter_normalized_direction(theta, g)
    d2 = filter_normalized_direction(theta, g)
    axis = np.linspace(-span, span, n)
    rows = []
    try:
        with torch.no_grad():
            for a in axis:
                for b in axis:
                    for p, t, u, v in zip(params, theta, d1, d2):
                        p.copy_(t + float(a) * u + float(b) * v)
                    rows.append((float(a), float(b), float(loss_fn(model, data))))
    finally:
        with torch.no_grad():
            for p, t in zip(params, theta):
                p.copy_(t)
    return pd.DataFrame(rows, columns=["alpha", "beta", "loss"])


def plot_landscape(df: pd.DataFrame, ax=None, levels: int = 20):
    """Contour plot of :func:`loss_landscape` output."""
    import matplotlib.pyplot as plt

    ax = ax or plt.gca()
    piv = df.pivot(index="beta", columns="alpha", values="loss")
    cs = ax.contour(piv.columns, piv.index, piv.to_numpy(), levels=levels)
    ax.clabel(cs, fontsize="x-small")
    ax.set_xlabel("direction 1")
    ax.set_ylabel("direction 2")
    return ax
