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
* Datasets: the embedded benchmark's tasks (the 4 Bayesmark datasets, 400 configurations x 50 epochs of live
  training, every proxy metric recorded; see ``data/README.md``). The OpenML and image datasets have no recorded task
  in lcsim's data and are recorded as skipped. The embedded tasks use lcsim's LCBench-like SGD space, not Bayesmark's
  MLP-adam space, and 50 epochs instead of 100; the score is the test accuracy at the last epoch (the paper reports
  Bayesmark's normalized score for these datasets).
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


def protocol_tasks(ctx) -> dict:
    """dataset -> Task of the FGHPO comparison at ``ctx.scale``; missing datasets are recorded as skipped."""
    if ctx.scale.name == "tiny":
        ctx.notes.append("tiny scale: synthetic power-law tasks with a seeded synthetic sharpness column, score = "
                         "valid_acc (test plumbing only, not a result)")
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
                ctx.skip(f"dataset={d}", f"no recorded task with proxy metrics in lcsim's data ({group}; the "
                                         f"embedded benchmark holds {sorted(present)})")
                continue
            try:
                tasks[d] = bench.load(d)
            except Exception as exc:  # noqa: BLE001
                ctx.skip(f"dataset={d}", f"{type(exc).__name__}: {exc}")
    return tasks


def protocol_params(ctx) -> dict:
    st = SETTINGS[ctx.scale.name]
    params = {m: {"n_evals": st["n_evals"]} for m in PAPER_METHODS if m != "fghpo"}
    params["fghpo"] = {"n_probe": st["n_probe"], "n_full": st["n_full"]}
    return params


def protocol_runs(ctx) -> tuple[pd.DataFrame, list, dict]:
    """(runs, methods, settings): one row per (dataset, method, repeat) with score, valid, runtime_s, overhead_s,
    n_trials (:func:`lcsim.proxy.protocol.run_replayed`), cached per (dataset, method) under ``ctx.out/cells``; uncached
    cells run in ``ctx.jobs`` processes."""
    st = SETTINGS[ctx.scale.name]
    tasks = protocol_tasks(ctx)
    if not tasks:
        return pd.DataFrame(), [], st
    first = next(iter(tasks.values()))
    methods = available_methods(ctx, PAPER_METHODS, first)
    score = "valid_acc" if ctx.scale.name == "tiny" else "test_acc"
    params = protocol_params(ctx)
    cells = ctx.out / "cells"
    cells.mkdir(parents=True, exist_ok=True)
    tag = f"p{st['n_probe']}f{st['n_full']}e{st['n_evals']}r{st['repeats']}-{score}"
    args = [(cells / f"fghpo_protocol__{task.benchmark}__{d}__{m}__{tag}.parquet", d, task, m, st["repeats"], score,
             params) for d, task in tasks.items() for m in methods]
    frames = parallel_map(ctx, _protocol_cell, args, desc="fghpo protocol")
    return pd.concat(frames, ignore_index=True), methods, {**st, "score": score, "params": params}


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
