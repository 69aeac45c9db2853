"""Shared plumbing of the paper-figure scripts: scales, availability checks, the cached replay grid, outputs.

Availability: every benchmark and method is looked up through the registries (``lcsim.benchmarks.get_benchmark``,
``lcsim.optimizers.make_optimizer``). A missing one (not registered yet, import error, data not found) is skipped with
its reason, printed and written into the CSV header (``# skipped: ...`` comment lines; read with
``pandas.read_csv(path, comment="#")``). Nothing is substituted at ``small``/``full`` scale. The ``tiny`` scale, for
tests only, runs on the synthetic task (recorded as benchmark ``synthetic`` in every row) so the scripts' numbers can
be checked end to end in seconds.
"""
from __future__ import annotations

import json
import os
import shlex
import sys
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from lcsim.benchmarks._base import write_atomic
from lcsim.errors import InvalidParameterError
from lcsim.seeding import derive, int_seed

ROOT_SEED = 2024


@dataclass(frozen=True)
class Scale:
    """What one scale runs. ``budget_full_evals``: budget in full-curve equivalents per run (DPL: 20)."""

    name: str
    benchmarks: tuple
    max_tasks: int
    seeds: int
    budget_full_evals: float
    max_configs: int | None


SCALES = {
    "tiny": Scale("tiny", ("synthetic",), 3, 2, 4, 24),
    # tens of minutes on 2 cores (DPL's ensemble refits dominate): 2 tasks per benchmark, 2 seeds and half of DPL's
    # budget (10 full evaluations instead of 20); the proxy studies use every embedded task
    "small": Scale("small", ("embedded", "taskset", "lcbench_yahpo"), 2, 2, 10, None),
    # the papers' protocol: every task, 10 seeds (expected cost: hours for the tabular methods; DPL/SMAC dominate)
    "full": Scale("full", ("lcbench_yahpo", "taskset", "pd1", "lcbench", "embedded"), 10_000, 10, 20, None),
}


def get_scale(name: str) -> Scale:
    if name not in SCALES:
        raise InvalidParameterError(f"Unknown scale {name!r}; valid scales: {sorted(SCALES)}.")
    return SCALES[name]


@dataclass
class Context:
    """One script invocation: scale, output folder, skip log."""

    scale: Scale
    out: Path
    jobs: int = 1  # worker processes for uncached replay cells
    skipped: list = field(default_factory=list)
    notes: list = field(default_factory=list)

    def skip(self, what: str, reason: str) -> None:
        msg = f"{what}: {reason}"
        print(f"[paper_figures] skipping {msg}", file=sys.stderr)
        self.skipped.append(msg)


@contextmanager
def single_threaded():
    """Run a block with one BLAS/OpenMP thread (``threadpoolctl``) and one intra-op torch thread, restoring the
    previous settings afterwards.

    On the shared 2-core machine a second thread spin-waits for a core: small networks train many times faster on one
    thread and TuRBO's GP steps (numpy/OpenBLAS) about 7x faster (measured); the live builder's workers use one thread
    for the same reason. Scripts that train small nets or fit small GPs wrap their work in this, and so do the tests
    that redo their numbers (thread counts can change the order of floating-point reductions).
    """
    import torch
    from threadpoolctl import threadpool_limits

    old = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with threadpool_limits(1):
            yield
    finally:
        torch.set_num_threads(old)


def load_tasks(ctx: Context, benchmarks=None, max_tasks: int | None = None) -> list:
    """Load up to ``max_tasks`` (default ``scale.max_tasks``) tasks of each benchmark; missing ones are recorded as
    skipped."""
    from lcsim.benchmarks import get_benchmark

    tasks = []
    for name in benchmarks or ctx.scale.benchmarks:
        if ctx.scale.name == "tiny" and name == "synthetic":
            from lcsim.testing.synthetic import synthetic_task

            tasks += [synthetic_task(n_configs=ctx.scale.max_configs, n_epochs=9, seed=s, name=f"powerlaw{s}")
                      for s in range(ctx.scale.max_tasks)]
            continue
        try:
            bench = get_benchmark(name)
            names = bench.tasks()[: max_tasks or ctx.scale.max_tasks]
            if not names:
                raise LookupError("no task files present")
            tasks += [bench.load(t) for t in names]
        except Exception as exc:  # noqa: BLE001 -- any failure to load means: skip, with the reason
            ctx.skip(f"benchmark={name}", f"{type(exc).__name__}: {exc}")
    return tasks


