"""Export to syne-tune's blackbox layout: a round trip through a reader that follows syne-tune's ``deserialize``
(and through lcsim's own LCBench reader of syne-tune's files) gives back the same curves, configurations, metrics
and costs, and the same replay."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from ConfigSpace import Categorical, ConfigurationSpace, Constant, Float, Integer, OrdinalHyperparameter

from lcsim import benchmarks
from lcsim.benchmarks import Metric, Task
from lcsim.benchmarks.export import export_syne_tune, syne_tune_space
from lcsim.benchmarks.synthetic import synthetic_task
from lcsim.errors import InvalidParameterError
from lcsim.optimizers import make_optimizer
from lcsim.replay import Budget, run
from lcsim.replay.engine import problem_for


def read_like_syne_tune(path: Path) -> dict[str, dict]:
    """What ``syne_tune.blackbox_repository.blackbox_tabular.deserialize`` reads, file by file, with the checks
    ``BlackboxTabular.__init__`` makes on it (shapes, no duplicated rows, one column per hyperparameter)."""
    config_space = json.loads((path / "configspace.json").read_text())
    fidelity_space = json.loads((path / "fidelityspace.json").read_text())
    hyperparameters = pd.read_parquet(path / "hyperparameters.parquet")
    metadata = json.loads((path / "metadata.json").read_text())
    fidelity_values = np.load(path / "fidelities_values.npy")
    evaluations = np.load(path / "objectives_evaluations.npy")
    out = {}
    for i, name in enumerate(metadata["task_names"]):
        ev = evaluations[i]
        assert ev.ndim == 4 and len(ev) == len(hyperparameters)
        assert len(fidelity_space) == 1
        assert max(fidelity_values) <= next(iter(fidelity_space.values()))["domain_kwargs"]["upper"]
        assert len(hyperparameters) == len(hyperparameters.drop_duplicates())
        assert len(config_space) == len(hyperparameters.columns)
        assert all(k in hyperparameters.columns for k in config_space)
        assert ev.shape[3] == len(metadata["objectives_names"])
        out[name] = {"hyperparameters": hyperparameters, "configuration_space": config_space,
                     "fidelity_space": fidelity_space, "objectives_evaluations": ev,
                     "fidelity_values": fidelity_values, "objectives_names": metadata["objectives_names"],
                     "metadata": metadata}
    return out


def task_from_blackbox(bb: dict, name: str) -> Task:
    """An lcsim Task rebuilt from one deserialized blackbox and the ``lcsim`` entry of its metadata."""
    meta = bb["metadata"]["lcsim"]
    names = bb["objectives_names"]
    ev = bb["objectives_evaluations"].astype(float)
    metrics = {m["name"]: Metric.from_dict(m) for m in meta["metrics"]}
    curves = np.stack([ev[..., names.index(m)] for m in metrics], axis=-1)
    elapsed = ev[..., names.index(bb["metadata"]["metric_elapsed_time"])]
    cost = np.diff(elapsed, axis=2, prepend=0.0)
    diverged = np.zeros(ev.shape[:2], dtype=bool)
    for i, s in meta["diverged_marked"]:
        diverged[i, s] = True
    return Task(meta["benchmark"], name, bb["hyperparameters"], curves, metrics, meta["objective"],
                ConfigurationSpace.from_serialized_dict(meta["space"]), cost, meta["cost_unit"], diverged,
                meta["version"], bb["fidelity_values"], meta["extra"])


def _mixed_task() -> Task:
    """A task whose space has every kind of hyperparameter the export maps (categorical, ordinal, constant)."""
    base = synthetic_task(n_configs=30, n_epochs=6, n_seeds=2, seed=4, diverged_share=0.3)
    rng = np.random.default_rng(0)
    space = ConfigurationSpace(seed=0)
    space.add([Float("learning_rate", (1e-4, 1e-1), log=True), Float("dropout", (0.0, 0.9)),
               Integer("width", (16, 256), log=True), Categorical("act", ["relu", "tanh"]),
               OrdinalHyperparameter("bs", [16, 64, 256]), Constant("opt", "sgd")])
    configs = base.configs.assign(act=rng.choice(["relu", "tanh"], 30), bs=rng.choice([16, 64, 256], 30),
                                  opt="sgd")
    diverged = base.diverged.copy()
    diverged[0, 0] = True            # marked by the "source" although its curve is finite
    curves = base.curves.copy()
    curves[0, 0] = np.nan_to_num(curves[0, 0], nan=0.5)
    return Task("custom", "mixed", configs, curves, base.metrics, base.objective, space, base.epoch_cost,
                base.cost_unit, diverged, "custom-v1", np.arange(2, 14, 2), {"note": "mixed", "path": Path("/x")})


def _check_round_trip(task: Task, back: Task, dtype: str) -> None:
    pd.testing.assert_frame_equal(back.configs, task.configs)
    if dtype == "float64":
        np.testing.assert_array_equal(back.curves, task.curves)
    else:
        np.testing.assert_array_equal(back.curves, task.curves.astype(np.float32).astype(float))
    # costs travel as syne-tune's cumulative elapsed time: its differences are the costs up to that rounding
    cum = np.cumsum(task.epoch_cost, axis=2)
    tol = np.finfo(dtype).eps * 4 * np.maximum(cum, 1.0)
    assert np.all(np.abs(back.epoch_cost - task.epoch_cost) <= 2 * tol)
    assert list(back.metrics.values()) == list(task.metrics.values())
    assert back.objective == task.objective and back.cost_unit == task.cost_unit and back.version == task.version
    np.testing.assert_array_equal(back.diverged, task.diverged)
    np.testing.assert_array_equal(back.fidelities, task.fidelities)
    assert back.space == task.space


def _same_replay(task: Task, back: Task) -> None:
    for name in ("random_search", "asha"):
        a = run(task, make_optimizer(name, problem_for(task), 3), Budget(4 * task.n_epochs), seed=3).table
        b = run(back, make_optimizer(name, problem_for(back), 3), Budget(4 * back.n_epochs), seed=3).table
        cols = ["trial_id", "config_id", "epoch", "objective", "diverged", "budget_used"]
        pd.testing.assert_frame_equal(a[cols], b[cols])


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_round_trip_synthetic_and_mixed_space(tmp_path, dtype):
    for task in (synthetic_task(n_configs=40, n_epochs=8, n_seeds=2, seed=1, diverged_share=0.2), _mixed_task()):
        out = export_syne_tune(task, tmp_path / f"{task.name}-{dtype}", dtype=dtype)
        bb = read_like_syne_tune(out)
        assert list(bb) == [task.name]
        assert bb[task.name]["objectives_evaluations"].dtype == np.dtype(dtype)
        back = task_from_blackbox(bb[task.name], task.name)
        _check_round_trip(task, back, dtype)
        if dtype == "float64":
            _same_replay(task, back)
        assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # no temporary left


def test_configspace_json_is_syne_tunes_domain_dict():
    space = _mixed_task().space
    st = syne_tune_space(space)
    assert st["learning_rate"] == {"domain_cls": "Float", "domain_kwargs": {"lower": 1e-4, "upper": 1e-1},
                                   "sampler_cls": "LogUniform", "sampler_kwargs": {"base": np.e}}
    assert st["dropout"] == {"domain_cls": "Float", "domain_kwargs": {"lower": 0.0, "upper": 0.9},
                             "sampler_cls": "Uniform", "sampler_kwargs": {}}
    assert st["width"]["domain_cls"] == "Integer" and st["width"]["sampler_cls"] == "LogUniform"
    assert st["act"] == {"domain_cls": "Categorical", "domain_kwargs": {"categories": ["relu", "tanh"]},
                         "sampler_cls": "Uniform", "sampler_kwargs": {}}
    assert st["bs"]["domain_cls"] == "Ordinal" and st["bs"]["domain_kwargs"] == {"categories": [16, 64, 256]}
    assert st["opt"] == "sgd"


@pytest.mark.parametrize("benchmark, name", [("embedded", None), ("taskset", None), ("lcbench_yahpo", "3945")])
def test_round_trip_real_tasks(shared_data, tmp_path, benchmark, name):
    """The embedded (live-built), TaskSet and YAHPO-tabulated tasks survive the round trip (float64) and replay
    identically."""
    options = {"n_configs": 60, "seed": 1, "n_threads": 1} if benchmark == "lcbench_yahpo" else {}
    task = benchmarks.load(benchmark, name, **options)
    back = task_from_blackbox(read_like_syne_tune(export_syne_tune(task, tmp_path / "bb", dtype="float64"))
                              [task.name], task.name)
    _check_round_trip(task, back, "float64")
    _same_replay(task, back)


def test_lcbench_export_reads_back_with_lcsims_syne_tune_reader(tmp_path):
    """An LCBench task exported with syne-tune's LCBench names (``time``) is read by lcsim's own reader of
    syne-tune's converted LCBench files."""
    from lcsim.benchmarks.lcbench import parse_raw_dataset, parse_syne_tune
    from lcsim.testing.fixtures import lcbench_raw_dict

    data = lcbench_raw_dict(n_configs=7)
    task = parse_raw_dataset(data["credit-g"], "credit-g")
    out = export_syne_tune(task, tmp_path / "lcbench", time_objective="time")
    back = parse_syne_tune(out, "credit-g")
    pd.testing.assert_frame_equal(back.configs, task.configs)
    assert list(back.metrics) == list(task.metrics)
    np.testing.assert_array_equal(back.curves, task.curves.astype(np.float32).astype(float))
    np.testing.assert_allclose(back.epoch_cost, task.epoch_cost, rtol=0, atol=1e-4 * task.epoch_cost.sum(axis=2).max())


