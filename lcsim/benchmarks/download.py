"""``python -m lcsim.data download {lcbench,lcbench_yahpo,pd1,taskset}``: fetch, verify and unpack the official files.

Each file is streamed to ``<dest>/.downloads/<name>.part`` (resumed with an HTTP ``Range`` request when a previous
transfer was cut off), verified, renamed atomically, then unpacked into the layout lcsim's loaders read::

    <dest>/lcbench/data_2k_lw.json          (and data_2k.json with --full)
    <dest>/pd1/pd1_{matched,unmatched}_phase{0,1}_results.jsonl.gz
    <dest>/taskset/dpl_json/<task>.json     (12 files + LICENSE)
    <dest>/yahpo_data/lcbench/model.onnx    (+ config_space.json, encoding.json, README.txt, LICENSE-2.0.txt)

``<dest>`` defaults to the data root (``$LCSIM_DATA`` or the user data directory). A file that fails verification
is deleted, so nothing unverified is ever left in the data root.

Verification per source (see :data:`SOURCES`):

* PD1 ``pd1.tar.gz`` -- md5 ``e04c789cff8d5ddc9f2301e2ac02d0e3`` (published with the data).
* TaskSet -- sha256 and size of each of the 12 json files of the DPL code release
  (github.com/machinelearningnuremberg/DPL, commit de44b74, ``data/taskset/``), computed from those blobs.
* YAHPO-LCBench surrogate -- sha256 and size of the five files of YAHPO Gym's data release 1.0.2
  (github.com/slds-lmu/yahpo_data, commit efdab90, ``lcbench/``), computed from those blobs. Only the files lcsim
  reads and the licence are fetched, into ``yahpo_data/lcbench/`` (the folder layout yahpo-gym itself reads).
* LCBench ``data_2k_lw.zip`` / ``data_2k.zip`` (figshare files 21188598 / 21188607) -- figshare publishes no
  checksum that lcsim could find, so they are checked for the byte count the server announced (``Content-Length``)
  and for zip integrity (every member's CRC-32, :meth:`zipfile.ZipFile.testzip`) before unpacking.

Licences: LCBench Apache-2.0, PD1 CC-BY 4.0, TaskSet (DPL release) Apache-2.0, YAHPO data Apache-2.0.
"""
from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import shutil
import socket
import sys
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from ..errors import DataFormatError, LcsimError, check_choice, check_int

__all__ = ["Resource", "SOURCES", "download", "fetch", "main", "ChecksumError", "DownloadError"]


class ChecksumError(DataFormatError):
    """A downloaded file does not match its published checksum / size (it has been deleted)."""


class DownloadError(LcsimError, OSError):
    """A transfer failed (network error or cut connection); the partial file is kept for resuming."""


@dataclass(frozen=True)
class Resource:
    """One downloadable file.

    Attributes:
        url: where to fetch it.
        filename: the file's name in the download directory.
        target: folder under the data root that receives it (``kind == "file"``) or its unpacked members.
        kind: ``"file"`` (placed as is), ``"zip"`` (json members flattened into ``target``) or ``"tar"``
            (members unpacked under ``target``, a leading folder of the same name stripped).
        md5, sha256: published checksums (hex), when known.
        size: exact byte size, when known.
        extra: only fetched on request (``--full``).
    """

    url: str
    filename: str
    target: str
    kind: str = "file"
    md5: str | None = None
    sha256: str | None = None
    size: int | None = None
    extra: bool = False


