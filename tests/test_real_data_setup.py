"""README's test command in a fresh clone: ``../shared/data`` beside it, no LCSIM_DATA, no LCSIM_CACHE.

Each test builds that layout in a temporary folder (a clone holding ``pyproject.toml`` and the test files it runs,
``../shared/data`` a link to the real data) and runs pytest there in a fresh process, so module-scoped fixtures are
exercised exactly as in a real session.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TEST = "tests/test_surrogate_task.py::test_invalid_proposal_is_refused"   # needs a module-scoped real-data fixture


def _fresh_clone(tmp_path: Path, shared_data: Path | None) -> Path:
    clone = tmp_path / "clone"
    (clone / "tests").mkdir(parents=True)
    shutil.copy(REPO / "pyproject.toml", clone)
    for f in ("conftest.py", "test_surrogate_task.py"):
        shutil.copy(REPO / "tests" / f, clone / "tests")
    (tmp_path / "shared").mkdir()
    if shared_data is not None:
        (tmp_path / "shared" / "data").symlink_to(shared_data.resolve(), target_is_directory=True)
    return clone


def _pytest(clone: Path, tmp_path: Path, **env) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in ("LCSIM_DATA", "LCSIM_CACHE", "CI")}
    # the user dirs lcsim falls back to (platformdirs honours XDG_*): empty folders the test inspects afterwards
    base.update(XDG_DATA_HOME=str(tmp_path / "xdg-data"), XDG_CACHE_HOME=str(tmp_path / "xdg-cache"), **env)
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           f"--basetemp={tmp_path / 'bt'}", TEST], cwd=clone, env=base, capture_output=True,
                          text=True, timeout=300)


def test_readme_command_finds_shared_data_without_env(shared_data, tmp_path):
    clone = _fresh_clone(tmp_path, shared_data)
    r = _pytest(clone, tmp_path)
    assert r.returncode == 0 and "1 passed" in r.stdout, r.stdout[-3000:] + r.stderr[-2000:]
    # lcsim wrote nothing into the user data or cache dir (other libraries' files there are not lcsim's)
    assert not (tmp_path / "xdg-data" / "lcsim").exists() and not (tmp_path / "xdg-cache" / "lcsim").exists()


def test_missing_data_fails_where_it_should_be_present(tmp_path):
    clone = _fresh_clone(tmp_path, None)      # ../shared exists, ../shared/data does not
    r = _pytest(clone, tmp_path)
    assert r.returncode == 1, r.stdout[-3000:]
    assert "Real data not found" in r.stdout and "skipped" not in r.stdout, r.stdout[-3000:]
    r = _pytest(clone, tmp_path, LCSIM_DATA=str(tmp_path / "nowhere"))  # a named data root that is empty
    assert r.returncode == 1 and "skipped" not in r.stdout, r.stdout[-3000:]
