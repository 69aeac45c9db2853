"""Regret curves (DPL eq. 9 and section 6) aligned on a common budget grid and averaged over tasks (DPL Figs. 3, 5).

Input is the replay engine's tidy results table (one row per paid (trial, epoch), in simulated-time order per run),
whose ``regret``/``normalized_regret`` columns already hold the incumbent's regret after every row.

Step rule: the regret of a run at grid point ``g`` is the regret after the last row whose budget coordinate is
``<= g`` (right-continuous step function, no interpolation; the incumbent only changes when a new epoch is paid).
Before the first row the regret is undefined (NaN) and is left out of means. After the run stops (budget or method
exhausted) its last value is carried forward.

Budget coordinates: ``"epochs"`` (``budget_used``, epochs paid), ``"fraction"`` (``budget_used`` divided by the run's
total budget, given or the run's last ``budget_used``), ``"time"`` (``sim_time``; with overhead charged this already
includes it, otherwise ``overhead`` adds the cumulative ``overhead_s``), ``"normalized_time"`` (time divided by the
total time of the random-search run on the same task and seed, overhead included: DPL Fig. 5).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from lcsim.errors import InvalidParameterError, check_choice

__all__ = ["RUN_KEYS", "step_on_grid", "regret_on_grid", "mean_over_tasks", "plot_regret"]

RUN_KEYS = ("benchmark", "task", "method", "seed")
AXES = ("epochs", "fraction", "time", "normalized_time")


def step_on_grid(x, y, grid) -> np.ndarray:
    """Right-continuous step function through ``(x, y)`` evaluated on ``grid``.

    Args:
        x: non-decreasing coordinates, shape (n,).
        y: values after each coordinate, shape (n,).
        grid: points, shape (g,).

    Returns:
        shape (g,): ``y[k]`` with ``k`` the last index with ``x[k] <= grid``; NaN where ``grid < x[0]``.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    grid = np.asarray(grid, dtype=float)
    if x.size == 0:
        return np.full(grid.shape, np.nan)
    if np.any(np.diff(x) < 0):
        raise InvalidParameterError("step_on_grid: x must be non-decreasing (sort the run by sim_time first).")
    k = np.searchsorted(x, grid, side="right") - 1
    out = np.where(k >= 0, y[np.clip(k, 0, None)], np.nan)
    return out


def _check(df: pd.DataFrame, cols) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise InvalidParameterError(f"results table lacks columns {missing}; expected the replay engine's table "
                                    f"(lcsim.replay.run(...).table). Columns present: {list(df.columns)}.")


def _coordinate(run: pd.DataFrame, axis: str, overhead: bool) -> np.ndarray:
    if axis in ("epochs", "fraction"):
        return run["budget_used"].to_numpy(dtype=float)
    t = run["sim_time"].to_numpy(dtype=float)
    if overhead:
        t = t + np.cumsum(run["overhead_s"].to_numpy(dtype=float))
    return t


def regret_on_grid(df: pd.DataFrame, grid, *, axis: str = "epochs", value: str = "normalized_regret",
                   total_budget: float | dict | None = None, reference_method: str = "random_search",
                   overhead: bool = False) -> pd.DataFrame:
    """Regret of every run on a common grid.

    Args:
        df: results table(s) concatenated; runs are identified by (benchmark, task, method, seed).
        grid: grid points in the unit of ``axis``, shape (g,).
        axis: one of ``"epochs"``, ``"fraction"``, ``"time"``, ``"normalized_time"`` (see module docstring).
        value: ``"regret"`` or ``"normalized_regret"``.
        total_budget: for ``axis="fraction"``, the run budget in epochs, a float or a dict
            ``{(benchmark, task): epochs}`` (default: each run's last ``budget_used``, i.e. where it stopped).
        reference_method: for ``"normalized_time"``, the method whose total time normalizes (DPL: random search).
        overhead: add cumulative ``overhead_s`` to ``sim_time`` (use when the run did not charge it to the clock).

    Returns:
        tidy frame with columns benchmark, task, method, seed, x, value (one row per run and grid point).
    """
    check_choice("regret_on_grid", "axis", axis, AXES)
    check_choice("regret_on_grid", "value", value, ("regret", "normalized_regret"))
    _check(df, list(RUN_KEYS) + ["budget_used", "sim_time", "overhead_s", value])
    grid = np.asarray(grid, dtype=float)
    if grid.ndim != 1 or grid.size == 0 or not np.all(np.isfinite(grid)):
        raise InvalidParameterError("regret_on_grid: grid must be a non-empty 1-D array of finite numbers.")
    ref_time = {}
    if axis == "normalized_time":
        ref = df[df["method"] == reference_method]
        if ref.empty:
            raise InvalidParameterError(f"normalized_time needs runs of the reference method {reference_method!r}; "
                                        f"methods present: {sorted(set(df['method']))}.")
        for (b, t, s), r in ref.groupby(["benchmark", "task", "seed"], sort=False):
            ref_time[(b, t, s)] = float(_coordinate(r, "time", overhead)[-1])
    parts = []
    for key, run in df.groupby(list(RUN_KEYS), sort=True):
        x = _coordinate(run, axis, overhead)
        if axis == "fraction":
            tb = total_budget.get((key[0], key[1])) if isinstance(total_budget, dict) else total_budget
            x = x / (float(tb) if tb else x[-1])
        elif axis == "normalized_time":
            k = (key[0], key[1], key[3])
            if k not in ref_time:
                raise InvalidParameterError(f"no {reference_method!r} run for task {key[1]!r} seed {key[3]} to "
                                            "normalize time by.")
            x = x / ref_time[k]
        v = step_on_grid(x, run[value].to_numpy(dtype=float), grid)
        parts.append(pd.DataFrame({"benchmark": key[0], "task": key[1], "method": key[2], "seed": key[3],
                                   "x": grid, "value": v}))
    return pd.concat(parts, ignore_index=True)