def test_refusals_and_overwrite(tmp_path):
    task = synthetic_task(n_configs=10, n_epochs=4, seed=0)
    out = export_syne_tune(task, tmp_path / "bb")
    with pytest.raises(InvalidParameterError, match="overwrite=True"):
        export_syne_tune(task, out)
    other = synthetic_task(n_configs=12, n_epochs=4, seed=1)
    export_syne_tune(other, out, overwrite=True)
    assert np.load(out / "objectives_evaluations.npy").shape == (1, 12, 1, 4, 3)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bb"]
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(InvalidParameterError, match="not an earlier lcsim export"):
        export_syne_tune(task, foreign, overwrite=True)
    assert (foreign / "notes.txt").read_text() == "mine"
    with pytest.raises(InvalidParameterError, match="time_objective"):
        export_syne_tune(task, tmp_path / "x", time_objective="valid_loss")
    dup = task.subset([0, 0, 1])
    with pytest.raises(InvalidParameterError, match="duplicated"):
        export_syne_tune(dup, tmp_path / "y")


def test_data_cli_export(tmp_path, capsys):
    from lcsim.data import main

    assert main(["export", "synthetic", "powerlaw-0", "--dest", str(tmp_path / "st")]) == 0
    assert "wrote synthetic/powerlaw-0" in capsys.readouterr().out
    bb = read_like_syne_tune(tmp_path / "st")
    assert list(bb) == ["powerlaw-0"]
    assert main(["export", "synthetic", "powerlaw-0", "--dest", str(tmp_path / "st")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "--overwrite" in err
    assert main(["export", "synthetic", "powerlaw-0", "--dest", str(tmp_path / "st"), "--overwrite"]) == 0
    assert main(["export", "synthetic", "nosuchtask", "--dest", str(tmp_path / "z")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: Unknown") and err.count("\n") == 1
