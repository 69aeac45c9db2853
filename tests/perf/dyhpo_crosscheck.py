"""Cross-check of lcsim's ``dyhpo`` against the DyHPO authors' implementation (github releaunifreiburg/DyHPO,
``hpo_method.py`` + ``surrogate_models/dyhpo.py``, run unmodified from a checkout outside this repository) on the same
lcsim tasks, through the same replay engine.

The authors' ``DyHPOAlgorithm`` is driven by a thin adapter (:class:`AuthorsDyHPO`, an lcsim ``Optimizer``): ``ask``
calls its ``suggest()`` (pool row, budget), ``tell`` its ``observe(row, budget, curve)`` with the configuration's
learning curve so far. Both sides therefore see the same pool, the same served curves, one worker, and the engine
computes the same normalized regret (any-epoch incumbent). The adapter feeds the authors' code (which maximizes)
``-target``, the negation of what lcsim's DyHPO fits (the raw loss on these tasks, not clipped: the authors filter
diverging curves, and lcsim's TaskSet pool is the DPL pool, already filtered); the authors' released TaskSet driver
feeds the raw loss to the maximizing code, which the adapter does not reproduce. Their candidates are the pool's raw
values with ``log_indicator`` from the space (their own log + min-max preprocessing); their ``surrogate_config`` and
schedule are their defaults. Its global seeding (``torch.manual_seed``, ``np.random.seed``) runs inside the adapter,
one process per run.

Reference environment (throwaway, outside the repository; GPyTorch is not an lcsim dependency)::

    pip install --target /tmp/dyhpo_env/site gpytorch linear_operator jaxtyping --no-deps
    # the authors' checkout: a directory holding hpo_method.py and surrogate_models/

Runs (each writes one json line per seed; ``--jobs`` processes at a time)::

    PY=/work/main/.venv/bin/python
    nice -n 10 $PY tests/perf/dyhpo_crosscheck.py run --side lcsim --benchmark taskset --task T --seeds 10 \\
        --budget 153 --out /tmp/xc_dyhpo.jsonl
    nice -n 10 $PY tests/perf/dyhpo_crosscheck.py run --side authors --authors /tmp/dyhpo_src \\
        --site /tmp/dyhpo_env/site --benchmark taskset --task T --seeds 10 --budget 153 --out /tmp/xc_dyhpo.jsonl
    $PY tests/perf/dyhpo_crosscheck.py compare /tmp/xc_dyhpo.jsonl tests/fixtures/dyhpo_crosscheck.json --note "..."

``compare`` takes every run's normalized regret at 25 %, 50 % and 100 % of its budget
(:func:`analysis.regret.regret_at_fractions`) and tests lcsim against the authors per task and fraction with
:func:`analysis.stats.mann_whitney_bh` (two-sided Mann-Whitney U, BH over all task x fraction comparisons).
Identical trajectories are not expected: the two draw from other random streams (and differ where the module
docstring of :mod:`lcsim.optimizers.dyhpo` lists departures).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from lcsim.optimizers import Job, Observation, Optimizer, make_optimizer  # noqa: E402
from lcsim.optimizers.dyhpo import DyHPO  # noqa: E402

FRACTIONS = (0.25, 0.5, 1.0)


class AuthorsDyHPO(Optimizer):
    """lcsim adapter around the authors' ``DyHPOAlgorithm`` (module docstring); one worker only."""

    name = "dyhpo_authors"

    def __init__(self, problem, seed, authors: str = "", site: str = "", workdir: str = ""):
        super().__init__(problem, seed)
        for p in (site, authors):
            if p and p not in sys.path:
                sys.path.insert(0, p)
        if not hasattr(np, "NINF"):  # removed in numpy 2; the authors' code reads it
            np.NINF = -np.inf
        os.chdir(workdir)  # the authors' code writes a log file into the working directory
        import torch
        from hpo_method import DyHPOAlgorithm

        torch.set_num_threads(1)
        space = problem.space
        cols = list(problem.candidates.columns)
        self._target = DyHPO(problem, 0, initial_epochs=0).target   # lcsim's target rule, for -target
        self.algo = DyHPOAlgorithm(problem.candidates[cols].to_numpy(dtype=float),
                                   [bool(getattr(space[c], "log", False)) for c in cols], seed=int(seed),
                                   max_benchmark_epochs=problem.max_epoch, fantasize_step=1, minimization=True,
                                   total_budget=10**9, device="cpu", dataset_name="xc", output_path=workdir,
                                   verbose=False)
        self._trial_of: dict[int, int] = {}
        self._curve: dict[int, list[float]] = {}

    def _ask(self):
        row, budget = self.algo.suggest()
        row, budget = int(row), int(budget)
        if row not in self._trial_of:
            self._trial_of[row] = self.new_trial_id()
        return Job(self._trial_of[row], budget, config_id=row)

    def _tell(self, job: Job, observation: Observation) -> None:
        cur = self._curve.setdefault(job.config_id, [])
        for e, v in zip(observation.epochs, -self._target(observation.values)):
            if e > len(cur):
                cur.append(float(v))
        self.algo.observe(job.config_id, int(job.epoch), list(cur[: job.epoch]))


