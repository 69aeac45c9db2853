"""The replay engine: an ask/tell loop on a simulated clock over recorded learning curves.

A method pays only for the epochs it runs. Several simulated workers run asynchronously; a worker that starts a job at
simulated time ``t`` is busy until ``t`` plus the recorded cost of the newly paid epochs. Finished jobs are told to
the method in simulated-time order (event heap keyed by ``(time, counter)``, so ties resolve in submission order and
runs are deterministic). Pausing and resuming a trial (freeze-thaw) costs only the new epochs.

The engine never reveals an epoch nobody paid for: every read goes through :class:`_PaidLedger`, which raises
:class:`~lcsim.errors.LookAheadError` on a read beyond what was paid, and what it hands a method is copied out of the
task (arrays of their own, not views), so nothing unpaid is reachable from an observation and writing into one leaves
the task unchanged. A method that breaks the ask/tell protocol raises :class:`~lcsim.errors.ProtocolError`.

Wall-clock overhead of every ``ask``/``tell`` is measured with ``time.perf_counter`` and stored in the results; it is
added to the simulated clock only when ``charge_overhead=True`` (DPL Fig. 5), never otherwise.
"""
from __future__ import annotations

import functools
import heapq
import json
import math
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..benchmarks._base import NORMALISERS, Task
from ..errors import (
    BudgetError,
    InvalidParameterError,
    LookAheadError,
    ProtocolError,
    check_choice,
    check_float,
    check_int,
)
from ..optimizers._base import Job, Observation, Optimizer, Problem
from ..seeding import derive, make_rng

__all__ = ["Budget", "ReplayResult", "problem_for", "run", "budget_capacity", "INCUMBENT_RULES", "NORMALISERS"]

INCUMBENT_RULES = ("any_epoch", "max_budget")


@dataclass(frozen=True)
class Budget:
    """Total budget of a run: ``amount`` epochs (summed over trials) or simulated seconds."""

    amount: float
    unit: str = "epochs"

    def __post_init__(self):
        check_choice("Budget", "unit", self.unit, ("epochs", "seconds"))
        check_float("Budget", "amount", self.amount, 0, None, closed="neither")

    @classmethod
    def full_evaluations(cls, task: Task, n: float) -> Budget:
        """``n`` full-curve equivalents in epochs (DPL: 20 full evaluations on PD1)."""
        return cls(float(n) * task.n_epochs, "epochs")


@dataclass
class ReplayResult:
    """A finished run: the tidy table plus what produced it.

    Attributes:
        table: one row per paid (trial, epoch) in simulated-time order (see :func:`run`).
        task, method, seed, budget: what was run.
        overhead_s: total measured wall time of every ``ask``/``tell`` call (including asks that returned ``None``,
            which the per-row ``overhead_s`` column cannot attribute to a job).
        n_asks, n_tells: number of ``ask`` calls and of observations told.
        sim_time: simulated time at which the run ended.
    """

    table: pd.DataFrame
    task: Task
    method: str
    seed: int
    budget: Budget
    overhead_s: float = 0.0
    n_asks: int = 0
    n_tells: int = 0
    sim_time: float = 0.0


