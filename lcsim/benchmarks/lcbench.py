"""LCBench (Zimmer et al., 2021): 2,000 MLP configurations x 35 OpenML datasets, curves of 50 epochs.

Two on-disk layouts are read, both under ``$LCSIM_DATA/lcbench/``:

* **raw** -- the official ``data_2k_lw.json`` (or the full ``data_2k.json``), or the figshare zip holding it
  (``data_2k_lw.zip`` / ``data_2k.zip``). Layout ``{dataset: {config_id: {"config": {...}, "log": {tag: [52 values]},
  "results": {...}}}}``. Each log tag holds 52 points: index 0 is the model scored before training, indices 1..50
  are epochs 1..50 and index 51 repeats index 50. Following DPL (appendix B, "we use the benchmark information
  starting from the second step and we skip the last step") and syne-tune's conversion, lcsim keeps indices 1..50.
* **syne_tune** -- syne-tune's converted blackbox (``hyperparameters.parquet``, ``objectives_evaluations.npy`` of
  shape (n_task, 2000, 1, 50, 7), ``fidelities_values.npy``, ``configspace.json``, ``metadata.json``), as written by
  ``syne_tune/blackbox_repository/conversion_scripts/scripts/lcbench/lcbench.py``. Its objective order is
  ``val_accuracy, val_balanced_accuracy, val_cross_entropy, test_accuracy, test_balanced_accuracy,
  test_cross_entropy, time``, ``time`` being cumulative seconds since the end of the pre-training scoring
  (``time[1:-1] - time[0]`` of the raw tag). Its ``num_layers`` column is a string (``"True"``, ``"2"``, ...): the
  raw data stores one layer as JSON ``true``; lcsim maps it back to the integer 1.

Both layouts give the same Task: metrics named ``val_balanced_accuracy`` (the default objective, maximized, in
[0, 1]), ``val_accuracy`` / ``test_accuracy`` / ``train_accuracy`` (percent), ``val_cross_entropy``,
``test_cross_entropy``, ``test_balanced_accuracy`` and ``train_loss`` (raw layout only, with any other known tag the
file holds); per-epoch cost in seconds is the difference of the cumulative ``time`` tag,
``cost[e] = time[e] - time[e-1]`` for epochs e = 1..50 (so the pre-training scoring is not charged).

Search space: LCBench's 7 hyperparameters with the ranges of Zimmer et al. (2021), table 1 -- batch_size [16, 512]
log, learning_rate [1e-4, 1e-1] log, momentum [0.1, 0.99], weight_decay [1e-5, 1e-1], num_layers [1, 5],
max_units [64, 1024] log, max_dropout [0, 1].

The whole raw json (~975 MB for ``data_2k_lw.json``) is parsed once per process and kept in memory (the most recent
file only; :func:`clear_cache` frees it); parsed tasks can be cached on disk by the data layer's task cache.
"""
from __future__ import annotations

import io
import json
import math
import os
import zipfile
import zlib
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
from ConfigSpace import ConfigurationSpace, Float, Integer

from ..errors import DataFormatError, DataNotFoundError, check_choice, unknown_name
from ._base import Metric, Task
from ._cache import cached
from ._registry import Benchmark

__all__ = ["LCBenchBenchmark", "LCBENCH_DATASETS", "LCBENCH_HPS", "TAG_METRICS", "SYNE_TUNE_OBJECTIVES",
           "lcbench_space", "read_raw", "clear_cache", "find_files", "DOWNLOAD_HINT"]

DOWNLOAD_HINT = "run `python -m lcsim.data download lcbench` (or point LCSIM_DATA at a folder holding lcbench/)"

