"""Search scores computed from one epoch's metrics: the AGN paper's search objectives (eq. 6), all minimized.

* ``"agn_train"``: ``alpha * AGN(theta_T) + train loss``;
* ``"agn_val"``:   ``alpha * AGN(theta_T) + validation loss``;
* ``"val"``:       validation loss alone (the paper's "Val" rows).

``AGN(theta_T)`` is the accumulated approximated gradient norm (eq. 5), recorded by :class:`lcsim.live.Trainer` as
``agn_sum``. The black-box methods minimize one of them when built with ``score=<name>``
(:class:`lcsim.optimizers.blackbox.BlackBox`, e.g. ``--param cmaes.score=agn_train`` on the command line); the AGN
protocol (:mod:`lcsim.proxy.agn_search`) and the task serving them per epoch (:mod:`lcsim.proxy.agn_task`) read
them from here.
"""
from __future__ import annotations

from ..errors import check_choice, check_int, unknown_name

__all__ = ["OBJECTIVES", "check_agn_metrics", "agn_objective"]

#: objective name -> metrics it reads
OBJECTIVES = {"val": ("valid_loss",), "agn_train": ("agn_sum", "train_loss"), "agn_val": ("agn_sum", "valid_loss")}


def check_agn_metrics(metric_names, objective: str) -> None:
    """Raise when ``metric_names`` lacks a metric that ``objective`` reads."""
    check_choice("agn_objective", "objective", objective, list(OBJECTIVES))
    for m in OBJECTIVES[objective]:
        if m not in metric_names:
            raise unknown_name(f"metric needed by objective {objective!r}", m, metric_names)


def agn_objective(row: dict, objective: str, alpha: float = 0.1, epoch: int | None = None) -> float:
    """Eq. 6 (or validation loss) from one epoch's metrics ``row`` (name -> value); NaN when any input is NaN.

    ``epoch``: when given, AGN is normalized to ``agn_sum / epoch`` (the multi-fidelity objective of
    :mod:`lcsim.proxy.agn_search`).
    """
    check_choice("agn_objective", "objective", objective, list(OBJECTIVES))
    if objective == "val":
        return float(row["valid_loss"])
    loss = row["train_loss"] if objective == "agn_train" else row["valid_loss"]
    agn = row["agn_sum"] if epoch is None else row["agn_sum"] / check_int("agn_objective", "epoch", epoch, 1)
    return float(alpha * agn + loss)
