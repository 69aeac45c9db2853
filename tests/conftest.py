"""Shared fixtures: a tiny synthetic task for speed, and the real data in ../shared/data.

The real data root is ``$LCSIM_DATA`` or, unset, ``../shared/data`` beside the clone (README's test command needs no
environment variable). Real-data tests never skip where the data should be: when ``LCSIM_DATA`` is set, ``CI`` is
set or a ``../shared`` folder sits beside the clone, missing data fail the test; only a clone with none of these skips
them, with the reason printed in the summary (``-ra``).

``LCSIM_DATA`` and a private ``LCSIM_CACHE`` are set for the whole session (so module- and session-scoped fixtures,
which pytest builds before any function-scoped fixture, read the shared data and never write the user's cache), and
again per test (so no test sees another's cache files).
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
_ENV_DATA = os.environ.get("LCSIM_DATA")
SHARED_DATA = Path(_ENV_DATA).expanduser() if _ENV_DATA else REPO.parent / "shared" / "data"
#: the folders the real-data tests read
REQUIRED = ("taskset/dpl_json", "yahpo_data/lcbench")
#: where the data should be present, a missing folder is a failure, not a skip
DATA_EXPECTED = bool(_ENV_DATA or os.environ.get("CI") or (REPO.parent / "shared").is_dir())

os.environ.setdefault("MPLBACKEND", "Agg")


def _data_present() -> bool:
    return all((SHARED_DATA / r).is_dir() for r in REQUIRED)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real data root (``$LCSIM_DATA`` or ``../shared/data``)."""
    if not _data_present():
        missing = [r for r in REQUIRED if not (SHARED_DATA / r).is_dir()]
        msg = (f"Real data not found at {SHARED_DATA} (missing {missing}): set LCSIM_DATA to the shared data folder "
               "or place it at ../shared/data beside the clone.")
        if DATA_EXPECTED:
            pytest.fail(msg)
        pytest.skip(msg)
    return SHARED_DATA


def _set_env(mp: pytest.MonkeyPatch, cache: Path) -> None:
    mp.setenv("LCSIM_CACHE", str(cache))
    if _data_present():
        mp.setenv("LCSIM_DATA", str(SHARED_DATA))


@pytest.fixture(scope="session", autouse=True)
def _session_env(tmp_path_factory):
    """LCSIM_DATA and LCSIM_CACHE for everything built before the per-test fixture below (module/session scope)."""
    with pytest.MonkeyPatch.context() as mp:
        _set_env(mp, tmp_path_factory.mktemp("lcsim-session-cache"))
        yield


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Every test gets a private LCSIM_CACHE so no test sees another's cache files."""
    _set_env(monkeypatch, tmp_path_factory.mktemp("lcsim-cache"))


@pytest.fixture
def synth():
    from lcsim.benchmarks.synthetic import synthetic_task

    return synthetic_task(n_configs=32, n_epochs=9, seed=3)
