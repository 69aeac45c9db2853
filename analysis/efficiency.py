"""DPL Fig. 6: how well a method spends its budget.

All functions take a replay results table of one run (or several, grouped by run keys) and the :class:`Task`
whose oracle defines the final performance of every configuration.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from lcsim.errors import InvalidParameterError, check_float

__all__ = ["top_share", "promoted_regret", "rank_changes"]

RUN = ["benchmark", "task", "method", "seed"]


def _final_regret(task) -> np.ndarray:
    """Normalized regret of every configuration's final value (seed mean), shape (n_cfg,)."""
    return np.asarray(task.oracle.normalized_regret(task.final_objective()), dtype=float)


def top_share(df: pd.DataFrame, task, top: float = 0.01) -> pd.DataFrame:
    """Share of the task's top-``top`` configurations (by final value) each run has evaluated at any epoch.

    Returns:
        frame with RUN columns, n_top, found, share.
    """
    check_float("top_share", "top", top, 0, 1, closed="right")
    reg = _final_regret(task)
    n_top = max(1, int(np.ceil(top * reg.size)))
    best = set(np.argsort(reg, kind="stable")[:n_top].tolist())
    rows = []
    for key, r in df.groupby(RUN, sort=True):
        found = len(best & set(r["config_id"].astype(int)))
        rows.append({**dict(zip(RUN, key)), "n_top": n_top, "found": found, "share": found / n_top})
    return pd.DataFrame(rows)


def promoted_regret(df: pd.DataFrame, task) -> pd.DataFrame:
    """Mean final normalized regret of the configurations a run took to (at least) each epoch.

    Returns:
        frame with RUN columns, epoch, n_configs, mean_regret.
    """
    reg = _final_regret(task)
    rows = []
    for key, r in df.groupby(RUN, sort=True):
        reached = r.groupby("config_id")["epoch"].max()
        for e in sorted(set(r["epoch"].astype(int))):
            ids = reached.index[reached >= e].astype(int)
            rows.append({**dict(zip(RUN, key)), "epoch": e, "n_configs": len(ids),
                         "mean_regret": float(reg[ids].mean())})
    return pd.DataFrame(rows)


def rank_changes(df: pd.DataFrame, task, epoch: int, earlier: int) -> pd.DataFrame:
    """Share of the configurations in the top third at ``epoch`` that were in the bottom two-thirds at ``earlier``.

    Computed on the task's full curves of the configurations the run evaluated up to ``epoch`` (DPL Fig. 6 right).
    """
    if not 1 <= earlier < epoch <= task.n_epochs:
        raise InvalidParameterError(f"rank_changes: need 1 <= earlier < epoch <= {task.n_epochs}; "
                                    f"got earlier={earlier}, epoch={epoch}.")
    obj = task.served_objective()  # (n_cfg, n_seed, n_epoch)
    sign = 1.0 if task.minimize else -1.0
    rows = []
    for key, r in df.groupby(RUN, sort=True):
        reached = r.groupby("config_id")["epoch"].max()
        ids = reached.index[reached >= epoch].astype(int).to_numpy()
        if ids.size < 3:
            rows.append({**dict(zip(RUN, key)), "epoch": epoch, "earlier": earlier, "n_configs": ids.size,
                         "share": np.nan})
            continue
        now = sign * obj[ids, :, epoch - 1].mean(axis=1)
        before = sign * obj[ids, :, earlier - 1].mean(axis=1)
        n_top = int(np.ceil(ids.size / 3))
        top_now = set(np.argsort(now, kind="stable")[:n_top].tolist())
        top_before = set(np.argsort(before, kind="stable")[:n_top].tolist())
        share = len(top_now - top_before) / n_top
        rows.append({**dict(zip(RUN, key)), "epoch": epoch, "earlier": earlier, "n_configs": ids.size,
                     "share": share})
    return pd.DataFrame(rows)
