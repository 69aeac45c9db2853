"""FGHPO Fig. 5: sharpness and validation loss over epochs (mean and interquartile range over configurations)."""
from __future__ import annotations

import pandas as pd

from analysis.agn_study import over_epochs

from ._common import load_proxy_tables, write_outputs

CLAIM = "Sharpness settles within the first epochs while validation loss keeps changing."


def main(ctx):
    parts = [over_epochs(tab, ("sharpness", "val_loss")).assign(task=name)
             for name, tab in load_proxy_tables(ctx, ["sharpness", "val_loss"])]
    cols = ["task", "epoch", "quantity", "mean", "q25", "q75", "n"]
    out = pd.concat(parts, ignore_index=True)[cols] if parts else pd.DataFrame(columns=cols)
    fig = None
    if parts:
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(1, 2, figsize=(9, 3.5))
        for ax, q in zip(axes, ("sharpness", "val_loss")):
            for t, d in out[out["quantity"] == q].groupby("task"):
                ax.plot(d["epoch"], d["mean"], label=t)
                ax.fill_between(d["epoch"], d["q25"], d["q75"], alpha=0.2)
            ax.set_xlabel("epoch")
            ax.set_ylabel(q)
        from lcsim.plotting import legend_outside

        legend_outside(axes[-1], handles_from=axes)
    return write_outputs(ctx, "fghpo_fig5", out, fig, meta={"claim": CLAIM})
