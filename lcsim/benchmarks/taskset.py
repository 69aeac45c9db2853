"""TaskSet (Metz et al., 2020), search space ``adam8p_wide_grid_1k``: 1000 Adam configurations x 51 steps.

Two source layouts are read, both under ``$LCSIM_DATA/taskset/``:

``dpl_json/<task>.json`` (the 12 IMDB text-RNN tasks the DPL paper uses, as vendored by its authors)
    A JSON list of 1000 records ``{"hp": {...8 values...}, "train": {"loss": [51]}, "valid": {"loss": [51]},
    "test": {"loss": [51]}}``. Each curve is the mean over TaskSet's 5 replicas. The DPL download script wrote the
    raw channels 0, 1, 2 as ``train``, ``valid``, ``test``; raw channel 2 is TaskSet's *second validation split*
    (``valid2``), not its test split (channel 3). lcsim names the metrics honestly: ``train_loss``, ``valid_loss``,
    ``valid2_loss`` (the json's ``"test"``). Task shape (1000, 1, 51, 3).

``task_set_data/<task>/adam8p_wide_grid_1k_10000_replica5.npz`` (TaskSet's upstream files)
    Keys ``optimizers`` (1000 names ``adam8p_wide_grid_seed<k>``), ``xs`` (51 inner-iteration counts) and ``ys``
    of shape (1000, 5, 51, 4), last axis [train, valid1, valid2, test]. The 5 replicas become 5 seeds; metrics
    ``train_loss``, ``valid_loss``, ``valid2_loss``, ``test_loss``. Task shape (1000, 5, 51, 4). The files store
    only each configuration's sampler seed; the hyperparameters are recomputed with
    :func:`sample_adam8p_wide_grid`, a re-implementation of TaskSet's ``adam8p_wide_grid`` sampler (the tests check it
    reproduces all 1000 configurations of the DPL json files exactly).

Task names are the json file stems (or the raw folder names). With ``source="auto"`` (default) a task present as
json is read from json, otherwise from the raw npz.

Common to both: objective ``valid_loss`` (cross-entropy, minimized; TaskSet records no accuracy and no runtime), a
unit cost per step (``cost_unit="unit"``), fidelities 1..51 (one step = 200 inner training iterations), and the
8-dimensional space of DPL appendix B with TaskSet's sampler bounds; every hyperparameter except ``beta1`` and
``beta2`` is log-scaled. A run is diverged when any of its values is NaN (0-245 of 1000 curves per json task).

Filter rule (option ``filter``):

``"dpl"`` (default)
    The DPL pool (below). It is the default because the unfiltered pools hold diverged-but-finite runs (losses
    up to ~1e17) that make the worst value, and so every normalized regret, meaningless (~1e-18 for every method).
``"none"``
    Every configuration is kept; diverged runs stay in the pool, flagged in ``Task.diverged``, and are served at
    the task's worst finite value (see :mod:`lcsim.benchmarks._base`).
``"dpl"`` (the pool)
    The DPL authors' protocol (their ``benchmarks/taskset.py``, ``filter_curves``), applied to the seed-averaged
    validation curves ``V`` (n_cfg, n_epoch): let ``q_e`` be the 95 % quantile (linear interpolation, NaN skipped)
    of column ``e`` and ``t = min_e q_e``; keep configuration ``i`` iff every ``V[i, e]`` is finite and
    ``V[i, e] < t``. The pool shrinks (:meth:`Task.subset`), so the oracle (best/worst final value) comes from the
    filtered pool. The DPL code's own normalizer uses the best and worst value at *any* step of the filtered pool;
    both are stored in ``task.extra["dpl_oracle"]``.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
from ConfigSpace import ConfigurationSpace, Float

from ..errors import DataFormatError, DataNotFoundError, check_choice
from ._base import Metric, Task
from ._cache import cached, check_options, source_checksum
from ._datafiles import access_error, check_readable
from ._registry import Benchmark

__all__ = ["TaskSetBenchmark", "HP_NAMES", "LOG_HPS", "DPL_TASKS", "taskset_space", "sample_adam8p_wide_grid",
           "dpl_filter", "parse_dpl_json", "parse_raw_npz", "RAW_FILE"]

HP_NAMES = ["learning_rate", "beta1", "beta2", "epsilon", "l1", "l2", "linear_decay", "exponential_decay"]
LOG_HPS = {"learning_rate", "epsilon", "l1", "l2", "linear_decay", "exponential_decay"}
RAW_FILE = "adam8p_wide_grid_1k_10000_replica5.npz"
RAW_CHANNELS = ["train_loss", "valid_loss", "valid2_loss", "test_loss"]
JSON_CHANNELS = [("train", "train_loss"), ("valid", "valid_loss"), ("test", "valid2_loss")]
DOWNLOAD = "python -m lcsim.data download taskset"

# TaskSet's adam8p_wide_grid sampler: name -> (low, high) of the log-uniform draw, in draw order. beta1 and beta2
# are drawn as 1 - logU(low, high).
_SAMPLER = [("learning_rate", 1e-8, 1e1), ("beta1", 1e-4, 1e0), ("beta2", 1e-6, 1e0), ("epsilon", 1e-10, 1e3),
            ("l1", 1e-8, 1e1), ("l2", 1e-8, 1e1), ("linear_decay", 1e-7, 1e-4), ("exponential_decay", 1e-3, 1e-6)]

# the 12 NLP tasks of the DPL paper (section 6.1), listed even when their files are absent
DPL_TASKS = [
    "FixedTextRNNClassification_imdb_patch128_LSTM128_avg_bs64",
    "FixedTextRNNClassification_imdb_patch128_LSTM128_bs64",
    "FixedTextRNNClassification_imdb_patch128_LSTM128_embed128_bs64",
    "FixedTextRNNClassification_imdb_patch32_GRU128_bs128",
    "FixedTextRNNClassification_imdb_patch32_GRU64_avg_bs128",
    "FixedTextRNNClassification_imdb_patch32_IRNN64_relu_avg_bs128",
    "FixedTextRNNClassification_imdb_patch32_IRNN64_relu_last_bs128",
    "FixedTextRNNClassification_imdb_patch32_LSTM128_E128_bs128",
    "FixedTextRNNClassification_imdb_patch32_LSTM128_bs128",
    "FixedTextRNNClassification_imdb_patch32_VRNN128_tanh_bs128",
    "FixedTextRNNClassification_imdb_patch32_VRNN64_relu_avg_bs128",
    "FixedTextRNNClassification_imdb_patch32_VRNN64_tanh_avg_bs128",
]


def sample_adam8p_wide_grid(seed: int) -> dict[str, float]:
    """The ``adam8p_wide_grid`` configuration of TaskSet sampler seed ``seed``.

    Re-implements TaskSet's sampler (google-research ``task_set/optimizers/adam8p.py``): one legacy
    ``numpy.random.RandomState(seed)`` draws, in the order of :data:`HP_NAMES`, ``exp(U(log low, log high))`` per
    hyperparameter, with ``beta1 = 1 - draw`` and ``beta2 = 1 - draw``. The legacy generator is used only because the
    recorded data were produced with it; lcsim's own randomness never uses it.
    """
    rng = np.random.RandomState(int(seed))
    cfg = {}
    for name, low, high in _SAMPLER:
        v = float(np.exp(rng.uniform(np.log(float(low)), np.log(float(high)))))
        cfg[name] = 1.0 - v if name in ("beta1", "beta2") else v
    return cfg


def taskset_space() -> ConfigurationSpace:
    """The 8-D adam8p search space (DPL appendix B): all log-scaled except ``beta1``, ``beta2``."""
    space = ConfigurationSpace(seed=0)
    hps = []
    for name, low, high in _SAMPLER:
        lo, hi = min(low, high), max(low, high)
        if name in ("beta1", "beta2"):
            hps.append(Float(name, (1.0 - hi, 1.0 - lo), log=False))
        else:
            hps.append(Float(name, (lo, hi), log=True))
    space.add(hps)
    return space


def dpl_filter(valid: np.ndarray) -> np.ndarray:
    """Indices kept by the DPL authors' TaskSet filter (module docstring), ``valid`` of shape (n_cfg, n_epoch)."""
    v = np.asarray(valid, dtype=float)
    if v.ndim != 2:
        raise DataFormatError(f"dpl_filter needs a (n_cfg, n_epoch) array; got shape {v.shape}.")
    with np.errstate(invalid="ignore"):
        q = np.nanquantile(v, 0.95, axis=0)          # per-epoch 95 % quantile, NaN skipped (as pandas does)
        thr = np.nanmin(q)
        keep = np.all(np.isfinite(v), axis=1) & np.all(v < thr, axis=1)
    return np.flatnonzero(keep)


