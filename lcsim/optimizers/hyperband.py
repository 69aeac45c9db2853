"""Successive halving and Hyperband (Jamieson & Talwalkar 2016; Li et al. 2017), synchronous, with freeze-thaw.

Both are driven by one bracket runner. A bracket runs its rungs in order: every configuration of a rung is trained to
the rung's epoch, and once all results of the rung are in, the best ``n_{i+1}`` move on. With several workers, a
blocked bracket (waiting for its rung) lets the next bracket start, as HpBandSter does.

Promotion continues a trial from the epoch it reached (``resume=True``, the default: lcsim pays only new epochs);
``resume=False`` retrains promoted configurations from scratch as in the original algorithm (a new trial, all epochs
paid again).

Subclasses change only how new configurations are chosen (:meth:`Hyperband._new_config`, e.g. BOHB's KDE) and may
observe every result (:meth:`Hyperband._observe`).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import check_int
from ._base import Job, Observation, Optimizer, Problem
from ._brackets import Bracket, hyperband_brackets, successive_halving_rungs

__all__ = ["Hyperband", "SuccessiveHalving"]


@dataclass
class _BracketRun:
    bracket: Bracket
    index: int                                   # sequence number of this bracket run
    rung: int = 0
    queue: list = field(default_factory=list)    # (trial_id, config_id, config) waiting to run at this rung
    waiting: set = field(default_factory=set)    # trial ids running at this rung
    results: dict = field(default_factory=dict)  # trial id -> (value, config_id, config) at this rung
    done: bool = False

    @property
    def epoch(self) -> int:
        return self.bracket.rungs[self.rung].epoch


class Hyperband(Optimizer):
    """Hyperband: cycles through the brackets of :func:`~lcsim.optimizers._brackets.hyperband_brackets`.

    Args:
        problem: the task's problem (``min_epoch``..``max_epoch`` are the fidelity range).
        seed: sampling seed.
        eta: halving rate, an int >= 2 (default 3, as in Li et al. and the DPL paper's baselines).
        resume: continue promoted trials (freeze-thaw) instead of retraining them.
    """

    name = "hyperband"

    def __init__(self, problem: Problem, seed, eta: int = 3, resume: bool = True):
        super().__init__(problem, seed)
        self.eta = check_int(type(self).__name__, "eta", eta, 2)
        self.resume = bool(resume)
        self.brackets = self._schedule()
        self._runs: list[_BracketRun] = []
        self._n_started = 0
        self._order: list[int] = []
        self._trial_bracket: dict[int, _BracketRun] = {}

    def params(self) -> dict:
        return {"eta": self.eta, "resume": self.resume}

    def _schedule(self) -> list[Bracket]:
        return hyperband_brackets(self.problem.min_epoch, self.problem.max_epoch, self.eta)

    # ------------------------------------------------------------------ hooks for subclasses
    def _new_config(self, run: _BracketRun) -> tuple[int | None, dict | None]:
        """A new configuration for rung 0 of ``run``: a pool row without replacement, or a sampled config."""
        if self.problem.is_tabular:
            if not self._order:
                self._order = self.rng.permutation(self.problem.n_candidates).tolist()[::-1]
            return int(self._order.pop()), None
        return None, self.sample_config()

    def _observe(self, job: Job, observation: Observation) -> None:
        """Called for every finished job before promotion decisions (BOHB builds its model here)."""

    # ------------------------------------------------------------------ driver
    def _open_bracket(self) -> _BracketRun:
        b = self.brackets[self._n_started % len(self.brackets)]
        run = _BracketRun(b, self._n_started)
        self._n_started += 1
        for _ in range(b.rungs[0].n):
            cid, cfg = self._new_config(run)
            run.queue.append((self.new_trial_id(), cid, cfg))
        self._runs.append(run)
        return run

    def _ask(self) -> Job | None:
        for run in self._runs:
            if run.queue:
                return self._job_from(run)
        # every open bracket is blocked (or none is open): start the next one
        run = self._open_bracket()
        return self._job_from(run)

    def _job_from(self, run: _BracketRun) -> Job:
        tid, cid, cfg = run.queue.pop(0)
        run.waiting.add(tid)
        self._trial_bracket[tid] = run
        return Job(tid, run.epoch, config_id=cid, config=cfg,
                   info={"bracket": run.bracket.s, "bracket_run": run.index, "rung": run.rung})

    def _tell(self, job: Job, observation: Observation) -> None:
        self._observe(job, observation)
        run = self._trial_bracket.pop(job.trial_id)
        run.waiting.discard(job.trial_id)
        sign = 1.0 if self.problem.minimize else -1.0
        cid = observation.config_id if observation.config_id is not None else job.config_id
        run.results[job.trial_id] = (sign * observation.last, cid, job.config)
        if run.queue or run.waiting:
            return
        # rung complete: promote the best n_{i+1}
        if run.rung + 1 >= len(run.bracket.rungs):
            run.done = True
            self._runs.remove(run)
            return
        k = run.bracket.rungs[run.rung + 1].n
        ranked = sorted(run.results.items(), key=lambda kv: (kv[1][0], kv[0]))[:k]
        run.rung += 1
        run.results = {}
        for tid, (_, cid, cfg) in ranked:
            new_tid = tid if self.resume else self.new_trial_id()
            run.queue.append((new_tid, cid, cfg))


class SuccessiveHalving(Hyperband):
    """Successive halving: the most exploratory Hyperband bracket, repeated.

    Args:
        problem: the task's problem.
        seed: sampling seed.
        eta: halving rate, an int >= 2.
        n_configs: configurations in the first rung (default: ``eta ** s_max``, Hyperband's first bracket).
        resume: continue promoted trials (freeze-thaw).
    """

    name = "successive_halving"

    def __init__(self, problem: Problem, seed, eta: int = 3, n_configs: int | None = None, resume: bool = True):
        self._n_configs = n_configs
        super().__init__(problem, seed, eta=eta, resume=resume)

    def params(self) -> dict:
        return {**super().params(), "n_configs": self.brackets[0].rungs[0].n}

    def _schedule(self) -> list[Bracket]:
        first = hyperband_brackets(self.problem.min_epoch, self.problem.max_epoch, self.eta)[0]
        if self._n_configs is None:
            return [first]
        n = check_int("SuccessiveHalving", "n_configs", self._n_configs, 1)
        return [Bracket(first.s, successive_halving_rungs(n, self.problem.min_epoch, self.problem.max_epoch, self.eta))]
