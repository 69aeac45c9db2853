"""python -m lcsim.replay: compare HPO methods by replaying recorded learning curves.

With no arguments: every task of the ``embedded`` benchmark, every registered method not marked slow, 3 seeds, a
budget of 20 full-curve equivalents per task; prints the mean normalized regret per method at 25/50/100 % of the
budget and writes under ``--out``: ``cells/`` (one parquet file per method x task x seed, written atomically;
``--resume`` skips finished ones), ``results.parquet`` (all cells), ``summary.csv`` and ``regret.png``.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from ..errors import DataNotFoundError, InvalidParameterError, LcsimError, unknown_name

EPILOG = """\
method parameters:
  --param METHOD.NAME=VALUE   (repeatable) VALUE is parsed as JSON when it can be (3, 0.5, true, "x"),
                              else taken as a string; e.g. --param asha.eta=2 --param hyperband.resume=false
  --params JSON               a JSON object {"method": {"name": value}}, e.g. '{"asha": {"eta": 2}}'
  A method may be listed under a label of your choice with LABEL=METHOD, e.g. --methods asha,asha2=asha
  --param asha2.eta=2: results and the summary name methods by their label, as written on the command line.
  Labels of one method share its random numbers in each (task, seed) cell, so variants compare paired.

default methods: every name in lcsim.optimizers.METHODS whose class does not set `slow = True`
(slow methods run when named in --methods).

examples:
  python -m lcsim.replay                                   # default comparison on the embedded benchmark
  python -m lcsim.replay --benchmark synthetic --methods asha,hyperband --seeds 5 --budget 10
  python -m lcsim.replay --executor dask --scheduler tcp://10.0.0.1:8786 --out runs/big --resume