def _dataroot() -> Path:
    from . import data_root

    return data_root() / "taskset"


def _not_found(where: Path) -> DataNotFoundError:
    return DataNotFoundError(
        f"TaskSet data not found at {where} (expected dpl_json/<task>.json or task_set_data/<task>/{RAW_FILE}). "
        f"Run `{DOWNLOAD}` or set LCSIM_DATA to a folder holding taskset/.")


def parse_dpl_json(path: str | Path) -> tuple[pd.DataFrame, np.ndarray]:
    """Parse one DPL TaskSet json file.

    Returns:
        ``(configs, curves)``: a DataFrame (n_cfg, 8) in :data:`HP_NAMES` order and curves of shape
        (n_cfg, 1, n_epoch, 3) with channels ``train_loss``, ``valid_loss``, ``valid2_loss``.

    Raises:
        DataFormatError: truncated or malformed json, a missing key, or curves of unequal length.
        DataAccessError: the file cannot be read (permissions).
    """
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            records = json.load(fh)
    except OSError as exc:
        raise access_error(exc, path) from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataFormatError(f"{path}: not valid JSON ({exc}); the file is truncated or corrupt. "
                              f"Re-download it with `{DOWNLOAD}`.") from exc
    if not isinstance(records, list) or not records:
        raise DataFormatError(f"{path}: expected a non-empty JSON list of records, got {type(records).__name__}.")
    n = len(records)
    n_epoch = None
    hp = np.empty((n, len(HP_NAMES)))
    curves = None
    for i, rec in enumerate(records):
        try:
            hp[i] = [float(rec["hp"][k]) for k in HP_NAMES]
            rows = [rec[src]["loss"] for src, _ in JSON_CHANNELS]
        except (KeyError, TypeError, ValueError) as exc:
            raise DataFormatError(
                f"{path}: record {i} lacks {exc} (each record needs 'hp' with {HP_NAMES} and "
                f"'train'/'valid'/'test' with a 'loss' list).") from exc
        for (src, _), row in zip(JSON_CHANNELS, rows):
            if not isinstance(row, list):
                raise DataFormatError(f"{path}: record {i} '{src}' loss is not a list.")
            if n_epoch is None:
                n_epoch = len(row)
                if n_epoch == 0:
                    raise DataFormatError(f"{path}: record 0 has an empty '{src}' curve.")
                curves = np.empty((n, 1, n_epoch, len(JSON_CHANNELS)))
            if len(row) != n_epoch:
                raise DataFormatError(
                    f"{path}: record {i} '{src}' curve has {len(row)} values, expected {n_epoch} like record 0.")
        try:
            curves[i, 0] = np.array(rows, dtype=float).T
        except (TypeError, ValueError) as exc:
            raise DataFormatError(f"{path}: record {i} holds a non-numeric loss value ({exc}).") from exc
    configs = pd.DataFrame(hp, columns=HP_NAMES)
    return configs, curves


