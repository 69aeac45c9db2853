"""The evaluation protocol of FGHPO section 4: R repeats, medians, pairwise Mann-Whitney U tests with a
Benjamini-Hochberg correction at 5 %, wins/ties/losses per Table 2, and runtime per method.

Statistics (pure functions, tables in, DataFrames out):

* :func:`benjamini_hochberg`: BH step-up adjusted p-values (Benjamini & Hochberg 1995), written here (statsmodels is
  not a dependency) and tested against a hand computation;
* :func:`pairwise_mwu`: two-sided ``scipy.stats.mannwhitneyu`` for every pair of methods on one dataset, BH-adjusted
  over the pairs of that dataset;
* :func:`wins_ties_losses`: Table 2. FGHPO's text: a method *wins* a dataset "if it outperforms every other
  algorithm"; it *ties* "if any other algorithm's performance is not statistically significantly different". lcsim's
  reading: ``A`` beats ``B`` when the adjusted p-value is below ``alpha`` and ``A`` tends to be better, i.e. its
  Mann-Whitney U exceeds ``n_A n_B / 2`` (for maximized scores; equal medians can still differ significantly);
  ``A`` *wins* when it beats every other method, *loses* when some method beats it, and *ties* otherwise.

Runner: :func:`run_replayed` runs each method ``repeats`` times on replayed tasks (each method's returned
configuration: FGHPO's :attr:`~lcsim.optimizers.fghpo.FGHPO.best`, for every other method the best validation value
among its full evaluations) and scores it by a test metric at the full epoch; :func:`run_live` does the same with
real training through :class:`lcsim.live.LiveTask`. Both return a tidy frame: dataset, method, repeat, score,
valid, runtime_s (simulated seconds of training on replay, measured seconds live), overhead_s, n_trials.
"""
from __future__ import annotations

import itertools
import time

import numpy as np
import pandas as pd

from ..errors import InvalidParameterError, check_float, check_int, unknown_name
from ..seeding import derive, int_seed

__all__ = ["benjamini_hochberg", "pairwise_mwu", "wins_ties_losses", "summary_table", "run_replayed", "run_live",
           "DEFAULT_PARAMS"]

#: default parameters of each method in the protocol (FGHPO section 4: 50 evaluations, N1 = 50, N2 = 10)
DEFAULT_PARAMS = {"fghpo": {"n_probe": 50, "n_full": 10}, "random_search": {}, "tpe": {"n_evals": 50},
                  "turbo": {"n_evals": 50}, "cmaes": {"n_evals": 50}, "pso": {"n_evals": 50}, "bohb": {}}


