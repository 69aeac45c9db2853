"""A live curve source: configurations are trained on demand, resumed, and served like a tabular task's epochs.

:class:`LiveTask` holds one :class:`~lcsim.live.trainer.Trainer` per trial. ``train(trial_id, config, e)`` trains that
trial up to epoch ``e`` (resuming from where it stopped) and returns the per-epoch records 1..e, with every metric and
proxy of the trainer; ``observe(job)`` turns an optimizer's :class:`~lcsim.optimizers._base.Job` into the
:class:`~lcsim.optimizers._base.Observation` the ask/tell interface expects (values of the newly paid epochs, their
measured seconds as cost). :meth:`LiveTask.problem` gives the :class:`~lcsim.optimizers._base.Problem` (no candidate
pool unless one is given) and :meth:`LiveTask.run` a serial ask/tell loop (why not the replay engine: its docstring).

FGHPO "live" mode (Algorithm 1)::

    live = LiveTask(load_dataset("iris", seed=0), "mlp", lcbench_mlp_space(), seed=0, max_epoch=100)
    configs = sample_configs(live.space, 50, seed=1).to_dict("records")
    s = [live.train(i, c, 1)[-1]["sharpness"] for i, c in enumerate(configs)]     # one epoch each
    keep = [i for i in np.argsort(s) if s[i] > 0][:10]                           # 0 = no information
    final = {i: live.train(i, configs[i], 100)[-1]["valid_loss"] for i in keep}  # continues from epoch 1

Seeds: the run of a configuration is seeded from ``(seed, canonical configuration)``, so the same configuration gives
the same curve whichever trial asks for it and in whichever order.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
from ConfigSpace import ConfigurationSpace

from ..errors import BudgetError, InvalidParameterError, check_int, unknown_name
from ..seeding import derive
from .datasets import Dataset
from .spaces import canonical_config, lcbench_mlp_space
from .trainer import METRIC_DIRECTIONS, Trainer, metric_names

__all__ = ["LiveTask"]


class LiveTask:
    """Train configurations of ``space`` on ``dataset`` on demand, with freeze-thaw resumption.

    Args:
        dataset: the data.
        family: model family (see :data:`lcsim.live.models.MODEL_FAMILIES`).
        space: the search space (ConfigSpace); configurations are dicts of its hyperparameters.
        seed: root seed of every run.
        max_epoch: the maximum budget.
        objective: metric served as the objective (default ``valid_loss``, minimized).
        candidates: optional configuration pool (DataFrame); jobs may then name a ``config_id``.
        trainer_options: keyword arguments for every :class:`Trainer` (``device``, ``gn``, ``sharpness_*``).
        diverged_value: objective value served for epochs at and after a divergence; ``None``: the worst finite
            objective value seen so far by this task, but at least ``log(n_classes)`` for losses (a uniform
            prediction) and at most 0 for maximized metrics.
    """

    def __init__(self, dataset: Dataset, family: str = "mlp", space: ConfigurationSpace | None = None, *, seed=0,
                 max_epoch: int = 50, objective: str = "valid_loss", candidates: pd.DataFrame | None = None,
                 trainer_options: dict | None = None, diverged_value: float | None = None, min_epoch: int = 1):
        self.dataset = dataset
        self.family = family
        self.space = space if space is not None else lcbench_mlp_space()
        self.seed = seed
        self.max_epoch = check_int("LiveTask", "max_epoch", max_epoch, 1)
        self.min_epoch = check_int("LiveTask", "min_epoch", min_epoch, 1, self.max_epoch)
        self.trainer_options = dict(trainer_options or {})
        self.metrics = metric_names(bool(self.trainer_options.get("gn", False)))
        if objective not in self.metrics:
            raise unknown_name("objective metric", objective, self.metrics)
        self.objective = objective
        self.minimize = METRIC_DIRECTIONS[objective]
        self.candidates = None if candidates is None else candidates.reset_index(drop=True)
        self.diverged_value = diverged_value
        self.trainers: dict[int, Trainer] = {}
        self._configs: dict[int, dict] = {}
        self._worst: float | None = None

    # ------------------------------------------------------------------------------------------------- interface
    def problem(self, n_workers: int = 1):
        """The :class:`~lcsim.optimizers._base.Problem` an optimizer is built for."""
        from ..optimizers._base import Problem

        return Problem(self.space, self.min_epoch, self.max_epoch, self.minimize, self.candidates, n_workers,
                       self.objective, metric_names=tuple(self.metrics))

    def run_seed(self, config: dict):
        """The seed of ``config``'s run (derived from the root seed and the canonical configuration)."""
        return derive(self.seed, "live", canonical_config(config))

    def trainer(self, trial_id: int, config: dict) -> Trainer:
        """The trial's trainer, created on first use; a trial keeps its configuration."""
        if trial_id in self.trainers:
            if canonical_config(self._configs[trial_id]) != canonical_config(config):
                raise InvalidParameterError(f"Trial {trial_id} was started with {self._configs[trial_id]}; it "
                                            f"cannot continue with a different configuration {config}.")
            return self.trainers[trial_id]
        t = Trainer(self.dataset, self.family, dict(config), self.run_seed(config), **self.trainer_options)
        self.trainers[trial_id] = t
        self._configs[trial_id] = dict(config)
        return t

    def train(self, trial_id: int, config: dict, epoch: int) -> list[dict]:
        """Train trial ``trial_id`` (configuration ``config``) up to ``epoch`` and return its records 1..epoch
        (shorter when the run diverged; each record has a ``diverged`` flag)."""
        epoch = check_int("LiveTask.train", "epoch", epoch, 1)
        if epoch > self.max_epoch:
            raise BudgetError(f"Epoch {epoch} out of range: valid epochs are 1..{self.max_epoch}.")
        recs = self.trainer(trial_id, config).train_until(epoch)
        for r in recs:
            v = r[self.objective]
            if math.isfinite(v):
                worse = self._worst is None or (v > self._worst if self.minimize else v < self._worst)
                self._worst = v if worse else self._worst
        return recs

    def release(self, trial_id: int) -> None:
        """Forget a trial's trainer (frees its model and optimizer state)."""
        self.trainers.pop(trial_id, None)
        self._configs.pop(trial_id, None)

    def served_diverged_value(self) -> float:
        if self.diverged_value is not None:
            return float(self.diverged_value)
        if self.minimize:
            base = math.log(self.dataset.n_classes) if self.objective.endswith("_loss") else 0.0
            return max(base, self._worst if self._worst is not None else base)
        return min(0.0, self._worst if self._worst is not None else 0.0)

    def _job_config(self, job) -> tuple[dict, int | None]:
        if job.config is not None:
            return dict(job.config), job.config_id
        if job.config_id is not None and self.candidates is not None:
            row = self.candidates.iloc[int(job.config_id)]
            return {k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()}, int(job.config_id)
        if job.trial_id in self._configs:
            return self._configs[job.trial_id], job.config_id
        raise InvalidParameterError(f"Job {job} names neither a configuration nor a candidate row of this task.")

    def observe(self, job):
        """Train for ``job`` and return its :class:`~lcsim.optimizers._base.Observation`.

        ``epochs`` are the newly paid epochs (or just ``job.epoch`` when it was already paid); ``cost`` is the sum of
        their measured ``epoch_seconds``; ``metrics`` has shape (len(epochs), len(self.metrics)).
        """
        from ..optimizers._base import Observation

        config, config_id = self._job_config(job)
        before = self.trainers[job.trial_id].epoch if job.trial_id in self.trainers else 0
        recs = self.train(job.trial_id, config, job.epoch)
        first = min(before + 1, job.epoch)
        epochs = np.arange(first, job.epoch + 1)
        bad = self.served_diverged_value()
        vals, mets, cost = [], [], 0.0
        for e in epochs:
            if e <= len(recs):
                r = recs[e - 1]
                v = r[self.objective]
                vals.append(v if math.isfinite(v) else bad)
                mets.append([r[m] for m in self.metrics])
                if e > before:
                    cost += r["epoch_seconds"]
            else:
                vals.append(bad)
                mets.append([np.nan] * len(self.metrics))
        diverged = bool(recs and recs[-1]["diverged"])
        return Observation(job.trial_id, config_id, epochs, np.asarray(vals, dtype=float), diverged, float(cost),
                           np.asarray(mets, dtype=float))

    def run(self, optimizer, max_epochs_total: int) -> pd.DataFrame:
        """A serial ask/tell loop until ``max_epochs_total`` epochs were trained (or the method stops).

        This is not :func:`lcsim.replay.run`: the engine schedules a job from the recorded cost of its epochs before
        the job runs (that is what puts asynchronous workers on a simulated clock), and a live trial's cost is only
        known once it has trained; training whole curves up front would throw away what freeze-thaw saves. The
        table has the engine's columns for what both know: one row per observed (trial, epoch) with trial_id,
        config_id, epoch, objective, diverged, cost (measured seconds of the newly trained epochs, on the job's last
        row), sim_time (cumulative measured seconds), budget_used (epochs trained so far) and ``m_<metric>`` per
        metric; there is no oracle, so no regret.
        """
        max_epochs_total = check_int("LiveTask.run", "max_epochs_total", max_epochs_total, 1)
        rows, used, clock = [], 0, 0.0
        while used < max_epochs_total:
            job = optimizer.ask()
            if job is None:
                break
            before = self.trainers[job.trial_id].epoch if job.trial_id in self.trainers else 0
            obs = self.observe(job)
            optimizer.tell(job, obs)
            used += max(0, job.epoch - before)
            clock += float(obs.cost)
            last = len(obs.epochs) - 1
            for k, e in enumerate(obs.epochs):
                rows.append({"trial_id": job.trial_id, "config_id": obs.config_id, "epoch": int(e),
                             "objective": float(obs.values[k]), "diverged": obs.diverged,
                             "cost": float(obs.cost) if k == last else 0.0, "sim_time": clock, "budget_used": used,
                             **{f"m_{m}": float(obs.metrics[k, j]) for j, m in enumerate(self.metrics)}})
        return pd.DataFrame(rows)
