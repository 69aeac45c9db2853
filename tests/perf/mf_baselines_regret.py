"""Mean normalized regret and per-job overhead of the multi-fidelity baselines (few seeds; a smoke benchmark).

    LCSIM_DATA=/work/shared/data python tests/perf/mf_baselines_regret.py OUT.json --seeds 3 [--taskset 1]

Budget: 20 full evaluations (DPL section 6), one worker, any-epoch incumbent. ``overhead_s_per_job`` is the table's
``overhead_s`` summed over the run divided by the number of jobs that paid epochs (the engine books a job's ask+tell
wall time on its first paid row).
"""
import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from lcsim._files import write_atomic  # noqa: E402
from lcsim.benchmarks import get_benchmark, load  # noqa: E402
from lcsim.benchmarks.synthetic import synthetic_task  # noqa: E402
from lcsim.optimizers import make_optimizer  # noqa: E402
from lcsim.replay import Budget, problem_for, run  # noqa: E402

METHODS = ["random_search", "hyperband", "bohb", "dehb", "smac", "boca"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--taskset", type=int, default=0, help="number of TaskSet tasks to include")
    args = ap.parse_args()
    tasks = [synthetic_task(n_configs=1000, n_epochs=27, seed=s, name=f"powerlaw{s}") for s in (21,)]
    if args.taskset:
        names = get_benchmark("taskset").tasks()[: args.taskset]
        tasks += [load("taskset", n) for n in names]
    res = {}
    cells = [(t, m, s) for t in tasks for m in METHODS for s in range(args.seeds)]
    for t, m, s in tqdm(cells):
        opt = make_optimizer(m, problem_for(t, 1), s)
        t0 = time.perf_counter()
        tab = run(t, opt, Budget.full_evaluations(t, 20), n_workers=1, seed=s).table
        wall = time.perf_counter() - t0
        n_jobs = int((tab["overhead_s"] > 0).sum())
        r = res.setdefault(t.key, {}).setdefault(m, {"regret": [], "overhead_s_per_job": [], "wall_s": []})
        r["regret"].append(float(tab["normalized_regret"].iloc[-1]))
        r["overhead_s_per_job"].append(float(tab["overhead_s"].sum() / max(n_jobs, 1)))
        r["wall_s"].append(wall)
        if hasattr(opt, "close"):
            opt.close()
    for key, per in res.items():
        for m, r in per.items():
            print(f"{key:32s} {m:14s} regret {np.mean(r['regret']):.4f}  overhead/job "
                  f"{np.mean(r['overhead_s_per_job']) * 1e3:8.2f} ms  wall {np.mean(r['wall_s']):6.1f} s")
    write_atomic(Path(args.out), json.dumps(res, indent=1).encode())


if __name__ == "__main__":
    main()
