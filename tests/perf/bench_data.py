"""Data-layer timings (not a test): TaskSet cold parse vs warm cache, YAHPO tabulation cost.

Run from the repository root::

    LCSIM_DATA=/work/shared/data nice -n 10 python tests/perf/bench_data.py [--yahpo-tasks 3] [--full-yahpo]

* TaskSet: all 12 DPL json tasks, cold (parse json + write the cache) vs warm (read the cache in a fresh process,
  checksums included), each in its own subprocess with a fresh temporary ``LCSIM_CACHE``.
* YAHPO: tabulation (2000 configurations x 52 epochs) of a few task ids, extrapolated to 34 tasks; with
  ``--full-yahpo`` all 34 are tabulated and the metric bounds are checked on every value.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

_TASKSET = r"""
import json, time
t0 = time.perf_counter()
from lcsim import benchmarks
b = benchmarks.get_benchmark("taskset")
names = b.tasks()
t1 = time.perf_counter()
tasks = [benchmarks.load("taskset", n) for n in names]
t2 = time.perf_counter()
print(json.dumps({"n": len(tasks), "import_s": t1 - t0, "load_s": t2 - t1}))
"""


def _run(code: str, cache: str) -> dict:
    env = dict(os.environ, LCSIM_CACHE=cache)
    r = subprocess.run([sys.executable, "-c", code], env=env, cwd=REPO, capture_output=True, text=True, check=True)
    return json.loads(r.stdout.strip().splitlines()[-1])


def bench_taskset(repeats: int = 3) -> dict:
    cold, warm = [], []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as cache:
            cold.append(_run(_TASKSET, cache)["load_s"])
            warm.append(_run(_TASKSET, cache)["load_s"])
    res = {"cold_s": min(cold), "warm_s": min(warm), "ratio": min(cold) / min(warm)}
    print(f"TaskSet 12 tasks: cold parse {res['cold_s']:.3f} s, warm cache {res['warm_s']:.3f} s "
          f"(best of {repeats}; cold/warm = {res['ratio']:.1f}x; goal warm < 1 s: "
          f"{'met' if res['warm_s'] < 1 else 'NOT met'})")
    return res


def bench_yahpo(n_tasks: int, full: bool) -> dict:
    import numpy as np

    from lcsim.benchmarks.yahpo import YahpoLCBenchSurrogate, tabulate

    s = YahpoLCBenchSurrogate()
    ids = s.task_ids if full else s.task_ids[:n_tasks]
    times, bad = [], 0
    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover
        tqdm = lambda x, **k: x  # noqa: E731
    clipped = []
    for t in tqdm(ids, desc="tabulating"):
        t0 = time.perf_counter()
        task = tabulate(t, 2000, 0, s)
        times.append(time.perf_counter() - t0)
        clipped.append(task.extra["cost_clipped_share"])
        for j, m in enumerate(task.metrics.values()):
            v = task.curves[..., j]
            bad += int(np.sum((v < m.bounds[0]) | (v > m.bounds[1])))
    per = float(np.mean(times))
    res = {"tasks": len(ids), "per_task_s": per, "extrapolated_34_s": per * 34, "bound_violations": bad,
           "cost_clipped_share": float(np.mean(clipped))}
    print(f"YAHPO tabulation 2000 cfg x 52 epochs: {per:.2f} s per task over {len(ids)} task(s) -> "
          f"{'measured' if full else 'extrapolated'} 34 tasks {per * 34:.0f} s; "
          f"values outside metric bounds: {bad}; cost epochs clipped at 0: {res['cost_clipped_share']:.4%}")
    return res


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--yahpo-tasks", type=int, default=3)
    ap.add_argument("--full-yahpo", action="store_true")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    sys.path.insert(0, str(REPO))
    bench_taskset(args.repeats)
    bench_yahpo(args.yahpo_tasks, args.full_yahpo)


if __name__ == "__main__":
    main()
