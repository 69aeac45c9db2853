"""Datasets for the live-training backend, with the preprocessing of FGHPO section 4 and seeded splits.

Sources (nothing is ever downloaded here):

* the scikit-learn built-ins Bayesmark uses: ``breast_cancer``, ``digits``, ``iris``, ``wine`` (no preprocessing, as
  FGHPO section 4 does for Bayesmark);
* any user arrays (numpy or pandas) through :func:`from_arrays`;
* OpenML datasets from a local scikit-learn cache (:func:`load_openml`, ``fetch_openml(data_home=..., ...)`` with the
  network disabled); rows are scaled to unit l2 norm (FGHPO section 4);
* MNIST (idx-ubyte, optionally gzipped), SVHN (cropped-digit ``.mat``) and CIFAR-10 (python pickle batches) from files
  the user provides in their official formats; pixels are scaled to [0, 1] (FGHPO section 4).

Every loader returns a :class:`Dataset` holding train/validation/test float32 features and int64 labels in
``0..n_classes-1``. Splits are stratified where every class has enough members and are drawn from the seed only.
"""
from __future__ import annotations

import gzip
import os
import pickle
import struct
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import DataFormatError, DataNotFoundError, InvalidParameterError, check_float, unknown_name
from ..seeding import make_rng

__all__ = [
    "Dataset", "SKLEARN_DATASETS", "IMAGE_DATASETS", "load_dataset", "from_arrays", "load_sklearn", "load_openml",
    "load_mnist", "load_svhn", "load_cifar10", "read_idx", "read_svhn_mat", "read_cifar_batch", "split_indices",
]

SKLEARN_DATASETS = ("breast_cancer", "digits", "iris", "wine")
IMAGE_DATASETS = ("mnist", "svhn", "cifar10")


