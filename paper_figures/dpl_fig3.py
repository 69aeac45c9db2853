"""DPL Fig. 3: mean normalized regret over tasks vs epochs (budget in epochs, any-epoch incumbent)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.regret import mean_over_tasks, plot_regret, regret_on_grid
from lcsim.plotting import legend_outside

from ._common import write_outputs
from ._dpl import dpl_grid

CLAIM = "DPL reaches the lowest mean normalized regret over the budget on LCBench, PD1 and TaskSet."


def main(ctx):
    tasks, methods, df = dpl_grid(ctx)
    if df.empty:
        return write_outputs(ctx, "dpl_fig3", pd.DataFrame(columns=["benchmark", "method", "x", "mean", "sem"]))
    parts = []
    for bench, d in df.groupby("benchmark"):
        max_b = d["budget_used"].max()
        grid = np.unique(np.linspace(1, max_b, 50).round())
        m = mean_over_tasks(regret_on_grid(d, grid, axis="epochs"))
        parts.append(m.assign(benchmark=bench))
    out = pd.concat(parts, ignore_index=True)
    import matplotlib.pyplot as plt

    benches = sorted(out["benchmark"].unique())
    fig, axes = plt.subplots(1, len(benches), figsize=(4.5 * len(benches), 3.5), squeeze=False)
    for ax, b in zip(axes[0], benches):
        plot_regret(out[out["benchmark"] == b], ax=ax, xlabel="epochs", legend=False)
        ax.set_title(b)
    legend_outside(axes[0][-1], handles_from=axes[0])  # one legend: every panel draws a method alike
    return write_outputs(ctx, "dpl_fig3", out[["benchmark", "method", "x", "mean", "sem", "n_tasks"]], fig,
                         meta={"claim": CLAIM, "methods": methods, "n_tasks": len(tasks), "axis": "epochs",
                               "step_rule": "right-continuous step (last row with budget_used <= x)",
                               "incumbent": "any_epoch"})
