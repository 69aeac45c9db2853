"""Cross-check lcsim's HEBO reimplementation (:mod:`lcsim.optimizers.hebo`) against the ``HEBO`` pip package.

The package pins numpy < 1.25 and its own stack, so it runs in a throwaway virtual environment; this script runs once
per implementation and a third time to compare (only numpy and, for the comparison, scipy are needed; lcsim is
imported only by ``--impl lcsim``)::

    python3 -m venv /tmp/hebovenv
    /tmp/hebovenv/bin/pip install "numpy<1.25" torch==2.13.0+cpu   # a CPU torch wheel first (here: /opt/wheels)
    /tmp/hebovenv/bin/pip install HEBO scipy                       # HEBO 0.3.6: gpytorch, GPy, pymoo 0.6.0, ...
    OMP_NUM_THREADS=1 /tmp/hebovenv/bin/python tests/perf/crosscheck_hebo.py --impl hebo --out /tmp/cc_hebo.json
    OMP_NUM_THREADS=1 .venv/bin/python tests/perf/crosscheck_hebo.py --impl lcsim --out /tmp/cc_lcsim.json
    .venv/bin/python tests/perf/crosscheck_hebo.py --compare --lcsim-results /tmp/cc_lcsim.json \\
        --hebo-results /tmp/cc_hebo.json --fixture tests/fixtures/hebo_crosscheck.json

(Several result files per implementation may be given, e.g. when functions ran in separate processes.)

Both implementations minimise the same deterministic functions for ``--evals`` evaluations (default 50) over seeds
``0..--seeds-1`` with their defaults (the package: ``HEBO(space, scramble_seed=seed)``, numpy's and torch's global
seeds set to ``seed``; lcsim: ``HEBO(problem, seed)``) and record the best value found per seed. The comparison
writes medians and a two-sided Mann-Whitney U p-value per function (scipy), which ``tests/test_hebo.py`` recomputes
from the stored per-seed values.

Functions (search spaces as both libraries see them):

* ``branin`` -- Branin on [-5, 10] x [0, 15], minimum 0.397887;
* ``hartmann6`` -- Hartmann-6 on [0, 1]^6, minimum -3.32237;
* ``quadratic4_log`` -- ``(log10(lr) + 2.7)^2 / 4 + (a - 0.5)^2 + ((b - 7) / 5)^2 + 2 (c + 0.3)^2`` with ``lr`` in
  [1e-5, 1] on a log scale (HEBO: a ``pow`` parameter of base 10; lcsim: ``Float(log=True)``), ``a`` in [-2, 2],
  ``b`` in [0, 10], ``c`` in [-1, 1]; minimum 0.
"""
from __future__ import annotations

import argparse
import json
import math
import platform
import sys
import time
from pathlib import Path

import numpy as np

# name -> (parameters [(name, low, high, log)], minimum)
SPACES = {
    "branin": ([("x1", -5.0, 10.0, False), ("x2", 0.0, 15.0, False)], 0.397887),
    "hartmann6": ([(f"x{i}", 0.0, 1.0, False) for i in range(6)], -3.32237),
    "quadratic4_log": ([("lr", 1e-5, 1.0, True), ("a", -2.0, 2.0, False), ("b", 0.0, 10.0, False),
                        ("c", -1.0, 1.0, False)], 0.0),
}

#: absolute gap of the median best values (function units) below which the two count as equivalent: far below what
#: matters on these functions (ranges of order 10-300), above the last-digit noise of 50-evaluation runs
TOLERANCE = 1e-3

_H6_A = np.array([[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14], [3, 3.5, 1.7, 10, 17, 8],
                  [17, 8, 0.05, 10, 0.1, 14]], dtype=float)
_H6_P = 1e-4 * np.array([[1312, 1696, 5569, 124, 8283, 5886], [2329, 4135, 8307, 3736, 1004, 9991],
                         [2348, 1451, 3522, 2883, 3047, 6650], [4047, 8828, 8732, 5743, 1091, 381]], dtype=float)
_H6_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])


