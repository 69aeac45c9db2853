"""DPL Fig. 6: share of the top-1 % configurations evaluated, mean regret of promoted configs, rank changes."""
from __future__ import annotations

import pandas as pd

from analysis.efficiency import promoted_regret, rank_changes, top_share
from lcsim.plotting import legend_outside, method_styles

from ._common import write_outputs
from ._dpl import dpl_grid

CLAIM = "DPL evaluates more top-1 % configurations and promotes configurations of lower regret than the baselines."


def main(ctx):
    tasks, methods, df = dpl_grid(ctx)
    rows = []
    for task in tasks:
        d = df[(df["benchmark"] == task.benchmark) & (df["task"] == task.name)]
        if d.empty:
            continue
        ts = top_share(d, task, 0.01).groupby("method")["share"].mean()
        pr = promoted_regret(d, task).groupby(["method", "epoch"])["mean_regret"].mean()
        e, earlier = task.n_epochs, max(1, task.n_epochs // 4)
        rc = rank_changes(d, task, e, earlier).groupby("method")["share"].mean()
        for m, v in ts.items():
            rows.append({"benchmark": task.benchmark, "task": task.name, "quantity": "top1pct_share", "method": m,
                         "epoch": None, "value": v})
        for (m, ep), v in pr.items():
            rows.append({"benchmark": task.benchmark, "task": task.name, "quantity": "promoted_regret", "method": m,
                         "epoch": ep, "value": v})
        for m, v in rc.items():
            rows.append({"benchmark": task.benchmark, "task": task.name, "quantity": "rank_change_share",
                         "method": m, "epoch": e, "value": v})
    out = pd.DataFrame(rows, columns=["benchmark", "task", "quantity", "method", "epoch", "value"])
    fig = None
    if not out.empty:
        import matplotlib.pyplot as plt

        styles = method_styles(out["method"].unique())
        fig, axes = plt.subplots(1, 3, figsize=(13, 3.5))
        for ax, q in zip(axes, ("top1pct_share", "promoted_regret", "rank_change_share")):
            d = out[out["quantity"] == q]
            if q == "promoted_regret":
                for m, dm in d.groupby("method"):
                    s = dm.groupby("epoch")["value"].mean()
                    ax.plot(s.index, s.to_numpy(), label=m, markersize=5, **styles[str(m)])
                ax.set_xlabel("epoch")
            else:
                s = d.groupby("method")["value"].mean()
                ax.bar(s.index, s.to_numpy(), color=[styles[str(m)]["color"] for m in s.index])
                ax.set_xticks(range(len(s)), s.index, rotation=45, ha="right")  # right-aligned: names never overlap
            ax.set_title(q, fontsize="small")
        legend_outside(axes[-1], handles_from=[axes[1]])  # right of the last panel: off every panel's data
    return write_outputs(ctx, "dpl_fig6", out, fig, meta={"claim": CLAIM, "methods": methods})
