"""FGHPO: flatness-guided hyperparameter optimization (FGHPO paper, Algorithm 1) on the ask/tell interface.

Algorithm 1, as an lcsim :class:`~lcsim.optimizers._base.Optimizer`:

1. sample ``n_probe`` (N1, default 50) configurations (line 2; distinct candidate rows on tabular tasks);
2. train each for ``probe_epoch`` epochs (default 1, line 6) and read its sharpness, the maximum over the mini-batches
   of the Theorem 1 lower bound (lines 7-10), from the observation's metric column ``sharpness_metric`` at the probe
   epoch (the live trainer and tasks built by :mod:`lcsim.live.build` record it per epoch as ``sharpness``);
3. discard configurations whose sharpness is 0 (no information, lines 11-13) or not finite (diverged runs);
4. continue the ``n_full`` (N2, default 10) configurations with the lowest sharpness to ``full_epoch`` (default: the
   problem's maximum epoch; the paper uses 100), resuming each trial from its probe epoch (lines 15-17);
5. return the best of those by the validation objective at ``full_epoch`` (:attr:`FGHPO.best`).

The same object runs on replayed curves (:func:`lcsim.replay.run`) and live (:meth:`lcsim.live.LiveTask.run`): it only
reads ``Observation.metrics``, so selections on a task built from live runs equal the live selections (tested).

Phase 2 starts only when every probe has been told (a synchronous barrier): with several workers ``ask`` returns
``None`` while probes are still running. Ties in sharpness go to the lower trial id (stable sort).
"""
from __future__ import annotations

import math

import numpy as np

from ..errors import InvalidParameterError, check_int, unknown_name
from ._base import Job, Observation, Optimizer, Problem

__all__ = ["FGHPO"]