_DPL = "https://raw.githubusercontent.com/machinelearningnuremberg/DPL/de44b74030a7d4bb37467add431e6fac19cd357a/data/taskset"
_TASKSET_FILES = {  # name -> (sha256, size), from the DPL release blobs
    "FixedTextRNNClassification_imdb_patch128_LSTM128_avg_bs64.json":
        ("5f5a332e45231a5639d43ff35ffac6bba28836593953a428dc0b508f8d4ea264", 3213812),
    "FixedTextRNNClassification_imdb_patch128_LSTM128_bs64.json":
        ("c52d49dfb308cfca66c02f67f89aa880ccb9f04c38ace31e18db1e58898e8c03", 3176320),
    "FixedTextRNNClassification_imdb_patch128_LSTM128_embed128_bs64.json":
        ("cf04eeed0cf4f4950666841756d9988d4d529c8aebd433c0303464cfec5a4e2d", 3230232),
    "FixedTextRNNClassification_imdb_patch32_GRU128_bs128.json":
        ("3f72bcc5688c429e8b204029afa8a115a1233d304808efbc6290fcc6d530551c", 3359039),
    "FixedTextRNNClassification_imdb_patch32_GRU64_avg_bs128.json":
        ("d3650db950bf292d52972db69fe3bfd7d2588d68b7b40f5c496977e8ebab11bc", 3365837),
    "FixedTextRNNClassification_imdb_patch32_IRNN64_relu_avg_bs128.json":
        ("5ae8c7fbea5f4fa5a63920767be50467bcf1647421d8b64595a5420fc1c4b7b2", 2869772),
    "FixedTextRNNClassification_imdb_patch32_IRNN64_relu_last_bs128.json":
        ("2e82adc0fed36722e6ef38e4a3ab54d77e8495ce7482f35389000e29da5ac010", 2841114),
    "FixedTextRNNClassification_imdb_patch32_LSTM128_E128_bs128.json":
        ("11891b4d02be630145f4ff6537bc77c2d83f517a448f1bd3c181fa67ebc59c07", 3377651),
    "FixedTextRNNClassification_imdb_patch32_LSTM128_bs128.json":
        ("08a52b1102b6b010ece9fa5549b2b16b0e782aca3fbd8119b4c0447fa9d72558", 3373258),
    "FixedTextRNNClassification_imdb_patch32_VRNN128_tanh_bs128.json":
        ("838d8716451d0ce1626450739d68d3e26561f0b5891bd939e07a7bf2e438eb2b", 3373559),
    "FixedTextRNNClassification_imdb_patch32_VRNN64_relu_avg_bs128.json":
        ("e48a689597342aec59c60ed94f58cff5d874bff581642f7f6662fea874b1b1b1", 3008500),
    "FixedTextRNNClassification_imdb_patch32_VRNN64_tanh_avg_bs128.json":
        ("b81762ce3cc0e56e0146853abc809189a3eff1c756cf7a9c4bdb1f64c79084c5", 3381410),
}

_YAHPO = "https://raw.githubusercontent.com/slds-lmu/yahpo_data/efdab9072f63bd680396cd4b78b927c4a0caaad3/lcbench"
_YAHPO_FILES = {  # name -> (sha256, size), from the yahpo_data 1.0.2 blobs
    "model.onnx": ("b45c0d85ae39abf8820c8bea5ac82f415763afcbaf3b725e36af452b09cb6dcd", 2153124),
    "config_space.json": ("4d1c78a91429b4a37628e13f286cf1abe15f778a09722a4c01714f2d72a8200d", 2151),
    "encoding.json": ("d8af928f412bbeb07e58ecd69877fcab35fbc595333d1c1c3f76120d2f2508da", 507),
    "README.txt": ("95abb5d7b8f7e21b32429cba85c74b57e59d5493689429beb336faa1388f0c08", 180),
    "LICENSE-2.0.txt": ("cfc7749b96f63bd31c3c42b5c471bf756814053e847c10f3eb003417bc523d30", 11358),
}

#: benchmark -> files; override with the ``sources`` argument of :func:`download` / :func:`main` (tests, mirrors).
SOURCES: dict[str, list[Resource]] = {
    "lcbench": [
        Resource("https://figshare.com/ndownloader/files/21188598", "data_2k_lw.zip", "lcbench", "zip"),
        Resource("https://figshare.com/ndownloader/files/21188607", "data_2k.zip", "lcbench", "zip", extra=True),
    ],
    "pd1": [
        Resource("https://storage.googleapis.com/gresearch/pint/pd1.tar.gz", "pd1.tar.gz", "pd1", "tar",
                 md5="e04c789cff8d5ddc9f2301e2ac02d0e3"),
    ],
    "taskset": [Resource(f"{_DPL}/{n}", n, "taskset/dpl_json", "file", sha256=h, size=s)
                for n, (h, s) in _TASKSET_FILES.items()]
    + [Resource("https://raw.githubusercontent.com/machinelearningnuremberg/DPL/"
                "de44b74030a7d4bb37467add431e6fac19cd357a/LICENSE", "LICENSE", "taskset/dpl_json", "file",
                sha256="c71d239df91726fc519c6eb72d318ec65820627232b2f796219e87dcf35d0ab4", size=11357)],
    "lcbench_yahpo": [Resource(f"{_YAHPO}/{n}", n, "yahpo_data/lcbench", "file", sha256=h, size=s)
                      for n, (h, s) in _YAHPO_FILES.items()],
}

MANIFEST = ".lcsim-download.json"
_CHUNK = 1 << 20
_NET_ERRORS = (urllib.error.URLError, http.client.HTTPException, ConnectionError, TimeoutError, socket.timeout,
               OSError)


def _progress(total, initial, desc, enabled):
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, unit="B", unit_scale=True, unit_divisor=1024, desc=desc,
                disable=not enabled, leave=False)