"""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m lcsim.replay", description=__doc__.split("\n\n")[0],
                                epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--benchmark", default="embedded", help="benchmark name (default: embedded)")
    p.add_argument("--tasks", default=None, help="comma-separated task names (default: all tasks)")
    p.add_argument("--methods", default=None,
                   help="comma-separated methods (default: every registered method not marked slow)")
    p.add_argument("--param", action="append", default=[], metavar="METHOD.NAME=VALUE",
                   help="a method parameter (repeatable; see below)")
    p.add_argument("--params", default=None, metavar="JSON", help="method parameters as one JSON object")
    p.add_argument("--option", action="append", default=[], metavar="NAME=VALUE",
                   help="a benchmark loader option (repeatable), e.g. --option filter=dpl for TaskSet's DPL pool")
    p.add_argument("--seeds", default="3",
                   help="number of seeds N (seeds 0..N-1) or a comma-separated list, e.g. 0,4,7; one seed s alone "
                        "is the list 's,' (default: 3)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--budget", type=float, default=None,
                   help="budget per run in full-curve equivalents (default: 20, i.e. 20 * n_epochs epochs)")
    g.add_argument("--budget-epochs", type=float, default=None, help="budget per run in epochs")
    g.add_argument("--budget-seconds", type=float, default=None, help="budget per run in simulated seconds")
    p.add_argument("--workers", type=int, default=1, help="simulated parallel workers per run (default: 1)")
    p.add_argument("--jobs", type=int, default=None,
                   help="processes running cells (local executor) or LocalCluster workers (default: CPU count)")
    p.add_argument("--executor", default="local", help="serial, local (process pool; default) or dask")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="address of a running Dask scheduler (with --executor dask); default: a LocalCluster")
    p.add_argument("--out", default=None,
                   help="results directory (default: ./lcsim-results/<benchmark>-<UTC timestamp>)")
    p.add_argument("--resume", action="store_true", help="continue the grid in --out, skipping finished cells")
    p.add_argument("--incumbent", default="any_epoch",
                   help="any_epoch (best value at any epoch; default) or max_budget (best full evaluation)")
    p.add_argument("--charge-overhead", action="store_true",
                   help="add measured optimizer time to the simulated clock")
    p.add_argument("--seed", type=int, default=0, help="root seed of every derived seed (default: 0)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    return p


def _parse_value(v: str):
    try:
        return json.loads(v)
    except json.JSONDecodeError:
        return v


def _options(args) -> dict:
    out = {}
    for item in args.option:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise InvalidParameterError(f"--option takes NAME=VALUE (e.g. --option filter=dpl); got {item!r}.")
        out[name] = _parse_value(value)
    return out


def _methods(args) -> dict[str, tuple[str, dict]]:
    from ..optimizers import METHODS, method_class

    if args.methods is None:
        names = [m for m in METHODS if not getattr(method_class(m), "slow", False)]
        slow = [m for m in METHODS if m not in names]
        if slow:
            print(f"Not in the quick default (slow; name them with --methods): {', '.join(slow)}")
        items = [(m, m) for m in names]
    else:
        items = []
        for tok in [t.strip() for t in args.methods.split(",") if t.strip()]:
            label, _, name = tok.partition("=")
            name = name or label
            if name not in METHODS:
                raise unknown_name("method", name, METHODS)
            items.append((label, name))
        if not items:
            raise InvalidParameterError("--methods is empty; give comma-separated names, e.g. asha,hyperband.")
    labels = [lab for lab, _ in items]
    if len(set(labels)) != len(labels):
        raise InvalidParameterError(f"--methods lists a label twice ({labels}); use LABEL=METHOD to tell them apart.")
    params: dict[str, dict] = {lab: {} for lab in labels}
    if args.params:
        try:
            obj = json.loads(args.params)
        except json.JSONDecodeError as exc:
            raise InvalidParameterError(
                f"--params is not valid JSON ({exc}); example: '{{\"asha\": {{\"eta\": 2}}}}'.") from None
        if not isinstance(obj, dict) or not all(isinstance(v, dict) for v in obj.values()):
            raise InvalidParameterError("--params must be a JSON object of objects, e.g. '{\"asha\": {\"eta\": 2}}'.")
        for lab, d in obj.items():
            if lab not in params:
                raise unknown_name("method in --params (not in --methods)", lab, params)
            params[lab].update(d)
    for item in args.param:
        key, eq, value = item.partition("=")
        lab, dot, pname = key.partition(".")
        if not eq or not dot or not lab or not pname:
            raise InvalidParameterError(f"--param {item!r} is malformed; write METHOD.NAME=VALUE, e.g. asha.eta=2.")
        if lab not in params:
            raise unknown_name("method in --param (not in --methods)", lab, params)
        params[lab][pname] = _parse_value(value)
    return {lab: (name, params[lab]) for lab, name in items}


def _seeds(text: str) -> list[int]:
    try:
        parts = [int(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise InvalidParameterError(
            f"--seeds must be a count N or a comma-separated list of ints; got {text!r}.") from None
    if not parts:
        raise InvalidParameterError("--seeds is empty.")
    if "," not in text:
        if parts[0] < 1:
            raise InvalidParameterError(f"--seeds count must be >= 1; got {parts[0]}.")
        return list(range(parts[0]))
    if min(parts) < 0 or len(set(parts)) != len(parts):
        raise InvalidParameterError(f"--seeds must list distinct ints >= 0; got {text!r}.")
    return parts


def _benchmark_tasks(name: str) -> list[str]:
    from .. import benchmarks

    try:
        bench = benchmarks.get_benchmark(name)
        return bench.tasks()
    except (ModuleNotFoundError, DataNotFoundError, FileNotFoundError) as exc:
        if name == "embedded":
            raise DataNotFoundError(
                f"The embedded benchmark is not available ({type(exc).__name__}: {exc}). It ships as data/ files of "
                "the lcsim repository; build it with `python -m lcsim.live build` (see data/README.md), or run "
                "another benchmark, e.g. `python -m lcsim.replay --benchmark synthetic`.") from exc
        raise


def main(argv=None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return _main(args)
    except (LcsimError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _main(args) -> int:
    from ..benchmarks import list_benchmarks
    from ..errors import check_choice, check_float, check_int
    from ..optimizers import make_optimizer
    from . import grid, store, summary
    from .engine import INCUMBENT_RULES, problem_for

    check_choice("--executor", "value", args.executor, grid.EXECUTORS)
    check_choice("--incumbent", "value", args.incumbent, INCUMBENT_RULES)
    check_int("--workers", "value", args.workers, 1)
    if args.jobs is not None:
        check_int("--jobs", "value", args.jobs, 1)
    if args.scheduler and args.executor != "dask":
        raise InvalidParameterError("--scheduler needs --executor dask.")
    if args.benchmark not in list_benchmarks():
        raise unknown_name("benchmark", args.benchmark, list_benchmarks())
    if args.budget_epochs is not None:
        budget = ("epochs", check_float("--budget-epochs", "value", args.budget_epochs, 0, None, closed="neither"))
    elif args.budget_seconds is not None:
        budget = ("seconds", check_float("--budget-seconds", "value", args.budget_seconds, 0, None,
                                         closed="neither"))
    else:
        budget = ("full", check_float("--budget", "value", 20.0 if args.budget is None else args.budget, 0, None,
                                      closed="neither"))
    seeds = _seeds(args.seeds)
    methods = _methods(args)
    options = _options(args)
    all_tasks = _benchmark_tasks(args.benchmark)
    if args.tasks:
        tasks = [t.strip() for t in args.tasks.split(",") if t.strip()]
        for t in tasks:
            if t not in all_tasks:
                raise unknown_name(f"{args.benchmark} task", t, all_tasks)
    else:
        tasks = all_tasks
    if not tasks:
        raise InvalidParameterError(f"Benchmark {args.benchmark!r} has no tasks.")
    if args.resume and not args.out:
        raise InvalidParameterError("--resume needs --out naming the results directory to continue.")
    out = Path(args.out) if args.out else Path("lcsim-results") / (
        f"{args.benchmark}-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}")
    spec = grid.GridSpec(benchmark=args.benchmark, tasks=tasks, methods=methods, seeds=seeds, budget=budget,
                         n_workers=args.workers, charge_overhead=args.charge_overhead, incumbent=args.incumbent,
                         root_seed=args.seed, options=options).validate()
    # validate every method's parameters and the budget unit on the first task before starting the grid
    first = grid._load_task(args.benchmark, tasks[0], options)
    if budget[0] == "seconds" and first.cost_unit != "seconds":
        raise InvalidParameterError(f"Task {first.key} records no seconds per epoch; use --budget or --budget-epochs.")
    for label, (name, params) in methods.items():
        try:
            make_optimizer(name, problem_for(first, args.workers), 0, params)
        except LcsimError as exc:
            raise InvalidParameterError(f"method {label!r}: {exc}") from exc
    t0 = time.perf_counter()
    table = grid.run_grid(spec, out / "cells", executor=args.executor, n_jobs=args.jobs, scheduler=args.scheduler,
                          resume=args.resume, progress=not args.no_progress)
    wall = time.perf_counter() - t0
    results = store.write_table(out / "results.parquet", store.canonical(table, drop_wall=False))
    summ = summary.summary_table(table, methods=list(methods))
    summ.to_csv(out / "summary.csv")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ax = summary.plot_regret(table, methods=list(methods))
    ax.set_title(f"{args.benchmark}: {len(tasks)} task(s) x {len(seeds)} seed(s)")
    png = out / "regret.png"
    ax.figure.tight_layout()
    ax.figure.savefig(png, dpi=120)
    plt.close(ax.figure)
    unit = {"full": "full-curve equivalents", "epochs": "epochs", "seconds": "simulated seconds"}[budget[0]]
    print(f"\nMean normalized regret ({args.benchmark}, {len(tasks)} task(s), {len(seeds)} seed(s), budget "
          f"{budget[1]:g} {unit}, incumbent {args.incumbent}) at 25/50/100 % of the budget:")
    print(summ.to_string(float_format=lambda v: f"{v:.4f}"))
    print(f"\n{len(table)} epochs replayed in {wall:.1f} s")
    print(f"results: {results.resolve()} (cells: {(out / 'cells').resolve()}/)")
    print(f"summary: {(out / 'summary.csv').resolve()}")
    print(f"plot:    {png.resolve()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
