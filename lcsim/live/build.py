"""Build a tabular benchmark by training a seeded sample of configurations with the live trainer.

Usage (the embedded default benchmark, see ``data/README.md``)::

    python -m lcsim.live.build --datasets breast_cancer digits iris wine --n-configs 400 --epochs 50 --seed 0 \\
        --workers 2 --work-dir build/embedded-work --out-dir data/embedded

For every dataset the builder samples ``n_configs`` configurations of the search space from the seed, trains each
one for ``epochs`` epochs (:class:`lcsim.live.trainer.Trainer`, seed derived from ``(seed, dataset, index)``) and
writes a :class:`lcsim.benchmarks.Task` (``<out-dir>/<dataset>.npz``) whose metrics are every per-epoch record
(losses, accuracies, balanced accuracies, ROC AUCs, FGHPO sharpness, AGN and its running sum, seconds).

* Resumable: each finished configuration is written atomically to ``<work-dir>/<dataset>/<index>.npz``; a killed
  build started again with the same arguments skips them.
* Parallel: ``--workers`` processes, each with ``torch.set_num_threads(1)``.
* Deterministic: every value except the wall-clock seconds depends only on the arguments, not on the number of
  processes or the order in which configurations finish.
"""
from __future__ import annotations

import argparse
import io
import json
import math
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

from .._files import write_atomic
from ..benchmarks._base import Metric, Task
from ..errors import DataFormatError, check_int, unknown_name
from ..seeding import derive
from .spaces import SPACES, sample_configs

__all__ = ["build_task", "build_tasks", "main", "EMBEDDED_VERSION"]

EMBEDDED_VERSION = "embedded-1"


def _metric_bounds(name: str) -> tuple[float, float]:
    if name.endswith(("_acc", "_bacc", "_auc")):
        return (0.0, 1.0)
    return (0.0, math.inf)


# ----------------------------------------------------------------------------------------------------------- workers
_DATA: dict = {}


def _init_worker():
    import torch

    torch.set_num_threads(1)


def _run_one(job: tuple) -> tuple:
    """Train one configuration and write its curve atomically; returns (dataset, index, seconds)."""
    dataset, index, family, config, epochs, seed, split_seed, work = job
    from .datasets import load_dataset
    from .trainer import Trainer

    if dataset not in _DATA:
        _DATA[dataset] = load_dataset(dataset, seed=split_seed)
    t0 = time.perf_counter()
    tr = Trainer(_DATA[dataset], family, config, derive(seed, "build", dataset, "config", index))
    tr.train_until(epochs)
    curve = tr.curve(epochs)
    buf = io.BytesIO()
    np.savez(buf, curve=curve, diverged=np.array(tr.diverged),
             meta=np.frombuffer(json.dumps({"config": config, "metrics": tr.metrics}).encode(), dtype=np.uint8))
    write_atomic(Path(work) / dataset / f"{index:05d}.npz", buf.getvalue())
    return dataset, index, time.perf_counter() - t0


def _read_done(path: Path, config: dict, n_epoch: int, n_metric: int):
    try:
        with np.load(path) as z:
            meta = json.loads(bytes(z["meta"]).decode())
            curve, div = z["curve"], bool(z["diverged"])
    except Exception:
        return None  # unreadable (should not happen: atomic writes) -> redo it
    if meta.get("config") != config or curve.shape != (n_epoch, n_metric):
        return None
    return curve, div


def build_task(dataset: str, *, space_name: str = "lcbench_mlp", n_configs: int = 400, epochs: int = 50,
               seed: int = 0, split_seed: int = 0, workers: int = 1, work_dir: str | os.PathLike = "build/work",
               progress: bool = True, command: str | None = None) -> Task:
    """Train ``n_configs`` sampled configurations for ``epochs`` on ``dataset`` and return the Task (see module doc).

    Several datasets: call :func:`build_tasks`, which shares one process pool.
    """
    return build_tasks([dataset], space_name=space_name, n_configs=n_configs, epochs=epochs, seed=seed,
                       split_seed=split_seed, workers=workers, work_dir=work_dir, progress=progress,
                       command=command)[dataset]


