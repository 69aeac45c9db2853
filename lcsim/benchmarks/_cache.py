"""Cache of parsed tasks: a source file is parsed once, later loads read lcsim's binary task format.

A cached task lives at ``cache_root()/tasks/<benchmark>/<task>__<options-hash>__<key-hash>.npz`` where the key hashes

* the sha256 checksum of every source file the task was built from,
* the loader options that change the result (e.g. ``filter="dpl"``, ``n_configs=2000``),
* the cache layout version :data:`CACHE_VERSION` and the task format version
  (:data:`lcsim.benchmarks._base.FORMAT_VERSION`).

So a changed source file, a changed option or a new lcsim format never serves a stale task. Files are written
atomically (temporary file + rename, :func:`lcsim._files.write_atomic`); an unreadable cache file (truncated,
foreign) is rebuilt from the sources; a failed build or write (a full disk, a read-only folder) leaves no cache file
behind and raises :class:`~lcsim.errors.DataAccessError` naming the fix. A cache root that is a file (or lies under
one) is refused before anything is parsed. The cache is never placed inside the data root (the data root may be
read-only and shared).

Loaders of every benchmark use the one function :func:`cached`::

    task = cached("taskset", name, {"filter": "dpl"}, [json_path], lambda: parse(json_path))

The task returned on a cold build is the one read back from the freshly written file, so a cold and a warm load
return bit-identical tasks (curves are stored as float32, see :meth:`Task.to_bytes`).
"""
from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import warnings
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from .._files import sha256_file
from ..errors import DataAccessError, DataFormatError, InvalidParameterError
from ._base import FORMAT_VERSION, Task
from ._datafiles import access_error

__all__ = ["CACHE_VERSION", "cached", "cache_path", "source_checksum", "clear_memo", "check_options"]

CACHE_VERSION = 1

# in-process memo of file checksums keyed by (path, size, mtime_ns): a warm load of 12 TaskSet files need not
# re-hash 37 MB in the same process; any change of size or modification time re-hashes.
_CHECKSUMS: dict[tuple[str, int, int], str] = {}


def clear_memo() -> None:
    """Forget the in-process checksum memo (tests use it to time a fresh-process warm load)."""
    _CHECKSUMS.clear()


def source_checksum(path: str | os.PathLike) -> str:
    """sha256 of a source file, memoized per (path, size, mtime) within the process."""
    p = Path(path)
    try:
        st = p.stat()
        key = (str(p.resolve()), st.st_size, st.st_mtime_ns)
        if key not in _CHECKSUMS:
            _CHECKSUMS[key] = sha256_file(p)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise access_error(exc, p) from exc
    return _CHECKSUMS[key]


def check_options(owner: str, options: Mapping, valid: Iterable[str]) -> None:
    """Raise :class:`InvalidParameterError` naming the valid options when ``options`` has an unknown key."""
    valid = list(valid)
    unknown = [k for k in options if k not in valid]
    if unknown:
        raise InvalidParameterError(f"Unknown option(s) {unknown} for {owner}; valid options: {valid}.")


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", str(name))


def _hash(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()


def _check_not_in_data_root(cache: Path) -> None:
    from . import data_root

    try:
        data = data_root().resolve()
    except OSError:  # pragma: no cover - unresolvable data root cannot contain the cache
        return
    c = cache.resolve()
    if c == data or data in c.parents:
        raise InvalidParameterError(
            f"The cache directory {c} lies inside the data root {data}; lcsim never writes into the data root. "
            "Set LCSIM_CACHE to a directory outside it.")


_CACHE_FIX = "set LCSIM_CACHE to a writable folder, or load with cache=False"


def _check_cache_root(root: Path) -> None:
    """Refuse a cache root that is a file or lies under one (it could never hold a cache entry)."""
    p = root
    while not os.path.lexists(p) and p != p.parent:
        p = p.parent
    if not p.is_dir():
        raise DataAccessError(f"The cache folder {root} cannot be created: {p} is a file, not a folder; "
                              f"{_CACHE_FIX}.")


def _write_error(exc: OSError, path: Path) -> DataAccessError:
    """The one-line error for a cache entry that could not be written (nothing of it is left behind)."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        why = "no space left on the device (or quota exceeded)"
        fix = "free some space, " + _CACHE_FIX.replace("a writable folder", "a folder on another disk")
    elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        why, fix = "permission denied (or a read-only file system)", _CACHE_FIX
    else:
        why, fix = exc.strerror or str(exc), _CACHE_FIX
    return DataAccessError(f"Cannot write the cache entry {path}: {why}; nothing was written; {fix}.")


def cache_path(benchmark: str, task: str, options: Mapping, sources: Iterable[str | os.PathLike]) -> Path:
    """Where the cached task for these sources and options lives (the file may not exist)."""
    from . import cache_root

    root = cache_root()
    _check_not_in_data_root(root)
    _check_cache_root(root)
    opt_hash = _hash({"options": dict(options), "cache": CACHE_VERSION, "format": FORMAT_VERSION})[:12]
    src = [source_checksum(s) for s in sources]
    key = _hash({"benchmark": benchmark, "task": task, "opt": opt_hash, "sources": src})[:16]
    return root / "tasks" / _safe(benchmark) / f"{_safe(task)}__{opt_hash}__{key}.npz"


def cached(benchmark: str, task: str, options: Mapping, sources: Iterable[str | os.PathLike],
           build: Callable[[], Task], use_cache: bool = True) -> Task:
    """Return the task built by ``build()``, through the parsed-task cache.

    Args:
        benchmark: benchmark name (first cache sub-directory).
        task: task name.
        options: loader options that change the result; JSON-serializable values.
        sources: the source files the task is built from; their sha256 checksums are part of the key.
        build: zero-argument function that parses the sources and returns the :class:`Task`.
        use_cache: ``False`` bypasses the cache (neither reads nor writes) and returns the source's float64
            values; a cached task holds them rounded to float32 (relative difference below 6e-8).

    Returns:
        The task, read back from the cache file (also right after a cold build).

    Raises:
        DataAccessError: the cache root is a file, or the entry cannot be written (full disk, permissions).
    """
    sources = [Path(s) for s in sources]
    if not use_cache:
        return build()
    path = cache_path(benchmark, task, options, sources)
    if path.is_file():
        try:
            return Task.from_file(path)
        except DataFormatError as exc:
            warnings.warn(f"Rebuilding unreadable cache file {path}: {exc}", RuntimeWarning, stacklevel=2)
    built = build()
    built.extra = dict(built.extra, cache_key=path.stem)
    try:
        built.save(path)  # write_atomic: a failed write removes its temporary file, the entry never exists half
    except OSError as exc:
        raise _write_error(exc, path) from exc
    # drop stale siblings: same task and options, other source checksums
    prefix = path.name.rsplit("__", 1)[0] + "__"
    for old in path.parent.glob(prefix + "*.npz"):
        if old != path:
            try:
                old.unlink()
            except OSError:  # pragma: no cover - another process removed it
                pass
    return Task.from_file(path)