class _PaidLedger:
    """Per-trial record of paid epochs; the only path from the curve source to the method.

    ``paid[t]`` is the number of epochs of trial ``t`` whose training has *completed* on the simulated clock.
    Every read goes through :meth:`reveal` (one run of epochs) or :meth:`reveal_points` (vectorized), which raise
    :class:`~lcsim.errors.LookAheadError` on any epoch beyond ``paid``.
    """

    def __init__(self, task: Task, replica: int):
        self.task = task
        self.replica = int(replica)
        self.paid: dict[int, int] = {}
        self.config_of: dict[int, int] = {}

    def reveal(self, trial_id: int, first: int, last: int) -> dict:
        """Values of epochs ``first..last`` of ``trial_id`` (see :meth:`Task.lookup`), as arrays of their own: the
        observation a method receives shares no memory with the task, so it can neither read past the paid epochs
        through ``.base`` nor write into the task."""
        if last > self.paid.get(trial_id, 0):
            raise LookAheadError(f"Trial {trial_id}: read of epoch {last} but only {self.paid.get(trial_id, 0)} paid.")
        return self.task.lookup(self.config_of[trial_id], self.replica, first, last, copy=True)

    def reveal_points(self, trial_ids: np.ndarray, epochs: np.ndarray) -> np.ndarray:
        """Served objective at (trial, epoch) pairs, shape (n,); vectorized, with the same paid-epoch check."""
        cfg, epochs = self._checked(trial_ids, epochs)
        served = self.task.served_objective()
        n_seed, n_epoch = served.shape[1], served.shape[2]
        return np.take(served.reshape(-1), (cfg * n_seed + self.replica) * n_epoch + (epochs - 1))

    def reveal_rows(self, trial_ids: np.ndarray, epochs: np.ndarray) -> tuple[np.ndarray, ...]:
        """(config rows, served objective, metrics (n, n_metric), diverged) at (trial, epoch) pairs; vectorized and
        checked.

        ``diverged`` is sticky: true from a run's first non-finite epoch on (:meth:`Task.first_nonfinite_epoch`).
        """
        cfg, epochs = self._checked(trial_ids, epochs)
        return (cfg, *self.task.lookup_points(cfg, self.replica, epochs))

    def _checked(self, trial_ids, epochs) -> tuple[np.ndarray, np.ndarray]:
        """Config rows of ``trial_ids``; raises :class:`LookAheadError` if any (trial, epoch) was not paid."""
        trial_ids = np.asarray(trial_ids, dtype=np.int64)
        epochs = np.asarray(epochs, dtype=np.int64)
        size = max(self.config_of, default=-1) + 1
        cfg_of = np.full(size + 1, -1, dtype=np.int64)  # last slot: unknown trials
        if size:
            n = len(self.config_of)
            cfg_of[np.fromiter(self.config_of.keys(), dtype=np.int64, count=n)] = np.fromiter(
                self.config_of.values(), dtype=np.int64, count=n)
        paid_of = np.zeros(size + 1, dtype=np.int64)
        if self.paid:
            paid_of[np.fromiter(self.paid.keys(), dtype=np.int64, count=len(self.paid))] = np.fromiter(
                self.paid.values(), dtype=np.int64, count=len(self.paid))
        idx = np.where((trial_ids >= 0) & (trial_ids < size), trial_ids, size)
        cfg = cfg_of[idx]
        bad = (cfg < 0) | (epochs < 1) | (epochs > paid_of[idx])
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise LookAheadError(f"Trial {int(trial_ids[i])}: read of epoch {int(epochs[i])} beyond what was paid.")
        return cfg, epochs


def problem_for(task: Task, n_workers: int = 1, min_epoch: int = 1) -> Problem:
    """The :class:`Problem` a method sees for ``task``: space, fidelities, direction, candidate pool.

    Tabular tasks expose their configuration frame as ``candidates``. A method that proposes continuous
    configurations (``Job.config``) is served the nearest candidate row (:meth:`Problem.nearest_candidate`:
    Euclidean distance in the unit-hypercube encoding of :func:`~lcsim.optimizers.encode_configs`, log scales
    where the space declares them, ties to the lowest row, rows already used by other trials excluded while unused
    rows remain); the observation's ``config_id`` says which row was served.

    On a surrogate task (:class:`~lcsim.benchmarks.surrogate.SurrogateTask`) ``candidates`` is ``None``: methods
    propose configurations and the surrogate evaluates each one directly.
    """
    surrogate = bool(getattr(task, "accepts_configs", False))
    return Problem(space=task.space, min_epoch=min_epoch, max_epoch=task.n_epochs, minimize=task.minimize,
                   candidates=None if surrogate else task.configs, n_workers=n_workers, objective=task.objective,
                   objective_bounds=tuple(float(v) for v in task.metrics[task.objective].bounds),
                   metric_names=tuple(task.metrics))


