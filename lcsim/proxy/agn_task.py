"""A live task serving the AGN paper's search objectives at every epoch, for methods that read the served objective
(BOHB, Hyperband, random search); see :mod:`lcsim.proxy.agn_search` for the protocol and the normalization."""
from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from ..errors import check_float
from ..live import LiveTask
from ..optimizers.scores import agn_objective, check_agn_metrics

__all__ = ["AGNObjectiveTask"]


class AGNObjectiveTask(LiveTask):
    """A :class:`~lcsim.live.LiveTask` that serves an AGN-paper objective (eq. 6 or the validation loss) per epoch.

    Args (besides :class:`~lcsim.live.LiveTask`'s):
        search_objective: ``val``, ``agn_train`` or ``agn_val``.
        alpha: weight of AGN.
        normalize: serve ``alpha * AGN(theta_t) / t + loss`` at epoch ``t`` (the multi-fidelity objective) instead
            of ``alpha * AGN(theta_t) + loss``.
        agn_metric: the recorded column read as AGN(theta_t) (:data:`lcsim.optimizers.scores.AGN_METRICS`; default
            ``"agn_end_sum"``, eq. 5).

    Epochs whose metrics are not finite (divergence) are served the worst finite objective value this task has served
    so far (1e6 before any); the observation keeps its ``diverged`` flag, which BOHB turns into ``+inf``. The
    trainers' records, ``LiveTask.run``'s table (column ``objective`` holds the served value) and every other
    behaviour are LiveTask's.
    """

    def __init__(self, *args, search_objective: str = "val", alpha: float = 0.1, normalize: bool = True,
                 agn_metric: str = "agn_end_sum", **kw):
        super().__init__(*args, **kw)
        check_agn_metrics(self.metrics, search_objective, agn_metric)
        self.search_objective, self.agn_metric = search_objective, agn_metric
        self.alpha = check_float("AGNObjectiveTask", "alpha", alpha, 0.0, None)
        self.normalize = bool(normalize)
        self._served_worst: float | None = None

    def served(self, row: dict, epoch: int) -> float:
        """The objective served for the metrics ``row`` (name -> value) of epoch ``epoch``."""
        return agn_objective(row, self.search_objective, self.alpha, epoch if self.normalize else None,
                             self.agn_metric)

    def observe(self, job):
        obs = super().observe(job)
        vals = []
        for e, m in zip(obs.epochs, obs.metrics):
            v = self.served(dict(zip(self.metrics, m)), int(e))
            if math.isfinite(v):
                self._served_worst = v if self._served_worst is None else max(self._served_worst, v)
            vals.append(v)
        bad = self._served_worst if self._served_worst is not None else 1e6
        return replace(obs, values=np.array([v if math.isfinite(v) else bad for v in vals], dtype=float))
