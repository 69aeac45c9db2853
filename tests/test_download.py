"""Downloader tests against a local HTTP server on 127.0.0.1 serving fixture files (Range-capable, can cut once)."""
from __future__ import annotations

import hashlib
import http.server
import io
import json
import tarfile
import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest

from lcsim.benchmarks import download as dl
from lcsim.benchmarks.download import ChecksumError, DownloadError, Resource
from lcsim.testing.fixtures import lcbench_raw_dict, write_pd1_raw


class _Handler(http.server.BaseHTTPRequestHandler):
    files: dict = {}
    drop_once: set = set()       # paths whose next full response is cut half-way
    log: list = []

    def log_message(self, *args):  # keep pytest output clean
        pass

    def do_GET(self):  # noqa: N802
        body = self.files.get(self.path)
        rng = self.headers.get("Range")
        type(self).log.append((self.path, rng))
        if body is None:
            self.send_error(404)
            return
        start = 0
        if rng:
            start = int(rng.split("=")[1].split("-")[0])
            if start >= len(body):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(body)}")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            self.send_response(200)
        chunk = body[start:]
        self.send_header("Content-Length", str(len(chunk)))
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        if self.path in self.drop_once and not rng:
            self.drop_once.discard(self.path)
            self.wfile.write(chunk[: len(chunk) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(chunk)


@pytest.fixture
def server():
    class H(_Handler):
        files, drop_once, log = {}, set(), []

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    httpd.daemon_threads = True
    t = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    t.start()
    try:
        yield H, f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        t.join(timeout=5)


def _zip_bytes(name: str, text: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(name, text)
    return buf.getvalue()


def _tar_bytes(folder: Path, arcname: str) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        tf.add(folder, arcname=arcname)
    return buf.getvalue()


def _run(argv, table):
    return dl.main(list(argv) + ["--no-progress", "--timeout", "5"], sources=table)


def test_taskset_files_verified_by_sha256_and_installed(server, tmp_path, monkeypatch):
    H, base = server
    payload = json.dumps([{"hp": {"learning_rate": 0.1}, "train": {"loss": [1.0]}}]).encode()
    H.files["/t/a.json"] = payload
    H.files["/t/LICENSE"] = b"Apache"
    table = {"taskset": [Resource(f"{base}/t/a.json", "a.json", "taskset/dpl_json", "file",
                                  sha256=hashlib.sha256(payload).hexdigest(), size=len(payload)),
                         Resource(f"{base}/t/LICENSE", "LICENSE", "taskset/dpl_json", "file",
                                  md5=hashlib.md5(b"Apache").hexdigest())]}
    assert _run(["taskset", "--dest", str(tmp_path)], table) == 0
    assert (tmp_path / "taskset/dpl_json/a.json").read_bytes() == payload
    assert (tmp_path / "taskset/dpl_json/LICENSE").read_bytes() == b"Apache"
    assert not (tmp_path / ".downloads").exists()
    man = json.loads((tmp_path / "taskset/dpl_json/.lcsim-download.json").read_text())
    assert man["a.json"]["files"] == ["taskset/dpl_json/a.json"]
    monkeypatch.setenv("LCSIM_DATA", str(tmp_path))
    from lcsim.benchmarks import get_benchmark

    assert get_benchmark("taskset").tasks() == ["a"]      # the manifest (a .json file too) is not a task
    # second run: skipped, no new request
    n = len(H.log)
    assert _run(["taskset", "--dest", str(tmp_path)], table) == 0
    assert len(H.log) == n


def test_lcbench_zip_unpacked_and_readable(server, tmp_path):
    H, base = server
    data = lcbench_raw_dict(datasets=("adult",), n_configs=3)
    H.files["/f/21188598"] = _zip_bytes("data_2k_lw.json", json.dumps(data))
    table = {"lcbench": [Resource(f"{base}/f/21188598", "data_2k_lw.zip", "lcbench", "zip"),
                         Resource(f"{base}/f/missing", "data_2k.zip", "lcbench", "zip", extra=True)]}
    assert _run(["lcbench", "--dest", str(tmp_path)], table) == 0  # extra file not requested without --full
    assert [p for p, _ in H.log] == ["/f/21188598"]
    from lcsim.benchmarks.lcbench import LCBenchBenchmark

    task = LCBenchBenchmark(tmp_path).load("adult")
    raw = data["adult"]["2"]["log"]["Train/val_balanced_accuracy"]
    np.testing.assert_allclose(task.curves[2, 0, :, 0], raw[1:-1])


def test_pd1_tar_md5_and_layout(server, tmp_path):
    H, base = server
    src = tmp_path / "src" / "pd1"
    recs = write_pd1_raw(src)
    body = _tar_bytes(src, "pd1")
    H.files["/pint/pd1.tar.gz"] = body
    table = {"pd1": [Resource(f"{base}/pint/pd1.tar.gz", "pd1.tar.gz", "pd1", "tar",
                              md5=hashlib.md5(body).hexdigest())]}
    dest = tmp_path / "root"
    assert _run(["pd1", "--dest", str(dest)], table) == 0
    for name in recs:
        assert (dest / "pd1" / name).read_bytes() == (src / name).read_bytes()
    assert not (dest / "pd1" / "pd1").exists()  # the tar's leading folder is stripped
    assert not (dest / ".downloads").exists()


def test_corrupted_file_raises_and_leaves_nothing(server, tmp_path, capsys):
    H, base = server
    good = b"x" * 5000
    H.files["/pint/pd1.tar.gz"] = good[:-1] + b"y"  # one byte flipped in transit
    table = {"pd1": [Resource(f"{base}/pint/pd1.tar.gz", "pd1.tar.gz", "pd1", "tar",
                              md5=hashlib.md5(good).hexdigest())]}
    with pytest.raises(ChecksumError, match="md5"):
        dl.download("pd1", tmp_path, table, progress=False, timeout=5)
    assert _run(["pd1", "--dest", str(tmp_path)], table) == 2
    assert "failed verification" in capsys.readouterr().err
    left = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert left == []


def test_corrupt_zip_without_checksum_caught_by_crc(server, tmp_path):
    H, base = server
    body = bytearray(_zip_bytes("data_2k_lw.json", json.dumps({"a": list(range(2000))})))
    body[60] ^= 0xFF  # inside the compressed member
    H.files["/f/z"] = bytes(body)
    table = {"lcbench": [Resource(f"{base}/f/z", "data_2k_lw.zip", "lcbench", "zip")]}
    with pytest.raises(ChecksumError):
        dl.download("lcbench", tmp_path, table, progress=False, timeout=5)
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_interrupted_transfer_resumes_with_range(server, tmp_path):
    H, base = server
    body = bytes(np.random.default_rng(0).integers(0, 256, 300_000, dtype=np.uint8))
    H.files["/big.bin"] = body
    H.drop_once.add("/big.bin")
    res = Resource(f"{base}/big.bin", "big.bin", "taskset/dpl_json", "file",
                   sha256=hashlib.sha256(body).hexdigest(), size=len(body))
    table = {"taskset": [res]}
    # no retries: the first call fails and keeps the half file
    with pytest.raises(DownloadError, match="resume"):
        dl.download("taskset", tmp_path, table, progress=False, retries=0, timeout=5)
    part = tmp_path / ".downloads" / "big.bin.part"
    assert 0 < part.stat().st_size < len(body)
    assert not (tmp_path / "taskset/dpl_json/big.bin").exists()
    # the next call resumes from the .part with a Range request and verifies the whole file
    dl.download("taskset", tmp_path, table, progress=False, retries=0, timeout=5)
    assert (tmp_path / "taskset/dpl_json/big.bin").read_bytes() == body
    assert H.log[-1][1] == f"bytes={len(body) // 2}-"


def test_cut_connection_retried_within_one_call(server, tmp_path):
    H, base = server
    body = bytes(range(256)) * 1000
    H.files["/b"] = body
    H.drop_once.add("/b")
    table = {"taskset": [Resource(f"{base}/b", "b.json", "taskset/dpl_json", "file",
                                  sha256=hashlib.sha256(body).hexdigest())]}
    assert _run(["taskset", "--dest", str(tmp_path), "--retries", "2"], table) == 0
    assert (tmp_path / "taskset/dpl_json/b.json").read_bytes() == body
    assert [r for _, r in H.log] == [None, f"bytes={len(body) // 2}-"]


def test_http_error_and_bad_arguments(server, tmp_path, capsys):
    _, base = server
    table = {"pd1": [Resource(f"{base}/nope", "pd1.tar.gz", "pd1", "tar")]}
    assert _run(["pd1", "--dest", str(tmp_path)], table) == 2
    assert "HTTP 404" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        dl.main(["nosuchbench"], sources=table)
    from lcsim.errors import InvalidParameterError

    with pytest.raises(InvalidParameterError, match="retries"):
        dl.download("pd1", tmp_path, table, retries=-1)


def test_yahpo_surrogate_downloaded_verified_and_loadable(server, shared_data, tmp_path, monkeypatch):
    """``download lcbench_yahpo`` (the command the loader's messages name) fetches the five files of the official
    table, checks them against the recorded sha256/size (here the real files, served locally) and installs them where
    the loader reads them."""
    H, base = server
    src = shared_data / "yahpo_data" / "lcbench"
    table = {"lcbench_yahpo": []}
    for r in dl.SOURCES["lcbench_yahpo"]:
        H.files[f"/y/{r.filename}"] = (src / r.filename).read_bytes()
        table["lcbench_yahpo"].append(Resource(f"{base}/y/{r.filename}", r.filename, r.target, r.kind,
                                               sha256=r.sha256, size=r.size))
    dest = tmp_path / "root"
    assert _run(["lcbench_yahpo", "--dest", str(dest)], table) == 0
    from lcsim import benchmarks
    from lcsim.benchmarks.yahpo import DOWNLOAD

    assert DOWNLOAD == "python -m lcsim.data download lcbench_yahpo"
    monkeypatch.setenv("LCSIM_DATA", str(dest))
    assert len(benchmarks.get_benchmark("lcbench_yahpo").tasks()) == 34
    t = benchmarks.load("lcbench_yahpo", "3945", n_configs=3)
    assert t.extra["model_sha256"] == dl.SOURCES["lcbench_yahpo"][0].sha256


def test_unwritable_destination_is_one_line_error(server, tmp_path, capsys):
    _, base = server
    table = {"pd1": [Resource(f"{base}/nope", "pd1.tar.gz", "pd1", "tar")]}
    (tmp_path / "file").write_text("x")
    assert _run(["pd1", "--dest", str(tmp_path / "file" / "root")], table) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot write" in err and "--dest" in err


def test_official_table_is_complete():
    assert set(dl.SOURCES) == {"lcbench", "lcbench_yahpo", "pd1", "taskset"}
    pd1 = dl.SOURCES["pd1"][0]
    assert pd1.url == "https://storage.googleapis.com/gresearch/pint/pd1.tar.gz"
    assert pd1.md5 == "e04c789cff8d5ddc9f2301e2ac02d0e3"
    assert [r.url.rsplit("/", 1)[1] for r in dl.SOURCES["lcbench"]] == ["21188598", "21188607"]
    ts = [r for r in dl.SOURCES["taskset"] if r.filename.endswith(".json")]
    assert len(ts) == 12 and all(r.sha256 and r.size for r in ts)
    ya = dl.SOURCES["lcbench_yahpo"]
    assert {r.filename for r in ya} >= {"model.onnx", "config_space.json", "encoding.json"}
    assert all(r.sha256 and r.size and r.target == "yahpo_data/lcbench" for r in ya)
    assert all(r.url.startswith("https://raw.githubusercontent.com/slds-lmu/yahpo_data/efdab90") for r in ya)


def test_taskset_checksums_match_shared_data(shared_data):
    """The recorded sha256/size of the TaskSet and YAHPO files are those of the release blobs in the shared data."""
    for r in dl.SOURCES["taskset"] + dl.SOURCES["lcbench_yahpo"]:
        p = shared_data / r.target / r.filename
        assert p.stat().st_size == r.size
        assert hashlib.sha256(p.read_bytes()).hexdigest() == r.sha256