@dataclass(slots=True)
class _Running:
    """A job on a worker: epochs ``done+1..target`` finish at ``ends`` (absolute simulated times). Once the job
    completes (or is stopped at a time limit, ``target`` then cut to what completed) it is the table's rows of those
    epochs."""

    job: Job
    worker: int
    cid: int
    done: int
    target: int
    ends: np.ndarray      # simulated finish time of each newly paid epoch, shape (target - done,)
    cost: np.ndarray      # cost of each newly paid epoch, shape (target - done,)
    total: float          # cost of the newly paid epochs (their sum, in epoch order)
    overhead_s: float     # measured ask (+ tell) wall time of the job, recorded on its first row


_EMPTY = np.zeros(0)   # ends and cost of a job that pays no new epoch
_EMPTY.setflags(write=False)


class _Replay:
    """The state of one run of :func:`run` and its steps: fill the free workers, then complete the earliest job.
    ``now`` is the simulated clock, ``used`` the epochs committed against an epoch budget, ``heap`` the running jobs
    keyed ``(finish, counter)``, ``chunks`` the finished jobs whose rows the table will hold. Every read of the
    curves goes through ``ledger``.
    """

    def __init__(self, task: Task, optimizer: Optimizer, unit: str, limit: float, n_workers: int, replica: int,
                 method: str, charge_overhead: bool, max_jobs: int):
        self.task = task
        self.optimizer = optimizer
        self.problem = optimizer.problem
        self.ledger = _PaidLedger(task, replica)
        self.replica = replica
        self.method = method
        self.charge_overhead = charge_overhead
        self.max_jobs = max_jobs
        self.surrogate = bool(getattr(task, "accepts_configs", False))
        self.by_epochs = unit == "epochs"
        self.limit = float(limit)
        self.max_epoch = task.n_epochs
        self.epoch_numbers = np.arange(1, self.max_epoch + 1)  # Observation.epochs are read-only views of this
        self.epoch_numbers.setflags(write=False)
        self.chunks: list[_Running] = []
        self.heap: list[tuple] = []
        self.counter = 0
        self.now = 0.0
        self.used = 0.0
        self.free = list(range(n_workers))[::-1]
        self.n_jobs = self.n_asks = self.n_tells = 0
        self.overhead = 0.0
        self.exhausted = False
        self.used_cfgs: set[int] = set()
        self.running_trials: set[int] = set()

    # ---------------------------------------------------------------- asking
    def fill_workers(self) -> None:
        """Ask for jobs while a worker is free and budget remains; stops at the first ``None``."""
        optimizer, clock = self.optimizer, time.perf_counter
        while self.free and not self.exhausted:
            t0 = clock()
            job = optimizer.ask()
            ask_s = clock() - t0
            self.n_asks += 1
            self.overhead += ask_s
            if self.charge_overhead:
                self.now += ask_s
            if job is None:
                return
            self.n_jobs += 1
            if (self.n_jobs > self.max_jobs or type(job) is not Job or not 1 <= job.epoch <= self.max_epoch
                    or job.trial_id in self.running_trials):
                self._refuse(job)
            self._start(job, ask_s)

    def _refuse(self, job) -> None:
        """Raise the :class:`~lcsim.errors.ProtocolError` that names the rule ``job`` breaks (if it breaks one)."""
        if self.n_jobs > self.max_jobs:
            raise ProtocolError(f"{self.method} exceeded max_jobs={self.max_jobs}; it does not seem to terminate.")
        if not isinstance(job, Job):
            raise ProtocolError(f"{self.method}.ask() must return an lcsim Job or None; got {job!r}.")
        if not 1 <= job.epoch <= self.max_epoch:
            raise ProtocolError(f"{self.method} asked epoch {job.epoch}; valid epochs for {self.task.key} are "
                                f"1..{self.max_epoch}.")
        if job.trial_id in self.running_trials:
            raise ProtocolError(f"{self.method} asked trial {job.trial_id} while a job of it is still running.")

    def _resolve(self, job: Job) -> int:
        """The pool row that ``job`` runs: its trial's row, the row it names, or the row served for its config."""
        ledger = self.ledger
        if job.trial_id in ledger.config_of:
            cid = ledger.config_of[job.trial_id]
            if job.config_id is not None and int(job.config_id) != cid:
                raise ProtocolError(f"{self.method} resumed trial {job.trial_id} with config_id {job.config_id}, "
                                    f"but the trial runs config_id {cid}; a new configuration needs a new trial id.")
            return cid
        if job.config_id is not None:
            cid = int(job.config_id)
            if not 0 <= cid < self.task.n_configs:
                raise ProtocolError(f"{self.method} asked config_id {cid}; valid rows are 0.."
                                    f"{self.task.n_configs - 1}.")
            return cid
        if job.config is None:
            raise ProtocolError(f"{self.method} returned a job with neither config_id nor config: {job}.")
        if self.surrogate:
            return self.task.add_config(job.config)  # evaluated directly by the surrogate: a new pool row
        return self.problem.nearest_candidate(job.config, exclude=self.used_cfgs)

    def _start(self, job: Job, ask_s: float) -> None:
        """Put ``job`` on a free worker, charging the epochs it newly pays for; ends the run (``exhausted``) when the
        budget cannot hold another epoch. An epoch-budget job that does not fit is cut to the epochs that do."""
        tid = job.trial_id
        ledger = self.ledger
        cid = ledger.config_of.get(tid)
        if cid is None or job.config_id is not None:  # a known trial that names no row skips the checks
            cid = self._resolve(job)
        done = ledger.paid.get(tid, 0)
        target = int(job.epoch)
        now = self.now
        if target > done:
            if self.by_epochs:
                used, limit = self.used, self.limit
                if used + (target - done) > limit + 1e-9:  # the job does not fit: cut it (or stop)
                    room = math.floor(limit - used + 1e-9)
                    if room <= 0:
                        self.exhausted = True
                        self.optimizer.abandon(job)
                        return
                    target = done + room
                self.used = used = used + (target - done)
                if used >= limit - 1e-9:
                    self.exhausted = True
            elif now >= self.limit:
                self.exhausted = True
                self.optimizer.abandon(job)
                return
            cost = self.task.epoch_cost[cid, self.replica, done:target]
            if target - done == 1:
                total = float(cost[0])
                ends = cost + now  # the common one-epoch job: skip the cumulative sum
                finish = total + now
            else:
                ends = cost.cumsum()
                total = float(ends[-1])
                ends += now
                finish = float(ends[-1])
        else:
            cost = ends = _EMPTY
            total = 0.0
            finish = now
        ledger.config_of[tid] = cid
        self.used_cfgs.add(cid)
        self.running_trials.add(tid)
        self.counter += 1
        heapq.heappush(self.heap, (finish, self.counter,
                                   _Running(job, self.free.pop(), cid, done, target, ends, cost, total, ask_s)))

    # ---------------------------------------------------------------- completing
    def complete_next(self) -> bool:
        """Complete the earliest running job (clock, ledger, tell); ``False`` when nothing runs or time is up."""
        if not self.heap:
            return False
        finish, _, r = heapq.heappop(self.heap)
        if not self.by_epochs and finish > self.limit:
            self._stop_all(r)
            return False
        self.now = max(self.now, finish)
        job = r.job
        self.running_trials.discard(job.trial_id)
        self.ledger.paid[job.trial_id] = max(r.done, r.target)
        self.free.append(r.worker)
        if r.target < job.epoch:
            # a job cut by the epoch budget is recorded but not told: the run ends with it
            self.optimizer.abandon(job)
        else:
            r.overhead_s += self._tell(r)
        if r.target > r.done:
            self.chunks.append(r)
        return True

    def _tell(self, r: _Running) -> float:
        """Tell the method what ``r`` paid for (copies: nothing of the task is reachable from the observation);
        returns the measured tell time."""
        job = r.job
        first = r.done + 1 if r.target > r.done else job.epoch
        got = self.ledger.reveal(job.trial_id, first, job.epoch)
        # positional arguments: cheaper than keywords, and this runs once per job
        obs = Observation(job.trial_id, r.cid, self.epoch_numbers[first - 1:job.epoch], got["objective"],
                          got["diverged"], r.total, got["metrics"])
        t0 = time.perf_counter()
        self.optimizer.tell(job, obs)
        tell_s = time.perf_counter() - t0
        self.n_tells += 1
        self.overhead += tell_s
        if self.charge_overhead:
            self.now += tell_s
        return tell_s

    def _stop_all(self, first: _Running) -> None:
        """Time is up: stop every running job at the limit, record the epochs completed by then, tell nothing."""
        self.now = max(self.now, self.limit)
        stopped = [first] + [e[2] for e in sorted(self.heap)]
        self.heap = []
        for s in stopped:
            keep = int(np.searchsorted(s.ends, self.limit, side="right"))
            self.ledger.paid[s.job.trial_id] = s.done + keep
            if keep:
                s.target, s.ends, s.cost = s.done + keep, s.ends[:keep], s.cost[:keep]
                self.chunks.append(s)
            self.optimizer.abandon(s.job)


