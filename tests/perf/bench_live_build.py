"""Per-configuration cost of the embedded build and the extrapolated wall time (one core per process).

Trains the first ``k`` configurations the embedded build samples for each dataset for ``epochs`` epochs, reports the
mean milliseconds per epoch and extrapolates to 400 configurations x 50 epochs on 2 processes. Usage:
``python tests/perf/bench_live_build.py [--k 8] [--epochs 3]``.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from lcsim.live import Trainer, load_dataset  # noqa: E402
from lcsim.live.spaces import lcbench_mlp_space, sample_configs  # noqa: E402
from lcsim.seeding import derive  # noqa: E402

if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--k", type=int, default=8)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--n-configs", type=int, default=400)
    p.add_argument("--full-epochs", type=int, default=50)
    p.add_argument("--workers", type=int, default=2)
    a = p.parse_args()
    torch.set_num_threads(1)
    total = 0.0
    for d in ("breast_cancer", "digits", "iris", "wine"):
        ds = load_dataset(d, seed=0)
        cfgs = sample_configs(lcbench_mlp_space(), a.k, derive(0, "build", d, "space")).to_dict("records")
        per_epoch = []
        for i, c in enumerate(cfgs):
            t = Trainer(ds, "mlp", c, derive(0, "build", d, "config", i))
            t0 = time.perf_counter()
            recs = t.train_until(a.epochs)
            per_epoch.append((time.perf_counter() - t0) / len(recs))
        ms = float(np.mean(per_epoch)) * 1e3
        cost = ms / 1e3 * a.n_configs * a.full_epochs
        total += cost
        print(f"{d:14s} {ms:7.1f} ms/epoch (mean of {a.k} configs) -> {cost / 60:6.1f} CPU-min for "
              f"{a.n_configs} x {a.full_epochs}")
    print(f"total {total / 60:.1f} CPU-min -> about {total / 60 / a.workers:.1f} min wall on {a.workers} free cores")
