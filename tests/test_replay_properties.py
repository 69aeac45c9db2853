"""Property tests of the replay engine (hypothesis): no read beyond the paid epoch, budgets, time order.

Two layers are checked. :class:`CheckedTask` wraps the task: its curve arrays are off limits, the engine's cost reads
are recorded as payments, and every ``lookup`` (and vectorized ``lookup_points``) is checked against those payments.
The engine's own guard, ``lcsim.replay.engine._PaidLedger``, is driven directly: the ledger a run builds is caught
(:func:`_spied_ledgers`) and probed from inside real optimizers' ``tell`` with paid and unpaid (trial, epoch) reads,
and every value the task serves is checked against what that ledger says was paid at that moment.
"""
from __future__ import annotations

import contextlib
import time
from collections import defaultdict

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lcsim.benchmarks.synthetic import synthetic_task
from lcsim.errors import BudgetError, LookAheadError
from lcsim.optimizers import Job, Optimizer, make_optimizer
from lcsim.replay import Budget, engine, problem_for, run

TASK = synthetic_task(n_configs=12, n_epochs=8, n_seeds=2, seed=4, diverged_share=0.2)


class _CostView:
    def __init__(self, owner):
        self.owner = owner

    def __getitem__(self, key):
        cid, rep, sl = key
        assert isinstance(sl, slice) and sl.step is None
        if isinstance(cid, slice):  # the whole pool's cost (the budget's capacity): a cost read, not a payment
            return self.owner.task.epoch_cost[key]
        self.owner.paid[(int(cid), int(rep))] = max(self.owner.paid[(int(cid), int(rep))], int(sl.stop))
        return self.owner.task.epoch_cost[key]


class CheckedTask:
    """Forwards to a Task, but curve access goes only through ``lookup`` and only up to paid epochs."""

    _FORBIDDEN = ("curves", "served_objective", "final_objective", "subset")

    def __init__(self, task):
        self.task = task
        self.paid = defaultdict(int)   # (config_id, replica) -> highest epoch whose cost was charged
        self.reads = 0

    def __getattr__(self, name):
        if name in self._FORBIDDEN:
            raise LookAheadError(f"engine touched task.{name}")
        return getattr(self.task, name)

    @property
    def epoch_cost(self):
        return _CostView(self)

    def lookup(self, cid, rep, first, last, copy=False):
        self.reads += 1
        if last > self.paid[(int(cid), int(rep))]:
            raise LookAheadError(f"read of epoch {last} of config {cid} but {self.paid[(cid, rep)]} paid")
        return self.task.lookup(cid, rep, first, last, copy=copy)

    def lookup_points(self, cids, rep, epochs):
        self.reads += 1
        for cid, e in zip(np.asarray(cids).tolist(), np.asarray(epochs).tolist()):
            if e > self.paid[(int(cid), int(rep))]:
                raise LookAheadError(f"read of epoch {e} of config {cid} but {self.paid[(cid, rep)]} paid")
        return self.task.lookup_points(cids, rep, epochs)


class RandomJobs(Optimizer):
    """Random jobs: new trials (config_id or a continuous config), resumes to random epochs, random ``None``."""

    name = "random_jobs"

    def __init__(self, problem, seed, n_asks=40, p_none=0.1, p_resume=0.5, p_config=0.2):
        super().__init__(problem, seed)
        self.left, self.p_none, self.p_resume, self.p_config = n_asks, p_none, p_resume, p_config
        self.told = []

    def _ask(self):
        if self.left <= 0 or self.rng.random() < self.p_none:
            return None
        self.left -= 1
        idle = [t for t in self.paid if t not in self.running]
        e = int(self.rng.integers(1, self.problem.max_epoch + 1))
        if idle and self.rng.random() < self.p_resume:
            return Job(int(self.rng.choice(idle)), e)
        if self.rng.random() < self.p_config:
            return Job(self.new_trial_id(), e, config=self.sample_config())
        return Job(self.new_trial_id(), e, config_id=self.sample_config_id())

    def _tell(self, job, obs):
        self.told.append((job, obs))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), workers=st.integers(1, 5), amount=st.integers(1, 90),
       seconds=st.booleans(), p_none=st.floats(0, 0.5), p_resume=st.floats(0, 1))
