"""The one regret aggregation of lcsim (DPL eq. 9 and section 6): runs on a common budget grid, averaged over seeds
and then tasks. The replay CLI's ``summary.csv`` and ``regret.png`` and every paper figure call it.

Input is the replay engine's tidy results table (one row per paid (trial, epoch), in simulated-time order per run),
whose ``regret``/``normalized_regret`` columns already hold the incumbent's regret after every row (the incumbent rule
and the normaliser are the table's ``incumbent_rule`` and ``normaliser`` columns, chosen when the runs were made).

The choices, recorded by :data:`AGGREGATION` (write it into every output's metadata):

* **Step rule**: the regret of a run at grid point ``g`` is its regret after the last row whose budget coordinate is
  ``<= g`` (right-continuous step function, no interpolation: the incumbent only changes when a new epoch is paid).
  After the run stops (budget or method exhausted) its last value is carried forward.
* **Before a run's first observation** it has no incumbent; it counts as the normaliser's worst value (normalized
  regret 1, regret ``|worst - best|``: the engine's ``max_budget`` rule before a full evaluation, the same), so every
  run counts at every grid point and an early mean is not taken over the runs that happen to have started.
  ``before_first="nan"`` leaves those points out instead.
* **Averaging**: the mean over seeds per task, then the mean (and standard error) over tasks, per method and grid
  point: each task weighs the same whatever its number of seeds (DPL section 6 averages over tasks).

Budget coordinates: ``"epochs"`` (``budget_used``, epochs paid), ``"fraction"`` (progress along the run's own budget:
``budget_used / budget`` for epoch budgets and ``sim_time / budget`` for seconds budgets, from the grid runner's
``budget``/``budget_unit`` columns; without them ``total_budget`` or the run's last ``budget_used``), ``"time"``
(``sim_time``; with overhead charged this already includes it, otherwise ``overhead`` adds the cumulative
``overhead_s``), ``"normalized_time"`` (time divided by the total time of the random-search run on the same task and
seed, overhead included: DPL Fig. 5).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from lcsim.errors import InvalidParameterError, check_choice

__all__ = ["AGGREGATION", "FRACTIONS", "RUN_KEYS", "bayesmark_score", "mean_over_tasks", "plot_regret",
           "regret_at_fractions", "regret_on_grid", "step_on_grid", "summary_table"]

RUN_KEYS = ("benchmark", "task", "method", "seed")
AXES = ("epochs", "fraction", "time", "normalized_time")
BEFORE_FIRST = ("worst", "nan")
#: budget fractions of the replay CLI's summary
FRACTIONS = (0.25, 0.5, 1.0)
#: the aggregation's choices, as recorded in the metadata of every output made with the defaults
AGGREGATION = {"step_rule": "right-continuous step: the regret after the last row with coordinate <= x",
               "before_first_observation": "the normaliser's worst value (normalized regret 1)",
               "averaging": "mean over seeds per task, then mean over tasks (sem over tasks)"}


def step_on_grid(x, y, grid, before: float = np.nan) -> np.ndarray:
    """Right-continuous step function through ``(x, y)`` evaluated on ``grid``.

    Args:
        x: non-decreasing coordinates, shape (n,).
        y: values after each coordinate, shape (n,).
        grid: points, shape (g,).
        before: value where ``grid < x[0]`` (and everywhere when ``x`` is empty).

    Returns:
        shape (g,): ``y[k]`` with ``k`` the last index with ``x[k] <= grid``; ``before`` where there is none.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    grid = np.asarray(grid, dtype=float)
    if x.size == 0:
        return np.full(grid.shape, float(before))
    if np.any(np.diff(x) < 0):
        raise InvalidParameterError("step_on_grid: x must be non-decreasing (sort the run by sim_time first).")
    k = np.searchsorted(x, grid, side="right") - 1
    return np.where(k >= 0, y[np.clip(k, 0, None)], float(before))


def _check(df: pd.DataFrame, cols) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise InvalidParameterError(f"results table lacks columns {missing}; expected the replay engine's table "
                                    f"(lcsim.replay.run(...).table). Columns present: {list(df.columns)}.")


