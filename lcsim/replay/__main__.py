"""python -m lcsim.replay: compare HPO methods by replaying recorded learning curves.

With no arguments: every task of the ``embedded`` benchmark, every registered method not marked slow, 3 seeds, a
budget of 20 full-curve equivalents per task; prints the mean normalized regret per method at 25/50/100 % of the
budget and writes under ``--out``: ``cells/`` (one parquet file per method x task x seed, written atomically;
``--resume`` skips finished ones), ``results.parquet`` (all cells, simulated results only: two runs of one grid give
identical bytes), ``timings.parquet`` (the measured optimizer wall time per row), ``summary.csv`` and ``regret.png``
(both from :mod:`analysis.regret`, the one regret aggregation; its choices are the ``#`` lines of ``summary.csv``).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from ..errors import DataNotFoundError, InvalidParameterError, LcsimError, UnknownNameError, unknown_name

EPILOG = """\
method parameters:
  --param METHOD.NAME=VALUE   (repeatable) VALUE is parsed to the parameter's declared type (true/false for a
                              bool, 3 for an int, 0.5 for a float, text for a str, none for an optional one)
                              and refused otherwise; e.g. --param asha.eta=2 --param hyperband.resume=false
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
    p.add_argument("--normaliser", default="final",
                   help="regret reference: final (best/worst final value of the pool; default) or any_epoch "
                        "(best/worst value at any epoch, the DPL authors' code)")
    p.add_argument("--charge-overhead", action="store_true",
                   help="add measured optimizer time to the simulated clock")
    p.add_argument("--seed", type=int, default=0, help="root seed of every derived seed (default: 0)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    return p


def _parse_value(v: str):
    """A loader option's value: JSON when it parses (3, 0.5, true), else the text."""
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
    from ..optimizers import METHODS, method_class, parse_param

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
                raise _unknown_label("--params", lab, params)
            params[lab].update(d)
    for item in args.param:
        key, eq, value = item.partition("=")
        lab, dot, pname = key.partition(".")
        if not eq or not dot or not lab or not pname:
            raise InvalidParameterError(f"--param {item!r} is malformed; write METHOD.NAME=VALUE, e.g. asha.eta=2.")
        if lab not in params:
            raise _unknown_label("--param", lab, params)
        params[lab][pname] = parse_param(dict(items)[lab], pname, value)
    return {lab: (name, params[lab]) for lab, name in items}


def _unknown_label(flag: str, label: str, labels) -> UnknownNameError:
    """An unknown method label in --param/--params: they name labels listed in --methods."""
    err = unknown_name("method label", label, labels)
    return UnknownNameError(f"{flag} names {label!r}, which --methods does not list. {err}".replace(
        f"Unknown method label {label!r}. ", ""))


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
    except OSError as exc:  # the file system refused a write or read: say which file and why, no traceback
        where = f" {exc.filename}" if exc.filename else ""
        print(f"error: cannot access{where}: {exc.strerror or exc}; free space, fix the permissions or choose "
              "another --out.", file=sys.stderr)
        return 2


def _main(args) -> int:
    from ..benchmarks import list_benchmarks
    from ..errors import check_choice, check_float, check_int
    from ..optimizers import make_optimizer
    from . import grid, store
    from .engine import INCUMBENT_RULES, NORMALISERS, problem_for

    check_choice("--executor", "value", args.executor, grid.EXECUTORS)
    check_choice("--incumbent", "value", args.incumbent, INCUMBENT_RULES)
    check_choice("--normaliser", "value", args.normaliser, NORMALISERS)
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
    if args.tasks is not None:
        tasks = [t.strip() for t in args.tasks.split(",") if t.strip()]
        if not tasks:
            raise InvalidParameterError(f"--tasks lists no task; give comma-separated names of {args.benchmark} "
                                        f"tasks, e.g. --tasks {all_tasks[0] if all_tasks else 'NAME'}, or leave it "
                                        "out for all.")
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
                         root_seed=args.seed, options=options, normaliser=args.normaliser).validate()
    # before starting the grid: the budget against every task, every method's parameters on the first task, and
    # the output directory
    first = None
    for t in tasks:
        task = grid._load_task(args.benchmark, t, options)
        grid.budget_for(task, *budget)
        first = first or task
    for label, (name, params) in methods.items():
        try:
            make_optimizer(name, problem_for(first, args.workers), 0, params)
        except LcsimError as exc:
            raise InvalidParameterError(f"method {label!r}: {exc}") from exc
    _check_out(out)
    t0 = time.perf_counter()
    table = grid.run_grid(spec, out / "cells", executor=args.executor, n_jobs=args.jobs, scheduler=args.scheduler,
                          resume=args.resume, progress=not args.no_progress)
    wall = time.perf_counter() - t0
    results, timings = store.write_results(out, table)
    summ = write_summary(out, table, list(methods))
    png = write_regret_plot(out / "regret.png", table, list(methods),
                            f"{args.benchmark}: {len(tasks)} task(s) x {len(seeds)} seed(s)",
                            {lab: name for lab, (name, _) in methods.items()})
    unit = {"full": "full-curve equivalents", "epochs": "epochs", "seconds": "simulated seconds"}[budget[0]]
    print(f"\nMean normalized regret ({args.benchmark}, {len(tasks)} task(s), {len(seeds)} seed(s), budget "
          f"{budget[1]:g} {unit}, incumbent {args.incumbent}, normaliser {args.normaliser}) at 25/50/100 % of the "
          "budget:")
    print(summ.to_string(float_format=lambda v: f"{v:.4f}"))
    print(f"\n{len(table)} epochs replayed in {wall:.1f} s")
    print(f"results: {results.resolve()} (cells: {(out / 'cells').resolve()}/; measured times: {timings.name})")
    print(f"summary: {(out / 'summary.csv').resolve()}")
    print(f"plot:    {png.resolve()}")
    return 0


