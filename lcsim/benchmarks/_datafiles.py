"""Cheap checks of data files and folders, shared by the loaders and ``python -m lcsim.data list``.

Two questions are answered here, once:

* *Can this process read a path?* :func:`unreadable` walks from the filesystem root to the path with
  :func:`os.access` (a folder on the way must be enterable, the last one also listable, a file readable) and returns
  the first path that blocks, so a message names the folder whose permissions to fix, not a file below it.
  :func:`check_readable` raises :class:`~lcsim.errors.DataAccessError` for it; :func:`access_error` turns an
  :class:`OSError` caught while reading (permissions that :func:`os.access` cannot see, such as ACLs or a
  privileged user's view) into the same error.
* *Is a file plainly corrupt?* :func:`file_problem` reads at most a file's first and last bytes (ONNX: its top-level
  protobuf fields; zip/npz: the central directory) and returns what is wrong, or ``None``. It catches truncation and
  foreign files in milliseconds; damage deep inside a file is left to the parser, which raises
  :class:`~lcsim.errors.DataFormatError` on load.

Writing files (atomically) and checksums are :mod:`lcsim._files`'s.
"""
from __future__ import annotations

import errno
import os
import zipfile
from pathlib import Path

from ..errors import DataAccessError

__all__ = ["unreadable", "check_readable", "access_error", "file_problem", "onnx_problem", "READ_FIX"]

#: the fix for a data path that cannot be read
READ_FIX = "make it readable (e.g. `chmod -R a+rX` on it) or set LCSIM_DATA to a readable copy of the data"


def unreadable(path: str | os.PathLike) -> Path | None:
    """The first folder on the way to ``path``, or ``path`` itself, that this process cannot enter or read.

    ``None`` when ``path`` is readable or does not exist (a missing path is not a permission problem).
    """
    path = Path(path).absolute()
    for p in [*reversed(path.parents), path]:
        if not os.path.lexists(p):
            return None
        if os.path.isdir(p):
            need = os.R_OK | os.X_OK if p == path else os.X_OK
        else:
            need = os.R_OK
        if not os.access(p, need):
            return p
    return None


def _denied(path: Path, blocked: Path, fix: str) -> DataAccessError:
    try:
        what = "the folder" if blocked.is_dir() else "the file"
    except OSError:  # its parent cannot be entered either
        what = "the path"
    via = "" if blocked == path else f" (so {path} cannot be read)"
    return DataAccessError(f"Permission denied: {what} {blocked} is not readable by this user{via}; {fix}.")


def check_readable(path: str | os.PathLike, fix: str = READ_FIX) -> None:
    """Raise :class:`DataAccessError` naming the blocking path when ``path`` exists but cannot be read."""
    path = Path(path).absolute()
    blocked = unreadable(path)
    if blocked is not None:
        raise _denied(path, blocked, fix)


def _blocker(path: Path) -> Path:
    """The folder that cannot be entered on the way to ``path`` (the first whose child ``stat`` is refused), else
    ``path`` itself."""
    for p in [*reversed(path.parents), path][1:]:
        try:
            os.stat(p)
        except PermissionError:
            return p.parent
        except OSError:
            break
    return path


def access_error(exc: OSError, path: str | os.PathLike, fix: str = READ_FIX) -> DataAccessError:
    """The :class:`DataAccessError` for an :class:`OSError` raised while reading ``path``."""
    path = Path(path).absolute()
    if isinstance(exc, PermissionError) or exc.errno == errno.EACCES:
        return _denied(path, _blocker(Path(exc.filename).absolute() if exc.filename else path), fix)
    return DataAccessError(f"Cannot read {path}: {exc.strerror or exc}; {fix}.")


def _varint(data: bytes, i: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if i >= len(data):
            raise EOFError
        b = data[i]
        i += 1
        value |= (b & 0x7F) << shift
        if not b & 0x80:
            return value, i
        shift += 7
        if shift > 63:
            raise ValueError("varint longer than 10 bytes")


def onnx_problem(path: str | os.PathLike) -> str | None:
    """What is wrong with an ONNX file's top level, or ``None``.

    An ONNX model is a protobuf ``ModelProto``; its top level is a short run of (key, value) fields, the graph
    (field 7) one length-delimited field holding almost all bytes. Walking the keys and skipping the values finds a
    truncated file (a field running past the end) or a foreign one (an invalid wire type, no ``ir_version`` (field 1)
    or no graph) without parsing the graph.
    """
    data = Path(path).read_bytes()
    if not data:
        return "the file is empty"
    seen: set[int] = set()
    i = 0
    try:
        while i < len(data):
            key, i = _varint(data, i)
            field, wire = key >> 3, key & 7
            if field == 0 or wire not in (0, 1, 2, 5):
                return f"not an ONNX model (invalid protobuf key {key} at byte {i})"
            if wire == 0:
                _, i = _varint(data, i)
            elif wire == 2:
                n, i = _varint(data, i)
                i += n
            else:
                i += 8 if wire == 1 else 4
            if i > len(data):
                return f"truncated: field {field} runs past the end of the file ({len(data)} bytes)"
            seen.add(field)
    except EOFError:
        return f"truncated: the file ends inside a protobuf key ({len(data)} bytes)"
    except ValueError as exc:
        return f"not an ONNX model ({exc})"
    if 1 not in seen or 7 not in seen:
        return "not an ONNX model (no ir_version or no graph field)"
    return None


def _ends(path: Path, k: int = 64) -> tuple[bytes, bytes]:
    with open(path, "rb") as fh:
        head = fh.read(k)
        fh.seek(max(path.stat().st_size - k, 0))
        tail = fh.read(k)
    return head.lstrip(), tail.rstrip()


def file_problem(path: str | os.PathLike) -> str | None:
    """What is plainly wrong with a data file, judged by its suffix, or ``None`` (see the module docstring).

    ``.json``: it must start with ``[``/``{`` and end with the matching bracket (a truncated download does not);
    ``.onnx``: :func:`onnx_problem`; ``.zip``/``.npz``: the zip central directory must be readable; ``.gz``: the
    gzip magic bytes. Other files only need to be non-empty.

    Raises:
        OSError: the file cannot be opened (the caller reports permissions through :func:`access_error`).
    """
    path = Path(path)
    if path.stat().st_size == 0:
        return "the file is empty"
    name = path.name.lower()
    if name.endswith(".json"):
        head, tail = _ends(path)
        pairs = {b"[": b"]", b"{": b"}"}
        if head[:1] not in pairs:
            return "not a JSON list or object"
        if tail[-1:] != pairs[head[:1]]:
            return f"truncated: the JSON does not end with {pairs[head[:1]].decode()!r}"
        return None
    if name.endswith(".onnx"):
        return onnx_problem(path)
    if name.endswith((".zip", ".npz")):
        try:
            with zipfile.ZipFile(path):
                return None
        except zipfile.BadZipFile as exc:
            return f"not a readable zip archive ({exc}; truncated or corrupt)"
    if name.endswith(".gz"):
        with open(path, "rb") as fh:
            if fh.read(2) != b"\x1f\x8b":
                return "not a gzip file"
    return None