def parse_raw_npz(path: str | Path) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, list[str]]:
    """Parse one upstream TaskSet ``adam8p_wide_grid_1k_10000_replica5.npz``.

    Returns:
        ``(configs, curves, xs, optimizer_names)``: configs (n_cfg, 8) recomputed from the sampler seeds, curves of
        shape (n_cfg, 5, n_step, 4) with channels [train, valid1, valid2, test], ``xs`` (n_step,) inner iterations.

    Raises:
        DataFormatError: unreadable file, missing keys, a wrong ``ys`` shape or an optimizer name without a seed.
    """
    import re

    path = Path(path)

    def read(allow_pickle: bool):
        with np.load(path, allow_pickle=allow_pickle) as z:
            missing = {"optimizers", "xs", "ys"} - set(z.files)
            if missing:
                raise DataFormatError(f"{path}: keys {sorted(missing)} missing (expected optimizers, xs, ys).")
            ys_, xs_ = z["ys"], z["xs"]          # numeric arrays: never unpickled
            return z["optimizers"], xs_, ys_

    try:
        try:
            names, xs, ys = read(False)
        except ValueError as exc:
            if "allow_pickle" not in str(exc):
                raise
            # some writers store the optimizer names as an object array; only that array is unpickled
            names, xs, ys = read(True)
    except DataFormatError:
        raise
    except PermissionError as exc:
        raise access_error(exc, path) from exc
    except Exception as exc:  # BadZipFile, EOFError, ValueError ...
        raise DataFormatError(f"{path}: not a readable TaskSet npz ({type(exc).__name__}: {exc}). "
                              f"Re-download it with `{DOWNLOAD}`.") from exc
    if np.asarray(ys).dtype == object or np.asarray(xs).dtype == object:
        raise DataFormatError(f"{path}: 'xs' and 'ys' must be numeric arrays.")
    ys = np.asarray(ys, dtype=float)
    if ys.ndim != 4 or ys.shape[3] != 4:
        raise DataFormatError(f"{path}: 'ys' must have shape (n_cfg, n_replica, n_step, 4) with channels "
                              f"[train, valid1, valid2, test]; got {ys.shape}.")
    names = [n.decode() if isinstance(n, bytes) else str(n) for n in np.asarray(names).ravel()]
    if len(names) != ys.shape[0]:
        raise DataFormatError(f"{path}: {len(names)} optimizer names but 'ys' has {ys.shape[0]} configurations.")
    xs = np.asarray(xs)
    if xs.ndim == 0 or xs.shape[-1] != ys.shape[2]:
        raise DataFormatError(f"{path}: 'xs' has shape {xs.shape}; its last axis must hold the {ys.shape[2]} steps.")
    xs = xs.reshape(-1, ys.shape[2])[0]      # (n_step,), or the first row of a per-run array
    seeds = []
    for n in names:
        m = re.search(r"seed(\d+)$", n)
        if not m:
            raise DataFormatError(f"{path}: optimizer name {n!r} does not end in 'seed<k>'.")
        seeds.append(int(m.group(1)))
    configs = pd.DataFrame([sample_adam8p_wide_grid(s) for s in seeds], columns=HP_NAMES)
    return configs, ys, xs, names


