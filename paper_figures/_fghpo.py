"""The FGHPO protocol runs shared by FGHPO Tables 1-2 (``fghpo_table1``) and Fig. 2 (``fghpo_fig2``).

FGHPO section 4: FGHPO (N1 = 50 one-epoch probes, the N2 = 10 lowest-sharpness ones trained fully) against Hyperopt,
random search, TuRBO, HEBO and BOHB with a budget of 50 evaluations, 20 repeats per dataset, over the 4 Bayesmark
datasets, the 8 HPOBench OpenML datasets and MNIST/SVHN; each method's returned configuration is scored on the test
set. lcsim runs it with :func:`lcsim.proxy.protocol.run_replayed` on tasks recorded by live training, so every run is
a replay (no look-ahead; ``runtime_s`` = the recorded training seconds of the epochs a method used, ``overhead_s`` =
its own measured compute).

* Methods: Hyperopt is lcsim's ``tpe`` (hyperopt's ``tpe.suggest``); HEBO is lcsim's reimplementation
  (:mod:`lcsim.optimizers.hebo`, cross-checked against the HEBO package); a method the registry cannot build is
  recorded as skipped.
* Datasets: the embedded benchmark's tasks (the 4 Bayesmark datasets, every proxy metric recorded; see
  ``data/README.md``). The OpenML and image datasets have no recorded task in lcsim's data and are recorded as
  skipped.
* Spaces (:data:`SPACES`): ``lcbench_mlp`` (the default embedded tasks: lcsim's LCBench-like SGD space, 400
  configurations x 50 epochs; score = the test accuracy at the last epoch) and ``bayesmark_mlp`` (the paper's setting
  for these datasets: Bayesmark's default MLP-adam space, 200 configurations x 50 epochs, ``load(task,
  space="bayesmark_mlp")``; score = Bayesmark's normalized score of the test cross-entropy,
  :func:`analysis.regret.bayesmark_score`, 100 at the pool's best, 0 at its median). The paper trains Bayesmark's
  scikit-learn MLP (up to 200 epochs with early stopping); lcsim's replay trains 50.
* Scales (:data:`SETTINGS`): ``full`` is the paper's protocol (N1 = 50, N2 = 10, 50 evaluations, 20 repeats);
  ``small`` keeps its ratios at 20 probes / 4 full trainings / 20 evaluations and 10 repeats, so all methods run in
  about 3 minutes on 2 cores (TuRBO's GP refits dominate); ``tiny`` (tests) runs the synthetic power-law tasks with a
  seeded synthetic ``sharpness`` column and scores ``valid_acc``.

Runs are cached one parquet file per (dataset, method, settings) under ``OUT/cells`` (resume); the per-run seeds are
``derive(ROOT_SEED, "protocol", dataset, method, repeat)`` (inside ``run_replayed``), independent of that grouping.
They run single-threaded (:func:`lcsim.threads.single_threaded`: on a machine shared by worker processes a second
thread per process only waits for a core).
"""
from __future__ import annotations

import os

import numpy as np
import pandas as pd

from ._common import ROOT_SEED, available_methods, parallel_map, single_threaded

#: FGHPO Tables 1-2 methods in lcsim's names (Hyperopt = tpe)
PAPER_METHODS = ("fghpo", "tpe", "random_search", "turbo", "hebo", "bohb")
LABELS = {"fghpo": "FGHPO", "tpe": "Hyperopt (TPE)", "random_search": "Random", "turbo": "TuRBO", "hebo": "HEBO",
          "bohb": "BOHB"}
#: FGHPO Table 1's datasets by group
PAPER_DATASETS = {"bayesmark": ("breast_cancer", "digits", "iris", "wine"),
                  "hpobench_openml": ("vehicle", "blood-transfusion-service-center", "Australian", "car", "phoneme",
                                      "segment", "credit-g", "kc1"),
                  "image": ("mnist", "svhn")}
#: space -> (score metric, the runs' score): "metric" scores by the metric itself, "bayesmark" by Bayesmark's
#: normalized score of that loss metric (tiny scale: the synthetic tasks' valid_acc / valid_loss)
SPACES = {"lcbench_mlp": ("test_acc", "metric"), "bayesmark_mlp": ("test_loss", "bayesmark")}
TINY_SCORE = {"lcbench_mlp": "valid_acc", "bayesmark_mlp": "valid_loss"}
SETTINGS = {"tiny": dict(n_probe=6, n_full=2, n_evals=6, repeats=3),
            "small": dict(n_probe=20, n_full=4, n_evals=20, repeats=10),
            "full": dict(n_probe=50, n_full=10, n_evals=50, repeats=20)}


