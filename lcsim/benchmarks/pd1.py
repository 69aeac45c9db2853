"""PD1 (Wang et al., 2022, "Pre-trained Gaussian processes for Bayesian optimization"): deep-learning curves.

Two on-disk layouts, both under ``$LCSIM_DATA/pd1/``:

* **raw** -- ``pd1_{matched,unmatched}_phase{0,1}_results.jsonl.gz`` from ``pd1.tar.gz`` (CC-BY 4.0): JSON Lines,
  one trial per line with flat keys (``dataset``, ``model``, ``trial_dir``, ``status``, ``hps.*`` and arrays aligned
  with ``global_step``: ``valid/error_rate``, ``valid/ce_loss``, ``train/*``, ``test/*``, ``epoch``, ``eval_time``).
* **syne_tune** -- syne-tune's converted blackbox (``metadata.json``, ``configspace.json`` and per task
  ``{task}-hyperparameters.parquet``, ``{task}-objectives_evaluations.npy`` (n_cfg, 1, L, k),
  ``{task}-fidelity_values.npy``), as written by ``syne_tune/.../scripts/pd1_import.py`` (phase 1 only; objectives
  ``metric_valid_error_rate``, ``metric_valid_ce_loss``, ``metric_elapsed_time`` where available; the column
  ``one_minus_momentum`` holds ``1 - hps.opt_hparams.momentum``). syne-tune unpacks ``pd1.tar.gz`` into the same
  ``pd1/`` folder it writes its blackbox to, so that folder holds the raw files as well: under ``source="auto"`` the
  raw files win (all phases and groups); ``source="syne_tune"`` reads the converted files.

Task names follow syne-tune: ``{dataset}_{model}[_{activation_fn}]_batch_size_{batch_size}``.

Reading rules (raw layout):

* Phases 0 and 1 and matched/unmatched files are combined (option ``phases``, ``groups``); records are kept in file
  order ``matched_phase0, matched_phase1, unmatched_phase0, unmatched_phase1`` and de-duplicated on ``trial_dir``.
* The fidelity axis is the evaluation index 1..L, L = the longest ``valid/error_rate`` array of the task (syne-tune's
  ``global_step`` fidelity, the "curve length" of DPL appendix B). The mean ``epoch`` value at each index is kept in
  ``extra["epoch"]``. Shorter arrays are padded with NaN.
* DPL's task filter (appendix B: curve length in (10, 50]) is on by default (``dpl_filter=True``); the tasks it keeps
  are the 15 PD1 tasks of the paper.
* Divergence is explicit: a run is diverged when its ``status`` is ``"diverged"``, when an error rate lies outside
  [0, 1] (stored as NaN), or when its objective curve has a missing value (null / shorter curve).
* Cost: syne-tune reads ``eval_time`` as per-evaluation seconds (it takes their cumulative sum as elapsed time), and
  lcsim does the same by default (``cost="eval_time"``): epoch e costs ``eval_time[e]`` seconds.
  ``cost="eval_time_cumulative"`` reads it as a cumulative clock instead (cost = its differences) and
  ``cost="unit"`` charges 1 per evaluation. A task whose records carry no ``eval_time`` falls back to unit cost
  (``cost_unit == "unit"``, recorded in ``extra["cost_source"]``).

Search space (syne-tune / DPL appendix B): lr_initial_value [1e-5, 10] log, lr_power [0.1, 2], lr_decay_steps_factor
[0.01, 0.99], one_minus_momentum [1e-3, 1] log. The raw key ``hps.opt_hparams.momentum`` holds the momentum itself
(values in [0, 0.999]); syne-tune's conversion stores ``one_minus_momentum = 1 - momentum`` (``pd1_import.py`` maps
the column with ``1 - x`` before renaming it, and asserts the result lies in [1e-3, 1]). lcsim's configuration column
is ``one_minus_momentum`` in both layouts: the raw reader computes ``1 - hps.opt_hparams.momentum`` (in float64, the
same operation syne-tune applies), the syne-tune reader takes the column as stored, so one trial has one configuration
whichever layout it is read from.
"""
from __future__ import annotations

import gzip
import json
import math
import os
import zlib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from ConfigSpace import ConfigurationSpace, Float

