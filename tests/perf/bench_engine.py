"""Replay-engine speed: raw curve lookups per second and epochs served per second for RS / HB / ASHA.

Run: ``python tests/perf/bench_engine.py`` (prints figures measured in this one process; numbers vary by machine).
Task: a synthetic LCBench-shaped task (2000 configurations x 52 epochs, seconds as cost).
"""
from __future__ import annotations

import time

import numpy as np

from lcsim.benchmarks.synthetic import synthetic_task
from lcsim.optimizers import make_optimizer
from lcsim.replay import Budget, problem_for, run
from lcsim.replay.engine import _PaidLedger


def best_of(fn, repeat=3):
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return min(out)


def main():
    task = synthetic_task(n_configs=2000, n_epochs=52, seed=0)
    task.served_objective()
    # ---- raw lookups: every trial paid to the last epoch, then random (trial, epoch) points read through the ledger
    ledger = _PaidLedger(task, 0)
    for t in range(task.n_configs):
        ledger.config_of[t], ledger.paid[t] = t, task.n_epochs
    rng = np.random.default_rng(0)
    n = 2_000_000
    tids = rng.integers(task.n_configs, size=n)
    eps = rng.integers(1, task.n_epochs + 1, size=n)
    dt = best_of(lambda: ledger.reveal_points(tids, eps))
    print(f"vectorized checked lookups: {n / dt:.3e} points/s ({n} points in {dt * 1e3:.1f} ms)")
    m = 100_000
    cfg = rng.integers(task.n_configs, size=m)
    first = rng.integers(1, task.n_epochs + 1, size=m)

    def per_job():
        for t, f in zip(cfg.tolist(), first.tolist()):
            ledger.reveal(t, f, min(f + 2, task.n_epochs))

    dt = best_of(per_job, 1)
    print(f"per-job checked lookups (3-epoch slices): {m / dt:.3e} calls/s")
    # ---- replay throughput
    for name, params in (("random_search", {}), ("hyperband", {}), ("asha", {})):
        for workers in (1, 4):
            budget = Budget.full_evaluations(task, 500)
            res = {}

            def go(name=name, params=params, workers=workers, budget=budget, res=res):
                opt = make_optimizer(name, problem_for(task, workers), 0, params)
                res["r"] = run(task, opt, budget, n_workers=workers, seed=0)

            dt = best_of(go)
            r = res["r"]
            print(f"replay {name:14s} workers={workers}: {len(r.table) / dt:.3e} epochs/s "
                  f"({len(r.table)} epochs, {r.n_tells} jobs, {dt:.3f} s; optimizer share "
                  f"{r.overhead_s / dt:.0%})")


if __name__ == "__main__":
    main()
