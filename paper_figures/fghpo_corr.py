"""FGHPO section 4: Spearman correlation of epoch-1 sharpness and of epoch-1 val loss with the final val loss."""
from __future__ import annotations

import pandas as pd

from analysis.agn_study import proxy_vs_final

from ._common import load_proxy_tables, write_outputs

CLAIM = "Epoch-1 sharpness correlates with final validation loss at least as well as epoch-1 validation loss."


def main(ctx):
    parts = []
    for name, tab in load_proxy_tables(ctx, ["sharpness", "val_loss"]):
        for s, t in tab.groupby("seed"):
            parts.append(proxy_vs_final(t, ("sharpness", "val_loss")).assign(task=name, seed=s))
    cols = ["task", "seed", "proxy", "at_epoch", "spearman", "p", "n"]
    out = pd.concat(parts, ignore_index=True)[cols] if parts else pd.DataFrame(columns=cols)
    fig = None
    if parts:
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(5, 3.5))
        piv = out.groupby(["task", "proxy"])["spearman"].mean().unstack("proxy")
        from lcsim.plotting import legend_outside

        piv.plot.bar(ax=ax, legend=False)
        legend_outside(ax, title="proxy")
        ax.set_ylabel("Spearman with final val loss")
    return write_outputs(ctx, "fghpo_corr", out, fig, meta={"claim": CLAIM})