def _one(args) -> dict:
    side, benchmark, task_name, seed, budget, authors, site = args
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import torch

    import lcsim.benchmarks as B
    from lcsim.replay import Budget, problem_for, run
    from lcsim.threads import single_threaded

    torch.set_num_threads(1)
    task = B.load(benchmark, task_name)
    problem = problem_for(task)
    t0 = time.perf_counter()
    with single_threaded(), tempfile.TemporaryDirectory() as wd:
        cwd = os.getcwd()
        try:
            opt = (make_optimizer("dyhpo", problem, seed) if side == "lcsim"
                   else AuthorsDyHPO(problem, seed, authors=authors, site=site, workdir=wd))
            res = run(task, opt, Budget(budget), seed=seed, method=f"dyhpo_{side}")
        finally:
            os.chdir(cwd)
    t = res.table
    return {"side": side, "benchmark": benchmark, "task": task_name, "seed": seed, "budget": budget,
            "wall_s": time.perf_counter() - t0, "budget_used": t["budget_used"].tolist(),
            "normalized_regret": t["normalized_regret"].tolist(), "config_id": t["config_id"].tolist(),
            "epoch": t["epoch"].tolist()}


def cmd_run(a) -> None:
    jobs = [(a.side, a.benchmark, a.task, s, a.budget, a.authors, a.site)
            for s in range(a.first_seed, a.first_seed + a.seeds)]
    with ProcessPoolExecutor(a.jobs) as ex, open(a.out, "a") as fh:
        for r in ex.map(_one, jobs):
            fh.write(json.dumps(r) + "\n")
            fh.flush()
            print(f"{r['side']} {r['task']} seed {r['seed']}: {r['wall_s']:.0f} s, final regret "
                  f"{r['normalized_regret'][-1]:.4f}", flush=True)


def _regret_frame(runs):
    import pandas as pd

    from analysis.regret import regret_at_fractions

    rows = []
    for r in runs:
        n = len(r["budget_used"])
        rows.append(pd.DataFrame({"benchmark": r["benchmark"], "task": r["task"], "method": f"dyhpo_{r['side']}",
                                  "seed": r["seed"], "budget_used": r["budget_used"],
                                  "budget": [r["budget"]] * n, "budget_unit": ["epochs"] * n,
                                  "normalized_regret": r["normalized_regret"],
                                  # not recorded; the epochs axis and normalized regret read neither
                                  "sim_time": np.nan, "regret": np.nan}))
    return regret_at_fractions(pd.concat(rows, ignore_index=True), FRACTIONS)


