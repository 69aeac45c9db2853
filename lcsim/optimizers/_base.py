"""The ask/tell interface every lcsim method implements.

An :class:`Optimizer` is built for one :class:`Problem` (search space, fidelity range, objective direction and, on
tabular tasks, the candidate pool) with one seed. The replay engine (or the live backend) then calls

* :meth:`Optimizer.ask` -> :class:`Job` or ``None`` (``None``: nothing to start now; if no job is running either, the
  method has finished), and
* :meth:`Optimizer.tell` with the :class:`Job` and its :class:`Observation` once the job's epochs are paid for.

Rules every implementation follows (checked by :mod:`lcsim.testing.optimizer_contract`):

* state changes only in ``tell`` (``ask`` may reserve the trial it hands out, nothing else);
* a ``Job`` resumes its trial: asking trial ``t`` up to epoch ``e`` after it reached epoch ``k < e`` costs epochs
  ``k+1..e`` only (freeze-thaw); asking ``e <= k`` costs nothing and returns the values already paid;
* never two running jobs for one trial;
* deterministic under a seed; no global RNG;
* constructor parameters validated with the valid range in the message (:mod:`lcsim.errors`).

Configuration identity: on tabular tasks a job names a row of ``problem.candidates`` (``config_id``). Methods that
propose continuous configurations give ``config`` instead and the engine maps it to the nearest candidate (see
:func:`Problem.nearest_candidate`); the observation reports the ``config_id`` actually served.
"""
from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from ConfigSpace import ConfigurationSpace

from ..errors import ProtocolError, check_int
from ..space import SpaceCodec

__all__ = ["Problem", "Job", "Observation", "Optimizer"]


@dataclass(frozen=True)
class Problem:
    """What a method may know about a task before it pays for anything.

    Attributes:
        space: the search space.
        min_epoch: smallest budget a method may ask for (usually 1).
        max_epoch: maximum budget (the full learning curve).
        minimize: direction of the objective.
        candidates: on tabular tasks, the configuration pool (DataFrame, one row per config_id, no curves); ``None``
            where any configuration of the space can be evaluated (surrogate or live tasks).
        n_workers: number of simulated workers the engine will run.
        objective: name of the objective metric (informative).
        objective_bounds: ``(low, high)`` values the objective can take (``Metric.bounds``; ``-inf``/``inf`` when
            unbounded). Model-based methods use them to normalize targets (DPL: accuracy -> error in [0, 1]).
        metric_names: names of the columns of ``Observation.metrics`` in order (empty when the source does not say);
            methods that read a proxy signal (FGHPO's sharpness) look their column up here.
    """

    space: ConfigurationSpace
    min_epoch: int
    max_epoch: int
    minimize: bool = True
    candidates: pd.DataFrame | None = None
    n_workers: int = 1
    objective: str = "objective"
    objective_bounds: tuple = (-float("inf"), float("inf"))
    metric_names: tuple = ()
    _encoded: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def is_tabular(self) -> bool:
        return self.candidates is not None

    @property
    def n_candidates(self) -> int:
        return 0 if self.candidates is None else len(self.candidates)

    @property
    def codec(self) -> SpaceCodec:
        """The ``"unit"`` :class:`~lcsim.space.SpaceCodec` of the space (cached)."""
        if "codec" not in self._encoded:
            self._encoded["codec"] = SpaceCodec(self.space)
        return self._encoded["codec"]

    def encoded_candidates(self) -> np.ndarray:
        """Candidates in the unit hypercube (cached), shape (n_cfg, n_hp)."""
        if "x" not in self._encoded:
            self._encoded["x"] = self.codec.encode(self.candidates)
        return self._encoded["x"]

    def nearest_candidate(self, config: dict, exclude=None) -> int:
        """Row of the candidate pool nearest to ``config`` in the encoded unit hypercube (Euclidean).

        Ties go to the lowest row; ``exclude`` (a set of config_ids) removes rows already in use, so a method that
        proposes a new configuration gets a new row while any remain. This is lcsim's documented mapping for
        continuous proposals on tabular tasks.
        """
        x = self.encoded_candidates()
        q = self.codec.encode([{k: config[k] for k in self.candidates.columns if k in config}])
        d = np.sum((x - q) ** 2, axis=1)
        if exclude:
            ex = np.fromiter(exclude, dtype=int)
            if len(ex) < len(d):
                d = d.copy()
                d[ex] = np.inf
        return int(np.argmin(d))