def budget_capacity(task: Task, unit: str, replica: int = 0) -> float:
    """The most a run on ``task`` can spend: every configuration of the pool trained to the maximum budget once, in
    epochs (``unit="epochs"``) or in the recorded seconds of replica ``replica``. A larger budget could only be spent
    on re-training configurations already trained in full: :func:`run` stops there, the grid runner refuses it."""
    if unit == "epochs":
        return float(task.n_configs * task.n_epochs)
    return float(task.epoch_cost[:, replica, :].sum())


def run(task: Task, optimizer: Optimizer, budget: Budget, *, n_workers: int = 1, seed: int = 0,
        method: str | None = None, charge_overhead: bool = False, incumbent: str = "any_epoch",
        normaliser: str = "final", cap_budget: bool = True, max_jobs: int = 10_000_000) -> ReplayResult:
    """Replay ``optimizer`` on ``task`` until ``budget`` is spent or the method stops.

    The loop: while a worker is free (and budget remains), ``ask``; a job for trial ``t`` up to epoch ``e`` occupies
    one worker from the current simulated time ``now`` for the recorded cost of epochs ``paid[t]+1..e``
    (``task.epoch_cost``, seconds or units); asking ``e <= paid[t]`` is free and returns at once. When no worker is
    free (or the method has nothing to start), the earliest finishing job (heap key ``(finish, counter)``) is
    completed: the clock moves to its finish time, its epochs become paid, and the method is told. The method stops
    the run by returning ``None`` with nothing running. A job the budget ends before it is told is handed back with
    :meth:`Optimizer.abandon`.

    Args:
        task: the curves to serve.
        optimizer: an ask/tell method built for ``problem_for(task, n_workers)``.
        budget: total epochs (the job that reaches the limit is cut to fit, so the budget is never exceeded; a cut
            job's epochs are recorded but not told, and the run ends) or simulated seconds (at the limit every
            running job is stopped: epochs completed by then are recorded, nothing more is told). At least one
            epoch; with ``cap_budget`` it is spent only up to :func:`budget_capacity` (every configuration trained
            in full once).
        n_workers: simulated parallel workers.
        seed: run seed; chooses the replica (seed index) of multi-seed tasks, one per run, from
            ``derive(seed, "replica", task.key)`` so every method run with one seed sees the same replica.
        method: name recorded in the table (default ``optimizer.name``).
        charge_overhead: add measured ask/tell wall time to the simulated clock (the method thinks while the
            workers keep running). With ``False`` wall time never reaches the simulated clock.
        incumbent: which incumbent the ``regret`` column uses: ``"any_epoch"`` (best value observed at any epoch, as
            the DPL authors' code logs; default) or ``"max_budget"`` (best among configurations evaluated at the
            maximum budget, DPL eq. 9 read literally). Both columns are always present.
        normaliser: the regret reference (:meth:`Task.oracle_for`): ``"final"`` (best/worst final value of the
            pool; default) or ``"any_epoch"`` (best/worst value at any epoch, DPL's own protocol).
        cap_budget: end the run at :func:`budget_capacity` even if ``budget`` is larger (default): past it only
            re-training configurations already trained in full could spend the budget, and a method that re-samples
            them would never stop. ``False`` lets a run go past it (tests of how a method ends once the pool is spent).
        max_jobs: safety bound on the number of jobs (a method that never stops raises).

    Raises:
        ProtocolError: the method broke the ask/tell protocol (see :class:`~lcsim.errors.ProtocolError`).
        BudgetError: the budget is below one epoch, or in seconds on a task without recorded seconds.

    Returns:
        ReplayResult whose ``table`` has one row per revealed (trial, epoch), in simulated-time order, with columns
        benchmark, task, version, method, method_params, seed, replica, trial_id, config_id, epoch, objective,
        diverged, sim_time, cost, worker, overhead_s, one column per task metric (``m_<name>``), budget_used
        (epochs paid so far), cost_used, incumbent_any, incumbent_max, incumbent_rule, normaliser, regret,
        normalized_regret. ``overhead_s`` is measured wall time (see :data:`lcsim.replay.store.MEASURED_COLUMNS`);
        with ``charge_overhead=True`` the simulated times and everything after them are measured too.
    """
    n_workers = check_int("run", "n_workers", n_workers, 1)
    check_choice("run", "incumbent", incumbent, INCUMBENT_RULES)
    check_choice("run", "normaliser", normaliser, NORMALISERS)
    max_jobs = check_int("run", "max_jobs", max_jobs, 1)
    if not isinstance(budget, Budget):
        raise InvalidParameterError(f"budget must be an lcsim.replay.Budget; got {budget!r}.")
    if not isinstance(optimizer, Optimizer):
        raise InvalidParameterError(f"optimizer must be an lcsim.optimizers.Optimizer; got {type(optimizer)!r}.")
    if budget.unit == "seconds" and task.cost_unit != "seconds":
        raise BudgetError(f"Task {task.key} records no seconds per epoch (cost unit {task.cost_unit!r}); "
                          "give the budget in epochs.")
    if budget.unit == "epochs" and budget.amount < 1:
        raise BudgetError(f"A budget of {budget.amount:g} epochs cannot pay for one epoch; give at least 1 epoch.")
    replica = int(make_rng(derive(seed, "replica", task.key)).integers(task.n_seeds))
    limit = min(budget.amount, budget_capacity(task, budget.unit, replica)) if cap_budget else budget.amount
    if getattr(task, "accepts_configs", False):
        task = task.fresh()  # every run grows its own copy of the pool: runs stay independent and deterministic
    state = _Replay(task, optimizer, budget.unit, limit, n_workers, replica, method or optimizer.name, charge_overhead,
                    max_jobs)
    while True:
        state.fill_workers()
        if not state.complete_next():
            break
    table = _table(task, state.ledger, state.chunks, state.method, optimizer, seed, replica, incumbent, normaliser)
    return ReplayResult(table, task, state.method, seed, budget, overhead_s=state.overhead, n_asks=state.n_asks,
                        n_tells=state.n_tells, sim_time=state.now)


