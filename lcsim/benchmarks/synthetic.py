"""The ``synthetic`` benchmark: seeded tasks with power-law learning curves, for fast tests and examples.

The curves follow DPL eq. 4, ``f(b) = alpha + beta * b ** (-gamma)`` with ``alpha`` and ``gamma`` smooth functions of
the learning rate and dropout and ``beta`` drawn per configuration (the width sets the epoch cost), plus seeded noise,
so every method has something to learn and every test runs in milliseconds.
:func:`synthetic_task` builds one task of any size; :class:`SyntheticBenchmark` serves three of them by name.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from ConfigSpace import ConfigurationSpace, Float, Integer

from ..seeding import make_rng
from ._base import Metric, Task
from ._registry import Benchmark

__all__ = ["SyntheticBenchmark", "synthetic_task"]


def synthetic_task(n_configs: int = 64, n_epochs: int = 27, n_seeds: int = 1, seed: int = 0,
                   diverged_share: float = 0.0, seconds: bool = True, name: str = "powerlaw") -> Task:
    """Build a synthetic :class:`Task` (objective ``valid_loss``, minimized; ``valid_acc`` maximized).

    Args:
        n_configs, n_epochs, n_seeds: the curve array's first three dimensions.
        seed: seed of the configurations, curves, noise and costs.
        diverged_share: share of runs whose objective turns NaN half-way (divergence).
        seconds: record per-epoch seconds (else a unit cost).
    """
    rng = make_rng(seed)
    space = ConfigurationSpace(seed=0)
    space.add([Float("learning_rate", (1e-4, 1e-1), log=True), Float("dropout", (0.0, 0.9)),
               Integer("width", (16, 256), log=True)])
    lr = np.exp(rng.uniform(np.log(1e-4), np.log(1e-1), n_configs))
    dr = rng.uniform(0.0, 0.9, n_configs)
    width = np.round(np.exp(rng.uniform(np.log(16), np.log(256), n_configs))).astype(int)
    configs = pd.DataFrame({"learning_rate": lr, "dropout": dr, "width": width.astype(np.int64)})
    z = (np.log10(lr) + 2.5) ** 2
    alpha = 0.1 + 0.3 * z + 0.2 * (dr - 0.3) ** 2
    beta = 0.5 + 0.5 * rng.random(n_configs)
    gamma = 0.3 + 0.6 * np.clip(np.log10(lr) + 4, 0, 3) / 3
    b = np.arange(1, n_epochs + 1, dtype=float)
    loss = alpha[:, None, None] + beta[:, None, None] * b[None, None, :] ** (-gamma[:, None, None])
    loss = np.repeat(loss, n_seeds, axis=1)
    loss = loss + 0.01 * rng.standard_normal(loss.shape)
    acc = np.clip(1.0 - loss / 2.0, 0.0, 1.0)
    curves = np.stack([loss, acc], axis=-1)
    diverged = np.zeros((n_configs, n_seeds), dtype=bool)
    if diverged_share > 0:
        div = rng.random((n_configs, n_seeds)) < diverged_share
        half = n_epochs // 2
        curves[div, half:, 0] = np.nan
        curves[div, half:, 1] = np.nan
        diverged |= div
    if seconds:
        cost = (0.5 + width / 128.0)[:, None, None] * (1 + 0.05 * rng.random((n_configs, n_seeds, n_epochs)))
    else:
        cost = 1.0
    return Task(benchmark="synthetic", name=name, configs=configs, curves=curves,
                metrics={"valid_loss": Metric("valid_loss", True, (0.0, np.inf)),
                         "valid_acc": Metric("valid_acc", False, (0.0, 1.0))},
                objective="valid_loss", space=space, epoch_cost=cost, cost_unit="seconds" if seconds else "unit",
                diverged=diverged, version=f"synthetic-v1-seed{seed}")


class SyntheticBenchmark(Benchmark):
    """Three seeded synthetic tasks: ``powerlaw-0``, ``powerlaw-1``, ``powerlaw-2`` (64 configs x 27 epochs)."""

    name = "synthetic"

    def tasks(self) -> list[str]:
        return [f"powerlaw-{i}" for i in range(3)]

    def _load(self, task: str, **options) -> Task:
        i = int(task.rsplit("-", 1)[1])
        return synthetic_task(seed=i, name=task, **options)
