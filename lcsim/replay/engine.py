"""The replay engine: an ask/tell loop on a simulated clock over recorded learning curves.

A method pays only for the epochs it runs. Several simulated workers run asynchronously; a worker that starts a job at
simulated time ``t`` is busy until ``t`` plus the recorded cost of the newly paid epochs. Finished jobs are told to
the method in simulated-time order (event heap keyed by ``(time, counter)``, so ties resolve in submission order and
runs are deterministic). Pausing and resuming a trial (freeze-thaw) costs only the new epochs.

The engine never reveals an epoch nobody paid for: observations are cut from the curve source with the paid range
only, and every read goes through :class:`_PaidLedger`, which raises :class:`~lcsim.errors.LookAheadError` on a read
beyond what was paid (the property tests exercise this).

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

from ..benchmarks._base import Task
from ..errors import BudgetError, InvalidParameterError, LookAheadError, check_choice, check_float, check_int
from ..optimizers._base import Job, Observation, Optimizer, Problem
from ..seeding import derive, make_rng

__all__ = ["Budget", "ReplayResult", "problem_for", "run", "INCUMBENT_RULES"]

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
        """Values of epochs ``first..last`` of ``trial_id`` (see :meth:`Task.lookup`)."""
        if last > self.paid.get(trial_id, 0):
            raise LookAheadError(f"Trial {trial_id}: read of epoch {last} but only {self.paid.get(trial_id, 0)} paid.")
        return self.task.lookup(self.config_of[trial_id], self.replica, first, last)

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
    """A job on a worker: epochs ``done+1..target`` finish at ``ends`` (absolute simulated times)."""

    job: Job
    worker: int
    cid: int
    done: int
    target: int
    ends: np.ndarray
    cost: np.ndarray
    total: float     # cost of the newly paid epochs (their sum, in epoch order)
    ask_s: float


def run(task: Task, optimizer: Optimizer, budget: Budget, *, n_workers: int = 1, seed: int = 0,
        method: str | None = None, charge_overhead: bool = False, incumbent: str = "any_epoch",
        max_jobs: int = 10_000_000) -> ReplayResult:
    """Replay ``optimizer`` on ``task`` until ``budget`` is spent or the method stops.

    The loop: while a worker is free (and budget remains), ``ask``; a job for trial ``t`` up to epoch ``e`` occupies
    one worker from the current simulated time ``now`` for the recorded cost of epochs ``paid[t]+1..e``
    (``task.epoch_cost``, seconds or units); asking ``e <= paid[t]`` is free and returns at once. When no worker is
    free (or the method has nothing to start), the earliest finishing job (heap key ``(finish, counter)``) is
    completed: the clock moves to its finish time, its epochs become paid, and the method is told. The method stops
    the run by returning ``None`` with nothing running.

    Args:
        task: the curves to serve.
        optimizer: an ask/tell method built for ``problem_for(task, n_workers)``.
        budget: total epochs (the job that reaches the limit is cut to fit, so the budget is never exceeded; a cut
            job's epochs are recorded but not told, and the run ends) or simulated seconds (at the limit every
            running job is stopped: epochs completed by then are recorded, nothing more is told).
        n_workers: simulated parallel workers.
        seed: run seed; chooses the replica (seed index) of multi-seed tasks, one per run, from
            ``derive(seed, "replica", task.key)`` so every method run with one seed sees the same replica.
        method: name recorded in the table (default ``optimizer.name``).
        charge_overhead: add measured ask/tell wall time to the simulated clock (the method thinks while the
            workers keep running). With ``False`` wall time never reaches the simulated clock.
        incumbent: which incumbent the ``regret`` column uses: ``"any_epoch"`` (best value observed at any epoch, as
            the DPL authors' code logs; default) or ``"max_budget"`` (best among configurations evaluated at the
            maximum budget, DPL eq. 9 read literally). Both columns are always present.
        max_jobs: safety bound on the number of jobs (a method that never stops raises).

    Returns:
        ReplayResult whose ``table`` has one row per revealed (trial, epoch), in simulated-time order, with columns
        benchmark, task, version, method, method_params, seed, replica, trial_id, config_id, epoch, objective,
        diverged, sim_time, cost, worker, overhead_s, one column per task metric (``m_<name>``), budget_used
        (epochs paid so far), cost_used, incumbent_any, incumbent_max, incumbent_rule, regret, normalized_regret.
    """
    n_workers = check_int("run", "n_workers", n_workers, 1)
    check_choice("run", "incumbent", incumbent, INCUMBENT_RULES)
    max_jobs = check_int("run", "max_jobs", max_jobs, 1)
    if not isinstance(budget, Budget):
        raise InvalidParameterError(f"budget must be an lcsim.replay.Budget; got {budget!r}.")
    if not isinstance(optimizer, Optimizer):
        raise InvalidParameterError(f"optimizer must be an lcsim.optimizers.Optimizer; got {type(optimizer)!r}.")
    if budget.unit == "seconds" and task.cost_unit != "seconds":
        raise BudgetError(f"Task {task.key} records no seconds per epoch (cost unit {task.cost_unit!r}); "
                          "give the budget in epochs.")
    surrogate = bool(getattr(task, "accepts_configs", False))
    if surrogate:
        task = task.fresh()  # every run grows its own copy of the pool: runs stay independent and deterministic
    replica = int(make_rng(derive(seed, "replica", task.key)).integers(task.n_seeds))
    ledger = _PaidLedger(task, replica)
    method = method or optimizer.name
    problem = optimizer.problem
    max_epoch = task.n_epochs
    n_cfg = task.n_configs
    epoch_cost = task.epoch_cost
    by_epochs = budget.unit == "epochs"
    epoch_numbers = np.arange(1, max_epoch + 1)  # Observation.epochs are read-only views of this
    epoch_numbers.setflags(write=False)
    limit = float(budget.amount)

    chunks: list[tuple] = []     # per finished (or stopped) job: arrays of its newly paid epochs
    heap: list[tuple] = []
    counter = 0
    now = 0.0
    used = 0.0                   # epochs committed (epoch budgets)
    free = list(range(n_workers))[::-1]
    n_jobs = n_asks = n_tells = 0
    overhead_total = 0.0
    exhausted = False
    used_cfgs: set[int] = set()
    running_trials: set[int] = set()

    def resolve(job: Job) -> int:
        if job.trial_id in ledger.config_of:
            cid = ledger.config_of[job.trial_id]
            if job.config_id is not None and int(job.config_id) != cid:
                raise InvalidParameterError(f"{method} resumed trial {job.trial_id} with config_id {job.config_id}, "
                                            f"but the trial runs config_id {cid}; a new configuration needs a new "
                                            "trial id.")
            return cid
        if job.config_id is not None:
            cid = int(job.config_id)
            if not 0 <= cid < n_cfg:
                raise InvalidParameterError(f"{method} asked config_id {cid}; valid rows are 0..{n_cfg - 1}.")
            return cid
        if job.config is None:
            raise InvalidParameterError(f"{method} returned a job with neither config_id nor config: {job}.")
        if surrogate:
            return task.add_config(job.config)  # evaluated directly by the surrogate: a new pool row
        return problem.nearest_candidate(job.config, exclude=used_cfgs)

    def record(r: _Running, upto: int, tell_s: float) -> None:
        """Note the rows of epochs ``r.done+1..upto`` (already paid); their values are read in one checked,
        vectorized pass through the ledger when the table is built."""
        if upto > r.done:
            k = upto - r.done
            chunks.append((r.job.trial_id, r.done + 1, k, r.ends[:k], r.cost[:k], r.worker, r.ask_s + tell_s))

    while True:
        # ---- fill free workers
        while free and not exhausted:
            t0 = time.perf_counter()
            job = optimizer.ask()
            ask_s = time.perf_counter() - t0
            n_asks += 1
            overhead_total += ask_s
            if charge_overhead:
                now += ask_s
            if job is None:
                break
            n_jobs += 1
            if n_jobs > max_jobs:
                raise RuntimeError(f"{method} exceeded max_jobs={max_jobs}; it does not seem to terminate.")
            if not isinstance(job, Job):
                raise InvalidParameterError(f"{method}.ask() must return an lcsim Job or None; got {job!r}.")
            if not 1 <= job.epoch <= max_epoch:
                raise BudgetError(f"{method} asked epoch {job.epoch}; valid epochs for {task.key} are 1..{max_epoch}.")
            tid = job.trial_id
            if tid in running_trials:
                raise RuntimeError(f"{method} asked trial {tid} while a job of it is still running.")
            cid = ledger.config_of.get(tid)
            if cid is None or job.config_id is not None:  # a known trial that names no row skips the checks
                cid = resolve(job)
            if surrogate:
                epoch_cost, n_cfg = task.epoch_cost, task.n_configs
            done = ledger.paid.get(tid, 0)
            target = int(job.epoch)
            if target > done:
                if by_epochs:
                    if used + (target - done) > limit + 1e-9:  # the job does not fit: cut it (or stop)
                        room = math.floor(limit - used + 1e-9)
                        if room <= 0:
                            exhausted = True
                            optimizer.running.discard(tid)
                            break
                        target = done + room
                    used += target - done
                    if used >= limit - 1e-9:
                        exhausted = True
                elif now >= limit:
                    exhausted = True
                    optimizer.running.discard(job.trial_id)
                    break
                cost = epoch_cost[cid, replica, done:target]
                if target - done == 1:
                    total = float(cost[0])
                    ends = cost + now  # the common one-epoch job: skip the cumulative sum
                else:
                    ends = cost.cumsum()
                    total = float(ends[-1])
                    ends += now
            else:
                cost = ends = np.zeros(0)
                total = 0.0
            ledger.config_of[tid] = cid
            used_cfgs.add(cid)
            worker = free.pop()
            running_trials.add(tid)
            counter += 1
            finish = float(ends[-1]) if len(ends) else now
            heapq.heappush(heap, (finish, counter, _Running(job, worker, cid, done, target, ends, cost, total, ask_s)))
        if not heap:
            break
        finish, _, r = heapq.heappop(heap)
        if not by_epochs and finish > limit:
            # time is up: stop every running job at the limit, record what completed by then, tell nothing more
            now = max(now, limit)
            stopped = [r] + [e[2] for e in sorted(heap)]
            heap = []
            for s in stopped:
                keep = int(np.searchsorted(s.ends, limit, side="right"))
                ledger.paid[s.job.trial_id] = s.done + keep
                record(s, s.done + keep, 0.0)
                optimizer.running.discard(s.job.trial_id)
            break
        now = max(now, finish)
        running_trials.discard(r.job.trial_id)
        ledger.paid[r.job.trial_id] = max(r.done, r.target)
        free.append(r.worker)
        tell_s = 0.0
        job = r.job
        if r.target < job.epoch:
            # a job cut by the epoch budget is recorded but not told: the run ends with it
            optimizer.running.discard(job.trial_id)
        else:
            first = r.done + 1 if r.target > r.done else job.epoch
            got = ledger.reveal(job.trial_id, first, job.epoch)
            # positional arguments: cheaper than keywords, and this runs once per job
            obs = Observation(job.trial_id, r.cid, epoch_numbers[first - 1:job.epoch],
                              np.asarray(got["objective"], dtype=float), got["diverged"], r.total,
                              got["metrics"])
            t0 = time.perf_counter()
            optimizer.tell(job, obs)
            tell_s = time.perf_counter() - t0
            n_tells += 1
            overhead_total += tell_s
            if charge_overhead:
                now += tell_s
        if r.target > r.done:  # record(r, r.target, tell_s) without the call and the slices
            chunks.append((job.trial_id, r.done + 1, r.target - r.done, r.ends, r.cost, r.worker, r.ask_s + tell_s))

    table = _table(task, ledger, chunks, method, optimizer, seed, replica, incumbent)
    return ReplayResult(table, task, method, seed, budget, overhead_s=overhead_total, n_asks=n_asks,
                        n_tells=n_tells, sim_time=now)


_ROW_COLS = ["trial_id", "config_id", "epoch", "objective", "diverged", "_metrics", "sim_time", "cost", "worker",
             "overhead_s"]


def _table(task: Task, ledger: _PaidLedger, chunks, method, optimizer, seed, replica, incumbent_rule) -> pd.DataFrame:
    n_met = len(task.metrics)
    ks = np.array([c[2] for c in chunks], dtype=np.int64)
    n = int(ks.sum())
    starts = np.cumsum(ks) - ks
    firsts = np.array([c[1] for c in chunks], dtype=np.int64)
    overhead = np.zeros(n)
    if n:
        overhead[starts] = [c[6] for c in chunks]

    def cat(i):
        return np.concatenate([c[i] for c in chunks]) if chunks else np.zeros(0)

    trial = np.repeat(np.array([c[0] for c in chunks], dtype=np.int64), ks)
    epoch = np.arange(n, dtype=np.int64) + np.repeat(firsts - starts, ks)
    if n:
        config, objective, metrics, diverged = ledger.reveal_rows(trial, epoch)
    else:
        config, objective = np.zeros(0, np.int64), np.zeros(0)
        metrics, diverged = np.zeros((0, n_met)), np.zeros(0, bool)
    cols = [trial, config, epoch,
            np.asarray(objective, float), diverged, np.asarray(metrics, float), cat(3), cat(4),
            np.repeat(np.array([c[5] for c in chunks], dtype=np.int64), ks), overhead]
    # simulated-time order; ties keep the order in which jobs completed (stable sort)
    order = np.argsort(cols[6], kind="stable")
    cols = [c[order] for c in cols]
    n = len(cols[0])

    def text(value: str):
        # a constant text column: a one-element string array repeated by index (~2x cheaper than broadcasting a
        # scalar through pd.Series and inserting it, ~4x cheaper than converting n Python strings)
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
    data.update(_incumbents(data["objective"], data["epoch"], task, incumbent_rule))
    data["incumbent_rule"] = text(incumbent_rule)  # keeps its place, before the regret columns
    return pd.DataFrame(data)


@functools.lru_cache(maxsize=256)
def _one_string(value: str):
    """A one-element pandas string array (building one costs ~0.2 ms; the same few values recur in every run)."""
    return pd.array([value], dtype="str")


def _incumbents(objective: np.ndarray, epoch: np.ndarray, task: Task, rule: str) -> dict:
    sign = 1.0 if task.minimize else -1.0
    obj = np.asarray(objective, dtype=float) * sign
    inc_any = np.minimum.accumulate(obj) * sign if len(obj) else obj
    at_max = np.where(np.asarray(epoch) == task.n_epochs, obj, np.inf)
    inc_max = np.minimum.accumulate(at_max) * sign if len(obj) else at_max
    inc_max = np.where(np.isfinite(inc_max), inc_max, np.nan)
    oracle = task.oracle
    inc = inc_any if rule == "any_epoch" else np.where(np.isnan(inc_max), oracle.worst, inc_max)
    return {"incumbent_any": inc_any, "incumbent_max": inc_max,
            "incumbent_rule": np.full(len(obj), rule, dtype=object), "regret": oracle.regret(inc),
            "normalized_regret": oracle.normalized_regret(inc)}


def add_incumbents(df: pd.DataFrame, task: Task, rule: str = "any_epoch") -> pd.DataFrame:
    """Add incumbent and regret columns to a results table in simulated-time order (in place).

    ``incumbent_any``: best objective observed at any epoch so far. ``incumbent_max``: best objective among rows at
    the task's maximum epoch so far (NaN until one exists). ``regret``/``normalized_regret`` use ``rule``; with
    ``max_budget`` and no full evaluation yet, the regret is that of the task's worst final value (normalized 1).
    """
    for k, v in _incumbents(df["objective"].to_numpy(dtype=float), df["epoch"].to_numpy(), task, rule).items():
        df[k] = v
    return df
