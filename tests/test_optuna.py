"""The Optuna adapter: the same suggestions and prune decisions as a plain Optuna loop over the same table, the
ConfigSpace -> Optuna mapping, name/instance parameters, asynchronous workers and the replay CLI."""
from __future__ import annotations

import math

import numpy as np
import optuna  # part of lcsim[dev] (the optuna extra): a missing install fails here, it is not skipped
import pytest
from ConfigSpace import Categorical, ConfigurationSpace, Constant, Float, Integer, OrdinalHyperparameter

from lcsim.benchmarks.synthetic import synthetic_task
from lcsim.errors import InvalidParameterError, UnknownNameError
from lcsim.optimizers import make_optimizer
from lcsim.replay import Budget, run
from lcsim.replay.engine import problem_for

TrialState = optuna.trial.TrialState


def _pruner(name: str):
    return {"SuccessiveHalvingPruner": optuna.pruners.SuccessiveHalvingPruner,
            "MedianPruner": optuna.pruners.MedianPruner,
            "HyperbandPruner": optuna.pruners.HyperbandPruner}[name]()


def _sampler(name: str, seed: int):
    return {"TPESampler": optuna.samplers.TPESampler, "RandomSampler": optuna.samplers.RandomSampler}[name](seed=seed)


def _plain_study(task, sampler_name: str, pruner_name: str, sampler_seed: int, study_name: str, budget: int):
    """A plain Optuna loop over the synthetic table, written from Optuna's documentation: the usual objective with a
    training loop (report each epoch, raise on should_prune), unrolled into ask/tell so the epoch budget can stop it.

    Suggestions are made in the space's order (dropout, learning_rate, width); each new configuration is served the
    nearest unused row of the table by brute force in the min-max (log where declared) cube, any row once all are
    used. Returns the study, the served rows per trial and the decisions (trial number, epoch, outcome)."""
    study = optuna.create_study(direction="minimize", sampler=_sampler(sampler_name, sampler_seed),
                                pruner=_pruner(pruner_name), study_name=study_name)
    served = task.served_objective()[:, 0, :]                    # one replica: replica 0 is served
    cfg = task.configs
    cube = np.column_stack([cfg["dropout"] / 0.9,
                            np.log(cfg["learning_rate"] / 1e-4) / np.log(1e-1 / 1e-4),
                            np.log(cfg["width"] / 16) / np.log(256 / 16)])
    used: list[int] = []
    rows, decisions = [], []
    paid = 0
    while paid < budget:
        trial = study.ask()
        point = np.array([trial.suggest_float("dropout", 0.0, 0.9) / 0.9,
                          math.log(trial.suggest_float("learning_rate", 1e-4, 1e-1, log=True) / 1e-4)
                          / math.log(1e-1 / 1e-4),
                          math.log(trial.suggest_int("width", 16, 256, log=True) / 16) / math.log(256 / 16)])
        best, best_d = -1, math.inf
        for row in range(len(cube)):
            if row in used and len(used) < len(cube):
                continue
            d = float(np.sum((cube[row] - point) ** 2))
            if d < best_d:
                best, best_d = row, d
        used.append(best)
        rows.append(best)
        for epoch in range(1, task.n_epochs + 1):
            if paid == budget:
                break
            paid += 1
            value = float(served[best, epoch - 1])
            trial.report(value, epoch)
            if trial.should_prune():
                study.tell(trial, state=TrialState.PRUNED)
                decisions.append((trial.number, epoch, "pruned"))
                break
            if epoch == task.n_epochs:
                study.tell(trial, value)
                decisions.append((trial.number, epoch, "complete"))
    return study, rows, decisions


@pytest.mark.parametrize("sampler, pruner, n_configs, budget", [
    ("TPESampler", "SuccessiveHalvingPruner", 400, 220),
    ("TPESampler", "MedianPruner", 20, 150),    # a pool smaller than the number of trials: rows are reused
    ("RandomSampler", "HyperbandPruner", 400, 220),
])
def test_one_worker_matches_a_plain_optuna_loop(sampler, pruner, n_configs, budget):
    task = synthetic_task(n_configs=n_configs, n_epochs=9, n_seeds=1, seed=3)
    opt = make_optimizer("optuna", problem_for(task, 1), 7, {"sampler": sampler, "pruner": pruner})
    res = run(task, opt, Budget(budget), n_workers=1, seed=7)
    # the same sampler seed, and the same study name (HyperbandPruner's brackets hash it)
    study, rows, decisions = _plain_study(task, sampler, pruner, opt.sampler_seed, opt.study.study_name, budget)

    assert len(res.table) == budget
    ours, theirs = opt.study.trials, study.trials
    assert len(ours) == len(theirs) > 10                    # past TPE's 10 random start-up trials
    assert [t.params for t in ours] == [t.params for t in theirs]
    assert [t.state for t in ours] == [t.state for t in theirs]
    assert [t.intermediate_values for t in ours] == [t.intermediate_values for t in theirs]
    assert opt.decisions == decisions
    outcomes = {d[2] for d in decisions}
    assert outcomes == {"pruned", "complete"}, outcomes    # both decisions were exercised
    served = res.table.groupby("trial_id", sort=True)["config_id"].first().tolist()
    assert served == rows
    assert [t.user_attrs["config_id"] for t in ours] == rows


