"""Verification: mean normalized regret of DPL vs random search, Hyperband (and ASHA where registered).

For every (task, seed, method) the replay engine runs one method for ``--budget`` full-curve equivalents (epochs =
budget x n_epoch, one worker); the normalized regret (DPL eq. 9 / section 6, incumbent rule ``any_epoch``) is read at
25 %, 50 % and 100 % of the budget and averaged over tasks and seeds.

Usage::

    nice -n 10 python tests/perf/compare_dpl.py --benchmark synthetic --seeds 0 1 2 --budget 10
    nice -n 10 python tests/perf/compare_dpl.py --benchmark taskset --tasks A B --seeds 0 1 --budget 20 \\
        --option filter=dpl

``--dpl-params '{"refine_epochs": 20}'`` passes DPL parameters (JSON). ``--out results.csv`` writes the per-run
table atomically.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from lcsim import benchmarks  # noqa: E402
from lcsim.optimizers import METHODS, make_optimizer  # noqa: E402
from lcsim.replay import Budget, problem_for, run  # noqa: E402

FRACTIONS = (0.25, 0.5, 1.0)


def regret_at(table: pd.DataFrame, amount: float, fractions=FRACTIONS) -> list[float]:
    """Normalized regret after ``f * amount`` epochs for each fraction (1.0 before the first observation)."""
    used = table["budget_used"].to_numpy()
    reg = table["normalized_regret"].to_numpy()
    out = []
    for f in fractions:
        k = np.searchsorted(used, f * amount + 1e-9, side="right")
        out.append(float(reg[k - 1]) if k > 0 else 1.0)
    return out


def main(argv=None) -> pd.DataFrame:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--benchmark", default="synthetic")
    ap.add_argument("--tasks", nargs="*", default=None, help="task names (default: all of the benchmark)")
    ap.add_argument("--seeds", nargs="*", type=int, default=[0, 1, 2])
    ap.add_argument("--budget", type=float, default=20.0, help="budget in full-curve equivalents")
    ap.add_argument("--methods", nargs="*", default=None)
    ap.add_argument("--option", nargs="*", default=[], help="loader options key=value, e.g. filter=dpl")
    ap.add_argument("--dpl-params", default="{}")
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    methods = args.methods or [m for m in ("dpl", "random_search", "hyperband", "asha") if m in METHODS]
    options = dict(o.split("=", 1) for o in args.option)
    tasks = args.tasks or benchmarks.get_benchmark(args.benchmark).tasks()
    dpl_params = json.loads(args.dpl_params)
    from tqdm import tqdm

    rows = []
    cells = [(t, s, m) for t in tasks for s in args.seeds for m in methods]
    loaded = {}
    for t, s, m in tqdm(cells, desc="compare_dpl", file=sys.stderr):
        if t not in loaded:
            loaded[t] = benchmarks.load(args.benchmark, t, **options)
        task = loaded[t]
        budget = Budget.full_evaluations(task, args.budget)
        opt = make_optimizer(m, problem_for(task), s, dpl_params if m == "dpl" else {})
        t0 = time.perf_counter()
        res = run(task, opt, budget, seed=s)
        wall = time.perf_counter() - t0
        r25, r50, r100 = regret_at(res.table, budget.amount)
        rows.append({"benchmark": args.benchmark, "task": t, "seed": s, "method": m, "regret_25": r25,
                     "regret_50": r50, "regret_100": r100, "wall_s": wall,
                     "overhead_per_step_s": float(res.table["overhead_s"].sum() / max(len(res.table), 1))})
    df = pd.DataFrame(rows)
    summary = df.groupby("method")[["regret_25", "regret_50", "regret_100", "overhead_per_step_s"]].mean()
    print(f"\n{args.benchmark}: {len(tasks)} task(s) x {len(args.seeds)} seed(s), budget {args.budget:g} full curves;"
          " mean normalized regret at 25/50/100 % of the budget")
    print(summary.sort_values("regret_100").to_string(float_format=lambda v: f"{v:.4f}"))
    if args.out:
        from lcsim._files import write_atomic

        write_atomic(args.out, df.to_csv(index=False).encode())
    return df


if __name__ == "__main__":
    main()
