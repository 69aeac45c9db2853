"""``python -m lcsim.data``: list, info and the delegated download command."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import types
from pathlib import Path

import pytest

from lcsim.data import availability, main, status_of
from lcsim.testing.fixtures import write_lcbench_raw, write_pd1_raw
from lcsim.testing.taskset_files import write_dpl_json

TASK = "FixedTextRNNClassification_imdb_patch32_GRU64_avg_bs128"


def test_list_shows_benchmarks_and_availability(shared_data, capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "taskset: 12 tasks available" in out and f"  {TASK}" in out
    assert "lcbench_yahpo: 34 tasks available" in out
    rows = {st.benchmark: st for st in availability()}
    assert set(rows) >= {"synthetic", "taskset", "lcbench_yahpo", "lcbench", "pd1", "embedded"}
    assert rows["taskset"].state == "available" and len(rows["taskset"].tasks) == 12


def test_list_reports_missing_data(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LCSIM_DATA", str(tmp_path))
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "taskset: missing:" in out and "python -m lcsim.data download taskset" in out


def test_info_taskset(shared_data, capsys):
    assert main(["info", "taskset", TASK, "-o", "filter=none"]) == 0
    out = capsys.readouterr().out
    assert "curves: (n_cfg, n_seed, n_epoch, n_metric) = (1000, 1, 51, 3)" in out
    assert "diverged runs: 0 of 1000" in out and "oracle (final valid_loss" in out and "version: taskset-" in out
    assert main(["info", "taskset", TASK]) == 0  # the default: the DPL pool
    assert "filter: dpl" in capsys.readouterr().out


def test_info_unknown_task_is_an_error(shared_data, capsys):
    assert main(["info", "taskset", "FixedTextRNNClassification_imdb_patch32_GRU64_avg_bs12"]) == 2
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


# ---------------------------------------------------------------- `list` tells the truth per benchmark
FILE_BENCHMARKS = ("taskset", "lcbench", "lcbench_yahpo", "pd1")


def _list(monkeypatch, capsys, root) -> dict[str, str]:
    """benchmark -> the text after ``name:`` on its ``list`` line."""
    monkeypatch.setenv("LCSIM_DATA", str(root))
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    lines = [ln for ln in out.splitlines() if not ln.startswith(("  ", "data root:"))]
    return dict(ln.split(": ", 1) for ln in lines)


def _yahpo_copy(shared_data, root: Path) -> Path:
    d = root / "yahpo_data" / "lcbench"
    d.mkdir(parents=True)
    for f in ("model.onnx", "config_space.json", "encoding.json"):
        shutil.copy(shared_data / "yahpo_data" / "lcbench" / f, d)
    return d


@pytest.mark.parametrize("made", [True, False], ids=["empty-root", "no-root"])
def test_list_without_files_says_missing(tmp_path, monkeypatch, capsys, made):
    root = tmp_path / "data"
    if made:
        root.mkdir()
    rows = _list(monkeypatch, capsys, root)
    for b in FILE_BENCHMARKS:
        assert rows[b].startswith("missing: ") and "tasks available" not in rows[b], rows[b]
        assert f"`python -m lcsim.data download {b}`" in rows[b] and str(root) in rows[b], rows[b]
    assert rows["synthetic"].startswith("3 tasks available")


def test_every_command_list_names_exists(tmp_path, monkeypatch, capsys):
    """Each `python -m lcsim.data download X` that `list` prints is accepted by the download command."""
    rows = _list(monkeypatch, capsys, tmp_path)
    named = set(re.findall(r"`python -m lcsim\.data download (\w+)`", "\n".join(rows.values())))
    assert named == set(FILE_BENCHMARKS)
    from lcsim.benchmarks import download as dl

    seen = []
    monkeypatch.setattr(dl, "download", lambda benchmark, *a, **k: seen.append(benchmark) or [])
    for b in sorted(named):
        assert main(["download", b, "--dest", str(tmp_path / "d"), "--no-progress"]) == 0
    assert seen == sorted(named)


def test_list_names_truncated_json_and_keeps_intact_tasks(tmp_path, monkeypatch, capsys):
    root = tmp_path / "data"
    bad = write_dpl_json(root, "tiny")
    write_dpl_json(root, "tiny2")
    bad.write_bytes(bad.read_bytes()[: bad.stat().st_size // 2])
    monkeypatch.setenv("LCSIM_DATA", str(root))
    st = status_of("taskset")
    assert st.state == "corrupt" and st.tasks == ["tiny2"], st
    rows = _list(monkeypatch, capsys, root)
    assert rows["taskset"].startswith(f"corrupt: {bad}: truncated"), rows["taskset"]
    assert "`python -m lcsim.data download taskset --force`" in rows["taskset"]
    assert "(1 task of intact files available)" in rows["taskset"]


@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty"])
def test_list_names_corrupt_onnx(shared_data, tmp_path, monkeypatch, capsys, damage):
    d = _yahpo_copy(shared_data, tmp_path)
    model = d / "model.onnx"
    body = model.read_bytes()
    model.write_bytes({"truncated": body[: len(body) // 2], "garbage": b"not an onnx model\n" * 50,
                       "empty": b""}[damage])
    rows = _list(monkeypatch, capsys, tmp_path)
    assert rows["lcbench_yahpo"].startswith(f"corrupt: {model}: "), rows["lcbench_yahpo"]
    assert "`python -m lcsim.data download lcbench_yahpo --force`" in rows["lcbench_yahpo"]
    assert "available" not in rows["lcbench_yahpo"]


def test_list_intact_copy_of_real_data_is_available(shared_data, tmp_path, monkeypatch, capsys):
    _yahpo_copy(shared_data, tmp_path)
    assert _list(monkeypatch, capsys, tmp_path)["lcbench_yahpo"].startswith("34 tasks available")


def test_list_unreadable_folder_is_not_called_missing(tmp_path, monkeypatch, capsys, deny_read):
    """A chmod-000 ``dpl_json`` folder (simulated with ``deny_read``: the tests run as root) is named, not 'missing'."""
    root = tmp_path / "data"
    write_dpl_json(root, "tiny")
    folder = deny_read(root / "taskset" / "dpl_json")
    rows = _list(monkeypatch, capsys, root)
    assert rows["taskset"] == (f"unreadable: Permission denied: the folder {folder} is not readable by this user; "
                               "make it readable (e.g. `chmod -R a+rX` on it) or set LCSIM_DATA to a readable copy "
                               "of the data."), rows["taskset"]


def test_list_unreadable_root_reports_every_benchmark(tmp_path, monkeypatch, capsys, deny_read):
    root = tmp_path / "data"
    write_dpl_json(root, "tiny")
    deny_read(root)
    rows = _list(monkeypatch, capsys, root)
    for b in FILE_BENCHMARKS:
        assert rows[b].startswith(f"unreadable: Permission denied: the folder {root} is not readable"), rows[b]
    assert rows["embedded"].startswith("4 tasks available")


def test_list_permission_error_without_access_check_is_one_line(tmp_path, monkeypatch, capsys, deny_read):
    """Permissions that os.access does not see (ACLs, root squash) still give a status line, not a traceback."""
    root = tmp_path / "data"
    write_dpl_json(root, "tiny")
    deny_read(root)
    monkeypatch.setattr(os, "access", lambda *a, **k: True)
    rows = _list(monkeypatch, capsys, root)
    for b in FILE_BENCHMARKS:   # the folder that refuses entry is named, not a file below it
        assert rows[b].startswith(f"unreadable: Permission denied: the folder {root} is not readable"), rows[b]


def test_list_raw_lcbench_and_pd1_present_or_damaged(tmp_path, monkeypatch, capsys):
    """Raw LCBench/PD1 files name their tasks only inside: `list` says they are present without parsing them, and
    never lists file names as tasks; a zip or gzip that is not one is called corrupt."""
    root = tmp_path / "data"
    write_lcbench_raw(root / "lcbench" / "data_2k_lw.zip")
    write_pd1_raw(root / "pd1")
    rows = _list(monkeypatch, capsys, root)
    assert rows["lcbench"] == f"available (data_2k_lw.zip in {root / 'lcbench'}; the task names are read from the " \
                              "file on load)"
    assert rows["pd1"].startswith(f"available (4 raw files in {root / 'pd1'}")
    assert status_of("lcbench").tasks == [] and status_of("pd1").tasks == []
    (root / "lcbench" / "data_2k_lw.zip").write_bytes(b"PK\x03\x04 cut")
    gz = sorted((root / "pd1").glob("*.gz"))[0]
    gz.write_bytes(b"{not gzip}")
    rows = _list(monkeypatch, capsys, root)
    assert rows["lcbench"].startswith(f"corrupt: {root / 'lcbench' / 'data_2k_lw.zip'}: not a readable zip")
    assert "`python -m lcsim.data download lcbench --force`" in rows["lcbench"]
    assert rows["pd1"].startswith(f"corrupt: {gz}: not a gzip file") and "available" not in rows["pd1"]