@dataclass
class Dataset:
    """A classification dataset split into train / validation / test.

    Attributes:
        name: dataset name.
        x_train, x_valid, x_test: float32 arrays of shape (n_split, *input_shape).
        y_train, y_valid, y_test: int64 arrays of shape (n_split,), labels in ``0..n_classes-1``.
        n_classes: number of classes.
        preprocessing: what was applied (``"none"``, ``"unit_l2_rows"``, ``"scale_01"``).
        info: provenance (source files, split fractions, seed).
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_valid: np.ndarray
    y_valid: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    n_classes: int
    preprocessing: str = "none"
    info: dict = field(default_factory=dict)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])

    @property
    def n_features(self) -> int:
        return int(np.prod(self.input_shape))

    def __repr__(self) -> str:
        return (f"Dataset({self.name!r}, train={len(self.y_train)}, valid={len(self.y_valid)}, "
                f"test={len(self.y_test)}, input_shape={self.input_shape}, n_classes={self.n_classes})")


# ---------------------------------------------------------------------------------------------------------- splits
def split_indices(y: np.ndarray, fractions: tuple[float, ...], seed) -> list[np.ndarray]:
    """Seeded, stratified split of ``range(len(y))`` into parts of the given fractions (the last takes the rest).

    Each class is shuffled and its members are spread evenly over [0, 1) (key ``(rank + u_c) / n_c`` with a random
    offset ``u_c`` per class); all samples are ordered by key and the order is cut at ``round(cumsum(fractions) *
    n)``. Every part thus gets its exact overall size and (up to one sample per class) the class proportions, even
    when a class has fewer members than there are parts. Returns sorted index arrays.
    """
    rng = make_rng(seed)
    y = np.asarray(y)
    n = len(y)
    keys = np.empty(n)
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        idx = idx[rng.permutation(len(idx))]
        keys[idx] = (np.arange(len(idx)) + rng.random()) / len(idx)
    order = np.lexsort((rng.permutation(n), keys))
    cuts = np.round(np.cumsum(fractions) * n).astype(int)
    return [np.sort(p) for p in np.split(order, cuts)]


def _encode_labels(y) -> tuple[np.ndarray, int, list]:
    y = np.asarray(y)
    if y.ndim != 1:
        raise DataFormatError(f"Labels must be a 1-d array; got shape {y.shape}.")
    if y.dtype.kind == "f" and not np.all(np.isfinite(y)):
        raise DataFormatError("Labels contain NaN or inf.")
    classes, codes = np.unique(y, return_inverse=True)
    if len(classes) < 2:
        raise DataFormatError(f"A classification dataset needs at least 2 classes; got {len(classes)}.")
    return codes.astype(np.int64), len(classes), classes.tolist()


def from_arrays(x, y, *, name: str = "arrays", seed=0, valid_fraction: float = 0.2, test_fraction: float = 0.2,
                x_test=None, y_test=None, preprocessing: str = "none") -> Dataset:
    """Build a :class:`Dataset` from user arrays (numpy, pandas or anything ``np.asarray`` accepts).

    Args:
        x: features, shape (n, *input_shape); must be numeric and finite.
        y: labels, shape (n,); any hashable values, encoded to ``0..n_classes-1`` in sorted order.
        name: dataset name.
        seed: split seed.
        valid_fraction: fraction of the (non-test) samples held out for validation.
        test_fraction: fraction held out for testing; ignored when ``x_test``/``y_test`` are given (official split).
        x_test, y_test: an official test split, if any.
        preprocessing: ``"none"``, ``"unit_l2_rows"`` (each sample scaled to l2 norm 1) or ``"scale_01"``
            (divide by 255 when the data are 8-bit, else min-max to [0, 1] with train statistics).

    Raises:
        DataFormatError: shapes disagree, non-numeric or non-finite features, fewer than two classes.
        InvalidParameterError: a fraction outside (0, 1) or an unknown preprocessing.
    """
    owner = "from_arrays"
    valid_fraction = check_float(owner, "valid_fraction", valid_fraction, 0.0, 1.0, closed="neither")
    if preprocessing not in ("none", "unit_l2_rows", "scale_01"):
        raise InvalidParameterError(f"The 'preprocessing' parameter of {owner} must be one of "
                                    f"['none', 'unit_l2_rows', 'scale_01']. Got {preprocessing!r}.")
    x_all, y_raw = _as_features(x), _as_labels(y)
    if len(x_all) != len(y_raw):
        raise DataFormatError(f"x has {len(x_all)} rows but y has {len(y_raw)}.")
    is_uint8 = np.asarray(x).dtype == np.uint8
    if x_test is not None or y_test is not None:
        if x_test is None or y_test is None:
            raise InvalidParameterError("Give both x_test and y_test, or neither.")
        xt, yt_raw = _as_features(x_test), _as_labels(y_test)
        if len(xt) != len(yt_raw) or xt.shape[1:] != x_all.shape[1:]:
            raise DataFormatError(f"x_test {xt.shape} / y_test {yt_raw.shape} do not match x {x_all.shape}.")
        codes, n_classes, classes = _encode_labels(np.concatenate([y_raw, yt_raw]))
        y_all, y_te = codes[:len(y_raw)], codes[len(y_raw):]
        tr, va = split_indices(y_all, (1.0 - valid_fraction,), seed)
        x_tr, y_tr, x_va, y_va, x_te = x_all[tr], y_all[tr], x_all[va], y_all[va], xt
        fractions = {"valid_fraction": valid_fraction, "test": "official"}
    else:
        test_fraction = check_float(owner, "test_fraction", test_fraction, 0.0, 1.0, closed="neither")
        if valid_fraction + test_fraction >= 1.0:
            raise InvalidParameterError(f"valid_fraction + test_fraction must be < 1; got "
                                        f"{valid_fraction} + {test_fraction}.")
        y_all, n_classes, classes = _encode_labels(y_raw)
        tr, va, te = split_indices(y_all, (1.0 - valid_fraction - test_fraction, valid_fraction), seed)
        x_tr, y_tr, x_va, y_va, x_te, y_te = x_all[tr], y_all[tr], x_all[va], y_all[va], x_all[te], y_all[te]
        fractions = {"valid_fraction": valid_fraction, "test_fraction": test_fraction}
    if len(y_tr) == 0 or len(y_va) == 0 or len(y_te) == 0:
        raise DataFormatError(f"Dataset {name!r} is too small for the requested split "
                              f"(train={len(y_tr)}, valid={len(y_va)}, test={len(y_te)}).")
    if preprocessing == "unit_l2_rows":
        x_tr, x_va, x_te = (_unit_rows(a) for a in (x_tr, x_va, x_te))
    elif preprocessing == "scale_01":
        if is_uint8:
            x_tr, x_va, x_te = (a / np.float32(255.0) for a in (x_tr, x_va, x_te))
        else:
            lo, hi = x_tr.min(), x_tr.max()
            span = np.float32(hi - lo if hi > lo else 1.0)
            x_tr, x_va, x_te = (np.clip((a - lo) / span, 0.0, 1.0) for a in (x_tr, x_va, x_te))
    return Dataset(name, x_tr.astype(np.float32), y_tr, x_va.astype(np.float32), y_va, x_te.astype(np.float32), y_te,
                   n_classes, preprocessing, {"seed": _seed_repr(seed), "classes": [str(c) for c in classes],
                                              **fractions})


def _seed_repr(seed):
    return int(seed) if isinstance(seed, (int, np.integer)) else str(seed)


def _as_labels(y) -> np.ndarray:
    y = np.asarray(y.to_numpy() if hasattr(y, "to_numpy") else y)
    return y.reshape(-1) if y.ndim == 2 and y.shape[1] == 1 else y


def _as_features(x) -> np.ndarray:
    if hasattr(x, "to_numpy"):  # pandas
        try:
            x = x.to_numpy(dtype=np.float32)
        except (TypeError, ValueError) as exc:
            raise DataFormatError(f"Features must be numeric; encode categorical columns first ({exc}).") from exc
    try:
        a = np.asarray(x, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise DataFormatError(f"Features must be numeric; got {np.asarray(x).dtype} ({exc}).") from exc
    if a.ndim < 2:
        raise DataFormatError(f"Features must have shape (n, n_features) or (n, C, H, W); got {a.shape}.")
    if not np.all(np.isfinite(a)):
        raise DataFormatError("Features contain NaN or inf; impute them first.")
    return a


def _unit_rows(a: np.ndarray) -> np.ndarray:
    flat = a.reshape(len(a), -1)
    norm = np.linalg.norm(flat, axis=1, keepdims=True)
    return (flat / np.where(norm > 0, norm, 1.0)).reshape(a.shape)


# ---------------------------------------------------------------------------------------------------------- sklearn
def load_sklearn(name: str, seed=0, valid_fraction: float = 0.2, test_fraction: float = 0.2) -> Dataset:
    """One of scikit-learn's built-in datasets that Bayesmark uses (``breast_cancer``, ``digits``, ``iris``,
    ``wine``), unpreprocessed as in FGHPO section 4, split 60/20/20 (default) with ``seed``."""
    if name not in SKLEARN_DATASETS:
        raise unknown_name("scikit-learn dataset", name, SKLEARN_DATASETS)
    import sklearn.datasets as skd

    bunch = getattr(skd, f"load_{name}")()
    return from_arrays(bunch.data, bunch.target, name=name, seed=seed, valid_fraction=valid_fraction,
                       test_fraction=test_fraction)


# ---------------------------------------------------------------------------------------------------------- OpenML
def load_openml(name_or_id, data_home: str | os.PathLike, seed=0, valid_fraction: float = 0.2,
                test_fraction: float = 0.2, version=1) -> Dataset:
    """An OpenML dataset from scikit-learn's local cache (``fetch_openml(data_home=...)``), never the network.

    Categorical features are one-hot encoded; rows are scaled to unit l2 norm (FGHPO section 4).

    Raises:
        DataNotFoundError: the dataset is not in ``data_home``; the message names the command that caches it.
    """
    import sklearn.datasets._openml as _openml
    from sklearn.datasets import fetch_openml

    kw = {"data_id": int(name_or_id)} if str(name_or_id).isdigit() else {"name": str(name_or_id), "version": version}
    home = Path(data_home)
    original = _openml.urlopen

    def _offline(req, *a, **k):  # a cache miss must not reach the network
        url = getattr(req, "full_url", req)
        raise OSError(f"{url} is not in the cache (lcsim.live.load_openml works offline only)")

    _openml.urlopen = _offline
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            bunch = fetch_openml(data_home=str(home), as_frame=True, parser="pandas", n_retries=1, delay=1e-3, **kw)
    except Exception as exc:
        raise DataNotFoundError(
            f"OpenML dataset {name_or_id!r} is not in the local cache {home} ({type(exc).__name__}: {exc}). Cache it "
            f"once with network access: python -c \"from sklearn.datasets import fetch_openml; "
            f"fetch_openml({', '.join(f'{k}={v!r}' for k, v in kw.items())}, data_home={str(home)!r})\"") from exc
    finally:
        _openml.urlopen = original
    import pandas as pd

    frame = pd.get_dummies(bunch.data, dtype=np.float32)
    frame = frame.fillna(frame.median(numeric_only=True))
    return from_arrays(frame.to_numpy(dtype=np.float32), bunch.target.astype(str).to_numpy(), name=str(name_or_id),
                       seed=seed, valid_fraction=valid_fraction, test_fraction=test_fraction,
                       preprocessing="unit_l2_rows")


# ---------------------------------------------------------------------------------------------------------- parsers
_IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Parse an idx file (MNIST's ``*-ubyte`` format, optionally ``.gz``): magic ``0 0 type ndim``, big-endian
    uint32 dimensions, then the data. Returns an array of the stored shape.

    Raises:
        DataFormatError: bad magic, unknown type code, or a truncated / overlong file.
    """
    path = Path(path)
    if not path.is_file():
        raise DataNotFoundError(f"idx file not found: {path}")
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as fh:
            raw = fh.read()
    except (OSError, EOFError) as exc:
        raise DataFormatError(f"{path}: cannot read ({exc}); the file may be truncated.") from exc
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES:
        raise DataFormatError(f"{path}: not an idx file (magic bytes {raw[:4].hex() if raw else 'empty'}).")
    ndim = raw[3]
    if len(raw) < 4 + 4 * ndim:
        raise DataFormatError(f"{path}: truncated idx header.")
    shape = struct.unpack(f">{ndim}I", raw[4:4 + 4 * ndim])
    dtype = np.dtype(_IDX_TYPES[raw[2]])
    need = int(np.prod(shape)) * dtype.itemsize
    body = raw[4 + 4 * ndim:]
    if len(body) != need:
        raise DataFormatError(f"{path}: idx header says shape {shape} ({need} bytes) but the file holds "
                              f"{len(body)} bytes; it is truncated or corrupt.")
    return np.frombuffer(body, dtype=dtype).reshape(shape).astype(dtype.newbyteorder("="))