def _check_out(out: Path) -> None:
    """Refuse an output directory that cannot be written before any cell runs (one error naming the fix)."""
    from .grid import _make_dir

    for p in [out, *out.parents]:
        if p.exists() and not p.is_dir():
            raise InvalidParameterError(f"--out {out}: {p} is a file, not a directory; choose another --out.")
    _make_dir(out)
    cells = out / "cells"
    if cells.exists() and not cells.is_dir():
        raise InvalidParameterError(f"--out {out}: {cells} is a file where the cell directory goes; remove it or "
                                    "choose another --out.")


def write_summary(out: Path, table, methods: list[str]):
    """``summary.csv``: :func:`analysis.regret.summary_table` of ``table``, with the aggregation's choices, the
    incumbent rule and the normaliser as ``#`` lines (read it with ``pandas.read_csv(path, comment="#",
    index_col=0)``). Returns the summary."""
    from analysis.regret import AGGREGATION, FRACTIONS, summary_table

    from .._files import write_atomic

    summ = summary_table(table, FRACTIONS, methods=methods)
    meta = dict(AGGREGATION, value="normalized_regret (DPL eq. 9 / section 6)",
                incumbent=sorted(set(table["incumbent_rule"])), normaliser=sorted(set(table["normaliser"])),
                fractions=list(FRACTIONS))
    head = "".join(f"# {k}: {json.dumps(v)}\n" for k, v in meta.items())
    write_atomic(out / "summary.csv", (head + summ.to_csv()).encode())
    return summ


def write_regret_plot(path: Path, table, methods: list[str], title: str, bases: dict | None = None) -> Path:
    """``regret.png``: mean normalized regret over the budget (:func:`analysis.regret.mean_over_tasks` on a grid of
    budget fractions), x in full-curve equivalents when every task has the same budget, else as a fraction."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from analysis.regret import mean_over_tasks, plot_regret, regret_on_grid

    from .._files import write_atomic

    grid = np.linspace(0, 1, 201)[1:]
    mean = mean_over_tasks(regret_on_grid(table, grid, axis="fraction"))
    unit = str(table["budget_unit"].iloc[0])
    per_task = table.groupby("task")[["budget", "n_epochs"]].first()
    if unit == "seconds":
        scale, label = float(table["budget"].iloc[0]), "simulated seconds"
    else:
        full = (per_task["budget"] / per_task["n_epochs"]).to_numpy()
        same = bool(np.allclose(full, full[0]))
        scale = float(full[0]) if same else 1.0
        label = "epochs (full-curve equivalents)" if same else "fraction of the epoch budget"
    mean["x"] = mean["x"] * scale
    mean = mean[mean["method"].isin(methods)]
    fig, ax = plt.subplots(figsize=(7, 4))
    plot_regret(mean, ax=ax, xlabel=label, band=False, bases=bases)
    ax.set_title(title)
    ax.grid(alpha=0.3)


    buf = io.BytesIO()
    fig.savefig(buf, dpi=120, bbox_inches="tight", format="png")
    plt.close(fig)
    write_atomic(path, buf.getvalue())
    return path


if __name__ == "__main__":
    sys.exit(main())
