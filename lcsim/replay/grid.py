"""Grids of replay runs: (method x task x seed) cells, one parquet file per cell, restartable, any executor.

Every cell is independent: it loads its task, builds its method with a seed derived from the grid's root seed and
the cell's names (:func:`lcsim.seeding.derive`, so results do not depend on the order or the process that runs the
cell), replays it and writes its table atomically to ``<out>/<cell>.parquet``. A restarted grid skips cells whose
file exists, so a killed grid resumes where it stopped and ends with the same files as an uninterrupted run.

Executors: ``"serial"`` (this process), ``"local"`` (a ``concurrent.futures`` process pool, the default) and
``"dask"`` (``distributed``: a ``LocalCluster`` started here, or an existing scheduler given by address). The results
are identical whichever executor runs them.

Example::

    from lcsim.replay.grid import GridSpec, run_grid
    spec = GridSpec(benchmark="synthetic", tasks=["powerlaw-0"], methods={"asha": ("asha", {"eta": 3})},
                    seeds=[0, 1, 2], budget=("full", 20))
    table = run_grid(spec, "results/", executor="local", n_jobs=2)
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd

from .._files import write_atomic
from ..benchmarks._base import Task
from ..errors import BudgetError, InvalidParameterError, check_choice, check_float, check_int
from ..seeding import derive
from . import store
from .engine import INCUMBENT_RULES, NORMALISERS, Budget, budget_capacity, problem_for, run

__all__ = ["GridSpec", "Cell", "cells_of", "run_cell", "run_grid", "EXECUTORS", "BUDGET_UNITS"]

EXECUTORS = ("serial", "local", "dask")
#: ``("full", n)``: n full-curve equivalents (n * task.n_epochs epochs); ``("epochs", n)``; ``("seconds", s)``
BUDGET_UNITS = ("full", "epochs", "seconds")
MANIFEST = "grid.json"


@dataclass(frozen=True)
class Cell:
    """One replay run of a grid (all fields plain data, so cells pickle to any worker)."""

    benchmark: str
    task: str
    label: str          # the method's name in results (as given on the command line)
    method: str         # registry name in lcsim.optimizers.METHODS
    params: str         # JSON of the method's parameters
    seed: int
    budget_unit: str
    budget: float
    n_workers: int
    charge_overhead: bool
    incumbent: str
    root_seed: int
    normaliser: str = "final"

    @property
    def name(self) -> str:
        safe = re.sub(r"[^A-Za-z0-9._-]+", "_", f"{self.benchmark}__{self.task}__{self.label}__seed{self.seed}")
        fields = asdict(self)
        if fields["normaliser"] == "final":  # cells written before the normaliser was a choice keep their names
            del fields["normaliser"]
        digest = hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:8]
        return f"{safe}__{digest}"

    @property
    def filename(self) -> str:
        return self.name + store.SUFFIX

    def optimizer_seed(self):
        """The method's seed: derived from the root seed, benchmark, task, registry method name and run seed.

        The registry name, not the label: variants of one method (``asha,asha2=asha --param asha2.eta=2``) draw
        the same random numbers in a cell, so a paired comparison of the variants sees only the parameter's effect
        (common random numbers); where the label equals the name this is the seed it always was."""
        return derive(self.root_seed, "optimizer", self.benchmark, self.task, self.method, self.seed)


@dataclass
class GridSpec:
    """What to run.

    Attributes:
        benchmark: benchmark name (:func:`lcsim.benchmarks.list_benchmarks`).
        tasks: task names of the benchmark.
        methods: label -> (registry name, params dict); the label names the method in results.
        seeds: run seeds (the engine's seed chooses the replica; the method's seed is derived per cell).
        budget: ``(unit, amount)`` with unit in :data:`BUDGET_UNITS`.
        n_workers: simulated workers per run.
        charge_overhead: add measured optimizer time to the simulated clock.
        incumbent: ``"any_epoch"`` or ``"max_budget"``.
        root_seed: root of every derived seed.
        options: loader options of the benchmark (``lcsim.benchmarks.load(..., **options)``).
        normaliser: regret reference, ``"final"`` or ``"any_epoch"`` (:meth:`lcsim.benchmarks.Task.oracle_for`).
    """

    benchmark: str
    tasks: list[str]
    methods: dict[str, tuple[str, dict]]
    seeds: list[int]
    budget: tuple[str, float] = ("full", 20)
    n_workers: int = 1
    charge_overhead: bool = False
    incumbent: str = "any_epoch"
    root_seed: int = 0
    options: dict = field(default_factory=dict)
    normaliser: str = "final"

    def validate(self) -> GridSpec:
        unit, amount = self.budget
        check_choice("GridSpec", "budget unit", unit, BUDGET_UNITS)
        check_float("GridSpec", "budget", amount, 0, None, closed="neither")
        check_int("GridSpec", "n_workers", self.n_workers, 1)
        check_choice("GridSpec", "incumbent", self.incumbent, INCUMBENT_RULES)
        check_choice("GridSpec", "normaliser", self.normaliser, NORMALISERS)
        for s in self.seeds:
            check_int("GridSpec", "seed", s, 0)
        if not self.tasks or not self.methods or not self.seeds:
            raise InvalidParameterError("A grid needs at least one task, one method and one seed.")
        return self


def cells_of(spec: GridSpec) -> list[Cell]:
    """The grid's cells, in (task, method, seed) order."""
    spec.validate()
    unit, amount = spec.budget
    return [Cell(spec.benchmark, t, label, name, json.dumps(params, sort_keys=True), int(s), unit, float(amount),
                 int(spec.n_workers), bool(spec.charge_overhead), spec.incumbent, int(spec.root_seed), spec.normaliser)
            for t in spec.tasks for label, (name, params) in spec.methods.items() for s in spec.seeds]


