"""AGN-objective hyperparameter search (AGN paper, section 4.1 and appendix A.1).

Search objectives (eq. 6), all minimized, computed from the metrics of the last trained epoch T:

* ``"agn_train"``: ``alpha * AGN(theta_T) + train loss``;
* ``"agn_val"``:   ``alpha * AGN(theta_T) + validation loss``;
* ``"val"``:       validation loss alone (the paper's "Val" rows).

``AGN(theta_T)`` is the accumulated approximated gradient norm (eq. 5, last FC layer, per-sample gradients via
Goodfellow 2015, summed over the epochs), recorded by :class:`lcsim.live.Trainer` as ``agn_sum``.

Protocol (appendix A.1): the search runs in ``rounds`` (paper: 4) of ``per_round`` (paper: 8) configurations trained
in parallel for ``epochs`` epochs each; after every round the black-box method (CMA-ES with population 8, PSO with
8 particles; both start from the section 4.1 initial point) proposes the next 8. The epoch budget is thus
``rounds * per_round * epochs`` (paper: 4 * 8 * 160 = 5,120 GPU x epochs). The search trains on a fixed random 20 %
subset of the training set (``subset``); the chosen configuration is then retrained ``final_repeats`` (paper: 3)
times on the full training set with different seeds and scored on the test set (mean +- std).

BOHB with these objectives: the objective functions here are plain functions of a metric row, so a multi-fidelity
method can use them at any epoch (the paper normalizes AGN for BOHB); lcsim's BOHB lives in another module, and
:func:`agn_search` accepts any method name of :data:`lcsim.optimizers.METHODS` whose constructor takes
``score``/``alpha``.

Scale: :data:`SCALES` ``tiny`` (tests, seconds), ``small`` (default; sklearn ``digits``, MLP 2x64, 4 rounds x 8 x 20
epochs: 640 search epochs on the 20 % subset plus 3 x 20 final epochs per cell, about 1-2 min per (method, objective)
cell on one idle CPU core) and ``paper`` (4 x 8 x 160 epochs, ResNet-20 on CIFAR-10: 5,120 GPU-epochs per cell, about
a day per cell on one GPU; needs the CIFAR files under ``root``; uses CUDA when present).
"""
from __future__ import annotations

import math
import time

import numpy as np
import pandas as pd

from ..errors import InvalidParameterError, check_choice, check_float, check_int, unknown_name
from ..seeding import derive
from .spaces import AGN_INITIAL, agn_space

__all__ = ["agn_objective", "check_agn_metrics", "OBJECTIVES", "SCALES", "reduced", "agn_search", "compare"]

#: objective name -> metrics it reads
OBJECTIVES = {"val": ("valid_loss",), "agn_train": ("agn_sum", "train_loss"), "agn_val": ("agn_sum", "valid_loss")}

#: experiment scales (rounds, per_round, epochs, dataset, family, device)
SCALES = {
    "tiny": dict(rounds=1, per_round=4, epochs=2, dataset="iris", family="mlp"),
    "small": dict(rounds=4, per_round=8, epochs=20, dataset="digits", family="mlp"),
    "paper": dict(rounds=4, per_round=8, epochs=160, dataset="cifar10", family="resnet20"),
}


def check_agn_metrics(metric_names, objective: str) -> None:
    """Raise when ``metric_names`` lacks a metric that ``objective`` reads."""
    check_choice("agn_objective", "objective", objective, list(OBJECTIVES))
    for m in OBJECTIVES[objective]:
        if m not in metric_names:
            raise unknown_name(f"metric needed by objective {objective!r}", m, metric_names)


def agn_objective(row: dict, objective: str, alpha: float = 0.1) -> float:
    """Eq. 6 (or validation loss) from one epoch's metrics ``row`` (name -> value); NaN when any input is NaN."""
    check_choice("agn_objective", "objective", objective, list(OBJECTIVES))
    if objective == "val":
        return float(row["valid_loss"])
    loss = row["train_loss"] if objective == "agn_train" else row["valid_loss"]
    return float(alpha * row["agn_sum"] + loss)


def reduced(ds, fraction: float, seed):
    """``ds`` with a fixed, stratified random ``fraction`` of its training set (validation/test unchanged)."""
    from dataclasses import replace

    from ..live.datasets import split_indices

    fraction = check_float("reduced", "fraction", fraction, 0.0, 1.0, closed="right")
    if fraction == 1.0:
        return ds
    keep = split_indices(ds.y_train, (fraction,), seed)[0]
    return replace(ds, x_train=ds.x_train[keep], y_train=ds.y_train[keep],
                   info={**ds.info, "train_subset": fraction})


def _dataset(name: str, seed, root):
    from ..live import load_dataset

    return load_dataset(name, seed=seed, root=root) if root is not None else load_dataset(name, seed=seed)


