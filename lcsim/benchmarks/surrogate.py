"""Tasks served by a surrogate model: any configuration of the space can be evaluated, not only a fixed pool.

A :class:`SurrogateTask` starts from a *reference* tabulation (a seeded sample of configurations, e.g. 2000 for
YAHPO-LCBench) and grows its pool whenever a method proposes a configuration: the engine calls
:meth:`SurrogateTask.add_config`, which queries the model for the whole curve of that configuration and appends it as
a new row. The replay engine then serves that row like any tabular one, so the no-look-ahead guarantee, costs and
freeze-thaw are the same as on tables.

Regret on a surrogate task needs a reference optimum that does not move while a run proposes configurations: the
oracle is fixed to the reference tabulation's (best/worst final value over the reference sample). A proposal better
than the reference best gets regret 0 (DPL eq. 9 is clipped at 0).
"""
from __future__ import annotations

import copy
from collections.abc import Callable

import numpy as np
import pandas as pd
from ConfigSpace import Configuration

from ..errors import InvalidParameterError
from ._base import Oracle, Task

__all__ = ["SurrogateTask"]

CurveFn = Callable[[pd.DataFrame], "tuple[np.ndarray, np.ndarray]"]


class SurrogateTask(Task):
    """A :class:`Task` whose configuration pool grows on demand from a surrogate.

    Args:
        reference: the reference tabulation (its rows are config ids ``0..n_ref-1``; its oracle is kept).
        curve_fn: maps a one-row configuration frame (columns as ``reference.configs``) to ``(curves, cost)`` of
            shapes (1, n_seed, n_epoch, n_metric) and (1, n_seed, n_epoch), as the reference was built.
    """

    accepts_configs = True

    def __init__(self, reference: Task, curve_fn: CurveFn):
        fields = {k: getattr(reference, k) for k in ("benchmark", "name", "configs", "curves", "metrics",
                                                      "objective", "space", "epoch_cost", "cost_unit", "diverged",
                                                      "version", "fidelities", "extra")}
        super().__init__(**fields)
        self.extra = dict(self.extra, surrogate="direct", n_reference=reference.n_configs)
        self._reference = reference
        self._curve_fn = curve_fn
        self._oracle = reference.oracle
        self.n_reference = reference.n_configs

    @property
    def oracle(self) -> Oracle:
        """The reference tabulation's oracle (fixed while the pool grows)."""
        return self._oracle

    def fresh(self) -> SurrogateTask:
        """A new task with the reference pool only (the replay engine runs every run on its own copy)."""
        return SurrogateTask(self._reference, self._curve_fn)

    def add_config(self, config: dict) -> int:
        """Evaluate ``config`` with the surrogate, append it to the pool and return its config id.

        Raises:
            InvalidParameterError: the configuration is not valid in the task's space (the message names it).
        """
        try:
            conf = Configuration(self.space, values={k: config[k] for k in self.configs.columns if k in config})
        except Exception as exc:  # ConfigSpace raises several types for illegal values
            raise InvalidParameterError(f"Configuration {config} is not valid in the space of {self.key}: {exc}. "
                                        f"Valid hyperparameters: {list(self.space.keys())}.") from exc
        row = pd.DataFrame([dict(conf)])[list(self.configs.columns)].astype(self.configs.dtypes.to_dict())
        curves, cost = self._curve_fn(row)
        curves = np.asarray(curves, dtype=float)
        cost = np.asarray(cost, dtype=float)
        if curves.shape != (1,) + self.curves.shape[1:] or cost.shape != (1,) + self.epoch_cost.shape[1:]:
            raise InvalidParameterError(f"curve_fn returned shapes {curves.shape}, {cost.shape}; expected "
                                        f"{(1,) + self.curves.shape[1:]} and {(1,) + self.epoch_cost.shape[1:]}.")
        self.configs = pd.concat([self.configs, row], ignore_index=True)
        self.curves = np.concatenate([self.curves, curves])
        self.epoch_cost = np.concatenate([self.epoch_cost, np.maximum(cost, 0.0)])
        div = ~np.all(np.isfinite(curves[..., self.objective_index]), axis=2)
        self.diverged = np.concatenate([self.diverged, div])
        self._freeze()
        return self.n_configs - 1

    def __copy__(self):
        return copy.deepcopy(self)
