"""DPL Fig. 4: average ranks and critical-difference diagrams at 50 % and 100 % of the budget."""
from __future__ import annotations

import pandas as pd

from analysis.ranking import plot_cd, rank_stats, score_matrix
from analysis.regret import regret_on_grid

from ._common import write_outputs
from ._dpl import dpl_grid

CLAIM = "DPL has the best average rank at 50 % and 100 % of the budget, significantly better than most baselines."


def main(ctx):
    tasks, methods, df = dpl_grid(ctx)
    rows, stats_at = [], {}
    if not df.empty:
        budgets = {(t.benchmark, t.name): ctx.scale.budget_full_evals * t.n_epochs for t in tasks}
        g = regret_on_grid(df, [0.5, 1.0], axis="fraction", total_budget=budgets)  # fraction of the run budget
        for frac in (0.5, 1.0):
            try:
                s = rank_stats(score_matrix(g, frac))
            except Exception as exc:  # noqa: BLE001
                ctx.skip(f"ranks at {frac:.0%}", str(exc))
                continue
            stats_at[frac] = s
            for m, r in s["ranks"].items():
                rows.append({"fraction": frac, "method": m, "mean_rank": r, "friedman_stat": s["friedman"][0],
                             "friedman_p": s["friedman"][1], "n_tasks": s["n_tasks"]})
    out = pd.DataFrame(rows, columns=["fraction", "method", "mean_rank", "friedman_stat", "friedman_p", "n_tasks"])
    fig = None
    if stats_at:
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(len(stats_at), 1, figsize=(7, 3.0 * len(stats_at)), squeeze=False)
        for ax, (frac, s) in zip(axes[:, 0], stats_at.items()):
            plot_cd(s, ax=ax)
            ax.set_title(f"{frac:.0%} budget: " + ax.get_title(), fontsize="small")
    return write_outputs(ctx, "dpl_fig4", out, fig, meta={"claim": CLAIM, "methods": methods,
                                                          "posthoc": "Nemenyi (scikit-posthocs)"})
