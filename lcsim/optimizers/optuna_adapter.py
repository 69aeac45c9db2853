"""Optuna (Akiba et al. 2019) behind lcsim's ask/tell: any Optuna sampler and pruner on the simulated clock.

This is an adapter, not a reimplementation: an Optuna ``Study`` (in-memory storage) is driven through its own
ask-and-tell interface, one Optuna trial per lcsim trial, advanced epoch by epoch the way an Optuna objective with a
training loop would run it:

* ``ask``: resume the oldest trial that is waiting for its next epoch, else ``study.ask(distributions)`` a new trial
  and train its first epoch; every job is one epoch (``Job.epoch = paid + 1``), so lcsim pays one epoch per step and
  several simulated workers each carry one Optuna trial at a time (Optuna's ``n_jobs`` with a pruned objective);
* ``tell``: ``trial.report(value, step=epoch)`` for every paid epoch, then ``trial.should_prune()``: a pruned trial is
  told ``TrialState.PRUNED`` and never resumed; a trial that reaches ``problem.max_epoch`` is told ``COMPLETE`` with
  its final value; otherwise it waits for the next ask.

Mapping:

* search space (:func:`optuna_distributions`): floats and integers -> ``FloatDistribution`` / ``IntDistribution``
  with their bounds and ``log`` flag (Normal/Beta priors of ConfigSpace become their bounded range: Optuna
  distributions carry no prior); categoricals -> ``CategoricalDistribution``; ordinals -> ``IntDistribution`` over the
  position in the sequence (Optuna has no ordinal type; an integer keeps the order samplers model); constants are
  not suggested, they are added to every configuration. Conditional spaces are refused;
* direction: the study minimizes or maximizes the served objective as the task says (``problem.minimize``); values
  are never negated, so pruners compare them as Optuna documents;
* tabular tasks: the trial's configuration goes out as ``Job.config`` and the engine serves the nearest unused
  candidate (:meth:`~lcsim.optimizers._base.Problem.nearest_candidate`), as for the other proposing methods; the
  sampler learns the proposed parameters with the served candidate's values (Optuna's ``tell`` only accepts the
  trial it asked). The served row is recorded as the trial's user attribute ``config_id``;
* diverged runs: the served value (the task's worst value) is reported like any other;
* seed: a sampler named by its class gets ``seed=lcsim.seeding.int_seed(seed)`` (``self.sampler_seed``); a sampler
  instance is used as given, with its own seed. The study is named ``lcsim-optuna-{sampler_seed}``: Optuna's
  ``HyperbandPruner`` assigns trials to brackets by a hash of the study name, so a fixed name keeps runs
  deterministic (Optuna's default name is a random UUID).

After a run, ``self.study`` is an ordinary Optuna study (``best_trial``, ``trials_dataframe()``, visualizations).
"""
from __future__ import annotations

import contextlib
import inspect

from ConfigSpace import CategoricalHyperparameter, ConfigurationSpace, Constant, OrdinalHyperparameter
from ConfigSpace.hyperparameters import FloatHyperparameter, IntegerHyperparameter

from ..errors import InvalidParameterError, check_int, unknown_name
from ..seeding import int_seed
from ._base import Job, Observation, Optimizer, Problem

__all__ = ["Optuna", "optuna_distributions", "config_from_params", "sampler_names", "pruner_names"]

_INSTALL = "The 'optuna' method needs Optuna: pip install 'lcsim[optuna]' (or pip install 'optuna>=3.6')."


def _optuna():
    try:
        import optuna
    except ImportError as exc:
        raise ImportError(_INSTALL) from exc
    return optuna