def cmd_compare(a) -> None:
    import pandas as pd

    from analysis.stats import mann_whitney_bh

    runs = [json.loads(line) for line in open(a.runs)]
    keep = {}
    for r in runs:  # the last line of each (side, task, seed) counts
        keep[(r["side"], r["benchmark"], r["task"], r["seed"])] = r
    runs = list(keep.values())
    reg = _regret_frame(runs)
    reg["group"] = reg["task"] + "@" + reg["x"].map(lambda x: f"{x:g}")
    mw = mann_whitney_bh(reg, group="group", method="method", value="value", reference="dyhpo_authors")
    out = {"what": "lcsim dyhpo vs the DyHPO authors' code (github releaunifreiburg/DyHPO at cfba15a, unmodified, "
                   "gpytorch 1.15.2 / linear_operator 0.6.1 / torch 2.13 instead of the pinned gpytorch 1.8 / "
                   "torch 1.12) through the lcsim replay engine, one worker, same pool and curves; normalized "
                   "regret (any-epoch incumbent) at budget fractions; two-sided Mann-Whitney U per task x fraction, "
                   "BH over all (analysis.stats.mann_whitney_bh). Commands: tests/perf/dyhpo_crosscheck.py docstring.",
           "seeds": sorted({r["seed"] for r in runs}), "note": a.note, "tasks": {}}
    for (bench, task), sub in reg.groupby(["benchmark", "task"]):
        budgets = sorted({r["budget"] for r in runs if r["task"] == task})
        entry = {"benchmark": bench, "budget_epochs": budgets, "fractions": {}}
        for x, s in sub.groupby("x"):
            lc = s[s["method"] == "dyhpo_lcsim"]["value"].to_numpy(float)
            au = s[s["method"] == "dyhpo_authors"]["value"].to_numpy(float)
            row = mw[mw["group"] == f"{task}@{x:g}"]
            entry["fractions"][f"{x:g}"] = {
                "n_lcsim": int(len(lc)), "n_authors": int(len(au)),
                "lcsim_mean": float(lc.mean()), "lcsim_median": float(np.median(lc)),
                "authors_mean": float(au.mean()), "authors_median": float(np.median(au)),
                "U": float(row["U"].iloc[0]) if len(row) else None,
                "p": float(row["p"].iloc[0]) if len(row) else None,
                "p_bh": float(row["p_bh"].iloc[0]) if len(row) else None,
                "outcome": str(row["outcome"].iloc[0]) if len(row) else None}
        walls = {side: [r["wall_s"] for r in runs if r["task"] == task and r["side"] == side]
                 for side in ("lcsim", "authors")}
        entry["wall_s_per_run_mean"] = {k: float(np.mean(v)) for k, v in walls.items() if v}
        n_cfg = {side: [len(set(r["config_id"])) for r in runs if r["task"] == task and r["side"] == side]
                 for side in ("lcsim", "authors")}
        entry["distinct_configs_mean"] = {k: float(np.mean(v)) for k, v in n_cfg.items() if v}
        if all(n_cfg.values()):
            from scipy.stats import mannwhitneyu

            entry["distinct_configs_mannwhitney_p"] = float(mannwhitneyu(n_cfg["lcsim"], n_cfg["authors"]).pvalue)
        out["tasks"][task] = entry
    Path(a.out).write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")
    print(pd.DataFrame([{"task": t, "x": x, **v} for t, e in out["tasks"].items()
                        for x, v in e["fractions"].items()]).to_string())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--side", choices=["lcsim", "authors"], required=True)
    r.add_argument("--benchmark", required=True)
    r.add_argument("--task", required=True)
    r.add_argument("--seeds", type=int, default=10)
    r.add_argument("--first-seed", type=int, default=0)
    r.add_argument("--budget", type=int, required=True, help="epochs")
    r.add_argument("--authors", default="", help="directory holding the authors' hpo_method.py")
    r.add_argument("--site", default="", help="directory holding gpytorch for the authors' side")
    r.add_argument("--jobs", type=int, default=1)
    r.add_argument("--out", required=True)
    c = sub.add_parser("compare")
    c.add_argument("runs")
    c.add_argument("out")
    c.add_argument("--note", default="", help="how the runs were made (budget, machine), stored in the output")
    a = ap.parse_args()
    cmd_run(a) if a.cmd == "run" else cmd_compare(a)


if __name__ == "__main__":
    main()