def method_params(ctx: Context, name: str) -> dict:
    """Method parameters for a scale: the papers' defaults, except at ``tiny`` (tests), where each method's small
    contract settings (``lcsim.testing.optimizer_contract.fast_params``) keep the plumbing tests fast."""
    if ctx.scale.name != "tiny":
        return {}
    from lcsim.testing.optimizer_contract import fast_params

    return fast_params(name)


def available_methods(ctx: Context, names, task) -> list:
    """The subset of ``names`` that the optimizer registry can build for ``task``."""
    from lcsim.optimizers import make_optimizer
    from lcsim.replay import problem_for

    ok = []
    for m in names:
        try:
            make_optimizer(m, problem_for(task), 0, method_params(ctx, m))
            ok.append(m)
        except Exception as exc:  # noqa: BLE001
            ctx.skip(f"method={m}", f"{type(exc).__name__}: {exc}")
    return ok


def _cell_path(ctx: Context, task, method: str, s: int, charge_overhead: bool) -> Path:
    tag = "oh" if charge_overhead else "no"
    return ctx.out / "cells" / (f"{task.benchmark}__{task.name}__{method}__s{s}__{ctx.scale.budget_full_evals:g}__"
                                f"{tag}.parquet")


def _run_cell(task, method: str, s: int, params: dict, budget_full_evals: float, charge_overhead: bool,
              path: Path) -> pd.DataFrame:
    """Replay one (task, method, seed index) cell and write it atomically (module level: runs in worker processes)."""
    from lcsim.optimizers import make_optimizer
    from lcsim.replay import Budget, problem_for, run

    seed = int_seed(derive(ROOT_SEED, task.key, method, s))
    opt = make_optimizer(method, problem_for(task), seed, params)
    res = run(task, opt, Budget.full_evaluations(task, budget_full_evals), seed=seed, method=method,
              charge_overhead=charge_overhead)
    df = res.table.assign(seed=s)  # grid seed index (the run seed is derived from it)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    df.to_parquet(tmp)
    os.replace(tmp, path)
    return df


def run_grid(ctx: Context, tasks, methods, *, charge_overhead: bool = False) -> pd.DataFrame:
    """Replay every (task, method, seed) cell; each cell is cached as parquet under ``out/cells`` (resume).

    Uncached cells run in ``ctx.jobs`` processes; every cell's seed derives from (root seed, task, method, seed
    index), so the numbers do not depend on ``jobs``.
    """
    from tqdm import tqdm

    (ctx.out / "cells").mkdir(parents=True, exist_ok=True)
    todo = [(t, m, s) for t in tasks for m in methods for s in range(ctx.scale.seeds)]
    paths = [_cell_path(ctx, t, m, s, charge_overhead) for t, m, s in todo]
    frames = {i: pd.read_parquet(p) for i, p in enumerate(paths) if p.exists()}
    args = {i: (t, m, s, method_params(ctx, m), ctx.scale.budget_full_evals, charge_overhead, paths[i])
            for i, (t, m, s) in enumerate(todo) if i not in frames}
    bar = tqdm(total=len(todo), initial=len(frames), desc="replay grid", disable=None)
    if ctx.jobs > 1 and len(args) > 1:
        from concurrent.futures import ProcessPoolExecutor, as_completed

        with ProcessPoolExecutor(ctx.jobs) as pool:
            futs = {pool.submit(_run_cell, *a): i for i, a in args.items()}
            for f in as_completed(futs):
                frames[futs[f]] = f.result()
                bar.update()
    else:
        for i, a in args.items():
            frames[i] = _run_cell(*a)
            bar.update()
    bar.close()
    return pd.concat([frames[i] for i in sorted(frames)], ignore_index=True) if frames else pd.DataFrame()