_ROW_COLS = ["trial_id", "config_id", "epoch", "objective", "diverged", "_metrics", "sim_time", "cost", "worker",
             "overhead_s"]


def _table(task: Task, ledger: _PaidLedger, chunks: list[_Running], method, optimizer, seed, replica,
           incumbent_rule, normaliser) -> pd.DataFrame:
    n_met = len(task.metrics)
    ks = np.array([c.target - c.done for c in chunks], dtype=np.int64)
    n = int(ks.sum())
    starts = np.cumsum(ks) - ks
    firsts = np.array([c.done + 1 for c in chunks], dtype=np.int64)
    overhead = np.zeros(n)
    if n:
        overhead[starts] = [c.overhead_s for c in chunks]

    def cat(attr):
        return np.concatenate([getattr(c, attr) for c in chunks]) if chunks else np.zeros(0)

    trial = np.repeat(np.array([c.job.trial_id for c in chunks], dtype=np.int64), ks)
    epoch = np.arange(n, dtype=np.int64) + np.repeat(firsts - starts, ks)
    if n:
        config, objective, metrics, diverged = ledger.reveal_rows(trial, epoch)
    else:
        config, objective = np.zeros(0, np.int64), np.zeros(0)
        metrics, diverged = np.zeros((0, n_met)), np.zeros(0, bool)
    cols = [trial, config, epoch,
            np.asarray(objective, float), diverged, np.asarray(metrics, float), cat("ends"), cat("cost"),
            np.repeat(np.array([c.worker for c in chunks], dtype=np.int64), ks), overhead]
    # simulated-time order; ties keep the order in which jobs completed (stable sort)
    order = np.argsort(cols[6], kind="stable")
    cols = [c[order] for c in cols]
    n = len(cols[0])

    def text(value: str):
        # a constant text column: a one-element string array repeated by index (cheaper than broadcasting a
        # scalar through pd.Series or converting n Python strings)
        return _one_string(value).take(np.zeros(n, dtype=np.intp))

    data = {"benchmark": text(task.benchmark), "task": text(task.name), "version": text(task.version),
            "method": text(method), "method_params": text(json.dumps(optimizer.params(), sort_keys=True, default=str)),
            "seed": np.full(n, int(seed), dtype=np.int64), "replica": np.full(n, int(replica), dtype=np.int64)}
    data.update({name: col for name, col in zip(_ROW_COLS, cols) if name != "_metrics"})
    data["diverged"] = data["diverged"].astype(bool)
    for j, name in enumerate(task.metrics):
        data[f"m_{name}"] = cols[5][:, j]
    data["budget_used"] = np.arange(1, n + 1, dtype=float)  # epochs paid by the time of each row
    data["cost_used"] = np.cumsum(data["cost"].astype(float))
    inc = _incumbents(data["objective"], data["epoch"], task, incumbent_rule, normaliser)
    inc["incumbent_rule"] = text(incumbent_rule)  # keeps its place, before the regret columns
    inc["normaliser"] = text(normaliser)
    inc["regret"] = inc.pop("regret")
    inc["normalized_regret"] = inc.pop("normalized_regret")
    data.update(inc)
    return pd.DataFrame(data)


