"""AGN Fig. 2: seconds per epoch of plain training, training + AGN, training + exact GN (FGHPO Fig. 2, the run time
of whole HPO runs, is ``fghpo_fig2``).

Variants (seconds of one epoch's training pass plus the variant's extra work): ``plain``, ``agn`` (AGN accumulated
from the training pass's forward), ``gn`` (GN after every iteration, AGN eq. 4: one GN pass at the epoch's end timed and
multiplied by the iterations per epoch, as the paper did; the live tables' GN(theta_T) comes from
``Trainer(gn_every="iteration")``, which runs that pass after every step) and, for live tables, ``gn_epoch_end`` (one
GN pass per epoch, ``Trainer(gn=True)`` with ``gn_every="epoch"``) and ``gn_naive`` (per-sample backpropagation, the
paper's GN implementation, timed on a few samples and rescaled). Evaluation passes (losses, accuracies, sharpness)
are not counted. See ``paper_figures._common.live_gn_table``.
"""
from __future__ import annotations

import pandas as pd

from analysis.agn_study import epoch_times

from ._common import gn_tables, write_outputs

CLAIM = "AGN adds little time per epoch; the exact gradient norm is several times slower."
VARIANTS = ("time_plain", "time_agn", "time_gn", "time_gn_epoch_end", "time_gn_naive")


def main(ctx):
    parts = []
    for name, tab in gn_tables(ctx, ["time_plain", "time_agn", "time_gn"]):
        parts.append(epoch_times(tab, [c for c in VARIANTS if c in tab.columns]).assign(task=name))
    cols = ["task", "variant", "mean_s", "std_s", "n"]
    out = pd.concat(parts, ignore_index=True)[cols] if parts else pd.DataFrame(columns=cols)
    fig = None
    if parts:
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(5, 3.5))
        from lcsim.plotting import legend_outside

        out.pivot_table(index="task", columns="variant", values="mean_s").plot.bar(ax=ax, logy=True, legend=False)
        legend_outside(ax, title="variant")
        ax.set_ylabel("seconds / epoch (log)")
    return write_outputs(ctx, "agn_fig2", out, fig, meta={"claim": CLAIM})
