"""AGN-objective hyperparameter search (AGN paper, section 4.1 and appendix A.1).

Search objectives (eq. 6, :mod:`lcsim.optimizers.scores`), all minimized, computed from the metrics of the last
trained epoch T:

* ``"agn_train"``: ``alpha * AGN(theta_T) + train loss``;
* ``"agn_val"``:   ``alpha * AGN(theta_T) + validation loss``;
* ``"val"``:       validation loss alone (the paper's "Val" rows).

``AGN(theta_T)`` is the accumulated approximated gradient norm (eq. 5, last FC layer, per-sample gradients via
Goodfellow 2015, summed over the epochs), by default at the end-of-epoch weights as eq. 5 defines it (the trainer's
``agn_end_sum``); ``agn_metric="agn_sum"`` reads the sum accumulated during the training passes instead
(:data:`lcsim.optimizers.scores.AGN_METRICS`; the two are compared in ``tests/perf/README.md``).

Protocol (appendix A.1): the search runs in ``rounds`` (paper: 4) of ``per_round`` (paper: 8) configurations trained
in parallel for ``epochs`` epochs each; after every round the black-box method (CMA-ES with population 8, PSO with
8 particles; both start from the section 4.1 initial point) proposes the next 8. The epoch budget is thus
``rounds * per_round * epochs`` (paper: 4 * 8 * 160 = 5,120 GPU x epochs). The search trains on a fixed random 20 %
subset of the training set (``subset``); the chosen configuration is then retrained ``final_repeats`` (paper: 3)
times on the full training set with different seeds and scored on the test set (mean +- std).

BOHB with these objectives (Table 2): a method that is not a black-box adapter (``bohb``, ``hyperband``,
``random_search``, ...) reads the objective that the task serves, so :func:`agn_search` then trains through
:class:`lcsim.proxy.agn_task.AGNObjectiveTask`, a :class:`~lcsim.live.LiveTask` serving the objective at every epoch
``t``. The paper says that BOHB "normalizes AGN(theta_t)" because it compares models trained for different numbers of
epochs, without giving the normalization; lcsim uses ``AGN(theta_t) / t`` (the mean per-epoch AGN over the epochs
trained, which removes the growth of the sum with ``t``): ``alpha * AGN(theta_t) / t + loss`` (``normalize=True``,
the default of this path; consistent with the paper's BOHB alphas 0.9 / 0.5 / 0.1 being larger than its black-box
ones). Budgets follow appendix A.1: minimum budget a quarter of the maximum (:data:`MF_MIN_FRACTION`; paper 40 of
160 epochs) and ``eta = 2`` (:data:`MF_ETA`); the total epoch budget is the black-box one
(``rounds * per_round * epochs``). The returned configuration is the incumbent: the lowest served objective among
the trials that reached the largest budget reached.

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
from ..optimizers.scores import AGN_METRICS, OBJECTIVES
from ..seeding import derive
from .spaces import AGN_INITIAL, agn_space

__all__ = ["SCALES", "reduced", "agn_search", "compare", "MF_MIN_FRACTION", "MF_ETA"]

#: experiment scales (rounds, per_round, epochs, dataset, family, device)
SCALES = {
    "tiny": dict(rounds=1, per_round=4, epochs=2, dataset="iris", family="mlp"),
    "small": dict(rounds=4, per_round=8, epochs=20, dataset="digits", family="mlp"),
    "paper": dict(rounds=4, per_round=8, epochs=160, dataset="cifar10", family="resnet20"),
}


#: multi-fidelity search (appendix A.1): minimum budget as a share of the maximum (40 / 160) and halving rate
MF_MIN_FRACTION = 0.25
MF_ETA = 2


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
               dataset=None, overrides: dict | None = None, method_params: dict | None = None,
               normalize: bool | None = None, agn_metric: str = "agn_end_sum") -> dict:
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
        method_params: extra constructor parameters of the method (e.g. BOHB's ``eta``; default for multi-fidelity
            methods: ``eta = MF_ETA`` when the method takes it).
        normalize: served-objective path only (methods that are not black-box adapters): serve
            ``alpha * AGN(theta_t) / t + loss`` (default ``True``) or the unnormalized eq. 6.
        agn_metric: the recorded column read as AGN(theta_T): ``"agn_end_sum"`` (eq. 5, default) or ``"agn_sum"``.

    Returns:
        dict with method, objective, alpha, config (chosen), search_score, test_acc and test_loss (lists, one per
        final retraining), test_acc_mean, test_acc_std, test_loss_mean, test_loss_std, search_seconds,
        final_seconds, epochs_used, n_trials.
    """
    import inspect

    from ..live import LiveTask, Trainer
    from ..optimizers import make_optimizer, method_class
    from ..optimizers.blackbox import BlackBox

    if scale not in SCALES:
        raise unknown_name("AGN search scale", scale, SCALES)
    sc = {**SCALES[scale], **(overrides or {})}
    check_choice("agn_search", "objective", objective, list(OBJECTIVES))
    check_choice("agn_search", "agn_metric", agn_metric, AGN_METRICS)
    final_repeats = check_int("agn_search", "final_repeats", final_repeats, 1)
    rounds, per_round, epochs = (check_int("agn_search", k, sc[k], 1) for k in ("rounds", "per_round", "epochs"))
    full = dataset if dataset is not None else _dataset(sc["dataset"], 0, root)
    small = reduced(full, subset, derive(seed, "subset"))
    space = agn_space(max_batch_size=max(33, min(1000, len(small.y_train))))
    blackbox = issubclass(method_class(method), BlackBox)
    if blackbox:
        live = LiveTask(small, sc["family"], space, seed=derive(seed, "search"), max_epoch=epochs,
                        trainer_options={"device": device})
        params = {"n_evals": rounds * per_round, "score": objective, "alpha": alpha, "agn_metric": agn_metric}
        x0 = {k: min(v, space[k].upper) for k, v in AGN_INITIAL.items()}
        if method == "cmaes":
            params.update(popsize=per_round, x0=x0)
        elif method == "pso":
            params.update(n_particles=per_round, x0=x0)
    else:
        from .agn_task import AGNObjectiveTask

        live = AGNObjectiveTask(small, sc["family"], space, seed=derive(seed, "search"), max_epoch=epochs,
                                min_epoch=max(1, round(MF_MIN_FRACTION * epochs)), trainer_options={"device": device},
                                search_objective=objective, alpha=alpha, agn_metric=agn_metric,
                                normalize=True if normalize is None else normalize)
        takes = inspect.signature(method_class(method).__init__).parameters
        params = {"eta": MF_ETA} if "eta" in takes else {}
    params.update(method_params or {})
    opt = make_optimizer(method, live.problem(), derive(seed, "method", method), params)
    t0 = time.perf_counter()
    tab = live.run(opt, rounds * per_round * epochs)
    search_s = time.perf_counter() - t0
    if blackbox:
        finite = [(v, i) for i, (_, v) in enumerate(opt.results) if math.isfinite(v)]
        if not finite:
            raise InvalidParameterError("Every configuration of the search diverged; nothing to retrain.")
        best_v, best_i = min(finite)
        cfg = dict(opt.results[best_i][0])
        n_trials = len(opt.results)
    else:  # incumbent: best served objective among the trials at the largest budget reached, diverged ones excluded
        ok = tab[~tab["diverged"].astype(bool)] if len(tab) else tab
        if not len(ok):
            raise InvalidParameterError("Every configuration of the search diverged; nothing to retrain.")
        top = ok[ok["epoch"] == ok["epoch"].max()]
        best = top.loc[top["objective"].idxmin()]
        best_v, cfg = float(best["objective"]), dict(live.trainers[int(best["trial_id"])].config)
        n_trials = int(tab["trial_id"].nunique())
    t1 = time.perf_counter()
    accs, losses = [], []
    for r in range(final_repeats):
        tr = Trainer(full, sc["family"], cfg, derive(seed, "final", r), device=device)
        tr.train_until(epochs)
        accs.append(float(tr.records[-1]["test_acc"]) if not tr.diverged else float("nan"))
        losses.append(float(tr.records[-1]["test_loss"]) if not tr.diverged else float("nan"))
    final_s = time.perf_counter() - t1
    return {"method": method, "objective": objective, "alpha": alpha if objective != "val" else float("nan"),
            "agn_metric": agn_metric,
            "config": cfg, "search_score": float(best_v), "test_acc": accs, "test_loss": losses,
            **_mean_std("test_acc", accs), **_mean_std("test_loss", losses), "search_seconds": search_s,
            "final_seconds": final_s, "epochs_used": int(tab["budget_used"].max()) if len(tab) else 0,
            "n_trials": n_trials}