@dataclass(frozen=True, init=False)
class Job:
    """Train trial ``trial_id`` up to ``epoch`` (1-based, inclusive).

    Attributes:
        trial_id: the method's id of the configuration's lineage; resuming the same trial is freeze-thaw.
        epoch: the budget to reach.
        config_id: row of ``problem.candidates`` (tabular tasks), or ``None``.
        config: a configuration dict (continuous proposals, surrogate/live tasks), or ``None``.
        info: method-private bookkeeping (e.g. bracket and rung); never read by the engine.
    """

    trial_id: int
    epoch: int
    config_id: int | None = None
    config: dict | None = None
    info: dict = field(default_factory=dict, compare=False)

    # Hand-written __init__ (Job and Observation are made once per job of a replay): writing the instance dict
    # directly costs half of the frozen dataclass's generated __init__, which goes through object.__setattr__.
    def __init__(self, trial_id: int, epoch: int, config_id: int | None = None, config: dict | None = None,
                 info: dict | None = None):
        d = self.__dict__
        d["trial_id"] = trial_id
        d["epoch"] = epoch
        d["config_id"] = config_id
        d["config"] = config
        d["info"] = {} if info is None else info


@dataclass(frozen=True, init=False)
class Observation:
    """What a finished job reveals: values of the epochs paid for, never more.

    Attributes:
        trial_id: the job's trial.
        config_id: the candidate row actually served (after nearest-candidate mapping), ``None`` if not tabular.
        epochs: int array of the epochs revealed by this job (``first..job.epoch``; includes already-paid epochs when
            the job asked for fewer than were paid, so ``values[-1]`` is always the value at ``job.epoch``); the replay
            engine passes a read-only view (copy it to modify it).
        values: objective values at ``epochs`` (diverged values replaced by the task's worst value).
        diverged: the run diverged at or before ``job.epoch``.
        cost: cost of the newly paid epochs (simulated seconds or units).
        metrics: all metrics at ``epochs``, shape (len(epochs), n_metric), raw (NaN where diverged).
    """

    trial_id: int
    config_id: int | None
    epochs: np.ndarray
    values: np.ndarray
    diverged: bool = False
    cost: float = 0.0
    metrics: np.ndarray | None = None

    def __init__(self, trial_id: int, config_id: int | None, epochs: np.ndarray, values: np.ndarray,
                 diverged: bool = False, cost: float = 0.0, metrics: np.ndarray | None = None):
        d = self.__dict__  # see Job.__init__
        d["trial_id"] = trial_id
        d["config_id"] = config_id
        d["epochs"] = epochs
        d["values"] = values
        d["diverged"] = diverged
        d["cost"] = cost
        d["metrics"] = metrics

    @property
    def last(self) -> float:
        return float(self.values[-1])


class Optimizer(abc.ABC):
    """Base class of every lcsim method (see the module docstring for the rules).

    Subclasses set ``name`` and implement :meth:`_ask` and :meth:`_tell`. The public :meth:`ask`/:meth:`tell`
    keep the common bookkeeping (trial ids, per-trial paid epochs, running set) so subclasses stay small.
    """

    name: ClassVar[str] = "optimizer"
    #: whether the method proposes continuous configurations (mapped to the nearest candidate on tabular tasks)
    proposes_configs: ClassVar[bool] = False

    def __init__(self, problem: Problem, seed):
        from ..seeding import make_rng

        self.problem = problem
        self.rng = make_rng(seed)
        self._next_trial = 0
        self.running: set[int] = set()
        self.paid: dict[int, int] = {}  # trial_id -> highest epoch observed
        self.history: list[Observation] = []
        check_int(self.name, "max_epoch", problem.max_epoch, 1)
        check_int(self.name, "min_epoch", problem.min_epoch, 1, problem.max_epoch)

    # -- helpers for subclasses
    def new_trial_id(self) -> int:
        t = self._next_trial
        self._next_trial += 1
        return t

    def sample_config_id(self) -> int:
        """A uniformly random candidate row (tabular tasks)."""
        return int(self.rng.integers(self.problem.n_candidates))

    def sample_config(self) -> dict:
        """A configuration sampled from the space with this optimizer's RNG."""
        self.problem.space.seed(int(self.rng.integers(2**31 - 1)))
        return dict(self.problem.space.sample_configuration())

    # -- public interface
    def ask(self) -> Job | None:
        job = self._ask()
        if job is not None:
            if job.trial_id in self.running:
                raise ProtocolError(f"{self.name} asked trial {job.trial_id} while it is still running.")
            self.running.add(job.trial_id)
        return job

    def abandon(self, job: Job) -> None:
        """The engine ends ``job`` without an observation (the budget ran out before or while it ran): its trial is no
        longer running. Nothing is learned from it; the run ends right after."""
        self.running.discard(job.trial_id)

    def tell(self, job: Job, observation: Observation) -> None:
        self.running.discard(job.trial_id)
        self.paid[job.trial_id] = max(self.paid.get(job.trial_id, 0), int(job.epoch))
        self.history.append(observation)
        self._tell(job, observation)

    @abc.abstractmethod
    def _ask(self) -> Job | None:
        """Return the next job, or ``None`` when nothing can start now."""

    @abc.abstractmethod
    def _tell(self, job: Job, observation: Observation) -> None:
        """Update the method's state with a finished job."""

    def params(self) -> dict[str, Any]:
        """The method's parameters as recorded in results (override to list them)."""
        return {}