#: The 35 datasets of LCBench used in the DPL paper (names as keys of the raw json).
LCBENCH_DATASETS = [
    "APSFailure", "Amazon_employee_access", "Australian", "Fashion-MNIST", "KDDCup09_appetency", "MiniBooNE",
    "adult", "airlines", "albert", "bank-marketing", "blood-transfusion-service-center", "car", "christine",
    "cnae-9", "connect-4", "covertype", "credit-g", "dionis", "fabert", "helena", "higgs", "jannis", "jasmine",
    "jungle_chess_2pcs_raw_endgame_complete", "kc1", "kr-vs-kp", "mfeat-factors", "nomao", "numerai28.6", "phoneme",
    "segment", "shuttle", "sylvine", "vehicle", "volkert",
]

#: hyperparameter -> (low, high, log, integer), Zimmer et al. (2021) table 1.
LCBENCH_HPS: dict[str, tuple[float, float, bool, bool]] = {
    "batch_size": (16, 512, True, True),
    "learning_rate": (1e-4, 1e-1, True, False),
    "momentum": (0.1, 0.99, False, False),
    "weight_decay": (1e-5, 1e-1, False, False),
    "num_layers": (1, 5, False, True),
    "max_units": (64, 1024, True, True),
    "max_dropout": (0.0, 1.0, False, False),
}

#: lcsim metric name -> (raw log tag, minimize, bounds); order = order of the Task's metric axis.
TAG_METRICS: dict[str, tuple[str, bool, tuple[float, float]]] = {
    "val_balanced_accuracy": ("Train/val_balanced_accuracy", False, (0.0, 1.0)),
    "val_accuracy": ("Train/val_accuracy", False, (0.0, 100.0)),
    "val_cross_entropy": ("Train/val_cross_entropy", True, (0.0, math.inf)),
    "test_balanced_accuracy": ("Train/test_balanced_accuracy", False, (0.0, 1.0)),
    "test_accuracy": ("Train/test_result", False, (0.0, 100.0)),
    "test_cross_entropy": ("Train/test_cross_entropy", True, (0.0, math.inf)),
    "train_loss": ("Train/loss", True, (0.0, math.inf)),
    "train_accuracy": ("Train/train_accuracy", False, (0.0, 100.0)),
    "train_balanced_accuracy": ("Train/train_balanced_accuracy", False, (0.0, 1.0)),
    "train_cross_entropy": ("Train/train_cross_entropy", True, (0.0, math.inf)),
}

#: objective names of syne-tune's converted LCBench blackbox, in its order.
SYNE_TUNE_OBJECTIVES = ["val_accuracy", "val_balanced_accuracy", "val_cross_entropy", "test_accuracy",
                        "test_balanced_accuracy", "test_cross_entropy", "time"]

RAW_FILES = {"lw": ["data_2k_lw.json", "data_2k_lw.zip"], "full": ["data_2k.json", "data_2k.zip"]}
PREPROCESSING = "dpl-steps-2-51"  # indices 1..50 of the 52 logged points


def lcbench_space(seed: int = 0) -> ConfigurationSpace:
    """LCBench's search space (7 hyperparameters, log scales as in Zimmer et al. 2021)."""
    space = ConfigurationSpace(seed=seed)
    hps = []
    for name, (lo, hi, log, integer) in LCBENCH_HPS.items():
        hps.append(Integer(name, (int(lo), int(hi)), log=log) if integer else Float(name, (lo, hi), log=log))
    space.add(hps)
    return space


# ---------------------------------------------------------------------------------------------------------- files
def find_files(root: str | os.PathLike | None = None) -> dict:
    """Locate LCBench files under ``root/lcbench`` (``root`` defaults to the data root).

    Returns a dict with ``raw`` (``{"lw": path|None, "full": path|None}``) and ``syne_tune`` (the directory holding
    syne-tune's ``metadata.json``, or None).
    """
    if root is None:
        from . import data_root

        root = data_root()
    base = Path(root) / "lcbench"
    raw = {}
    for variant, names in RAW_FILES.items():
        raw[variant] = next((base / n for n in names if (base / n).is_file()), None)
    syne = None
    for cand in (base, base / "syne_tune"):
        if (cand / "metadata.json").is_file() and (cand / "objectives_evaluations.npy").is_file():
            syne = cand
            break
    return {"base": base, "raw": raw, "syne_tune": syne}


