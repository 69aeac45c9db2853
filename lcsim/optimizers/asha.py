"""Asynchronous successive halving (ASHA; Li et al. 2020, "A System for Massively Parallel Hyperparameter Tuning").

Rungs (:func:`asha_rungs`): rung ``k`` trains to ``min_epoch * eta**(k + s)`` epochs for every such value below
``max_epoch`` (``s`` is the minimum early-stopping rate, default 0), and the top rung is exactly ``max_epoch``.

``get_job`` (Algorithm 2 of Li et al. 2020), run on every ``ask``::

    for k = K-1, ..., 0:                        # from the top rung down
        candidates = top_k(rung k, floor(|rung k| / eta))   # best completed results of rung k
        promotable = [t in candidates not yet promoted]
        if promotable: promote promotable[0] (the best) to rung k+1
    else: start a new configuration at rung 0

``rung k`` holds the *completed* results at that rung (a trial counts once it has been told). Ties in ``top_k`` go
to the lower trial id. A trial is marked promoted when it is handed out, so two workers never get the same promotion.
Promotion continues the trial (freeze-thaw; ``resume=True``): it pays only epochs ``r_k+1..r_{k+1}``;
``resume=False`` retrains from scratch under a new trial id, as in the paper's description.

ASHA itself never stops; the replay budget ends the run. On tabular tasks new configurations are drawn without
replacement from a permutation of the pool (a fresh permutation when it is used up).
"""
from __future__ import annotations

import bisect

from ..errors import check_int
from ._base import Job, Observation, Optimizer, Problem

__all__ = ["ASHA", "asha_rungs"]


def asha_rungs(min_epoch: int, max_epoch: int, eta: int, min_early_stopping_rate: int = 0) -> list[int]:
    """Epochs of ASHA's rungs, bottom to top: ``min_epoch * eta**(k + s)`` for every ``k >= 0`` below
    ``max_epoch``, then ``max_epoch`` itself as the top rung.

    When ``max_epoch / min_epoch`` is a power of ``eta`` this is exactly Li et al.'s ``r * eta**(k + s)``,
    ``k = 0..K``; otherwise the top rung is ``max_epoch`` (a full curve) as in syne-tune's rung levels, so the
    incumbent at maximum budget exists. Example: ``asha_rungs(1, 81, 3) == [1, 3, 9, 27, 81]``;
    ``asha_rungs(1, 52, 3) == [1, 3, 9, 27, 52]``.
    """
    out = []
    e = min_epoch * eta ** min_early_stopping_rate
    while e < max_epoch:
        out.append(int(e))
        e *= eta
    out.append(int(max_epoch))
    return out


class ASHA(Optimizer):
    """Asynchronous successive halving with promotion on rung completion.

    Args:
        problem: the task's problem.
        seed: sampling seed.
        eta: reduction factor, an int >= 2 (default 3).
        min_early_stopping_rate: ``s`` in Li et al. 2020, an int in [0, K] (the bottom rung is
            ``min_epoch * eta**s``).
        resume: continue promoted trials (freeze-thaw) instead of retraining them.
    """

    name = "asha"

    def __init__(self, problem: Problem, seed, eta: int = 3, min_early_stopping_rate: int = 0, resume: bool = True):
        super().__init__(problem, seed)
        self.eta = check_int("ASHA", "eta", eta, 2)
        K = len(asha_rungs(problem.min_epoch, problem.max_epoch, self.eta)) - 1
        self.s = check_int("ASHA", "min_early_stopping_rate", min_early_stopping_rate, 0, K)
        self.resume = bool(resume)
        self.rungs = asha_rungs(problem.min_epoch, problem.max_epoch, self.eta, self.s)
        # per rung, sorted lists of keys (signed value for minimization, trial id) of completed results: those not
        # yet promoted and those promoted; the rank of a result among all of its rung is found by bisection
        self._open: list[list[tuple[float, int]]] = [[] for _ in self.rungs]
        self._done: list[list[tuple[float, int]]] = [[] for _ in self.rungs]
        # rungs whose promotability may have changed since they were last found to have nothing to promote: a rung
        # can only become promotable when a result is added to it (n_top grows, the best open result may change)
        self._dirty: list[bool] = [False for _ in self.rungs]
        self._top_down = range(len(self.rungs) - 2, -1, -1)  # rungs that can promote, checked from the top
        self._rung_of: dict[int, int] = {}      # running trial -> rung it is being trained to
        self._lineage: dict[int, int] = {}      # trial id -> id of the rung-0 trial it continues (resume=False)
        self._config: dict[int, tuple] = {}     # trial id -> (config_id, config)
        self._order: list[int] = []
        self._sign = 1.0 if problem.minimize else -1.0   # results are kept as minimization keys
        self._tabular = problem.is_tabular

    def params(self) -> dict:
        return {"eta": self.eta, "min_early_stopping_rate": self.s, "resume": self.resume}

    def _new_config(self):
        if self._tabular:
            if not self._order:
                self._order = self.rng.permutation(self.problem.n_candidates).tolist()[::-1]
            return int(self._order.pop()), None
        return None, self.sample_config()

    def _promotable(self, k: int) -> int | None:
        """Best not-yet-promoted trial of rung ``k`` if it ranks in the top ``floor(n_k / eta)``, else ``None``.

        The best unpromoted result ``u`` is preceded only by promoted results, so its rank among all results of the
        rung is the number of promoted keys below it; this is Algorithm 2's ``top_k`` test in O(log n).
        """
        n_top = (len(self._open[k]) + len(self._done[k])) // self.eta
        if n_top == 0 or not self._open[k]:
            return None
        best = self._open[k][0]
        return best[1] if bisect.bisect_left(self._done[k], best) < n_top else None

    def _ask(self) -> Job | None:
        for k in self._top_down:
            if not self._dirty[k]:
                continue
            tid = self._promotable(k)
            if tid is None:
                self._dirty[k] = False
            else:
                key = self._open[k].pop(0)
                bisect.insort(self._done[k], key)
                cid, cfg = self._config[tid]
                new_tid = tid if self.resume else self.new_trial_id()
                self._config[new_tid] = (cid, cfg)
                self._rung_of[new_tid] = k + 1
                return Job(new_tid, self.rungs[k + 1], cid, cfg, {"rung": k + 1, "promoted_from": tid})
        tid = self.new_trial_id()
        cid, cfg = self._new_config()
        self._config[tid] = (cid, cfg)
        self._rung_of[tid] = 0
        return Job(tid, self.rungs[0], cid, cfg, {"rung": 0})  # positional arguments: cheaper, once per job

    def _tell(self, job: Job, observation: Observation) -> None:
        tid = job.trial_id
        k = self._rung_of.pop(tid)
        served = observation.config_id
        if served is not None and self._tabular:
            cid, cfg = self._config[tid]
            if served != cid:  # the engine served another row (a nearest-candidate mapping)
                self._config[tid] = (served, cfg)
        bisect.insort(self._open[k], (self._sign * float(observation.values[-1]), tid))
        self._dirty[k] = True
