"""A drop-in for LCBench's own ``api.py`` (github.com/automl/LCBench), served by lcsim's reader.

Code written against LCBench's API runs unchanged after swapping the import::

    # from api import Benchmark
    from lcsim.benchmarks.lcbench_api import Benchmark

    bench = Benchmark("data_2k_lw.json", cache=False)
    bench.query(dataset_name="credit-g", tag="Train/val_accuracy", config_id=0)   # list of 52 floats
    bench.plot_by_name(["credit-g", "adult"], x_col="epoch", y_col="Train/val_accuracy", n_configs=10)

What the original does, the facade does by default:

* the same methods with the same signatures and defaults (``cache=False``), the same return values (the raw json
  objects: lists of 52 floats, dicts), the same ``plot_by_name`` figure (one row of axes per dataset, ``'p-'`` lines,
  x label ``"step"``, the title naming features, classes and instances, runs that are not found printed and skipped);
* the same exception types: where the original raises ``ValueError`` (unknown dataset, config or tag in ``query``,
  ``get_number_of_configs``, ``get_config``; a missing file) the facade raises a ``ValueError``, where it raises
  ``KeyError`` (an unknown dataset in ``query_best``; an unknown dataset or config id in ``get_queriable_tags``; an
  unknown config id in ``get_config``) a ``KeyError``. Each is also an lcsim error (:class:`LcsimError`; the missing
  file a :class:`DataNotFoundError` too) whose message names the close matches or the download command;
* with ``cache=False`` every ``Benchmark`` parses its own copy of the json, so a list a client mutates changes only
  that object's later answers, as in the original.

lcsim's additions, each used only when asked for: the path may also be the official ``.zip``, a folder holding either,
or None for ``$LCSIM_DATA/lcbench``; ``cache=True`` keeps the parsed json in memory (shared with later ``Benchmark``
objects and lcsim's loader, instead of the original's pickle in ``cache_dir``), and then ``query``, ``query_best`` and
``get_config`` return copies so the shared json cannot be changed through them (``data`` itself is the shared dict:
treat it as read-only); ``get_config`` accepts int ids like ``query`` does (the original raises ``KeyError`` for
them); ``plot_by_name`` returns the axes it drew (the original returns None; the figure is ``ax.figure``);
``get_task`` returns the lcsim :class:`Task`. The original's progress prints (``==> Loading data...``) are not
repeated; a corrupt json raises :class:`DataFormatError` (a ``ValueError``, like the original's
``json.JSONDecodeError``) naming the fix.
"""
from __future__ import annotations

import copy
import os
from pathlib import Path

from ..errors import DataNotFoundError, InvalidParameterError, UnknownNameError, unknown_name
from .lcbench import DOWNLOAD_HINT, RAW_FILES, find_files, parse_raw_dataset, read_raw

__all__ = ["Benchmark", "BenchmarkFileNotFoundError"]


class BenchmarkFileNotFoundError(DataNotFoundError, ValueError):
    """The LCBench json is missing: a :class:`DataNotFoundError` for lcsim, a ``ValueError`` as in the original."""


