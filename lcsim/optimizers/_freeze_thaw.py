"""The bookkeeping DPL and DyHPO share: freeze-thaw surrogate methods that pause and resume trials one step at a time.

Both methods keep, per trial, the configuration it trains (a candidate index on tabular tasks, a configuration dict
otherwise) and that configuration's encoded feature vector; both map the objective to a lower-is-better target the
same way; both start a new trial at its first step and continue a paused one by one step. :class:`FreezeThawBase`
holds that state and those rules once; each method keeps its surrogate, acquisition and schedule.

* Targets (:meth:`FreezeThawBase.target`): min-max scaled to [0, 1] over the objective's bounds when both are finite
  (LCBench accuracies), otherwise the raw value negated for maximized objectives (DPL section 5).
* Encodings (:data:`ENCODINGS`): ``"space"``, lcsim's one encoder over the space's bounds
  (:func:`lcsim.space.encode_configs`); ``"pool"``, the DPL authors' encoding over the candidate pool
  (:func:`pool_encoding`), tabular tasks only.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import InvalidParameterError, check_choice
from ..space import encode_configs
from ._base import Job, Observation, Optimizer, Problem

__all__ = ["ENCODINGS", "FreezeThawBase", "check_bool", "pool_encoding"]

ENCODINGS = ("space", "pool")


def check_bool(owner: str, name: str, value) -> bool:
    """A bool parameter, validated with the choice message template."""
    return bool(check_choice(owner, name, value, [True, False]))


def pool_encoding(space, candidates: pd.DataFrame) -> np.ndarray:
    """The DPL authors' encoding of a candidate pool (encoding ``"pool"``), shape (n_cfg, n_hp).

    Columns: the log-scaled numerical hyperparameters of ``space`` first, then the others, each group in the order of
    ``candidates.columns``; numerical columns are ``log``-ged where the space says so and min-max scaled over the pool
    (a constant column becomes 0), categorical and ordinal ones are encoded as by :func:`encode_configs`; inactive
    values (NaN) become 0.
    """
    names = [c for c in candidates.columns if c in space]
    is_log = {c: bool(getattr(space[c], "log", False)) for c in names}
    cols = []
    for c in [c for c in names if is_log[c]] + [c for c in names if not is_log[c]]:
        hp = space[c]
        if not hasattr(hp, "lower"):  # categorical, ordinal, constant: lcsim's encoding of that column
            cols.append(encode_configs(space, candidates[[c]])[:, 0])
            continue
        v = candidates[c].to_numpy(dtype=float)
        if is_log[c]:
            v = np.log(v)
        with np.errstate(invalid="ignore"):
            lo, hi = np.nanmin(v), np.nanmax(v)
            cols.append((v - lo) / (hi - lo) if hi > lo else np.zeros(len(v)))
    x = np.column_stack(cols) if cols else np.zeros((len(candidates), 0))
    return np.nan_to_num(x, nan=0.0)


class FreezeThawBase(Optimizer):
    """Trial bookkeeping of a freeze-thaw surrogate method (see the module docstring).

    Subclasses set :attr:`encoding` (:meth:`_check_encoding`) and :attr:`first_epoch` (the epoch a new trial is
    asked to first) in their constructor, and may extend :meth:`_started` to set up per-trial state.
    """

    #: the epoch a new trial is asked to first (DPL: its step ``b_step``; DyHPO: 1)
    first_epoch: int = 1
    encoding: str = "space"

    def __init__(self, problem: Problem, seed):
        super().__init__(problem, seed)
        lo, hi = (float(v) for v in getattr(problem, "objective_bounds", (-np.inf, np.inf)))
        self._bounded = bool(np.isfinite(lo) and np.isfinite(hi) and hi > lo)
        self._lo, self._hi = lo, hi
        self._x_of: dict[int, np.ndarray] = {}        # trial -> encoded config
        self._cfg_of: dict[int, object] = {}          # trial -> config_id (tabular) or config dict
        self._cid_trial = np.full(problem.n_candidates, -1, dtype=np.int64)  # tabular: config_id -> trial or -1
        self._pool_x = None  # encoded candidate pool (tabular tasks), computed on first use

    def _check_encoding(self, owner: str, encoding: str) -> str:
        """Validate ``encoding`` for this problem and store it."""
        self.encoding = check_choice(owner, "encoding", encoding, ENCODINGS)
        if self.encoding == "pool" and not self.problem.is_tabular:
            raise InvalidParameterError(f"{owner}'s encoding='pool' needs a candidate pool (a tabular task); pass "
                                        "encoding='space' on this task.")
        return self.encoding

    # ------------------------------------------------------------------ targets
    def target(self, values) -> np.ndarray:
        """Objective values -> surrogate targets, lower is better (see the module docstring), shape kept."""
        v = np.asarray(values, dtype=float)
        if self._bounded:
            span = self._hi - self._lo
            return (self._hi - v) / span if not self.problem.minimize else (v - self._lo) / span
        return v if self.problem.minimize else -v

    # ------------------------------------------------------------------ encodings
    def encoded_pool(self) -> np.ndarray:
        """The candidate pool as the surrogate sees it (``encoding``), shape (n_cfg, n_features); tabular tasks."""
        if self._pool_x is None:
            self._pool_x = (self.problem.encoded_candidates() if self.encoding == "space"
                            else pool_encoding(self.problem.space, self.problem.candidates))
        return self._pool_x

    def _encode(self, configs: list[dict]) -> np.ndarray:
        cols = list(self.problem.space.keys())
        df = pd.DataFrame([{k: c.get(k, np.nan) for k in cols} for c in configs], columns=cols)
        return np.nan_to_num(encode_configs(self.problem.space, df), nan=0.0)  # inactive hyperparameters -> 0

    # ------------------------------------------------------------------ trials
    def _started(self, tid: int) -> None:
        """Hook: trial ``tid`` was just registered (new or adopted)."""

    def _register(self, tid: int, cid: int | None, config: dict | None) -> None:
        if cid is not None:
            self._cid_trial[cid] = tid
            self._cfg_of[tid] = cid
            self._x_of[tid] = self.encoded_pool()[cid]
        else:
            self._cfg_of[tid] = config
            self._x_of[tid] = self._encode([config])[0]
        self._started(tid)

    def _new_trial(self, cid: int | None, config: dict | None) -> Job:
        """A new trial of candidate ``cid`` (tabular) or of ``config``, asked to :attr:`first_epoch`."""
        tid = self.new_trial_id()
        self._register(tid, cid, config)
        return self._job(tid, self.first_epoch)

    def _random_new(self) -> Job | None:
        """A new trial of a uniformly drawn unused candidate (tabular) or a sampled configuration; None when every
        candidate has a trial."""
        if self.problem.is_tabular:
            free = np.flatnonzero(self._cid_trial < 0)
            if len(free) == 0:
                return None
            return self._new_trial(int(free[self.rng.integers(len(free))]), None)
        return self._new_trial(None, self.sample_config())

    def _job(self, tid: int, epoch: int) -> Job:
        """Trial ``tid`` asked to ``epoch``."""
        cfg = self._cfg_of[tid]
        if isinstance(cfg, (int, np.integer)):
            return Job(tid, epoch, config_id=int(cfg))
        return Job(tid, epoch, config=cfg)

    def _adopt(self, job: Job, observation: Observation) -> None:
        """Register a trial this method did not create (defensive: the engine only tells trials the method asked
        for), encoding what was served."""
        if job.trial_id in self._x_of:
            return
        cid = observation.config_id if observation.config_id is not None else job.config_id
        self._register(job.trial_id, int(cid) if cid is not None else None, None if cid is not None else job.config)