_TASKS: dict[tuple, Task] = {}


def _load_task(benchmark: str, task: str, options: dict | None = None) -> Task:
    key = (benchmark, task, json.dumps(options or {}, sort_keys=True))
    if key not in _TASKS:
        from .. import benchmarks

        _TASKS[key] = benchmarks.load(benchmark, task, **(options or {}))
    return _TASKS[key]


def budget_for(task: Task, unit: str, amount: float) -> Budget:
    """The engine budget of a cell on ``task``; refuses one the task cannot absorb (:func:`budget_capacity`)."""
    budget = Budget.full_evaluations(task, amount) if unit == "full" else Budget(float(amount), unit)
    if budget.unit == "seconds" and task.cost_unit != "seconds":
        raise BudgetError(f"Task {task.key} records no seconds per epoch; give the budget in epochs or full-curve "
                          "equivalents (--budget / --budget-epochs).")
    if budget.unit == "epochs" and budget.amount < 1:
        raise BudgetError(f"A budget of {budget.amount:g} epochs cannot pay for one epoch on task {task.key}; give at "
                          "least 1 epoch.")
    capacity = budget_capacity(task, budget.unit)
    if budget.amount > capacity * (1 + 1e-9):
        full = {"full": task.n_configs, "epochs": capacity}.get(unit)
        what = f"at most {full:g} {'full-curve equivalents' if unit == 'full' else unit}" if full else (
            f"at most {capacity:g} simulated seconds")
        raise BudgetError(f"A budget of {amount:g} {'full-curve equivalents' if unit == 'full' else unit} exceeds what "
                          f"task {task.key} can absorb (each of its {task.n_configs} configurations trained to epoch "
                          f"{task.n_epochs} once); give {what}.")
    return budget