@functools.lru_cache(maxsize=256)
def _one_string(value: str):
    """A one-element pandas string array, cached: building one costs more than filling a run's column from it, and
    the same few values recur in every run."""
    return pd.array([value], dtype="str")


def _incumbents(objective: np.ndarray, epoch: np.ndarray, task: Task, rule: str, normaliser: str = "final") -> dict:
    sign = 1.0 if task.minimize else -1.0
    obj = np.asarray(objective, dtype=float) * sign
    inc_any = np.minimum.accumulate(obj) * sign if len(obj) else obj
    at_max = np.where(np.asarray(epoch) == task.n_epochs, obj, np.inf)
    inc_max = np.minimum.accumulate(at_max) * sign if len(obj) else at_max
    inc_max = np.where(np.isfinite(inc_max), inc_max, np.nan)
    oracle = task.oracle_for(normaliser)
    inc = inc_any if rule == "any_epoch" else np.where(np.isnan(inc_max), oracle.worst, inc_max)
    return {"incumbent_any": inc_any, "incumbent_max": inc_max, "regret": oracle.regret(inc),
            "normalized_regret": oracle.normalized_regret(inc)}


def add_incumbents(df: pd.DataFrame, task: Task, rule: str = "any_epoch", normaliser: str = "final") -> pd.DataFrame:
    """Add incumbent and regret columns to a results table in simulated-time order (in place).

    ``incumbent_any``: best objective observed at any epoch so far. ``incumbent_max``: best objective among rows at
    the task's maximum epoch so far (NaN until one exists). ``regret``/``normalized_regret`` use ``rule`` and the
    reference ``normaliser`` (:meth:`Task.oracle_for`); with ``max_budget`` and no full evaluation yet, the regret is
    that of the reference's worst value (normalized 1).
    """
    for k, v in _incumbents(df["objective"].to_numpy(dtype=float), df["epoch"].to_numpy(), task, rule,
                            normaliser).items():
        df[k] = v
    df["incumbent_rule"] = rule
    df["normaliser"] = normaliser
    return df
