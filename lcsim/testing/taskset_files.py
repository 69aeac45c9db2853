"""Small TaskSet files in the exact upstream layouts (DPL json, raw npz), for tests and examples (never real data)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from lcsim.benchmarks.taskset import HP_NAMES, RAW_FILE, sample_adam8p_wide_grid


def _curves(rng, n, n_epoch):
    b = np.arange(1, n_epoch + 1)
    base = 0.4 + rng.random((n, 1)) * 0.5
    return base + 0.05 * b[None, :] ** -0.5 + 0.01 * rng.random((n, n_epoch))


def write_dpl_json(root: Path, task: str, n: int = 12, n_epoch: int = 51, nan_rows=(3, 7), seed: int = 0) -> Path:
    """Write ``root/taskset/dpl_json/<task>.json`` with ``n`` records; rows in ``nan_rows`` diverge half-way."""
    rng = np.random.default_rng(seed)
    tr, va, te = (_curves(rng, n, n_epoch) for _ in range(3))
    for r in nan_rows:
        for c in (tr, va, te):
            c[r, n_epoch // 2:] = np.nan
    recs = [{"hp": sample_adam8p_wide_grid(i), "train": {"loss": tr[i].tolist()}, "valid": {"loss": va[i].tolist()},
             "test": {"loss": te[i].tolist()}} for i in range(n)]
    path = root / "taskset" / "dpl_json" / f"{task}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(recs))  # json.dumps writes NaN like the real files
    return path


def write_raw_npz(root: Path, task: str, n: int = 10, n_epoch: int = 51, seeds=None, ys=None,
                  seed: int = 0) -> tuple[Path, np.ndarray]:
    """Write ``root/taskset/task_set_data/<task>/adam8p_wide_grid_1k_10000_replica5.npz``.

    Layout as upstream: ``optimizers`` (n,) bytes ``adam8p_wide_grid_seed<k>``, ``xs`` (n_epoch,) inner iterations,
    ``ys`` (n, 5, n_epoch, 4) channels [train, valid1, valid2, test]. Replica 2 of config 1 and all replicas of config
    4 diverge (when n > 4).
    """
    rng = np.random.default_rng(seed)
    seeds = list(range(100, 100 + n)) if seeds is None else list(seeds)
    if ys is None:
        ys = np.stack([np.stack([_curves(rng, n, n_epoch) for _ in range(4)], axis=-1) for _ in range(5)], axis=1)
        if n > 4:
            ys[1, 2, 30:, :] = np.nan
            ys[4, :, 10:, :] = np.nan
    names = np.array([f"adam8p_wide_grid_seed{s}".encode() for s in seeds])
    xs = np.arange(ys.shape[2]) * 200
    path = root / "taskset" / "task_set_data" / task / RAW_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        np.savez(fh, optimizers=names, xs=xs, ys=ys)
    return path, ys


__all__ = ["write_dpl_json", "write_raw_npz", "HP_NAMES"]
