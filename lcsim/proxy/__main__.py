"""Command line of the proxy experiments.

``python -m lcsim.proxy fghpo --scale small --out results/fghpo``
    FGHPO vs its baselines on the four Bayesmark (scikit-learn) datasets: records a task per dataset with proxy
    metrics by live training (cached in ``--out``), replays every method ``repeats`` times, prints the median test
    accuracy and runtime per (dataset, method) and the wins/ties/losses table (FGHPO Tables 1-2, Fig. 2).

``python -m lcsim.proxy agn --scale small --out results/agn``
    AGN objectives vs validation loss in CMA-ES and PSO (AGN Table 1 at a scale), test accuracy mean +- std.

Scales of ``fghpo`` (:data:`FGHPO_SCALES`): ``tiny`` (seconds, tests), ``small`` (default: 120 recorded
configurations x 20 epochs per dataset, N1 = 50, N2 = 10, 50 evaluations, R = 20; its cost, dominated by TuRBO's
GP refits, is in ``tests/perf/README.md``),
``paper`` (live training, 100 epochs, R = 20: 4 datasets x 6 methods x 20 repeats x
(50 x 100) epochs, about 2.4 M epochs, days on a CPU; uses CUDA when present).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..errors import unknown_name

FGHPO_SCALES = {
    "tiny": dict(n_configs=12, epochs=3, n_probe=6, n_full=2, n_evals=6, repeats=3, datasets=["iris", "wine"]),
    "small": dict(n_configs=120, epochs=20, n_probe=50, n_full=10, n_evals=50, repeats=20,
                  datasets=["iris", "wine", "breast_cancer", "digits"]),
    "paper": dict(n_configs=None, epochs=100, n_probe=50, n_full=10, n_evals=50, repeats=20,
                  datasets=["iris", "wine", "breast_cancer", "digits"]),
}
FGHPO_METHODS = ["fghpo", "random_search", "tpe", "turbo", "hebo", "bohb", "cmaes", "pso"]


def run_fghpo(scale: str, out: Path, methods: list[str], repeats: int | None = None, seed: int = 0,
              device: str = "cpu"):
    import pandas as pd

    from analysis.stats import wins_ties_losses

    from ..benchmarks._base import Task
    from .protocol import run_live, run_replayed, summary_table
    from .tasks import live_task, record_task

    if scale not in FGHPO_SCALES:
        raise unknown_name("FGHPO scale", scale, FGHPO_SCALES)
    sc = FGHPO_SCALES[scale]
    repeats = repeats or sc["repeats"]
    out.mkdir(parents=True, exist_ok=True)
    params = {"fghpo": {"n_probe": sc["n_probe"], "n_full": sc["n_full"]}, "random_search": {"n_evals": sc["n_evals"]},
              **{m: {"n_evals": sc["n_evals"]} for m in ("tpe", "turbo", "hebo", "cmaes", "pso", "bohb")}}
    if scale == "paper":
        import torch

        device = "cuda" if torch.cuda.is_available() else device
        factories = {d: (lambda d=d: live_task(d, "bayesmark_mlp", epochs=sc["epochs"], seed=seed, device=device))
                     for d in sc["datasets"]}
        res = run_live(factories, methods, repeats=repeats, seed=seed, params=params)
    else:
        tasks = {}
        for d in sc["datasets"]:
            f = out / f"task_{d}_{scale}.npz"
            if f.exists():
                tasks[d] = Task.from_file(f)
            else:
                tasks[d] = record_task(d, "bayesmark_mlp", n_configs=sc["n_configs"], epochs=sc["epochs"], seed=seed,
                                       device=device)
                tasks[d].save(f)
        res = run_replayed(tasks, methods, repeats=repeats, seed=seed, params=params)
    res.to_csv(out / "results.csv", index=False)
    summ = summary_table(res)
    wtl = wins_ties_losses(res)
    summ.to_csv(out / "summary.csv", index=False)
    wtl.to_csv(out / "wins_ties_losses.csv")
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(summ.pivot(index="method", columns="dataset", values="median_score").round(4))
        print(summ.pivot(index="method", columns="dataset", values="median_runtime_s").round(1))
        print(wtl)
    return res


def main(argv: list[str] | None = None) -> int:
    from ..optimizers.scores import AGN_METRICS

    ap = argparse.ArgumentParser(prog="python -m lcsim.proxy", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("fghpo")
    f.add_argument("--scale", default="small", choices=list(FGHPO_SCALES))
    f.add_argument("--out", default="results/fghpo")
    f.add_argument("--methods", default=",".join(FGHPO_METHODS))
    f.add_argument("--repeats", type=int, default=None)
    f.add_argument("--seed", type=int, default=0)
    a = sub.add_parser("agn")
    a.add_argument("--scale", default="small")
    a.add_argument("--out", default="results/agn")
    a.add_argument("--methods", default="cmaes,pso")
    a.add_argument("--alpha", type=float, default=0.05)
    a.add_argument("--seed", type=int, default=0)
    a.add_argument("--root", default=None, help="folder with the image dataset files (paper scale)")
    a.add_argument("--rounds", type=int, default=None, help="override the scale's number of rounds")
    a.add_argument("--epochs", type=int, default=None, help="override the scale's epochs per configuration")
    a.add_argument("--agn-metric", default="agn_end_sum", choices=list(AGN_METRICS),
                   help="AGN(theta_T) column of eq. 6: agn_end_sum (eq. 5 at the epoch ends; default) or agn_sum "
                        "(accumulated during the training passes)")
    args = ap.parse_args(argv)
    out = Path(args.out)
    if args.cmd == "fghpo":
        run_fghpo(args.scale, out, args.methods.split(","), args.repeats, args.seed)
    else:
        import torch

        from .agn_search import compare

        device = "cuda" if torch.cuda.is_available() else "cpu"
        settings = (("val", None), ("agn_train", args.alpha), ("agn_val", args.alpha))
        ov = {k: v for k, v in (("rounds", args.rounds), ("epochs", args.epochs)) if v is not None}
        df = compare(tuple(args.methods.split(",")), settings, scale=args.scale, seed=args.seed, device=device,
                     root=args.root, overrides=ov, agn_metric=args.agn_metric)
        out.mkdir(parents=True, exist_ok=True)
        df.to_csv(out / "agn_results.csv", index=False)
        (out / "agn_results.json").write_text(json.dumps(df.to_dict("records"), default=str, indent=1))
        cols = ["method", "objective", "alpha", "test_acc_mean", "test_acc_std", "search_score", "search_seconds"]
        print(df[cols].to_string(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
