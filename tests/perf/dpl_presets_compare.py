"""Paired comparison of DPL's two presets on TaskSet at the paper's protocol: the paper's text (``preset="paper"``,
lcsim's default) against the authors' code (``preset="code"``).

The paper-preset runs are the ``dpl`` cells of the committed full-scale TaskSet grid
(``paper_figures/results/full/taskset.parquet``: root seed 2024, 20 full curves, the DPL pool, any-epoch normaliser).
The code-preset runs come from the replay CLI with the same root seed, budget and normaliser under the label
``dpl_code=dpl``; a label shares its registry method's seeds (``lcsim.replay.grid.Cell.optimizer_seed``), so each
(task, seed) pair starts from the same first configuration and replays the same curves: a paired comparison of the
presets alone. One seed at a time (resumable, one results folder per seed)::

    nice -n 19 python -m lcsim.replay --benchmark taskset --methods dpl_code=dpl --param dpl_code.preset=code \\
        --seeds 0, --budget 20 --normaliser any_epoch --seed 2024 --jobs 1 --executor serial \\
        --out /tmp/dpl_presets/s0 --resume --no-progress

Then ``python tests/perf/dpl_presets_compare.py /tmp/dpl_presets/s*/cells --out
tests/fixtures/dpl_presets_taskset.csv`` pairs every finished code-preset run with its paper-preset run, reads both
runs' normalized regret at 25 / 50 / 100 % of the budget (:func:`analysis.regret.regret_at_fractions`) and tests the
presets per fraction with :func:`analysis.stats.paired_wilcoxon` (two-sided Wilcoxon signed-rank), over the (task,
seed) runs and over the tasks' means over the seeds that every task has finished. ``--out`` keeps the
per-run regrets and method seconds (a few KB) so that the table can be redrawn without the cells.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from analysis.regret import regret_at_fractions  # noqa: E402
from analysis.stats import paired_wilcoxon  # noqa: E402
from lcsim.replay import store  # noqa: E402

PACK = Path(__file__).resolve().parents[2] / "paper_figures" / "results" / "full" / "taskset.parquet"
PRESETS = {"dpl": "paper", "dpl_code": "code"}


def per_run(code_dirs, pack: Path) -> pd.DataFrame:
    """Regret at the budget fractions and method seconds of every paired (task, seed) run of both presets."""
    files = [f for d in code_dirs for f in store.cell_files(d)]  # a seed's folder may hold no finished cell yet
    if not files:
        raise SystemExit(f"no finished code-preset cells in {list(map(str, code_dirs))}")
    code = pd.concat([store.read_table(f) for f in files], ignore_index=True)
    paper = store.read_table(pack)
    paper = paper[paper["method"] == "dpl"].drop(columns=["cell"])
    keys = code[["task", "seed"]].drop_duplicates()
    paper = paper.merge(keys, on=["task", "seed"])
    for col in ("normaliser", "incumbent_rule", "budget"):
        if set(code[col]) != set(paper[col]):
            raise SystemExit(f"the runs differ in {col}: code {set(code[col])} vs paper {set(paper[col])}")
    both = pd.concat([paper, code], ignore_index=True)
    rf = regret_at_fractions(both)
    secs = both.groupby(["task", "method", "seed"])["overhead_s"].sum().rename("method_seconds").reset_index()
    out = rf.merge(secs, on=["task", "method", "seed"]).assign(preset=lambda d: d["method"].map(PRESETS))
    return out[["task", "seed", "preset", "x", "value", "method_seconds"]].sort_values(
        ["x", "task", "seed", "preset"]).reset_index(drop=True)


def tests(runs: pd.DataFrame) -> pd.DataFrame:
    """Wilcoxon of the paper preset against the code preset per fraction, over runs and over task means."""
    rows = []
    for x, d in runs.groupby("x"):
        m = d.pivot_table(index=["task", "seed"], columns="preset", values="value")
        n_tasks = m.groupby(level="seed").size()
        full = n_tasks[n_tasks == m.index.get_level_values("task").nunique()].index  # seeds every task has
        t = m.loc[m.index.get_level_values("seed").isin(full)].groupby(level="task").mean()
        for over, mat in (("runs", m), (f"task means ({len(full)} seeds)", t)):
            w = paired_wilcoxon(mat[["paper", "code"]], "paper").iloc[0]
            rows.append({"fraction": x, "over": over, "n": int(w["n"]), "paper_mean": mat["paper"].mean(),
                         "code_mean": mat["code"].mean(), "paper_lower": int(w["better"]), "tied": int(w["tied"]),
                         "code_lower": int(w["worse"]), "W": w["statistic"], "p": w["p"]})
    return pd.DataFrame(rows)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("cells", nargs="*", help="folders of code-preset cell files")
    ap.add_argument("--pack", default=str(PACK), help="the full-scale TaskSet pack (paper-preset DPL cells)")
    ap.add_argument("--runs", help="a per-run CSV written by --out, instead of cell folders")
    ap.add_argument("--out", help="write the per-run regrets here (CSV)")
    args = ap.parse_args(argv)
    runs = pd.read_csv(args.runs) if args.runs else per_run(args.cells, Path(args.pack))
    if args.out:
        tmp = Path(args.out).with_suffix(".tmp")
        runs.to_csv(tmp, index=False)
        tmp.replace(args.out)
    pairs = runs[["task", "seed"]].drop_duplicates()
    seeds = sorted(int(s) for s in pairs["seed"].unique())
    print(f"{len(pairs)} paired runs on {pairs['task'].nunique()} tasks, seeds {seeds}")
    secs = runs.drop_duplicates(["task", "seed", "preset"]).groupby("preset")["method_seconds"].mean()
    print("mean method seconds per run:", secs.round(1).to_dict())
    print(tests(runs).to_string(index=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
