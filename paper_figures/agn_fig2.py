"""AGN Fig. 2: seconds per epoch of plain training, training + AGN, training + exact GN (FGHPO Fig. 2, the run time
of whole HPO runs, is ``fghpo_fig2``)."""
from __future__ import annotations

import pandas as pd

from analysis.agn_study import epoch_times

from ._common import load_proxy_tables, write_outputs

CLAIM = "AGN adds little time per epoch; the exact gradient norm is several times slower."


def main(ctx):
    parts = []
    for name, tab in load_proxy_tables(ctx, ["time_plain", "time_agn", "time_gn"]):
        parts.append(epoch_times(tab).assign(task=name))
    cols = ["task", "variant", "mean_s", "std_s", "n"]
    out = pd.concat(parts, ignore_index=True)[cols] if parts else pd.DataFrame(columns=cols)
    fig = None
    if parts:
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(5, 3.5))
        out.pivot_table(index="task", columns="variant", values="mean_s").plot.bar(ax=ax)
        ax.set_ylabel("seconds / epoch")
    return write_outputs(ctx, "agn_fig2", out, fig, meta={"claim": CLAIM})
