"""The ``synthetic`` benchmark: seeded power-law tasks (see :func:`lcsim.testing.synthetic.synthetic_task`)."""
from __future__ import annotations

from ..testing.synthetic import synthetic_task
from ._base import Task
from ._registry import Benchmark

__all__ = ["SyntheticBenchmark"]


class SyntheticBenchmark(Benchmark):
    """Three seeded synthetic tasks: ``powerlaw-0``, ``powerlaw-1``, ``powerlaw-2`` (64 configs x 27 epochs)."""

    name = "synthetic"

    def tasks(self) -> list[str]:
        return [f"powerlaw-{i}" for i in range(3)]

    def _load(self, task: str, **options) -> Task:
        i = int(task.rsplit("-", 1)[1])
        return synthetic_task(seed=i, name=task, **options)
