"""Benchmarks of the live backend's proxies, one process, one core (``torch.set_num_threads(1)``).

Prints three ratios:

1. AGN overhead: training-pass seconds of an epoch with AGN accumulation over the same epoch without it
   (goal <= 1.10). Epochs alternate between the two trainers (same seed, same data order) and the median of the
   per-epoch ratio is reported, so drifting machine load cancels.
2. Sharpness cost per mini-batch per configuration (goal <= 1 ms): ``sharpness_max`` over the training set in
   mini-batches, divided by the number of mini-batches; and one ``sharpness_batch`` call.
3. Vectorised GN vs the naive per-sample autograd loop (goal >= 20x): torch.func vmap + grad (any model) and the
   layerwise Goodfellow path (Linear, Conv2d, eval-mode BatchNorm).

Usage: ``python tests/perf/bench_live_proxies.py [--quick]``.
"""
from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import torch  # noqa: E402

from lcsim.live import Trainer, load_dataset  # noqa: E402
from lcsim.live.models import build_model  # noqa: E402
from lcsim.live.proxies import per_sample_grad_sq_norms, per_sample_grad_sq_norms_loop, sharpness_batch, sharpness_max  # noqa


def agn_overhead(epochs: int) -> None:
    ds = load_dataset("digits", seed=0)
    for cfg in ({"num_layers": 2, "units": 64, "batch_size": 32, "learning_rate": 0.01},
                {"num_layers": 3, "units": 256, "batch_size": 128, "learning_rate": 0.01}):
        on = Trainer(ds, "mlp", cfg, seed=0, agn=True)
        off = Trainer(ds, "mlp", cfg, seed=0, agn=False)
        ratios, t_on, t_off = [], [], []
        for e in range(1, epochs + 1):
            off.train_until(e)
            on.train_until(e)
            t_off.append(off.records[-1]["train_seconds"])
            t_on.append(on.records[-1]["train_seconds"])
            ratios.append(t_on[-1] / t_off[-1])
        print(f"AGN overhead  digits mlp {cfg}: plain epoch {statistics.median(t_off) * 1e3:.2f} ms, with AGN "
              f"{statistics.median(t_on) * 1e3:.2f} ms, median ratio {statistics.median(ratios):.3f} "
              f"(goal <= 1.10)")


def sharpness_cost(reps: int) -> None:
    g = torch.Generator().manual_seed(0)
    for n, d, k, bs in ((1078, 64, 10, 32), (50000, 256, 10, 128)):
        a = torch.randn(n, d, generator=g)
        w = torch.randn(k, d, generator=g)
        n_batch = -(-n // bs)
        t0 = time.perf_counter()
        for _ in range(reps):
            sharpness_max(a, w, bs)
        per_batch = (time.perf_counter() - t0) / reps / n_batch
        t0 = time.perf_counter()
        for _ in range(reps):
            for s in range(0, min(n, 50 * bs), bs):
                sharpness_batch(a[s:s + bs], w)
        one = (time.perf_counter() - t0) / reps / min(n_batch, 50)
        print(f"Sharpness     n={n} d={d} batch={bs}: vectorised {per_batch * 1e6:.2f} us/mini-batch, "
              f"per-batch call {one * 1e6:.1f} us/mini-batch (goal <= 1000 us; FGHPO reports 30 ms)")


def gn_speed(n: int) -> None:
    for name, cfg, shape in (("mlp 2x64 (digits-size input)", {"num_layers": 2, "units": 64}, (64,)),
                             ("cnn_mnist 2 blocks x 6 filters", {"filters": 6, "kernel_size": 3, "num_blocks": 2,
                                                                  "units": 64}, (1, 28, 28))):
        fam = "mlp" if name.startswith("mlp") else "cnn_mnist"
        model = build_model(fam, cfg, shape, 10, torch.Generator().manual_seed(0)).eval()
        x = torch.rand(n, *shape, generator=torch.Generator().manual_seed(1))
        y = torch.randint(0, 10, (n,), generator=torch.Generator().manual_seed(2))
        t0 = time.perf_counter()
        ref = per_sample_grad_sq_norms_loop(model, x, y)
        t_loop = time.perf_counter() - t0
        t0 = time.perf_counter()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        torch.autograd.grad(loss, list(model.parameters()))
        t_batch = time.perf_counter() - t0
        print(f"GN            {name}, n={n}: one batched forward+backward (no per-sample norms) "
              f"{t_batch * 1e3:.1f} ms = loop / {t_loop / t_batch:.1f}: the most any vectorisation can gain")
        methods = ["vmap", "layerwise"]
        for method in methods:
            per_sample_grad_sq_norms(model, x[:8], y[:8], method=method)  # warm up
            t0 = time.perf_counter()
            fast = per_sample_grad_sq_norms(model, x, y, chunk_size=None, method=method)
            t_fast = time.perf_counter() - t0
            err = float(((fast - ref).abs() / ref.abs().clamp_min(1e-12)).max())
            print(f"GN            {name}, n={n}: {method} {t_fast * 1e3:.1f} ms, loop {t_loop * 1e3:.1f} ms, "
                  f"speed-up {t_loop / t_fast:.1f}x (goal >= 20x), max rel diff {err:.1e}")


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--quick", action="store_true")
    a = p.parse_args()
    torch.set_num_threads(1)
    print(f"torch {torch.__version__}, {platform.processor() or platform.machine()}, 1 thread")
    agn_overhead(4 if a.quick else 15)
    sharpness_cost(3 if a.quick else 20)
    gn_speed(64 if a.quick else 512)
