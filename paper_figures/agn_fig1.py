"""AGN Fig. 1 (a)-(d): GN(theta_T) and AGN(theta_T) vs the generalization gap, and GN vs AGN, per architecture.

Per configuration (its last epoch T): ``GN(theta_T)`` is AGN eq. 4, the sum over every iteration t <= T of the mean
per-sample squared gradient norm of all parameters at theta_t (``gn_iter_sum`` of the live tables); ``AGN(theta_T)``
is eq. 5, the sum over epoch ends of the mean per-sample squared norm of the last layer's gradient (``agn_end_sum``);
the generalization gap is val_loss - train_loss at T (the paper measures it on the validation set). Rows of the CSV
(``values``):

* ``sum_at_T``: the three panels per architecture, ``x`` vs ``y`` in (gn_iter_sum, gap), (agn_end_sum, gap),
  (gn_iter_sum, agn_end_sum), plus (gn_iter_sum, agn_sum), AGN accumulated during the training passes;
* ``per_epoch``: every (configuration, epoch) row, GN vs AGN at the same end-of-epoch model (gn, agn_end) and over
  the epoch's iterations (gn_iter, agn).

Pearson and Spearman with p-values and n. At the tiny scale the synthetic tables record per-epoch values only: their
sums over epochs stand in (plumbing, not a result).
"""
from __future__ import annotations

import pandas as pd

from analysis.agn_study import final_rows, gn_vs_agn

from ._common import gn_tables, write_outputs

CLAIM = ("AGN(theta_T) and GN(theta_T) show the same trend against the generalization gap and are strongly "
         "correlated with each other.")
LABELS = {"gn_iter_sum": "GN(theta_T), eq. 4", "agn_end_sum": "AGN(theta_T), eq. 5", "gap": "val - train loss",
          "agn_sum": "AGN, training passes", "gn_sum_epochs": "sum of GN over epochs (synthetic)",
          "agn_sum_epochs": "sum of AGN over epochs (synthetic)"}


def _final(tab: pd.DataFrame) -> tuple[pd.DataFrame, str, str]:
    """Last-epoch rows with the gap; the GN(theta_T) and AGN(theta_T) column names."""
    fin = final_rows(tab, ("config_id",)).copy()
    fin["gap"] = fin["val_loss"] - fin["train_loss"]
    if {"gn_iter_sum", "agn_end_sum"} <= set(tab.columns):
        return fin, "gn_iter_sum", "agn_end_sum"
    sums = tab.groupby("config_id")[["gn", "agn"]].sum()  # synthetic tiny tables: sums of the per-epoch values
    fin["gn_sum_epochs"], fin["agn_sum_epochs"] = sums["gn"], sums["agn"]
    return fin, "gn_sum_epochs", "agn_sum_epochs"


def main(ctx):
    parts, panels = [], []
    for name, tab in gn_tables(ctx, ["gn", "agn"]):
        fin, gn_col, agn_col = _final(tab)
        pairs = [(gn_col, "gap"), (agn_col, "gap"), (gn_col, agn_col)]
        extra = [("gn_iter_sum", "agn_sum")] if {"gn_iter_sum", "agn_sum"} <= set(fin.columns) else []
        for x, y in pairs + extra:
            parts.append(gn_vs_agn(fin, x, y).assign(task=name, values="sum_at_T", x=x, y=y))
        for x, y in (("gn", "agn_end"), ("gn_iter", "agn"), ("gn", "agn")):
            if {x, y} <= set(tab.columns) and not (x == "gn" and y == "agn" and "agn_end" in tab.columns):
                parts.append(gn_vs_agn(tab, x, y).assign(task=name, values="per_epoch", x=x, y=y))
        panels.append((name, fin, pairs))
    cols = ["task", "values", "x", "y", "pearson", "pearson_p", "spearman", "spearman_p", "n"]
    out = pd.concat(parts, ignore_index=True)[cols] if parts else pd.DataFrame(columns=cols)
    fig = None
    if panels:
        import matplotlib.pyplot as plt
        from matplotlib.ticker import NullFormatter

        fig, axes = plt.subplots(len(panels), 3, figsize=(11, 3.4 * len(panels)), squeeze=False)
        for row, (name, fin, pairs) in zip(axes, panels):
            for ax, (x, y) in zip(row, pairs):
                st = out[(out.task == name) & (out["values"] == "sum_at_T") & (out.x == x) & (out.y == y)].iloc[0]
                ax.scatter(fin[x], fin[y], s=18)
                ax.set_xscale("log")  # the sums span orders of magnitude; the gap can be negative (linear)
                if y != "gap":
                    ax.set_yscale("log")
                ax.set_xlabel(LABELS.get(x, x) + " (log)")
                for axis in (ax.xaxis, ax.yaxis):
                    axis.set_minor_formatter(NullFormatter())
                ax.set_ylabel(LABELS.get(y, y) + ("" if y == "gap" else " (log)"))
                ax.set_title(f"{name}\nPearson {st.pearson:.2f} (p {st.pearson_p:.1g}), "
                             f"Spearman {st.spearman:.2f}, n = {st.n}", fontsize=8)
        fig.tight_layout()
    meta = {"claim": CLAIM, "gn_theta_T": "gn_iter_sum (AGN eq. 4: sum over every iteration)",
            "agn_theta_T": "agn_end_sum (AGN eq. 5: sum over epoch ends)",
            "gap": "val_loss - train_loss at the last epoch"}
    return write_outputs(ctx, "agn_fig1", out, fig, meta=meta)
