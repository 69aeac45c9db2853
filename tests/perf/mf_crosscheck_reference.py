"""Reference side of the BOHB/DEHB cross-check: the authors' libraries on a task exported by lcsim.

Runs in a throwaway environment, never in lcsim's (it pins numpy<2 / ConfigSpace 0.6)::

    python3.11 -m venv /tmp/venv-ref
    /tmp/venv-ref/bin/pip install "numpy<2" "scipy<1.12" "ConfigSpace==0.6.1" "statsmodels<0.15" \
        hpbandster==0.7.4 dehb==0.1.2
    /tmp/venv-ref/bin/python tests/perf/mf_crosscheck_reference.py TASK.npz REF.json --seeds 10

It does not import lcsim. It replays the exported curves exactly as lcsim's engine does with one worker: a new
configuration is served by the nearest unused candidate (Euclidean distance in lcsim's unit-cube encoding), a
continued configuration pays only its new epochs, the total budget is cut at ``budget`` epochs, and each paid epoch
is recorded. Like lcsim's implementations, the model is given the served candidate (BOHB: ``job.kwargs['config']``;
DEHB: the repository vector of the job) so both sides model the same data.

* BOHB: HpBandSter 0.7.4's ``BOHB`` config generator (``get_config`` / ``new_result``) driven without Pyro by the
  synchronous successive-halving loop of HpBandSter's ``SuccessiveHalving`` iteration (same brackets, lazy sampling,
  promotion by rank). HpBandSter samples with numpy's global RNG, seeded here per run.
* DEHB: ``dehb`` 0.1.2 via its own ``ask`` / ``tell`` (one worker).
"""
from __future__ import annotations

import argparse
import json
import logging
import tempfile

import ConfigSpace as CS
import numpy as np

logging.disable(logging.WARNING)


class Replay:
    """lcsim's one-worker replay semantics on exported arrays."""

    def __init__(self, d, budget):
        self.enc = d["encoded"]
        self.obj = d["objective"]                # (n_cfg, n_epoch), served (diverged -> worst)
        self.names = [str(n) for n in d["names"]]
        self.log = d["log"].astype(bool)
        self.lo, self.hi = d["lower"], d["upper"]
        self.is_int = d["is_int"].astype(bool)
        self.cfg_values = d["config_values"]
        self.budget = int(budget)
        self.paid: dict[int, int] = {}           # candidate -> epochs paid
        self.used = 0
        self.trace: list[float] = []
        self.config_ids: list[int] = []

    def encode(self, config: dict) -> np.ndarray:
        v = np.array([float(config[n]) for n in self.names])
        lo, hi = self.lo.copy(), self.hi.copy()
        with np.errstate(divide="ignore"):
            v = np.where(self.log, np.log(v), v)
            lo = np.where(self.log, np.log(lo), lo)
            hi = np.where(self.log, np.log(hi), hi)
        return (v - lo) / (hi - lo)

    def nearest(self, config: dict) -> int:
        d2 = np.sum((self.enc - self.encode(config)) ** 2, axis=1)
        if self.paid and len(self.paid) < len(d2):
            d2[list(self.paid)] = np.inf
        return int(np.argmin(d2))

    def served_config(self, cid: int) -> dict:
        return {n: (int(round(v)) if i else float(v)) for n, v, i in zip(self.names, self.cfg_values[cid], self.is_int)}

    def pay(self, cid: int, epoch: int) -> float | None:
        """Pay ``cid`` up to ``epoch``; the value at ``epoch``, or None when the budget cut the job."""
        done = self.paid.get(cid, 0)
        if cid not in self.paid:
            self.config_ids.append(cid)
        self.paid.setdefault(cid, 0)
        for e in range(done + 1, epoch + 1):
            if self.used >= self.budget:
                return None
            self.used += 1
            self.trace.append(float(self.obj[cid, e - 1]))
            self.paid[cid] = e
        return float(self.obj[cid, epoch - 1])

    @property
    def exhausted(self) -> bool:
        return self.used >= self.budget


def make_space(d, seed):
    cs = CS.ConfigurationSpace(seed=seed)
    for n, lo, hi, lg, it in zip(d["names"], d["lower"], d["upper"], d["log"], d["is_int"]):
        if it:
            cs.add_hyperparameter(CS.UniformIntegerHyperparameter(str(n), int(lo), int(hi), log=bool(lg)))
        else:
            cs.add_hyperparameter(CS.UniformFloatHyperparameter(str(n), float(lo), float(hi), log=bool(lg)))
    return cs


