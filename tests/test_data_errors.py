"""Broken data, cache and disk: each gives one lcsim error naming the cause and the fix, never a traceback.

Unreadable files are simulated with the ``deny_read`` fixture (patched ``os.access``/``open``/``stat``, see
``conftest.py``): the tests run as root, for whom ``chmod 000`` does not stop reads. A full disk is simulated by a
write that stores half its bytes and then fails with ``ENOSPC``.
"""
from __future__ import annotations

import builtins
import errno
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from lcsim import benchmarks
from lcsim.benchmarks.yahpo import YahpoLCBenchSurrogate
from lcsim.data import main
from lcsim.errors import DataAccessError, DataFormatError
from lcsim.testing.taskset_files import write_dpl_json

REDOWNLOAD_YAHPO = "`python -m lcsim.data download lcbench_yahpo --force`"


def _files(d: Path) -> list[Path]:
    return sorted(p for p in d.rglob("*") if p.is_file()) if d.exists() else []


def _cli_error(capsys, argv) -> str:
    """Run ``python -m lcsim.data ARGV``; it must exit 2 with exactly one line on stderr, returned."""
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and "Traceback" not in err, err
    return err


# ---------------------------------------------------------------- YAHPO model.onnx
@pytest.fixture
def yahpo_copy(shared_data, tmp_path, monkeypatch):
    d = tmp_path / "data" / "yahpo_data" / "lcbench"
    d.mkdir(parents=True)
    for f in ("model.onnx", "config_space.json", "encoding.json"):
        shutil.copy(shared_data / "yahpo_data" / "lcbench" / f, d)
    monkeypatch.setenv("LCSIM_DATA", str(tmp_path / "data"))
    return d


def _varint(n: int) -> bytes:
    out = b""
    while True:
        out += bytes([(n & 0x7F) | (0x80 if n > 0x7F else 0)])
        n >>= 7
        if not n:
            return out