class TaskSetBenchmark(Benchmark):
    """TaskSet adam8p_wide_grid_1k tasks (module docstring: layouts, metrics, filter rule).

    Options of :meth:`load`:
        filter: ``"dpl"`` (default: the DPL authors' filter, see the module docstring) or ``"none"`` (keep every
            configuration, divergence explicit).
        source: ``"auto"`` (default: json if present, else raw npz), ``"dpl_json"`` or ``"raw"``.
        cache: read/write the parsed-task cache (default ``True``).
    """

    name = "taskset"

    def _json_dir(self) -> Path:
        return _dataroot() / "dpl_json"

    def _raw_dir(self) -> Path:
        return _dataroot() / "task_set_data"

    def json_files(self) -> list[Path]:
        """The ``dpl_json/<task>.json`` files present (:class:`DataAccessError` if the folder cannot be read)."""
        return self._files(self._json_dir(), "*.json")

    def raw_files(self) -> list[Path]:
        """The ``task_set_data/<task>/`` npz files present (:class:`DataAccessError` if a folder cannot be read)."""
        return self._files(self._raw_dir(), f"*/{RAW_FILE}")

    @staticmethod
    def _files(d: Path, pattern: str) -> list[Path]:
        """Files matching ``pattern`` in ``d``, hidden ones (the downloader's ``.lcsim-download.json``) left out."""
        check_readable(d)            # glob would silently find nothing in an unreadable folder
        try:
            return sorted(p for p in d.glob(pattern) if not p.name.startswith(".")) if d.is_dir() else []
        except OSError as exc:
            raise access_error(exc, d) from exc

    def tasks(self) -> list[str]:
        names = sorted({p.stem for p in self.json_files()} | {p.parent.name for p in self.raw_files()})
        if not names:
            raise _not_found(_dataroot())
        return names

    def _load(self, task: str, **options) -> Task:
        check_options("TaskSetBenchmark.load", options, ["filter", "source", "cache"])
        return self._load_task(task, **options)

    def _load_task(self, task: str, filter: str = "dpl", source: str = "auto", cache: bool = True) -> Task:
        check_choice("TaskSetBenchmark.load", "filter", filter, ["none", "dpl"])
        check_choice("TaskSetBenchmark.load", "source", source, ["auto", "dpl_json", "raw"])
        jpath = self._json_dir() / f"{task}.json"
        rpath = self._raw_dir() / task / RAW_FILE
        if source == "auto":
            source = "dpl_json" if jpath.is_file() else "raw"
        path = jpath if source == "dpl_json" else rpath
        check_readable(path)
        if not path.is_file():
            raise DataNotFoundError(f"TaskSet task {task!r} has no {source} file at {path}. Run `{DOWNLOAD}`, or "
                                    f"pass source='auto'.")

        def build():
            return _build(task, path, source, filter)
        return cached(self.name, task, {"filter": filter, "source": source}, [path], build, use_cache=cache)


