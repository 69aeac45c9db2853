"""SMAC3's multi-fidelity facade (Hyperband intensifier + random forest, Lindauer et al. 2022) behind ask/tell.

This is an adapter around the library, not a reimplementation: SMAC3 (``smac>=2``) is used through its own ask/tell
API (``MultiFidelityFacade.ask`` / ``tell``), with its defaults for the multi-fidelity facade (random forest, log
EI, random initial design of ``10 * d`` configurations capped at ``n_trials / 4``, Hyperband with ``eta = 3`` and
``incumbent_selection="highest_observed_budget"``).

Mapping (DPL appendix C):

* search space: lcsim's ConfigSpace, unchanged; budgets ``min_budget = problem.min_epoch``, ``max_budget =
  problem.max_epoch``; SMAC's float budgets are rounded to the nearest epoch;
* seed: ``lcsim.seeding.int_seed(seed)``; ``deterministic=True`` (one seed per configuration, as the replayed curves
  are fixed);
* output: a private temporary directory (removed when the optimizer is garbage collected or :meth:`close` d),
  nothing is written to the working directory; run histories are not saved per tell (``save=False``);
* freeze-thaw: SMAC asks a configuration again on a larger budget when it promotes it; the adapter continues the
  configuration's trial (lcsim pays only the new epochs), or starts a new trial of the same configuration when that
  trial is still running (several workers);
* tabular tasks: SMAC proposes configurations of the space and the engine serves the nearest unused candidate; SMAC's
  random forest learns the proposed configuration with the served candidate's value (SMAC's ``tell`` only accepts the
  trials it asked). The mapping is recorded per trial in ``self.served``;
* diverged runs: SMAC is told the served value (the task's worst value) with ``additional_info={"diverged": True}``,
  never a good score;
* failures: an exception inside SMAC is re-raised as :class:`SMACError` naming the run's trial and the call, so a
  grid records that cell as failed instead of continuing with a broken optimizer;
* reproducibility: SMAC3's local search collects its start points in a ``set`` of Configurations, whose hash is the
  hash of their ``repr`` string, and searches them in the set's order, so the same SMAC seed gave different runs in
  processes with different string-hash seeds (``PYTHONHASHSEED``, random per process by default). The adapter's
  acquisition maximizer is SMAC's default (:class:`LocalAndSortedRandomSearch`, same parameters) with the start points
  put in a fixed order (sorted by ``repr``) before the search: the same points, searched in an order that depends
  on the seed alone.
"""
from __future__ import annotations

import functools
import logging
import shutil
import tempfile
import weakref

from ..errors import InvalidParameterError, LcsimError, check_choice, check_int
from ..seeding import int_seed
from ._base import Job, Observation, Optimizer, Problem

__all__ = ["SMAC", "SMACError"]


class SMACError(LcsimError, RuntimeError):
    """SMAC3 failed inside ``ask`` or ``tell``."""


def _key(config: dict) -> tuple:
    return tuple(sorted((k, repr(v)) for k, v in config.items()))