def optuna_distributions(space: ConfigurationSpace) -> dict:
    """Optuna distributions of the non-constant hyperparameters of ``space``, in the space's order (see the module
    docstring for the mapping)."""
    distributions = _optuna().distributions
    if list(space.conditions) or list(space.forbidden_clauses):
        raise InvalidParameterError("The 'optuna' method does not support conditional or forbidden clauses in the "
                                    "search space; give it an unconditional ConfigSpace.")
    out = {}
    for hp in space.values():
        if isinstance(hp, Constant):
            continue
        if isinstance(hp, CategoricalHyperparameter):
            out[hp.name] = distributions.CategoricalDistribution([_plain(c) for c in hp.choices])
        elif isinstance(hp, OrdinalHyperparameter):
            out[hp.name] = distributions.IntDistribution(0, len(hp.sequence) - 1)
        elif isinstance(hp, IntegerHyperparameter):
            out[hp.name] = distributions.IntDistribution(int(hp.lower), int(hp.upper), log=bool(hp.log))
        elif isinstance(hp, FloatHyperparameter):
            out[hp.name] = distributions.FloatDistribution(float(hp.lower), float(hp.upper), log=bool(hp.log))
        else:
            raise InvalidParameterError(f"The 'optuna' method cannot map hyperparameter {hp.name!r} of type "
                                        f"{type(hp).__name__}; supported: floats, integers, categoricals, ordinals, "
                                        "constants.")
    return out


def _plain(value):
    """A numpy scalar as the Python value Optuna's categorical distribution accepts."""
    return value.item() if hasattr(value, "item") else value


def config_from_params(space: ConfigurationSpace, params: dict) -> dict:
    """The configuration of Optuna ``params``: ordinal positions -> sequence values, constants added."""
    out = {}
    for hp in space.values():
        if isinstance(hp, Constant):
            out[hp.name] = _plain(hp.value)
        elif isinstance(hp, OrdinalHyperparameter):
            out[hp.name] = _plain(hp.sequence[int(params[hp.name])])
        else:
            out[hp.name] = params[hp.name]
    return out


