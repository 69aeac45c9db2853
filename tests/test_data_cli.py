"""``python -m lcsim.data``: list, info and the delegated download command."""
from __future__ import annotations

import subprocess
import sys
import types
from pathlib import Path

from lcsim.data import availability, main

TASK = "FixedTextRNNClassification_imdb_patch32_GRU64_avg_bs128"


def test_list_shows_benchmarks_and_availability(shared_data, capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "taskset: 12 tasks available" in out and f"  {TASK}" in out
    assert "lcbench_yahpo: 34 tasks available" in out
    rows = {name: status for name, _, status in availability()}
    assert set(rows) >= {"synthetic", "taskset", "lcbench_yahpo", "lcbench", "pd1", "embedded"}


def test_list_reports_missing_data(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LCSIM_DATA", str(tmp_path))
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "taskset: missing:" in out and "python -m lcsim.data download taskset" in out


def test_info_taskset(shared_data, capsys):
    assert main(["info", "taskset", TASK]) == 0
    out = capsys.readouterr().out
    assert "curves: (n_cfg, n_seed, n_epoch, n_metric) = (1000, 1, 51, 3)" in out
    assert "diverged runs: 0 of 1000" in out and "oracle (final valid_loss" in out and "version: taskset-" in out
    assert main(["info", "taskset", TASK, "-o", "filter=dpl"]) == 0
    assert "filter: dpl" in capsys.readouterr().out


def test_info_unknown_task_is_an_error(shared_data, capsys):
    assert main(["info", "taskset", "FixedTextRNNClassification_imdb_patch32_GRU64_avg_bs12"]) == 1
    assert "Did you mean" in capsys.readouterr().err


def test_download_delegates_all_arguments(monkeypatch):
    seen = []
    fake = types.ModuleType("lcsim.benchmarks.download")
    fake.main = lambda argv: seen.append(argv) or 0
    monkeypatch.setitem(sys.modules, "lcsim.benchmarks.download", fake)
    assert main(["download", "taskset", "--force", "--help"]) == 0
    assert seen == [["taskset", "--force", "--help"]]


def test_download_missing_module_is_a_clear_error(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "lcsim.benchmarks.download", None)   # import raises ImportError
    assert main(["download", "taskset"]) == 2
    assert "download command is not available" in capsys.readouterr().err


def test_module_entry_point_runs(shared_data):
    r = subprocess.run([sys.executable, "-m", "lcsim.data", "info", "synthetic", "powerlaw-0"],
                       capture_output=True, text=True, timeout=120,
                       cwd=Path(__file__).resolve().parents[1])
    assert r.returncode == 0, r.stderr
    assert "curves: (n_cfg, n_seed, n_epoch, n_metric) = (64, 1, 27, 2)" in r.stdout
    assert "RuntimeWarning" not in r.stderr
