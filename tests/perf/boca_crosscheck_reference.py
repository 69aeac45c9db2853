"""Reference side of the BOCA cross-check: Dragonfly's multi-fidelity GP bandit (BOCA) on a task exported by lcsim.

Runs in a throwaway environment (Dragonfly pins numpy 1.23 / scipy < 1.12)::

    python3.11 -m venv /tmp/venv-df
    /tmp/venv-df/bin/pip install "numpy==1.23.5" "scipy<1.12" "setuptools<70" wheel
    /tmp/venv-df/bin/pip install --no-build-isolation dragonfly-opt==0.1.7
    /tmp/venv-df/bin/python tests/perf/boca_crosscheck_reference.py /tmp/xc_task.npz /tmp/xc_boca.json --seeds 5

These pins install as given on CPython 3.11.7 (resolved: numpy 1.23.5, scipy 1.11.4, dragonfly-opt 0.1.7 built from
its sdist, future 1.0.0, six 1.17.0). Without a Fortran compiler the build still succeeds, but Dragonfly warns that
it "Could not import Fortran direct library" and then maximises the GP marginal likelihood with PDOO (its Python
optimistic optimiser, same evaluation budget) instead of DIRECT (``oper_utils.direct_ft_minimise``,
``alternative_if_direct_not_loaded='pdoo'``); install gfortran before the last pip step to get DIRECT. One seed of
the default budget (540 epochs) takes about 1.5-3 minutes on a shared CPU core; 12 seeds took 35 minutes.

Set up as the DPL authors' Dragonfly wrapper did: the domain is a ``discrete_euclidean`` list of the candidates
(lcsim's unit-cube encoding), the fidelity an integer epoch in ``[1, max_epoch]``, ``fidel_to_opt = max_epoch``,
``gpb_hp_tune_criterion='ml'``. The cost given to Dragonfly is the fidelity in epochs (``z``)
with an open-ended capital and Dragonfly's default initial capital for the run's budget; the replay charges only new
epochs (freeze-thaw) and stops the run once ``budget`` epochs are paid: the objective sets a flag and a wrapper
around Dragonfly's ``eval_at_fidel_single`` raises (Dragonfly turns any exception inside the objective into an
error value, which then crashes its GP update). Each run records the objective per paid epoch, the new
configurations in order, and per query the fidelity and Dragonfly's acquisition (``init`` for the initial design).
Does not import lcsim.
"""
import argparse
import json
import os
import sys
import warnings
from argparse import Namespace

import numpy as np

warnings.filterwarnings("ignore")
sys.path.insert(0, os.path.dirname(__file__))


class _Done(Exception):
    pass


_STOP = {"flag": False}
_ACQS: list = []    # per query: Dragonfly's acquisition ("init" for the initial design)


def _install_stop_hook():
    """Let ``_Done`` end the run: Dragonfly's experiment caller wraps the objective in a bare ``except:`` (an
    exception becomes ``EVAL_ERROR_CODE``, which then breaks the GP update), so the objective only sets a flag and
    this wrapper, outside that ``try``, raises once the evaluation has been recorded."""
    from dragonfly.exd import experiment_caller as ec

    orig = ec.ExperimentCaller.eval_at_fidel_single
    if getattr(orig, "_xc_hook", False):
        return

    def hooked(self, fidel, point, qinfo=None, *args, **kwargs):
        _ACQS.append(str(getattr(qinfo, "curr_acq", "init")))
        out = orig(self, fidel, point, qinfo, *args, **kwargs)
        if _STOP["flag"]:
            raise _Done()
        return out

    hooked._xc_hook = True
    ec.ExperimentCaller.eval_at_fidel_single = hooked


def run_boca(d, seed, budget):
    from dragonfly import load_config, minimize_multifidelity_function

    enc, obj = d["encoded"], d["objective"]
    max_epoch = obj.shape[1]
    np.random.seed(seed)
    _install_stop_hook()
    _STOP["flag"] = False
    _ACQS.clear()
    # Dragonfly's default initial capital clip(5 d, max(5, 0.025 B), max(5, 0.075 B)) for a budget of B epochs (what
    # the DPL wrapper's capital in epochs gave), passed explicitly because the capital given here is open-ended
    dim = enc.shape[1]
    init_capital = float(np.clip(5 * dim, max(5.0, 0.025 * budget), max(5.0, 0.075 * budget)))
    items = [list(map(float, row)) for row in enc]
    paid, trace, cfgs, fidels = {}, [], [], []
    state = {"used": 0}

    def f(z, x):
        try:
            return _f(z, x)
        except _Done:
            raise
        except Exception:
            import traceback
            traceback.print_exc()
            raise

    def _f(z, x):
        cid = int(np.argmin(np.sum((enc - np.asarray(x[0], dtype=float)) ** 2, axis=1)))  # the listed item
        e = int(z[0])
        fidels.append(e)
        if cid not in paid:
            paid[cid] = 0
            cfgs.append(cid)
        for ep in range(paid[cid] + 1, e + 1):
            if state["used"] >= budget:
                _STOP["flag"] = True
                break
            state["used"] += 1
            trace.append(float(obj[cid, ep - 1]))
            paid[cid] = ep
        return float(obj[cid, e - 1])

    config = load_config({"domain": [{"type": "discrete_euclidean", "items": items}],
                          "fidel_space": [{"type": "int", "min": 1, "max": int(max_epoch)}],
                          "fidel_to_opt": [int(max_epoch)]})
    try:
        minimize_multifidelity_function(f, config.fidel_space, config.domain, config.fidel_to_opt,
                                        lambda z: float(z[0]), 50.0 * budget,
                                        config=config, options=Namespace(gpb_hp_tune_criterion="ml",
                                                                         init_capital=init_capital))
    except _Done:
        pass
    return {"seed": seed, "objective": trace, "config_ids": cfgs, "fidelities": fidels, "acquisitions": list(_ACQS),
            "low_fidelity_share": float(np.mean(np.array(fidels) < max_epoch))}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("task")
    ap.add_argument("out")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--budget", type=int, default=None)
    args = ap.parse_args()
    d = dict(np.load(args.task))
    budget = args.budget or 20 * d["objective"].shape[1]
    runs = []
    for seed in range(args.seeds):
        r = run_boca(d, seed, budget)
        runs.append(r)
        print("boca", seed, len(r["objective"]), min(r["objective"]), r["low_fidelity_share"], flush=True)
        with open(args.out, "w") as fh:  # after every seed: long runs keep what is done
            json.dump({"budget": budget, "runs": {"boca": runs}}, fh)


if __name__ == "__main__":
    main()
