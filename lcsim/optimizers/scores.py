"""Search scores computed from one epoch's metrics: the AGN paper's search objectives (eq. 6), all minimized.

* ``"agn_train"``: ``alpha * AGN(theta_T) + train loss``;
* ``"agn_val"``:   ``alpha * AGN(theta_T) + validation loss``;
* ``"val"``:       validation loss alone (the paper's "Val" rows).

``AGN(theta_T)`` is read from one of the :class:`lcsim.live.Trainer`'s recorded sums (:data:`AGN_METRICS`, the
``agn_metric`` parameter): ``"agn_end_sum"`` (default) is eq. 5 as the paper defines it, the sum over the epoch ends
t <= T of the mean per-sample squared norm of the last layer's gradient at the end-of-epoch weights theta_t;
``"agn_sum"`` accumulates the same per-sample norms during the training passes (each sample at the weights of its
mini-batch step), which needs no extra pass over the training set. The black-box methods minimize one of the
objectives when built with ``score=<name>`` (:class:`lcsim.optimizers.blackbox.BlackBox`, e.g. ``--param
cmaes.score=agn_train`` on the command line); the AGN protocol (:mod:`lcsim.proxy.agn_search`) and the task serving
them per epoch (:mod:`lcsim.proxy.agn_task`) read them from here.
"""
from __future__ import annotations

from ..errors import check_choice, check_int, unknown_name

__all__ = ["OBJECTIVES", "AGN_METRICS", "objective_metrics", "check_agn_metrics", "agn_objective"]

#: objective name -> the loss metric it reads (the AGN objectives add ``alpha * AGN(theta_T)`` to it)
OBJECTIVES = {"val": "valid_loss", "agn_train": "train_loss", "agn_val": "valid_loss"}

#: recorded columns that can serve as AGN(theta_T): eq. 5 at the epoch ends (default), or the training passes' sum
AGN_METRICS = ("agn_end_sum", "agn_sum")


def objective_metrics(objective: str, agn_metric: str = "agn_end_sum") -> tuple[str, ...]:
    """The metrics that ``objective`` reads, AGN taken from the column ``agn_metric``."""
    check_choice("agn_objective", "objective", objective, list(OBJECTIVES))
    check_choice("agn_objective", "agn_metric", agn_metric, AGN_METRICS)
    return (OBJECTIVES[objective],) if objective == "val" else (agn_metric, OBJECTIVES[objective])


def check_agn_metrics(metric_names, objective: str, agn_metric: str = "agn_end_sum") -> None:
    """Raise when ``metric_names`` lacks a metric that ``objective`` reads."""
    for m in objective_metrics(objective, agn_metric):
        if m not in metric_names:
            raise unknown_name(f"metric needed by objective {objective!r}", m, metric_names)


def agn_objective(row: dict, objective: str, alpha: float = 0.1, epoch: int | None = None,
                  agn_metric: str = "agn_end_sum") -> float:
    """Eq. 6 (or validation loss) from one epoch's metrics ``row`` (name -> value); NaN when any input is NaN.

    ``epoch``: when given, AGN is normalized to ``AGN(theta_T) / epoch`` (the multi-fidelity objective of
    :mod:`lcsim.proxy.agn_search`). ``agn_metric``: the column holding AGN(theta_T) (:data:`AGN_METRICS`).
    """
    metrics = objective_metrics(objective, agn_metric)
    if objective == "val":
        return float(row[metrics[0]])
    agn, loss = row[agn_metric], row[metrics[1]]
    if epoch is not None:
        agn = agn / check_int("agn_objective", "epoch", epoch, 1)
    return float(alpha * agn + loss)