class _Job:
    def __init__(self, budget, config, loss):
        self.kwargs = {"budget": budget, "config": config}
        self.result = {"loss": loss}
        self.exception = None
        self.id = (0, 0, 0)
        self.timestamps = {}


def run_bohb(d, seed, budget, eta, min_epoch, max_epoch):
    from hpbandster.optimizers.config_generators.bohb import BOHB as CG

    np.random.seed(seed)
    cs = make_space(d, seed)
    cg = CG(cs)
    rp = Replay(d, budget)
    max_sh = -int(np.log(min_epoch / max_epoch) / np.log(eta)) + 1
    budgets = max_epoch * np.power(eta, -np.linspace(max_sh - 1, 0, max_sh))
    it = 0
    n_model = 0
    while not rp.exhausted:
        s = max_sh - 1 - (it % max_sh)
        n0 = int(np.floor(max_sh / (s + 1)) * eta ** s)
        ns = [max(int(n0 * eta ** (-i)), 1) for i in range(s + 1)]
        bud = budgets[-s - 1:]
        cids = []
        for stage in range(s + 1):
            b = float(bud[stage])
            epoch = int(round(b))
            losses = []
            if stage == 0:
                for _ in range(ns[0]):
                    cfg, info = cg.get_config(b)
                    n_model += bool(info.get("model_based_pick"))
                    cid = rp.nearest(cfg)
                    val = rp.pay(cid, epoch)
                    if val is None:
                        break
                    cids.append(cid)
                    losses.append(val)
                    cg.new_result(_Job(b, rp.served_config(cid), val))
            else:
                for cid in cids:
                    val = rp.pay(cid, epoch)
                    if val is None:
                        break
                    losses.append(val)
                    cg.new_result(_Job(b, rp.served_config(cid), val))
            if rp.exhausted:
                break
            if stage < s:
                ranks = np.argsort(np.argsort(losses))
                cids = [c for c, r in zip(cids, ranks) if r < ns[stage + 1]]
        it += 1
    return rp, {"model_based_picks": n_model}


def run_dehb(d, seed, budget, eta, min_epoch, max_epoch):
    from dehb import DEHB

    cs = make_space(d, seed)
    rp = Replay(d, budget)
    with tempfile.TemporaryDirectory() as tmp:
        opt = DEHB(cs=cs, dimensions=len(cs.get_hyperparameters()), min_fidelity=min_epoch, max_fidelity=max_epoch,
                   eta=eta, n_workers=1, output_path=tmp, seed=seed, log_level="ERROR")
        served_of: dict[int, int] = {}   # DEHB config id -> candidate
        while not rp.exhausted:
            job = opt.ask()
            epoch = int(round(float(job["fidelity"])))
            cfg = job["config"].get_dictionary() if hasattr(job["config"], "get_dictionary") else dict(job["config"])
            cid = served_of.get(job["config_id"])
            if cid is None:
                cid = rp.nearest(cfg)
                served_of[job["config_id"]] = cid
            val = rp.pay(cid, epoch)
            if val is None:
                break
            de = opt.de[job["fidelity"]]
            opt.config_repository.configs[job["config_id"]].config = de.configspace_to_vector(
                CS.Configuration(cs, values=rp.served_config(cid)))
            opt.tell(job, {"fitness": val, "cost": float(epoch)})
    return rp, {}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("task")
    ap.add_argument("out")
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--budget", type=int, default=None)
    ap.add_argument("--methods", default="bohb,dehb")
    args = ap.parse_args()
    d = dict(np.load(args.task, allow_pickle=False))
    max_epoch = int(d["objective"].shape[1])
    budget = args.budget or 20 * max_epoch
    out = {"budget": budget, "runs": {}}
    for name in args.methods.split(","):
        fn = {"bohb": run_bohb, "dehb": run_dehb}[name]
        runs = []
        for seed in range(args.seeds):
            rp, extra = fn(d, seed, budget, 3, 1, max_epoch)
            runs.append({"seed": seed, "objective": rp.trace, "config_ids": rp.config_ids, **extra})
            print(name, seed, len(rp.trace), min(rp.trace), flush=True)
        out["runs"][name] = runs
    with open(args.out, "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main()
