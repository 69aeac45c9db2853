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
def deny_read(monkeypatch):
    """``deny_read(path)`` makes ``path`` behave as after ``chmod 000`` for an unprivileged user.

    The tests run as root here, for whom ``chmod 000`` changes nothing, so the file-system calls are patched instead:
    ``os.access`` answers no for ``path`` and below; ``os.scandir``/``os.listdir`` of ``path`` or below, ``os.stat``/
    ``os.lstat`` of anything strictly below it and ``open`` of ``path`` or below raise ``PermissionError`` (EACCES),
    as the kernel does. Paths elsewhere are untouched.
    """
    import builtins
    import errno

    denied: list[Path] = []

    def hit(p, strict: bool = False) -> bool:
        if isinstance(p, int):
            return False
        q = Path(os.fspath(p)).absolute()
        return any(q != d and d in q.parents if strict else q == d or d in q.parents for d in denied)

    def refuse(p):
        raise PermissionError(errno.EACCES, "Permission denied", os.fspath(p))

    def wrap(real, strict=False):
        def fake(p=".", *a, **k):
            if hit(p, strict):
                refuse(p)
            return real(p, *a, **k)
        return fake

    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **k: False if hit(p) else real_access(p, mode, **k))
    for name in ("scandir", "listdir"):
        monkeypatch.setattr(os, name, wrap(getattr(os, name)))
    for name in ("stat", "lstat"):
        monkeypatch.setattr(os, name, wrap(getattr(os, name), strict=True))
    monkeypatch.setattr(builtins, "open", wrap(builtins.open))
    import io

    monkeypatch.setattr(io, "open", wrap(io.open))

    def deny(path) -> Path:
        denied.append(Path(path).absolute())
        return Path(path)
    return deny


@pytest.fixture
def synth():
    from lcsim.benchmarks.synthetic import synthetic_task

    return synthetic_task(n_configs=32, n_epochs=9, seed=3)


@pytest.fixture
def record_asks():
    """``record_asks(optimizer) -> list``: wraps ``optimizer.ask`` so every job it hands out is appended to the list
    (the order the engine asked for them)."""
    def wrap(optimizer) -> list:
        asked, ask = [], optimizer.ask

        def recording_ask():
            job = ask()
            if job is not None:
                asked.append(job)
            return job

        optimizer.ask = recording_ask
        return asked

    return wrap