def agn_search(method: str = "cmaes", objective: str = "val", alpha: float = 0.1, *, scale: str = "small",
               seed: int = 0, subset: float = 0.2, final_repeats: int = 3, device: str = "cpu", root=None,
               dataset=None, overrides: dict | None = None) -> dict:
    """One AGN-paper search: search on the reduced set, retrain the chosen configuration on the full set.

    Args:
        method: ``cmaes`` or ``pso`` (or another METHODS name accepting ``score``/``alpha``/``n_evals``).
        objective: ``val``, ``agn_train`` or ``agn_val``.
        alpha: weight of AGN in eq. 6.
        scale: a key of :data:`SCALES`; ``overrides`` replaces single entries.
        seed: root seed (data subset, search, final training).
        subset: share of the training set used during the search (paper: 0.2).
        final_repeats: retrainings of the chosen configuration on the full training set (paper: 3).
        dataset: an already loaded :class:`lcsim.live.Dataset` (else ``SCALES[scale]["dataset"]``).

    Returns:
        dict with method, objective, alpha, config (chosen), search_score, test_acc (list), test_acc_mean,
        test_acc_std, search_seconds, final_seconds, epochs_used.
    """
    from ..live import LiveTask, Trainer
    from ..optimizers import make_optimizer

    if scale not in SCALES:
        raise unknown_name("AGN search scale", scale, SCALES)
    sc = {**SCALES[scale], **(overrides or {})}
    check_choice("agn_search", "objective", objective, list(OBJECTIVES))
    final_repeats = check_int("agn_search", "final_repeats", final_repeats, 1)
    rounds, per_round, epochs = (check_int("agn_search", k, sc[k], 1) for k in ("rounds", "per_round", "epochs"))
    full = dataset if dataset is not None else _dataset(sc["dataset"], 0, root)
    small = reduced(full, subset, derive(seed, "subset"))
    space = agn_space(max_batch_size=max(33, min(1000, len(small.y_train))))
    live = LiveTask(small, sc["family"], space, seed=derive(seed, "search"), max_epoch=epochs,
                    trainer_options={"device": device})
    params = {"n_evals": rounds * per_round, "score": objective, "alpha": alpha}
    x0 = {k: min(v, space[k].upper) for k, v in AGN_INITIAL.items()}
    if method == "cmaes":
        params.update(popsize=per_round, x0=x0)
    elif method == "pso":
        params.update(n_particles=per_round, x0=x0)
    opt = make_optimizer(method, live.problem(), derive(seed, "method", method), params)
    t0 = time.perf_counter()
    tab = live.run(opt, rounds * per_round * epochs)
    search_s = time.perf_counter() - t0
    finite = [(v, i) for i, (_, v) in enumerate(opt.results) if math.isfinite(v)]
    if not finite:
        raise InvalidParameterError("Every configuration of the search diverged; nothing to retrain.")
    best_v, best_i = min(finite)
    cfg = dict(opt.results[best_i][0])
    t1 = time.perf_counter()
    accs = []
    for r in range(final_repeats):
        tr = Trainer(full, sc["family"], cfg, derive(seed, "final", r), device=device)
        tr.train_until(epochs)
        accs.append(float(tr.records[-1]["test_acc"]) if not tr.diverged else float("nan"))
    final_s = time.perf_counter() - t1
    return {"method": method, "objective": objective, "alpha": alpha if objective != "val" else float("nan"),
            "config": cfg, "search_score": float(best_v), "test_acc": accs,
            "test_acc_mean": float(np.nanmean(accs)), "test_acc_std": float(np.nanstd(accs, ddof=1))
            if len(accs) > 1 else 0.0, "search_seconds": search_s, "final_seconds": final_s,
            "epochs_used": int(tab["epochs_used"].max()) if len(tab) else 0}


def compare(methods=("cmaes", "pso"), settings=(("val", None), ("agn_train", 0.05), ("agn_val", 0.05)), *,
            scale: str = "small", seed: int = 0, progress: bool = True, include_default: bool = True,
            **kw) -> pd.DataFrame:
    """Table 1 of the AGN paper at a scale: every (method, objective, alpha), test accuracy mean +- std."""
    from tqdm.auto import tqdm

    rows = []
    cells = [(m, o, a) for m in methods for o, a in settings]
    ds = kw.pop("dataset", None)
    if ds is None:
        sc = {**SCALES[scale], **kw.get("overrides", {})}
        ds = _dataset(sc["dataset"], 0, kw.get("root"))
    if include_default:  # the section 4.1 initial point, retrained like a searched configuration
        rows.append(_default_row(ds, scale, seed, kw))
    for m, o, a in tqdm(cells, desc="AGN search", disable=not progress):
        r = agn_search(m, o, 0.0 if a is None else a, scale=scale, seed=seed, dataset=ds, **kw)
        rows.append({k: v for k, v in r.items() if k != "test_acc"} | {"test_acc": r["test_acc"]})
    return pd.DataFrame(rows)


def _default_row(ds, scale, seed, kw) -> dict:
    from ..live import Trainer

    sc = {**SCALES[scale], **kw.get("overrides", {})}
    cfg = {**AGN_INITIAL, "optimizer": "sgd"}
    accs = []
    for r in range(int(kw.get("final_repeats", 3))):
        tr = Trainer(ds, sc["family"], cfg, derive(seed, "final", r), device=kw.get("device", "cpu"))
        tr.train_until(sc["epochs"])
        accs.append(float(tr.records[-1]["test_acc"]) if not tr.diverged else float("nan"))
    return {"method": "default", "objective": "-", "alpha": float("nan"), "config": cfg, "search_score": float("nan"),
            "test_acc_mean": float(np.nanmean(accs)), "test_acc_std": float(np.nanstd(accs, ddof=1)) if len(accs) > 1
            else 0.0, "search_seconds": 0.0, "final_seconds": float("nan"), "epochs_used": 0, "test_acc": accs}