def write_outputs(ctx: Context, name: str, data: pd.DataFrame, fig=None, meta: dict | None = None,
                  script: str | None = None) -> dict:
    """Write ``name.csv`` (metadata as ``#`` lines, then the numbers), ``name.png`` and ``name.cmd.txt``.

    ``script``: the script that made it, when it writes several outputs (default ``name``).
    """
    ctx.out.mkdir(parents=True, exist_ok=True)
    head = [f"# figure: {name}", f"# scale: {ctx.scale.name}", f"# root_seed: {ROOT_SEED}"]
    for k, v in (meta or {}).items():
        head.append(f"# {k}: {json.dumps(v, default=str)}")
    head += [f"# skipped: {s}" for s in ctx.skipped] + [f"# note: {n}" for n in ctx.notes]
    body = data.to_csv(index=False)
    write_atomic(ctx.out / f"{name}.csv", ("\n".join(head) + "\n" + body).encode())
    if fig is not None:
        tmp = ctx.out / f".{name}.tmp.png"
        fig.savefig(tmp, dpi=120, bbox_inches="tight")
        os.replace(tmp, ctx.out / f"{name}.png")
        import matplotlib.pyplot as plt

        plt.close(fig)
    cmd = f"python -m paper_figures --only {script or name} --scale {ctx.scale.name} --out {shlex.quote(str(ctx.out))}\n"
    write_atomic(ctx.out / f"{name}.cmd.txt", cmd.encode())
    return {"csv": ctx.out / f"{name}.csv", "png": ctx.out / f"{name}.png" if fig is not None else None}


def read_csv(path) -> tuple[pd.DataFrame, dict]:
    """Read a figure CSV back: (numbers, metadata dict with lists for repeated keys like ``skipped``)."""
    meta: dict = {}
    with open(path) as fh:
        for line in fh:
            if not line.startswith("#"):
                break
            k, _, v = line[2:].rstrip("\n").partition(": ")
            meta.setdefault(k, []).append(v)
    return pd.read_csv(path, comment="#"), meta


#: live-backend metric names -> the proxy studies' column names (``analysis.agn_study`` uses val_* for validation)
PROXY_NAMES = {"valid_loss": "val_loss", "valid_acc": "val_acc", "valid_bacc": "val_bacc", "valid_auc": "val_auc"}


def proxy_table(task) -> pd.DataFrame:
    """Flatten a task's curves into the per-epoch proxy table (config_id, seed, epoch, one column per metric; the
    live backend's ``valid_*`` metrics are named ``val_*`` as in :mod:`analysis.agn_study`)."""
    n_cfg, n_seed, n_ep, n_met = task.curves.shape
    c, s, e = np.meshgrid(np.arange(n_cfg), np.arange(n_seed), np.arange(1, n_ep + 1), indexing="ij")
    df = pd.DataFrame({"config_id": c.ravel(), "seed": s.ravel(), "epoch": e.ravel()})
    for j, m in enumerate(task.metrics):
        df[PROXY_NAMES.get(m, m)] = task.curves[..., j].ravel()
    return df


def synthetic_proxy_table(seed: int, n_configs: int = 40, n_epochs: int = 6) -> pd.DataFrame:
    """A seeded synthetic proxy table (tiny scale / tests only): sharpness tracks final loss, AGN tracks GN."""
    from lcsim.seeding import make_rng

    rng = make_rng(seed)
    q = rng.random(n_configs)
    rows = []
    for c in range(n_configs):
        for e in range(1, n_epochs + 1):
            gn = q[c] + 0.3 * rng.random()
            tl = q[c] * 2 / e + 0.05 * rng.random()
            rows.append({"config_id": c, "seed": 0, "epoch": e, "train_loss": tl, "val_loss": tl + 0.2 * q[c],
                         "train_acc": 1 - tl / 3, "val_acc": 1 - (tl + 0.2 * q[c]) / 3,
                         "sharpness": q[c] + 0.1 * rng.standard_normal() / e, "gn": gn,
                         "agn": 0.8 * gn + 0.05 * rng.standard_normal(), "time_plain": 1.0 + 0.1 * rng.random(),
                         "time_agn": 1.15 + 0.1 * rng.random(), "time_gn": 2.5 + 0.3 * rng.random()})
    return pd.DataFrame(rows)


def load_proxy_tables(ctx: Context, needed) -> list[tuple[str, pd.DataFrame]]:
    """Per-epoch proxy tables from the live-built embedded benchmark (tasks whose metrics include ``needed``)."""
    if ctx.scale.name == "tiny":
        ctx.notes.append("tiny scale: synthetic proxy tables (test plumbing only, not a result)")
        return [(f"synthetic{s}", synthetic_proxy_table(s)) for s in range(2)]
    out = []
    for task in load_tasks(ctx, ["embedded"], max_tasks=10_000):
        have = {PROXY_NAMES.get(m, m) for m in task.metrics}
        missing = [m for m in needed if m not in have]
        if missing:
            ctx.skip(f"task={task.key}", f"records no proxy metrics {missing}")
            continue
        out.append((task.name, proxy_table(task)))
    return out