def test_space_maps_to_optuna_distributions():
    from lcsim.optimizers.optuna_adapter import config_from_params, optuna_distributions

    space = ConfigurationSpace(seed=0)
    space.add([Float("lr", (1e-5, 1.0), log=True), Float("mom", (0.1, 0.9)), Integer("units", (8, 512), log=True),
               Integer("layers", (1, 4)), Categorical("act", ["relu", "tanh"]),
               OrdinalHyperparameter("bs", [16, 64, 256]), Constant("opt", "sgd")])
    d = optuna_distributions(space)
    D = optuna.distributions
    assert d == {"act": D.CategoricalDistribution(["relu", "tanh"]), "bs": D.IntDistribution(0, 2),
                 "layers": D.IntDistribution(1, 4), "lr": D.FloatDistribution(1e-5, 1.0, log=True),
                 "mom": D.FloatDistribution(0.1, 0.9), "units": D.IntDistribution(8, 512, log=True)}
    cfg = config_from_params(space, {"act": "tanh", "bs": 2, "layers": 3, "lr": 0.01, "mom": 0.5, "units": 32})
    assert cfg == {"act": "tanh", "bs": 256, "layers": 3, "lr": 0.01, "mom": 0.5, "opt": "sgd", "units": 32}


def test_parameters_by_name_and_instance():
    task = synthetic_task(n_configs=30, n_epochs=5, seed=1)
    p = problem_for(task)
    opt = make_optimizer("optuna", p, 3, {"sampler": "RandomSampler", "pruner": "NopPruner", "n_trials": 4})
    assert opt.params() == {"sampler": "RandomSampler", "pruner": "NopPruner", "n_trials": 4,
                            "sampler_seed": opt.sampler_seed}
    res = run(task, opt, Budget(100), n_workers=2, seed=0)
    assert res.table["trial_id"].nunique() == 4 and len(res.table) == 4 * task.n_epochs  # n_trials stops it
    sampler = optuna.samplers.RandomSampler(seed=5)
    opt = make_optimizer("optuna", p, 3, {"sampler": sampler, "pruner": optuna.pruners.ThresholdPruner(upper=0.5)})
    assert opt.study.sampler is sampler and opt.params()["pruner"] == "ThresholdPruner"
    with pytest.raises(UnknownNameError, match="TPESampler"):
        make_optimizer("optuna", p, 0, {"sampler": "TPESampler2"})
    with pytest.raises(UnknownNameError, match="Valid Optuna pruners"):
        make_optimizer("optuna", p, 0, {"pruner": "PatientPruner"})   # needs arguments: give an instance
    with pytest.raises(InvalidParameterError, match="'sampler' parameter of Optuna"):
        make_optimizer("optuna", p, 0, {"sampler": 3})
    with pytest.raises(InvalidParameterError, match="Valid parameters"):
        make_optimizer("optuna", p, 0, {"samplr": "TPESampler"})


def test_asynchronous_workers_each_carry_one_trial():
    """With w workers at most w Optuna trials are unfinished at any time, each one advanced an epoch per job."""
    task = synthetic_task(n_configs=200, n_epochs=9, seed=2)
    opt = make_optimizer("optuna", problem_for(task, 3), 1, {"pruner": "SuccessiveHalvingPruner"})
    res = run(task, opt, Budget(150), n_workers=3, seed=1)
    t = res.table.sort_values("sim_time", kind="stable")
    open_trials: set[int] = set()
    finished = {number for number, _, _ in opt.decisions}
    last_epoch = {tr.number: max(tr.intermediate_values) for tr in opt.study.trials if tr.intermediate_values}
    for tid, epoch in zip(t["trial_id"], t["epoch"]):
        open_trials.add(tid)
        if tid in finished and epoch == last_epoch[tid]:
            open_trials.discard(tid)
        assert len(open_trials) <= 3
    for tr in opt.study.trials:
        steps = sorted(tr.intermediate_values)
        assert steps == list(range(1, len(steps) + 1))       # every paid epoch reported, in order
    assert {tr.state for tr in opt.study.trials} >= {TrialState.PRUNED, TrialState.COMPLETE}


def test_replay_cli_runs_optuna_by_name(tmp_path, capsys):
    from lcsim.replay.__main__ import main

    rc = main(["--benchmark", "synthetic", "--tasks", "powerlaw-0", "--methods", "optuna", "--param",
               "optuna.sampler=TPESampler", "--param", "optuna.pruner=SuccessiveHalvingPruner", "--seeds", "1",
               "--budget", "3", "--executor", "serial", "--out", str(tmp_path / "out")])
    assert rc == 0, capsys.readouterr().err
    import pandas as pd

    table = pd.read_parquet(tmp_path / "out" / "results.parquet")
    assert set(table["method"]) == {"optuna"} and len(table) == 3 * 27


def test_readme_example_runs_and_its_optimizer_passes_the_contract(monkeypatch):
    """The code block of README's "Benchmark your own optimizer" runs as written (on the synthetic benchmark), and its
    optimizer, registered as the README says, passes the optimizer contract."""
    import sys
    import types
    from pathlib import Path

    from lcsim.optimizers import METHODS
    from lcsim.testing.optimizer_contract import check_all

    text = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = text.split("## Benchmark your own optimizer\n", 1)[1].split("\n## ", 1)[0]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    assert 'benchmarks.load("synthetic")' in code
    module = types.ModuleType("readme_example")
    monkeypatch.setitem(sys.modules, "readme_example", module)
    exec(compile(code, "README.md", "exec"), module.__dict__)
    ns = module.__dict__
    assert len(ns["mine"].table) == len(ns["theirs"].table) == 5 * ns["task"].n_epochs
    assert np.isfinite(ns["mine"].table["normalized_regret"]).all()
    assert ns["optuna"].study.best_params.keys() == {"dropout", "learning_rate", "width"}
    monkeypatch.setitem(METHODS, "greedy", "readme_example:Greedy")
    check_all("greedy")
