"""Shared fixtures: a tiny synthetic task for speed, and the real data in ../shared/data.

Real-data tests must never skip silently where the data should be: under CI (``CI`` set) a missing ``../shared/data``
fails the test; elsewhere it is a skip with the reason printed in the summary (``-ra``).
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("LCSIM_DATA", REPO.parent / "shared" / "data"))

os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real data root (``$LCSIM_DATA`` or ``../shared/data``)."""
    if not (SHARED_DATA / "taskset").is_dir():
        msg = (f"Real data not found at {SHARED_DATA}: set LCSIM_DATA to the shared data folder "
               "(taskset/dpl_json, yahpo_data/lcbench).")
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    return SHARED_DATA


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Every test gets a private LCSIM_CACHE so no test sees another's cache files."""
    monkeypatch.setenv("LCSIM_CACHE", str(tmp_path_factory.mktemp("lcsim-cache")))
    if (SHARED_DATA / "taskset").is_dir():
        monkeypatch.setenv("LCSIM_DATA", str(SHARED_DATA))


@pytest.fixture
def synth():
    from lcsim.testing.synthetic import synthetic_task

    return synthetic_task(n_configs=32, n_epochs=9, seed=3)