def run_cell(cell: Cell, out_dir: str, options: dict | None = None, columns: tuple | None = None) -> str:
    """Run one cell and write its table to ``out_dir/cell.filename`` atomically; return the path.

    ``columns``: keep only these columns of the table (a compact store, e.g. results committed with a figure); the
    values are the same, the others are left out."""
    from ..optimizers import make_optimizer
    from ..threads import single_threaded

    task = _load_task(cell.benchmark, cell.task, options)
    budget = budget_for(task, cell.budget_unit, cell.budget)
    with single_threaded():  # identical numbers for every executor; no oversubscription in worker pools
        opt = make_optimizer(cell.method, problem_for(task, cell.n_workers), cell.optimizer_seed(),
                             json.loads(cell.params))
        res = run(task, opt, budget, n_workers=cell.n_workers, seed=cell.seed, method=cell.label,
                  charge_overhead=cell.charge_overhead, incumbent=cell.incumbent, normaliser=cell.normaliser)
    t = res.table
    t["budget_unit"] = budget.unit
    t["budget"] = float(budget.amount)
    t["n_epochs"] = int(task.n_epochs)
    t["n_workers"] = int(cell.n_workers)
    if columns is not None:
        t = t[[c for c in t.columns if c in set(columns)]]
    path = Path(out_dir) / cell.filename
    store.write_table(path, t)
    return str(path)


def _manifest(spec: GridSpec) -> dict:
    d = asdict(spec)
    d["methods"] = {k: [v[0], v[1]] for k, v in spec.methods.items()}
    d["budget"] = list(spec.budget)
    if d["normaliser"] == "final":  # as in Cell.name: grids made before the choice existed still resume
        del d["normaliser"]
    return d


def run_grid(spec: GridSpec, out_dir: str | os.PathLike, *, executor: str = "local", n_jobs: int | None = None,
             scheduler: str | None = None, resume: bool = True, progress: bool = True,
             dask_processes: bool = True, exclusive: bool = True, columns: tuple | None = None) -> pd.DataFrame:
    """Run every missing cell of ``spec`` into ``out_dir`` and return the table of the spec's cells.

    Args:
        spec: the grid.
        out_dir: results directory (created); holds one parquet file per cell and, with ``exclusive``, ``grid.json``.
        executor: ``"serial"``, ``"local"`` (process pool, default) or ``"dask"``.
        n_jobs: processes (local) or workers (LocalCluster); default: the number of CPUs.
        scheduler: address of a running Dask scheduler (``executor="dask"``); default: start a LocalCluster.
        resume: skip cells whose file exists. With ``False`` an out_dir holding cells raises.
        progress: show a tqdm progress bar.
        dask_processes: LocalCluster with worker processes (``False``: threads in this process).
        exclusive: the directory belongs to this one grid (the CLI): ``grid.json`` records the spec and a directory
            holding another grid's results is refused. ``False`` (a shared cell cache, as the paper figures keep
            one): cells of several grids live side by side; each cell's file name carries a digest of everything
            that defines it, so a grid reads exactly its own cells.
        columns: write only these columns of each cell's table (:func:`run_cell`).

    Cells run in (task, method, seed) order, except that cells of methods marked slow run after the others, seed by
    seed across the tasks, so a grid stopped part-way has every quick method and whole seeds of the slow ones; the
    order changes no result.

    Returns:
        the spec's cells as one table, in (task, method, seed) order.
    """
    check_choice("run_grid", "executor", executor, EXECUTORS)
    if n_jobs is not None:
        check_int("run_grid", "n_jobs", n_jobs, 1)
    if scheduler is not None and executor != "dask":
        raise InvalidParameterError("A scheduler address needs executor='dask'.")
    cells = cells_of(spec)
    out = Path(out_dir)
    _make_dir(out)
    existing = {p.name for p in store.cell_files(out)}
    if exclusive:
        man_path = out / MANIFEST
        manifest = json.loads(json.dumps(_manifest(spec), sort_keys=True))
        if man_path.exists():
            old = json.loads(man_path.read_text())
            if old != manifest:
                raise InvalidParameterError(f"{out} holds results of a different grid ({man_path}); choose another "
                                            "output directory or delete it.")
        if existing and not resume:
            raise InvalidParameterError(f"{out} already holds {len(existing)} result files; pass resume=True "
                                        "(--resume) to continue that grid or choose another output directory.")
        write_atomic(man_path, json.dumps(manifest, indent=1, sort_keys=True).encode())
    for tmp in out.glob(".*.tmp"):  # leftovers of a write interrupted by a kill
        tmp.unlink(missing_ok=True)
    todo = [c for c in cells if c.filename not in existing or not resume]
    todo.sort(key=_run_order)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(cells), initial=len(cells) - len(todo), desc="replay grid", unit="cell")
    try:
        if executor == "serial" or not todo:
            for c in todo:
                run_cell(c, str(out), spec.options, columns)
                if bar is not None:
                    bar.update(1)
        elif executor == "local":
            import multiprocessing as mp

            n = n_jobs or os.cpu_count() or 1
            with ProcessPoolExecutor(max_workers=min(n, len(todo)), mp_context=mp.get_context("spawn")) as pool:
                futs = {pool.submit(run_cell, c, str(out), spec.options, columns): c for c in todo}
                for f in as_completed(futs):
                    f.result()
                    if bar is not None:
                        bar.update(1)
        else:
            _run_dask(todo, out, spec.options, columns, n_jobs, scheduler, bar, dask_processes)
    finally:
        if bar is not None:
            bar.close()
    return pd.concat([store.read_table(out / c.filename) for c in cells], ignore_index=True)