@pytest.mark.parametrize("damage", ["truncated", "garbage", "bad-graph"])
def test_corrupt_onnx_is_one_format_error(yahpo_copy, tmp_path, monkeypatch, capsys, damage):
    model = yahpo_copy / "model.onnx"
    body = model.read_bytes()
    graph = b"\x01\x02 this is not a GraphProto \xff\xff\xff"
    model.write_bytes({"truncated": body[: len(body) // 2], "garbage": bytes(range(256)) * 16,
                       # well-formed top level (ir_version 7, a graph field) whose graph onnxruntime rejects
                       "bad-graph": b"\x08\x07" + b"\x3a" + _varint(len(graph)) + graph}[damage])
    with pytest.raises(DataFormatError, match=f"{model}: .*corrupt. Run {REDOWNLOAD_YAHPO}"):
        YahpoLCBenchSurrogate(yahpo_copy)
    cache = tmp_path / "cache"
    monkeypatch.setenv("LCSIM_CACHE", str(cache))
    with pytest.raises(DataFormatError, match="model.onnx"):
        benchmarks.load("lcbench_yahpo", "3945", n_configs=3)
    assert _files(cache) == []
    assert str(model) in _cli_error(capsys, ["info", "lcbench_yahpo", "3945", "-o", "n_configs=3"])


def test_corrupt_surrogate_json_names_the_file(yahpo_copy):
    enc = yahpo_copy / "encoding.json"
    enc.write_bytes(enc.read_bytes()[:100])
    with pytest.raises(DataFormatError, match=f"{enc}: not a yahpo encoding file .*{REDOWNLOAD_YAHPO}"):
        YahpoLCBenchSurrogate(yahpo_copy)


# ---------------------------------------------------------------- unreadable TaskSet json
@pytest.fixture
def tiny(tmp_path, monkeypatch):
    path = write_dpl_json(tmp_path / "data", "tiny")
    monkeypatch.setenv("LCSIM_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("LCSIM_CACHE", str(tmp_path / "cache"))
    return path


def test_unreadable_json_is_one_access_error(tiny, tmp_path, capsys, deny_read):
    deny_read(tiny)
    with pytest.raises(DataAccessError, match=f"Permission denied: the file {tiny} is not readable by this user; "
                                              r"make it readable \(e.g. `chmod -R a\+rX` on it\)"):
        benchmarks.load("taskset", "tiny")
    assert _files(tmp_path / "cache") == []
    assert str(tiny) in _cli_error(capsys, ["info", "taskset", "tiny"])


def test_permission_error_on_open_is_one_access_error(tiny, monkeypatch, capsys):
    """Where ``os.access`` says yes but ``open`` is refused (ACLs, root-squashed NFS), the error is the same."""
    real_open = builtins.open

    def refuse(p, *a, **k):
        if not isinstance(p, int) and Path(os.fspath(p)).absolute() == tiny.absolute():
            raise PermissionError(errno.EACCES, "Permission denied", os.fspath(p))
        return real_open(p, *a, **k)

    monkeypatch.setattr(builtins, "open", refuse)
    with pytest.raises(DataAccessError, match=f"the file {tiny} is not readable"):
        benchmarks.load("taskset", "tiny")
    with pytest.raises(DataAccessError, match=f"the file {tiny} is not readable"):
        benchmarks.load("taskset", "tiny", cache=False)     # the parser's own open


# ---------------------------------------------------------------- the cache folder
@pytest.mark.parametrize("where", ["is-a-file", "under-a-file"])
def test_cache_root_that_is_a_file_is_refused_before_parsing(tiny, tmp_path, monkeypatch, capsys, where):
    f = tmp_path / "not-a-dir"
    f.write_text("x")
    monkeypatch.setenv("LCSIM_CACHE", str(f if where == "is-a-file" else f / "cache"))
    from lcsim.benchmarks import taskset

    monkeypatch.setattr(taskset, "parse_dpl_json", lambda p: pytest.fail("parsed before the cache was checked"))
    with pytest.raises(DataAccessError, match=f"{f} is a file, not a folder; set LCSIM_CACHE to a writable folder, "
                                              "or load with cache=False"):
        benchmarks.load("taskset", "tiny")
    assert "LCSIM_CACHE" in _cli_error(capsys, ["info", "taskset", "tiny"])
    assert f.read_text() == "x"


def test_full_disk_leaves_no_partial_cache_entry(tiny, tmp_path, monkeypatch, capsys):
    real_fdopen = os.fdopen

    class HalfThenFull:
        """A file whose write stores half the bytes, then fails as a full disk does."""

        def __init__(self, fh):
            self.fh = fh

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.fh.close()

        def write(self, data):
            self.fh.write(data[: len(data) // 2])
            self.fh.flush()
            raise OSError(errno.ENOSPC, "No space left on device")

        def __getattr__(self, name):
            return getattr(self.fh, name)

    monkeypatch.setattr(os, "fdopen", lambda fd, *a, **k: HalfThenFull(real_fdopen(fd, *a, **k)))
    with pytest.raises(DataAccessError, match="no space left on the device .*nothing was written; free some space, "
                                              "set LCSIM_CACHE to a folder on another disk, or load with cache=False"):
        benchmarks.load("taskset", "tiny")
    cache = tmp_path / "cache"
    assert _files(cache) == []                         # neither the entry nor its temporary file
    assert "no space left" in _cli_error(capsys, ["info", "taskset", "tiny"])
    monkeypatch.setattr(os, "fdopen", real_fdopen)
    t = benchmarks.load("taskset", "tiny")             # with space again: one complete entry
    assert [p.suffix for p in _files(cache)] == [".npz"]
    np.testing.assert_allclose(t.curves, benchmarks.load("taskset", "tiny", cache=False).curves, rtol=6e-8)


def test_atomic_writes_get_the_mode_open_would_give(tmp_path):
    """write_atomic's result is readable as a plain open() would make it (0666 minus the umask), not mkstemp's 0600;
    checked with two umasks."""
    import os
    import stat

    from lcsim._files import write_atomic

    old = os.umask(0o022)
    try:
        for mask in (0o022, 0o077):
            os.umask(mask)
            f = tmp_path / f"out_{mask:o}.bin"
            write_atomic(f, b"x")
            assert stat.S_IMODE(f.stat().st_mode) == 0o666 & ~mask and f.read_bytes() == b"x"
    finally:
        os.umask(old)
