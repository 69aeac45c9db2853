"""Average ranks and critical-difference diagrams (DPL Fig. 4).

Ranks are computed per task on the seed-averaged regret at a budget fraction (rank 1 = lowest regret; ties get the
average rank), then averaged over tasks. The Friedman test is scipy's; the post-hoc test is the Nemenyi test of
scikit-posthocs (``posthoc_nemenyi_friedman``) and the diagram is drawn by scikit-posthocs'
``critical_difference_diagram``. Statistics are computed in :func:`rank_stats`, apart from the drawing.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import scikit_posthocs as sp

from lcsim.errors import InvalidParameterError

from .stats import friedman

__all__ = ["score_matrix", "rank_stats", "plot_cd"]


def score_matrix(grid_df: pd.DataFrame, at: float) -> pd.DataFrame:
    """Tasks x methods matrix of seed-averaged regret at grid point ``at`` (from :func:`regret_on_grid`)."""
    sub = grid_df[np.isclose(grid_df["x"].to_numpy(dtype=float), at)]
    if sub.empty:
        raise InvalidParameterError(f"score_matrix: grid point {at} not in the grid {sorted(set(grid_df['x']))[:10]}.")
    m = sub.groupby(["benchmark", "task", "method"])["value"].mean().unstack("method")
    return m


def rank_stats(matrix: pd.DataFrame, alpha: float = 0.05) -> dict:
    """Average ranks, Friedman test and Nemenyi post-hoc p-values for a tasks x methods matrix (lower is better).

    Tasks with a missing method are dropped (a rank needs every method).

    Returns:
        dict with ``ranks`` (Series method -> mean rank), ``friedman`` ((statistic, p)), ``posthoc`` (methods x
        methods DataFrame of Nemenyi p-values), ``n_tasks``, ``dropped_tasks``.
    """
    full = matrix.dropna(axis=0, how="any")
    dropped = [i for i in matrix.index if i not in full.index]
    if full.shape[0] < 2 or full.shape[1] < 3:
        raise InvalidParameterError(f"rank_stats: need >= 2 complete tasks and >= 3 methods; got {full.shape}.")
    ranks = full.rank(axis=1, method="average").mean(axis=0).sort_values()
    stat, p = friedman(full.to_numpy())
    post = sp.posthoc_nemenyi_friedman(full.reset_index(drop=True))
    post.index = list(full.columns)
    post.columns = list(full.columns)
    return {"ranks": ranks, "friedman": (stat, p), "posthoc": post, "n_tasks": full.shape[0],
            "dropped_tasks": dropped, "alpha": alpha}


def plot_cd(stats: dict, ax=None, bases: dict | None = None):
    """Critical-difference diagram of :func:`rank_stats` output (scikit-posthocs' drawing).

    Each method's elbow, marker and label take its :func:`lcsim.plotting.method_colors` colour, so a method has
    the same colour in every panel and in the regret plots (scikit-posthocs would colour by rank position).
    ``bases``: label -> registered method name for labelled variants, as in :func:`analysis.regret.plot_regret`.
    """
    import matplotlib.pyplot as plt

    from lcsim.plotting import method_colors

    ax = ax or plt.gca()
    colors = method_colors(stats["ranks"].index, bases)
    sp.critical_difference_diagram(stats["ranks"], stats["posthoc"], ax=ax, alpha=stats.get("alpha", 0.05),
                                   color_palette={m: colors[str(m)] for m in stats["ranks"].index})
    f, p = stats["friedman"]
    ax.set_title(f"Friedman chi2={f:.2f}, p={p:.3g}, {stats['n_tasks']} tasks", fontsize="small")
    return ax