def _coordinate(run: pd.DataFrame, axis: str, overhead: bool) -> np.ndarray:
    if axis == "epochs" or (axis == "fraction" and _budget_unit(run) != "seconds"):
        return run["budget_used"].to_numpy(dtype=float)
    t = run["sim_time"].to_numpy(dtype=float)
    if overhead:
        t = t + np.cumsum(run["overhead_s"].to_numpy(dtype=float))
    return t


def _budget_unit(run: pd.DataFrame) -> str:
    return str(run["budget_unit"].iloc[0]) if "budget_unit" in run.columns and len(run) else "epochs"


def _worst_regrets(df: pd.DataFrame, value: str) -> dict:
    """(benchmark, task) -> the regret of the normaliser's worst value (the value before a run's first observation):
    1 for normalized regret; for regret ``|worst - best|``, read off any row as regret / normalized regret."""
    out = {}
    for key, g in df.groupby(["benchmark", "task"], sort=False):
        if value == "normalized_regret":
            out[key] = 1.0
            continue
        r, nr = g["regret"].to_numpy(dtype=float), g["normalized_regret"].to_numpy(dtype=float)
        ok = nr > 0
        out[key] = float(r[ok][0] / nr[ok][0]) if ok.any() else np.nan
    return out


def regret_on_grid(df: pd.DataFrame, grid, *, axis: str = "epochs", value: str = "normalized_regret",
                   total_budget: float | dict | None = None, reference_method: str = "random_search",
                   overhead: bool = False, before_first: str = "worst") -> pd.DataFrame:
    """Regret of every run on a common grid (module docstring: step rule, value before the first observation).

    Args:
        df: results table(s) concatenated; runs are identified by (benchmark, task, method, seed).
        grid: grid points in the unit of ``axis``, shape (g,).
        axis: one of ``"epochs"``, ``"fraction"``, ``"time"``, ``"normalized_time"`` (see module docstring).
        value: ``"regret"`` or ``"normalized_regret"``.
        total_budget: for ``axis="fraction"`` on tables without the grid runner's ``budget`` column, the run budget,
            a float or a dict ``{(benchmark, task): budget}`` (default: each run's last ``budget_used``).
        reference_method: for ``"normalized_time"``, the method whose total time normalizes (DPL: random search).
        overhead: add cumulative ``overhead_s`` to ``sim_time`` (use when the run did not charge it to the clock).
        before_first: ``"worst"`` (default: the normaliser's worst value) or ``"nan"`` (left out of means).

    Returns:
        tidy frame with columns benchmark, task, method, seed, x, value (one row per run and grid point).
    """
    check_choice("regret_on_grid", "axis", axis, AXES)
    check_choice("regret_on_grid", "value", value, ("regret", "normalized_regret"))
    check_choice("regret_on_grid", "before_first", before_first, BEFORE_FIRST)
    _check(df, list(RUN_KEYS) + ["budget_used", "sim_time", "regret", "normalized_regret"]
           + (["overhead_s"] if overhead else []))
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
    worst = _worst_regrets(df, value) if before_first == "worst" else {}
    parts = []
    for key, run in df.groupby(list(RUN_KEYS), sort=True):
        x = _coordinate(run, axis, overhead)
        if axis == "fraction":
            if "budget" in run.columns:
                tb = float(run["budget"].iloc[0])
            else:
                tb = total_budget.get((key[0], key[1])) if isinstance(total_budget, dict) else total_budget
            x = x / (float(tb) if tb else x[-1])
        elif axis == "normalized_time":
            k = (key[0], key[1], key[3])
            if k not in ref_time:
                raise InvalidParameterError(f"no {reference_method!r} run for task {key[1]!r} seed {key[3]} to "
                                            "normalize time by.")
            x = x / ref_time[k]
        before = worst.get((key[0], key[1]), np.nan)
        v = step_on_grid(x, run[value].to_numpy(dtype=float), grid, before)
        parts.append(pd.DataFrame({"benchmark": key[0], "task": key[1], "method": key[2], "seed": key[3],
                                   "x": grid, "value": v}))
    if not parts:
        return pd.DataFrame(columns=["benchmark", "task", "method", "seed", "x", "value"])
    return pd.concat(parts, ignore_index=True)