def read_svhn_mat(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Parse an SVHN cropped-digits ``.mat`` file (``X``: uint8 (32, 32, 3, N); ``y``: (N, 1), digit 0 stored as 10).

    Returns ``(x, y)`` with ``x`` uint8 of shape (N, 3, 32, 32) and ``y`` int64 labels in 0..9.
    """
    from scipy.io import loadmat

    path = Path(path)
    if not path.is_file():
        raise DataNotFoundError(f"SVHN file not found: {path}")
    try:
        mat = loadmat(path)
    except Exception as exc:
        raise DataFormatError(f"{path}: not a readable MATLAB file ({type(exc).__name__}: {exc}).") from exc
    if "X" not in mat or "y" not in mat:
        found = sorted(k for k in mat if not k.startswith('__'))
        raise DataFormatError(f"{path}: an SVHN .mat file holds 'X' and 'y'; found {found}.")
    x, y = mat["X"], np.asarray(mat["y"]).reshape(-1).astype(np.int64)
    if x.ndim != 4 or x.shape[2] != 3 or x.shape[3] != len(y):
        raise DataFormatError(f"{path}: X must have shape (H, W, 3, N) with N = len(y) = {len(y)}; got {x.shape}.")
    if np.any((y < 1) | (y > 10)):
        raise DataFormatError(f"{path}: SVHN labels must be in 1..10; got range {y.min()}..{y.max()}.")
    return np.ascontiguousarray(np.transpose(x, (3, 2, 0, 1))), y % 10


def read_cifar_batch(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Parse one CIFAR-10 python batch (a pickled dict with ``data`` uint8 (N, 3072) and ``labels``).

    Only open files you trust: the official format is a Python pickle. Returns ``x`` uint8 (N, 3, 32, 32) and
    ``y`` int64 (N,).
    """
    path = Path(path)
    if not path.is_file():
        raise DataNotFoundError(f"CIFAR-10 batch not found: {path}")
    try:
        with open(path, "rb") as fh:
            d = pickle.load(fh, encoding="bytes")
    except Exception as exc:
        raise DataFormatError(f"{path}: not a readable CIFAR-10 python batch ({type(exc).__name__}: {exc}).") from exc
    if not isinstance(d, dict):
        raise DataFormatError(f"{path}: a CIFAR-10 batch is a pickled dict; got {type(d).__name__}.")
    d = {(k.decode() if isinstance(k, bytes) else k): v for k, v in d.items()}
    if "data" not in d or "labels" not in d:
        raise DataFormatError(f"{path}: a CIFAR-10 batch holds 'data' and 'labels'; found {sorted(d)}.")
    x, y = np.asarray(d["data"]), np.asarray(d["labels"], dtype=np.int64)
    if x.ndim != 2 or x.shape[1] != 3072 or len(x) != len(y):
        raise DataFormatError(f"{path}: 'data' must have shape (N, 3072) with N = len(labels) = {len(y)}; "
                              f"got {x.shape}.")
    return x.astype(np.uint8).reshape(-1, 3, 32, 32), y


def _first(directory: Path, names: list[str], what: str) -> Path:
    for n in names:
        if (directory / n).is_file():
            return directory / n
    raise DataNotFoundError(f"{what} not found in {directory}: expected one of {names}. Put the official files there.")


def load_mnist(directory: str | os.PathLike, seed=0, valid_fraction: float = 1 / 6) -> Dataset:
    """MNIST from the four official idx files in ``directory`` (gzipped or not), pixels scaled to [0, 1], shape
    (N, 1, 28, 28); the official test set is the test split, validation is carved from the training set."""
    d = Path(directory)
    files = {}
    for key, stem in [("xtr", "train-images-idx3-ubyte"), ("ytr", "train-labels-idx1-ubyte"),
                      ("xte", "t10k-images-idx3-ubyte"), ("yte", "t10k-labels-idx1-ubyte")]:
        files[key] = read_idx(_first(d, [stem, stem + ".gz", stem.replace("-idx", ".idx"),
                                         stem.replace("-idx", ".idx") + ".gz"], f"MNIST file {stem}"))
    for key in ("xtr", "xte"):
        if files[key].ndim != 3:
            raise DataFormatError(f"MNIST images must be 3-d (N, 28, 28); got {files[key].shape}.")
    return from_arrays(files["xtr"][:, None], files["ytr"], x_test=files["xte"][:, None], y_test=files["yte"],
                       name="mnist", seed=seed, valid_fraction=valid_fraction, preprocessing="scale_01")


def load_svhn(directory: str | os.PathLike, seed=0, valid_fraction: float = 0.1) -> Dataset:
    """SVHN from ``train_32x32.mat`` and ``test_32x32.mat`` in ``directory``; pixels scaled to [0, 1]."""
    d = Path(directory)
    xtr, ytr = read_svhn_mat(_first(d, ["train_32x32.mat"], "SVHN training file"))
    xte, yte = read_svhn_mat(_first(d, ["test_32x32.mat"], "SVHN test file"))
    return from_arrays(xtr, ytr, x_test=xte, y_test=yte, name="svhn", seed=seed, valid_fraction=valid_fraction,
                       preprocessing="scale_01")


def load_cifar10(directory: str | os.PathLike, seed=0, valid_fraction: float = 0.1) -> Dataset:
    """CIFAR-10 from the python batches (``data_batch_1..5``, ``test_batch``) in ``directory`` (or its
    ``cifar-10-batches-py`` subfolder); pixels scaled to [0, 1]."""
    d = Path(directory)
    if (d / "cifar-10-batches-py").is_dir():
        d = d / "cifar-10-batches-py"
    train = sorted(d.glob("data_batch_*"))
    if not train:
        raise DataNotFoundError(f"No CIFAR-10 'data_batch_*' files in {d}. Put the official python batches there.")
    parts = [read_cifar_batch(p) for p in train]
    xte, yte = read_cifar_batch(_first(d, ["test_batch"], "CIFAR-10 test batch"))
    return from_arrays(np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]), x_test=xte,
                       y_test=yte, name="cifar10", seed=seed, valid_fraction=valid_fraction, preprocessing="scale_01")


def load_dataset(name: str, seed=0, *, root: str | os.PathLike | None = None, **kw) -> Dataset:
    """Load a dataset by name: a scikit-learn built-in, ``mnist``/``svhn``/``cifar10`` from ``root``, or
    ``openml:<name or id>`` from the scikit-learn cache in ``root``."""
    if name in SKLEARN_DATASETS:
        return load_sklearn(name, seed, **kw)
    if name in IMAGE_DATASETS or name.startswith("openml:"):
        if root is None:
            raise DataNotFoundError(f"Dataset {name!r} needs root=<folder with its official files>.")
        if name.startswith("openml:"):
            return load_openml(name.split(":", 1)[1], root, seed, **kw)
        return {"mnist": load_mnist, "svhn": load_svhn, "cifar10": load_cifar10}[name](root, seed, **kw)
    raise unknown_name("dataset", name, list(SKLEARN_DATASETS) + list(IMAGE_DATASETS) + ["openml:<name or id>"])
