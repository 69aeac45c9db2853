"""FGHPO Fig. 3: overlap of the k configurations with the lowest sharpness after epoch 1 and after epoch i.

Input is a per-epoch proxy table (live backend records): one row per (config_id, epoch) with a proxy column.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from lcsim.errors import InvalidParameterError, check_int
from lcsim.seeding import make_rng

__all__ = ["top_k", "iou", "iou_over_epochs", "iou_over_pools", "chance_iou", "plot_iou"]


def top_k(values: pd.Series, k: int, lowest: bool = True) -> set:
    """Index labels of the ``k`` lowest (or highest) finite values; ties broken by label order (stable sort)."""
    v = values[np.isfinite(values.to_numpy(dtype=float))].sort_index()
    order = v.sort_values(ascending=lowest, kind="stable")
    return set(order.index[:k])


def iou(a: set, b: set) -> float:
    """Intersection over union of two sets (1.0 for two empty sets)."""
    u = a | b
    return len(a & b) / len(u) if u else 1.0


def iou_over_epochs(df: pd.DataFrame, *, proxy: str = "sharpness", k: int = 10, reference_epoch: int = 1,
                    lowest: bool = True, by: tuple = ()) -> pd.DataFrame:
    """IoU of the top-``k`` set at ``reference_epoch`` with the top-``k`` set at every epoch.

    Args:
        df: columns config_id, epoch, ``proxy`` (and the ``by`` columns, e.g. ("task", "seed")).
        k: set size (FGHPO: 10).

    Returns:
        frame with columns ``by``..., epoch, iou, k.
    """
    k = check_int("iou_over_epochs", "k", k, 1)
    for c in ("config_id", "epoch", proxy, *by):
        if c not in df.columns:
            raise InvalidParameterError(f"iou_over_epochs: column {c!r} missing; columns: {list(df.columns)}.")
    groups = df.groupby(list(by), sort=True) if by else [((), df)]
    rows = []
    for key, g in groups:
        key = key if isinstance(key, tuple) else (key,)
        wide = g.pivot_table(index="config_id", columns="epoch", values=proxy, aggfunc="mean")
        if reference_epoch not in wide.columns:
            raise InvalidParameterError(f"iou_over_epochs: reference epoch {reference_epoch} absent.")
        ref = top_k(wide[reference_epoch], k, lowest)
        for e in wide.columns:
            rows.append({**dict(zip(by, key)), "epoch": int(e), "iou": iou(ref, top_k(wide[e], k, lowest)), "k": k})
    return pd.DataFrame(rows)


def iou_over_pools(df: pd.DataFrame, *, proxy: str = "sharpness", k: int = 10, pool_size: int = 50,
                   n_pools: int = 100, epochs=range(1, 11), seed=0, lowest: bool = True) -> pd.DataFrame:
    """FGHPO Fig. 3's protocol: the IoU over epochs within probe pools of ``pool_size`` configurations.

    FGHPO probes N1 = 50 configurations for one epoch and keeps the k = 10 lowest-sharpness ones; Fig. 3 asks how
    much that set changes when the probes train for i = 1..10 epochs. A recorded task holds more configurations than
    one pool, so this draws ``n_pools`` pools of ``pool_size`` distinct configurations (each pool without
    replacement, pools independently, from ``lcsim.seeding.make_rng(seed)``) and runs :func:`iou_over_epochs`
    inside each pool. Pools drawn from one task share configurations, so they measure the spread over draws, not
    independent replications.

    Args:
        df: columns config_id, epoch, ``proxy`` (one task, one seed).
        epochs: the epochs kept (the reference epoch 1 must be among them).

    Returns:
        frame with columns pool, epoch, iou, k, pool_size.
    """
    k = check_int("iou_over_pools", "k", k, 1)
    n_pools = check_int("iou_over_pools", "n_pools", n_pools, 1)
    ids = np.sort(df["config_id"].unique())
    pool_size = check_int("iou_over_pools", "pool_size", pool_size, k, len(ids))
    keep = df[df["epoch"].isin(list(epochs))]
    rng = make_rng(seed)
    parts = []
    for p in range(n_pools):
        chosen = rng.choice(ids, size=pool_size, replace=False)
        parts.append(keep[keep["config_id"].isin(chosen)].assign(pool=p))
    out = iou_over_epochs(pd.concat(parts, ignore_index=True), proxy=proxy, k=k, lowest=lowest, by=("pool",))
    return out.assign(pool_size=pool_size)


def chance_iou(k: int, pool_size: int) -> float:
    """Expected IoU of two independent uniformly random k-subsets of a pool of ``pool_size`` (the no-information
    reference of Fig. 3): the intersection is hypergeometric, IoU = |A & B| / (2k - |A & B|)."""
    from scipy.stats import hypergeom

    k = check_int("chance_iou", "k", k, 1)
    pool_size = check_int("chance_iou", "pool_size", pool_size, k)
    j = np.arange(0, k + 1)
    return float(np.sum(hypergeom(pool_size, k, k).pmf(j) * j / (2 * k - j)))


def plot_iou(df: pd.DataFrame, ax=None, label_col: str | None = None):
    import matplotlib.pyplot as plt

    ax = ax or plt.gca()
    if label_col:
        for lab, d in df.groupby(label_col):
            ax.plot(d["epoch"], d["iou"], marker="o", label=str(lab))
        ax.legend(fontsize="small")
    else:
        m = df.groupby("epoch")["iou"].mean()
        ax.plot(m.index, m.to_numpy(), marker="o")
    ax.set_xlabel("epoch i")
    ax.set_ylabel("IoU(top-k@1, top-k@i)")
    ax.set_ylim(0, 1.05)
    return ax
