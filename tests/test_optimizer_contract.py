"""Every registered method passes the optimizer contract (methods added to METHODS are picked up automatically)."""
from __future__ import annotations

import pytest

from lcsim.optimizers import list_methods, method_class
from lcsim.testing.optimizer_contract import CHECKS, fast_params


def _with_timeout(name):
    """A method's contract checks get a time limit (pytest-timeout), ~10x their usual time on 2 loaded cores, so a
    method or an engine ledger that never stops fails the check instead of hanging the suite."""
    return pytest.param(name, marks=pytest.mark.timeout(180 if getattr(method_class(name), "slow", False) else 60))


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__.removeprefix("check_"))
@pytest.mark.parametrize("name", [_with_timeout(n) for n in list_methods()])
def test_contract(name, check):
    check(name, fast_params(name))


@pytest.mark.timeout(60)
def test_contract_catches_a_cheating_method(monkeypatch):
    """The no-look-ahead check fails a method that reads curves it did not pay for."""
    from lcsim.optimizers import METHODS
    from lcsim.testing import optimizer_contract as oc

    real_run = oc.run

    def spy_run(task, *a, **kw):
        CURRENT[0] = task
        return real_run(task, *a, **kw)

    monkeypatch.setattr(oc, "run", spy_run)
    METHODS["_cheat"] = f"{__name__}:Cheat"
    try:
        with pytest.raises(AssertionError, match="look-ahead"):
            oc.check_no_lookahead("_cheat", {})
    finally:
        del METHODS["_cheat"]


@pytest.mark.timeout(60)
def test_contract_catches_a_budget_blind_duplicate():
    """The contract's own watch reports a second job for a running trial, before the engine's refusal.

    Fails if the watch (``optimizer_contract._Watch``) is disabled: the error is then the engine's, relayed."""
    from lcsim.optimizers import METHODS
    from lcsim.testing import optimizer_contract as oc

    METHODS["_dup"] = f"{__name__}:Duplicate"
    try:
        with pytest.raises(AssertionError, match=r"_dup: asked trial 0 again while its job is still running "
                                                 r"\(contract: no duplicate running trial\)") as err:
            oc.check_no_duplicate_running("_dup", {})
        assert err.value.__cause__ is None  # raised by the contract, not converted from the engine's error
    finally:
        del METHODS["_dup"]


from lcsim.optimizers import Job, Optimizer  # noqa: E402

CURRENT: list = [None]  # the task the engine is serving (set by the spy in the cheating test)


class Cheat(Optimizer):
    """Picks the configuration with the best final value by peeking at the (unpaid) curves."""

    name = "_cheat"
    task = None

    def _ask(self):
        final = CURRENT[0].served_objective()[:, 0, -1]
        return Job(self.new_trial_id(), self.problem.max_epoch, config_id=int(final.argmin()))

    def _tell(self, job, obs):
        pass


class Duplicate(Optimizer):
    """Asks the same trial again while it runs (bypasses the base-class guard)."""

    name = "_dup"

    def ask(self):
        if len(self.history) > 20:
            return None
        return Job(0, 1 + len(self.history) % self.problem.max_epoch, config_id=0)

    def _ask(self):
        return None

    def _tell(self, job, obs):
        pass