_RAW_CACHE: dict = {}


def clear_cache() -> None:
    """Forget the raw json kept in memory."""
    _RAW_CACHE.clear()


def _load_json_bytes(stream, label: str):
    try:
        return json.load(io.TextIOWrapper(stream, encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError, EOFError, zipfile.BadZipFile, zlib.error, OSError) as exc:
        raise DataFormatError(f"{label} is not valid LCBench json ({type(exc).__name__}: {exc}); the file is "
                              f"truncated or corrupt. Delete it and {DOWNLOAD_HINT}.") from exc


def read_raw(path: str | os.PathLike, cache: bool = True) -> dict:
    """Read a raw LCBench json (``.json``, or the ``.zip`` holding it) into the nested dict it stores.

    Args:
        path: ``data_2k_lw.json``/``data_2k.json`` or the official zip holding one json member.
        cache: keep the parsed dict in memory for the next call with the same file (size and mtime unchanged).

    Raises:
        DataNotFoundError: the file does not exist.
        DataFormatError: not json, truncated, or not the ``{dataset: {config_id: {...}}}`` layout.
    """
    path = Path(path)
    if not path.is_file():
        raise DataNotFoundError(f"LCBench file {path} not found; {DOWNLOAD_HINT}.")
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    if cache and key in _RAW_CACHE:
        return _RAW_CACHE[key]
    if path.suffix == ".zip":
        try:
            with zipfile.ZipFile(path) as zf:
                members = [m for m in zf.namelist() if m.endswith(".json") and not m.startswith("__MACOSX")]
                if len(members) != 1:
                    raise DataFormatError(f"{path} should hold exactly one .json member; found {members}. "
                                          f"Delete it and {DOWNLOAD_HINT}.")
                with zf.open(members[0]) as fh:
                    data = _load_json_bytes(fh, f"{path}:{members[0]}")
        except zipfile.BadZipFile as exc:
            raise DataFormatError(f"{path} is not a readable zip ({exc}); delete it and {DOWNLOAD_HINT}.") from exc
    else:
        with open(path, "rb") as fh:
            data = _load_json_bytes(fh, str(path))
    _check_layout(data, str(path))
    if cache:
        _RAW_CACHE.clear()
        _RAW_CACHE[key] = data
    return data


def _check_layout(data, label: str) -> None:
    if not isinstance(data, dict) or not data:
        raise DataFormatError(f"{label}: expected a json object {{dataset: {{config_id: run}}}}; got "
                              f"{type(data).__name__}.")
    for ds, runs in data.items():
        if not isinstance(runs, dict) or not runs:
            raise DataFormatError(f"{label}: dataset {ds!r} should map config ids to runs; got {type(runs).__name__}.")
        first = next(iter(runs.values()))
        if not isinstance(first, dict) or "config" not in first or "log" not in first:
            raise DataFormatError(f"{label}: runs of dataset {ds!r} need 'config' and 'log' entries.")


# -------------------------------------------------------------------------------------------------------- parsing
def _num_layers(v) -> int:
    """LCBench stores one layer as JSON ``true`` (syne-tune: "True"); map every spelling to an int."""
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, str):
        if v.strip().lower() == "true":
            return 1
        return int(float(v))
    return int(v)


def _configs_frame(rows: list[Mapping], label: str) -> pd.DataFrame:
    cols = {}
    for name, (_lo, _hi, _log, integer) in LCBENCH_HPS.items():
        try:
            if name == "num_layers":
                vals = [_num_layers(r[name]) for r in rows]
            else:
                vals = [float(r[name]) for r in rows]
        except KeyError as exc:
            raise DataFormatError(f"{label}: configuration without hyperparameter {name!r}.") from exc
        except (TypeError, ValueError) as exc:
            raise DataFormatError(f"{label}: non-numeric value of hyperparameter {name!r} ({exc}).") from exc
        arr = np.asarray(vals, dtype=float)
        cols[name] = np.round(arr).astype(np.int64) if integer else arr
    return pd.DataFrame(cols)


