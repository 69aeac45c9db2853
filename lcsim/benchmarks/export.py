"""Write any lcsim :class:`~lcsim.benchmarks.Task` in syne-tune's tabular blackbox layout.

The folder is what ``syne_tune.blackbox_repository.blackbox_tabular.serialize`` writes for one task and what its
``deserialize`` (and lcsim's LCBench reader of syne-tune's converted files) read back:

* ``hyperparameters.parquet`` -- the configuration frame, one row per configuration, no index (gzip);
* ``objectives_evaluations.npy`` -- shape ``(1, n_config, n_seed, n_fidelity, n_metric + 1)``: the task's metrics in
  their order (NaN kept where the source has none or the run diverged), then the cumulative elapsed time, the
  running sum of ``epoch_cost`` along the fidelity axis (syne-tune's simulator charges the difference between
  consecutive fidelities); ``float32`` by default as syne-tune stores it, ``float64`` on request;
* ``fidelities_values.npy`` -- the fidelity of each index (``task.fidelities``);
* ``configspace.json`` / ``fidelityspace.json`` -- syne-tune domains as its ``config_space_to_json_dict`` writes them
  (``{"domain_cls", "domain_kwargs", "sampler_cls", "sampler_kwargs"}``; log scales as the ``LogUniform`` sampler,
  ordinals as ``Ordinal``, constants as plain values); the fidelity is ``epoch``, an integer domain over the
  fidelity values' range;
* ``metadata.json`` -- ``objectives_names`` and ``task_names`` (syne-tune's required keys), the keys its conversion
  scripts add (``metric_elapsed_time``, ``metric_default`` = the task's objective, ``time_attr``), and an
  ``lcsim`` entry with what syne-tune's layout has no place for: metric directions and bounds, the cost unit, the
  ConfigSpace space as ConfigSpace serializes it, runs the source marked diverged, version and provenance.

The whole folder is built next to its destination and renamed into place, so a reader never sees a partial export.
"""
from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
from ConfigSpace import CategoricalHyperparameter, ConfigurationSpace, Constant, OrdinalHyperparameter
from ConfigSpace.hyperparameters import FloatHyperparameter, IntegerHyperparameter

from ..errors import InvalidParameterError, LcsimError, check_choice
from ._base import Task

__all__ = ["export_syne_tune", "syne_tune_space", "ELAPSED_TIME", "FIDELITY", "EXPORT_FORMAT"]

#: name of the cumulative elapsed-time objective (the name most of syne-tune's conversion scripts use)
ELAPSED_TIME = "metric_elapsed_time"
#: name of the fidelity attribute
FIDELITY = "epoch"
#: version of the ``lcsim`` entry of ``metadata.json``
EXPORT_FORMAT = 1

_FILES = ("hyperparameters.parquet", "objectives_evaluations.npy", "fidelities_values.npy", "configspace.json",
          "fidelityspace.json", "metadata.json")


def _plain(v):
    return v.item() if hasattr(v, "item") else v


def _domain(cls: str, kwargs: dict, log: bool = False) -> dict:
    """One syne-tune domain as ``syne_tune.config_space.to_dict`` writes it (uniform or log-uniform sampler)."""
    sampler = {"sampler_cls": "LogUniform", "sampler_kwargs": {"base": math.e}} if log else \
        {"sampler_cls": "Uniform", "sampler_kwargs": {}}
    return {"domain_cls": cls, "domain_kwargs": kwargs, **sampler}


def syne_tune_space(space: ConfigurationSpace) -> dict:
    """The syne-tune JSON dict of a ConfigSpace space (see the module docstring); Normal/Beta priors are refused
    because syne-tune's tabular domains have no such prior."""
    if list(space.conditions) or list(space.forbidden_clauses):
        raise InvalidParameterError("syne-tune's configuration spaces have no conditions or forbidden clauses; "
                                    "export a task whose ConfigSpace has none.")
    out = {}
    for hp in space.values():
        if isinstance(hp, Constant):
            out[hp.name] = _plain(hp.value)
        elif isinstance(hp, CategoricalHyperparameter):
            out[hp.name] = _domain("Categorical", {"categories": [_plain(c) for c in hp.choices]})
        elif isinstance(hp, OrdinalHyperparameter):
            out[hp.name] = _domain("Ordinal", {"categories": [_plain(c) for c in hp.sequence]})
        elif type(hp).__name__.startswith("Uniform") and isinstance(hp, IntegerHyperparameter):
            out[hp.name] = _domain("Integer", {"lower": int(hp.lower), "upper": int(hp.upper)}, bool(hp.log))
        elif type(hp).__name__.startswith("Uniform") and isinstance(hp, FloatHyperparameter):
            out[hp.name] = _domain("Float", {"lower": float(hp.lower), "upper": float(hp.upper)}, bool(hp.log))
        else:
            raise InvalidParameterError(f"Hyperparameter {hp.name!r} is a {type(hp).__name__}, which syne-tune's "
                                        "domains cannot express; supported: uniform floats and integers (log or "
                                        "not), categoricals, ordinals, constants.")
    return out


def _json_bytes(obj) -> bytes:
    # provenance (Task.extra) may hold paths or numpy scalars: written as strings rather than refused
    return json.dumps(obj, default=lambda v: _plain(v) if hasattr(v, "item") else str(v)).encode()


