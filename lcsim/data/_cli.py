"""Implementation of ``python -m lcsim.data`` (list, info, download); see the package docstring.

Exit status: 0 on success; 2 for a usage error (argparse) and for any data error, printed as one line naming the
cause and the fix.
"""
from __future__ import annotations

import argparse
import importlib
import sys

import numpy as np

from ..errors import LcsimError
from ._status import availability

__all__ = ["main", "availability", "info_lines"]


def info_lines(benchmark: str, task: str | None = None, **options) -> list[str]:
    """Human-readable description of one task (loads it; the cache makes repeated calls fast)."""
    from ..benchmarks import load

    t = load(benchmark, task, **options)
    n_cfg, n_seed, n_epoch, n_metric = t.curves.shape
    o = t.oracle
    lines = [
        f"benchmark: {t.benchmark}",
        f"task: {t.name}",
        f"version: {t.version}",
        f"curves: (n_cfg, n_seed, n_epoch, n_metric) = {t.curves.shape}",
        f"fidelities: {int(t.fidelities[0])}..{int(t.fidelities[-1])}",
        f"cost unit: {t.cost_unit}; mean cost per epoch {float(np.mean(t.epoch_cost)):.4g}",
        f"objective: {t.objective} ({'minimize' if t.minimize else 'maximize'})",
        "metrics:",
    ]
    for j, m in enumerate(t.metrics.values()):
        v = t.curves[..., j]
        fin = v[np.isfinite(v)]
        rng = f"[{fin.min():.4g}, {fin.max():.4g}]" if fin.size else "[no finite value]"
        lines.append(f"  {m.name}: {'min' if m.minimize else 'max'}, bounds {m.bounds}, finite range {rng}, "
                     f"non-finite share {1 - fin.size / v.size:.4f}")
    lines += [
        f"diverged runs: {int(t.diverged.sum())} of {n_cfg * n_seed} ({t.diverged.mean():.2%})",
        f"oracle (final {t.objective}, seed mean): best {o.best:.6g}, worst {o.worst:.6g}",
        f"hyperparameters: {list(t.configs.columns)}",
    ]
    for k in ("filter", "dpl_oracle", "cost_rule", "note"):
        if k in t.extra:
            lines.append(f"{k}: {t.extra[k]}")
    return lines


def _download(argv: list[str]) -> int:
    try:
        mod = importlib.import_module("lcsim.benchmarks.download")
        fn = mod.main
    except (ImportError, AttributeError) as exc:
        print(f"error: the download command is not available in this build of lcsim "
              f"(lcsim.benchmarks.download.main could not be imported: {exc}).", file=sys.stderr)
        return 2
    rc = fn(argv)
    return int(rc or 0)


def _parse_options(pairs: list[str]) -> dict:
    opts = {}
    for p in pairs:
        if "=" not in p:
            raise SystemExit(f"error: option {p!r} must look like KEY=VALUE (e.g. filter=dpl, n_configs=200).")
        k, v = p.split("=", 1)
        try:
            opts[k] = int(v)
        except ValueError:
            opts[k] = {"true": True, "false": False}.get(v.lower(), v)
    return opts


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "download":  # delegate everything, including --help
        return _download(argv[1:])
    ap = argparse.ArgumentParser(prog="python -m lcsim.data", description="lcsim benchmark data.")
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("list", help="benchmarks, tasks and whether their data are present")
    pi = sub.add_parser("info", help="shape, metrics, divergence share, oracle and version of one task")
    pi.add_argument("benchmark")
    pi.add_argument("task", nargs="?")
    pi.add_argument("--option", "-o", action="append", default=[], metavar="KEY=VALUE",
                    help="loader option, e.g. -o filter=dpl or -o n_configs=200")
    sub.add_parser("download", help="download benchmark data (arguments go to lcsim.benchmarks.download)")
    pe = sub.add_parser("export", help="write one task in syne-tune's blackbox layout (lcsim.benchmarks.export)")
    pe.add_argument("benchmark")
    pe.add_argument("task")
    pe.add_argument("--dest", required=True, metavar="DIR", help="the blackbox folder to write")
    pe.add_argument("--option", "-o", action="append", default=[], metavar="KEY=VALUE", help="loader option")
    pe.add_argument("--dtype", choices=["float32", "float64"], default="float32", help="storage type (float32)")
    pe.add_argument("--time-objective", default="metric_elapsed_time", help="name of the elapsed-time objective")
    pe.add_argument("--overwrite", action="store_true", help="replace an earlier lcsim export in DIR")
    args = ap.parse_args(argv)
    if args.cmd == "export":
        from ..benchmarks.export import cli_export

        return cli_export(args.benchmark, args.task, args.dest, _parse_options(args.option), args.dtype,
                          args.time_objective, args.overwrite)
    try:
        if args.cmd == "list":
            from ..benchmarks import data_root

            print(f"data root: {data_root()}")
            for st in availability():
                print(st.line())
                for t in st.tasks:
                    print(f"  {t}")
            return 0
        for line in info_lines(args.benchmark, args.task, **_parse_options(args.option)):
            print(line)
        return 0
    except LcsimError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a file-system failure no loader turned into an LcsimError
        from ..benchmarks._datafiles import access_error

        print(f"error: {access_error(exc, exc.filename or '.')}", file=sys.stderr)
        return 2


