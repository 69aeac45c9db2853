"""Dataset loaders and parsers on tiny fixtures written in the official formats."""
from __future__ import annotations

import gzip
import hashlib
import json
import pickle
import struct
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.io import savemat

from lcsim.errors import DataFormatError, DataNotFoundError, InvalidParameterError, UnknownNameError
from lcsim.live.datasets import (
    from_arrays,
    load_cifar10,
    load_dataset,
    load_mnist,
    load_openml,
    load_svhn,
    read_cifar_batch,
    read_idx,
    read_svhn_mat,
    split_indices,
)


def _write_idx(path, arr, gz=False):
    codes = {np.dtype(np.uint8): 0x08, np.dtype(">i4"): 0x0C, np.dtype(">f4"): 0x0D}
    dt = np.dtype(arr.dtype).newbyteorder(">") if arr.dtype != np.uint8 else arr.dtype
    head = bytes([0, 0, codes[dt], arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape)
    data = head + arr.astype(dt).tobytes()
    (gzip.open if gz else open)(path, "wb").write(data)


@pytest.mark.parametrize("gz", [False, True])
def test_read_idx_roundtrip(tmp_path, gz):
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (5, 4, 3), dtype=np.uint8)
    p = tmp_path / ("x-idx3-ubyte" + (".gz" if gz else ""))
    _write_idx(p, img, gz)
    np.testing.assert_array_equal(read_idx(p), img)
    f = rng.normal(size=(3, 2)).astype(np.float32)
    _write_idx(tmp_path / "f.idx", f)
    np.testing.assert_array_equal(read_idx(tmp_path / "f.idx"), f)


def test_read_idx_rejects_truncated_and_foreign(tmp_path):
    p = tmp_path / "t-idx1-ubyte"
    _write_idx(p, np.arange(10, dtype=np.uint8))
    p.write_bytes(p.read_bytes()[:-3])
    with pytest.raises(DataFormatError, match="truncated"):
        read_idx(p)
    (tmp_path / "junk").write_bytes(b"PK\x03\x04junk")
    with pytest.raises(DataFormatError, match="not an idx file"):
        read_idx(tmp_path / "junk")
    with pytest.raises(DataNotFoundError):
        read_idx(tmp_path / "missing")


def _mnist_dir(tmp_path, gz):
    rng = np.random.default_rng(1)
    for prefix, n in (("train", 30), ("t10k", 10)):
        x = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        x[0, 0, 0] = 255
        y = np.arange(n, dtype=np.uint8) % 3
        sfx = ".gz" if gz else ""
        _write_idx(tmp_path / f"{prefix}-images-idx3-ubyte{sfx}", x, gz)
        _write_idx(tmp_path / f"{prefix}-labels-idx1-ubyte{sfx}", y, gz)
    return tmp_path


@pytest.mark.parametrize("gz", [False, True])
def test_load_mnist(tmp_path, gz):
    ds = load_mnist(_mnist_dir(tmp_path, gz), seed=0, valid_fraction=0.2)
    assert ds.input_shape == (1, 28, 28) and ds.n_classes == 3
    assert len(ds.y_test) == 10 and len(ds.y_train) + len(ds.y_valid) == 30
    raw = read_idx(tmp_path / f"t10k-images-idx3-ubyte{'.gz' if gz else ''}")
    np.testing.assert_allclose(ds.x_test[:, 0], raw / 255.0, rtol=1e-6)  # official test split, scaled to [0, 1]
    assert ds.x_train.max() <= 1.0 and ds.x_train.min() >= 0.0


