"""The ``embedded`` benchmark: small tabular tasks built by :mod:`lcsim.live.build` and shipped in the repository.

Four tasks (``breast_cancer``, ``digits``, ``iris``, ``wine``: the scikit-learn datasets Bayesmark uses), an
LCBench-like MLP space, 50 epochs, every per-epoch metric of the live trainer including FGHPO sharpness, AGN and the
per-epoch seconds. Files: ``data/embedded/<task>.npz`` at the repository root, or the folder named by
``$LCSIM_EMBEDDED``. They load with no network and no external data; ``data/README.md`` records how they were built.
"""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from ..errors import DataNotFoundError, unknown_name
from ._base import Task
from ._registry import Benchmark

__all__ = ["EmbeddedBenchmark", "embedded_dir"]

_BUILD = ("python -m lcsim.live.build --datasets breast_cancer digits iris wine --n-configs 400 --epochs 50 "
          "--seed 0 --workers 2 --work-dir build/embedded-work --out-dir data/embedded")


def embedded_dir() -> Path:
    """``$LCSIM_EMBEDDED`` if set, else ``data/embedded`` of the source tree this package sits in."""
    env = os.environ.get("LCSIM_EMBEDDED")
    if env:
        return Path(env).expanduser()
    return Path(__file__).resolve().parents[2] / "data" / "embedded"


class EmbeddedBenchmark(Benchmark):
    """Tasks in :func:`embedded_dir`; ``load(task, objective=...)`` may switch the objective to any stored metric
    (default ``valid_loss``, minimized)."""

    name = "embedded"

    def tasks(self) -> list[str]:
        d = embedded_dir()
        if not d.is_dir():
            raise DataNotFoundError(
                f"Embedded benchmark folder not found at {d}. Set LCSIM_EMBEDDED to a folder of task .npz files or "
                f"rebuild them from a source checkout with `{_BUILD}`.")
        return sorted(p.stem for p in d.glob("*.npz"))

    def _load(self, task: str, objective: str | None = None, **options) -> Task:
        if options:
            raise unknown_name("embedded load option", next(iter(options)), ["objective"])
        t = Task.from_file(embedded_dir() / f"{task}.npz")
        if objective is not None and objective != t.objective:
            if objective not in t.metrics:
                raise unknown_name("objective metric", objective, t.metrics)
            t = dataclasses.replace(t, objective=objective)
        return t