def test_random_optimizers_never_see_unpaid_epochs(seed, workers, amount, seconds, p_none, p_resume):
    checked = CheckedTask(TASK)
    opt = RandomJobs(problem_for(TASK, workers), seed, p_none=p_none, p_resume=p_resume)
    budget = Budget(float(amount), "seconds" if seconds else "epochs")
    res = run(checked, opt, budget, n_workers=workers, seed=seed)
    t = res.table
    # budget
    if seconds:
        assert (t["sim_time"] <= amount + 1e-9).all()
    else:
        assert len(t) <= amount
    # each (trial, epoch) paid once, in epoch order
    assert not t.duplicated(["trial_id", "epoch"]).any()
    for _, g in t.groupby("trial_id"):
        assert list(g.sort_values("epoch")["epoch"]) == list(range(1, len(g) + 1))
    served = TASK.served_objective()
    rows = {(r.trial_id, r.epoch): r for r in t.itertuples()}
    last_finish = -np.inf
    for job, obs in opt.told:
        # only epochs the table shows as paid, values equal to the recorded curve of the served replica
        assert obs.epochs[-1] == job.epoch
        for e, v in zip(obs.epochs, obs.values):
            r = rows[(job.trial_id, int(e))]
            assert v == served[r.config_id, r.replica, e - 1]
        if obs.cost > 0:  # told in simulated-time order of completion
            finish = rows[(job.trial_id, job.epoch)].sim_time
            assert finish >= last_finish
            last_finish = finish
    assert t["sim_time"].is_monotonic_increasing


def test_checked_task_catches_a_leaky_read():
    checked = CheckedTask(TASK)
    with pytest.raises(LookAheadError):
        checked.lookup(0, 0, 1, 3)
    with pytest.raises(LookAheadError):
        checked.lookup_points([0], 0, [1])
    with pytest.raises(LookAheadError):
        checked.curves  # noqa: B018


class SlowRS(Optimizer):
    """Random search that burns wall time in every ask."""

    name = "slow_rs"

    def __init__(self, problem, seed, delay=0.0):
        super().__init__(problem, seed)
        self.inner = make_optimizer("random_search", problem, seed)
        self.delay = delay

    def _ask(self):
        time.sleep(self.delay)
        job = self.inner._ask()
        return job

    def _tell(self, job, obs):
        pass


def test_wall_time_never_leaks_without_charge(synth):
    fast = run(synth, SlowRS(problem_for(synth, 2), 3, 0.0), Budget(60), n_workers=2, seed=3)
    slow = run(synth, SlowRS(problem_for(synth, 2), 3, 0.004), Budget(60), n_workers=2, seed=3)
    np.testing.assert_array_equal(fast.table["sim_time"], slow.table["sim_time"])
    assert slow.overhead_s > fast.overhead_s + 0.004 * 5
    assert slow.table["overhead_s"].sum() <= slow.overhead_s + 1e-12


def test_charge_overhead_adds_measured_time(synth):
    base = run(synth, SlowRS(problem_for(synth), 3, 0.0), Budget(45), seed=3)
    charged = run(synth, SlowRS(problem_for(synth), 3, 0.005), Budget(45), seed=3, charge_overhead=True)
    assert list(base.table["trial_id"]) == list(charged.table["trial_id"])
    # one worker: every job starts after the overhead measured so far was added to the clock
    n_jobs = base.table["trial_id"].nunique()
    gap = charged.table["sim_time"].iloc[-1] - base.table["sim_time"].iloc[-1]
    assert gap >= 0.005 * n_jobs
    assert gap <= charged.overhead_s + 1e-9


# ---------------------------------------------------------------- the engine's own guard (_PaidLedger), driven directly
@contextlib.contextmanager
def _spied_ledgers():
    """Every ``_PaidLedger`` that ``lcsim.replay.run`` builds inside the block, in creation order (the engine's own
    class: a subclass that only records its instances, so bugs planted in the class reach it)."""
    made = []

    class Spy(engine._PaidLedger):
        def __init__(self, task, replica):
            super().__init__(task, replica)
            made.append(self)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(engine, "_PaidLedger", Spy)
        yield made


class RecordingTask(CheckedTask):
    """Serves values only through the engine's current ledger's view of what is paid: every ``lookup`` and
    ``lookup_points`` is recorded and checked against ``ledger.paid``/``ledger.config_of`` at that moment."""

    def __init__(self, task, ledgers):
        super().__init__(task)
        self.ledgers = ledgers
        self.served = []   # (config_id, replica, epoch) of every value served

    def _paid_for(self, cid, rep):
        led = self.ledgers[-1]
        assert rep == led.replica
        return max((led.paid.get(t, 0) for t, c in led.config_of.items() if c == cid), default=0)

    def lookup(self, cid, rep, first, last, copy=False):
        paid = self._paid_for(int(cid), int(rep))
        assert 1 <= first <= last <= paid, f"served epochs {first}..{last} of config {cid}, ledger paid {paid}"
        self.served += [(int(cid), int(rep), e) for e in range(first, last + 1)]
        return self.task.lookup(cid, rep, first, last, copy=copy)

    def lookup_points(self, cids, rep, epochs):
        for cid, e in zip(np.asarray(cids).tolist(), np.asarray(epochs).tolist()):
            paid = self._paid_for(int(cid), int(rep))
            assert 1 <= e <= paid, f"served epoch {e} of config {cid}, ledger paid {paid}"
            self.served.append((int(cid), int(rep), int(e)))
        return self.task.lookup_points(cids, rep, epochs)


