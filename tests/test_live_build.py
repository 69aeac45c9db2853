"""The live builder: a Task in the data layer's format, resumable, identical for any number of processes."""
from __future__ import annotations

import numpy as np
import pytest

from lcsim.benchmarks import Task
from lcsim.errors import UnknownNameError
from lcsim.live.build import build_tasks, main
from lcsim.live.spaces import lcbench_mlp_space, sample_configs
from lcsim.live.trainer import metric_names

TIMING = [metric_names().index(m) for m in ("train_seconds", "eval_seconds", "epoch_seconds")]


def _no_timing(curves):
    keep = [i for i in range(curves.shape[-1]) if i not in TIMING]
    return curves[..., keep]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    work = tmp_path_factory.mktemp("work")
    tasks = build_tasks(["iris", "wine"], n_configs=3, epochs=2, seed=7, workers=1, work_dir=work, progress=False)
    return work, tasks


def test_task_layout_and_roundtrip(built, tmp_path):
    work, tasks = built
    t = tasks["iris"]
    assert t.curves.shape == (3, 1, 2, len(metric_names())) and list(t.metrics) == metric_names()
    assert t.objective == "valid_loss" and t.minimize and t.cost_unit == "seconds"
    assert {"sharpness", "agn", "agn_sum", "epoch_seconds", "test_auc"} <= set(t.metrics)
    assert not t.metrics["valid_acc"].minimize and t.metrics["valid_acc"].bounds == (0.0, 1.0)
    np.testing.assert_allclose(t.epoch_cost, t.curves[..., t.metric_index("epoch_seconds")])
    pd_cfg = sample_configs(lcbench_mlp_space(), 3, __import__("lcsim.seeding", fromlist=["derive"]).derive(
        7, "build", "iris", "space"))
    assert t.configs.equals(pd_cfg)
    from ConfigSpace import Configuration

    for c in t.configs.to_dict("records"):  # every row is a valid configuration of the stored space
        Configuration(t.space, values={k: (v.item() if hasattr(v, "item") else v) for k, v in c.items()})
    path = t.save(tmp_path / "iris.npz")
    back = Task.from_file(path)
    np.testing.assert_allclose(back.curves, t.curves.astype(np.float32), rtol=0, equal_nan=True)
    assert back.configs.equals(t.configs) and back.version == t.version


def test_resume_skips_finished_configs(built):
    work, tasks = built
    files = sorted((work / "iris").glob("*.npz"))
    assert len(files) == 3
    mtimes = {f: f.stat().st_mtime_ns for f in files}
    files[1].unlink()
    again = build_tasks(["iris", "wine"], n_configs=3, epochs=2, seed=7, workers=1, work_dir=work, progress=False)
    assert files[1].exists()
    assert all(f.stat().st_mtime_ns == m for f, m in mtimes.items() if f != files[1])  # not redone
    np.testing.assert_array_equal(_no_timing(again["iris"].curves), _no_timing(tasks["iris"].curves))


def test_parallel_equals_serial(built, tmp_path):
    _, tasks = built
    par = build_tasks(["iris", "wine"], n_configs=3, epochs=2, seed=7, workers=2, work_dir=tmp_path,
                      progress=False)
    for d in ("iris", "wine"):
        np.testing.assert_array_equal(_no_timing(par[d].curves), _no_timing(tasks[d].curves))


def test_cli_and_errors(tmp_path, capsys):
    assert main(["--datasets", "iris", "--n-configs", "2", "--epochs", "1", "--work-dir", str(tmp_path / "w"),
                 "--out-dir", str(tmp_path / "o"), "--no-progress"]) == 0
    t = Task.from_file(tmp_path / "o" / "iris.npz")
    assert t.n_configs == 2 and "lcsim.live.build" in t.extra["command"]
    with pytest.raises(UnknownNameError, match="lcbench_mlp"):
        build_tasks(["iris"], space_name="lcbench_mpl", n_configs=1, epochs=1, work_dir=tmp_path)
    with pytest.raises(UnknownNameError, match="builder dataset"):
        build_tasks(["irs"], n_configs=1, epochs=1, work_dir=tmp_path)