def _is_export(path: Path) -> bool:
    try:
        meta = json.loads((path / "metadata.json").read_text())
    except (OSError, ValueError):
        return False
    return isinstance(meta, dict) and isinstance(meta.get("lcsim"), dict)


def export_syne_tune(task: Task, directory: str | os.PathLike, *, dtype: str = "float32",
                     time_objective: str = ELAPSED_TIME, overwrite: bool = False) -> Path:
    """Write ``task`` as a syne-tune tabular blackbox folder ``directory`` (one task; see the module docstring).

    Args:
        task: any lcsim task (embedded, live-built, LCBench, PD1, TaskSet, YAHPO-tabulated, synthetic).
        directory: the blackbox folder to create; its parent is created if needed.
        dtype: ``"float32"`` (syne-tune's storage type) or ``"float64"`` (curves and cumulative costs exact).
        time_objective: name of the elapsed-time objective (``"time"`` reproduces syne-tune's LCBench blackbox).
        overwrite: replace ``directory`` if it holds an earlier lcsim export (any other non-empty folder is refused).

    Returns:
        The folder's path.
    """
    check_choice("export_syne_tune", "dtype", dtype, ("float32", "float64"))
    if not isinstance(task, Task):
        raise InvalidParameterError(f"export_syne_tune needs an lcsim Task; got {type(task).__name__}.")
    if time_objective in task.metrics:
        raise InvalidParameterError(f"Task {task.key} already has a metric named {time_objective!r}; give another "
                                    "time_objective for the elapsed-time objective.")
    missing = [hp.name for hp in task.space.values() if hp.name not in task.configs.columns]
    extra_cols = [c for c in task.configs.columns if c not in task.space]
    if missing or extra_cols:
        raise InvalidParameterError(f"Task {task.key}: configuration columns {list(task.configs.columns)} do not match "
                                    f"its space (missing {missing}, not in the space {extra_cols}); syne-tune needs "
                                    "one column per hyperparameter.")
    if task.configs.duplicated().any():
        raise InvalidParameterError(f"Task {task.key} has {int(task.configs.duplicated().sum())} duplicated "
                                    "configuration rows, which syne-tune's tabular blackbox refuses; export "
                                    "task.subset(...) of distinct rows.")
    target = Path(directory)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        if not overwrite:
            raise InvalidParameterError(f"{target} exists and is not empty; choose a new directory or overwrite an "
                                        "earlier export (overwrite=True, CLI --overwrite).")
        if not target.is_dir() or not _is_export(target):
            raise InvalidParameterError(f"{target} is not an earlier lcsim export (no metadata.json with an 'lcsim' "
                                        "entry); choose a new or empty directory.")

    space = syne_tune_space(task.space)
    fid = np.asarray(task.fidelities)
    objectives = list(task.metrics) + [time_objective]
    values = np.concatenate([task.curves, np.cumsum(task.epoch_cost, axis=2)[..., None]], axis=-1)
    src_marked = task.diverged & np.all(np.isfinite(task.curves[..., task.objective_index]), axis=2)
    meta = {
        "objectives_names": objectives,
        "task_names": [task.name],
        "metric_elapsed_time": time_objective,
        "metric_default": task.objective,
        "time_attr": FIDELITY,
        "lcsim": {
            "format": EXPORT_FORMAT,
            "benchmark": task.benchmark,
            "name": task.name,
            "version": task.version,
            "objective": task.objective,
            "metrics": [m.to_dict() for m in task.metrics.values()],
            "cost_unit": task.cost_unit,
            "space": task.space.to_serialized_dict(),
            # runs the source marked diverged although their objective curve is finite (the others show as NaN)
            "diverged_marked": [[int(i), int(s)] for i, s in zip(*np.nonzero(src_marked))],
            "extra": task.extra,
        },
    }

    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        task.configs.to_parquet(tmp / "hyperparameters.parquet", index=False, compression="gzip")
        np.save(tmp / "objectives_evaluations.npy", values[None].astype(dtype), allow_pickle=False)
        np.save(tmp / "fidelities_values.npy", fid, allow_pickle=False)
        (tmp / "configspace.json").write_bytes(_json_bytes(space))
        fidelity_space = {FIDELITY: _domain("Integer", {"lower": int(fid.min()), "upper": int(fid.max())})}
        (tmp / "fidelityspace.json").write_bytes(_json_bytes(fidelity_space))
        (tmp / "metadata.json").write_bytes(_json_bytes(meta))
        for name in _FILES:
            with open(tmp / name, "rb") as fh:
                os.fsync(fh.fileno())
        old = None
        if target.exists() and (not target.is_dir() or any(target.iterdir())):
            old = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=target.parent))
            os.replace(target, old / "previous")
        os.replace(tmp, target)  # onto a missing or empty directory: atomic
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def cli_export(benchmark: str, task: str, dest: str, options: dict, dtype: str, time_objective: str,
               overwrite: bool) -> int:
    """``python -m lcsim.data export``: load ``benchmark``/``task`` and export it to ``dest``; errors print one line
    on stderr and return 2."""
    import sys

    from . import load

    try:
        path = export_syne_tune(load(benchmark, task, **options), dest, dtype=dtype, time_objective=time_objective,
                                overwrite=overwrite)
    except (LcsimError, OSError, TypeError) as exc:
        print(f"error: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}", file=sys.stderr)
        return 2
    print(f"wrote {benchmark}/{task} in syne-tune's blackbox layout to {path}")
    return 0