def _sorted_ids(ids) -> list[str]:
    ids = list(ids)
    if all(str(i).lstrip("-").isdigit() for i in ids):
        return sorted(ids, key=lambda s: int(s))
    return ids


def _as_float(values, label: str) -> np.ndarray:
    try:
        return np.asarray([np.nan if v is None else float(v) for v in values], dtype=float)
    except (TypeError, ValueError) as exc:
        raise DataFormatError(f"{label}: non-numeric curve value ({exc}).") from exc


def parse_raw_dataset(runs: Mapping, name: str, version: str = "lcbench-raw", source: str = "") -> Task:
    """Build the :class:`Task` of one dataset from its raw ``{config_id: run}`` mapping (pure function).

    Keeps indices 1..L-2 of each length-L log tag (DPL's preprocessing; L = 52 gives 50 epochs) and charges epoch e
    ``time[e] - time[e-1]`` seconds.
    """
    label = f"LCBench {source or 'raw'} dataset {name!r}"
    if not isinstance(runs, Mapping) or not runs:
        raise DataFormatError(f"{label}: no runs.")
    ids = _sorted_ids(runs.keys())
    first = runs[ids[0]]
    if not isinstance(first, Mapping) or "log" not in first or "config" not in first:
        raise DataFormatError(f"{label}: run {ids[0]!r} needs 'config' and 'log'.")
    tags = first["log"]
    metric_names = [m for m, (tag, _, _) in TAG_METRICS.items() if tag in tags]
    if "val_balanced_accuracy" not in metric_names:
        raise DataFormatError(f"{label}: log has no 'Train/val_balanced_accuracy' tag; tags found: {list(tags)}.")
    if "time" not in tags:
        raise DataFormatError(f"{label}: log has no 'time' tag; tags found: {list(tags)}.")
    length = len(tags["Train/val_balanced_accuracy"])
    if length < 3:
        raise DataFormatError(f"{label}: curves of {length} points; LCBench logs 52 (at least 3 are needed).")
    n_epoch = length - 2
    curves = np.empty((len(ids), 1, n_epoch, len(metric_names)))
    cost = np.empty((len(ids), 1, n_epoch))
    rows = []
    n_negative = 0
    for i, cid in enumerate(ids):
        run = runs[cid]
        if not isinstance(run, Mapping) or not isinstance(run.get("log"), Mapping) or \
                not isinstance(run.get("config"), Mapping):
            raise DataFormatError(f"{label}: run {cid!r} needs 'config' and 'log' objects.")
        log = run["log"]
        for j, m in enumerate(metric_names):
            tag = TAG_METRICS[m][0]
            if tag not in log:
                raise DataFormatError(f"{label}: run {cid!r} lacks tag {tag!r}.")
            vals = _as_float(log[tag], f"{label} run {cid!r} tag {tag!r}")
            if vals.shape != (length,):
                raise DataFormatError(f"{label}: run {cid!r} tag {tag!r} has {vals.size} points; expected {length} "
                                      "like the other runs (truncated file?).")
            curves[i, 0, :, j] = vals[1:-1]
        t = _as_float(log["time"], f"{label} run {cid!r} tag 'time'")
        if t.shape != (length,):
            raise DataFormatError(f"{label}: run {cid!r} tag 'time' has {t.size} points; expected {length}.")
        d = np.diff(t[: length - 1])
        n_negative += int(np.sum(d < 0))
        cost[i, 0] = np.maximum(d, 0.0)
        rows.append(run["config"])
    configs = _configs_frame(rows, label)
    metrics = {m: Metric(m, TAG_METRICS[m][1], TAG_METRICS[m][2]) for m in metric_names}
    extra = {"source": source or "raw", "preprocessing": PREPROCESSING, "config_ids": [str(c) for c in ids],
             "negative_time_steps_clipped": n_negative}
    return Task("lcbench", name, configs, curves, metrics, "val_balanced_accuracy", lcbench_space(), cost,
                "seconds", np.zeros((len(ids), 1), dtype=bool), version, None, extra)


