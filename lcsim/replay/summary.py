"""Summaries of a grid's table: mean normalized regret at budget fractions, regret curves, and their plot.

Regret is read from the table's ``normalized_regret`` column (DPL eq. 9 divided by the task's best-worst range,
section 6). Before a run's first observation its normalized regret counts as 1 (the worst final value).
Position along the budget: ``budget_used / budget`` for epoch budgets, ``sim_time / budget`` for seconds budgets.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["CELL_KEYS", "regret_at", "summary_table", "regret_curves", "plot_regret"]

CELL_KEYS = ["benchmark", "task", "method", "seed"]


def _progress(g: pd.DataFrame) -> np.ndarray:
    """Budget fraction spent at each row of one cell."""
    unit = g["budget_unit"].iloc[0] if "budget_unit" in g else "epochs"
    used = g["sim_time"] if unit == "seconds" else g["budget_used"]
    return used.to_numpy(dtype=float) / float(g["budget"].iloc[0])


def regret_at(g: pd.DataFrame, fractions) -> np.ndarray:
    """Normalized regret of one cell (rows in simulated-time order) after each budget fraction, shape (k,)."""
    x = _progress(g)
    r = g["normalized_regret"].to_numpy(dtype=float)
    idx = np.searchsorted(x, np.asarray(fractions, dtype=float) + 1e-12, side="right") - 1
    return np.where(idx >= 0, r[np.clip(idx, 0, None)] if len(r) else 1.0, 1.0)


def summary_table(df: pd.DataFrame, fractions=(0.25, 0.5, 1.0), methods: list[str] | None = None) -> pd.DataFrame:
    """Mean (over tasks and seeds) normalized regret per method at each budget fraction.

    Returns a DataFrame indexed by method (in ``methods`` order if given) with one column per fraction
    (``"25%"``, ...) and ``n_runs``.
    """
    rows = {}
    for key, g in df.groupby(CELL_KEYS, sort=True):
        rows.setdefault(key[2], []).append(regret_at(g, fractions))
    order = methods or sorted(rows)
    out = pd.DataFrame([np.mean(rows[m], axis=0) for m in order], index=pd.Index(order, name="method"),
                       columns=[f"{round(100 * f)}%" for f in fractions])
    out["n_runs"] = [len(rows[m]) for m in order]
    return out


def regret_curves(df: pd.DataFrame, n_points: int = 200) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Mean normalized regret per method on a grid of budget fractions ``(0, 1]``, each of shape (n_points,)."""
    grid = np.linspace(0, 1, n_points + 1)[1:]
    per: dict[str, list] = {}
    for key, g in df.groupby(CELL_KEYS, sort=True):
        per.setdefault(key[2], []).append(regret_at(g, grid))
    return grid, {m: np.mean(v, axis=0) for m, v in per.items()}


def plot_regret(df: pd.DataFrame, ax=None, methods: list[str] | None = None):
    """Mean normalized regret vs epochs per method (x in full-curve equivalents; simulated time for seconds
    budgets). Returns the matplotlib axes."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    grid, curves = regret_curves(df)
    unit = df["budget_unit"].iloc[0] if "budget_unit" in df else "epochs"
    if unit == "seconds":
        scale, label = float(df["budget"].iloc[0]), "simulated seconds"
    else:
        per_task = df.groupby("task")[["budget", "n_epochs"]].first()
        full = (per_task["budget"] / per_task["n_epochs"]).to_numpy()
        same = np.allclose(full, full[0])
        scale = float(full[0]) if same else 1.0
        label = "epochs (full-curve equivalents)" if same else "fraction of the epoch budget"
    for m in (methods or sorted(curves)):
        ax.plot(grid * scale, curves[m], label=m)
    ax.set_xlabel(label)
    ax.set_ylabel("mean normalized regret")
    lows = [float(np.min(c)) for c in curves.values()]
    if lows and min(lows) > 0:
        ax.set_yscale("log")
    else:
        ax.set_yscale("symlog", linthresh=1e-3)
    ax.legend()
    ax.grid(alpha=0.3)
    return ax