def benjamini_hochberg(p) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values: ``q_(i) = min_{j >= i} min(1, m p_(j) / j)`` (sorted ascending).

    Args:
        p: p-values, shape (m,). NaN stays NaN and does not count in ``m``.
    """
    p = np.asarray(p, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = np.flatnonzero(np.isfinite(p))
    if len(ok) == 0:
        return out
    if np.any((p[ok] < 0) | (p[ok] > 1)):
        raise InvalidParameterError(f"p-values must lie in [0, 1]; got {p[ok].min()}..{p[ok].max()}.")
    m = len(ok)
    order = ok[np.argsort(p[ok], kind="stable")]
    ranked = p[order] * m / np.arange(1, m + 1)
    q = np.minimum.accumulate(ranked[::-1])[::-1]
    out[order] = np.minimum(q, 1.0)
    return out


def pairwise_mwu(df: pd.DataFrame, *, value: str = "score", maximize: bool = True, alpha: float = 0.05,
                 group: str = "method") -> pd.DataFrame:
    """Pairwise two-sided Mann-Whitney U tests between methods on one dataset, BH-adjusted over the pairs.

    Args:
        df: rows of one dataset, columns ``group`` and ``value`` (one row per repeat).
        maximize: direction of ``value``.
        alpha: significance level.

    Returns:
        DataFrame with columns a, b, median_a, median_b, U (statistic of ``a``), p, p_adj, significant, better
        (``a``, ``b`` or ``None``; direction from ``U`` vs ``n_a n_b / 2``).
    """
    from scipy.stats import mannwhitneyu

    alpha = check_float("pairwise_mwu", "alpha", alpha, 0.0, 1.0, closed="neither")
    groups = {k: g[value].to_numpy(dtype=float) for k, g in df.groupby(group, sort=True)}
    rows = []
    for a, b in itertools.combinations(sorted(groups), 2):
        x, y = groups[a], groups[b]
        if np.all(x == x[0]) and np.all(y == x[0]):
            u, p = len(x) * len(y) / 2.0, 1.0  # identical samples: no evidence either way
        else:
            u, p = mannwhitneyu(x, y, alternative="two-sided")
        rows.append((a, b, float(np.median(x)), float(np.median(y)), float(u), float(p), len(x) * len(y)))
    out = pd.DataFrame(rows, columns=["a", "b", "median_a", "median_b", "U", "p", "_nn"])
    out["p_adj"] = benjamini_hochberg(out["p"].to_numpy()) if len(out) else []
    out["significant"] = out["p_adj"] < alpha
    sign = 1.0 if maximize else -1.0
    # direction from the test statistic itself: U_a > n_a n_b / 2 means values of a tend to be larger
    diff = sign * (out["U"] - out["_nn"] / 2.0)
    out = out.drop(columns="_nn")
    out["better"] = [None if (not sig or d == 0) else (a if d > 0 else b)
                     for sig, d, a, b in zip(out["significant"], diff, out["a"], out["b"])]
    return out


def wins_ties_losses(results: pd.DataFrame, *, value: str = "score", maximize: bool = True, alpha: float = 0.05,
                     dataset: str = "dataset", group: str = "method") -> pd.DataFrame:
    """FGHPO Table 2 (see the module docstring for the definition).

    Returns:
        DataFrame indexed by method with columns wins, ties, losses, win_tie_pct, and one column per dataset holding
        "win" / "tie" / "loss".
    """
    methods = sorted(results[group].unique())
    table = {m: {} for m in methods}
    for ds, part in results.groupby(dataset, sort=True):
        pw = pairwise_mwu(part, value=value, maximize=maximize, alpha=alpha, group=group)
        beats = {m: set() for m in methods}
        for r in pw.itertuples():
            if isinstance(r.better, str):
                loser = r.b if r.better == r.a else r.a
                beats[r.better].add(loser)
        present = sorted(part[group].unique())
        for m in present:
            others = set(present) - {m}
            if others and beats[m] >= others:
                table[m][ds] = "win"
            elif any(m in beats[o] for o in others):
                table[m][ds] = "loss"
            else:
                table[m][ds] = "tie"
    out = pd.DataFrame(table).T
    out.index.name = group
    counts = pd.DataFrame({"wins": (out == "win").sum(axis=1), "ties": (out == "tie").sum(axis=1),
                           "losses": (out == "loss").sum(axis=1)})
    n = counts[["wins", "ties", "losses"]].sum(axis=1).replace(0, np.nan)
    counts["win_tie_pct"] = 100.0 * (counts["wins"] + counts["ties"]) / n
    return pd.concat([counts, out], axis=1)


def summary_table(results: pd.DataFrame, *, value: str = "score") -> pd.DataFrame:
    """Median score and median runtime per (dataset, method) (FGHPO Table 1 and Fig. 2)."""
    g = results.groupby(["dataset", "method"])
    return pd.DataFrame({"median_score": g[value].median(), "median_runtime_s": g["runtime_s"].median(),
                         "n": g[value].size()}).reset_index()


# ------------------------------------------------------------------------------------------------------ runners
def _split_n_evals(method: str, params: dict) -> tuple[dict, int]:
    """(constructor parameters, n_evals) of ``method``: ``n_evals`` (default 50) stays a parameter of methods that
    take it (the black-box baselines) and is removed for the others (random search, BOHB, ...), whose budget it
    sets instead: ``n_evals`` full evaluations' worth of epochs."""
    import inspect

    from ..optimizers import method_class

    p = dict(params.get(method, {}))
    takes = "n_evals" in inspect.signature(method_class(method).__init__).parameters
    return p, int(p.get("n_evals", 50) if takes else p.pop("n_evals", 50))


def _returned_trial(opt, obs_rows: list[tuple[int, float, int]], minimize: bool) -> int | None:
    """The trial a method returns: FGHPO's ``best``; otherwise the best value at the full epoch."""
    if hasattr(opt, "best") and not callable(opt.best):
        return opt.best
    full = [(v if minimize else -v, t) for t, v, ep in obs_rows if ep == opt.problem.max_epoch]
    return min(full)[1] if full else None


