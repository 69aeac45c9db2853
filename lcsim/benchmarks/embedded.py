"""The ``embedded`` benchmark: small tabular tasks built by :mod:`lcsim.live.build` and shipped in the repository.

Four tasks (``breast_cancer``, ``digits``, ``iris``, ``wine``: the scikit-learn datasets Bayesmark uses), an
LCBench-like MLP space, 50 epochs, every per-epoch metric of the live trainer including FGHPO sharpness, AGN and the
per-epoch seconds. Files: ``data/embedded/<task>.npz`` at the repository root, or the folder named by
``$LCSIM_EMBEDDED``. The same four datasets are also built on Bayesmark's MLP-adam space
(:func:`lcsim.live.spaces.bayesmark_mlp_space`, FGHPO's Bayesmark setting) in ``data/embedded/bayesmark_mlp/``:
``load(task, space="bayesmark_mlp")``. They load with no network and no external data; ``data/README.md`` records
how they were built.
"""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np

from ..errors import DataNotFoundError, check_float, unknown_name
from ._base import Task
from ._registry import Benchmark

__all__ = ["EmbeddedBenchmark", "embedded_dir"]

_BUILD = ("python -m lcsim.live.build --datasets breast_cancer digits iris wine --n-configs 400 --epochs 50 "
          "--seed 0 --workers 2 --work-dir build/embedded-work --out-dir data/embedded")
#: space -> the command that built its tasks (the default space's files sit in the folder itself, the others in a
#: sub-folder named after the space)
BUILDS = {"lcbench_mlp": _BUILD,
          "bayesmark_mlp": ("python -m lcsim.live.build --datasets breast_cancer digits iris wine "
                            "--space bayesmark_mlp --n-configs 200 --epochs 50 --seed 0 --workers 1 "
                            "--work-dir build/bayesmark-work --out-dir data/embedded/bayesmark_mlp")}
DEFAULT_SPACE = "lcbench_mlp"


def embedded_dir() -> Path:
    """``$LCSIM_EMBEDDED`` if set, else ``data/embedded`` of the source tree this package sits in."""
    env = os.environ.get("LCSIM_EMBEDDED")
    if env:
        return Path(env).expanduser()
    return Path(__file__).resolve().parents[2] / "data" / "embedded"


#: classes of the shipped datasets (ln K is the cross-entropy of the uniform predictor)
N_CLASSES = {"breast_cancer": 2, "digits": 10, "iris": 3, "wine": 3}
#: a loss objective above EXPLODED x ln K is served as that value
EXPLODED = 10.0


def clip_exploded(t: Task, factor: float = EXPLODED) -> Task:
    """Clip exploded values of a loss objective at ``factor * ln K`` (K classes; ln K is the uniform predictor's
    cross-entropy).

    SGD on unscaled features (Bayesmark's setting) sometimes blows a run up to a finite cross-entropy of 1e26 or more
    (often for a few epochs, after which the run recovers) instead of NaN. Left as they are, such values become the
    oracle's worst final value and squash every normalized regret of the task towards 0 (breast_cancer: worst 4e26,
    wine: 4e32). Clipping them at ``factor * ln K`` (default 10: 6.9 for two classes, 11.0 for three) keeps every
    value a method could learn from below that level unchanged (no run of digits or iris reaches it) and gives the
    regret a finite, meaningful range. Only the objective column changes; NaN divergences are left to the divergence
    mask. Tasks whose objective is not a loss or whose class count is unknown are returned unchanged.
    """
    k = N_CLASSES.get(t.extra.get("dataset", t.name), t.extra.get("n_classes"))
    if not t.objective.endswith("_loss") or not k:
        return t
    j = t.objective_index
    cap = factor * np.log(k)
    obj = t.curves[..., j]
    if not np.any(obj > cap):
        return t
    curves = t.curves.copy()
    curves[..., j] = np.where(obj > cap, cap, obj)
    return dataclasses.replace(t, curves=curves, version=f"{t.version}+clip{factor:g}",
                               extra={**t.extra, "objective_clipped_at": float(cap)})


class EmbeddedBenchmark(Benchmark):
    """Tasks in :func:`embedded_dir`; ``load(task, objective=..., exploded=10.0, space="lcbench_mlp")`` may switch
    the objective to any stored metric (default ``valid_loss``, minimized); loss values above ``exploded * ln K`` are
    clipped there (:func:`clip_exploded`; ``exploded=None`` serves the raw values); ``space`` picks the search space
    the task was built on (:data:`BUILDS`)."""

    name = "embedded"

    def tasks(self) -> list[str]:
        d = embedded_dir()
        if not d.is_dir():
            raise DataNotFoundError(
                f"Embedded benchmark folder not found at {d}. Set LCSIM_EMBEDDED to a folder of task .npz files or "
                f"rebuild them from a source checkout with `{_BUILD}`.")
        return sorted(p.stem for p in d.glob("*.npz"))

    def _load(self, task: str, objective: str | None = None, exploded: float | None = EXPLODED,
              space: str = DEFAULT_SPACE, **options) -> Task:
        if options:
            raise unknown_name("embedded load option", next(iter(options)), ["objective", "exploded", "space"])
        if space not in BUILDS:
            raise unknown_name("embedded search space", space, BUILDS)
        path = embedded_dir() / f"{task}.npz" if space == DEFAULT_SPACE else embedded_dir() / space / f"{task}.npz"
        if not path.is_file():
            raise DataNotFoundError(f"Embedded task file not found: {path}. Rebuild it from a source checkout with "
                                    f"`{BUILDS[space]}`.")
        t = Task.from_file(path)
        if objective is not None and objective != t.objective:
            if objective not in t.metrics:
                raise unknown_name("objective metric", objective, t.metrics)
            t = dataclasses.replace(t, objective=objective)
        if exploded is not None:
            t = clip_exploded(t, check_float("embedded load", "exploded", exploded, 1.0, None))
        return t
