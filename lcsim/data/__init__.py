"""Data commands: ``python -m lcsim.data {list, info, download}``.

``list`` shows every registered benchmark, its tasks and whether their files are present under the data root
(``$LCSIM_DATA``); ``info BENCHMARK [TASK]`` loads a task (through the parsed-task cache) and prints its shape,
metrics, divergence share, oracle values and data version; ``download ...`` hands all its arguments to
:func:`lcsim.benchmarks.download.main`.
"""
from __future__ import annotations

from ._cli import availability, info_lines, main

__all__ = ["main", "availability", "info_lines"]
