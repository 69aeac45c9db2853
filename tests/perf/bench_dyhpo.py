"""Benchmark: seconds per HPO step of DyHPO beside DPL, at a few history sizes, interleaved in one process.

One step is what the replay engine charges as overhead for a one-epoch job: ``tell`` of the new epoch (DyHPO: a
warm-started refinement of ``refine_epochs = 50`` full-batch Adam steps on the deep-kernel GP's marginal likelihood,
then the posterior and multi-fidelity EI over the pool; DPL: a 20-epoch refinement of its 5-member ensemble, then its
posterior over the pool) followed by the next ``ask``. Both methods at their defaults, on one CPU core
(``torch.set_num_threads(1)``), on a 1000-configuration x 51-epoch synthetic power-law pool (TaskSet's shape).

Each method is given the same history of ``n`` observed (configuration, epoch) points (``n / 10`` configurations, 10
epochs each) without fitting, then one untimed fit, then ``--repeats`` timed steps, each adding the next epoch of a
history configuration; DPL's and DyHPO's steps alternate so machine load hits both alike. Reported: the median
seconds per step of each and their ratio.

Usage::

    nice -n 10 python tests/perf/bench_dyhpo.py --sizes 10 100 500 --repeats 3
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from lcsim.benchmarks.synthetic import synthetic_task  # noqa: E402
from lcsim.optimizers import Job, Observation, make_optimizer  # noqa: E402
from lcsim.replay import problem_for  # noqa: E402


def _prepared(name: str, task, n: int, seed: int = 0):
    """Method ``name`` holding ``n`` observed points (fits and posteriors skipped while they are told), then fitted
    once (DyHPO: 50 steps from scratch instead of 1000; the timed steps are refinements either way)."""
    opt = make_optimizer(name, problem_for(task), seed)
    served = task.served_objective()[:, 0]
    real_fit = opt._fit
    opt._fit = opt._update_candidates = lambda: None
    cids = np.random.default_rng(seed).choice(task.n_configs, max(1, n // 10), replace=False)
    for tid, cid in enumerate(cids):
        ep = np.arange(1, 11)
        job = Job(tid, 10, config_id=int(cid))
        opt.running.add(tid)
        opt.tell(job, Observation(tid, int(cid), ep, served[cid, ep - 1]))
    opt._next_trial = len(cids)
    del opt._fit, opt._update_candidates
    if name == "dyhpo":
        full, opt.initial_epochs = opt.initial_epochs, 50   # a shorter untimed first fit; steps only refine
        real_fit()
        opt.initial_epochs, opt._need_full = full, False
    else:
        real_fit()
    opt._update_candidates()
    return opt, cids


def _step(opt, task, tid: int, cid: int) -> float:
    """Seconds of one engine step: tell the trial's next epoch, then ask."""
    served = task.served_objective()[:, 0]
    e = opt.paid[tid] + 1
    job = Job(tid, e, config_id=int(cid))
    opt.running.add(tid)
    t0 = time.perf_counter()
    opt.tell(job, Observation(tid, int(cid), np.array([e]), served[cid, [e - 1]]))
    j = opt.ask()
    dt = time.perf_counter() - t0
    opt.abandon(j)  # not run: the next timed step tells a history trial again
    return dt


def bench(sizes=(10, 100, 500), repeats=3) -> list[dict]:
    task = synthetic_task(n_configs=1000, n_epochs=51, seed=0)
    out = []
    for n in sizes:
        prepared = {m: _prepared(m, task, n) for m in ("dpl", "dyhpo")}
        times = {m: [] for m in prepared}
        for r in range(repeats):
            for m, (opt, cids) in prepared.items():
                k = r % len(cids)
                times[m].append(_step(opt, task, k, int(cids[k])))
        row = {"history": n, **{f"{m}_s": float(np.median(v)) for m, v in times.items()}}
        row["ratio_dyhpo_over_dpl"] = row["dyhpo_s"] / row["dpl_s"]
        out.append(row)
        print(f"history {n:5d}: dpl {row['dpl_s']:.3f} s/step, dyhpo {row['dyhpo_s']:.3f} s/step, "
              f"dyhpo/dpl {row['ratio_dyhpo_over_dpl']:.2f}", flush=True)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 500])
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}", flush=True)
    bench(args.sizes, args.repeats)


if __name__ == "__main__":
    main()