def synthetic_sharpness_task(seed: int, n_configs: int, n_epochs: int = 9):
    """Tiny scale only: a synthetic power-law task with a ``sharpness`` column (the final loss plus seeded noise, the
    same at every epoch), so FGHPO can run."""
    from lcsim.benchmarks._base import Metric, Task
    from lcsim.benchmarks.synthetic import synthetic_task
    from lcsim.seeding import derive, make_rng

    t = synthetic_task(n_configs=n_configs, n_epochs=n_epochs, seed=seed, name=f"powerlaw{seed}")
    rng = make_rng(derive(ROOT_SEED, "fghpo-tiny-sharpness", seed))
    sharp = t.curves[:, :, -1:, 0] + 1.0 + 0.05 * rng.standard_normal((t.n_configs, t.curves.shape[1], 1))
    curves = np.concatenate([t.curves, np.repeat(sharp, t.n_epochs, axis=2)[..., None]], axis=-1)
    metrics = dict(t.metrics)
    metrics["sharpness"] = Metric("sharpness", True, (0.0, np.inf))
    return Task(t.benchmark, t.name, t.configs, curves, metrics, t.objective, t.space, t.epoch_cost, t.cost_unit,
                t.diverged, t.version + "-sharpness")


def protocol_tasks(ctx, space: str = "lcbench_mlp") -> dict:
    """dataset -> Task of the FGHPO comparison at ``ctx.scale`` on ``space``; missing datasets are recorded as
    skipped."""
    if ctx.scale.name == "tiny":
        note = ("tiny scale: synthetic power-law tasks with a seeded synthetic sharpness column, score = valid_acc "
                "(valid_loss for the Bayesmark score) (test plumbing only, not a result)")
        if note not in ctx.notes:
            ctx.notes.append(note)
        return {f"powerlaw{s}": synthetic_sharpness_task(s, ctx.scale.max_configs) for s in range(ctx.scale.max_tasks)}
    from lcsim.benchmarks import get_benchmark

    try:
        bench = get_benchmark("embedded")
        present = set(bench.tasks())
    except Exception as exc:  # noqa: BLE001
        ctx.skip("benchmark=embedded", f"{type(exc).__name__}: {exc}")
        return {}
    tasks = {}
    for group, names in PAPER_DATASETS.items():
        for d in names:
            if d not in present:
                ctx.skip(f"dataset={d} space={space}", f"no recorded task with proxy metrics in lcsim's data "
                                                       f"({group}; the embedded benchmark holds {sorted(present)})")
                continue
            try:
                tasks[d] = bench.load(d, space=space)
            except Exception as exc:  # noqa: BLE001
                ctx.skip(f"dataset={d} space={space}", f"{type(exc).__name__}: {exc}")
    return tasks


def protocol_params(ctx) -> dict:
    st = SETTINGS[ctx.scale.name]
    params = {m: {"n_evals": st["n_evals"]} for m in PAPER_METHODS if m != "fghpo"}
    params["fghpo"] = {"n_probe": st["n_probe"], "n_full": st["n_full"]}
    return params


def protocol_runs(ctx, space: str = "lcbench_mlp") -> tuple[pd.DataFrame, list, dict]:
    """(runs, methods, settings): one row per (dataset, method, repeat) with score, valid, runtime_s, overhead_s,
    n_trials (:func:`lcsim.proxy.protocol.run_replayed`) on the tasks of ``space`` (:data:`SPACES`), cached per
    (dataset, method) under ``ctx.out/cells``; uncached cells run in ``ctx.jobs`` processes. With Bayesmark's score,
    ``loss`` holds the returned configuration's test loss and ``score`` its normalized score (higher is better)."""
    from analysis.regret import bayesmark_score

    st = SETTINGS[ctx.scale.name]
    tasks = protocol_tasks(ctx, space)
    metric, kind = SPACES[space]
    if ctx.scale.name == "tiny":
        metric = TINY_SCORE[space]
    settings = {**st, "space": space, "score": metric if kind == "metric" else f"bayesmark normalized {metric}"}
    if not tasks:
        return pd.DataFrame(), [], settings
    first = next(iter(tasks.values()))
    methods = available_methods(ctx, PAPER_METHODS, first)
    params = protocol_params(ctx)
    cells = ctx.out / "cells"
    cells.mkdir(parents=True, exist_ok=True)
    tag = f"p{st['n_probe']}f{st['n_full']}e{st['n_evals']}r{st['repeats']}-{metric}"
    args = [(cells / f"fghpo_protocol__{task.benchmark}__{d}__{task.version}__{m}__{tag}.parquet", d, task, m,
             st["repeats"], metric, params) for d, task in tasks.items() for m in methods]
    runs = pd.concat(parallel_map(ctx, _protocol_cell, args, desc=f"fghpo protocol ({space})"), ignore_index=True)
    if kind == "bayesmark":
        runs["loss"] = runs["score"]
        for d, task in tasks.items():
            pool = task.curves[:, :, -1, task.metric_index(metric)]
            at = runs["dataset"] == d
            runs.loc[at, "score"] = bayesmark_score(runs.loc[at, "loss"].to_numpy(), pool)
    return runs, methods, {**settings, "params": params}


def _protocol_cell(f, d, task, m, repeats, score, params) -> pd.DataFrame:
    """One (dataset, method) cell of the protocol, cached as parquet at ``f`` (module level: runs in workers)."""
    from lcsim.proxy.protocol import run_replayed

    if f.exists():
        return pd.read_parquet(f)
    with single_threaded():
        df = run_replayed({d: task}, [m], repeats=repeats, seed=ROOT_SEED, score_metric=score, params=params,
                          progress=False)
    tmp = f.with_suffix(".tmp")
    df.to_parquet(tmp)
    os.replace(tmp, f)
    return df