def fetch(res: Resource, workdir: str | os.PathLike, progress: bool = True, retries: int = 3,
          timeout: float = 60.0) -> Path:
    """Download ``res`` into ``workdir`` (resuming ``<filename>.part``), verify it and return the verified file.

    Raises:
        DownloadError: the transfer failed ``retries + 1`` times; the ``.part`` file stays for the next resume.
        ChecksumError: size or checksum mismatch; the file has been deleted.
    """
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    part = workdir / f"{res.filename}.part"
    final = workdir / res.filename
    announced: int | None = None
    failures = 0
    while True:
        offset = part.stat().st_size if part.exists() else 0
        req = urllib.request.Request(res.url, headers={"User-Agent": "lcsim-download/1"})
        if offset:
            req.add_header("Range", f"bytes={offset}-")
        try:
            try:
                resp = urllib.request.urlopen(req, timeout=timeout)
            except urllib.error.HTTPError as exc:
                if exc.code == 416 and offset:  # nothing left to send: the .part is complete (or wrong)
                    exc.close()
                    break
                raise DownloadError(f"HTTP {exc.code} {exc.reason} for {res.url}.") from exc
            with resp:
                status = getattr(resp, "status", 200)
                length = resp.headers.get("Content-Length")
                mode = "ab"
                if offset and status != 206:  # server ignored Range: start over
                    offset, mode = 0, "wb"
                elif not offset:
                    mode = "wb"
                if length is not None:
                    announced = offset + int(length)
                with open(part, mode) as fh, _progress(announced or res.size, offset, res.filename, progress) as bar:
                    while True:
                        block = resp.read(_CHUNK)
                        if not block:
                            break
                        fh.write(block)
                        bar.update(len(block))
            got = part.stat().st_size
            if announced is not None and got < announced:
                raise http.client.IncompleteRead(b"", announced - got)
            break
        except DownloadError:
            raise
        except _NET_ERRORS as exc:
            failures += 1
            if failures > retries:
                have = part.stat().st_size if part.exists() else 0
                raise DownloadError(
                    f"Download of {res.url} failed ({type(exc).__name__}: {exc}) after {failures} attempts; "
                    f"{have} bytes kept in {part}. Run the same command again to resume.") from exc
            time.sleep(min(0.2 * failures, 2.0))
    _verify(part, res, announced)
    os.replace(part, final)
    return final


def _hash(path: Path, algo: str) -> str:
    h = hashlib.new(algo)
    with open(path, "rb") as fh:
        while block := fh.read(_CHUNK):
            h.update(block)
    return h.hexdigest()


def _verify(path: Path, res: Resource, announced: int | None) -> None:
    size = path.stat().st_size
    problems = []
    if res.size is not None and size != res.size:
        problems.append(f"size {size} B, expected {res.size} B")
    if announced is not None and size != announced:
        problems.append(f"size {size} B, server announced {announced} B")
    if res.md5 and not problems and (got := _hash(path, "md5")) != res.md5.lower():
        problems.append(f"md5 {got}, expected {res.md5}")
    if res.sha256 and not problems and (got := _hash(path, "sha256")) != res.sha256.lower():
        problems.append(f"sha256 {got}, expected {res.sha256}")
    if not problems and res.kind == "zip":
        try:
            with zipfile.ZipFile(path) as zf:
                bad = zf.testzip()
            if bad is not None:
                problems.append(f"zip member {bad!r} fails its CRC check")
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
            problems.append(f"not a readable zip ({type(exc).__name__}: {exc})")
    if not problems and res.kind == "tar":
        try:
            with tarfile.open(path) as tf:
                tf.getmembers()
        except (tarfile.TarError, zlib.error, OSError, EOFError) as exc:
            problems.append(f"not a readable tar archive ({exc})")
    if problems:
        path.unlink(missing_ok=True)
        raise ChecksumError(f"{res.filename} from {res.url} failed verification: {'; '.join(problems)}. The file "
                            "was deleted; run the download again (a mirror may be serving a different file).")


