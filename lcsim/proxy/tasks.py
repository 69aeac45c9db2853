"""Record a small tabular task with proxy metrics from live training, for replaying the proxy methods.

:func:`record_task` trains ``n_configs`` configurations sampled from a space for ``epochs`` epochs through
:class:`lcsim.live.LiveTask` (so every run has exactly the seed LiveTask gives that configuration in live mode) and
stores every per-epoch metric of the trainer (losses, accuracies, ``sharpness``, ``agn``, ``agn_sum``, ...) in a
:class:`~lcsim.benchmarks._base.Task`. Replaying FGHPO on this task therefore sees the same numbers as running it
live on a LiveTask with the same dataset, space and seed.
"""
from __future__ import annotations

import math

import numpy as np
from tqdm.auto import tqdm

from ..benchmarks._base import Metric, Task
from ..errors import check_int, unknown_name
from ..live import LiveTask, load_dataset
from ..live.spaces import sample_configs
from ..live.trainer import METRIC_DIRECTIONS
from ..seeding import derive
from .spaces import SPACES

__all__ = ["record_task", "live_task"]


def live_task(dataset: str, space_name: str = "bayesmark_mlp", *, epochs: int = 20, seed: int = 0,
              split_seed: int = 0, device: str = "cpu", dataset_obj=None) -> LiveTask:
    """The :class:`LiveTask` of ``dataset`` with a space of :data:`lcsim.proxy.spaces.SPACES`."""
    if space_name not in SPACES:
        raise unknown_name("proxy search space", space_name, SPACES)
    factory, family = SPACES[space_name]
    ds = dataset_obj if dataset_obj is not None else load_dataset(dataset, seed=split_seed)
    return LiveTask(ds, family, factory(), seed=seed, max_epoch=epochs, trainer_options={"device": device})


def record_task(dataset: str, space_name: str = "bayesmark_mlp", *, n_configs: int = 60, epochs: int = 20,
                seed: int = 0, split_seed: int = 0, device: str = "cpu", progress: bool = True,
                dataset_obj=None) -> Task:
    """Train ``n_configs`` sampled configurations for ``epochs`` epochs and return them as a replayable Task.

    Returns:
        Task with curves of shape (n_configs, 1, epochs, n_metric), objective ``valid_loss``, epoch cost = measured
        ``epoch_seconds``, benchmark ``"proxy"``, name ``dataset``.
    """
    n_configs = check_int("record_task", "n_configs", n_configs, 1)
    epochs = check_int("record_task", "epochs", epochs, 1)
    live = live_task(dataset, space_name, epochs=epochs, seed=seed, split_seed=split_seed, device=device,
                     dataset_obj=dataset_obj)
    configs = sample_configs(live.space, n_configs, derive(seed, "record", dataset))
    names = list(live.metrics)
    curves = np.full((n_configs, 1, epochs, len(names)), np.nan)
    diverged = np.zeros((n_configs, 1), dtype=bool)
    for i, row in enumerate(tqdm(configs.to_dict("records"), desc=f"record {dataset}", disable=not progress)):
        cfg = {k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()}
        live.train(i, cfg, epochs)
        tr = live.trainers[i]
        curves[i, 0] = tr.curve(epochs)
        diverged[i, 0] = tr.diverged
        live.release(i)
    cost = curves[..., names.index("epoch_seconds")]
    cost = np.where(np.isfinite(cost), cost, np.nanmean(cost) if np.isfinite(cost).any() else 1.0)
    metrics = {m: Metric(m, METRIC_DIRECTIONS[m], (0.0, 1.0) if m.endswith(("_acc", "_bacc", "_auc"))
                         else (0.0, math.inf)) for m in names}
    return Task("proxy", dataset, configs, curves, metrics, "valid_loss", live.space, cost, "seconds", diverged,
                f"proxy-{space_name}-n{n_configs}-e{epochs}-s{seed}-split{split_seed}",
                extra={"space": space_name, "seed": seed, "split_seed": split_seed, "dataset": dataset})
