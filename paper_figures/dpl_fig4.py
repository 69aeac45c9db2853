"""DPL Fig. 4: average ranks and critical-difference diagrams at 50 % and 100 % of the budget, and its companion
table ``dpl_fig4_wilcoxon``: DPL against each baseline by the paired Wilcoxon signed-rank test with the
Benjamini-Hochberg correction, paired over tasks (seed-averaged regret, the blocks the ranks use) and over runs
(task, seed)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.ranking import plot_cd, rank_stats, score_matrix
from analysis.regret import regret_on_grid
from analysis.stats import paired_wilcoxon

from ._common import write_outputs
from ._dpl import dpl_grid

CLAIM = "DPL has the best average rank at 50 % and 100 % of the budget, significantly better than most baselines."


def main(ctx):
    tasks, methods, df = dpl_grid(ctx)
    rows, stats_at, tests = [], {}, []
    if not df.empty:
        budgets = {(t.benchmark, t.name): ctx.scale.budget_full_evals * t.n_epochs for t in tasks}
        g = regret_on_grid(df, [0.5, 1.0], axis="fraction", total_budget=budgets)  # fraction of the run budget
        for frac in (0.5, 1.0):
            try:
                per_task = score_matrix(g, frac)
                s = rank_stats(per_task)
            except Exception as exc:  # noqa: BLE001
                ctx.skip(f"ranks at {frac:.0%}", str(exc))
                continue
            stats_at[frac] = s
            if "dpl" in s["ranks"].index:
                at = g[np.isclose(g["x"].to_numpy(dtype=float), frac)]
                runs = at.pivot_table(index=["benchmark", "task", "seed"], columns="method", values="value")
                for level, matrix in (("task", per_task), ("run", runs)):
                    tests.append(paired_wilcoxon(matrix, "dpl").assign(fraction=frac, blocks=level))
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
    cols = ["fraction", "blocks", "method", "n", "better", "tied", "worse", "median_diff", "statistic", "p", "p_bh"]
    wil = pd.concat(tests, ignore_index=True)[cols] if tests else pd.DataFrame(columns=cols)
    write_outputs(ctx, "dpl_fig4_wilcoxon", wil, meta={
        "claim": CLAIM, "reference": "dpl", "test": "Wilcoxon signed-rank (scipy), two-sided, zero differences "
        "dropped, Benjamini-Hochberg over the baselines per fraction and blocks", "blocks": "task: seed-averaged "
        "normalized regret per task; run: one (task, seed) pair", "better": "blocks where DPL's regret is lower"},
        script="dpl_fig4")
    return write_outputs(ctx, "dpl_fig4", out, fig, meta={"claim": CLAIM, "methods": methods,
                                                          "posthoc": "Nemenyi (scikit-posthocs)"})