def evaluate(name: str, cfg: dict) -> float:
    """The test function ``name`` at configuration ``cfg`` (a dict of floats)."""
    if name == "branin":
        x1, x2 = float(cfg["x1"]), float(cfg["x2"])
        b, c, t = 5.1 / (4 * math.pi ** 2), 5 / math.pi, 1 / (8 * math.pi)
        return (x2 - b * x1 ** 2 + c * x1 - 6) ** 2 + 10 * (1 - t) * math.cos(x1) + 10
    if name == "hartmann6":
        x = np.array([float(cfg[f"x{i}"]) for i in range(6)])
        return float(-np.sum(_H6_ALPHA * np.exp(-np.sum(_H6_A * (x[None] - _H6_P) ** 2, axis=1))))
    if name == "quadratic4_log":
        lr, a, b, c = (float(cfg[k]) for k in ("lr", "a", "b", "c"))
        return (math.log10(lr) + 2.7) ** 2 / 4 + (a - 0.5) ** 2 + ((b - 7) / 5) ** 2 + 2 * (c + 0.3) ** 2
    raise KeyError(name)


def run_hebo(name: str, seed: int, n_evals: int) -> list[float]:
    """The package's HEBO with its defaults; returns the values in evaluation order."""
    import torch
    from hebo.design_space.design_space import DesignSpace
    from hebo.optimizers.hebo import HEBO

    np.random.seed(seed)  # the package draws from the global RNGs
    torch.manual_seed(seed)
    params, _ = SPACES[name]
    space = DesignSpace().parse([{"name": p, "type": "pow", "lb": lo, "ub": hi, "base": 10} if log else
                                 {"name": p, "type": "num", "lb": lo, "ub": hi} for p, lo, hi, log in params])
    opt = HEBO(space, scramble_seed=seed)
    ys = []
    for _ in range(n_evals):
        rec = opt.suggest(n_suggestions=1)
        y = evaluate(name, rec.iloc[0].to_dict())
        opt.observe(rec, np.array([[y]]))
        ys.append(float(y))
    return ys


def run_lcsim(name: str, seed: int, n_evals: int, params: dict | None = None) -> list[float]:
    """lcsim's HEBO (defaults unless ``params``), driven through ask/tell; returns the values in evaluation order."""
    from ConfigSpace import ConfigurationSpace, Float

    from lcsim.optimizers import Observation, Problem, make_optimizer

    hps, _ = SPACES[name]
    cs = ConfigurationSpace(seed=0)
    cs.add([Float(p, (lo, hi), log=log) for p, lo, hi, log in hps])
    problem = Problem(space=cs, min_epoch=1, max_epoch=1)
    opt = make_optimizer("hebo", problem, seed, {"n_evals": n_evals, **(params or {})})
    ys = []
    while (job := opt.ask()) is not None:
        y = evaluate(name, job.config)
        opt.tell(job, Observation(job.trial_id, None, np.array([1]), np.array([y])))
        ys.append(float(y))
    return ys


def collect(impl: str, functions, seeds, n_evals: int, out_path: Path, params: dict | None = None) -> dict:
    """Run ``impl`` on every (function, seed) and write ``out_path`` after each run (runs already in the file for
    the same function and seed are skipped, so an interrupted collection resumes)."""
    if impl == "hebo":
        runner = run_hebo
    else:
        def runner(name, s, n):
            return run_lcsim(name, s, n, params)
    out = json.loads(out_path.read_text()) if out_path.exists() else {}
    out.update({"impl": impl, "n_evals": n_evals, "python": platform.python_version(), "numpy": np.__version__,
                "params": params or {}})
    out.setdefault("functions", {})
    if impl == "hebo":
        from importlib.metadata import version

        out["package"] = f"HEBO {version('HEBO')}"
    for name in functions:
        rows = out["functions"].setdefault(name, [])
        for s in seeds:
            if any(r["seed"] == s for r in rows):
                continue
            t0 = time.perf_counter()
            ys = runner(name, s, n_evals)
            dt = time.perf_counter() - t0
            rows.append({"seed": s, "best": min(ys), "seconds": dt, "values": ys})
            rows.sort(key=lambda r: r["seed"])
            out_path.write_text(json.dumps(out) + "\n")
            print(f"{impl} {name} seed={s} best={min(ys):.6g} {dt:.1f}s", flush=True)
    return out


def compare(lcsim_res: dict, hebo_res: dict) -> dict:
    """Medians and two-sided Mann-Whitney U p-values per function (best value per seed, lower is better)."""
    from scipy.stats import mannwhitneyu

    table = {}
    for name in lcsim_res["functions"]:
        if name not in hebo_res["functions"]:
            continue
        a = [r["best"] for r in lcsim_res["functions"][name]]
        b = [r["best"] for r in hebo_res["functions"][name]]
        p = float(mannwhitneyu(a, b, alternative="two-sided").pvalue)
        table[name] = {
            "optimum": SPACES[name][1],
            "lcsim_best": a, "hebo_best": b,
            "lcsim_seeds": [r["seed"] for r in lcsim_res["functions"][name]],
            "hebo_seeds": [r["seed"] for r in hebo_res["functions"][name]],
            "lcsim_median": float(np.median(a)), "hebo_median": float(np.median(b)),
            "p_value": p,
            "median_gap": float(np.median(a) - np.median(b)),
            "lcsim_seconds_median": float(np.median([r["seconds"] for r in lcsim_res["functions"][name]])),
            "hebo_seconds_median": float(np.median([r["seconds"] for r in hebo_res["functions"][name]])),
        }
    return table


