"""The evaluation protocol of FGHPO section 4: R repeats, medians, pairwise Mann-Whitney U tests with a
Benjamini-Hochberg correction at 5 %, wins/ties/losses per Table 2, and runtime per method.

Statistics come from :mod:`analysis.stats`, the one statistics module: :func:`~analysis.stats.pairwise_mwu`
(pairwise two-sided Mann-Whitney U, Benjamini-Hochberg over the pairs of a dataset) and
:func:`~analysis.stats.wins_ties_losses` (Table 2).

Runner: :func:`run_replayed` runs each method ``repeats`` times on replayed tasks (each method's returned
configuration: FGHPO's :attr:`~lcsim.optimizers.fghpo.FGHPO.best`, for every other method the best validation value
among its full evaluations) and scores it by a test metric at the full epoch; :func:`run_live` does the same with
real training through :class:`lcsim.live.LiveTask`. Both return a tidy frame: dataset, method, repeat, score,
valid, runtime_s (simulated seconds of training on replay, measured seconds live), overhead_s, n_trials.
"""
from __future__ import annotations

import time

import numpy as np
import pandas as pd

from ..errors import check_int, unknown_name
from ..seeding import derive, int_seed

__all__ = ["summary_table", "run_replayed", "run_live", "DEFAULT_PARAMS"]

#: default parameters of each method in the protocol (FGHPO section 4: 50 evaluations, N1 = 50, N2 = 10)
DEFAULT_PARAMS = {"fghpo": {"n_probe": 50, "n_full": 10}, "random_search": {}, "tpe": {"n_evals": 50},
                  "turbo": {"n_evals": 50}, "cmaes": {"n_evals": 50}, "pso": {"n_evals": 50}, "bohb": {}}


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
