"""AGN Fig. 1: exact gradient norm (GN) vs approximated gradient norm (AGN) across configurations and epochs.

``values = per_epoch``: every (configuration, epoch) row, GN at the end-of-epoch weights vs AGN of that epoch;
``values = sum_at_T``: the paper's GN(theta_T) vs AGN(theta_T) (sums over the epochs) of each configuration's last
epoch, where the table records the sums (live tables at small/full scale).
"""
from __future__ import annotations

import pandas as pd

from analysis.agn_study import final_rows, gn_vs_agn

from ._common import gn_tables, write_outputs

CLAIM = "AGN is strongly correlated with the exact gradient norm."


def main(ctx):
    parts, tabs = [], []
    for name, tab in gn_tables(ctx, ["gn", "agn"]):
        parts.append(gn_vs_agn(tab).assign(task=name, values="per_epoch"))
        if {"gn_sum", "agn_sum"} <= set(tab.columns):
            fin = final_rows(tab, ("config_id",))[["gn_sum", "agn_sum"]].rename(columns={"gn_sum": "gn",
                                                                                         "agn_sum": "agn"})
            parts.append(gn_vs_agn(fin).assign(task=name, values="sum_at_T"))
        tabs.append((name, tab))
    cols = ["task", "values", "pearson", "pearson_p", "spearman", "spearman_p", "n"]
    out = pd.concat(parts, ignore_index=True)[cols] if parts else pd.DataFrame(columns=cols)
    fig = None
    if tabs:
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(4.5, 4))
        for name, tab in tabs:
            ax.scatter(tab["gn"], tab["agn"], s=6, alpha=0.5, label=name)
        ax.set_xlabel("GN")
        ax.set_ylabel("AGN")
        from lcsim.plotting import legend_outside

        legend_outside(ax)
    return write_outputs(ctx, "agn_fig1", out, fig, meta={"claim": CLAIM})