def mean_over_tasks(grid_df: pd.DataFrame) -> pd.DataFrame:
    """Average regret over seeds per task, then over tasks, per method and grid point (DPL Figs. 3, 5).

    Returns:
        frame with columns method, x, mean, sem (standard error over tasks), n_tasks, n_runs.
    """
    _check(grid_df, ["benchmark", "task", "method", "seed", "x", "value"])
    keys = ["method", "benchmark", "task", "x"]
    per_task = grid_df.groupby(keys, sort=True)["value"].agg(value="mean", n_runs="count").reset_index()
    g = per_task.groupby(["method", "x"], sort=True)
    out = g["value"].agg(mean="mean", sd="std", n_tasks="count").reset_index()
    out["n_runs"] = g["n_runs"].sum().to_numpy()
    out["sem"] = out["sd"] / np.sqrt(out["n_tasks"].clip(lower=1))
    return out.drop(columns="sd")


def regret_at_fractions(df: pd.DataFrame, fractions=FRACTIONS, value: str = "normalized_regret") -> pd.DataFrame:
    """Every run's regret after each budget fraction: columns benchmark, task, method, seed, x, value (the input of
    paired tests between methods)."""
    return regret_on_grid(df, np.asarray(fractions, dtype=float) + 1e-12, axis="fraction", value=value).assign(
        x=lambda d: np.round(d["x"] - 1e-12, 12))


def bayesmark_score(loss, pool_losses) -> np.ndarray:
    """Bayesmark's normalized score of returned configurations (FGHPO section 4's metric for the Bayesmark datasets).

    Bayesmark (``experiment_baseline.compute_baseline`` and ``experiment_analysis.compute_aggregates``) normalizes a
    run's generalization loss as ``(loss - best) / (clip - best)``, clipped to [-1, 1], where ``best`` is the best
    loss any method found and ``clip`` the median loss of random search's single evaluations, and reports
    ``100 * (1 - normalized)``: 100 at the optimum, 0 at the loss of a typical random configuration. On a recorded
    (tabular) task both references are known exactly: ``best`` is the pool's best loss (the global optimum of the
    table) and ``clip`` the median over the pool (random search draws uniformly from it).

    Args:
        loss: the runs' losses (lower is better), any shape.
        pool_losses: the loss of every configuration of the task's pool; non-finite values (diverged runs) are left
            out of both references.

    Returns:
        the scores, shape of ``loss``; NaN where ``loss`` is NaN.
    """
    pool = np.asarray(pool_losses, dtype=float).ravel()
    pool = pool[np.isfinite(pool)]
    if pool.size == 0:
        raise InvalidParameterError("bayesmark_score: the pool has no finite loss.")
    best, clip = float(pool.min()), float(np.median(pool))
    if not clip > best:
        raise InvalidParameterError(f"bayesmark_score: the pool's median loss ({clip}) equals its best ({best}); the "
                                    "normalized score is undefined.")
    x = np.asarray(loss, dtype=float)
    return 100.0 * (1.0 - np.clip((x - best) / (clip - best), -1.0, 1.0))


def summary_table(df: pd.DataFrame, fractions=FRACTIONS, methods: list[str] | None = None,
                  value: str = "normalized_regret") -> pd.DataFrame:
    """Mean regret per method at each budget fraction (:func:`mean_over_tasks` of :func:`regret_at_fractions`).

    Returns:
        DataFrame indexed by method (``methods`` order if given; a method without rows gets NaN) with one column per
        fraction (``"25%"``, ...), ``n_tasks`` and ``n_runs``.
    """
    m = mean_over_tasks(regret_at_fractions(df, sorted(fractions), value))
    wide = m.pivot(index="method", columns="x", values="mean")
    wide.columns = [f"{round(100 * f)}%" for f in wide.columns]
    order = list(methods) if methods is not None else sorted(wide.index)
    out = wide.reindex(order)
    counts = m.groupby("method")[["n_tasks", "n_runs"]].max().reindex(order)
    out["n_tasks"] = counts["n_tasks"].fillna(0).astype(int)
    out["n_runs"] = counts["n_runs"].fillna(0).astype(int)
    out.index.name = "method"
    return out


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
