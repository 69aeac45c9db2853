"""AGN Fig. 3: AGN(theta_T) against the generalization gap, well-fitted vs under-fitted models, per dataset.

Every trained model (a configuration x a seed of the embedded benchmark) is one point at its last epoch T: AGN eq. 5's
AGN(theta_T), the sum over epoch ends of the mean per-sample squared last-layer gradient norm (``agn_end_sum``; a
table without it falls back to ``agn_sum``, then ``agn``: the CSV's ``agn_column`` says which), against the gap
val_loss - train_loss. Well-fitted: top 50 % train accuracy of the dataset's models (Fig. 3b); under-fitted: the
rest (Fig. 3c). Pearson and Spearman with two-sided p-values and n, pooled over seeds (``seed = "all"``, the panels)
and per seed (rows with the seed, where the table has more than one).
"""
from __future__ import annotations

import pandas as pd

from analysis.agn_study import agn_gap_by_fit, fit_groups

from ._common import load_proxy_tables, write_outputs

CLAIM = "AGN correlates with the generalization gap for well-fitted models (top 50 % train accuracy), not otherwise."
#: AGN(theta_T) columns in order of preference: eq. 5 (epoch ends) first, then the training-pass sum, then per epoch
AGN_COLUMNS = ("agn_end_sum", "agn_sum", "agn")
COLORS = {"well_fitted": "tab:blue", "under_fitted": "tab:orange"}


def main(ctx):
    parts, panels = [], []
    for name, tab in load_proxy_tables(ctx, ["agn", "train_loss", "val_loss", "train_acc"]):
        col = next(c for c in AGN_COLUMNS if c in tab.columns)
        by = ("config_id", "seed")
        parts.append(agn_gap_by_fit(tab, agn=col, by=by).assign(task=name, seed="all", agn_column=col))
        for s, t in tab.groupby("seed") if tab["seed"].nunique() > 1 else ():  # one seed: the pooled rows
            parts.append(agn_gap_by_fit(t, agn=col).assign(task=name, seed=str(s), agn_column=col))
        panels.append((name, col, fit_groups(tab, col, by)))
    cols = ["task", "seed", "agn_column", "group", "pearson", "p", "spearman", "spearman_p", "n"]
    out = pd.concat(parts, ignore_index=True)[cols] if parts else pd.DataFrame(columns=cols)
    fig = None
    if panels:
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(1, len(panels), figsize=(3.6 * len(panels), 3.6), squeeze=False)
        for ax, (name, col, fin) in zip(axes[0], panels):
            lines = []
            for group, color in COLORS.items():
                g = fin[fin["group"] == group]
                st = out[(out.task == name) & (out.seed == "all") & (out.group == group)].iloc[0]
                ax.scatter(g[col], g["gap"], s=10, alpha=0.6, color=color, label=group.replace("_", "-"))
                lines.append(f"{group.split('_')[0]}: r {st.pearson:+.2f} (p {st.p:.1g}), "
                             f"rho {st.spearman:+.2f}, n {st.n}")
            ax.set_xscale("log")  # AGN(theta_T) spans orders of magnitude across configurations
            ax.set_xlabel(f"AGN(theta_T) [{col}] (log)")
            ax.set_ylabel("val - train loss")
            ax.set_title(name + "\n" + "\n".join(lines), fontsize=7)
        axes[0][-1].legend(fontsize=7, loc="best")
        fig.tight_layout()
    meta = {"claim": CLAIM, "agn_theta_T": "agn_column: agn_end_sum = AGN eq. 5 (sum over epoch ends) where recorded",
            "gap": "val_loss - train_loss at the last epoch", "well_fitted": "train_acc >= median over the models"}
    return write_outputs(ctx, "agn_fig3", out, fig, meta=meta)