def _constructible(module, base) -> dict[str, type]:
    """Classes of ``module.__all__`` deriving from ``base`` that can be built without arguments (besides a seed)."""
    out = {}
    for n in getattr(module, "__all__", []):
        cls = getattr(module, n, None)
        if not (inspect.isclass(cls) and issubclass(cls, base)) or cls is base or inspect.isabstract(cls):
            continue
        try:
            sig = inspect.signature(cls.__init__)
        except (TypeError, ValueError):
            continue
        required = [p for p in list(sig.parameters.values())[1:] if p.default is inspect.Parameter.empty
                    and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
        if not required:
            out[n] = cls
    return out


def sampler_names() -> list[str]:
    """Optuna sampler classes that the ``sampler`` parameter accepts by name (built with their defaults)."""
    optuna = _optuna()
    return sorted(_constructible(optuna.samplers, optuna.samplers.BaseSampler))


def pruner_names() -> list[str]:
    """Optuna pruner classes that the ``pruner`` parameter accepts by name (built with their defaults)."""
    optuna = _optuna()
    return sorted(_constructible(optuna.pruners, optuna.pruners.BasePruner))


@contextlib.contextmanager
def _quiet(optuna):
    """Silence Optuna's per-trial INFO lines for the duration of a call and restore the caller's verbosity."""
    level = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        yield
    finally:
        optuna.logging.set_verbosity(level)


class Optuna(Optimizer):
    """An Optuna study (sampler + pruner) stepped one epoch at a time on lcsim's engine.

    Args:
        problem: the task's problem.
        seed: lcsim seed; a sampler named by its class gets ``int_seed(seed)``.
        sampler: an Optuna sampler class name (``"TPESampler"``, the Optuna default; see :func:`sampler_names`) or a
            ``optuna.samplers.BaseSampler`` instance.
        pruner: an Optuna pruner class name (``"MedianPruner"``, the Optuna default; ``"NopPruner"`` never prunes;
            see :func:`pruner_names`) or an ``optuna.pruners.BasePruner`` instance.
        n_trials: stop starting Optuna trials after this many (started trials still finish); ``None``: the budget
            ends the run.
    """

    #: not in the CLI's quick default comparison: Optuna is an optional dependency (``lcsim[optuna]``) and this is the
    #: bridge for the user's own samplers and pruners rather than a baseline of the papers; it runs when named
    slow = True

    name = "optuna"
    proposes_configs = True

    def __init__(self, problem: Problem, seed, sampler="TPESampler", pruner="MedianPruner",
                 n_trials: int | None = None):
        super().__init__(problem, seed)
        optuna = _optuna()
        self._optuna = optuna
        self.n_trials = None if n_trials is None else check_int("Optuna", "n_trials", n_trials, 1)
        self.sampler_seed = int_seed(seed)
        self.sampler = self._build(sampler, "sampler", optuna.samplers, optuna.samplers.BaseSampler)
        self.pruner = self._build(pruner, "pruner", optuna.pruners, optuna.pruners.BasePruner)
        self.distributions = optuna_distributions(problem.space)
        with _quiet(optuna):
            self.study = optuna.create_study(direction="minimize" if problem.minimize else "maximize",
                                             sampler=self.sampler, pruner=self.pruner,
                                             study_name=f"lcsim-optuna-{self.sampler_seed}")
        self._trials: dict[int, object] = {}   # lcsim trial id -> optuna Trial, until it is pruned or complete
        self._waiting: list[int] = []          # trials whose last epoch was told, oldest first
        self._reported: dict[int, int] = {}    # lcsim trial id -> last epoch reported
        self.decisions: list[tuple[int, int, str]] = []  # (optuna trial number, epoch, "pruned" | "complete")

    def _build(self, spec, kind: str, module, base):
        if isinstance(spec, base):
            return spec
        if not isinstance(spec, str):
            raise InvalidParameterError(f"The {kind!r} parameter of Optuna must be an Optuna {kind} class name or a "
                                        f"{base.__module__}.{base.__name__} instance. Got {spec!r}.")
        valid = _constructible(module, base)
        if spec not in valid:
            raise unknown_name(f"Optuna {kind}", spec, valid)
        cls = valid[spec]
        if kind == "sampler" and "seed" in inspect.signature(cls.__init__).parameters:
            return cls(seed=self.sampler_seed)
        return cls()

    def params(self) -> dict:
        return {"sampler": type(self.sampler).__name__, "pruner": type(self.pruner).__name__,
                "n_trials": self.n_trials, "sampler_seed": self.sampler_seed}

    def _ask(self) -> Job | None:
        if self._waiting:
            tid = self._waiting.pop(0)
            return Job(tid, self.paid[tid] + 1)
        if self.n_trials is not None and self._next_trial >= self.n_trials:
            return None
        with _quiet(self._optuna):
            trial = self.study.ask(self.distributions)
        tid = self.new_trial_id()
        self._trials[tid] = trial
        config = config_from_params(self.problem.space, trial.params)
        return Job(tid, self.problem.min_epoch, config=config, info={"optuna_trial": trial.number})

    def _tell(self, job: Job, observation: Observation) -> None:
        trial = self._trials[job.trial_id]
        if job.trial_id not in self._reported and observation.config_id is not None:
            trial.set_user_attr("config_id", int(observation.config_id))
        last = self._reported.get(job.trial_id, 0)
        for epoch, value in zip(observation.epochs, observation.values):
            if int(epoch) > last:
                trial.report(float(value), int(epoch))
                last = int(epoch)
        self._reported[job.trial_id] = last
        state = self._optuna.trial.TrialState
        with _quiet(self._optuna):
            if trial.should_prune():
                self.study.tell(trial, state=state.PRUNED)
                self.decisions.append((trial.number, int(job.epoch), "pruned"))
                del self._trials[job.trial_id]
            elif job.epoch >= self.problem.max_epoch:
                self.study.tell(trial, float(observation.values[-1]), state=state.COMPLETE)
                self.decisions.append((trial.number, int(job.epoch), "complete"))
                del self._trials[job.trial_id]
            else:
                self._waiting.append(job.trial_id)
