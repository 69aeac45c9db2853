"""The one data model every lcsim benchmark is served through.

A :class:`Task` is one dataset of a benchmark: a configuration frame, a dense curve array, metric definitions, the
per-epoch cost, a ConfigSpace search space, an explicit divergence mask, the oracle used for regret and a data
version string. LCBench, PD1, TaskSet, the YAHPO-tabulated LCBench surrogate and tasks built by the live backend all
share this layout, so the replay engine, the optimizers and the analysis never special-case a source.

Divergence rule (stated once, used everywhere): a run is *diverged* when the source marks it so or when its objective
curve holds a non-finite value. Stored curves keep the NaN (the source's truth). Wherever an objective value is
*served* (replay, regret, oracle), a non-finite value is replaced by the task's worst finite objective value, and the
divergence flag travels with it, so a diverged run never looks good and is never silently dropped.
"""
from __future__ import annotations

import io
import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from ConfigSpace import ConfigurationSpace

from .._files import write_atomic
from ..errors import BudgetError, DataFormatError, InvalidParameterError, check_choice, unknown_name

__all__ = ["Metric", "Task", "Oracle", "NORMALISERS", "FORMAT_VERSION"]

FORMAT_VERSION = 1


@dataclass(frozen=True)
class Metric:
    """One recorded quantity along a learning curve.

    Attributes:
        name: column name, e.g. ``"valid_loss"``.
        minimize: whether lower is better (``False`` for accuracies).
        bounds: the values the metric can take, ``(low, high)``; ``-inf``/``inf`` when unbounded.
    """

    name: str
    minimize: bool
    bounds: tuple[float, float] = (-math.inf, math.inf)

    def to_dict(self) -> dict:
        return {"name": self.name, "minimize": bool(self.minimize), "bounds": [float(b) for b in self.bounds]}

    @classmethod
    def from_dict(cls, d: Mapping) -> Metric:
        return cls(str(d["name"]), bool(d["minimize"]), (float(d["bounds"][0]), float(d["bounds"][1])))


#: normalisers of regret (:meth:`Task.oracle_for`): the pool's best and worst seed-averaged served objective at the
#: maximum budget (``"final"``), or at any epoch (``"any_epoch"``, the DPL authors' code)
NORMALISERS = ("final", "any_epoch")


@dataclass(frozen=True)
class Oracle:
    """Reference values of a task's objective for (normalized) regret (DPL eq. 9 and section 6).

    Attributes:
        best: best objective value over the configuration pool (seed-averaged served values; see ``rule``).
        worst: worst objective value over the pool, diverged runs counted at the worst finite value.
        minimize: objective direction.
        rule: which values ``best``/``worst`` range over, one of :data:`NORMALISERS`: ``"final"`` (each
            configuration's value at the maximum budget) or ``"any_epoch"`` (every epoch of every configuration).
    """

    best: float
    worst: float
    minimize: bool
    rule: str = "final"

    def regret(self, value):
        """``max(0, value - best)`` for minimization, ``max(0, best - value)`` for maximization (DPL eq. 9)."""
        v = np.asarray(value, dtype=float)
        r = v - self.best if self.minimize else self.best - v
        return np.maximum(r, 0.0)

    def normalized_regret(self, value):
        """Regret divided by the task's best-worst range (DPL section 6)."""
        span = abs(self.worst - self.best)
        return self.regret(value) / (span if span > 0 else 1.0)