def _read_syne_metadata(directory: Path) -> dict:
    try:
        meta = json.loads((directory / "metadata.json").read_text())
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataFormatError(f"{directory}/metadata.json is not readable json ({exc}); {DOWNLOAD_HINT}.") from exc
    if not isinstance(meta, dict) or not isinstance(meta.get("task_names"), list) or \
            not isinstance(meta.get("objectives_names"), list):
        raise DataFormatError(f"{directory}/metadata.json lacks 'task_names'/'objectives_names' lists.")
    return meta


def _load_npy(path: Path) -> np.ndarray:
    if not path.is_file():
        raise DataNotFoundError(f"{path} not found; {DOWNLOAD_HINT}.")
    try:
        return np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise DataFormatError(f"{path} is not a readable .npy file ({exc}); delete the folder and re-create it.") \
            from exc


def _read_parquet(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise DataNotFoundError(f"{path} not found; {DOWNLOAD_HINT}.")
    try:
        return pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises its own ArrowInvalid / OSError
        raise DataFormatError(f"{path} is not a readable parquet file ({type(exc).__name__}: {exc}).") from exc


def parse_syne_tune(directory: str | os.PathLike, name: str) -> Task:
    """Build one dataset's :class:`Task` from syne-tune's converted LCBench blackbox folder."""
    directory = Path(directory)
    meta = _read_syne_metadata(directory)
    tasks, objs = meta["task_names"], meta["objectives_names"]
    if name not in tasks:
        raise unknown_name("lcbench task", name, tasks)
    if "time" not in objs or "val_balanced_accuracy" not in objs:
        raise DataFormatError(f"{directory}/metadata.json objectives {objs} lack 'time' or 'val_balanced_accuracy'.")
    hp = _read_parquet(directory / "hyperparameters.parquet")
    ev = _load_npy(directory / "objectives_evaluations.npy")
    fid = _load_npy(directory / "fidelities_values.npy")
    if ev.ndim != 5 or ev.shape[0] != len(tasks) or ev.shape[1] != len(hp) or ev.shape[4] != len(objs):
        raise DataFormatError(
            f"{directory}/objectives_evaluations.npy has shape {ev.shape}; expected (n_task={len(tasks)}, "
            f"n_config={len(hp)}, n_seed, n_fidelity, n_objective={len(objs)}).")
    if fid.shape != (ev.shape[3],):
        raise DataFormatError(f"{directory}/fidelities_values.npy has shape {fid.shape}; expected ({ev.shape[3]},).")
    block = ev[tasks.index(name)].astype(float)  # (n_cfg, n_seed, n_epoch, n_obj)
    metric_names = [m for m in TAG_METRICS if m in objs]
    curves = np.stack([block[..., objs.index(m)] for m in metric_names], axis=-1)
    t = block[..., objs.index("time")]
    cost = np.diff(t, axis=2, prepend=0.0)
    n_negative = int(np.sum(cost < 0))
    cost = np.maximum(cost, 0.0)
    rows = hp.to_dict("records")
    configs = _configs_frame(rows, f"{directory}/hyperparameters.parquet")
    metrics = {m: Metric(m, TAG_METRICS[m][1], TAG_METRICS[m][2]) for m in metric_names}
    size = (directory / "objectives_evaluations.npy").stat().st_size
    extra = {"source": "syne_tune", "preprocessing": PREPROCESSING, "directory": str(directory),
             "negative_time_steps_clipped": n_negative}
    return Task("lcbench", name, configs, curves, metrics, "val_balanced_accuracy", lcbench_space(), cost,
                "seconds", np.zeros(block.shape[:2], dtype=bool), f"lcbench-syne_tune-{size}B-{PREPROCESSING}",
                np.asarray(fid), extra)


def _source_files(where) -> list[Path]:
    """The files a parsed task depends on (their checksums key the parsed-task cache)."""
    where = Path(where)
    return sorted(p for p in where.iterdir() if p.is_file()) if where.is_dir() else [where]


def _parse(paths: Mapping, options: Mapping) -> Task:
    """Pure parse entry point: ``paths`` from :func:`find_files`, ``options`` with ``task`` and ``source``.

    Kept free of registry state so the data layer's on-disk task cache can wrap it.
    """
    name = options["task"]
    source = _pick_source(paths, options.get("source", "auto"), options.get("variant", "auto"))
    if source[0] == "syne_tune":
        return parse_syne_tune(source[1], name)
    path = source[1]
    data = read_raw(path)
    if name not in data:
        raise unknown_name("lcbench task", name, data)
    version = f"lcbench-{path.name}-{path.stat().st_size}B-{PREPROCESSING}"
    return parse_raw_dataset(data[name], name, version, source=path.name)


def _pick_source(paths: Mapping, source: str, variant: str) -> tuple[str, Path]:
    check_choice("LCBenchBenchmark.load", "source", source, ["auto", "raw", "syne_tune"])
    check_choice("LCBenchBenchmark.load", "variant", variant, ["auto", "lw", "full"])
    raw = paths["raw"]
    order = ["lw", "full"] if variant == "auto" else [variant]
    raw_path = next((raw[v] for v in order if raw.get(v) is not None), None)
    if source in ("auto", "raw") and raw_path is not None:
        return "raw", raw_path
    if source in ("auto", "syne_tune") and paths["syne_tune"] is not None:
        return "syne_tune", paths["syne_tune"]
    wanted = {"auto": "the raw json/zip or syne-tune's converted files", "raw": "the raw json/zip",
              "syne_tune": "syne-tune's converted files (metadata.json, objectives_evaluations.npy, ...)"}[source]
    names = [n for v in order for n in RAW_FILES[v]]
    raise DataNotFoundError(f"LCBench data not found: looked in {paths['base']} for {wanted} "
                            f"({', '.join(names)}; or metadata.json + objectives_evaluations.npy). {DOWNLOAD_HINT}.")


class LCBenchBenchmark(Benchmark):
    """LCBench tasks from the official raw json/zip or syne-tune's converted layout (see the module docstring).

    Load options:
        source: ``"auto"`` (raw if present, else syne-tune), ``"raw"`` or ``"syne_tune"``.
        variant: raw file to read: ``"auto"`` (``data_2k_lw`` first, then ``data_2k``), ``"lw"`` or ``"full"``.
        root: data root to read instead of ``$LCSIM_DATA``.
    """

    name = "lcbench"

    def __init__(self, root: str | os.PathLike | None = None):
        self.root = root

    def _paths(self, root=None) -> dict:
        return find_files(root if root is not None else self.root)

    def tasks(self, root=None) -> list[str]:
        """Dataset names in the files present (parsing the raw json if needed), else the published 35."""
        paths = self._paths(root)
        raw = paths["raw"]
        raw_path = raw["lw"] or raw["full"]
        if raw_path is not None:
            return list(read_raw(raw_path).keys())
        if paths["syne_tune"] is not None:
            return list(_read_syne_metadata(paths["syne_tune"])["task_names"])
        return list(LCBENCH_DATASETS)

    def load(self, task: str | None = None, **options) -> Task:
        root = options.get("root")
        names = self.tasks(root)
        if task is None:
            task = names[0]
        if task not in names:
            raise unknown_name("lcbench task", task, names)
        return self._load(task, **options)

    def _load(self, task: str, source: str = "auto", variant: str = "auto", root=None, cache: bool = True) -> Task:
        paths = self._paths(root)
        opts = {"task": task, "source": source, "variant": variant}
        picked = _pick_source(paths, source, variant)
        return cached(self.name, task, {"source": picked[0], "variant": variant}, _source_files(picked[1]),
                      lambda: _parse(paths, opts), use_cache=cache)
