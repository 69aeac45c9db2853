"""Thread settings for reproducible, fast replay cells.

:func:`single_threaded` runs a block with one BLAS/OpenMP thread (``threadpoolctl``) and one intra-op torch thread,
restoring the previous settings afterwards. The grid runner wraps every cell in it, whichever executor runs the cell:

* the same cell then gives the same numbers serially, in a process pool and on Dask (thread counts can change the
  order of floating-point reductions in torch and BLAS, and so a model-based method's decisions);
* on a machine shared by several worker processes, a second thread per process spin-waits for a core, which slows
  DPL's ensemble and the GP methods down (measurements: ``tests/perf/README.md``).
"""
from __future__ import annotations

from contextlib import contextmanager

__all__ = ["single_threaded"]


@contextmanager
def single_threaded():
    """One torch intra-op thread and one BLAS/OpenMP thread inside the block; previous settings restored after."""
    import torch
    from threadpoolctl import threadpool_limits

    old = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with threadpool_limits(1):
            yield
    finally:
        torch.set_num_threads(old)
