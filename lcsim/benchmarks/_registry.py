"""The benchmark registry: names -> :class:`Benchmark` classes, imported lazily (ONNX runtime, big parsers)."""
from __future__ import annotations

import abc
import importlib

from ..errors import unknown_name
from ._base import Task

__all__ = ["Benchmark", "BENCHMARKS", "get_benchmark", "list_benchmarks"]


class Benchmark(abc.ABC):
    """A named collection of tasks. Public methods validate, private ones parse."""

    name: str = "benchmark"

    @abc.abstractmethod
    def tasks(self) -> list[str]:
        """Names of the tasks this benchmark can serve (from the files present or the published list)."""

    def load(self, task: str | None = None, **options) -> Task:
        names = self.tasks()
        if task is None:
            if not names:
                raise unknown_name(f"{self.name} task", "<none>", names)
            task = names[0]
        if task not in names:
            raise unknown_name(f"{self.name} task", task, names)
        return self._load(task, **options)

    @abc.abstractmethod
    def _load(self, task: str, **options) -> Task:
        """Parse and return one task (name already validated)."""


# name -> "module:Class" inside lcsim.benchmarks; each module is imported only when its benchmark is used
BENCHMARKS: dict[str, str] = {
    "synthetic": "lcsim.benchmarks.synthetic:SyntheticBenchmark",
    "embedded": "lcsim.benchmarks.embedded:EmbeddedBenchmark",
    "taskset": "lcsim.benchmarks.taskset:TaskSetBenchmark",
    "lcbench": "lcsim.benchmarks.lcbench:LCBenchBenchmark",
    "lcbench_yahpo": "lcsim.benchmarks.yahpo:YahpoLCBenchBenchmark",
    "pd1": "lcsim.benchmarks.pd1:PD1Benchmark",
}


def list_benchmarks() -> list[str]:
    return list(BENCHMARKS)


def get_benchmark(name: str) -> Benchmark:
    if name not in BENCHMARKS:
        raise unknown_name("benchmark", name, BENCHMARKS)
    mod, cls = BENCHMARKS[name].split(":")
    return getattr(importlib.import_module(mod), cls)()
