"""``python -m paper_figures [--only NAME ...] [--scale tiny|small|full] [--out DIR] [--force] [--jobs N]``.

Runs each figure script, skipping scripts whose outputs exist for the same scale and are complete (resume; a CSV
that records skipped pieces is redone, so figures fill in as methods and loaders land; ``--force`` redoes all).
Replay cells are cached under ``OUT/cells`` so an interrupted run resumes where it stopped; ``--recompute METHODS``
redoes the scripts and runs those methods' cells again, replacing the cached and (at the full scale) packed ones.
"""
from __future__ import annotations

import argparse
import dataclasses
import importlib
import os
import sys
import time
from pathlib import Path

from . import SCRIPTS
from ._common import SCALES, Context, get_scale, load_benchmark, read_csv


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m paper_figures", description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="*", default=None, help=f"scripts to run; default all of {list(SCRIPTS)}")
    ap.add_argument("--scale", default="small", choices=sorted(SCALES), help="tiny is for tests")
    ap.add_argument("--out", default="paper_figures_out", help="output folder (default ./paper_figures_out)")
    ap.add_argument("--force", action="store_true", help="recompute scripts whose outputs exist")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                    help="worker processes for the replay grids and DPL Fig. 2 (default: one per CPU core; the numbers "
                         "are the same for any value)")
    ap.add_argument("--params", default=None, metavar="JSON",
                    help='method parameters overriding the defaults, e.g. \'{"dpl": {"n_members": 2}}\' (the '
                         "tests give the tiny scale small settings this way)")
    ap.add_argument("--benchmarks", default=None, metavar="NAMES",
                    help="comma-separated subset of the scale's benchmarks, e.g. taskset (default: all of them)")
    ap.add_argument("--seeds", type=int, default=None, metavar="N",
                    help="seeds 0..N-1 of the replay grids instead of the scale's (e.g. to draw a full-scale grid "
                         "that has finished N seeds; recorded in every CSV)")
    ap.add_argument("--recompute", default=None, metavar="METHODS",
                    help="comma-separated methods whose replay cells the scripts run again, replacing the cached cells "
                         "and, at the full scale, their cells in the committed packs (after a change to a method)")
    a = ap.parse_args(argv)
    scale = get_scale(a.scale)
    if a.seeds is not None:
        if a.seeds < 1:
            print(f"error: --seeds must be a positive number of seeds; got {a.seeds}.", file=sys.stderr)
            return 2
        scale = dataclasses.replace(scale, seeds=a.seeds)
    benchmarks = None
    if a.benchmarks is not None:
        benchmarks = tuple(b.strip() for b in a.benchmarks.split(",") if b.strip())
        bad = [b for b in benchmarks if b not in scale.benchmarks]
        if bad or not benchmarks:
            from lcsim.errors import unknown_name

            print(f"error: {unknown_name(f'{scale.name}-scale benchmark', bad[0] if bad else '', scale.benchmarks)}",
                  file=sys.stderr)
            return 2
        for b in benchmarks:  # named ones must load: only the scale's default set skips (and records) what is missing
            try:
                load_benchmark(Context(scale, Path(a.out) / scale.name), b, max_tasks=1)
            except Exception as exc:  # noqa: BLE001 -- any loader failure is reported as one error naming the fix
                print(f"error: --benchmarks names {b}, which cannot be loaded: {exc}", file=sys.stderr)
                return 2
    try:
        params = _params(a.params)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    recompute = ()
    if a.recompute is not None:
        from lcsim.errors import unknown_name
        from lcsim.optimizers import METHODS

        recompute = tuple(m.strip() for m in a.recompute.split(",") if m.strip())
        bad = [m for m in recompute if m not in METHODS]
        if bad or not recompute:
            print(f"error: {unknown_name('method', bad[0] if bad else '', METHODS)}", file=sys.stderr)
            return 2
    names = a.only or list(SCRIPTS)
    bad = [n for n in names if n not in SCRIPTS]
    if bad:
        from lcsim.errors import unknown_name

        print(unknown_name("figure", bad[0], SCRIPTS), file=sys.stderr)
        return 2
    out = Path(a.out) / scale.name
    redone: set = set()  # cells replaced by --recompute, shared by the scripts so each is run once
    for i, name in enumerate(names, 1):
        done = out / f"{name}.csv"
        if done.exists() and not (a.force or recompute):
            _, meta = read_csv(done)
            if not meta.get("skipped") and meta.get("seeds", [str(scale.seeds)]) == [str(scale.seeds)]:
                print(f"[{i}/{len(names)}] {name}: exists, skipped (use --force to redo) -> {done}")
                continue
            why = (f"{len(meta['skipped'])} piece(s) were missing last time" if meta.get("skipped")
                   else f"it was drawn with {meta['seeds'][0]} seed(s)")
            print(f"[{i}/{len(names)}] {name}: re-running, {why} (cached replay cells are reused)")
        t0 = time.perf_counter()
        print(f"[{i}/{len(names)}] {name} ...", flush=True)
        mod = importlib.import_module(f"paper_figures.{name}")
        mod.main(Context(scale, out, jobs=max(1, a.jobs), params=params, benchmarks=benchmarks, recompute=recompute,
                         redone=redone))
        print(f"[{i}/{len(names)}] {name} done in {time.perf_counter() - t0:.1f}s -> {done}", flush=True)
    return 0


def _params(text: str | None) -> dict:
    """--params: a JSON object of objects (method -> parameters)."""
    import json

    if text is None:
        return {}
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"--params is not valid JSON ({exc}); example: '{{\"dpl\": {{\"n_members\": 2}}}}'.") from None
    if not isinstance(obj, dict) or not all(isinstance(v, dict) for v in obj.values()):
        raise ValueError("--params must be a JSON object of objects, e.g. '{\"dpl\": {\"n_members\": 2}}'.")
    return obj


if __name__ == "__main__":
    sys.exit(main())
