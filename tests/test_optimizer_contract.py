"""Every registered method passes the optimizer contract (methods added to METHODS are picked up automatically)."""
from __future__ import annotations

import pytest

from lcsim.optimizers import list_methods
from lcsim.testing.optimizer_contract import CHECKS, fast_params


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__.removeprefix("check_"))
@pytest.mark.parametrize("name", list_methods())
def test_contract(name, check):
    check(name, fast_params(name))


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


def test_contract_catches_a_budget_blind_duplicate():
    from lcsim.optimizers import METHODS
    from lcsim.testing import optimizer_contract as oc

    METHODS["_dup"] = f"{__name__}:Duplicate"
    try:
        with pytest.raises(AssertionError):
            oc.check_no_duplicate_running("_dup", {})
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