@dataclass(eq=False)
class Task:
    """One dataset of a benchmark, as dense learning curves.

    Attributes:
        benchmark: benchmark name, e.g. ``"taskset"``.
        name: task name within the benchmark.
        configs: DataFrame of shape (n_cfg, n_hp), one typed column per hyperparameter of ``space``.
        curves: float array of shape (n_cfg, n_seed, n_epoch, n_metric); NaN only where the source had none or the
            run diverged.
        metrics: ordered mapping name -> :class:`Metric`; its order is the last axis of ``curves``.
        objective: name of the default objective metric.
        space: ConfigSpace search space (log scales where the source declares them).
        epoch_cost: float array of shape (n_cfg, n_seed, n_epoch): cost of each epoch (seconds when
            ``cost_unit == "seconds"``, else the declared unit cost, normally 1.0).
        cost_unit: ``"seconds"`` or ``"unit"``.
        diverged: bool array of shape (n_cfg, n_seed), True for runs the source or the curves mark as diverged.
        version: data version string, written into every result.
        fidelities: int array of shape (n_epoch,), the budget value of each epoch index (1..n_epoch by default;
            TaskSet steps of 200 iterations are numbered 1..51).
        extra: free-form provenance (source files, checksums, build command).
    """

    benchmark: str
    name: str
    configs: pd.DataFrame
    curves: np.ndarray
    metrics: dict[str, Metric]
    objective: str
    space: ConfigurationSpace
    epoch_cost: np.ndarray
    cost_unit: str
    diverged: np.ndarray
    version: str
    fidelities: np.ndarray | None = None
    extra: dict = field(default_factory=dict)

    def __post_init__(self):
        self.curves = np.asarray(self.curves, dtype=float)
        if self.curves.ndim != 4:
            raise DataFormatError(
                f"Task {self.benchmark}/{self.name}: curves must have shape (n_cfg, n_seed, n_epoch, n_metric); "
                f"got an array with {self.curves.ndim} dimensions, shape {self.curves.shape}.")
        n_cfg, n_seed, n_epoch, n_metric = self.curves.shape
        self.metrics = dict(self.metrics)
        if len(self.metrics) != n_metric:
            raise DataFormatError(
                f"Task {self.benchmark}/{self.name}: {len(self.metrics)} metrics {list(self.metrics)} but curves "
                f"have {n_metric} on their last axis.")
        if self.objective not in self.metrics:
            raise unknown_name("objective metric", self.objective, self.metrics)
        if len(self.configs) != n_cfg:
            raise DataFormatError(
                f"Task {self.benchmark}/{self.name}: {len(self.configs)} configuration rows but curves have "
                f"{n_cfg} on their first axis.")
        self.configs = self.configs.reset_index(drop=True)
        cost = np.asarray(self.epoch_cost, dtype=float)
        if cost.ndim == 0:
            cost = np.full((n_cfg, n_seed, n_epoch), float(cost))
        if cost.shape != (n_cfg, n_seed, n_epoch):
            raise DataFormatError(
                f"Task {self.benchmark}/{self.name}: epoch_cost must be a scalar or have shape "
                f"{(n_cfg, n_seed, n_epoch)}; got {cost.shape}.")
        # a missing cost (diverged tail) is charged like the configuration's median epoch
        if not np.all(np.isfinite(cost)):
            med = np.nanmedian(np.where(np.isfinite(cost), cost, np.nan), axis=2, keepdims=True)
            med = np.where(np.isfinite(med), med, np.nanmedian(cost) if np.isfinite(np.nanmedian(cost)) else 1.0)
            cost = np.where(np.isfinite(cost), cost, med)
        if np.any(cost < 0):
            raise DataFormatError(f"Task {self.benchmark}/{self.name}: negative epoch cost.")
        self.epoch_cost = cost
        if self.cost_unit not in ("seconds", "unit"):
            raise DataFormatError(f"cost_unit must be 'seconds' or 'unit'; got {self.cost_unit!r}.")
        div = np.asarray(self.diverged, dtype=bool)
        if div.shape != (n_cfg, n_seed):
            raise DataFormatError(
                f"Task {self.benchmark}/{self.name}: diverged mask must have shape {(n_cfg, n_seed)}; got {div.shape}.")
        obj = self.curves[..., self.objective_index]
        self.diverged = div | ~np.all(np.isfinite(obj), axis=2)
        if np.all(self.diverged):
            raise DataFormatError(f"Task {self.benchmark}/{self.name}: every run diverged; nothing to serve.")
        if self.fidelities is None:
            self.fidelities = np.arange(1, n_epoch + 1)
        self.fidelities = np.asarray(self.fidelities)
        if self.fidelities.shape != (n_epoch,):
            raise DataFormatError(f"fidelities must have shape ({n_epoch},); got {self.fidelities.shape}.")
        if not self.version:
            raise DataFormatError(f"Task {self.benchmark}/{self.name}: a data version string is required.")
        self._freeze()

    def _freeze(self) -> None:
        """Make the task's arrays read-only views (the caller's arrays keep their flags) and drop the caches: what
        the replay engine serves is copied out of them, so nothing downstream can write into a task."""
        for name in ("curves", "epoch_cost", "diverged", "fidelities"):
            view = getattr(self, name).view()
            view.setflags(write=False)
            setattr(self, name, view)
        self._served = None
        self._first_bad = None

    # ------------------------------------------------------------------ shape helpers
    @property
    def n_configs(self) -> int:
        return self.curves.shape[0]

    @property
    def n_seeds(self) -> int:
        return self.curves.shape[1]

    @property
    def n_epochs(self) -> int:
        return self.curves.shape[2]

    @property
    def max_epoch(self) -> int:
        return self.curves.shape[2]

    @property
    def objective_index(self) -> int:
        return list(self.metrics).index(self.objective)

    @property
    def minimize(self) -> bool:
        return self.metrics[self.objective].minimize

    @property
    def key(self) -> str:
        return f"{self.benchmark}/{self.name}"

    def metric_index(self, name: str) -> int:
        if name not in self.metrics:
            raise unknown_name("metric", name, self.metrics)
        return list(self.metrics).index(name)

    # ------------------------------------------------------------------ served values
    def worst_value(self, metric: str | None = None) -> float:
        """Worst finite value of ``metric`` (default: the objective) anywhere in the task."""
        metric = metric or self.objective
        vals = self.curves[..., self.metric_index(metric)]
        vals = vals[np.isfinite(vals)]
        return float(vals.max() if self.metrics[metric].minimize else vals.min())

    def served_objective(self) -> np.ndarray:
        """Objective curves as served to optimizers: shape (n_cfg, n_seed, n_epoch), non-finite -> worst finite."""
        if self._served is None:
            obj = self.curves[..., self.objective_index]
            self._served = np.where(np.isfinite(obj), obj, self.worst_value())
            self._served.setflags(write=False)
        return self._served

    def first_nonfinite_epoch(self) -> np.ndarray:
        """1-based epoch of each run's first non-finite objective value (``n_epochs + 1`` if none), shape
        (n_cfg, n_seed); a run has diverged by epoch ``e`` iff this is ``<= e``."""
        if self._first_bad is None or len(self._first_bad) != self.n_configs:
            bad = ~np.isfinite(self.curves[..., self.objective_index])
            first = np.where(bad.any(axis=2), bad.argmax(axis=2) + 1, self.n_epochs + 1)
            first.setflags(write=False)
            self._first_bad = first
        return self._first_bad

    def lookup(self, config_id: int, seed_index: int, first_epoch: int, last_epoch: int, copy: bool = False) -> dict:
        """Values of epochs ``first_epoch..last_epoch`` (1-based, inclusive) of one run.

        Returns a dict with ``objective`` (served values, shape (k,)), ``metrics`` (raw values, shape (k, n_metric)),
        ``cost`` (shape (k,)) and ``diverged`` (bool: the run diverged at or before ``last_epoch``). The arrays are
        read-only views of the task's, or with ``copy`` arrays of their own (what the replay engine hands a method).
        """
        curves = self.curves
        if not (1 <= first_epoch <= last_epoch <= curves.shape[2]):
            raise BudgetError(
                f"Epochs {first_epoch}..{last_epoch} out of range for task {self.key}: valid epochs are "
                f"1..{self.n_epochs}.")
        # called once per finished job of a replay: the caches are read directly when they are valid
        served = self._served if self._served is not None else self.served_objective()
        first_bad = self._first_bad
        if first_bad is None or len(first_bad) != len(curves):
            first_bad = self.first_nonfinite_epoch()
        sl = slice(first_epoch - 1, last_epoch)
        objective, metrics = served[config_id, seed_index, sl], curves[config_id, seed_index, sl, :]
        return {
            "objective": objective.copy() if copy else objective,
            "metrics": metrics.copy() if copy else metrics,
            "cost": self.epoch_cost[config_id, seed_index, sl],
            "diverged": bool(first_bad[config_id, seed_index] <= last_epoch),
        }

    def lookup_points(self, config_ids, seed_index: int, epochs) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Vectorized :meth:`lookup` of single epochs: (served objective (n,), metrics (n, n_metric), diverged (n,))
        at the (config, epoch) pairs ``config_ids[i], epochs[i]`` (1-based) of run ``seed_index``. ``diverged`` is
        sticky: true from the run's first non-finite epoch on."""
        cfg = np.asarray(config_ids, dtype=np.int64)
        ep = np.asarray(epochs, dtype=np.int64)
        if cfg.shape != ep.shape or cfg.ndim != 1:
            raise InvalidParameterError(
                f"config_ids and epochs must be 1-D of one length; got {cfg.shape}, {ep.shape}.")
        if len(ep) and (ep.min() < 1 or ep.max() > self.n_epochs or cfg.min() < 0 or cfg.max() >= self.n_configs):
            raise BudgetError(f"Points out of range for task {self.key}: valid epochs are 1..{self.n_epochs}, valid "
                              f"config ids 0..{self.n_configs - 1}.")
        return (self.served_objective()[cfg, seed_index, ep - 1], self.curves[cfg, seed_index, ep - 1, :],
                self.first_nonfinite_epoch()[cfg, seed_index] <= ep)

    @property
    def oracle(self) -> Oracle:
        """Best and worst final objective over the pool (seed-averaged served values); see :class:`Oracle`."""
        return self.oracle_for("final")

    def oracle_for(self, rule: str = "final") -> Oracle:
        """The regret reference of ``rule`` (:data:`NORMALISERS`): best and worst seed-averaged served objective
        over the pool at the maximum budget (``"final"``) or at any epoch (``"any_epoch"``: the DPL authors' code
        normalizes by the best and worst value anywhere on the pool's curves)."""
        check_choice("Task.oracle_for", "rule", rule, NORMALISERS)
        served = self.served_objective()
        values = served[:, :, -1].mean(axis=1) if rule == "final" else served.mean(axis=1)
        lo, hi = float(values.min()), float(values.max())
        return Oracle(lo, hi, True, rule) if self.minimize else Oracle(hi, lo, False, rule)

    def final_objective(self) -> np.ndarray:
        """Seed-averaged served objective at the maximum budget, shape (n_cfg,)."""
        return self.served_objective()[:, :, -1].mean(axis=1)

    def subset(self, config_ids) -> Task:
        """A new Task restricted to ``config_ids`` (e.g. the DPL authors' filtered TaskSet pool)."""
        ids = np.asarray(config_ids, dtype=int)
        return Task(self.benchmark, self.name, self.configs.iloc[ids].reset_index(drop=True), self.curves[ids],
                    self.metrics, self.objective, self.space, self.epoch_cost[ids], self.cost_unit,
                    self.diverged[ids], self.version, self.fidelities, dict(self.extra, subset=len(ids)))

    def __repr__(self) -> str:
        return (f"Task({self.key!r}, n_cfg={self.n_configs}, n_seed={self.n_seeds}, n_epoch={self.n_epochs}, "
                f"metrics={list(self.metrics)}, objective={self.objective!r}, version={self.version!r})")

    # ------------------------------------------------------------------ storage
    def to_bytes(self, dtype: str = "float32") -> bytes:
        """Serialize to lcsim's binary task format (an ``.npz`` with a JSON header).

        Args:
            dtype: storage type of ``curves`` and ``epoch_cost``: ``"float32"`` (default: the parsed-task cache and the
                embedded files; about 7 significant digits, more than any source's curves carry) or ``"float64"``
                (exact round trip of float64 values).
        """
        check_choice("Task.save", "dtype", dtype, ("float64", "float32"))
        header = {
            "format_version": FORMAT_VERSION,
            "benchmark": self.benchmark,
            "name": self.name,
            "metrics": [m.to_dict() for m in self.metrics.values()],
            "objective": self.objective,
            "cost_unit": self.cost_unit,
            "version": self.version,
            "space": self.space.to_serialized_dict(),
            "config_columns": list(self.configs.columns),
            "config_dtypes": [str(t) for t in self.configs.dtypes],
            "extra": self.extra,
        }
        # string / object columns (categorical hyperparameters) as fixed-width unicode: loadable without pickle
        arrays = {f"cfg_{i}": (self.configs[c].to_numpy(dtype=str)
                               if self.configs[c].dtype.kind not in "biufcmM" else self.configs[c].to_numpy())
                  for i, c in enumerate(self.configs.columns)}
        buf = io.BytesIO()
        np.savez_compressed(buf, header=np.frombuffer(json.dumps(header).encode(), dtype=np.uint8),
                            curves=self.curves.astype(dtype), epoch_cost=self.epoch_cost.astype(dtype),
                            diverged=self.diverged, fidelities=self.fidelities, **arrays)
        return buf.getvalue()

    def save(self, path: str | os.PathLike, dtype: str = "float32") -> Path:
        """Write the task atomically to ``path`` (``.npz``); ``dtype`` as in :meth:`to_bytes`."""
        write_atomic(path, self.to_bytes(dtype))
        return Path(path)

    @classmethod
    def from_file(cls, path: str | os.PathLike) -> Task:
        """Read a task written by :meth:`save`; a truncated or foreign file raises :class:`DataFormatError`."""
        path = Path(path)
        try:
            with np.load(path, allow_pickle=False) as z:
                header = json.loads(bytes(z["header"]).decode())
                configs = pd.DataFrame({c: z[f"cfg_{i}"] for i, c in enumerate(header["config_columns"])})
                for c, t in zip(header["config_columns"], header["config_dtypes"]):
                    configs[c] = configs[c].astype(t)
                curves, cost = z["curves"].astype(float), z["epoch_cost"].astype(float)
                diverged, fidelities = z["diverged"], z["fidelities"]
        except FileNotFoundError:
            raise
        except Exception as exc:  # zipfile.BadZipFile, KeyError, EOFError, JSON errors ...
            raise DataFormatError(f"{path} is not a readable lcsim task file ({type(exc).__name__}: {exc}). "
                                  "Delete it and rebuild or re-download it.") from exc
        if header.get("format_version") != FORMAT_VERSION:
            raise DataFormatError(f"{path}: task format version {header.get('format_version')} is not "
                                  f"{FORMAT_VERSION}; delete it to rebuild.")
        return cls(header["benchmark"], header["name"], configs, curves,
                   {m["name"]: Metric.from_dict(m) for m in header["metrics"]}, header["objective"],
                   ConfigurationSpace.from_serialized_dict(header["space"]), cost, header["cost_unit"], diverged,
                   header["version"],
                   fidelities, header.get("extra", {}))
