"""Replay-engine throughput of this checkout against an older revision's engine, interleaved in one process.

Run: ``python tests/perf/bench_engine_ab.py --old 890e8d5 [--rounds 7]``. The old ``lcsim/replay/engine.py`` is read
with ``git show REV:lcsim/replay/engine.py`` and loaded as a sibling module of today's engine (it runs on today's
tasks and optimizers), so both engines replay the same methods on the same task in alternation and the ratio is free
of the machine's drift. Prints, per method and worker count, the best and median time per run of each engine and
the ratio new / old (below 1: today's engine is faster).
"""
from __future__ import annotations

import argparse
import importlib.util
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from lcsim.benchmarks.synthetic import synthetic_task  # noqa: E402
from lcsim.optimizers import make_optimizer  # noqa: E402
from lcsim.replay import engine as new_engine  # noqa: E402


def old_engine(rev: str):
    src = subprocess.run(["git", "show", f"{rev}:lcsim/replay/engine.py"], cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout
    path = Path(tempfile.mkdtemp()) / "_engine_old.py"
    path.write_text(src)
    spec = importlib.util.spec_from_file_location("lcsim.replay._engine_old", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--old", required=True, help="git revision of the baseline engine")
    ap.add_argument("--rounds", type=int, default=7)
    a = ap.parse_args(argv)
    old = old_engine(a.old)
    task = synthetic_task(n_configs=2000, n_epochs=52, seed=0)
    task.served_objective()
    print(f"engine of {a.old} vs this checkout, {a.rounds} interleaved rounds, 200 full curves per run")
    for name in ("random_search", "hyperband", "asha"):
        for workers in (1, 4):
            times = {"old": [], "new": []}
            for _ in range(a.rounds):
                for label, eng in (("old", old), ("new", new_engine)):
                    opt = make_optimizer(name, eng.problem_for(task, workers), 0, {})
                    budget = eng.Budget.full_evaluations(task, 200)
                    t0 = time.perf_counter()
                    eng.run(task, opt, budget, n_workers=workers, seed=0)
                    times[label].append(time.perf_counter() - t0)
            bo, bn = min(times["old"]), min(times["new"])
            mo, mn = statistics.median(times["old"]), statistics.median(times["new"])
            print(f"{name:14s} workers={workers}: old best {bo * 1e3:7.1f} ms median {mo * 1e3:7.1f} | new best "
                  f"{bn * 1e3:7.1f} ms median {mn * 1e3:7.1f} | new/old best {bn / bo:.3f} median {mn / mo:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