def _mean_std(name: str, v: list) -> dict:
    a = np.asarray(v, dtype=float)
    ok = a[np.isfinite(a)]
    return {f"{name}_mean": float(ok.mean()) if ok.size else float("nan"),
            f"{name}_std": float(ok.std(ddof=1)) if ok.size > 1 else 0.0}


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
        rows.append(r)
    return pd.DataFrame(rows)


def _default_row(ds, scale, seed, kw) -> dict:
    from ..live import Trainer

    sc = {**SCALES[scale], **kw.get("overrides", {})}
    cfg = {**AGN_INITIAL, "optimizer": "sgd"}
    accs, losses = [], []
    for r in range(int(kw.get("final_repeats", 3))):
        tr = Trainer(ds, sc["family"], cfg, derive(seed, "final", r), device=kw.get("device", "cpu"))
        tr.train_until(sc["epochs"])
        accs.append(float(tr.records[-1]["test_acc"]) if not tr.diverged else float("nan"))
        losses.append(float(tr.records[-1]["test_loss"]) if not tr.diverged else float("nan"))
    return {"method": "default", "objective": "-", "alpha": float("nan"), "config": cfg, "search_score": float("nan"),
            **_mean_std("test_acc", accs), **_mean_std("test_loss", losses), "search_seconds": 0.0,
            "final_seconds": float("nan"), "epochs_used": 0, "test_acc": accs, "test_loss": losses}
