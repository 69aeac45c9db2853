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

import heapq
import json
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
    def full_evaluations(cls, task: Task, n: float) -> "Budget":
        """``n`` full-curve equivalents in epochs (DPL: 20 full evaluations on PD1)."""
        return cls(float(n) * task.n_epochs, "epochs")


@dataclass
class ReplayResult:
    """A finished run: the tidy table plus what produced it."""

    table: pd.DataFrame
    task: Task
    method: str
    seed: int
    budget: Budget


class _PaidLedger:
    """Per-trial record of paid epochs; the only path from the curve source to the method."""

    def __init__(self, task: Task):
        self.task = task
        self.paid: dict[int, int] = {}
        self.config_of: dict[int, int] = {}

    def reveal(self, trial_id: int, first: int, last: int, seed_index: int) -> dict:
        if last > self.paid.get(trial_id, 0):
            raise LookAheadError(f"Trial {trial_id}: read of epoch {last} but only {self.paid.get(trial_id, 0)} paid.")
        return self.task.lookup(self.config_of[trial_id], seed_index, first, last)


def problem_for(task: Task, n_workers: int = 1, min_epoch: int = 1) -> Problem:
    """The :class:`Problem` a method sees for ``task``: space, fidelities, direction, candidate pool."""
    return Problem(space=task.space, min_epoch=min_epoch, max_epoch=task.n_epochs, minimize=task.minimize,
                   candidates=task.configs, n_workers=n_workers, objective=task.objective,
                   metric_names=tuple(task.metrics))


def run(task: Task, optimizer: Optimizer, budget: Budget, *, n_workers: int = 1, seed: int = 0,
        method: str | None = None, charge_overhead: bool = False, incumbent: str = "any_epoch",
        max_jobs: int = 10_000_000) -> ReplayResult:
    """Replay ``optimizer`` on ``task`` until ``budget`` is spent or the method stops.

    Args:
        task: the curves to serve.
        optimizer: an ask/tell method built for ``problem_for(task, n_workers)``.
        budget: total epochs (clipped: the last job is cut to fit, so the budget is never exceeded) or simulated
            seconds (jobs finishing after the limit are not revealed).
        n_workers: simulated parallel workers.
        seed: run seed; chooses the replica (seed index) of multi-seed tasks, one per run.
        method: name recorded in the table (default ``optimizer.name``).
        charge_overhead: add measured ask/tell wall time to the simulated clock.
        incumbent: which incumbent the ``regret`` column uses: ``"any_epoch"`` (best value observed at any epoch, as
            the DPL authors' code logs; default) or ``"max_budget"`` (best among configurations evaluated at the
            maximum budget, DPL eq. 9 read literally). Both columns are always present.
        max_jobs: safety bound on the number of jobs (a method that never stops raises).

    Returns:
        ReplayResult whose ``table`` has one row per revealed (trial, epoch), in simulated-time order, with columns
        benchmark, task, version, method, method_params, seed, replica, trial_id, config_id, epoch, objective,
        diverged, one column per task metric (``m_<name>``), sim_time, cost, worker, overhead_s, budget_used
        (epochs paid so far), cost_used,
        incumbent_any, incumbent_max, incumbent_rule, regret, normalized_regret.
    """
    n_workers = check_int("run", "n_workers", n_workers, 1)
    check_choice("run", "incumbent", incumbent, INCUMBENT_RULES)
    if not isinstance(budget, Budget):
        raise InvalidParameterError(f"budget must be an lcsim.replay.Budget; got {budget!r}.")
    if budget.unit == "seconds" and task.cost_unit != "seconds":
        raise BudgetError(f"Task {task.key} records no seconds per epoch (cost unit {task.cost_unit!r}); "
                          "give the budget in epochs.")
    replica = int(make_rng(derive(seed, "replica", task.key)).integers(task.n_seeds))
    ledger = _PaidLedger(task)
    method = method or optimizer.name
    problem = optimizer.problem
    max_epoch = task.n_epochs

    rows: list[tuple] = []
    heap: list[tuple] = []
    counter = 0
    now = 0.0
    used = 0.0  # epochs or seconds committed
    free = list(range(n_workers))[::-1]
    busy_cfgs: dict[int, int] = {}
    n_jobs = 0
    exhausted = False

    def resolve(job: Job) -> int:
        if job.trial_id in ledger.config_of:
            return ledger.config_of[job.trial_id]
        if job.config_id is not None:
            cid = int(job.config_id)
            if not 0 <= cid < task.n_configs:
                raise InvalidParameterError(f"{method} asked config_id {cid}; valid rows are 0..{task.n_configs - 1}.")
            return cid
        if job.config is None:
            raise InvalidParameterError(f"{method} returned a job with neither config_id nor config: {job}.")
        return problem.nearest_candidate(job.config, exclude=set(ledger.config_of.values()))

    while True:
        # fill free workers
        while free and not exhausted:
            t0 = time.perf_counter()
            job = optimizer.ask()
            ask_s = time.perf_counter() - t0
            if charge_overhead:
                now += ask_s
            if job is None:
                break
            n_jobs += 1
            if n_jobs > max_jobs:
                raise RuntimeError(f"{method} exceeded max_jobs={max_jobs}; it does not seem to terminate.")
            if not 1 <= job.epoch <= max_epoch:
                raise BudgetError(f"{method} asked epoch {job.epoch}; valid epochs for {task.key} are 1..{max_epoch}.")
            cid = resolve(job)
            ledger.config_of[job.trial_id] = cid
            done = ledger.paid.get(job.trial_id, 0)
            target = int(job.epoch)
            if target > done:
                cost = task.epoch_cost[cid, replica, done:target]
                if budget.unit == "epochs":
                    room = int(np.floor(budget.amount - used + 1e-9))
                    if room <= 0:
                        exhausted = True
                        optimizer.running.discard(job.trial_id)
                        break
                    if target - done > room:
                        target = done + room
                        cost = cost[:room]
                    used += target - done
                    if used >= budget.amount - 1e-9:
                        exhausted = True
                elif now >= budget.amount:
                    exhausted = True
                    optimizer.running.discard(job.trial_id)
                    break
                ends = now + np.cumsum(cost)
            else:
                ends = np.array([], dtype=float)
            worker = free.pop()
            counter += 1
            finish = float(ends[-1]) if len(ends) else now
            heapq.heappush(heap, (finish, counter, worker, job, done, target, ends, ask_s, cid))
        if not heap:
            break
        finish, _, worker, job, done, target, ends, ask_s, cid = heapq.heappop(heap)
        cut = target < job.epoch  # the epoch budget cut this job short
        if budget.unit == "seconds" and finish > budget.amount:
            # reveal only epochs completed within the time limit; the run stops at the limit
            keep = int(np.searchsorted(ends, budget.amount, side="right"))
            target, ends, cut = done + keep, ends[:keep], True
            exhausted, heap = True, []
            finish = budget.amount
        now = max(now, finish)
        ledger.paid[job.trial_id] = max(done, target)
        free.append(worker)
        tell_s = 0.0
        if not cut:
            first = done + 1 if target > done else job.epoch
            got = ledger.reveal(job.trial_id, first, job.epoch, replica)
            obs = Observation(trial_id=job.trial_id, config_id=cid, epochs=np.arange(first, job.epoch + 1),
                              values=np.asarray(got["objective"], dtype=float), diverged=got["diverged"],
                              cost=float(np.sum(got["cost"])) if target > done else 0.0, metrics=got["metrics"])
            t0 = time.perf_counter()
            optimizer.tell(job, obs)
            tell_s = time.perf_counter() - t0
            if charge_overhead:
                now += tell_s
        else:
            # a job cut by the budget is recorded but not told: the run ends with it
            optimizer.running.discard(job.trial_id)
            got = ledger.reveal(job.trial_id, done + 1, target, replica) if target > done else None
        if target > done:
            for i, ep in enumerate(range(done + 1, target + 1)):
                rows.append((job.trial_id, cid, ep, float(got["objective"][i]), got["diverged"],
                             got["metrics"][i], float(ends[i]), float(got["cost"][i]), worker,
                             (ask_s + tell_s) if i == 0 else 0.0))
        if budget.unit == "seconds" and exhausted:
            break

    table = _table(task, rows, method, optimizer, seed, replica, incumbent)
    return ReplayResult(table, task, method, seed, budget)


