"""AGN Fig. 1: exact gradient norm (GN) vs approximated gradient norm (AGN) across configurations and epochs."""
from __future__ import annotations

import pandas as pd

from analysis.agn_study import gn_vs_agn

from ._common import load_proxy_tables, write_outputs

CLAIM = "AGN is strongly correlated with the exact gradient norm."


def main(ctx):
    parts, tabs = [], []
    for name, tab in load_proxy_tables(ctx, ["gn", "agn"]):
        parts.append(gn_vs_agn(tab).assign(task=name))
        tabs.append((name, tab))
    cols = ["task", "pearson", "pearson_p", "spearman", "spearman_p", "n"]
    out = pd.concat(parts, ignore_index=True)[cols] if parts else pd.DataFrame(columns=cols)
    fig = None
    if tabs:
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(4.5, 4))
        for name, tab in tabs:
            ax.scatter(tab["gn"], tab["agn"], s=6, alpha=0.5, label=name)
        ax.set_xlabel("GN")
        ax.set_ylabel("AGN")
        ax.legend(fontsize="small")
    return write_outputs(ctx, "agn_fig1", out, fig, meta={"claim": CLAIM})
