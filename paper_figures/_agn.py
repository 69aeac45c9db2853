"""Shared plumbing of the AGN search scripts (Tables 1, 2, 4 and Fig. 4): settings per scale, cached search cells,
the per-run table and its statistics.

One *cell* is one :func:`lcsim.proxy.agn_search.agn_search` call: a search by one method with one objective on the
20 % search subset of a dataset, then ``final_repeats`` retrainings of the chosen configuration on the full training
set, scored on the test set. The AGN objectives read AGN(theta_T) as eq. 5 defines it, at the end-of-epoch weights
(:data:`AGN_METRIC`, the trainer's ``agn_end_sum``); ``agn_metric="agn_sum"`` (the sum accumulated during the
training passes) is the comparison recorded in ``tests/perf/README.md``. Cells are cached as JSON under
``ctx.out/agn_search`` (keyed by dataset, family, method, objective, alpha, AGN column, search seed and scale), so
the scripts share them (Fig. 4 reuses Table 1's CMA-ES cells) and a rerun is cheap. The search seed of a cell
depends on (dataset, family, method, search seed) only, so the objectives of one method start from the same data
subset and the same first round (a paired comparison).

Scales (the ``lcsim.proxy.agn_search`` scale, then what this module adds):

* ``tiny`` (tests): iris / wine, 1 round x 4 configurations x 2 epochs, 3 retrainings; a plumbing check, not a result.
* ``small``: scikit-learn datasets scaled per feature to [0, 1] (:func:`paper_figures._common.live_dataset`), MLP
  2 x 64, 4 rounds x 8 configurations x 16 epochs (512 search epochs on the 20 % subset; ``agn_search``'s own small
  scale has 20 epochs, shortened here to keep a table under ~4 min on the shared 2-core machine, and 16 so that BOHB's
  budgets are 4 / 8 / 16 epochs like the paper's 40 / 80 / 160; paper: 4 x 8 x 160 on ResNet-20/56, CIFAR /
  Fashion-MNIST / SVHN), one search per cell, 5 retrainings of 16 epochs (paper: 3, so that a two-sided Mann-Whitney
  U test can reach p < 0.05). A reduced scale: the numbers are lcsim's, on small tabular
  data, not the paper's setting.
* ``full``: the paper's protocol (``agn_search`` scale ``paper``: ResNet-20, 4 x 8 x 160 epochs, 3 retrainings) on the
  image datasets lcsim reads (CIFAR-10, SVHN; CIFAR-100 and Fashion-MNIST have no loader) from ``$LCSIM_DATA/<name>``;
  skipped with the reason when the files are absent. Days of compute per table on a CPU.
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass

import numpy as np
import pandas as pd

from lcsim.seeding import derive, int_seed
from lcsim.threads import single_threaded

from ._common import ROOT_SEED, Context, live_dataset, parallel_map

#: the paper's "Default" hyperparameters (section 4.1: batch size 128, lr 0.1, momentum 0.9, weight decay 1e-4); the
#: paper also decays the learning rate at epochs 80 and 120, which lcsim's constant-rate trainer does not
PAPER_DEFAULT = {"optimizer": "sgd", "batch_size": 128, "learning_rate": 0.1, "momentum": 0.9, "weight_decay": 1e-4}

#: (objective, alpha) rows of Tables 1 and 4 (CMA-ES, PSO) and of Table 2 (BOHB, normalized AGN)
BLACKBOX_SETTINGS = (("val", 0.0), ("agn_train", 0.05), ("agn_train", 0.01), ("agn_train", 0.005),
                     ("agn_val", 0.1), ("agn_val", 0.05), ("agn_val", 0.005))
BOHB_SETTINGS = (("val", 0.0), ("agn_train", 0.9), ("agn_train", 0.5), ("agn_train", 0.1),
                 ("agn_val", 0.9), ("agn_val", 0.5), ("agn_val", 0.1))
METHOD_NAMES = {"cmaes": "CMA-ES", "pso": "PSO", "bohb": "BOHB", "random_search": "RS", "default": "Default"}
OBJECTIVE_NAMES = {"val": "Val", "agn_train": "AGN+Train", "agn_val": "AGN+Val"}
#: the column read as AGN(theta_T) in eq. 6: eq. 5 at the end-of-epoch weights (lcsim.optimizers.scores.AGN_METRICS)
AGN_METRIC = "agn_end_sum"


@dataclass(frozen=True)
class AGNScale:
    agn_scale: str          # key of lcsim.proxy.agn_search.SCALES
    overrides: tuple        # (key, value) pairs replacing entries of that scale
    search_seeds: int
    final_repeats: int
    blackbox: tuple         # (objective, alpha) settings of Tables 1 / 4
    bohb: tuple             # (objective, alpha) settings of Table 2


AGN_SCALES = {
    "tiny": AGNScale("tiny", (("epochs", 2),), 1, 3, (("val", 0.0), ("agn_train", 0.05), ("agn_val", 0.05)),
                     (("val", 0.0), ("agn_train", 0.5))),
    "small": AGNScale("small", (("epochs", 16),), 1, 5, BLACKBOX_SETTINGS, BOHB_SETTINGS),
    "full": AGNScale("paper", (), 1, 3, BLACKBOX_SETTINGS, BOHB_SETTINGS),
}

#: (dataset, model family) per table and scale
DATASETS = {
    "agn_table1": {"tiny": (("iris", "mlp"),), "small": (("digits", "mlp"),), "full": (("cifar10", "resnet20"),)},
    "agn_table4": {"tiny": (("wine", "mlp"),), "small": (("breast_cancer", "mlp"),), "full": (("svhn", "resnet20"),)},
    "agn_table2": {"tiny": (("iris", "mlp"),), "small": (("digits", "mlp"), ("breast_cancer", "mlp")),
                   "full": (("cifar10", "resnet20"), ("svhn", "resnet20"))},
}


def agn_scale(ctx: Context) -> AGNScale:
    return AGN_SCALES[ctx.scale.name]


def search_settings(ctx: Context) -> dict:
    """The ``lcsim.proxy.agn_search`` scale entries in force (rounds, per_round, epochs, ...)."""
    from lcsim.proxy.agn_search import SCALES

    a = agn_scale(ctx)
    sc = {**SCALES[a.agn_scale], **dict(a.overrides)}
    return {k: sc[k] for k in ("rounds", "per_round", "epochs")}


def load_datasets(ctx: Context, table: str) -> list[tuple[str, str, object]]:
    """(dataset name, family, Dataset) of ``table`` at the scale; a dataset that cannot be loaded is skipped."""
    out = []
    for name, family in DATASETS[table][ctx.scale.name]:
        try:
            out.append((name, family, live_dataset(name)))
        except Exception as exc:  # noqa: BLE001 -- missing files etc.: skipped with the reason
            ctx.skip(f"dataset={name}", f"{type(exc).__name__}: {exc}")
    return out


def label(method: str, objective: str, alpha: float) -> str:
    """The paper's row label, e.g. ``CMA-ES (AGN+Train, a=0.05)``."""
    if method == "default":
        return "Default"
    if objective == "val":
        return f"{METHOD_NAMES.get(method, method)} (Val)"
    return f"{METHOD_NAMES.get(method, method)} ({OBJECTIVE_NAMES[objective]}, a={alpha:g})"