def build_tasks(datasets: list[str], *, space_name: str = "lcbench_mlp", n_configs: int = 400, epochs: int = 50,
                seed: int = 0, split_seed: int = 0, workers: int = 1, work_dir: str | os.PathLike = "build/work",
                progress: bool = True, command: str | None = None) -> dict[str, Task]:
    """Build one Task per dataset with one shared process pool; finished configurations are skipped."""
    from .datasets import SKLEARN_DATASETS
    from .trainer import METRIC_DIRECTIONS, metric_names

    if space_name not in SPACES:
        raise unknown_name("search space", space_name, SPACES)
    for d in datasets:
        if d not in SKLEARN_DATASETS:
            raise unknown_name("builder dataset", d, SKLEARN_DATASETS)
    n_configs = check_int("build", "n_configs", n_configs, 1)
    epochs = check_int("build", "epochs", epochs, 1)
    workers = check_int("build", "workers", workers, 1, 256)
    factory, family = SPACES[space_name]
    space = factory()
    names = metric_names(False)
    work = Path(work_dir)
    frames = {d: sample_configs(space, n_configs, derive(seed, "build", d, "space")) for d in datasets}
    results: dict[str, dict[int, tuple]] = {d: {} for d in datasets}
    jobs = []
    for d in datasets:
        for i, row in enumerate(frames[d].to_dict("records")):
            cfg = {k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()}
            done = _read_done(work / d / f"{i:05d}.npz", cfg, epochs, len(names))
            if done is not None:
                results[d][i] = done
            else:
                jobs.append((d, int(i), family, cfg, epochs, seed, split_seed, str(work)))
    # configuration-major (every dataset's config 0, then config 1, ...), so an interrupted build holds a usable
    # prefix of every task; the order does not change any value
    jobs.sort(key=lambda j: (j[1], -_size_hint(j[0])))
    t0 = time.perf_counter()
    if jobs:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(jobs), desc="live build", unit="cfg", disable=not progress)
        if workers == 1:
            _init_worker()
            for j in jobs:
                _run_one(j)
                bar.update()
        else:
            import multiprocessing as mp

            with mp.get_context("spawn").Pool(workers, initializer=_init_worker) as pool:
                for _ in pool.imap_unordered(_run_one, jobs, chunksize=1):
                    bar.update()
        bar.close()
        for j in jobs:
            d, i = j[0], j[1]
            done = _read_done(work / d / f"{i:05d}.npz", j[3], epochs, len(names))
            if done is None:
                raise DataFormatError(f"Configuration {d}/{i} did not produce a readable result in {work}.")
            results[d][i] = done
    wall = time.perf_counter() - t0
    tasks = {}
    import sklearn
    import torch

    for d in datasets:
        curves = np.stack([results[d][i][0] for i in range(n_configs)])[:, None]  # (n_cfg, 1, E, M)
        diverged = np.array([results[d][i][1] for i in range(n_configs)])[:, None]
        metrics = {m: Metric(m, METRIC_DIRECTIONS[m], _metric_bounds(m)) for m in names}
        extra = {"builder": "lcsim.live.build", "dataset": d, "space": space_name, "family": family,
                 "n_configs": n_configs, "epochs": epochs, "seed": seed, "split_seed": split_seed,
                 "command": command or "", "torch": torch.__version__, "sklearn": sklearn.__version__,
                 "numpy": np.__version__, "python": platform.python_version(), "machine": platform.machine(),
                 "processor": platform.processor() or platform.machine(), "wall_seconds_this_call": wall,
                 "cost_note": "epoch_cost = epoch_seconds (training pass + evaluation/proxy pass), one core"}
        # the version names a non-default space, so caches keyed on (benchmark, task, version) keep them apart
        version = EMBEDDED_VERSION if space_name == "lcbench_mlp" else f"{EMBEDDED_VERSION}-{space_name}"
        tasks[d] = Task("embedded", d, frames[d], curves, metrics, "valid_loss", space,
                        curves[..., names.index("epoch_seconds")], "seconds", diverged, version, extra=extra)
    return tasks


def _size_hint(dataset: str) -> int:
    return {"digits": 1797, "breast_cancer": 569, "wine": 178, "iris": 150}.get(dataset, 0)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m lcsim.live.build", description=__doc__.split("\n\n")[0])
    p.add_argument("--datasets", nargs="+", default=["breast_cancer", "digits", "iris", "wine"])
    p.add_argument("--space", default="lcbench_mlp", help=f"one of {sorted(SPACES)}")
    p.add_argument("--n-configs", type=int, default=400)
    p.add_argument("--epochs", type=int, default=50)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--split-seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--work-dir", default="build/embedded-work")
    p.add_argument("--out-dir", default="data/embedded")
    p.add_argument("--no-progress", action="store_true")
    a = p.parse_args(argv)
    cmd = "python -m lcsim.live.build " + " ".join(sys.argv[1:] if argv is None else argv)
    t0 = time.perf_counter()
    tasks = build_tasks(a.datasets, space_name=a.space, n_configs=a.n_configs, epochs=a.epochs, seed=a.seed,
                        split_seed=a.split_seed, workers=a.workers, work_dir=a.work_dir,
                        progress=not a.no_progress, command=cmd)
    out = Path(a.out_dir)
    for d, task in tasks.items():
        path = task.save(out / f"{d}.npz")
        print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB): {task}")
    print(f"total wall seconds: {time.perf_counter() - t0:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
