"""AGN Fig. 4 (appendix A.3): train and test loss over the epochs of one training run with the Default
hyperparameters and with the configurations found by RS (Val), CMA-ES (Val) and CMA-ES (AGN+Train) (every alpha of
Table 1).

The searched configurations come from the cached search cells shared with ``agn_table1`` (same dataset, method,
objective, alpha and search seed 0; run here when absent), plus one random-search cell with the Val objective. Each
configuration is retrained on the full training set with the seed of retraining 0 of its cell, so the last epoch of
each curve equals repeat 0 of ``agn_table1_runs.csv`` (RS: of its own cell). ``agn_fig4.csv``: one row per (panel,
epoch) with train/test loss and accuracy, the gap (test - train loss), the configuration and the cell seed.
"""
from __future__ import annotations

import json

import pandas as pd

from lcsim.threads import single_threaded

from ._agn import (
    DATASETS,
    PAPER_DEFAULT,
    agn_scale,
    default_cell,
    final_seed,
    label,
    load_datasets,
    search_cell,
    search_settings,
)
from ._common import write_outputs

NAME = "agn_fig4"
CLAIM = ("With the Default or Val-searched hyperparameters the test loss drifts far above the training loss (up to "
         "10x, unstable); CMA-ES with AGN+Train finds hyperparameters whose test loss stays close to the training "
         "loss, a smaller final generalization gap (AGN Fig. 4, appendix A.3).")


def panels(ctx) -> list[tuple[str, str, float]]:
    """(method, objective, alpha) of each searched panel."""
    agn = [(o, a) for o, a in agn_scale(ctx).blackbox if o == "agn_train"]
    return [("random_search", "val", 0.0), ("cmaes", "val", 0.0)] + [("cmaes", o, a) for o, a in agn]


def curve(ds, family, config, seed, epochs) -> pd.DataFrame:
    """One seeded training run's per-epoch train/test loss and accuracy (one torch thread)."""
    from lcsim.live import Trainer

    with single_threaded():
        tr = Trainer(ds, family, config, seed)
        tr.train_until(epochs)
    return tr.to_frame()[["epoch", "train_loss", "test_loss", "train_acc", "test_acc"]]


def main(ctx):
    data = load_datasets(ctx, "agn_table1")
    epochs = search_settings(ctx)["epochs"]
    parts = []
    for name, fam, ds in data[:1]:
        cells = [default_cell(ctx, name, fam, ds)] + [search_cell(ctx, name, fam, ds, m, o, a)
                                                         for m, o, a in panels(ctx)]
        for c in cells:
            cfg = PAPER_DEFAULT if c["method"] == "default" else c["config"]
            obj = c["objective"]
            alpha = 0.0 if obj in ("val", "default") else float(c["alpha"])
            df = curve(ds, fam, cfg, final_seed(c["seed"], 0), epochs)
            parts.append(df.assign(dataset=name, family=fam, panel=label(c["method"], obj, alpha), method=c["method"],
                                   objective=obj, alpha=alpha, gap=df["test_loss"] - df["train_loss"],
                                   cell_seed=c["seed"], config=json.dumps(cfg, sort_keys=True)))
    cols = ["dataset", "family", "panel", "method", "objective", "alpha", "epoch", "train_loss", "test_loss", "gap",
            "train_acc", "test_acc", "cell_seed", "config"]
    out = pd.concat(parts, ignore_index=True)[cols] if parts else pd.DataFrame(columns=cols)
    if ctx.scale.name == "tiny":
        ctx.notes.append("tiny scale: 2-epoch searches on iris (test plumbing only, not a result)")
    else:
        ctx.notes.append(f"reduced scale: {DATASETS['agn_table1'][ctx.scale.name][0]}, searches as agn_table1, "
                         f"{epochs} epochs per run (paper: ResNet-20 on Fashion-MNIST, 160 epochs)")
    fig = None
    if len(out):
        import matplotlib.pyplot as plt

        names = list(dict.fromkeys(out["panel"]))
        ncol = 3
        nrow = -(-len(names) // ncol)
        fig, axes = plt.subplots(nrow, ncol, figsize=(4 * ncol, 3 * nrow), squeeze=False, sharex=True,
                                 layout="constrained")
        for ax, p in zip(axes.ravel(), names):
            d = out[out["panel"] == p]
            ax.plot(d["epoch"], d["train_loss"], label="train loss")
            ax.plot(d["epoch"], d["test_loss"], label="test loss")
            ax.set_yscale("log")
            ax.set_title(p, fontsize="small")
            ax.set_xlabel("epoch")
        for ax in axes.ravel()[len(names):]:
            ax.axis("off")
        from lcsim.plotting import legend_outside

        legend_outside(axes[0, min(len(names), ncol) - 1], handles_from=[axes[0, 0]])
    return write_outputs(ctx, NAME, out, fig, meta={"claim": CLAIM, "epochs": epochs,
                                                     "search": search_settings(ctx)})