from ..errors import DataFormatError, DataNotFoundError, InvalidParameterError, check_choice, unknown_name
from ._base import Metric, Task
from ._cache import cached
from ._registry import Benchmark

__all__ = ["PD1Benchmark", "PD1_DPL_TASKS", "PD1_HPS", "PD1_METRICS", "RAW_ONE_MINUS", "pd1_space", "task_name",
           "read_records", "raw_files", "DOWNLOAD_HINT", "clear_cache"]

DOWNLOAD_HINT = "run `python -m lcsim.data download pd1` (or point LCSIM_DATA at a folder holding pd1/)"

#: The 15 PD1 tasks of the DPL paper (curve length in (10, 50]).
PD1_DPL_TASKS = [
    "cifar100_wide_resnet_batch_size_256", "cifar10_wide_resnet_batch_size_256",
    "fashion_mnist_max_pooling_cnn_relu_batch_size_256", "fashion_mnist_max_pooling_cnn_tanh_batch_size_256",
    "fashion_mnist_simple_cnn_batch_size_256", "imagenet_resnet_batch_size_256", "imagenet_resnet_batch_size_512",
    "lm1b_transformer_batch_size_2048", "mnist_max_pooling_cnn_relu_batch_size_256",
    "mnist_max_pooling_cnn_tanh_batch_size_256", "mnist_simple_cnn_batch_size_256",
    "svhn_no_extra_wide_resnet_batch_size_1024", "svhn_no_extra_wide_resnet_batch_size_256",
    "translate_wmt_xformer_translate_batch_size_64", "uniref50_transformer_batch_size_128",
]

#: lcsim hyperparameter -> (raw key, low, high, log); see RAW_ONE_MINUS for the one stored as its complement
PD1_HPS: dict[str, tuple[str, float, float, bool]] = {
    "lr_initial_value": ("hps.lr_hparams.initial_value", 1e-5, 10.0, True),
    "lr_power": ("hps.lr_hparams.power", 0.1, 2.0, False),
    "lr_decay_steps_factor": ("hps.lr_hparams.decay_steps_factor", 0.01, 0.99, False),
    "one_minus_momentum": ("hps.opt_hparams.momentum", 1e-3, 1.0, True),
}

#: hyperparameters whose raw key holds ``1 - value``: the raw files store the momentum, lcsim (like syne-tune and
#: DPL) searches over one minus it
RAW_ONE_MINUS = frozenset({"one_minus_momentum"})
#: part of the parsed-task cache key: raised whenever a parse rule changes, so tasks parsed by earlier rules are
#: parsed again (2: one_minus_momentum read as 1 - the raw momentum)
PARSER_VERSION = 2

#: lcsim metric -> (raw key, syne-tune objective name or None, minimize, bounds)
PD1_METRICS: dict[str, tuple[str, str | None, bool, tuple[float, float]]] = {
    "valid_error_rate": ("valid/error_rate", "metric_valid_error_rate", True, (0.0, 1.0)),
    "valid_ce_loss": ("valid/ce_loss", "metric_valid_ce_loss", True, (0.0, math.inf)),
    "train_error_rate": ("train/error_rate", None, True, (0.0, 1.0)),
    "train_ce_loss": ("train/ce_loss", None, True, (0.0, math.inf)),
    "test_error_rate": ("test/error_rate", None, True, (0.0, 1.0)),
    "test_ce_loss": ("test/ce_loss", None, True, (0.0, math.inf)),
}
OBJECTIVE = "valid_error_rate"
GROUPS = ("matched", "unmatched")
PHASES = (0, 1)
COSTS = ("eval_time", "eval_time_cumulative", "unit")
DPL_LENGTH = (10, 50)  # curve length in (10, 50]


def pd1_space(seed: int = 0) -> ConfigurationSpace:
    """PD1's 4-d search space (syne-tune ranges; log where DPL appendix B says so)."""
    space = ConfigurationSpace(seed=seed)
    space.add([Float(n, (lo, hi), log=log) for n, (_k, lo, hi, log) in PD1_HPS.items()])
    return space


def task_name(record: Mapping) -> str:
    """``{dataset}_{model}[_{activation_fn}]_batch_size_{batch_size}`` of a raw record (syne-tune's naming)."""
    act = record.get("hps.activation_fn")
    act = "" if act is None or (isinstance(act, float) and math.isnan(act)) else f"_{act}"
    return f"{record['dataset']}_{record['model']}{act}_batch_size_{record['hps.batch_size']}"


