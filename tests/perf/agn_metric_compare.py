"""AGN Table 1 (CMA-ES, PSO) at the small scale with eq. 6 reading AGN(theta_T) from each recorded column:
``agn_end_sum`` (eq. 5, the sum over epoch ends at the end-of-epoch weights; lcsim's default) and ``agn_sum`` (the
same per-sample norms accumulated during the training passes).

Both runs go through ``paper_figures._agn.run_table`` with the same cells, seeds and retraining seeds (the
validation-loss cells and the Default do not read AGN and are shared). Per (method, objective, alpha) row it reports
the test accuracy mean +- std over the retrainings under each column (and the method's Val row), whether both
searches chose the same configuration, each row's outcome against its method's Val
(``paper_figures._agn.stats_table``: two-sided Mann-Whitney U, BH over the table), and the two columns against each
other (two-sided Mann-Whitney U of the retrainings, BH over the rows; :func:`analysis.stats.mann_whitney_bh`).

Run (under 5 min for both columns with 2 jobs on the 2-core machine)::

    nice -n 5 python tests/perf/agn_metric_compare.py --out /tmp/agn_metric_cmp --jobs 2
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd

from analysis.stats import mann_whitney_bh
from paper_figures._agn import agn_scale, run_table, stats_table
from paper_figures._common import Context, get_scale

COLUMNS = ("agn_end_sum", "agn_sum")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="cache and output folder")
    ap.add_argument("--jobs", type=int, default=1)
    args = ap.parse_args(argv)
    ctx = Context(get_scale("small"), Path(args.out), jobs=args.jobs)
    runs, tables, seconds = [], [], {}
    for col in COLUMNS:
        t0 = time.perf_counter()
        r = run_table(ctx, "agn_table1", ("cmaes", "pso"), agn_scale(ctx).blackbox, agn_metric=col)
        seconds[col] = time.perf_counter() - t0
        runs.append(r.assign(agn_metric=col))
        tables.append(stats_table(r).assign(agn_metric=col))
    runs = pd.concat(runs, ignore_index=True)
    searched = runs[(runs["method"] != "default") & (runs["objective"] != "val")]
    between = mann_whitney_bh(searched.assign(key=searched["method"] + "|" + searched["setting"]), group="key",
                              method="agn_metric", value="test_acc", reference="agn_sum", minimize=False)
    wide = None
    for col, t in zip(COLUMNS, tables):
        t = t[t["objective"].isin(["agn_train", "agn_val"])][["method", "setting", "acc_mean", "acc_std",
                                                               "outcome_acc"]]
        t = t.rename(columns={c: f"{c}__{col}" for c in ("acc_mean", "acc_std", "outcome_acc")})
        wide = t if wide is None else wide.merge(t, on=["method", "setting"])
    cfg = searched.drop_duplicates(["method", "setting", "agn_metric"]).pivot(
        index=["method", "setting"], columns="agn_metric", values="config").reset_index()
    wide = wide.merge(cfg.assign(same_config=cfg["agn_end_sum"] == cfg["agn_sum"])[["method", "setting",
                                                                                  "same_config"]],
                      on=["method", "setting"])
    b = between.assign(method=between["key"].str.split("|").str[0], setting=between["key"].str.split("|").str[1])
    wide = wide.merge(b[["method", "setting", "p", "p_bh"]], on=["method", "setting"], how="left")
    val = tables[0][tables[0]["objective"] == "val"][["method", "acc_mean", "acc_std"]]
    wide = wide.merge(val.rename(columns={"acc_mean": "val_acc_mean", "acc_std": "val_acc_std"}), on="method")
    out = Path(args.out)
    wide.to_csv(out / "agn_metric_compare.csv", index=False)
    print(f"seconds per column (cached cells reused): {seconds}")
    print(wide.to_string(index=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
