"""Shared plumbing of the paper-figure scripts: scales, availability checks, the replay grid, outputs.

Availability: every benchmark and method is looked up through the registries (``lcsim.benchmarks.get_benchmark``,
``lcsim.optimizers.make_optimizer``). A missing one (not registered yet, import error, data not found) is skipped with
its reason, printed and written into the CSV header (``# skipped: ...`` comment lines; read with
``pandas.read_csv(path, comment="#")``). Nothing is substituted at ``small``/``full`` scale. The ``tiny`` scale, for
tests only, runs on small synthetic tasks (benchmark ``synthetic`` with :data:`TINY_OPTIONS`) so the scripts'
numbers can be checked end to end in seconds.

Replay cells run through :func:`lcsim.replay.grid.run_grid`, the grid runner of ``python -m lcsim.replay``: the same
cell files, seeds, atomic writes and resume, so a cell of a figure and the same cell run from the command line
(``--seed 2024``, the figures' root seed) give identical tables.
"""
from __future__ import annotations

import json
import os
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from lcsim._files import write_atomic
from lcsim.errors import InvalidParameterError
from lcsim.seeding import derive
from lcsim.threads import single_threaded

ROOT_SEED = 2024


@dataclass(frozen=True)
class Scale:
    """What one scale runs. ``budget_full_evals``: budget in full-curve equivalents per run (DPL: 20);
    ``extra_methods``: methods beyond the paper's eight that join the DPL comparison at this scale (DyHPO, a
    freeze-thaw method published after DPL)."""

    name: str
    benchmarks: tuple
    max_tasks: int
    seeds: int
    budget_full_evals: float
    max_configs: int | None
    extra_methods: tuple = ()