def setting_name(objective: str, alpha: float) -> str:
    return "val" if objective == "val" else f"{objective} a={alpha:g}"


def cell_seed(ds_name: str, family: str, method: str, s: int) -> int:
    """Root seed of a search cell (shared by every objective of the method: paired comparison)."""
    return int_seed(derive(ROOT_SEED, "agn_search", ds_name, family, method, s))


def default_seed(ds_name: str, family: str) -> int:
    return int_seed(derive(ROOT_SEED, "agn_default", ds_name, family))


def final_seed(seed: int, r: int):
    """Seed of retraining ``r`` of a cell (as in ``agn_search``: ``derive(seed, "final", r)``)."""
    return derive(seed, "final", r)


def _cache(ctx: Context, key: str):
    d = ctx.out / "agn_search"
    d.mkdir(parents=True, exist_ok=True)
    return d / f"{key}.json"


def _write_json(f, obj) -> None:
    tmp = f.with_suffix(".tmp")
    tmp.write_text(json.dumps(obj, default=float))
    os.replace(tmp, f)


def search_cell(ctx: Context, ds_name: str, family: str, ds, method: str, objective: str, alpha: float,
                s: int = 0, agn_metric: str = AGN_METRIC) -> dict:
    """One cached ``agn_search`` call; returns its result dict plus ``seed`` (the cell seed).

    ``agn_metric``: the column read as AGN(theta_T) by the AGN objectives (the validation-loss cells do not read it,
    so they are shared by both columns)."""
    from lcsim.proxy.agn_search import agn_search

    a = agn_scale(ctx)
    sc = search_settings(ctx)
    col = "" if objective == "val" else f"__{agn_metric}"
    key = (f"{ds_name}__{family}__{method}__{objective}__{alpha:g}{col}__s{s}__{a.agn_scale}"
           f"_{sc['rounds']}x{sc['per_round']}x{sc['epochs']}__r{a.final_repeats}")
    f = _cache(ctx, key)
    if f.exists():
        return json.loads(f.read_text())
    seed = cell_seed(ds_name, family, method, s)
    with single_threaded():
        r = agn_search(method, objective, alpha, scale=a.agn_scale, seed=seed, final_repeats=a.final_repeats,
                       dataset=ds, overrides={**dict(a.overrides), "family": family}, agn_metric=agn_metric)
    r = {**r, "seed": seed}
    _write_json(f, r)
    return r


