"""Cross-check of lcsim's BOHB, DEHB and BOCA against HpBandSter 0.7.4 / dehb 0.1.2 / Dragonfly 0.1.7 on the same
exported task.

Steps (the reference side runs in throwaway venvs, see ``mf_crosscheck_reference.py`` and
``boca_crosscheck_reference.py``)::

    PY=/work/main/.venv/bin/python
    $PY tests/perf/mf_crosscheck.py export /tmp/xc_task.npz
    /tmp/venv-ref/bin/python tests/perf/mf_crosscheck_reference.py /tmp/xc_task.npz /tmp/xc_ref.json --seeds 10
    $PY tests/perf/mf_crosscheck.py compare /tmp/xc_task.npz /tmp/xc_ref.json \
        tests/fixtures/mf_baselines_crosscheck.json
    /tmp/venv-df/bin/python tests/perf/boca_crosscheck_reference.py /tmp/xc_task.npz /tmp/xc_boca.json --seeds 12
    $PY tests/perf/mf_crosscheck.py compare /tmp/xc_task.npz /tmp/xc_boca.json \
        tests/fixtures/mf_baselines_crosscheck.json

``compare`` merges into an existing output file: it rewrites only the methods present in the reference json (and
their ``reference`` line) and keeps every other method's entry as it is.

Same task (a 500-configuration synthetic power-law task, 27 epochs), same fidelities (1..27, eta 3), same budget
(20 full evaluations = 540 epochs), one worker, seeds 0..n-1 on both sides. Compared: normalized regret (any-epoch
incumbent, DPL eq. 9 normalized) at 2, 5, 10 and 20 full evaluations (mean, std, Mann-Whitney U p-value), and
statistics of the sampled configurations (distinct configurations evaluated, their mean final-value rank
percentile, share in the task's top 5 %). Identical trajectories are not expected: the libraries draw from other
random streams. BOCA (no eta) additionally compares its queries: the share at the target fidelity (27 epochs) and
the mean queried fidelity; a query's cost is only its new epochs on both sides (freeze-thaw), the job that reaches
the budget counts as a query.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from lcsim._files import write_atomic  # noqa: E402
from lcsim.benchmarks.synthetic import synthetic_task  # noqa: E402
from lcsim.optimizers import encode_configs, make_optimizer  # noqa: E402
from lcsim.replay import Budget, problem_for, run  # noqa: E402

CHECKPOINTS = (2, 5, 10, 20)
REFERENCES = {"bohb": "hpbandster==0.7.4 BOHB config generator", "dehb": "dehb==0.1.2",
              "boca": "dragonfly-opt==0.1.7 minimize_multifidelity_function (mf_strategy boca, default acquisition "
                      "mix ei-ucb-ttei, gpb_hp_tune_criterion ml)"}


def task():
    return synthetic_task(n_configs=500, n_epochs=27, seed=11, name="crosscheck")


def export(path: str) -> None:
    t = task()
    hps = list(t.space.values())
    np.savez(path, encoded=encode_configs(t.space, t.configs), objective=t.served_objective()[:, 0, :],
             names=np.array([h.name for h in hps]), lower=np.array([float(h.lower) for h in hps]),
             upper=np.array([float(h.upper) for h in hps]), log=np.array([bool(h.log) for h in hps]),
             is_int=np.array(["Integer" in type(h).__name__ for h in hps]),
             config_values=t.configs[[h.name for h in hps]].to_numpy(dtype=float))
    print("exported", path)


def _stats(t, objective_traces, config_lists, fidelity_lists=None):
    oracle = t.oracle
    final = t.served_objective()[:, 0, -1]
    pct = np.argsort(np.argsort(final)) / (len(final) - 1)     # 0 = best configuration
    top5 = pct <= 0.05
    out = {}
    for c in CHECKPOINTS:
        vals = []
        for tr in objective_traces:
            tr = np.asarray(tr[: c * t.n_epochs])
            vals.append(float(oracle.normalized_regret(np.min(tr))))
        out[f"regret@{c}"] = vals
    out["n_configs"] = [len(c) for c in config_lists]
    out["rank_percentile"] = [float(np.mean(pct[c])) for c in config_lists]
    out["top5_share"] = [float(np.mean(top5[c])) for c in config_lists]
    if fidelity_lists is not None:
        out["target_fidelity_share"] = [float(np.mean(np.asarray(f) == t.n_epochs)) for f in fidelity_lists]
        out["mean_fidelity"] = [float(np.mean(f)) for f in fidelity_lists]
        out["n_queries"] = [len(f) for f in fidelity_lists]
    return out


def _record_asks(opt):
    """Wrap ``opt.ask`` to record the epoch (fidelity) of every job it hands out."""
    epochs = []
    ask = opt.ask

    def recording_ask():
        job = ask()
        if job is not None:
            epochs.append(int(job.epoch))
        return job

    opt.ask = recording_ask
    return epochs


def compare(task_path: str, ref_path: str, out_path: str, seeds: int | None = None) -> None:
    from scipy.stats import mannwhitneyu

    t = task()
    ref = json.loads(Path(ref_path).read_text())
    budget = ref["budget"]
    out = Path(out_path)
    result = {"task": t.key, "version": t.version, "n_configs": t.n_configs, "n_epochs": t.n_epochs,
              "budget_epochs": budget, "eta": 3, "workers": 1, "reference": {}, "methods": {}}
    if out.exists():  # merge: keep the entries of methods this reference file does not cover
        old = json.loads(out.read_text())
        if (old.get("task"), old.get("version"), old.get("budget_epochs")) != (t.key, t.version, budget):
            raise SystemExit(f"{out_path} holds another task or budget; write elsewhere")
        result["reference"].update(old.get("reference", {}))
        result["methods"].update(old.get("methods", {}))
    for name, runs in ref["runs"].items():
        n = seeds or len(runs)
        with_fidelity = all("fidelities" in r for r in runs[:n])
        traces, cfgs, fids = [], [], []
        for seed in range(n):
            params = {"total_budget": float(budget)} if name == "boca" else None  # sizes its initial design
            opt = make_optimizer(name, problem_for(t, 1), seed, params)
            fids.append(_record_asks(opt))
            tab = run(t, opt, Budget(budget), n_workers=1, seed=seed).table
            traces.append(tab["objective"].to_numpy())
            cfgs.append(tab.drop_duplicates("trial_id")["config_id"].drop_duplicates().to_numpy())
        mine = _stats(t, traces, cfgs, fids if with_fidelity else None)
        theirs = _stats(t, [r["objective"] for r in runs[:n]], [np.array(r["config_ids"]) for r in runs[:n]],
                        [r["fidelities"] for r in runs[:n]] if with_fidelity else None)
        rows = {}
        for k in mine:
            a, b = np.array(mine[k], float), np.array(theirs[k], float)
            p = float(mannwhitneyu(a, b).pvalue) if np.ptp(np.r_[a, b]) > 0 else 1.0
            rows[k] = {"lcsim_mean": float(a.mean()), "lcsim_std": float(a.std()), "ref_mean": float(b.mean()),
                       "ref_std": float(b.std()), "mannwhitney_p": p}
        entry = {"seeds": n, "stats": rows}
        if name == "boca":
            entry["ref_acquisitions"] = [{a: r["acquisitions"].count(a) for a in sorted(set(r["acquisitions"]))}
                                         for r in runs[:n] if "acquisitions" in r]
        else:
            entry["ref_model_based_picks"] = [r.get("model_based_picks") for r in runs[:n]]
        result["methods"][name] = entry
        result["reference"][name] = REFERENCES.get(name, name)
        for k, r in rows.items():
            print(f"{name:5s} {k:22s} lcsim {r['lcsim_mean']:.4f}±{r['lcsim_std']:.4f}  "
                  f"ref {r['ref_mean']:.4f}±{r['ref_std']:.4f}  p={r['mannwhitney_p']:.3f}")
    write_atomic(out, json.dumps(result, indent=1, sort_keys=True).encode())
    print("wrote", out_path)


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("export")
    e.add_argument("path")
    c = sub.add_parser("compare")
    c.add_argument("task")
    c.add_argument("ref")
    c.add_argument("out")
    c.add_argument("--seeds", type=int, default=None)
    args = ap.parse_args()
    if args.cmd == "export":
        export(args.path)
    else:
        compare(args.task, args.ref, args.out, args.seeds)


if __name__ == "__main__":
    main()