def _probe(ledger, task, draw_epoch):
    """Reads of paid and unpaid (trial, epoch) pairs through the ledger's ``reveal`` and ``reveal_rows``: each paid
    read returns the recorded curve, each unpaid one raises LookAheadError. Returns the number of unpaid reads tried."""
    served = task.served_objective()
    n_unpaid = 0
    for tid, cid in list(ledger.config_of.items()):
        paid = ledger.paid.get(tid, 0)
        if paid:
            e = draw_epoch(paid)
            got = ledger.reveal(tid, 1, e)
            np.testing.assert_array_equal(got["objective"], served[cid, ledger.replica, :e])
            cfg, obj, _, _ = ledger.reveal_rows([tid], [e])
            assert cfg[0] == cid and obj[0] == served[cid, ledger.replica, e - 1]
        # the first unpaid epoch (beyond the curve for a finished trial), alone, as a range end and among paid reads
        with pytest.raises(LookAheadError):
            ledger.reveal(tid, paid + 1, paid + 1)
        with pytest.raises(LookAheadError):
            ledger.reveal(tid, 1, paid + 1)
        with pytest.raises(LookAheadError):
            ledger.reveal_rows([tid] * (paid + 1), list(range(1, paid + 2)))
        with pytest.raises(LookAheadError):
            ledger._checked(np.array([tid]), np.array([paid + 1]))
        with pytest.raises(LookAheadError):
            ledger.reveal_rows([tid], [0])
        n_unpaid += 5
    unknown = max(ledger.config_of, default=-1) + 1
    with pytest.raises(LookAheadError):
        ledger.reveal_rows([unknown], [1])
    with pytest.raises(LookAheadError):
        ledger.reveal(unknown, 1, 1)
    return n_unpaid + 2


FAST_METHODS = ["random_search", "successive_halving", "hyperband", "asha", "bohb", "dehb"]


def _optimizer(method, workers, seed):
    p = problem_for(TASK, workers)
    return RandomJobs(p, seed) if method == "random_jobs" else make_optimizer(method, p, seed)


def _check_ledger_guard(method, seed, workers, amount, seconds, draw_epoch):
    opt = _optimizer(method, workers, seed)
    told: dict[int, int] = {}
    asked: dict[int, int] = {}   # trial -> epoch of its job not yet told
    last_job = [None]
    n_probes = 0
    with _spied_ledgers() as ledgers:
        inner_ask, inner_tell = opt.ask, opt.tell

        def ask():
            job = inner_ask()
            if job is not None:
                asked[job.trial_id] = int(job.epoch)
                last_job[0] = job.trial_id
            return job

        def probing_tell(job, obs):
            nonlocal n_probes
            led = ledgers[-1]
            asked.pop(job.trial_id)
            told[job.trial_id] = max(told.get(job.trial_id, 0), int(obs.epochs[-1]))
            # while the run goes on, every trial's paid epochs are exactly those told (running jobs are unpaid),
            # except the last job asked when an epoch budget cut it: paid part-way, never told, no job after it
            for t in led.config_of:
                paid, known = led.paid.get(t, 0), told.get(t, 0)
                if paid != known:
                    assert not seconds and t == last_job[0] and known < paid < asked.get(t, 0), (t, paid, known)
            n_probes += _probe(led, TASK, draw_epoch)
            inner_tell(job, obs)

        opt.ask, opt.tell = ask, probing_tell
        res = run(TASK, opt, Budget(float(amount), "seconds" if seconds else "epochs"), n_workers=workers, seed=seed)
    (led,) = ledgers
    # after the run: the table holds exactly epochs 1..paid of every trial, and the guard still holds
    rows = res.table.groupby("trial_id")["epoch"].max().to_dict()
    assert rows == {k: v for k, v in led.paid.items() if v > 0}
    assert all(led.paid[k] >= v for k, v in told.items())
    n_probes += _probe(led, TASK, draw_epoch)
    assert n_probes > 0


@pytest.mark.timeout(240)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(method=st.sampled_from(["random_jobs"] + FAST_METHODS), seed=st.integers(0, 10_000),
       workers=st.integers(1, 4), amount=st.integers(1, 70), seconds=st.booleans(), data=st.data())
