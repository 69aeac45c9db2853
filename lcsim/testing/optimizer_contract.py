"""The contract every lcsim optimizer passes, parametrizable over :data:`lcsim.optimizers.METHODS`.

Use in a test module (``tests/test_optimizer_contract.py`` does exactly this)::

    @pytest.mark.parametrize("name", list_methods())
    @pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
    def test_contract(name, check):
        check(name, fast_params(name))

Checks (each builds its own tiny synthetic tasks and runs the replay engine):

* :func:`check_budget_never_exceeded` -- epoch and seconds budgets, 1 and 3 workers;
* :func:`check_no_duplicate_running` -- never a second job for a trial that is still running (watched from outside
  the optimizer), each (trial, epoch) paid once, epochs of a trial paid in order;
* :func:`check_deterministic` -- same seed, same table (every column except the wall-time ``overhead_s``);
* :func:`check_terminates` -- a run ends within the budget with a bounded number of asks;
* :func:`check_no_lookahead` -- the decisions do not change when every value the method did not pay for is replaced
  by other values (black-box test of "the method only uses what it paid for");
* :func:`check_handles_diverged` -- a task where half the runs diverge (NaN tails served as the worst value).

Fast parameters: slow methods are tested with small settings. A method class may define a classmethod
``contract_params(cls) -> dict``; else :data:`FAST_PARAMS` ``[name]`` is used; else the defaults.
"""
from __future__ import annotations

import copy

import numpy as np
import pandas as pd

from ..benchmarks._base import Task
from ..benchmarks.synthetic import synthetic_task
from ..optimizers import make_optimizer, method_class
from ..replay.engine import Budget, problem_for, run
from ..replay.store import MEASURED_COLUMNS

__all__ = ["CHECKS", "FAST_PARAMS", "fast_params", "check_all", "check_budget_never_exceeded",
           "check_no_duplicate_running", "check_deterministic", "check_terminates", "check_no_lookahead",
           "check_handles_diverged", "comparable"]

#: method name -> small parameters for the contract suite (used when the class has no ``contract_params``)
FAST_PARAMS: dict[str, dict] = {}

def fast_params(name: str) -> dict:
    """Parameters the contract suite uses for method ``name`` (see the module docstring)."""
    hook = getattr(method_class(name), "contract_params", None)
    if callable(hook):
        return dict(hook())
    return dict(FAST_PARAMS.get(name, {}))


