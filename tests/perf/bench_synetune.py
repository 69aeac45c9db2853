"""Replay speed of lcsim against syne-tune's simulator backend: ASHA vs ASHA, random search vs random search.

Same task (by default a real TaskSet task, 1000 configurations x 51 epochs; ``--task synthetic`` for a synthetic
LCBench-shaped one with seconds per epoch), same budget (in epochs, i.e. reported results), same number of simulated
workers. syne-tune is not a dependency of lcsim: run this script with
a throwaway environment holding syne-tune (see tests/perf/README.md)::

    LCSIM_DATA=../shared/data /tmp/stvenv/bin/python tests/perf/bench_synetune.py [--task synthetic]

It prints wall seconds (best and median of interleaved runs) and epochs served per second for both, and their
ratios, measured in this one process. ``--clock cpu`` times with process CPU time; ``--gc off`` pauses the cyclic
garbage collector during each timed run of either tool (``timeit``'s default).
"""
from __future__ import annotations

import contextlib
import gc
import logging
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from lcsim.benchmarks.synthetic import synthetic_task  # noqa: E402
from lcsim.optimizers import make_optimizer  # noqa: E402
from lcsim.replay import Budget, problem_for, run  # noqa: E402

N_CFG, N_EPOCH, WORKERS, FULL = 2000, 52, 4, (20, 200)
#: the issue's setting: a real TaskSet task (1000 configurations x 51 epochs, unit cost per epoch)
DEFAULT_TASK = "taskset/FixedTextRNNClassification_imdb_patch32_GRU128_bs128"


def synetune_blackbox(task):
    from syne_tune.blackbox_repository.blackbox_tabular import BlackboxTabular
    from syne_tune.config_space import choice, randint

    obj = task.served_objective()  # (n_cfg, n_seed, n_epoch)
    elapsed = np.cumsum(task.epoch_cost, axis=2)
    evals = np.stack([obj, elapsed], axis=-1)  # (n_cfg, n_seed, n_epoch, 2)
    # two hyperparameter columns: syne-tune 0.16 indexes one column with a tuple key, which pandas 3 rejects
    hps = pd.DataFrame({"config_id": np.arange(task.n_configs), "pool": np.zeros(task.n_configs, dtype=int)})
    space = {"config_id": choice(list(range(task.n_configs))), "pool": choice([0])}
    return BlackboxTabular(hyperparameters=hps, configuration_space=space,
                           fidelity_space={"epoch": randint(1, task.n_epochs)}, objectives_evaluations=evals,
                           objectives_names=["valid_loss", "elapsed_time"])


#: the clock both sides are timed with (``--clock``): wall time, or this process's CPU time (both simulators are
#: single-threaded Python; CPU time does not count the spells in which a shared machine runs someone else)
CLOCK = time.perf_counter
#: ``--gc off``: the cyclic garbage collector is paused while a run is timed, for both tools, as ``timeit`` does by
#: default (both run in this one process, so with it on each pays for collections of the other's live objects)
GC_OFF = False