class SMAC(Optimizer):
    """SMAC3 ``MultiFidelityFacade`` via ask/tell.

    Args:
        problem: the task's problem.
        seed: lcsim seed; SMAC gets ``int_seed(seed)``.
        eta: Hyperband's halving rate (int >= 2, default 3).
        n_trials: SMAC's ``Scenario.n_trials``; only sizes the initial design here (``min(10 d, n_trials / 4)``),
            since the replay budget ends the run. Default 10000.
        incumbent_selection: SMAC's Hyperband incumbent rule (default ``"highest_observed_budget"``).
    """

    #: a random-forest refit per suggestion (about 10 s per 20-curve run): not in the CLI's default quick comparison
    slow = True

    name = "smac"
    proposes_configs = True

    def __init__(self, problem: Problem, seed, eta: int = 3, n_trials: int = 10_000,
                 incumbent_selection: str = "highest_observed_budget"):
        super().__init__(problem, seed)
        self.eta = check_int("SMAC", "eta", eta, 2)
        self.n_trials = check_int("SMAC", "n_trials", n_trials, 1)
        self.incumbent_selection = check_choice("SMAC", "incumbent_selection", incumbent_selection,
                                                ("any_budget", "highest_observed_budget", "highest_budget"))
        if problem.max_epoch <= problem.min_epoch:
            raise InvalidParameterError(f"SMAC needs max_epoch > min_epoch; got min_epoch={problem.min_epoch}, "
                                        f"max_epoch={problem.max_epoch}.")
        try:
            from smac import MultiFidelityFacade, Scenario
        except ImportError as exc:  # pragma: no cover - smac is a dependency
            raise ImportError("The 'smac' method needs SMAC3: pip install 'smac>=2'.") from exc
        self.smac_seed = int_seed(seed)
        self._dir = tempfile.mkdtemp(prefix="lcsim-smac-")
        self._finalizer = weakref.finalize(self, shutil.rmtree, self._dir, True)
        space = problem.space
        scenario = Scenario(space, deterministic=True, n_trials=self.n_trials, min_budget=float(problem.min_epoch),
                            max_budget=float(problem.max_epoch), seed=self.smac_seed,
                            output_directory=f"{self._dir}/run", name="lcsim")
        intensifier = MultiFidelityFacade.get_intensifier(scenario, eta=self.eta,
                                                          incumbent_selection=self.incumbent_selection)
        maximizer = MultiFidelityFacade.get_acquisition_maximizer(scenario)
        maximizer._local_search.__class__ = _local_search_in_order()  # SMAC's instance, its parameters kept
        self._facade = MultiFidelityFacade(scenario, target_function=_never_called, intensifier=intensifier,
                                           acquisition_maximizer=maximizer, overwrite=True,
                                           logging_level=logging.ERROR)
        self._info: dict[int, object] = {}        # trial id -> SMAC TrialInfo of the running job
        self._trial_of: dict[tuple, int] = {}     # config key -> trial id
        self.served: dict[int, int | None] = {}  # trial id -> candidate row served
        self.n_asked = 0

    def close(self) -> None:
        """Remove SMAC's temporary output directory now."""
        self._finalizer()

    def params(self) -> dict:
        return {"eta": self.eta, "n_trials": self.n_trials, "incumbent_selection": self.incumbent_selection,
                "smac_seed": self.smac_seed}

    def _ask(self) -> Job | None:
        try:
            info = self._facade.ask()
        except Exception as exc:
            raise SMACError(f"SMAC3 failed in ask() (call {self.n_asked + 1}): {type(exc).__name__}: {exc}") from exc
        self.n_asked += 1
        config = dict(info.config)
        epoch = int(round(float(info.budget))) if info.budget is not None else self.problem.max_epoch
        epoch = min(max(epoch, self.problem.min_epoch), self.problem.max_epoch)
        key = _key(config)
        tid = self._trial_of.get(key)
        if tid is not None and tid not in self.running:
            job = Job(tid, epoch, info={"budget": info.budget})
        elif tid is not None:  # same configuration still running: a new trial of the same candidate
            cid = self.served.get(tid)
            job = Job(self.new_trial_id(), epoch, config_id=cid, config=None if cid is not None else config,
                      info={"budget": info.budget})
        else:
            tid = self.new_trial_id()
            self._trial_of[key] = tid
            job = Job(tid, epoch, config=config, info={"budget": info.budget})
        self._info[job.trial_id] = info
        return job

    def _tell(self, job: Job, obs: Observation) -> None:
        from smac.runhistory.dataclasses import TrialValue

        info = self._info.pop(job.trial_id)
        self.served[job.trial_id] = obs.config_id
        cost = (1.0 if self.problem.minimize else -1.0) * obs.last
        value = TrialValue(cost=float(cost), time=float(obs.cost),
                           additional_info={"diverged": bool(obs.diverged), "trial_id": job.trial_id,
                                            "config_id": obs.config_id})
        try:
            self._facade.tell(info, value, save=False)
        except Exception as exc:
            raise SMACError(f"SMAC3 failed in tell() for trial {job.trial_id} at epoch {job.epoch}: "
                            f"{type(exc).__name__}: {exc}") from exc


@functools.cache
def _local_search_in_order() -> type:
    """SMAC3's ``LocalSearch`` with its start points in a fixed order (see the module docstring: SMAC de-duplicates
    them through a ``set``, whose order follows the per-process string-hash seed). Built on first use, so importing
    lcsim does not import SMAC."""
    from smac.acquisition.maximizer import LocalSearch

    class LocalSearchInOrder(LocalSearch):
        def _get_initial_points(self, previous_configs, n_points, additional_start_points):
            points = super()._get_initial_points(previous_configs, n_points, additional_start_points)
            return sorted(points, key=repr)

    return LocalSearchInOrder


def _never_called(config, seed: int = 0, budget: float = 0.0) -> float:  # pragma: no cover
    raise RuntimeError("lcsim drives SMAC through ask/tell; the target function is never called.")
