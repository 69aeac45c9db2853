"""Data commands: ``python -m lcsim.data {list, info, download}``.

``list`` shows every registered benchmark, its tasks and the state of its files under the data root (``$LCSIM_DATA``):
available, missing (with the download command), unreadable (naming the path) or corrupt (naming the file; see
:mod:`lcsim.data._status`); ``info BENCHMARK [TASK]`` loads a task (through the parsed-task cache) and prints its shape,
metrics, divergence share, oracle values and data version; ``download ...`` hands all its arguments to
:func:`lcsim.benchmarks.download.main`.
"""
from __future__ import annotations

from ._cli import info_lines, main
from ._status import DataStatus, availability, status_of

__all__ = ["main", "availability", "status_of", "DataStatus", "info_lines"]
