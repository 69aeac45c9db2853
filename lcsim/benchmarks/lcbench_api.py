"""A drop-in for LCBench's own ``api.py`` (github.com/automl/LCBench), served by lcsim's reader.

Code written against LCBench's API runs unchanged after swapping the import::

    # from api import Benchmark
    from lcsim.benchmarks.lcbench_api import Benchmark

    bench = Benchmark("data_2k_lw.json", cache=False)
    bench.query(dataset_name="credit-g", tag="Train/val_accuracy", config_id=0)   # list of 52 floats

Differences from the original, all additive: the path may also be the official ``.zip`` or a folder holding either
(default: ``$LCSIM_DATA/lcbench``); reading goes through :func:`lcsim.benchmarks.lcbench.read_raw` (clear
``DataFormatError``/``DataNotFoundError`` instead of bare json errors, an in-memory cache instead of a pickle written
to ``cache_dir``); unknown datasets and config ids raise a ``ValueError`` subclass that names the close matches;
``get_config`` accepts int ids like ``query`` does; ``get_task`` returns the lcsim :class:`Task`. Return values are
the raw json objects themselves (lists of 52 floats, dicts), exactly as the original returns them.
"""
from __future__ import annotations

import os
from pathlib import Path

from ..errors import InvalidParameterError, unknown_name
from .lcbench import RAW_FILES, find_files, parse_raw_dataset, read_raw

__all__ = ["Benchmark"]


class Benchmark:
    """LCBench's ``api.Benchmark`` interface over lcsim's raw-json reader.

    Args:
        data_dir: the ``.json`` (as in the original), the official ``.zip``, a folder holding one of them, or None for
            ``$LCSIM_DATA/lcbench``.
        cache: keep the parsed json in memory for later ``Benchmark`` objects on the same file.
        cache_dir: accepted for compatibility; lcsim does not write pickles.
    """

    def __init__(self, data_dir=None, cache: bool = True, cache_dir: str = "cached/"):
        path = self._resolve(data_dir)
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
        return p

    # ---------------------------------------------------------------------------------------------- validation
    def _dataset(self, dataset_name):
        if dataset_name not in self.data:
            err = unknown_name("LCBench dataset", dataset_name, self.dataset_names)
            raise InvalidParameterError(f"Dataset name not found. {err}")
        return self.data[dataset_name]

    def _run(self, dataset_name, config_id):
        runs = self._dataset(dataset_name)
        cid = str(config_id)
        if cid not in runs:
            raise InvalidParameterError(
                f"Config nr {cid} not found for dataset {dataset_name}; valid ids are {min(runs, key=_num)}.."
                f"{max(runs, key=_num)} ({len(runs)} configs).")
        return runs[cid]

    # ---------------------------------------------------------------------------------------------- original API
    def query(self, dataset_name, tag, config_id):
        """Value of ``tag`` for one run: a log tag (list of 52), a result, a config entry, or ``"config"``."""
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
        """``tag`` of the run ranked ``position`` by the maximum of ``criterion`` over its curve (as the original)."""
        perf = [(cid, max(self.query(dataset_name, criterion, cid))) for cid in self._dataset(dataset_name)]
        perf.sort(key=lambda x: x[1] * 1000, reverse=True)
        return self.query(dataset_name, tag, perf[position][0])

    def get_queriable_tags(self, dataset_name=None, config_id=None):
        """Log, result and config tags of one run (default: the first run of the first dataset), then ``"config"``."""
        if dataset_name is None or config_id is None:
            dataset_name = self.dataset_names[0]
            config_id = next(iter(self.data[dataset_name]))
        run = self._run(dataset_name, config_id)
        return list(run["log"]) + list(run.get("results", {})) + list(run["config"]) + ["config"]

    def get_dataset_names(self):
        """Dataset names in file order."""
        return self.dataset_names

    def get_openml_task_ids(self):
        """OpenML task id of each dataset (``OpenML_task_id`` of config 1, as the original)."""
        return [self.query(name, "OpenML_task_id", 1) for name in self.dataset_names]

    def get_number_of_configs(self, dataset_name):
        """Number of runs of a dataset."""
        return len(self._dataset(dataset_name))

    def get_config(self, dataset_name, config_id):
        """The raw configuration dict of one run."""
        return self._run(dataset_name, config_id)["config"]

    # ---------------------------------------------------------------------------------------------- lcsim bridge
    def get_task(self, dataset_name):
        """The lcsim :class:`~lcsim.benchmarks.Task` of a dataset (DPL preprocessing: epochs 1..50)."""
        self._dataset(dataset_name)
        size = Path(self.data_dir).stat().st_size
        return parse_raw_dataset(self.data[dataset_name], dataset_name,
                                 f"lcbench-{Path(self.data_dir).name}-{size}B-dpl-steps-2-51", Path(self.data_dir).name)


def _num(cid: str):
    return int(cid) if str(cid).lstrip("-").isdigit() else 0