def raw_files(directory: str | os.PathLike, groups: Iterable[str] = GROUPS,
              phases: Iterable[int] = PHASES) -> list[Path]:
    """Existing raw files of the chosen groups and phases, in lcsim's fixed order."""
    d = Path(directory)
    return [d / f"pd1_{g}_phase{p}_results.jsonl.gz" for g in groups for p in phases
            if (d / f"pd1_{g}_phase{p}_results.jsonl.gz").is_file()]


_RECORDS: dict = {}
_KEEP = ("dataset", "model", "trial_dir", "status", "hps.batch_size", "hps.activation_fn", "eval_time", "epoch",
         *(v[0] for v in PD1_HPS.values()), *(v[0] for v in PD1_METRICS.values()))


def clear_cache() -> None:
    """Forget records kept in memory."""
    _RECORDS.clear()


def read_records(path: str | os.PathLike) -> list[dict]:
    """All records of one ``.jsonl.gz`` file, reduced to the keys lcsim reads (cached per file size and mtime).

    Raises:
        DataFormatError: a truncated gzip stream, a line that is not a JSON object, or a record without the keys
            every PD1 record has (``dataset``, ``model``, ``hps.batch_size``, ``valid/error_rate``).
    """
    path = Path(path)
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    if key in _RECORDS:
        return _RECORDS[key]
    out = []
    lineno = 0
    try:
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            for lineno, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                rec = json.loads(line)
                if not isinstance(rec, dict):
                    raise DataFormatError(f"{path} line {lineno}: expected a JSON object, got {type(rec).__name__}.")
                for k in ("dataset", "model", "hps.batch_size", "valid/error_rate"):
                    if k not in rec:
                        raise DataFormatError(f"{path} line {lineno}: record without key {k!r}; not PD1 data.")
                out.append({k: rec[k] for k in _KEEP if k in rec})  # drop the ~100 unused keys (memory)
    except (EOFError, gzip.BadGzipFile, zlib.error, UnicodeDecodeError, json.JSONDecodeError, OSError) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise DataFormatError(f"{path} is truncated or corrupt near line {lineno + 1} ({type(exc).__name__}: "
                              f"{exc}). Delete it and {DOWNLOAD_HINT}.") from exc
    if len(_RECORDS) >= 8:
        _RECORDS.clear()
    _RECORDS[key] = out
    return out


def _array(rec: Mapping, key: str, length: int, label: str) -> np.ndarray:
    v = rec.get(key)
    out = np.full(length, np.nan)
    if v is None:
        return out
    if not isinstance(v, list):
        if isinstance(v, (int, float)):  # pandas-style scalar NaN for a missing array
            return out
        raise DataFormatError(f"{label}: {key!r} should be a list; got {type(v).__name__}.")
    try:
        vals = np.asarray([np.nan if x is None else float(x) for x in v[:length]], dtype=float)
    except (TypeError, ValueError) as exc:
        raise DataFormatError(f"{label}: non-numeric value in {key!r} ({exc}).") from exc
    out[: vals.size] = vals
    return out


def _length(rec: Mapping) -> int:
    v = rec.get("valid/error_rate")
    return len(v) if isinstance(v, list) else 0


def index(paths: Sequence[Path]) -> dict[str, int]:
    """Task name -> curve length L (longest ``valid/error_rate`` array) over the given raw files."""
    out: dict[str, int] = {}
    for p in paths:
        for rec in read_records(p):
            n = task_name(rec)
            out[n] = max(out.get(n, 0), _length(rec))
    return out


def _keep(length: int, dpl_filter: bool) -> bool:
    return not dpl_filter or DPL_LENGTH[0] < length <= DPL_LENGTH[1]