def _table(task: Task, rows, method, optimizer, seed, replica, incumbent_rule) -> pd.DataFrame:
    cols = ["trial_id", "config_id", "epoch", "objective", "diverged", "_metrics", "sim_time", "cost", "worker",
            "overhead_s"]
    df = pd.DataFrame(rows, columns=cols)
    if len(df):
        df = df.sort_values("sim_time", kind="stable").reset_index(drop=True)
        mets = np.stack(df["_metrics"].to_numpy())
    else:
        mets = np.zeros((0, len(task.metrics)))
    df = df.drop(columns="_metrics")
    for j, name in enumerate(task.metrics):
        df[f"m_{name}"] = mets[:, j] if len(mets) else np.array([], dtype=float)
    df.insert(0, "benchmark", task.benchmark)
    df.insert(1, "task", task.name)
    df.insert(2, "version", task.version)
    df.insert(3, "method", method)
    df.insert(4, "method_params", json.dumps(optimizer.params(), sort_keys=True, default=str))
    df.insert(5, "seed", int(seed))
    df.insert(6, "replica", replica)
    df["budget_used"] = np.arange(1, len(df) + 1, dtype=float)  # epochs paid by the time of each row
    df["cost_used"] = np.cumsum(df["cost"].to_numpy(dtype=float))
    add_incumbents(df, task, incumbent_rule)
    return df


def add_incumbents(df: pd.DataFrame, task: Task, rule: str = "any_epoch") -> pd.DataFrame:
    """Add incumbent and regret columns to a results table in simulated-time order (in place).

    ``incumbent_any``: best objective observed at any epoch so far. ``incumbent_max``: best objective among rows at
    the task's maximum epoch so far (NaN until one exists). ``regret``/``normalized_regret`` use ``rule``; with
    ``max_budget`` and no full evaluation yet, the regret is that of the task's worst final value (normalized 1).
    """
    sign = 1.0 if task.minimize else -1.0
    obj = df["objective"].to_numpy(dtype=float) * sign
    inc_any = np.minimum.accumulate(obj) * sign if len(obj) else obj
    at_max = np.where(df["epoch"].to_numpy() == task.n_epochs, obj, np.inf)
    inc_max = np.minimum.accumulate(at_max) * sign if len(obj) else at_max
    inc_max = np.where(np.isfinite(inc_max), inc_max, np.nan)
    df["incumbent_any"] = inc_any
    df["incumbent_max"] = inc_max
    df["incumbent_rule"] = rule
    oracle = task.oracle
    inc = inc_any if rule == "any_epoch" else np.where(np.isnan(inc_max), oracle.worst, inc_max)
    df["regret"] = oracle.regret(inc)
    df["normalized_regret"] = oracle.normalized_regret(inc)
    return df