def _build(task: str, path: Path, source: str, filter: str) -> Task:
    digest = source_checksum(path)
    extra = {"source": source, "file": path.name, "sha256": digest, "filter": filter}
    if source == "dpl_json":
        configs, curves = parse_dpl_json(path)
        names = [m for _, m in JSON_CHANNELS]
        extra["note"] = "valid2_loss is the DPL json's 'test' entry: TaskSet raw channel 2 (valid2), not test."
        extra["replicas"] = "mean over TaskSet's 5 replicas (done by the DPL download script)"
    else:
        configs, curves, xs, _ = parse_raw_npz(path)
        names = RAW_CHANNELS
        extra["inner_iterations"] = [int(x) for x in xs]
    n_cfg, n_seed, n_epoch, _ = curves.shape
    metrics = {m: Metric(m, True, (0.0, math.inf)) for m in names}
    # a run is diverged when any channel holds a non-finite value
    diverged = ~np.all(np.isfinite(curves), axis=(2, 3))
    version = f"taskset-{source}-{digest[:12]}" + ("-dplfilter" if filter == "dpl" else "")
    full = Task(benchmark="taskset", name=task, configs=configs, curves=curves, metrics=metrics,
                objective="valid_loss", space=taskset_space(), epoch_cost=1.0, cost_unit="unit", diverged=diverged,
                version=version, fidelities=np.arange(1, n_epoch + 1), extra=extra)
    if filter == "none":
        return full
    valid = curves[..., names.index("valid_loss")]
    with np.errstate(invalid="ignore"):
        mean_valid = valid.mean(axis=1)          # NaN in any replica -> NaN, as in the DPL json files
    keep = dpl_filter(mean_valid)
    if keep.size == 0:
        raise DataFormatError(f"TaskSet {task}: the DPL filter removed every configuration.")
    sub = full.subset(keep)
    kept = mean_valid[keep]
    sub.extra = dict(sub.extra, kept_config_ids=[int(i) for i in keep], n_source_configs=int(n_cfg),
                     dpl_oracle={"best": float(kept.min()), "worst": float(kept.max())})
    return sub