@contextlib.contextmanager
def _timed_region():
    """Pause the cyclic garbage collector for the timed region when ``--gc off`` (restored afterwards)."""
    was = gc.isenabled()
    if GC_OFF:
        gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def run_synetune(task, n_epochs_budget, seed=0, method="asha"):
    from syne_tune import StoppingCriterion, Tuner
    from syne_tune.backend.simulator_backend.simulator_callback import SimulatorCallback
    from syne_tune.blackbox_repository.simulated_tabular_backend import UserBlackboxBackend
    from syne_tune.optimizer.baselines import ASHA, RandomSearch

    bb = synetune_blackbox(task)
    backend = UserBlackboxBackend(blackbox=bb, elapsed_time_attr="elapsed_time", seed=seed)
    if method == "asha":
        sched = ASHA(bb.configuration_space, metric="valid_loss", time_attr="epoch", max_t=task.n_epochs,
                     grace_period=1, reduction_factor=3, do_minimize=True, random_seed=seed)
    else:
        sched = RandomSearch(bb.configuration_space, metrics=["valid_loss"], do_minimize=True, random_seed=seed)
    with tempfile.TemporaryDirectory() as d:
        import os

        os.environ["SYNETUNE_FOLDER"] = d
        tuner = Tuner(trial_backend=backend, scheduler=sched,
                      stop_criterion=StoppingCriterion(max_num_evaluations=n_epochs_budget), n_workers=WORKERS,
                      sleep_time=0, callbacks=[SimulatorCallback()], results_update_interval=1e9,
                      print_update_interval=1e9, save_tuner=False, suffix_tuner_name=True)
        with _timed_region():
            t0 = CLOCK()
            tuner.run()
            wall = CLOCK() - t0
        n = len(tuner.tuning_status.df()) if hasattr(tuner.tuning_status, "df") else n_epochs_budget
        served = int(tuner.tuning_status.num_trials_started)
    return wall, n, served


def main():
    import argparse

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--task", default=DEFAULT_TASK,
                    help=f"benchmark/task to replay (needs LCSIM_DATA), or 'synthetic' ({N_CFG} x {N_EPOCH}); "
                         f"default {DEFAULT_TASK}")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds (3 lcsim runs + 1 syne-tune run each)")
    ap.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                    help="time both with wall time (default) or with this process's CPU time (time.process_time)")
    ap.add_argument("--gc", choices=("on", "off"), default="on",
                    help="off: pause the cyclic garbage collector while each run is timed, for both tools (as timeit "
                         "does); default on")
    a = ap.parse_args()
    global CLOCK, GC_OFF
    CLOCK = time.perf_counter if a.clock == "wall" else time.process_time
    GC_OFF = a.gc == "off"
    logging.disable(logging.WARNING)
    if a.task == "synthetic":
        task = synthetic_task(n_configs=N_CFG, n_epochs=N_EPOCH, seed=0)
    else:
        from lcsim import benchmarks

        bench, name = a.task.split("/", 1)
        task = benchmarks.load(bench, name)
    task.served_objective()
    task.first_nonfinite_epoch()
    print(f"task {task.key}: {task.n_configs} configurations x {task.n_epochs} epochs, cost in {task.cost_unit}")
    for method, lc_name in (("asha", "asha"), ("random_search", "random_search")):
        for full in FULL:
            budget = full * task.n_epochs
            lc, st = [], []
            run(task, make_optimizer(lc_name, problem_for(task, WORKERS), 0), Budget(budget), n_workers=WORKERS)
            # interleaved rounds (3 lcsim runs, then 1 syne-tune run), so that a noisy spell of a shared machine
            # hits both; ratios of the best and of the median times
            for _ in range(a.rounds):
                for _ in range(3):
                    with _timed_region():
                        t0 = CLOCK()
                        res = run(task, make_optimizer(lc_name, problem_for(task, WORKERS), 0), Budget(budget),
                                  n_workers=WORKERS)
                        lc.append(CLOCK() - t0)
                st_wall, _, st_trials = run_synetune(task, budget, method=method)
                st.append(st_wall)
            tag = f"[{method}, budget {full} full curves, workers={WORKERS}]"
            print(f"{tag} lcsim: {len(res.table)} epochs, {res.n_tells} jobs: best {min(lc):.3f} s, median "
                  f"{np.median(lc):.3f} s ({len(res.table) / min(lc):.3e} epochs/s)")
            print(f"{tag} syne-tune: {budget} results, {st_trials} trials: best {min(st):.3f} s, median "
                  f"{np.median(st):.3f} s ({budget / min(st):.3e} epochs/s)")
            print(f"{tag} ratio syne-tune / lcsim {a.clock} time (gc {a.gc}): {min(st) / min(lc):.1f}x (best), "
                  f"{np.median(st) / np.median(lc):.1f}x (median)", flush=True)


if __name__ == "__main__":
    main()