def comparable(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` without wall-time columns, index reset (for equality checks)."""
    return table.drop(columns=[c for c in MEASURED_COLUMNS if c in table.columns]).reset_index(drop=True)


def _task(seed: int = 0, diverged_share: float = 0.1, n_configs: int = 24, n_epochs: int = 9) -> Task:
    return synthetic_task(n_configs=n_configs, n_epochs=n_epochs, n_seeds=2, seed=seed,
                          diverged_share=diverged_share)


def _run(name, params, task, budget, n_workers=1, seed=0, **kw):
    opt = make_optimizer(name, problem_for(task, n_workers), seed, params)
    return run(task, opt, budget, n_workers=n_workers, seed=seed, method=name, **kw), opt


def check_budget_never_exceeded(name: str, params: dict) -> None:
    task = _task(1)
    for w in (1, 3):
        for amount in (5, 23, 4 * task.n_epochs):
            res, _ = _run(name, params, task, Budget(amount), n_workers=w, seed=amount)
            t = res.table
            assert len(t) <= amount, f"{name}: {len(t)} epochs paid with a budget of {amount} (workers={w})"
            assert t["budget_used"].max() <= amount if len(t) else True
        res, _ = _run(name, params, task, Budget(20.0, "seconds"), n_workers=w, seed=3)
        assert res.table["sim_time"].max() <= 20.0 + 1e-9, f"{name}: ran past a 20 s budget"


class _Watch:
    """Wraps an optimizer's ask/tell (instance attributes) to watch running trials from outside.

    A job for a trial whose previous job was not told yet fails the check at once, with the contract's own message,
    before the engine sees the job (the engine would refuse it too, but then the contract would only be relaying the
    engine's error)."""

    def __init__(self, name: str, opt):
        self.name = name
        self.running: set[int] = set()
        self._ask, self._tell = opt.ask, opt.tell
        opt.ask, opt.tell = self.ask, self.tell

    def ask(self):
        job = self._ask()
        if job is not None:
            if job.trial_id in self.running:
                raise AssertionError(f"{self.name}: asked trial {job.trial_id} again while its job is still running "
                                     "(contract: no duplicate running trial)")
            self.running.add(job.trial_id)
        return job

    def tell(self, job, obs):
        self.running.discard(job.trial_id)
        return self._tell(job, obs)


def check_no_duplicate_running(name: str, params: dict) -> None:
    task = _task(2)
    for w in (1, 4):
        opt = make_optimizer(name, problem_for(task, w), 5, params)
        _Watch(name, opt)
        try:
            res = run(task, opt, Budget(6 * task.n_epochs), n_workers=w, seed=5)
        except RuntimeError as exc:  # the base class refuses a duplicate: report it as a contract violation
            raise AssertionError(f"{name}: {exc}") from exc
        t = res.table
        assert not t.duplicated(["trial_id", "epoch"]).any(), f"{name}: an epoch of a trial was paid twice"
        for tid, g in t.groupby("trial_id"):
            g = g.sort_values("epoch")
            assert list(g["epoch"]) == list(range(1, len(g) + 1)), f"{name}: trial {tid} skipped epochs"
            assert g["sim_time"].is_monotonic_increasing, f"{name}: trial {tid} epochs out of time order"


def check_deterministic(name: str, params: dict) -> None:
    task = _task(3)
    a, _ = _run(name, params, task, Budget(5 * task.n_epochs), n_workers=2, seed=11)
    b, _ = _run(name, params, task, Budget(5 * task.n_epochs), n_workers=2, seed=11)
    pd.testing.assert_frame_equal(comparable(a.table), comparable(b.table), obj=f"{name} same-seed tables")


def check_terminates(name: str, params: dict) -> None:
    task = _task(4, n_configs=8, n_epochs=5)
    amount = 40 * task.n_epochs  # more than the whole pool, so pool exhaustion is exercised
    res, _ = _run(name, params, task, Budget(amount), n_workers=2, seed=2, max_jobs=50 * amount,
                  cap_budget=False)
    assert len(res.table) <= amount
    assert res.n_asks <= 50 * amount + 2


def _perturb_unpaid(task: Task, table: pd.DataFrame, seed: int) -> Task:
    """A copy of ``task`` whose metric values at every (config, replica, epoch) not in ``table`` are replaced.

    Every metric channel is redrawn uniformly within its finite range; NaN (diverged) entries stay NaN and the
    objective's worst value is kept in place (diverged runs are served at it), so only unpaid information changes.
    """
    rng = np.random.default_rng(seed)
    curves = task.curves.copy()
    paid = np.zeros(curves.shape[:3], dtype=bool)
    if len(table):
        paid[table["config_id"].to_numpy(), table["replica"].to_numpy(), table["epoch"].to_numpy() - 1] = True
    for j, _metric in enumerate(task.metrics.values()):
        vals = curves[..., j]
        finite = np.isfinite(vals)
        if not finite.any():
            continue
        lo, hi = float(vals[finite].min()), float(vals[finite].max())
        change = ~paid & finite
        if j == task.objective_index:
            worst = np.nanargmax(vals) if task.minimize else np.nanargmin(vals)
            change[np.unravel_index(worst, vals.shape)] = False
        vals[change] = rng.uniform(lo, hi, int(change.sum()))
        curves[..., j] = vals
    return Task(task.benchmark, task.name, task.configs, curves, task.metrics, task.objective, task.space,
                task.epoch_cost, task.cost_unit, task.diverged, task.version, task.fidelities, dict(task.extra))


def check_no_lookahead(name: str, params: dict) -> None:
    task = _task(5)
    cols = ["trial_id", "config_id", "epoch", "objective", "sim_time", "worker"]
    for w, seed in ((1, 7), (3, 8)):
        budget = Budget(6 * task.n_epochs)
        a, _ = _run(name, params, task, budget, n_workers=w, seed=seed)
        other = _perturb_unpaid(task, a.table, seed)
        b, _ = _run(name, params, other, budget, n_workers=w, seed=seed)
        pd.testing.assert_frame_equal(a.table[cols], b.table[cols],
                                      obj=f"{name}: decisions changed when unpaid values changed (look-ahead)")


def check_handles_diverged(name: str, params: dict) -> None:
    task = _task(6, diverged_share=0.5)
    res, _ = _run(name, params, task, Budget(8 * task.n_epochs), n_workers=2, seed=1)
    t = res.table
    assert len(t) > 0
    assert np.isfinite(t["objective"]).all(), f"{name}: non-finite objective served"
    assert np.isfinite(t["regret"]).all()


CHECKS = [check_budget_never_exceeded, check_no_duplicate_running, check_deterministic, check_terminates,
          check_no_lookahead, check_handles_diverged]


def check_all(name: str, params: dict | None = None) -> None:
    """Run every check of the contract for method ``name``."""
    params = fast_params(name) if params is None else params
    for check in CHECKS:
        check(name, copy.deepcopy(params))
