"""Benchmarks and tasks: one :class:`Task` model for LCBench, PD1, TaskSet, YAHPO-LCBench and embedded data.

Entry point::

    from lcsim import benchmarks
    task = benchmarks.load("taskset", task="FixedTextRNNClassification_imdb_patch32_GRU128_bs128")
    task.curves.shape   # (n_cfg, n_seed, n_epoch, n_metric)

Data root: ``LCSIM_DATA`` names a directory laid out like the project's shared data folder
(``taskset/dpl_json/*.json``, ``yahpo_data/lcbench/...``, ``lcbench/``, ``pd1/``); the default is the user cache
directory that ``python -m lcsim.data download`` fills.
"""
from __future__ import annotations

import os
from pathlib import Path

from ._base import Metric, Oracle, Task
from ._registry import BENCHMARKS, Benchmark, get_benchmark, list_benchmarks

__all__ = ["Metric", "Oracle", "Task", "Benchmark", "BENCHMARKS", "load", "get_benchmark", "list_benchmarks",
           "data_root", "cache_root"]


def data_root() -> Path:
    """The data root: ``$LCSIM_DATA`` or the user data directory for lcsim."""
    env = os.environ.get("LCSIM_DATA")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("lcsim")) / "data"


def cache_root() -> Path:
    """Where parsed tasks are cached: ``$LCSIM_CACHE`` or the user cache directory (never inside the data root)."""
    env = os.environ.get("LCSIM_CACHE")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("lcsim"))


def load(benchmark: str, task: str | None = None, **options) -> Task:
    """Load one task of a benchmark.

    Args:
        benchmark: one of :func:`list_benchmarks` (``lcbench``, ``lcbench_yahpo``, ``pd1``, ``taskset``,
            ``embedded``, ``synthetic``).
        task: the task name; ``None`` takes the benchmark's first task.
        **options: loader options documented on each benchmark class (e.g. ``filter="dpl"`` for TaskSet).

    Raises:
        UnknownNameError: unknown benchmark or task (the message lists the valid ones and the closest match).
        DataNotFoundError: the files are missing (the message names the download command).
    """
    bench = get_benchmark(benchmark)
    return bench.load(task, **options)
