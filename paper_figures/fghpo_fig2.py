"""FGHPO Fig. 2: run time of each HPO method under the FGHPO protocol (paper: the vehicle dataset, one GPU).

This is a different quantity from AGN Fig. 2 (seconds per training epoch with/without the AGN and GN proxies,
``agn_fig2``): it is the cost of a whole HPO run. FGHPO trains N1 probes for one epoch and only N2 configurations
fully (N1 + N2 x E epochs), the baselines 50 full evaluations (50 x E epochs), so FGHPO needs a fraction of their
time (paper: 13-33 %).

lcsim reads it off the protocol runs of ``fghpo_table1`` (:mod:`paper_figures._fghpo`, the same cached runs): per
run, ``train_s`` is the training time of the epochs the method used, replayed from the per-epoch seconds that the
live build recorded (``epoch_seconds``: training pass + evaluation/proxy pass, one CPU thread of a shared machine),
and ``overhead_s`` the method's own compute measured during the replay (model fits, proposals); ``total_s`` is their
sum. The table holds the medians over the repeats per (dataset, method) and ``fghpo_share`` = FGHPO's median total /
the method's. The vehicle dataset is not among lcsim's recorded tasks (skipped, with the reason); every dataset the
protocol ran is shown instead of it.
"""
from __future__ import annotations

import pandas as pd

from ._common import write_outputs
from ._fghpo import LABELS, protocol_runs

CLAIM = "FGHPO needs 13-33 % of the run time of the other HPO methods (vehicle dataset)."


def main(ctx):
    runs, methods, st = protocol_runs(ctx)
    cols = ["dataset", "method", "median_train_s", "median_overhead_s", "median_total_s", "n", "fghpo_share"]
    meta = {"claim": CLAIM, "methods": methods, **st}
    if runs.empty or "fghpo" not in methods:
        if not runs.empty:
            ctx.skip("method=fghpo", "not available, so there is no share to report")
        return write_outputs(ctx, "fghpo_fig2", pd.DataFrame(columns=cols), None, meta=meta)
    runs = runs.assign(total_s=runs["runtime_s"] + runs["overhead_s"])
    g = runs.groupby(["dataset", "method"])
    out = pd.DataFrame({"median_train_s": g["runtime_s"].median(), "median_overhead_s": g["overhead_s"].median(),
                        "median_total_s": g["total_s"].median(), "n": g.size()}).reset_index()
    fg = out[out.method == "fghpo"].set_index("dataset")["median_total_s"]
    out["fghpo_share"] = out["dataset"].map(fg) / out["median_total_s"]
    out = out[cols]

    import matplotlib.pyplot as plt

    datasets = sorted(out["dataset"].unique())
    fig, axes = plt.subplots(1, len(datasets), figsize=(3.2 * len(datasets), 3.4), squeeze=False)
    for ax, d in zip(axes[0], datasets):
        part = out[out.dataset == d].set_index("method").loc[methods]
        x = range(len(methods))
        ax.bar(x, part["median_train_s"], label="training (replayed)")
        ax.bar(x, part["median_overhead_s"], bottom=part["median_train_s"], label="method overhead")
        ax.set_xticks(list(x), [LABELS.get(m, m) for m in methods], rotation=45, ha="right", fontsize="small")
        ax.set_title(d, fontsize="small")
    axes[0][0].set_ylabel("seconds per HPO run (median)")
    from lcsim.plotting import legend_outside

    legend_outside(axes[0][-1], handles_from=[axes[0][0]], fontsize="x-small")
    fig.tight_layout()
    return write_outputs(ctx, "fghpo_fig2", out, fig, meta=meta)