def _parse(paths: Sequence[Path], options: Mapping) -> Task:
    """Pure parse of one task from raw PD1 files (see the module docstring for every rule).

    Args:
        paths: raw ``.jsonl.gz`` files, in the order records are to be kept.
        options: ``task`` (name), ``cost`` (one of ``COSTS``), ``dpl_filter`` (bool).
    """
    name, cost_mode = options["task"], options.get("cost", "eval_time")
    recs, seen = [], set()
    for p in paths:
        for r in read_records(p):
            if task_name(r) != name:
                continue
            tid = r.get("trial_dir")
            if tid is not None:
                if tid in seen:
                    continue
                seen.add(tid)
            recs.append(r)
    if not recs:
        raise unknown_name("pd1 task", name, index(paths))
    label = f"PD1 task {name!r}"
    length = max(_length(r) for r in recs)
    if length == 0:
        raise DataFormatError(f"{label}: every 'valid/error_rate' array is empty.")
    if not _keep(length, options.get("dpl_filter", True)):
        raise InvalidParameterError(f"{label} has curves of length {length}, outside DPL's (10, 50]; load it with "
                                    "dpl_filter=False.")
    metric_names = [m for m, (k, *_r) in PD1_METRICS.items()
                    if any(isinstance(r.get(k), list) and any(x is not None for x in r[k]) for r in recs)]
    n = len(recs)
    curves = np.empty((n, 1, length, len(metric_names)))
    for i, r in enumerate(recs):
        for j, m in enumerate(metric_names):
            curves[i, 0, :, j] = _array(r, PD1_METRICS[m][0], length, f"{label} trial {r.get('trial_dir', i)}")
    out_of_range = 0
    for j, m in enumerate(metric_names):
        lo, hi = PD1_METRICS[m][3]
        c = curves[..., j]
        bad = np.isfinite(c) & ((c < lo) | (c > hi))
        out_of_range += int(bad.sum())
        c[bad] = np.nan
    status = np.asarray([str(r.get("status", "done")) for r in recs])
    diverged = (status == "diverged")[:, None]
    configs = {}
    for hp, (key, *_rest) in PD1_HPS.items():
        try:
            vals = np.asarray([float(r[key]) for r in recs], dtype=float)
        except KeyError as exc:
            raise DataFormatError(f"{label}: record without hyperparameter {key!r}.") from exc
        except (TypeError, ValueError) as exc:
            raise DataFormatError(f"{label}: non-numeric hyperparameter {key!r} ({exc}).") from exc
        configs[hp] = 1.0 - vals if hp in RAW_ONE_MINUS else vals
    configs = pd.DataFrame(configs)
    has_time = any(isinstance(r.get("eval_time"), list) for r in recs)
    if cost_mode == "unit" or not has_time:
        cost, unit, source = np.ones((n, 1, length)), "unit", "unit" if cost_mode == "unit" else "unit (no eval_time)"
    else:
        t = np.stack([_array(r, "eval_time", length, label) for r in recs])
        cost = np.diff(t, axis=1, prepend=0.0) if cost_mode == "eval_time_cumulative" else t
        cost = np.where(np.isfinite(cost), np.maximum(cost, 0.0), np.nan)[:, None, :]
        unit, source = "seconds", cost_mode
    epoch = np.stack([_array(r, "epoch", length, label) for r in recs])
    with np.errstate(all="ignore"):
        ep = np.nanmean(np.where(np.isfinite(epoch), epoch, np.nan), axis=0) if np.isfinite(epoch).any() else epoch[0]
    extra = {"source": "raw", "files": [p.name for p in paths], "trial_dir": [r.get("trial_dir") for r in recs],
             "status": status.tolist(), "cost_source": source, "values_out_of_bounds": out_of_range,
             "epoch": [None if not np.isfinite(x) else float(x) for x in ep], "curve_length": length}
    sizes = "-".join(str(p.stat().st_size) for p in paths)
    version = f"pd1-raw-{'+'.join(p.name.split('_results')[0][4:] for p in paths)}-{sizes}B-v{PARSER_VERSION}"
    metrics = {m: Metric(m, PD1_METRICS[m][2], PD1_METRICS[m][3]) for m in metric_names}
    return Task("pd1", name, configs, curves, metrics, OBJECTIVE, pd1_space(), cost, unit, diverged, version,
                None, extra)