def run_replayed(tasks: dict, methods: list[str], *, repeats: int = 20, seed: int = 0,
                 score_metric: str = "test_acc", params: dict | None = None, progress: bool = True) -> pd.DataFrame:
    """Run every method ``repeats`` times on every replayed task and score the returned configurations.

    Args:
        tasks: dataset name -> :class:`~lcsim.benchmarks._base.Task` recording ``score_metric`` (and ``sharpness``
            for FGHPO).
        methods: names of :data:`lcsim.optimizers.METHODS` (e.g. fghpo, random_search, tpe, turbo, bohb).
        repeats: R (FGHPO: 20).
        score_metric: task metric that scores the returned configuration at the full epoch.
        params: method -> parameters (default :data:`DEFAULT_PARAMS`); a method without an ``n_evals``
            parameter (``random_search``, ``bohb``, ...) is stopped by the budget after ``n_evals`` (default 50)
            full evaluations' worth of epochs.
    """
    from tqdm.auto import tqdm

    from ..optimizers import METHODS, make_optimizer
    from ..replay.engine import Budget, problem_for, run

    repeats = check_int("run_replayed", "repeats", repeats, 1)
    for m in methods:
        if m not in METHODS:
            raise unknown_name("method", m, METHODS)
    params = {**DEFAULT_PARAMS, **(params or {})}
    rows = []
    cells = [(d, m, r) for d in tasks for m in methods for r in range(repeats)]
    for d, m, r in tqdm(cells, desc="protocol (replay)", disable=not progress):
        task = tasks[d]
        if score_metric not in task.metrics:
            raise unknown_name("score metric", score_metric, task.metrics)
        p, n_evals = _split_n_evals(m, params)
        s = derive(seed, "protocol", d, m, r)
        opt = make_optimizer(m, problem_for(task), s, p)
        budget = Budget(float(n_evals * task.n_epochs) if m != "fghpo" else
                        float(opt.n_probe * opt.probe_epoch + opt.n_full * opt.full_epoch), "epochs")
        res = run(task, opt, budget, seed=int_seed(s), method=m)
        tab = res.table
        obs = list(zip(tab["trial_id"], tab["objective"], tab["epoch"]))
        best = _returned_trial(opt, obs, task.minimize)
        if best is None:
            score, valid = np.nan, np.nan
        else:
            cid = int(tab.loc[tab["trial_id"] == best, "config_id"].iloc[0])
            j = list(task.metrics).index(score_metric)
            score = float(task.curves[cid, int(tab["replica"].iloc[0]), task.n_epochs - 1, j])
            valid = float(tab.loc[(tab["trial_id"] == best), "objective"].iloc[-1])
        rows.append({"dataset": d, "method": m, "repeat": r, "score": score, "valid": valid,
                     "runtime_s": float(tab["cost"].sum()), "overhead_s": float(tab["overhead_s"].sum()),
                     "n_trials": int(tab["trial_id"].nunique())})
    return pd.DataFrame(rows)


def run_live(live_tasks: dict, methods: list[str], *, repeats: int = 1, seed: int = 0, score_metric: str = "test_acc",
             params: dict | None = None, progress: bool = True) -> pd.DataFrame:
    """As :func:`run_replayed`, with real training: ``live_tasks`` maps dataset -> a factory returning a fresh
    :class:`lcsim.live.LiveTask` (fresh trainers per repeat); runtime is measured wall time."""
    from tqdm.auto import tqdm

    from ..optimizers import METHODS, make_optimizer

    repeats = check_int("run_live", "repeats", repeats, 1)
    for m in methods:
        if m not in METHODS:
            raise unknown_name("method", m, METHODS)
    params = {**DEFAULT_PARAMS, **(params or {})}
    rows = []
    cells = [(d, m, r) for d in live_tasks for m in methods for r in range(repeats)]
    for d, m, r in tqdm(cells, desc="protocol (live)", disable=not progress):
        live = live_tasks[d]()
        p, n_evals = _split_n_evals(m, params)
        opt = make_optimizer(m, live.problem(), derive(seed, "protocol", d, m, r), p)
        total = (opt.n_probe * opt.probe_epoch + opt.n_full * opt.full_epoch if m == "fghpo"
                 else n_evals * live.max_epoch)
        t0 = time.perf_counter()
        tab = live.run(opt, total)
        wall = time.perf_counter() - t0
        obs = list(zip(tab["trial_id"], tab["objective"], tab["epoch"]))
        best = _returned_trial(opt, obs, live.minimize)
        if best is None:
            score = valid = np.nan
        else:
            last = tab[(tab["trial_id"] == best) & (tab["epoch"] == live.max_epoch)].iloc[-1]
            score, valid = float(last[f"m_{score_metric}"]), float(last["objective"])
        rows.append({"dataset": d, "method": m, "repeat": r, "score": score, "valid": valid, "runtime_s": wall,
                     "overhead_s": np.nan, "n_trials": int(tab["trial_id"].nunique())})
    return pd.DataFrame(rows)
