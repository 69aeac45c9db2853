"""FGHPO (Algorithm 1) on replayed and live curves."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch
from ConfigSpace import ConfigurationSpace, Float

from lcsim.benchmarks._base import Metric, Task
from lcsim.errors import InvalidParameterError, UnknownNameError
from lcsim.live import LiveTask, load_dataset
from lcsim.optimizers import make_optimizer
from lcsim.optimizers.fghpo import FGHPO
from lcsim.proxy.spaces import bayesmark_mlp_space
from lcsim.proxy.tasks import record_task
from lcsim.replay.engine import Budget, problem_for, run

torch.set_num_threads(1)


def _task(n=30, e=6, seed=0) -> Task:
    """A task with a hand-set sharpness column: zeros and NaN included."""
    rng = np.random.default_rng(seed)
    space = ConfigurationSpace(seed=0)
    space.add([Float("x", (0.0, 1.0))])
    configs = pd.DataFrame({"x": rng.random(n)})
    loss = rng.random((n, 1, 1)) + 1.0 / np.arange(1, e + 1)[None, None, :]
    sharp = np.repeat(rng.random((n, 1, 1)) * 10, e, axis=2)
    sharp[::7, 0, :] = 0.0  # no information -> discarded
    sharp[3, 0, :] = np.nan
    test = 1.0 - loss / 3
    curves = np.stack([loss, sharp, test], axis=-1)
    metrics = {"valid_loss": Metric("valid_loss", True), "sharpness": Metric("sharpness", True),
               "test_acc": Metric("test_acc", False, (0, 1))}
    return Task("t", "hand", configs, curves, metrics, "valid_loss", space, np.ones((n, 1, e)), "unit",
                np.zeros((n, 1), bool), "v1")


def test_fghpo_replay_matches_brute_force():
    task = _task()
    opt = FGHPO(problem_for(task), seed=3, n_probe=20, n_full=5, probe_epoch=2)
    res = run(task, opt, Budget(20 * 2 + 5 * 6))
    tab = res.table
    probed = tab.groupby("trial_id")["config_id"].first()
    assert len(probed) == 20 and probed.nunique() == 20
    # brute force: sharpness at the probe epoch, drop 0 / NaN, 5 lowest
    s = {t: task.curves[c, 0, 1, 1] for t, c in probed.items()}
    ok = sorted((v, t) for t, v in s.items() if math.isfinite(v) and v != 0)
    assert opt.selected == [t for _, t in ok[:5]]
    # every selected trial reaches epoch 6, resuming from 2 (pays 4 epochs each)
    assert (tab.groupby("trial_id")["epoch"].max().loc[opt.selected] == 6).all()
    assert len(tab) == 20 * 2 + 5 * 4
    finals = {t: task.curves[probed[t], 0, 5, 0] for t in opt.selected}
    assert opt.best == min(finals, key=finals.get)


def test_fghpo_validation_errors():
    p = problem_for(_task())
    with pytest.raises(UnknownNameError, match="sharpnes"):
        FGHPO(p, 0, sharpness_metric="sharpnes")
    with pytest.raises(InvalidParameterError, match="n_full"):
        FGHPO(p, 0, n_full=0)
    with pytest.raises(InvalidParameterError, match="probe_epoch"):
        FGHPO(p, 0, probe_epoch=5, full_epoch=3)
    from dataclasses import replace
    with pytest.raises(InvalidParameterError, match="metric"):
        FGHPO(replace(p, metric_names=()), 0)
    assert make_optimizer("fghpo", p, 0, {"n_probe": 4, "n_full": 2}).n_probe == 4


def test_fghpo_replay_equals_live():
    """Selections on a recorded task equal the live selections on the same (re-trained) configurations."""
    ds = load_dataset("iris", seed=0)
    task = record_task("iris", n_configs=6, epochs=3, seed=5, progress=False, dataset_obj=ds)
    kw = dict(n_probe=5, n_full=2, probe_epoch=1)
    rep = FGHPO(problem_for(task), 11, **kw)
    run(task, rep, Budget(5 + 2 * 3))
    live = LiveTask(ds, "mlp", bayesmark_mlp_space(), seed=5, max_epoch=3, candidates=task.configs)
    lv = FGHPO(live.problem(), 11, **kw)
    tab = live.run(lv, 5 + 2 * 2)
    assert rep.selected == lv.selected and rep.best == lv.best
    for t in rep.sharpness:
        assert rep.sharpness[t] == pytest.approx(lv.sharpness[t], rel=1e-9)
    assert set(tab["trial_id"]) == set(range(5))


def test_fghpo_live_sampled_configs_deterministic():
    ds = load_dataset("iris", seed=0)
    sel = []
    for _ in range(2):
        live = LiveTask(ds, "mlp", bayesmark_mlp_space(), seed=1, max_epoch=2)
        opt = FGHPO(live.problem(), 4, n_probe=3, n_full=1)
        live.run(opt, 10)
        assert opt.best in opt.selected and 2 in set(live.trainers[opt.best].to_frame()["epoch"])
        sel.append((opt.selected, opt.best, dict(opt.sharpness)))
    assert sel[0] == sel[1]


def test_recorded_task_with_string_constant_round_trips(tmp_path):
    ds = load_dataset("iris", seed=0)
    task = record_task("iris", n_configs=2, epochs=1, seed=2, progress=False, dataset_obj=ds)
    assert list(task.configs["optimizer"]) == ["adam", "adam"] and task.configs["num_layers"].dtype.kind == "i"
    back = type(task).from_file(task.save(tmp_path / "t.npz"))
    assert back.configs.astype(object).equals(task.configs.astype(object))
    np.testing.assert_allclose(back.curves, task.curves.astype(np.float32), equal_nan=True)


def test_cli_fghpo_tiny(tmp_path, capsys):
    """``python -m lcsim.proxy fghpo`` at the tiny scale: records the tasks, replays each method, writes the summary
    and the wins/ties/losses table with one row per method and repeat counts as asked."""
    from lcsim.proxy.__main__ import main

    methods = ["fghpo", "random_search", "hebo", "bohb"]
    assert main(["fghpo", "--scale", "tiny", "--out", str(tmp_path), "--methods", ",".join(methods),
                 "--repeats", "2"]) == 0
    res = pd.read_csv(tmp_path / "results.csv")
    assert set(res.method) == set(methods) and set(res.dataset) == {"iris", "wine"}
    assert (res.groupby(["dataset", "method"]).size() == 2).all()
    assert res.score.between(0, 1).all()
    summ = pd.read_csv(tmp_path / "summary.csv")
    assert set(summ.method) == set(methods)
    wtl = pd.read_csv(tmp_path / "wins_ties_losses.csv", index_col=0)
    assert (wtl[["wins", "ties", "losses"]].sum(axis=1) == 2).all()  # every method: one outcome per dataset
    assert "wins" in capsys.readouterr().out