# -------------------------------------------------------------------------------------------- syne-tune layout
def _syne_meta(directory: Path) -> dict:
    try:
        meta = json.loads((directory / "metadata.json").read_text())
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataFormatError(f"{directory}/metadata.json is not readable json ({exc}).") from exc
    if not isinstance(meta, dict) or not isinstance(meta.get("task_names"), list) or \
            not isinstance(meta.get("objectives_names"), list):
        raise DataFormatError(f"{directory}/metadata.json lacks 'task_names'/'objectives_names' lists.")
    return meta


def parse_syne_tune(directory: str | os.PathLike, name: str, options: Mapping | None = None) -> Task:
    """One task from syne-tune's converted PD1 folder (cumulative ``metric_elapsed_time`` -> per-step seconds)."""
    from .lcbench import _load_npy, _read_parquet

    options = dict(options or {})
    directory = Path(directory)
    meta = _syne_meta(directory)
    if name not in meta["task_names"]:
        raise unknown_name("pd1 task", name, meta["task_names"])
    objs = meta["objectives_names"]
    if "metric_valid_error_rate" not in objs:
        raise DataFormatError(f"{directory}/metadata.json objectives {objs} lack 'metric_valid_error_rate'.")
    hp = _read_parquet(directory / f"{name}-hyperparameters.parquet")
    ev = _load_npy(directory / f"{name}-objectives_evaluations.npy")
    fid = _load_npy(directory / f"{name}-fidelity_values.npy")
    if ev.ndim != 4 or ev.shape[0] != len(hp) or ev.shape[3] != len(objs):
        raise DataFormatError(f"{directory}/{name}-objectives_evaluations.npy has shape {ev.shape}; expected "
                              f"(n_config={len(hp)}, n_seed, n_fidelity, n_objective={len(objs)}).")
    length = ev.shape[2]
    if fid.shape != (length,):
        raise DataFormatError(f"{directory}/{name}-fidelity_values.npy has shape {fid.shape}; expected ({length},).")
    if not _keep(length, options.get("dpl_filter", True)):
        raise InvalidParameterError(f"PD1 task {name!r} has curves of length {length}, outside DPL's (10, 50]; "
                                    "load it with dpl_filter=False.")
    ev = ev.astype(float)
    metric_names = [m for m, spec in PD1_METRICS.items() if spec[1] in objs]
    curves = np.stack([ev[..., objs.index(PD1_METRICS[m][1])] for m in metric_names], axis=-1)
    for j, m in enumerate(metric_names):
        lo, hi = PD1_METRICS[m][3]
        c = curves[..., j]
        c[np.isfinite(c) & ((c < lo) | (c > hi))] = np.nan
    cost_mode = options.get("cost", "eval_time")
    if cost_mode != "unit" and "metric_elapsed_time" in objs:
        t = ev[..., objs.index("metric_elapsed_time")]
        cost = np.diff(t, axis=2, prepend=0.0)
        cost = np.where(np.isfinite(cost), np.maximum(cost, 0.0), np.nan)
        unit, source = "seconds", "metric_elapsed_time differences"
    else:
        cost, unit, source = np.ones(ev.shape[:3]), "unit", "unit"
    missing = [h for h in PD1_HPS if h not in hp.columns]
    if missing:
        raise DataFormatError(f"{directory}/{name}-hyperparameters.parquet lacks columns {missing}.")
    configs = hp[list(PD1_HPS)].astype(float).reset_index(drop=True)
    size = (directory / f"{name}-objectives_evaluations.npy").stat().st_size
    metrics = {m: Metric(m, PD1_METRICS[m][2], PD1_METRICS[m][3]) for m in metric_names}
    return Task("pd1", name, configs, curves, metrics, OBJECTIVE, pd1_space(), cost, unit,
                np.zeros(ev.shape[:2], dtype=bool), f"pd1-syne_tune-{size}B-v1", np.asarray(fid),
                {"source": "syne_tune", "directory": str(directory), "cost_source": source, "curve_length": length})