def _make_dir(out: Path) -> None:
    """Create the results directory, or raise one error naming the cause (a file in the way, no permission)."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise InvalidParameterError(f"Cannot create the results directory {out}: a file of that name (or above it) "
                                    "is in the way; choose another --out.") from None
    except NotADirectoryError:
        raise InvalidParameterError(f"Cannot create the results directory {out}: a part of its path is a file; "
                                    "choose another --out.") from None
    except PermissionError:
        raise InvalidParameterError(f"Cannot create the results directory {out}: permission denied; choose a "
                                    "writable --out.") from None
    if not out.is_dir():
        raise InvalidParameterError(f"{out} is not a directory; choose another --out.")
    if not os.access(out, os.W_OK | os.X_OK):
        raise InvalidParameterError(f"The results directory {out} is not writable; choose a writable --out.")


#: seconds to wait for a Dask scheduler given by address before the grid gives up with an error naming the fix
CONNECT_TIMEOUT = 10.0


def _run_order(cell: Cell) -> tuple:
    """Sort key of the cells to run (a stable sort keeps the (task, method, seed) order within a key): quick methods
    first, then slow ones seed by seed."""
    from ..optimizers import method_class

    slow = bool(getattr(method_class(cell.method), "slow", False))
    return (slow, cell.seed if slow else 0)


def _run_dask(todo, out, options, columns, n_jobs, scheduler, bar, processes) -> None:
    from distributed import Client, LocalCluster
    from distributed import as_completed as dask_completed

    cluster = None
    if scheduler:
        try:
            client = Client(scheduler, timeout=CONNECT_TIMEOUT)
        except (OSError, TimeoutError) as exc:
            raise InvalidParameterError(
                f"Cannot reach the Dask scheduler at {scheduler} within {CONNECT_TIMEOUT:g} s ({type(exc).__name__}); "
                "start one there (`dask scheduler`), fix --scheduler, or leave it out to run a LocalCluster.") from None
    else:
        cluster = LocalCluster(n_workers=n_jobs or os.cpu_count() or 1, threads_per_worker=1, processes=processes,
                               dashboard_address=None)
        client = Client(cluster)
    try:
        futs = client.map(run_cell, todo, out_dir=str(out), options=options, columns=columns, pure=False)
        for f in dask_completed(futs):
            f.result()
            if bar is not None:
                bar.update(1)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