def _merge(paths) -> dict:
    """One result dict from several result files of the same implementation (runs split over processes)."""
    out: dict = {}
    for p in paths:
        res = json.loads(Path(p).read_text())
        funcs = out.get("functions", {})
        out.update({k: v for k, v in res.items() if k != "functions"})
        for name, rows in res["functions"].items():
            have = {r["seed"] for r in funcs.get(name, [])}
            funcs[name] = sorted(funcs.get(name, []) + [r for r in rows if r["seed"] not in have],
                                 key=lambda r: r["seed"])
        out["functions"] = funcs
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--impl", choices=["hebo", "lcsim"])
    ap.add_argument("--out", type=Path, help="per-implementation result file (with --impl)")
    ap.add_argument("--functions", nargs="*", default=list(SPACES))
    ap.add_argument("--seeds", type=int, default=8)
    ap.add_argument("--first-seed", type=int, default=0)
    ap.add_argument("--evals", type=int, default=50)
    ap.add_argument("--lcsim-params", type=json.loads, default=None,
                    help='JSON dict of parameters for lcsim\'s HEBO (e.g. \'{"warp": false}\')')
    ap.add_argument("--compare", action="store_true", help="compare --lcsim-results with --hebo-results")
    ap.add_argument("--lcsim-results", nargs="+", type=Path, default=[], help="result files of --impl lcsim")
    ap.add_argument("--hebo-results", nargs="+", type=Path, default=[], help="result files of --impl hebo")
    ap.add_argument("--fixture", type=Path, help="where --compare writes the fixture")
    ap.add_argument("--supplement", nargs=2, action="append", default=[], metavar=("LABEL", "LCSIM_JSON"),
                    help="with --compare: also compare another lcsim result file (e.g. run with --lcsim-params) "
                         "with the package; stored under 'supplementary' -> LABEL")
    args = ap.parse_args(argv)
    if args.compare:
        if not args.lcsim_results or not args.hebo_results:
            ap.error("--compare needs --lcsim-results and --hebo-results")
        lc, he = _merge(args.lcsim_results), _merge(args.hebo_results)
        table = compare(lc, he)
        print(f"{'function':16s} {'lcsim median':>13s} {'HEBO median':>12s} {'p (MWU)':>8s} "
              f"{'s/run lcsim':>11s} {'s/run HEBO':>10s}")
        for k, r in table.items():
            print(f"{k:16s} {r['lcsim_median']:13.5g} {r['hebo_median']:12.5g} {r['p_value']:8.3f} "
                  f"{r['lcsim_seconds_median']:11.1f} {r['hebo_seconds_median']:10.1f}")
        if args.fixture:
            fixture = {
                "description": "Best value after n_evals evaluations per seed, lcsim's HEBO vs the HEBO package "
                               "(tests/perf/crosscheck_hebo.py); p_value: two-sided Mann-Whitney U (scipy).",
                "n_evals": lc["n_evals"],
                "tolerance": TOLERANCE,
                "criterion": "lcsim is not worse than the package on a function unless its median best value is "
                             "higher, the Mann-Whitney p-value is <= 0.05 and the gap of the medians exceeds "
                             "`tolerance` (function units)",
                "lcsim": {k: lc[k] for k in ("python", "numpy")},
                "hebo": {k: he.get(k) for k in ("python", "numpy", "package")},
                "functions": table,
            }
            for label, path in args.supplement:
                extra = json.loads(Path(path).read_text())
                fixture.setdefault("supplementary", {})[label] = {"params": extra.get("params", {}),
                                                                  "functions": compare(extra, he)}
            args.fixture.write_text(json.dumps(fixture, indent=1) + "\n")
            print(f"wrote {args.fixture}")
        return 0
    if not args.impl or not args.out:
        ap.error("--impl and --out are required unless --compare is given")
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    collect(args.impl, args.functions, seeds, args.evals, args.out, args.lcsim_params)
    return 0


if __name__ == "__main__":
    sys.exit(main())