# ---------------------------------------------------------------------------------------------------- benchmark
class PD1Benchmark(Benchmark):
    """PD1 tasks from the raw ``.jsonl.gz`` files or syne-tune's converted folder (see the module docstring).

    Load options:
        dpl_filter: keep only tasks whose curve length is in (10, 50] (default True; DPL appendix B).
        phases: raw phases to combine, default ``(0, 1)``.
        groups: raw file groups, default ``("matched", "unmatched")``.
        cost: ``"eval_time"`` (default), ``"eval_time_cumulative"`` or ``"unit"``.
        source: ``"auto"`` (raw if present, else syne-tune), ``"raw"`` or ``"syne_tune"``.
        root: data root to read instead of ``$LCSIM_DATA``.
    """

    name = "pd1"

    def __init__(self, root: str | os.PathLike | None = None):
        self.root = root

    def _dir(self, root=None) -> Path:
        if root is None:
            root = self.root
        if root is None:
            from . import data_root

            root = data_root()
        return Path(root) / "pd1"

    def _source(self, d: Path, source: str, groups, phases) -> tuple[str, object]:
        check_choice("PD1Benchmark.load", "source", source, ["auto", "raw", "syne_tune"])
        files = raw_files(d, groups, phases)
        if source in ("auto", "raw") and files:
            return "raw", files
        if source in ("auto", "syne_tune") and (d / "metadata.json").is_file():
            return "syne_tune", d
        return "none", None

    def tasks(self, dpl_filter: bool = True, root=None, phases=PHASES, groups=GROUPS,
              source: str = "auto") -> list[str]:
        """Task names in the files present (DPL-filtered by default), else the 15 tasks of the DPL paper."""
        d = self._dir(root)
        kind, where = self._source(d, source, groups, phases)
        if kind == "raw":
            return [n for n, L in sorted(index(where).items()) if _keep(L, dpl_filter)]
        if kind == "syne_tune":
            names = _syne_meta(where)["task_names"]
            if not dpl_filter:
                return list(names)
            from .lcbench import _load_npy

            return [n for n in names if _keep(len(_load_npy(where / f"{n}-fidelity_values.npy")), True)]
        return list(PD1_DPL_TASKS)

    def load(self, task: str | None = None, **options) -> Task:
        dpl_filter = options.get("dpl_filter", True)
        if not isinstance(dpl_filter, bool):
            raise InvalidParameterError(f"The 'dpl_filter' parameter of PD1Benchmark.load must be a bool. "
                                        f"Got {dpl_filter!r}.")
        names = self.tasks(dpl_filter, options.get("root"), options.get("phases", PHASES),
                           options.get("groups", GROUPS), options.get("source", "auto"))
        if task is None:
            if not names:
                raise unknown_name("pd1 task", "<none>", names)
            task = names[0]
        if task not in names:
            err = unknown_name("pd1 task", task, names)
            if dpl_filter and task in self.tasks(False, options.get("root"), options.get("phases", PHASES),
                                                 options.get("groups", GROUPS), options.get("source", "auto")):
                raise type(err)(f"{err} (PD1 task {task!r} is outside DPL's curve-length filter (10, 50]; pass "
                                "dpl_filter=False to load it.)")
            raise err
        return self._load(task, **options)

    def _load(self, task: str, dpl_filter: bool = True, phases=PHASES, groups=GROUPS, cost: str = "eval_time",
              source: str = "auto", root=None, cache: bool = True) -> Task:
        check_choice("PD1Benchmark.load", "cost", cost, COSTS)
        for p in phases:
            check_choice("PD1Benchmark.load", "phases", p, PHASES)
        for g in groups:
            check_choice("PD1Benchmark.load", "groups", g, GROUPS)
        d = self._dir(root)
        kind, where = self._source(d, source, groups, phases)
        opts = {"task": task, "cost": cost, "dpl_filter": dpl_filter}
        key = {"cost": cost, "dpl_filter": bool(dpl_filter), "phases": list(phases), "groups": list(groups),
               "source": kind, "parser": PARSER_VERSION}
        if kind == "raw":
            return cached(self.name, task, key, list(where), lambda: _parse(where, opts), use_cache=cache)
        if kind == "syne_tune":
            files = sorted(p for p in Path(where).iterdir() if p.is_file()) if Path(where).is_dir() else [Path(where)]
            return cached(self.name, task, key, files, lambda: parse_syne_tune(where, task, opts), use_cache=cache)
        raise DataNotFoundError(
            f"PD1 data not found in {d}: expected pd1_{{matched,unmatched}}_phase{{0,1}}_results.jsonl.gz (raw) or "
            f"syne-tune's metadata.json + {{task}}-objectives_evaluations.npy. {DOWNLOAD_HINT}.")