class Benchmark:
    """LCBench's ``api.Benchmark`` interface over lcsim's raw-json reader.

    Args:
        data_dir: the ``.json`` (as in the original), the official ``.zip``, a folder holding one of them, or None for
            ``$LCSIM_DATA/lcbench``.
        cache: False (the original's default) parses the file for this object alone; True keeps the parsed json in
            memory for later ``Benchmark`` objects on the same file (answers are then copies of it).
        cache_dir: accepted for compatibility; lcsim does not write pickles.

    Raises:
        BenchmarkFileNotFoundError: no such file (a ``ValueError``, as the original raises).
        DataFormatError: the file is not LCBench json.
    """

    def __init__(self, data_dir=None, cache: bool = False, cache_dir: str = "cached/"):
        path = self._resolve(data_dir)
        if not path.is_file():
            raise BenchmarkFileNotFoundError(f"Please specify path to the bench json file: {path} not found; "
                                             f"{DOWNLOAD_HINT}.")
        self.data_dir = str(path)
        self.cache = cache
        self.cache_dir = cache_dir
        self.data = read_raw(path, cache=cache)
        self.dataset_names = list(self.data.keys())

    @staticmethod
    def _resolve(data_dir) -> Path:
        if data_dir is None:
            files = find_files()
            found = files["raw"]["lw"] or files["raw"]["full"]
            return found if found is not None else files["base"] / RAW_FILES["lw"][0]
        p = Path(os.fspath(data_dir))
        if p.is_dir():
            for names in RAW_FILES.values():
                for n in names:
                    if (p / n).is_file():
                        return p / n
            return p / RAW_FILES["lw"][0]  # named in the not-found message
        return p

    def _out(self, value):
        """The value itself (the original's behaviour), or a copy when the parsed json is shared (``cache=True``)."""
        return copy.deepcopy(value) if self.cache else value

    # ---------------------------------------------------------------------------------------------- validation
    def _dataset(self, dataset_name, error=InvalidParameterError):
        """The runs of a dataset; ``error`` is the type the original raises at the calling site."""
        if dataset_name not in self.data:
            err = unknown_name("LCBench dataset", dataset_name, self.dataset_names)
            raise error(f"Dataset name not found. {err}")
        return self.data[dataset_name]

    def _run(self, dataset_name, config_id, error=InvalidParameterError):
        runs = self._dataset(dataset_name, error)
        cid = str(config_id)
        if cid not in runs:
            raise error(
                f"Config nr {cid} not found for dataset {dataset_name}; valid ids are {min(runs, key=_num)}.."
                f"{max(runs, key=_num)} ({len(runs)} configs).")
        return runs[cid]

    # ---------------------------------------------------------------------------------------------- original API
    def query(self, dataset_name, tag, config_id):
        """Value of ``tag`` for one run: a log tag (list of 52), a result, a config entry, or ``"config"``.

        Raises:
            InvalidParameterError: unknown dataset, config id or tag (a ``ValueError``, as in the original).
        """
        return self._out(self._query(dataset_name, tag, config_id))

    def _query(self, dataset_name, tag, config_id):
        """:meth:`query` without the copy (the object stored in the parsed json)."""
        run = self._run(dataset_name, config_id)
        for part in ("log", "results", "config"):
            if tag in run.get(part, {}):
                return run[part][tag]
        if tag == "config":
            return run["config"]
        valid = self.get_queriable_tags(dataset_name, config_id)
        raise InvalidParameterError(f"Tag {tag} not found for config {config_id} for dataset {dataset_name}. "
                                    f"{unknown_name('tag', tag, valid)}")

    def query_best(self, dataset_name, tag, criterion, position=0):
        """``tag`` of the run ranked ``position`` by the maximum of ``criterion`` over its curve (as the original).

        Raises:
            UnknownNameError: unknown dataset (a ``KeyError``, as in the original).
            InvalidParameterError: unknown tag or criterion (a ``ValueError``).
            IndexError: ``position`` beyond the number of runs.
        """
        runs = self._dataset(dataset_name, UnknownNameError)
        perf = [(cid, max(self._query(dataset_name, criterion, cid))) for cid in runs]
        perf.sort(key=lambda x: x[1] * 1000, reverse=True)
        return self.query(dataset_name, tag, perf[position][0])

    def get_queriable_tags(self, dataset_name=None, config_id=None):
        """Log, result and config tags of one run, then ``"config"``.

        Without both ``dataset_name`` and ``config_id`` it describes the first run of the first dataset (as the
        original, which then ignores the one given).

        Raises:
            UnknownNameError: unknown dataset or config id (a ``KeyError``, as in the original).
        """
        if dataset_name is None or config_id is None:
            dataset_name = self.dataset_names[0]
            config_id = next(iter(self.data[dataset_name]))
        run = self._run(dataset_name, config_id, UnknownNameError)
        return list(run["log"]) + list(run.get("results", {})) + list(run["config"]) + ["config"]

    def get_dataset_names(self):
        """Dataset names in file order."""
        return self.dataset_names

    def get_openml_task_ids(self):
        """OpenML task id of each dataset (``OpenML_task_id`` of config 1, as the original)."""
        return [self.query(name, "OpenML_task_id", 1) for name in self.dataset_names]

    def get_number_of_configs(self, dataset_name):
        """Number of runs of a dataset (unknown dataset: :class:`InvalidParameterError`, a ``ValueError``)."""
        return len(self._dataset(dataset_name))

    def get_config(self, dataset_name, config_id):
        """The raw configuration dict of one run (``config_id`` a str as in the original, or an int).

        Raises:
            InvalidParameterError: unknown dataset (a ``ValueError``, as in the original).
            UnknownNameError: unknown config id (a ``KeyError``, as in the original).
        """
        self._dataset(dataset_name)
        return self._out(self._run(dataset_name, config_id, UnknownNameError)["config"])

    def plot_by_name(self, dataset_names, x_col, y_col, n_configs=10, show_best=False, xscale="linear",
                     yscale="linear", criterion=None):
        """Plot ``y_col`` against ``x_col`` for ``n_configs`` runs of each dataset, one row of axes per dataset.

        Draws what the original draws: a ``(10, 7 * n)`` inch figure of ``n`` rows; on each, the runs with config ids
        1..n_configs (or, with ``show_best``, the ``n_configs`` best by :meth:`query_best` on ``criterion``, default
        ``y_col``) as ``'p-'`` lines, the given axis scales, x label ``"step"``, y label ``y_col`` and the title
        ``"<dataset>, features: F, classes: C, instances: I"`` (read from config 0). A run that is not found is
        reported by a printed line and skipped.

        Args:
            dataset_names: a dataset name or a list (or array) of them.
            x_col, y_col: the tags on the x and y axes (e.g. ``"epoch"``, ``"Train/val_accuracy"``).
            n_configs: runs to draw per dataset.
            show_best: draw the best runs instead of ids 1..n_configs.
            xscale, yscale: matplotlib axis scales (``"linear"``, ``"log"``, ...).
            criterion: the tag ranking runs for ``show_best``.

        Returns:
            The axes as ``plt.subplots`` made them: one ``Axes`` for one dataset, else an array of them (the
            original returns None); the figure is ``ax.figure``.
        """
        import matplotlib.pyplot as plt
        import numpy as np

        if isinstance(dataset_names, str):
            dataset_names = [dataset_names]
        if not isinstance(dataset_names, (list, np.ndarray)):
            raise InvalidParameterError("Please specify a dataset name or a list list of dataset names; got "
                                        f"{type(dataset_names).__name__}.")
        n_rows = len(dataset_names)
        fig, axes = plt.subplots(n_rows, 1, sharex=False, sharey=False, figsize=(10, 7 * n_rows))
        if criterion is None:
            criterion = y_col
        rows = list(enumerate(axes.flatten())) if n_rows > 1 else [(0, axes)]
        for i, ax in rows:
            name = dataset_names[i]
            features = classes = instances = None
            for ind in range(n_configs):
                try:
                    if ind == 0:
                        instances = int(self.query(name, "instances", 0))
                        classes = int(self.query(name, "classes", 0))
                        features = int(self.query(name, "features", 0))
                    if show_best:
                        x = self.query_best(name, x_col, criterion, ind)
                        y = self.query_best(name, y_col, criterion, ind)
                    else:
                        x = self.query(name, x_col, ind + 1)
                        y = self.query(name, y_col, ind + 1)
                    ax.plot(x, y, "p-")
                    ax.set_xscale(xscale)
                    ax.set_yscale(yscale)
                    ax.set(xlabel="step", ylabel=y_col)
                    ax.title.set_text(", ".join([name, f"features: {features}", f"classes: {classes}",
                                                 f"instances: {instances}"]))
                except ValueError:
                    print(f"Run {ind} not found for dataset {name}")  # the original prints this line
        return axes

    # ---------------------------------------------------------------------------------------------- lcsim bridge
    def get_task(self, dataset_name):
        """The lcsim :class:`~lcsim.benchmarks.Task` of a dataset (DPL preprocessing: epochs 1..50)."""
        self._dataset(dataset_name, UnknownNameError)
        size = Path(self.data_dir).stat().st_size
        return parse_raw_dataset(self.data[dataset_name], dataset_name,
                                 f"lcbench-{Path(self.data_dir).name}-{size}B-dpl-steps-2-51", Path(self.data_dir).name)


def _num(cid: str):
    return int(cid) if str(cid).lstrip("-").isdigit() else 0
