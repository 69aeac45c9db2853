"""FGHPO Fig. 3: IoU of the 10 lowest-sharpness configurations after epoch 1 vs after epoch i."""
from __future__ import annotations

import pandas as pd

from analysis.iou import iou_over_epochs, plot_iou

from ._common import load_proxy_tables, write_outputs

CLAIM = "The lowest-sharpness configurations after one epoch largely stay the lowest-sharpness ones later."


def main(ctx):
    parts = []
    for name, tab in load_proxy_tables(ctx, ["sharpness"]):
        parts.append(iou_over_epochs(tab, proxy="sharpness", k=10, by=("seed",)).assign(task=name))
    out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["task", "seed", "epoch", "iou", "k"])
    fig = None
    if parts:
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(5, 3.5))
        plot_iou(out.groupby(["task", "epoch"])["iou"].mean().reset_index(), ax=ax, label_col="task")
    return write_outputs(ctx, "fghpo_fig3", out[["task", "seed", "epoch", "iou", "k"]], fig, meta={"claim": CLAIM})