def default_cell(ctx: Context, ds_name: str, family: str, ds) -> dict:
    """The paper's Default hyperparameters retrained like a searched configuration (cached)."""
    from lcsim.live import Trainer

    a = agn_scale(ctx)
    epochs = search_settings(ctx)["epochs"]
    f = _cache(ctx, f"{ds_name}__{family}__default__{a.agn_scale}_{epochs}__r{a.final_repeats}")
    if f.exists():
        return json.loads(f.read_text())
    seed = default_seed(ds_name, family)
    accs, losses = [], []
    with single_threaded():
        for r in range(a.final_repeats):
            tr = Trainer(ds, family, PAPER_DEFAULT, final_seed(seed, r))
            tr.train_until(epochs)
            accs.append(float(tr.records[-1]["test_acc"]) if not tr.diverged else math.nan)
            losses.append(float(tr.records[-1]["test_loss"]) if not tr.diverged else math.nan)
    out = {"method": "default", "objective": "default", "alpha": math.nan, "config": PAPER_DEFAULT,
           "search_score": math.nan, "test_acc": accs, "test_loss": losses, "search_seconds": 0.0,
           "final_seconds": math.nan, "epochs_used": 0, "n_trials": 0, "seed": seed}
    _write_json(f, out)
    return out


def run_rows(ds_name: str, family: str, res: dict, s: int = 0) -> list[dict]:
    """Per-run rows (one per retraining) of a cell result."""
    obj = res["objective"]
    alpha = 0.0 if obj in ("val", "default") else float(res["alpha"])
    return [{"dataset": ds_name, "family": family, "method": res["method"], "objective": obj, "alpha": alpha,
             "setting": "default" if obj == "default" else setting_name(obj, alpha),
             "row": label(res["method"], obj, alpha), "search_seed": s, "repeat": r,
             "test_acc": res["test_acc"][r], "test_loss": res["test_loss"][r], "search_score": res["search_score"],
             "search_seconds": res["search_seconds"], "final_seconds": res["final_seconds"],
             "epochs_used": res["epochs_used"], "n_trials": res.get("n_trials", 0), "cell_seed": res["seed"],
             "config": json.dumps(res["config"], sort_keys=True)} for r in range(len(res["test_acc"]))]


def run_table(ctx: Context, table: str, methods, settings, agn_metric: str = AGN_METRIC) -> pd.DataFrame:
    """Every cell of a table (datasets x methods x settings x search seeds, plus Default) as per-run rows; the AGN
    objectives read AGN(theta_T) from ``agn_metric``."""
    rows = []
    a = agn_scale(ctx)
    data = load_datasets(ctx, table)
    todo = [(d, m, o, al, s) for d in data for m in methods for o, al in settings for s in range(a.search_seeds)]
    results = parallel_map(ctx, search_cell, [(ctx, name, fam, ds, m, o, al, s, agn_metric)
                                              for (name, fam, ds), m, o, al, s in todo], desc=table)
    for ((name, fam, _), _, _, _, s), res in zip(todo, results):
        rows += run_rows(name, fam, res, s)
    for name, fam, ds in data:
        rows += run_rows(name, fam, default_cell(ctx, name, fam, ds))
    return pd.DataFrame(rows)