def _install(archive: Path, res: Resource, dest: Path) -> list[Path]:
    """Move or unpack a verified file into ``dest/res.target`` (per-file atomic renames); return installed paths."""
    target = dest / res.target
    target.mkdir(parents=True, exist_ok=True)
    if res.kind == "file":
        out = target / res.filename
        os.replace(archive, out)
        return [out]
    staging = Path(tempfile.mkdtemp(prefix=".unpack-", dir=dest))
    try:
        moves: list[tuple[Path, Path]] = []
        if res.kind == "zip":
            with zipfile.ZipFile(archive) as zf:
                for m in zf.namelist():
                    if m.endswith(".json") and not m.startswith("__MACOSX") and not m.endswith("/"):
                        src = Path(zf.extract(m, staging))
                        moves.append((src, target / Path(m).name))
        elif res.kind == "tar":
            with tarfile.open(archive) as tf:
                kwargs = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
                tf.extractall(staging, **kwargs)
            for src in sorted(p for p in staging.rglob("*") if p.is_file()):
                rel = src.relative_to(staging)
                if rel.parts[0] == Path(res.target).name and len(rel.parts) > 1:
                    rel = Path(*rel.parts[1:])
                moves.append((src, target / rel))
        else:
            raise DataFormatError(f"Unknown resource kind {res.kind!r}; valid: 'file', 'zip', 'tar'.")
        if not moves:
            raise DataFormatError(f"{archive.name} holds no files lcsim can use.")
        for src, dst in moves:
            dst.parent.mkdir(parents=True, exist_ok=True)
            os.replace(src, dst)
        archive.unlink(missing_ok=True)
        return [dst for _, dst in moves]
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _manifest(target: Path) -> dict:
    try:
        return json.loads((target / MANIFEST).read_text())
    except (OSError, json.JSONDecodeError):
        return {}


def download(benchmark: str, dest: str | os.PathLike | None = None, sources: Mapping[str, Sequence[Resource]] | None
             = None, full: bool = False, force: bool = False, progress: bool = True, retries: int = 3,
             timeout: float = 60.0) -> list[Path]:
    """Download, verify and unpack one benchmark's files; return the installed paths.

    Files already installed by an earlier run (recorded in ``<target>/.lcsim-download.json`` and still present)
    are skipped unless ``force``.
    """
    table = SOURCES if sources is None else sources
    check_choice("download", "benchmark", benchmark, list(table))
    retries = check_int("download", "retries", retries, 0)
    if dest is None:
        from . import data_root

        dest = data_root()
    dest = Path(dest).expanduser()
    dest.mkdir(parents=True, exist_ok=True)
    workdir = dest / ".downloads"
    installed: list[Path] = []
    for res in table[benchmark]:
        if res.extra and not full:
            continue
        target = dest / res.target
        done = _manifest(target).get(res.filename)
        if not force and done and done.get("url") == res.url and all((dest / p).exists() for p in done["files"]):
            installed += [dest / p for p in done["files"]]
            print(f"{res.filename}: already installed in {target}", file=sys.stderr)
            continue
        archive = fetch(res, workdir, progress=progress, retries=retries, timeout=timeout)
        paths = _install(archive, res, dest)
        man = _manifest(target)
        man[res.filename] = {**asdict(res), "files": [str(p.relative_to(dest)) for p in paths],
                             "installed": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        from .._files import write_atomic

        write_atomic(target / MANIFEST, json.dumps(man, indent=1).encode())
        installed += paths
        print(f"{res.filename}: installed {len(paths)} file(s) in {target}", file=sys.stderr)
    try:
        workdir.rmdir()
    except OSError:
        pass
    return installed


def main(argv: Sequence[str] | None = None, sources: Mapping[str, Sequence[Resource]] | None = None) -> int:
    """Command line: ``download {lcbench,lcbench_yahpo,pd1,taskset} [--dest DIR] [--full] [--force] [--no-progress]``.

    Returns the exit status: 0 on success, 2 with the one-line error printed on failure (as for a usage error).
    """
    table = SOURCES if sources is None else sources
    p = argparse.ArgumentParser(prog="python -m lcsim.data download",
                                description="Download, verify and unpack a benchmark's official files.")
    p.add_argument("benchmark", choices=sorted(table))
    p.add_argument("--dest", default=None, help="data root to fill (default: $LCSIM_DATA or the user data dir)")
    p.add_argument("--full", action="store_true", help="LCBench: also fetch the full data_2k.zip")
    p.add_argument("--force", action="store_true", help="download again even if installed")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--retries", type=int, default=3, help="resume attempts after a cut connection (default 3)")
    p.add_argument("--timeout", type=float, default=60.0, help="socket timeout in seconds (default 60)")
    args = p.parse_args(argv)
    try:
        paths = download(args.benchmark, args.dest, table, full=args.full, force=args.force,
                         progress=not args.no_progress, retries=args.retries, timeout=args.timeout)
    except LcsimError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # the destination cannot be written: not a folder, read-only, full disk
        print(f"error: cannot write {exc.filename or args.dest}: {exc.strerror or exc}; choose a writable --dest "
              "(or LCSIM_DATA) with free space.", file=sys.stderr)
        return 2
    print("\n".join(str(x) for x in paths))
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