def test_svhn_mat(tmp_path):
    rng = np.random.default_rng(2)
    for name, n in (("train_32x32.mat", 12), ("test_32x32.mat", 6)):
        x = rng.integers(0, 256, (32, 32, 3, n), dtype=np.uint8)
        y = (np.arange(n) % 10 + 1).reshape(-1, 1)  # label 10 is digit 0
        savemat(tmp_path / name, {"X": x, "y": y})
    x, y = read_svhn_mat(tmp_path / "test_32x32.mat")
    assert x.shape == (6, 3, 32, 32) and y.tolist() == [1, 2, 3, 4, 5, 6]
    raw = rng.integers(0, 256, (32, 32, 3, 11), dtype=np.uint8)
    savemat(tmp_path / "one.mat", {"X": raw, "y": np.full((11, 1), 10)})
    x1, y1 = read_svhn_mat(tmp_path / "one.mat")
    np.testing.assert_array_equal(x1[4, 2, 7, 9], raw[7, 9, 2, 4])  # (H, W, C, N) -> (N, C, H, W)
    assert (y1 == 0).all()
    ds = load_svhn(tmp_path, seed=0, valid_fraction=0.25)
    assert ds.input_shape == (3, 32, 32) and len(ds.y_test) == 6 and ds.x_test.max() <= 1.0
    savemat(tmp_path / "bad.mat", {"X": raw})
    with pytest.raises(DataFormatError, match="'X' and 'y'"):
        read_svhn_mat(tmp_path / "bad.mat")


def test_cifar_batches(tmp_path):
    rng = np.random.default_rng(3)
    d = tmp_path / "cifar-10-batches-py"
    d.mkdir()
    for name, n in (("data_batch_1", 10), ("data_batch_2", 10), ("test_batch", 5)):
        data = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
        with open(d / name, "wb") as fh:
            pickle.dump({b"batch_label": name.encode(), b"labels": [int(i % 4) for i in range(n)],
                         b"data": data, b"filenames": [b"x.png"] * n}, fh)
    x, y = read_cifar_batch(d / "test_batch")
    with open(d / "test_batch", "rb") as fh:
        raw = pickle.load(fh, encoding="bytes")[b"data"]
    np.testing.assert_array_equal(x[2, 1].ravel(), raw[2, 1024:2048])  # channel-major rows
    ds = load_cifar10(tmp_path, seed=0, valid_fraction=0.2)
    assert ds.input_shape == (3, 32, 32) and len(ds.y_train) + len(ds.y_valid) == 20 and len(ds.y_test) == 5
    (d / "test_batch").write_bytes(b"not a pickle")
    with pytest.raises(DataFormatError, match="CIFAR-10"):
        read_cifar_batch(d / "test_batch")


def test_split_seeded_stratified_disjoint():
    y = np.repeat([0, 1, 2], [50, 30, 20])
    a = split_indices(y, (0.6, 0.2), seed=4)
    b = split_indices(y, (0.6, 0.2), seed=4)
    c = split_indices(y, (0.6, 0.2), seed=5)
    assert all(np.array_equal(p, q) for p, q in zip(a, b)) and not np.array_equal(a[0], c[0])
    allidx = np.concatenate(a)
    assert len(allidx) == 100 and len(np.unique(allidx)) == 100
    assert len(a[0]) == 60 and len(a[1]) == 20 and len(a[2]) == 20
    assert np.abs(np.bincount(y[a[0]]) - [30, 18, 12]).max() <= 1  # class proportions kept
    tiny = np.arange(12) % 10  # fewer members per class than parts: sizes still exact
    assert [len(p) for p in split_indices(tiny, (0.5, 0.25), seed=0)] == [6, 3, 3]


def test_sklearn_builtins_untouched_and_arrays():
    ds = load_dataset("wine", seed=0)
    from sklearn.datasets import load_wine

    raw = load_wine().data.astype(np.float32)
    assert ds.n_classes == 3 and ds.preprocessing == "none"
    assert any(np.array_equal(ds.x_train[0], r) for r in raw)  # no preprocessing (FGHPO section 4, Bayesmark)
    df = pd.DataFrame({"a": [0.0, 3.0, 4.0, 1.0] * 5, "b": [1.0, 4.0, 3.0, 0.0] * 5})
    d2 = from_arrays(df, pd.Series(["x", "y"] * 10), seed=1, preprocessing="unit_l2_rows")
    np.testing.assert_allclose(np.linalg.norm(d2.x_train, axis=1), 1.0, rtol=1e-6)
    with pytest.raises(UnknownNameError, match="Did you mean 'digits'"):
        load_dataset("digitz")
    with pytest.raises(DataFormatError, match="NaN"):
        from_arrays(np.array([[np.nan, 1.0]] * 10), [0, 1] * 5)
    with pytest.raises(DataFormatError, match="at least 2 classes"):
        from_arrays(np.ones((10, 2)), [0] * 10)
    with pytest.raises(InvalidParameterError, match="valid_fraction"):
        from_arrays(np.ones((10, 2)), [0, 1] * 5, valid_fraction=1.5)