class FGHPO(Optimizer):
    """FGHPO Algorithm 1 (see the module docstring).

    Args:
        problem: the task's :class:`Problem`; ``problem.metric_names`` must contain ``sharpness_metric``.
        seed: seed of the configuration sampling.
        n_probe: N1, configurations probed (>= 1; clipped to the pool size on tabular tasks).
        n_full: N2, configurations trained fully (>= 1).
        probe_epoch: epochs of the probe (>= ``problem.min_epoch``, <= ``full_epoch``).
        full_epoch: epochs of a full training (default ``problem.max_epoch``).
        sharpness_metric: name of the metric holding the sharpness lower bound.

    Attributes:
        sharpness: dict trial_id -> sharpness at the probe epoch (NaN for diverged probes).
        selected: trial ids continued to ``full_epoch``, lowest sharpness first.
        final: dict trial_id -> objective at ``full_epoch``.
    """

    name = "fghpo"

    def __init__(self, problem: Problem, seed, n_probe: int = 50, n_full: int = 10, probe_epoch: int = 1,
                 full_epoch: int | None = None, sharpness_metric: str = "sharpness"):
        super().__init__(problem, seed)
        self.full_epoch = problem.max_epoch if full_epoch is None else check_int(
            self.name, "full_epoch", full_epoch, problem.min_epoch, problem.max_epoch)
        self.probe_epoch = check_int(self.name, "probe_epoch", probe_epoch, problem.min_epoch, self.full_epoch)
        self.n_probe = check_int(self.name, "n_probe", n_probe, 1)
        self.n_full = check_int(self.name, "n_full", n_full, 1)
        if not problem.metric_names:
            raise InvalidParameterError(
                "fghpo reads the sharpness from Observation.metrics, but the problem names no metrics; build it with "
                "lcsim.replay.problem_for(task) or LiveTask.problem() (or give Problem(metric_names=...)).")
        if sharpness_metric not in problem.metric_names:
            raise unknown_name("sharpness metric", sharpness_metric, problem.metric_names)
        self.sharpness_metric = sharpness_metric
        self._col = list(problem.metric_names).index(sharpness_metric)
        if problem.is_tabular:
            self.n_probe = min(self.n_probe, problem.n_candidates)
            self._probe_rows = self.rng.permutation(problem.n_candidates)[:self.n_probe].tolist()
        self._configs: dict[int, dict | None] = {}
        self._rows: dict[int, int | None] = {}
        self.sharpness: dict[int, float] = {}
        self.selected: list[int] | None = None
        self.final: dict[int, float] = {}
        self._n_probe_asked = 0
        self._n_full_asked = 0

    # ------------------------------------------------------------------------------------------------ ask / tell
    def _ask(self) -> Job | None:
        if self._n_probe_asked < self.n_probe:
            tid = self.new_trial_id()
            k = self._n_probe_asked
            self._n_probe_asked += 1
            if self.problem.is_tabular:
                self._rows[tid] = int(self._probe_rows[k])
                self._configs[tid] = None
                return Job(tid, self.probe_epoch, config_id=self._rows[tid], info={"phase": "probe"})
            cfg = self.sample_config()
            self._configs[tid], self._rows[tid] = cfg, None
            return Job(tid, self.probe_epoch, config=cfg, info={"phase": "probe"})
        if len(self.sharpness) < self.n_probe:
            return None  # barrier: wait for every probe
        if self.selected is None:
            self.selected = self.select(self.sharpness, self.n_full)
        if self._n_full_asked < len(self.selected):
            tid = self.selected[self._n_full_asked]
            self._n_full_asked += 1
            return Job(tid, self.full_epoch, config_id=self._rows[tid], config=self._configs[tid],
                       info={"phase": "full"})
        return None

    def _tell(self, job: Job, observation: Observation) -> None:
        if job.info.get("phase") == "probe":
            self.sharpness[job.trial_id] = self._read_sharpness(observation)
            if observation.config_id is not None:
                self._rows[job.trial_id] = int(observation.config_id)
        else:
            self.final[job.trial_id] = observation.last

    def _read_sharpness(self, obs: Observation) -> float:
        if obs.metrics is None:
            raise InvalidParameterError("fghpo needs Observation.metrics (the curve source sent none).")
        where = np.flatnonzero(np.asarray(obs.epochs) == self.probe_epoch)
        if len(where) == 0:
            return math.nan
        v = float(np.asarray(obs.metrics)[where[-1], self._col])
        return v if (math.isfinite(v) and not obs.diverged) else math.nan

    # ------------------------------------------------------------------------------------------------ selection
    @staticmethod
    def select(sharpness: dict[int, float], n_full: int) -> list[int]:
        """Algorithm 1 lines 11-15: drop zero / non-finite values, keep the ``n_full`` lowest (ties: lower id)."""
        ok = [(v, t) for t, v in sharpness.items() if math.isfinite(v) and v != 0.0]
        ok.sort()
        return [t for _, t in ok[:n_full]]

    @property
    def best(self) -> int | None:
        """Trial id of the returned configuration: best objective at ``full_epoch`` (line 17), or ``None``."""
        if not self.final:
            return None
        sign = 1.0 if self.problem.minimize else -1.0
        return min(self.final, key=lambda t: (sign * self.final[t], t))

    def config_of(self, trial_id: int) -> tuple[int | None, dict | None]:
        """(candidate row, configuration) of a trial."""
        return self._rows.get(trial_id), self._configs.get(trial_id)

    @staticmethod
    def contract_params() -> dict:
        """Small parameters for the optimizer contract suite (its synthetic task has no sharpness column, so the
        suite's ``valid_acc`` stands in for it)."""
        return {"n_probe": 8, "n_full": 3, "sharpness_metric": "valid_acc"}

    def params(self) -> dict:
        return {"n_probe": self.n_probe, "n_full": self.n_full, "probe_epoch": self.probe_epoch,
                "full_epoch": self.full_epoch, "sharpness_metric": self.sharpness_metric}