def mean_over_tasks(grid_df: pd.DataFrame) -> pd.DataFrame:
    """Average regret over seeds per task, then over tasks, per method and grid point (DPL Figs. 3, 5).

    Returns:
        frame with columns method, x, mean, sem (standard error over tasks), n_tasks.
    """
    _check(grid_df, ["benchmark", "task", "method", "seed", "x", "value"])
    per_task = grid_df.groupby(["method", "benchmark", "task", "x"], sort=True)["value"].mean().reset_index()
    g = per_task.groupby(["method", "x"], sort=True)["value"]
    out = g.agg(mean="mean", sd="std", n_tasks="count").reset_index()
    out["sem"] = out["sd"] / np.sqrt(out["n_tasks"].clip(lower=1))
    return out.drop(columns="sd")


def plot_regret(mean_df: pd.DataFrame, ax=None, *, xlabel: str = "epochs", log_y: bool = True, band: bool = True,
                bases: dict | None = None, legend: bool = True):
    """Plot :func:`mean_over_tasks` output: one line per method, with a +-1 SEM band.

    Each method is drawn in its :func:`lcsim.plotting.method_styles` style (the same colour, line style and marker
    in every lcsim figure); markers are spaced along the line and staggered between methods so they stay readable.

    Args:
        bases: label -> registered method name for labelled variants (``hb2`` -> ``hyperband``): a variant keeps
            its base's colour with another line style.
        legend: draw the legend outside the axes (:func:`lcsim.plotting.legend_outside`); False leaves it to the
            caller, e.g. one legend for several panels.
    """
    import matplotlib.pyplot as plt

    from lcsim.plotting import legend_outside, method_styles

    ax = ax or plt.gca()
    styles = method_styles(mean_df["method"].unique(), bases)
    alpha = min(0.2, 1.0 / max(1, len(styles)))  # overlapping bands of many methods stay see-through
    for i, (m, d) in enumerate(mean_df.groupby("method", sort=True)):
        style = styles[str(m)]
        ax.plot(d["x"], d["mean"], label=m, markevery=(0.013 * (i % 7), 0.1), markersize=5, **style)
        if band:
            ax.fill_between(d["x"], d["mean"] - d["sem"].fillna(0), d["mean"] + d["sem"].fillna(0),
                            color=style["color"], alpha=alpha, linewidth=0)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("mean normalized regret")
    if log_y:
        ax.set_yscale("symlog" if (mean_df["mean"] <= 0).any() else "log", **(
            {"linthresh": _linthresh(mean_df["mean"])} if (mean_df["mean"] <= 0).any() else {}))
        pos = mean_df["mean"][mean_df["mean"] > 0]
        if len(pos):  # keep the axis on the curves: a +-SEM band reaching 0 must not stretch it to 1e-17
            ax.set_ylim(bottom=0 if (mean_df["mean"] <= 0).any() else float(pos.min()) / 2)
    if legend:
        legend_outside(ax)
    return ax


def _linthresh(values) -> float:
    """Linear range of a symlog axis: the smallest positive value shown (regret that reaches exactly 0)."""
    pos = np.asarray(values, dtype=float)
    pos = pos[pos > 0]
    return float(pos.min()) if pos.size else 1e-3
