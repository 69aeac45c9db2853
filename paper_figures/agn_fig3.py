"""AGN Fig. 3: Pearson r of final AGN with the generalization gap, well-fitted vs under-fitted models."""
from __future__ import annotations

import pandas as pd

from analysis.agn_study import agn_gap_by_fit

from ._common import load_proxy_tables, write_outputs

CLAIM = "AGN correlates with the generalization gap for well-fitted models (top 50 % train accuracy), not otherwise."


def main(ctx):
    parts = []
    for name, tab in load_proxy_tables(ctx, ["agn", "train_loss", "val_loss", "train_acc"]):
        # AGN(theta_T) of AGN eq. 5 is the sum over epochs: the live backend records it as agn_sum
        col = "agn_sum" if "agn_sum" in tab else "agn"
        for s, t in tab.groupby("seed"):
            parts.append(agn_gap_by_fit(t, agn=col).assign(task=name, seed=s, agn_column=col))
    cols = ["task", "seed", "agn_column", "group", "pearson", "p", "n"]
    out = pd.concat(parts, ignore_index=True)[cols] if parts else pd.DataFrame(columns=cols)
    fig = None
    if parts:
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(5, 3.5))
        from lcsim.plotting import legend_outside

        out.groupby(["task", "group"])["pearson"].mean().unstack("group").plot.bar(ax=ax, legend=False)
        legend_outside(ax, title="group")
        ax.set_ylabel("Pearson r (AGN, gap)")
    return write_outputs(ctx, "agn_fig3", out, fig, meta={"claim": CLAIM})