def test_openml_offline_miss_names_the_fix(tmp_path):
    with pytest.raises(DataNotFoundError, match="fetch_openml"):
        load_openml("credit-g", tmp_path)
    with pytest.raises(DataNotFoundError, match="root="):
        load_dataset("mnist")


def write_openml_cache(home, data_id=424242):
    """A one-dataset scikit-learn OpenML cache (the files fetch_openml writes), numeric + nominal features."""
    rows = [(1.0, 2.0, "a", "pos"), (3.0, 0.5, "b", "neg"), (0.5, 0.5, "a", "pos"), (2.0, 1.0, "b", "neg")] * 5
    arff = ("@RELATION tiny\n@ATTRIBUTE x1 NUMERIC\n@ATTRIBUTE x2 NUMERIC\n@ATTRIBUTE c {a,b}\n"
            "@ATTRIBUTE class {pos,neg}\n@DATA\n")
    arff += "".join(f"{a},{b},{c},{d}\n" for a, b, c, d in rows)
    raw = arff.encode()
    root = Path(home) / "openml" / "openml.org"
    def put(rel, data):
        p = root / (rel + ".gz")
        p.parent.mkdir(parents=True, exist_ok=True)
        with gzip.open(p, "wb") as fh:
            fh.write(data)
    url = f"https://www.openml.org/data/v1/download/{data_id}/tiny.arff"
    desc = {"data_set_description": {"id": str(data_id), "name": "tiny", "version": "1", "status": "active",
            "format": "ARFF", "url": url, "file_id": str(data_id), "md5_checksum": hashlib.md5(raw).hexdigest(),
            "default_target_attribute": "class", "description": "tiny test set"}}
    feats = [{"index": str(i), "name": n, "data_type": t, "is_target": "true" if n == "class" else "false",
              "is_ignore": "false", "is_row_identifier": "false", "number_of_missing_values": "0"}
             for i, (n, t) in enumerate([("x1", "numeric"), ("x2", "numeric"), ("c", "nominal"), ("class", "nominal")])]
    put(f"api/v1/json/data/{data_id}", json.dumps(desc).encode())
    put(f"api/v1/json/data/features/{data_id}", json.dumps({"data_features": {"feature": feats}}).encode())
    put(f"api/v1/json/data/qualities/{data_id}", json.dumps({"data_qualities": {"quality": [
        {"name": "NumberOfInstances", "value": str(float(len(rows)))}]}}).encode())
    put(f"data/v1/download/{data_id}/tiny.arff", raw)
    return data_id


def test_openml_from_local_cache_offline(tmp_path):
    """A cache laid out as ``fetch_openml(data_home=...)`` writes it loads with the network blocked; rows get unit
    l2 norm and nominal features are one-hot encoded (FGHPO section 4)."""
    data_id = write_openml_cache(tmp_path)
    ds = load_openml(data_id, tmp_path, seed=0)
    assert ds.n_classes == 2 and ds.input_shape == (4,) and ds.preprocessing == "unit_l2_rows"
    assert len(ds.y_train) + len(ds.y_valid) + len(ds.y_test) == 20
    np.testing.assert_allclose(np.linalg.norm(ds.x_train, axis=1), 1.0, rtol=1e-6)
    x0 = np.array([1.0, 2.0, 1.0, 0.0])  # row (1, 2, 'a') -> x1, x2, c_a, c_b
    assert any(np.allclose(r, x0 / np.linalg.norm(x0)) for r in ds.x_train)
    assert load_dataset(f"openml:{data_id}", root=tmp_path).n_classes == 2
