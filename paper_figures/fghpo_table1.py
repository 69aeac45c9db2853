"""FGHPO Tables 1-2: win/tie/loss of flatness-guided methods vs their base methods (Mann-Whitney U per task over
seeds on the final normalized regret, Benjamini-Hochberg over all comparisons, alpha = 0.05)."""
from __future__ import annotations

import pandas as pd

from analysis.stats import mann_whitney_bh, win_tie_loss

from ._common import available_methods, load_tasks, run_grid, write_outputs

CLAIM = "Flatness guidance wins more often than it loses against the base multi-fidelity methods."
# (guided, base) pairs as registered by the FGHPO helper
PAIRS = (("fghpo_hyperband", "hyperband"), ("fghpo_asha", "asha"), ("fghpo_bohb", "bohb"),
         ("fghpo_random_search", "random_search"))


def main(ctx):
    tasks = load_tasks(ctx)
    pairs = list(PAIRS)
    if ctx.scale.name == "tiny":
        pairs = [("hyperband", "random_search"), ("successive_halving", "random_search")]
        ctx.notes.append("tiny scale: hyperband/successive_halving vs random_search exercise the table (not FGHPO)")
    rows = []
    if tasks:
        names = sorted({n for p in pairs for n in p})
        ok = set(available_methods(ctx, names, tasks[0]))
        pairs = [p for p in pairs if p[0] in ok and p[1] in ok]
        df = run_grid(ctx, tasks, sorted({n for p in pairs for n in p}))
        if not df.empty:
            final = df.groupby(["benchmark", "task", "method", "seed"])["normalized_regret"].last().reset_index()
            final["group"] = final["benchmark"] + "/" + final["task"]
            for guided, base in pairs:
                sub = final[final["method"].isin([guided, base])]
                rows.append(mann_whitney_bh(sub, group="group", method="method", value="normalized_regret",
                                            reference=base))
    tests = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()
    if not tests.empty:  # one BH correction over every comparison of the table
        from analysis.stats import benjamini_hochberg
        import numpy as np

        tests["p_bh"] = benjamini_hochberg(tests["p"].to_numpy())
        better = tests["median"] < tests["median_ref"]
        sig = tests["p_bh"] < 0.05
        tests["outcome"] = np.where(sig & better, "win", np.where(sig & ~better, "loss", "tie"))
        table = win_tie_loss(tests).merge(tests.groupby("method")["reference"].first().reset_index())
    else:
        table = pd.DataFrame(columns=["method", "win", "tie", "loss", "reference"])
    fig = None
    if not table.empty:
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(5, 0.6 + 0.4 * len(table)))
        ax.axis("off")
        ax.table(cellText=table.values, colLabels=list(table.columns), loc="center")
    if not tests.empty:
        write_outputs(ctx, "fghpo_table1_tests", tests, None, meta={"claim": CLAIM}, script="fghpo_table1")
    return write_outputs(ctx, "fghpo_table1", table, fig, meta={"claim": CLAIM, "pairs": pairs, "alpha": 0.05})
