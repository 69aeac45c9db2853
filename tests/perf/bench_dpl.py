"""Benchmark: DPL seconds per HPO iteration, vectorized vs a plain loop over the ensemble members.

Two measurements, both on one CPU core (``torch.set_num_threads(1)``), float32, the paper's surrogate (K=5, 2 x 128
units, batch norm, Adam 1e-3, batch size 64):

1. ``--part refine``: one HPO iteration at a fixed history size (10, 100, 1000 observed (config, epoch) points): a
   20-epoch refinement with the newest point in every batch plus the posterior over a 1000-configuration pool,
   vectorized vs looped (median of ``--repeats``).
2. ``--part run``: a whole replayed run of ``--steps`` one-epoch steps (250 epochs on the first fit, 20 per step
   after: the paper's schedule; ``--max-refine-steps N`` caps the refinements as DPL's ``max_refine_steps`` does)
   on a 1000 x 51 synthetic power-law task (TaskSet's shape); mean and percentiles of the measured ask+tell
   overhead per step, as the replay engine records it.

Usage::

    nice -n 10 python tests/perf/bench_dpl.py --part refine
    nice -n 10 python tests/perf/bench_dpl.py --part run --steps 1000
    git show 32e9975:lcsim/surrogates/dpl_ensemble.py > /tmp/dpl_old.py
    python tests/perf/bench_dpl.py --part ab --old /tmp/dpl_old.py   # this checkout vs that version, interleaved
    python tests/perf/bench_dpl.py --part ab                         # TorchScript vs eager training loop
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from lcsim.surrogates.dpl_ensemble import DPLEnsemble  # noqa: E402


def _history(rng, n: int, n_features: int):
    """A synthetic DPL history of ``n`` (configuration, epoch, value) points on a 51-epoch power law."""
    X = rng.random((n, n_features))
    b = rng.integers(1, 52, n) / 51.0
    return X, b, 0.3 + 0.3 * X[:, 0] + 0.4 * b ** (-0.5)


def bench_refine(sizes=(10, 100, 1000), repeats=3, n_features=8, pool=1000, batch_size=64) -> list[dict]:
    rng = np.random.default_rng(0)
    out = []
    for n in sizes:
        X, b, y = _history(rng, n, n_features)
        cand = rng.random((pool, n_features))
        row = {"history": n}
        for vec in (True, False):
            m = DPLEnsemble(n_features, 0, vectorized=vec, batch_size=batch_size)
            m.fit(X, b, y, 2)
            times = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                m.fit(X, b, y, 20, emphasize=n - 1)
                m.posterior(cand, 1.0)
                times.append(time.perf_counter() - t0)
            row["vectorized_s" if vec else "looped_s"] = float(np.median(times))
        row["speedup"] = row["looped_s"] / row["vectorized_s"]
        out.append(row)
        print(f"history {n:5d}: vectorized {row['vectorized_s']:.4f} s, looped {row['looped_s']:.4f} s, "
              f"speedup {row['speedup']:.2f}x", flush=True)
    return out


def bench_run(steps=1000, seed=0, params=None) -> dict:
    from lcsim.benchmarks.synthetic import synthetic_task
    from lcsim.optimizers import make_optimizer
    from lcsim.replay import Budget, problem_for, run

    task = synthetic_task(n_configs=1000, n_epochs=51, seed=seed)
    opt = make_optimizer("dpl", problem_for(task), seed, params or {})
    t0 = time.perf_counter()
    res = run(task, opt, Budget(steps), seed=seed)
    wall = time.perf_counter() - t0
    ov = res.table["overhead_s"].to_numpy()
    ov = ov[ov > 0]
    r = {"steps": len(ov), "mean_s": float(ov.mean()), "p50_s": float(np.median(ov)),
         "p95_s": float(np.percentile(ov, 95)), "max_s": float(ov.max()), "wall_s": wall,
         "final_normalized_regret": float(res.table["normalized_regret"].iloc[-1])}
    print(", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in r.items()), flush=True)
    return r


def bench_ab(old_path: str | None, sizes=(100, 500, 1000), repeats=6, n_features=8) -> list[dict]:
    """Seconds per mini-batch step of this checkout's ensemble vs a baseline, interleaved in this one process.

    The baseline is another version of ``dpl_ensemble.py`` (e.g. from ``git show
    <commit>:lcsim/surrogates/dpl_ensemble.py > /tmp/dpl_old.py``), or, without ``old_path``, this checkout's
    ensemble with its training loop in eager PyTorch (``scripted=False``); then the script also checks that both end
    with bit-identical weights."""
    if old_path is None:
        make_baseline = lambda: DPLEnsemble(n_features, 0, scripted=False)  # noqa: E731
    else:
        import importlib.util

        src = Path(old_path).read_text().replace("from ..errors", "from lcsim.errors").replace(
            "from ..seeding", "from lcsim.seeding").replace("from . import", "from lcsim.surrogates import")
        tmp = Path(old_path).with_name("_dpl_ensemble_baseline.py")
        tmp.write_text(src)
        spec = importlib.util.spec_from_file_location("_dpl_ensemble_baseline", tmp)
        old = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(old)
        make_baseline = lambda: old.DPLEnsemble(n_features, 0)  # noqa: E731
    rng = np.random.default_rng(0)
    out = []
    for n in sizes:
        X, b, y = _history(rng, n, n_features)
        models = {"baseline": make_baseline(), "this": DPLEnsemble(n_features, 0)}
        for m in models.values():
            m.fit(X, b, y, 1)
        times = {k: [] for k in models}
        for _ in range(repeats):
            for k, m in models.items():
                t0 = time.perf_counter()
                m.fit(X, b, y, 10, emphasize=n - 1)
                times[k].append(time.perf_counter() - t0)
        steps = 10 * sum(1 for s in range(0, n, 64) if min(64, n - s) >= 2)
        row = {"history": n, **{f"{k}_ms_per_step": 1e3 * float(np.median(v)) / steps for k, v in times.items()}}
        row["speedup"] = row["baseline_ms_per_step"] / row["this_ms_per_step"]
        extra = ""
        if old_path is None:
            row["identical"] = all(torch.equal(p, q) for p, q in zip(models["baseline"]._parameters(),
                                                                     models["this"]._parameters()))
            extra = f", identical weights: {row['identical']}"
        out.append(row)
        print(f"history {n:5d}: baseline {row['baseline_ms_per_step']:.3f} ms/step, this {row['this_ms_per_step']:.3f}"
              f" ms/step, speedup {row['speedup']:.2f}x{extra}", flush=True)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--part", choices=["refine", "run", "both", "ab"], default="both")
    ap.add_argument("--old", help="part 'ab': path of the baseline dpl_ensemble.py (default: this checkout's "
                                   "ensemble with scripted=False)")
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--looped", action="store_true", help="run part 'run' with the looped ensemble")
    ap.add_argument("--eager", action="store_true",
                    help="part 'run': the stacked training loop in eager PyTorch instead of TorchScript")
    ap.add_argument("--max-refine-steps", type=int, default=None,
                    help="part 'run': DPL's max_refine_steps (default: none, the paper's 20 epochs per refinement)")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}", flush=True)
    if args.part in ("refine", "both"):
        bench_refine(repeats=args.repeats, batch_size=args.batch_size)
    if args.part == "ab":
        bench_ab(args.old)
    if args.part in ("run", "both"):
        bench_run(args.steps, params={"batch_size": args.batch_size, "vectorized": not args.looped,
                                      "scripted": not args.eager,
                                      "max_refine_steps": args.max_refine_steps})


if __name__ == "__main__":
    main()