SCALES = {
    "tiny": Scale("tiny", ("synthetic",), 3, 2, 4, 24),
    # ~20 min on 2 cores: 2 tasks per benchmark, 2 seeds and a quarter of DPL's budget (5 full evaluations instead of
    # 20: DPL's ensemble refits grow with the history, so its cost grows with the square of the budget); the proxy
    # studies use every embedded task
    # DyHPO joins at this scale only: at the full scale its 4x DPL's step cost would add ~25 core-hours to TaskSet
    "small": Scale("small", ("embedded", "taskset", "lcbench_yahpo"), 2, 2, 5, None, ("dyhpo",)),
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
    jobs: int = 1  # worker processes for uncached cells (replay grid, DPL Fig. 2, AGN searches, FGHPO)
    params: dict = field(default_factory=dict)  # method name -> parameters overriding its defaults (--params)
    benchmarks: tuple | None = None  # --benchmarks: a subset of the scale's benchmarks
    recompute: tuple = ()  # --recompute: methods whose cells are run again (cached and packed ones are replaced)
    redone: set = field(default_factory=set)  # cells already replaced by this command (shared by its scripts)
    skipped: list = field(default_factory=list)
    notes: list = field(default_factory=list)

    def skip(self, what: str, reason: str) -> None:
        msg = f"{what}: {reason}"
        print(f"[paper_figures] skipping {msg}", file=sys.stderr)
        self.skipped.append(msg)


#: loader options of the tiny (test) scale: small synthetic tasks
TINY_OPTIONS = {"n_configs": 24, "n_epochs": 9}


def load_options(ctx: Context, benchmark: str) -> dict:
    """Loader options of ``benchmark`` at ``ctx.scale`` (the tiny scale's small synthetic tasks; else the loaders'
    defaults, which are the DPL protocol's: TaskSet's and PD1's filtered pools)."""
    return dict(TINY_OPTIONS) if ctx.scale.name == "tiny" and benchmark == "synthetic" else {}


def load_tasks(ctx: Context, benchmarks=None, max_tasks: int | None = None) -> list:
    """Load up to ``max_tasks`` (default ``scale.max_tasks``) tasks of each benchmark, as the grid runner's cells
    load them; missing ones are recorded as skipped."""
    tasks = []
    for name in benchmarks or ctx.benchmarks or ctx.scale.benchmarks:
        try:
            tasks += load_benchmark(ctx, name, max_tasks)
        except Exception as exc:  # noqa: BLE001 -- any failure to load means: skip, with the reason
            ctx.skip(f"benchmark={name}", f"{type(exc).__name__}: {exc}")
    return tasks


def load_benchmark(ctx: Context, name: str, max_tasks: int | None = None) -> list:
    """The first ``max_tasks`` (default ``scale.max_tasks``) tasks of benchmark ``name`` at ``ctx.scale``; raises
    what the loader raises (a :class:`~lcsim.errors.DataNotFoundError` names the download command)."""
    from lcsim.benchmarks import get_benchmark
    from lcsim.replay.grid import _load_task

    names = get_benchmark(name).tasks()[: max_tasks or ctx.scale.max_tasks]
    if not names:
        raise LookupError("no task files present")
    return [_load_task(name, t, load_options(ctx, name)) for t in names]


def method_params(ctx: Context, name: str) -> dict:
    """Method parameters: the papers' defaults, except where ``--params`` sets some (the tests give the tiny scale
    the contract suite's small settings that way)."""
    return dict(ctx.params.get(name, {}))


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


#: committed results: at the ``full`` scale the replay cells of each benchmark's grid are packed into
#: ``results/full/<benchmark>.parquet`` (one compact file: the columns the figures read), so the figures draw from it
#: without recomputing and a rerun resumes from it (and packs what it added)
RESULTS = Path(__file__).resolve().parent / "results"


def run_grid(ctx: Context, tasks, methods, *, charge_overhead: bool = False, normaliser: str = "final",
             columns: tuple | None = None) -> pd.DataFrame:
    """Replay every (task, method, seed) cell through :func:`lcsim.replay.grid.run_grid` (one grid per benchmark,
    root seed :data:`ROOT_SEED`, seeds ``0..scale.seeds-1``, budget ``scale.budget_full_evals`` full-curve
    equivalents), cached cell by cell under ``out/cells``; ``ctx.jobs`` processes run the missing cells. At the full
    scale the cells come from and go back to :data:`RESULTS` (packed), keeping only ``columns``. The cells of the
    methods in ``ctx.recompute`` are deleted first, once per command, so they run again and replace the packed ones."""
    from lcsim.replay import store
    from lcsim.replay.grid import GridSpec, cells_of
    from lcsim.replay.grid import run_grid as replay_grid

    frames = []
    by_bench: dict[str, list[str]] = {}
    for t in tasks:
        by_bench.setdefault(t.benchmark, []).append(t.name)
    for bench, names in by_bench.items():
        spec = GridSpec(benchmark=bench, tasks=names, methods={m: (m, method_params(ctx, m)) for m in methods},
                        seeds=list(range(ctx.scale.seeds)), budget=("full", ctx.scale.budget_full_evals),
                        charge_overhead=charge_overhead, root_seed=ROOT_SEED, options=load_options(ctx, bench),
                        normaliser=normaliser)
        cells = ctx.out / "cells"
        packed = RESULTS / "full" / f"{bench}.parquet"
        full = ctx.scale.name == "full"
        kept = store.unpack(packed, cells) if full and packed.exists() else []
        redo = {c.filename for c in cells_of(spec) if c.label in ctx.recompute} - ctx.redone
        for name in redo:
            (cells / name).unlink(missing_ok=True)
        ctx.redone |= redo
        if redo:
            print(f"[paper_figures] --recompute: running {len(redo)} cell(s) of {bench} again", file=sys.stderr)
        kept = [p for p in kept if p.name not in redo]  # the pack is rewritten without them, then with the new ones
        try:
            frames.append(replay_grid(spec, cells, executor="local" if ctx.jobs > 1 else "serial", n_jobs=ctx.jobs,
                                      exclusive=False, progress=True, columns=columns if full else None))
        finally:  # the pack keeps its cells (other figures' grids too) and gains what finished, even part-way
            if full:
                done = {cells / c.filename for c in cells_of(spec) if (cells / c.filename).exists()}
                if done - set(kept):
                    store.pack(sorted(set(kept) | done), packed)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def parallel_map(ctx: Context, fn, args: list, desc: str) -> list:
    """``[fn(*a) for a in args]``, in ``ctx.jobs`` worker processes when ``jobs > 1`` (``fn`` must be a module-level
    function, every cell seeded on its own and single-threaded inside, so the results do not depend on ``jobs``)."""
    from tqdm import tqdm

    out: list = [None] * len(args)
    bar = tqdm(total=len(args), desc=desc, disable=None)
    if ctx.jobs > 1 and len(args) > 1:
        from concurrent.futures import ProcessPoolExecutor, as_completed

        with ProcessPoolExecutor(min(ctx.jobs, len(args))) as pool:
            futs = {pool.submit(fn, *a): i for i, a in enumerate(args)}
            for f in as_completed(futs):
                out[futs[f]] = f.result()
                bar.update()
    else:
        for i, a in enumerate(args):
            out[i] = fn(*a)
            bar.update()
    bar.close()
    return out


def write_outputs(ctx: Context, name: str, data: pd.DataFrame, fig=None, meta: dict | None = None,
                  script: str | None = None) -> dict:
    """Write ``name.csv`` (metadata as ``#`` lines, then the numbers), ``name.png`` and ``name.cmd.txt``.

    ``script``: the script that made it, when it writes several outputs (default ``name``).
    """
    ctx.out.mkdir(parents=True, exist_ok=True)
    head = [f"# figure: {name}", f"# scale: {ctx.scale.name}", f"# root_seed: {ROOT_SEED}",
            f"# seeds: {ctx.scale.seeds}"]
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
    extra = f" --benchmarks {','.join(ctx.benchmarks)}" if ctx.benchmarks else ""
    if ctx.scale.seeds != SCALES[ctx.scale.name].seeds:
        extra += f" --seeds {ctx.scale.seeds}"
    cmd = (f"python -m paper_figures --only {script or name} --scale {ctx.scale.name}{extra} "
           f"--out {shlex.quote(str(ctx.out.parent))}\n")
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


# ------------------------------------------------------------------------------------------------ live training
# Helpers for the AGN scripts that train with ``lcsim.live`` themselves (GN and per-variant timing, searches, the
# cross-architecture set). Everything is seeded from ROOT_SEED through ``lcsim.seeding.derive``.

#: ranges of the random SGD configurations trained live for AGN Figs. 1-2 and the Table 3 analogue: the AGN
#: section 4.1 space (batch size 32..1000, lr 1e-7..0.5, momentum 0..0.99, wd 5e-7..0.05) narrowed to settings that
#: train in a few epochs, since the paper's "random hyperparameters" are not specified (log-uniform except momentum)
LIVE_RANGES = {"batch_size": (32, 256), "learning_rate": (1e-3, 0.3), "momentum": (0.0, 0.95),
               "weight_decay": (1e-6, 1e-3)}


def live_configs(n: int, seed, ranges: dict | None = None) -> list[dict]:
    """``n`` random SGD configurations from ``ranges`` (default :data:`LIVE_RANGES`; same keys), seeded."""
    from lcsim.seeding import make_rng

    r = ranges or LIVE_RANGES
    rng = make_rng(seed)
    lo_b, hi_b = r["batch_size"]
    out = []
    for _ in range(n):
        out.append({"optimizer": "sgd",
                    "batch_size": int(round(np.exp(rng.uniform(np.log(lo_b), np.log(hi_b))))),
                    "learning_rate": float(np.exp(rng.uniform(*np.log(r["learning_rate"])))),
                    "momentum": float(rng.uniform(*r["momentum"])),
                    "weight_decay": float(np.exp(rng.uniform(*np.log(r["weight_decay"]))))})
    return out


def live_dataset(name: str, *, image: bool = False):
    """A dataset for live training, split with seed 0.

    scikit-learn datasets (``digits``, ``breast_cancer``, ``wine``, ``iris``): every feature min-max scaled to [0, 1]
    with training-split statistics (the AGN paper normalizes its inputs); ``image=True`` reshapes ``digits`` to
    (1, 8, 8) so that the CNN families can train on it (the MLP flattens it back). ``mnist``, ``svhn``, ``cifar10``
    are read from ``$LCSIM_DATA/<name>`` (:class:`lcsim.errors.DataNotFoundError` when absent).
    """
    from dataclasses import replace

    from lcsim.benchmarks import data_root
    from lcsim.live import load_dataset
    from lcsim.live.datasets import SKLEARN_DATASETS

    if name not in SKLEARN_DATASETS:
        return load_dataset(name, seed=0, root=data_root() / name)
    if image and name != "digits":
        raise InvalidParameterError(f"live_dataset: only digits has an image shape; got {name!r}.")
    ds = load_dataset(name, seed=0)
    lo, hi = ds.x_train.min(axis=0), ds.x_train.max(axis=0)
    span = np.where(hi > lo, hi - lo, 1.0).astype(np.float32)
    shape = (1, 8, 8) if image and name == "digits" else ds.input_shape

    def scale(a):
        return np.clip((a - lo) / span, 0.0, 1.0).astype(np.float32).reshape(len(a), *shape)

    return replace(ds, x_train=scale(ds.x_train), x_valid=scale(ds.x_valid), x_test=scale(ds.x_test),
                   preprocessing="minmax_per_feature", info={**ds.info, "scaled": "per-feature min-max (train)"})


def live_gn_table(ctx: Context, dataset: str = "digits", family: str = "mlp", *, n_configs: int = 9,
                  epochs: int = 20, arch: dict | None = None, naive_samples: int = 16) -> pd.DataFrame:
    """Train ``n_configs`` seeded random configurations (:func:`live_configs`) with GN enabled and time the variants.

    Per configuration three trainers run in lockstep, epoch by epoch (alternating, so drifting machine load cancels;
    as ``tests/perf/bench_live_proxies.py``), all with the same seed and data order, so the same trajectory: one with
    AGN accumulation and GN after every optimizer step (``Trainer(gn=True, gn_every="iteration")``, all values), one
    with AGN accumulation alone (the trainer's default, whose training pass times AGN: the first trainer's GN passes
    run between its steps and share the caches with its training pass, although their own seconds are not counted
    in it) and a plain one (``agn=False``). After each epoch the GN pass (per-sample gradient norms of all
    parameters over the training set, :func:`lcsim.live.proxies.per_sample_grad_sq_norms`, what the trainer runs after
    each step) is timed again on the trained model, and the naive per-sample backward loop on ``naive_samples``
    samples.

    Columns: ``synthetic_proxy_table``'s (config_id, seed, epoch, train_loss, val_loss, train_acc, val_acc, sharpness,
    gn, agn, time_plain, time_agn, time_gn) plus test_loss, agn_end, agn_sum, agn_end_sum, gn_sum, gn_iter,
    gn_iter_sum, iters_per_epoch, time_gn_epoch_end, time_gn_naive. ``gn`` / ``gn_sum``: GN at epoch ends and their
    sum; ``gn_iter_sum``: AGN eq. 4's GN(theta_T), the sum over every iteration so far; ``agn_end_sum``: eq. 5's
    AGN(theta_T), the sum over epoch ends; ``agn_sum``: AGN accumulated during the training passes. Times are seconds
    of one epoch's training pass:

    * ``time_plain``: plain training pass; ``time_agn``: training pass with AGN accumulated from its forward pass;
    * ``time_gn``: plain pass + GN pass x iterations per epoch (eq. 4 sums GN over every iteration; the paper timed
      one iteration's GN and rescaled it to an epoch, as here); ``time_gn_epoch_end``: plain pass + one GN pass
      (GN evaluated once per epoch, ``gn_every="epoch"``); ``time_gn_naive``: plain pass + naive per-sample seconds
      x training samples x iterations (the paper's per-sample backpropagation).

    Diverged epochs are left out. Runs on one torch thread. Cached as parquet under ``ctx.out/live_gn`` (reruns read
    it); the file name carries ``gn-iter3`` so that tables of former layouts (GN at epoch ends only; AGN timed in the
    GN trainer) are not read.
    """
    arch = dict(arch or {})
    tag = "_".join(f"{k}{v}" for k, v in sorted(arch.items()))
    f = ctx.out / "live_gn" / f"{dataset}__{family}__{tag}__{n_configs}x{epochs}__gn-iter3.parquet"
    if f.exists():
        return pd.read_parquet(f)
    ds = live_dataset(dataset, image=family != "mlp")
    with single_threaded():
        df = _live_gn_rows(ds, family, arch, tag, dataset, n_configs, epochs, naive_samples)
    f.parent.mkdir(parents=True, exist_ok=True)
    tmp = f.with_suffix(".tmp")
    df.to_parquet(tmp)
    os.replace(tmp, f)
    return df


def _live_gn_rows(ds, family, arch, tag, dataset, n_configs, epochs, naive_samples) -> pd.DataFrame:
    import math
    import time

    import torch

    from lcsim.live import Trainer
    from lcsim.live.proxies import per_sample_grad_sq_norms, per_sample_grad_sq_norms_loop

    x, y = torch.as_tensor(ds.x_train), torch.as_tensor(ds.y_train)
    k = min(naive_samples, len(y))
    rows = []
    for c, cfg in enumerate(live_configs(n_configs, derive(ROOT_SEED, "live_gn", dataset, family, tag))):
        cfg = {**arch, **cfg}
        seed = derive(ROOT_SEED, "live_gn_run", dataset, family, tag, c)
        full = Trainer(ds, family, cfg, seed, gn=True, gn_every="iteration")
        agn = Trainer(ds, family, cfg, seed)
        plain = Trainer(ds, family, cfg, seed, agn=False)
        iters = math.ceil(len(y) / cfg["batch_size"])
        for e in range(1, epochs + 1):
            plain.train_until(e)
            agn.train_until(e)
            full.train_until(e)
            if full.diverged or agn.diverged or plain.diverged:
                break
            ra, rp = full.records[-1], plain.records[-1]
            full.model.eval()
            t0 = time.perf_counter()
            per_sample_grad_sq_norms(full.model, x, y)
            t_gn = time.perf_counter() - t0
            t0 = time.perf_counter()
            per_sample_grad_sq_norms_loop(full.model, x[:k], y[:k])
            t_naive = (time.perf_counter() - t0) / k
            rows.append({"config_id": c, "seed": 0, "epoch": e, "train_loss": ra["train_loss"],
                         "val_loss": ra["valid_loss"], "train_acc": ra["train_acc"], "val_acc": ra["valid_acc"],
                         "sharpness": ra["sharpness"], "gn": ra["gn"], "agn": ra["agn"],
                         "time_plain": rp["train_seconds"], "time_agn": agn.records[-1]["train_seconds"],
                         "time_gn": rp["train_seconds"] + iters * t_gn, "test_loss": ra["test_loss"],
                         "agn_end": ra["agn_end"], "agn_sum": ra["agn_sum"], "agn_end_sum": ra["agn_end_sum"],
                         "gn_sum": ra["gn_sum"], "gn_iter": ra["gn_iter"], "gn_iter_sum": ra["gn_iter_sum"],
                         "iters_per_epoch": iters, "time_gn_epoch_end": rp["train_seconds"] + t_gn,
                         "time_gn_naive": rp["train_seconds"] + iters * len(y) * t_naive,
                         **{f"hp_{h}": v for h, v in cfg.items()}})
    return pd.DataFrame(rows)


#: live GN tables of AGN Figs. 1-2 per scale: (dataset, family, architecture, configurations, epochs); paper Fig. 1:
#: 9 MLPs and 12 LeNet-5s on MNIST, 40 epochs
GN_TABLES = {
    "small": (("digits", "mlp", {}, 9, 20), ("digits", "cnn_mnist", {"filters": 6, "num_blocks": 2, "units": 84}, 12,
                                                20)),
    "full": (("mnist", "mlp", {}, 9, 40), ("mnist", "cnn_mnist", {"filters": 6, "num_blocks": 2, "units": 84}, 12, 40)),
}


def gn_tables(ctx: Context, needed) -> list[tuple[str, pd.DataFrame]]:
    """Proxy tables with GN and per-variant epoch times: synthetic at ``tiny`` (:func:`load_proxy_tables`), else
    recorded live by :func:`live_gn_table` (:data:`GN_TABLES`; the embedded benchmark records neither)."""
    if ctx.scale.name == "tiny":
        return load_proxy_tables(ctx, needed)
    from lcsim.errors import DataNotFoundError

    out = []
    for ds, fam, arch, n, ep in GN_TABLES[ctx.scale.name]:
        try:
            out.append((f"{ds}_{fam}", live_gn_table(ctx, ds, fam, n_configs=n, epochs=ep, arch=arch)))
        except DataNotFoundError as exc:
            ctx.skip(f"dataset={ds}", f"{type(exc).__name__}: {exc}")
    ctx.notes.append("GN (after every iteration, AGN eq. 4, and at epoch ends) and epoch times recorded live by "
                     "paper_figures._common.live_gn_table (the embedded benchmark records no GN and no per-variant "
                     "times): " + "; ".join(
                         f"{ds} {fam} {arch or ''} {n} random configurations x {ep} epochs"
                         for ds, fam, arch, n, ep in GN_TABLES[ctx.scale.name]))
    return out