def test_engine_ledger_refuses_every_unpaid_read(method, seed, workers, amount, seconds, data):
    """During and after real runs, the engine's ``_PaidLedger`` agrees with what the method was told and refuses
    every read beyond it (``reveal``, ``reveal_rows``, ``_checked``); paid reads return the recorded curve.

    Fails if the ledger hands out one unpaid epoch (``last > paid + 1`` in ``reveal`` or ``epochs > paid_of[idx] + 1``
    in ``_checked``: see :func:`test_planted_one_epoch_leaks_are_caught`), or if ``paid`` runs ahead of or behind the
    epochs told."""
    _check_ledger_guard(method, seed, workers, amount, seconds, lambda paid: data.draw(st.integers(1, paid)))


def _check_served(method, seed, workers, amount, seconds):
    with _spied_ledgers() as ledgers:
        task = RecordingTask(TASK, ledgers)
        opt = _optimizer(method, workers, seed)
        seen = []
        inner_tell = opt.tell

        def tell(job, obs):
            seen.append((job.trial_id, obs.config_id, obs.epochs.copy(), np.asarray(obs.values).copy()))
            inner_tell(job, obs)

        opt.tell = tell
        res = run(task, opt, Budget(float(amount), "seconds" if seconds else "epochs"), n_workers=workers, seed=seed)
    t = res.table
    assert set(zip(t.config_id.tolist(), t.replica.tolist(), t.epoch.tolist())) <= set(task.served)
    served = TASK.served_objective()
    (led,) = ledgers
    for tid, cid, epochs, values in seen:
        assert led.config_of[tid] == cid
        np.testing.assert_array_equal(values, served[cid, led.replica, epochs - 1])


@pytest.mark.timeout(240)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(method=st.sampled_from(["random_jobs"] + FAST_METHODS), seed=st.integers(0, 10_000),
       workers=st.integers(1, 5), amount=st.integers(1, 90), seconds=st.booleans())
def test_engine_serves_only_what_its_ledger_says_was_paid(method, seed, workers, amount, seconds):
    """Every (config, replica, epoch) the task serves to the engine was paid in the engine's own ledger at the moment
    it was served, the table shows only served points, and each observation equals the recorded curve.

    Fails if the engine reads an epoch beyond its ledger from the task (e.g. ``reveal`` reading ``last + 1``: see
    :func:`test_planted_one_epoch_leaks_are_caught`), whatever the ledger's own check says."""
    _check_served(method, seed, workers, amount, seconds)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("leak", ["reveal", "_checked", "engine_reads_ahead"])
def test_planted_one_epoch_leaks_are_caught(leak):
    """The guard tests above fail on the bugs they target, planted in the engine's own ``_PaidLedger``: ``reveal`` or
    ``_checked`` allowing one unpaid epoch (``paid + 1``), or ``reveal`` reading one epoch ahead from the task.

    Fails if a guard test stops seeing a one-epoch leak."""
    cls = engine._PaidLedger
    real_reveal, real_checked = cls.reveal, cls._checked

    def reveal_plus_one(self, trial_id, first, last):  # the engine's reveal with ``last > paid + 1``
        if last > self.paid.get(trial_id, 0) + 1:
            raise LookAheadError(f"Trial {trial_id}: read of epoch {last}.")
        return self.task.lookup(self.config_of[trial_id], self.replica, first, last, copy=True)

    def checked_plus_one(self, trial_ids, epochs):  # ``epochs > paid_of[idx] + 1``: every known trial one ahead
        saved = dict(self.paid)
        self.paid.update({t: saved.get(t, 0) + 1 for t in self.config_of})
        try:
            return real_checked(self, trial_ids, epochs)
        finally:
            self.paid.clear()
            self.paid.update(saved)

    def reads_ahead(self, trial_id, first, last):
        if trial_id in self.config_of and self.paid.get(trial_id, 0) < self.task.n_epochs:
            self.task.lookup(self.config_of[trial_id], self.replica, first, self.paid[trial_id] + 1)
        return real_reveal(self, trial_id, first, last)

    planted = {"reveal": reveal_plus_one, "_checked": checked_plus_one, "engine_reads_ahead": reads_ahead}[leak]
    # a BudgetError is the planted reveal reading past the curve of a finished trial: a failure too
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(cls, "reveal" if leak != "_checked" else "_checked", planted)
        with pytest.raises((AssertionError, pytest.fail.Exception, BudgetError)):
            if leak == "engine_reads_ahead":
                _check_served("asha", 2, 3, 40, False)
            else:
                _check_ledger_guard("hyperband", 1, 2, 40, False, lambda paid: paid)
    _check_ledger_guard("hyperband", 1, 2, 40, False, lambda paid: paid)  # restored: both pass
    _check_served("asha", 2, 3, 40, False)