def stats_table(runs: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """Mean +- std of test accuracy and loss per row, and each objective vs the same method's Val on the same dataset:
    two-sided Mann-Whitney U over the retrainings (``analysis.agn_study.objective_comparison``), Benjamini-Hochberg
    over the table, separately for accuracy (higher is better) and loss (lower is better)."""
    from analysis.agn_study import objective_comparison

    cols = ["dataset", "method", "row", "setting", "objective", "alpha", "n", "acc_mean", "acc_std", "loss_mean",
            "loss_std", "p_acc", "p_bh_acc", "outcome_acc", "p_loss", "p_bh_loss", "outcome_loss"]
    if runs.empty:
        return pd.DataFrame(columns=cols)
    runs = runs.assign(group=runs["dataset"] + "/" + runs["method"])
    keys = ["group", "setting"]
    searched = runs[runs["method"] != "default"]
    parts = []
    for value, tag, minimize in (("test_acc", "acc", False), ("test_loss", "loss", True)):
        if searched.empty:
            continue
        c = objective_comparison(searched, objective="setting", value=value, group="group", reference="val",
                                 minimize=minimize, alpha=alpha)
        c = c.rename(columns={"mean": f"{tag}_mean", "std": f"{tag}_std", "p": f"p_{tag}", "p_bh": f"p_bh_{tag}",
                              "outcome": f"outcome_{tag}"})
        parts.append(c[[k for k in keys + ["n", f"{tag}_mean", f"{tag}_std", f"p_{tag}", f"p_bh_{tag}",
                                           f"outcome_{tag}"] if k in c.columns]])
    out = parts[0].merge(parts[1].drop(columns="n"), on=keys) if parts else pd.DataFrame(columns=keys)
    dflt = runs[runs["method"] == "default"].groupby(keys).agg(
        n=("test_acc", "count"), acc_mean=("test_acc", "mean"), acc_std=("test_acc", "std"),
        loss_mean=("test_loss", "mean"), loss_std=("test_loss", "std")).reset_index()
    out = pd.concat([dflt, out], ignore_index=True)
    info = runs.drop_duplicates(keys)[keys + ["dataset", "method", "row", "objective", "alpha"]]
    out = out.merge(info, on=keys, how="left")
    for c in cols:
        if c not in out.columns:
            out[c] = np.nan
    order = {k: i for i, k in enumerate(dict.fromkeys(runs["group"] + "|" + runs["setting"]))}
    out = out.assign(_o=(out["group"] + "|" + out["setting"]).map(order)).sort_values("_o")
    return out[cols].reset_index(drop=True)


def table_figure(table: pd.DataFrame, title: str):
    """Test accuracy mean +- std per row, one panel per dataset, the Default's mean as a dashed line."""
    import matplotlib.pyplot as plt

    dsets = list(dict.fromkeys(table["dataset"]))
    fig, axes = plt.subplots(1, len(dsets), figsize=(5.5 * len(dsets), 0.32 * len(table) / len(dsets) + 1.6),
                             squeeze=False, layout="constrained")
    for ax, d in zip(axes[0], dsets):
        t = table[table["dataset"] == d].reset_index(drop=True)
        dflt = t[t["method"] == "default"]
        t = t[t["method"] != "default"].reset_index(drop=True)
        y = np.arange(len(t))[::-1]
        colors = np.where(t["outcome_acc"] == "win", "tab:green", np.where(t["outcome_acc"] == "loss", "tab:red",
                                                                           "tab:gray"))
        ax.errorbar(100 * t["acc_mean"], y, xerr=100 * t["acc_std"].fillna(0), fmt="none", ecolor="k", lw=0.8)
        ax.scatter(100 * t["acc_mean"], y, c=list(colors), zorder=3, s=18)
        if len(dflt):
            ax.axvline(100 * dflt["acc_mean"].iloc[0], ls="--", c="tab:blue", lw=1, label="Default")
            ax.legend(fontsize="small", loc="lower left")
        ax.set_yticks(y, t["row"], fontsize="small")
        ax.set_xlabel("test accuracy (%)")
        ax.set_title(f"{title}: {d}", fontsize="medium")
    fig.supxlabel("green / red: significantly better / worse than the method's Val (Mann-Whitney U, BH, 0.05)",
                  fontsize="x-small")
    return fig
