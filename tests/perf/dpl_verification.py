"""Issue-5 verification report: DPL vs random search / Hyperband / ASHA from finished replay grids.

Reads the cells of one or more ``python -m lcsim.replay --out DIR`` grids (e.g. one directory per seed batch) and
prints, per benchmark:

* mean normalized regret (DPL eq. 9, any-epoch incumbent) at 25 / 50 / 100 % of the budget, over tasks and seeds;
* a paired Wilcoxon signed-rank test (scipy) of DPL against each baseline at each fraction, over the (task, seed)
  runs both have, with the number of runs where DPL is lower / tied / higher;
* DPL's optimizer time per step (ask + tell wall time as the engine records it): mean and median per run.

Every method label starting with ``dpl`` is a target (e.g. ``dpl`` and ``dpl_cap80=dpl`` run with
``--param dpl_cap80.max_refine_steps=80``); each is tested against every other label, the other DPL variants
included, so two schedules compare paired by (task, seed). A run found in several directories (baselines rerun in
another grid) is counted once; its copies must agree, or the script stops.

Usage (the grids of the note on issue 5)::

    python -m lcsim.replay --benchmark embedded --methods dpl,random_search,hyperband,asha --seeds 5 --budget 20 \\
        --out runs/dpl_emb
    python -m lcsim.replay --benchmark taskset --option filter=dpl --methods dpl,random_search,hyperband,asha \\
        --seeds 0 --budget 20 --out runs/dpl_ts_s0          # one directory per seed: each can finish on its own
    python tests/perf/dpl_verification.py runs/dpl_emb runs/dpl_ts_s*
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from analysis.regret import FRACTIONS, RUN_KEYS, regret_at_fractions, summary_table  # noqa: E402
from analysis.stats import paired_wilcoxon  # noqa: E402
from lcsim.replay.store import MEASURED_COLUMNS, read_dir  # noqa: E402

CELL_KEYS = list(RUN_KEYS)


def per_run(df: pd.DataFrame) -> pd.DataFrame:
    """One row per (benchmark, task, method, seed): regret at each fraction, steps, optimizer seconds."""
    rows = []
    for key, g in df.groupby(CELL_KEYS, sort=True):
        r = regret_at_fractions(g, FRACTIONS)["value"].to_numpy()
        ov = g["overhead_s"].to_numpy(dtype=float)
        rows.append({**dict(zip(CELL_KEYS, key)), **{f"{round(100 * f)}%": v for f, v in zip(FRACTIONS, r)},
                     "steps": int((ov > 0).sum()), "optimizer_s": float(ov.sum()),
                     "median_step_s": float(np.median(ov[ov > 0])) if (ov > 0).any() else np.nan})
    return pd.DataFrame(rows)


def paired_tests(runs: pd.DataFrame, target: str = "dpl") -> pd.DataFrame:
    """Wilcoxon signed-rank test of ``target`` vs every other method, paired by (task, seed), per fraction
    (:func:`analysis.stats.paired_wilcoxon`; ``better``/``worse``: runs where the target is lower/higher)."""
    out = []
    for c in [f"{round(100 * f)}%" for f in FRACTIONS]:
        wide = runs.pivot_table(index=["task", "seed"], columns="method", values=c)
        out.append(paired_wilcoxon(wide, target).assign(target=target, fraction=c))
    return pd.concat(out, ignore_index=True).rename(columns={"method": "vs"})


def dedup(tables: list[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate grid tables keeping each (benchmark, task, method, seed) run once; copies must be identical
    (wall-clock columns aside)."""
    seen: dict[tuple, pd.DataFrame] = {}
    keep = []
    for t in tables:
        for key, g in t.groupby(CELL_KEYS, sort=False):
            body = g.drop(columns=list(MEASURED_COLUMNS)).reset_index(drop=True)
            if key in seen:
                pd.testing.assert_frame_equal(seen[key], body, obj=f"run {key} in two directories")
                continue
            seen[key] = body
            keep.append(g)
    return pd.concat(keep, ignore_index=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dirs", nargs="+", help="grid output directories (python -m lcsim.replay --out)")
    a = ap.parse_args(argv)
    # finished cells only (a grid still running has no results.parquet yet)
    df = dedup([read_dir(Path(d) / "cells" if (Path(d) / "cells").is_dir() else d) for d in a.dirs])
    runs = per_run(df)
    pd.set_option("display.width", 160)
    for bench, b in runs.groupby("benchmark"):
        sub = df[df["benchmark"] == bench]
        print(f"\n== {bench}: {b['task'].nunique()} tasks, seeds {sorted(b['seed'].unique().tolist())}")
        print(summary_table(sub, FRACTIONS).round(3).to_string())
        for target in sorted(m for m in set(b["method"]) if m.startswith("dpl")):
            print(paired_tests(b, target).round(4).to_string(index=False))
            d = b[b["method"] == target]
            per_step = d["optimizer_s"] / d["steps"]
            print(f"{target} optimizer time per step over {len(d)} runs: mean of run means {per_step.mean():.3f} s "
                  f"(range {per_step.min():.3f}-{per_step.max():.3f}), mean of run medians "
                  f"{d['median_step_s'].mean():.3f} s, {d['steps'].mean():.0f} steps per run")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
