"""LCBench through the YAHPO Gym 1.0.2 surrogate (Pfisterer et al., 2022), run with onnxruntime directly.

The surrogate lives in ``$LCSIM_DATA/yahpo_data/lcbench/`` (``model.onnx``, ``config_space.json``,
``encoding.json``; ``python -m lcsim.data download lcbench_yahpo`` fetches them from YAHPO Gym's data release
1.0.2, checked by sha256). lcsim does not depend on yahpo-gym (it pins numpy<2 and ConfigSpace<=0.6.1); it reproduces
yahpo-gym's input encoding (``BenchmarkSet._config_to_xs``) exactly:

* ``x_cat`` int32 of shape (N, 1): the OpenML task id *as a string*, integer-encoded through ``encoding.json``;
* ``x_cont`` float32 of shape (N, 8): raw values in the order
  ``[epoch, batch_size, learning_rate, momentum, weight_decay, num_layers, max_units, max_dropout]``
  (yahpo's ``cont_names``; scaling and the output de-scaling are inside the ONNX graph);
* output float32 (N, 6): ``[time, val_accuracy, val_cross_entropy, val_balanced_accuracy, test_cross_entropy,
  test_balanced_accuracy]`` (yahpo's ``y_names``), ``time`` being cumulative seconds at that epoch and
  ``val_accuracy`` in percent.

``tests/test_yahpo.py`` checks lcsim's queries against values recorded with yahpo-gym itself
(``tests/perf/yahpo_reference.py``).

Two ways in:

* :class:`YahpoLCBenchSurrogate`: the direct query API, any configuration(s) x epoch(s) -> metrics, batched.
* :class:`YahpoLCBenchBenchmark` (registry name ``lcbench_yahpo``): one tabulated :class:`Task` per task id:
  ``n_configs`` configurations (default 2000) drawn once from the space with a seed (the same configurations for
  every task id, as in LCBench) x 52 epochs. Objective ``val_balanced_accuracy`` (maximized). The per-epoch cost is
  the difference of the cumulative ``time`` output, ``cost[e] = max(time[e] - time[e-1], 0)`` with
  ``time[0] = 0``: the surrogate's cumulative time is not guaranteed monotone, and a negative difference is clipped
  to zero (the share clipped is stored in ``task.extra["cost_clipped_share"]``; about 0.3 % of epochs). Curves keep
  the surrogate's raw outputs, unclipped; the metrics declare their physical bounds (accuracy in percent in
  [0, 100], balanced accuracies in [0, 1], cross-entropies and time >= 0), which the tabulated outputs of the
  default tabulation (34 tasks x 2000 configurations x 52 epochs) respect (``tests/perf/bench_data.py`` checks).
"""
from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from ConfigSpace import ConfigurationSpace, Float, Integer, UniformIntegerHyperparameter

from ..errors import DataFormatError, DataNotFoundError, InvalidParameterError, check_int, unknown_name
from ..seeding import derive, int_seed
from ._base import Metric, Task
from ._cache import cached, check_options, source_checksum
from ._datafiles import access_error, check_readable, onnx_problem
from ._registry import Benchmark

if TYPE_CHECKING:
    from .surrogate import SurrogateTask

__all__ = ["YahpoLCBenchSurrogate", "YahpoLCBenchBenchmark", "CONT_NAMES", "Y_NAMES", "HP_NAMES"]

CONT_NAMES = ["epoch", "batch_size", "learning_rate", "momentum", "weight_decay", "num_layers", "max_units",
              "max_dropout"]
HP_NAMES = CONT_NAMES[1:]
Y_NAMES = ["time", "val_accuracy", "val_cross_entropy", "val_balanced_accuracy", "test_cross_entropy",
           "test_balanced_accuracy"]
Y_MINIMIZE = [True, False, True, False, True, False]
MAX_EPOCH = 52
DOWNLOAD = "python -m lcsim.data download lcbench_yahpo"
#: the fix for a damaged surrogate file (``--force``: the downloader skips files it installed before)
REDOWNLOAD = f"{DOWNLOAD} --force"
FILES = ("model.onnx", "config_space.json", "encoding.json")


def _folder(root: str | Path | None = None) -> Path:
    if root is None:
        from . import data_root

        root = data_root() / "yahpo_data" / "lcbench"
    return Path(root)


def not_found(path: Path) -> DataNotFoundError:
    """The error for a missing surrogate file or folder ``path``, naming the command that fetches it."""
    return DataNotFoundError(f"YAHPO LCBench surrogate file {path} not found. Run `{DOWNLOAD}` or set LCSIM_DATA to a "
                             "folder holding yahpo_data/lcbench/.")


def _read_space(path: Path) -> tuple[ConfigurationSpace, list[str]]:
    """Build the 7-D search space and the task-id list from yahpo's ``config_space.json`` (format 0.2)."""
    try:
        doc = json.loads(path.read_text())
        hps = {h["name"]: h for h in doc["hyperparameters"]}
        task_ids = [str(c) for c in hps["OpenML_task_id"]["choices"]]
    except OSError as exc:
        raise access_error(exc, path) from exc
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError) as exc:
        raise DataFormatError(f"{path}: not a yahpo config_space.json ({type(exc).__name__}: {exc}); the file is "
                              f"truncated or corrupt. Run `{REDOWNLOAD}`.") from exc
    space = ConfigurationSpace(seed=0)
    out = []
    for name in HP_NAMES:
        if name not in hps:
            raise DataFormatError(f"{path}: hyperparameter {name!r} missing.")
        h = hps[name]
        if h["type"] == "uniform_int":
            out.append(Integer(name, (int(h["lower"]), int(h["upper"])), log=bool(h["log"])))
        elif h["type"] == "uniform_float":
            out.append(Float(name, (float(h["lower"]), float(h["upper"])), log=bool(h["log"])))
        else:
            raise DataFormatError(f"{path}: hyperparameter {name!r} has unsupported type {h['type']!r}.")
    space.add(out)
    return space, task_ids


class YahpoLCBenchSurrogate:
    """Direct queries of the YAHPO LCBench surrogate (module docstring for the encoding).

    Args:
        root: folder holding ``model.onnx``, ``config_space.json``, ``encoding.json``; default
            ``$LCSIM_DATA/yahpo_data/lcbench``.
        n_threads: onnxruntime intra-op threads (``None``: onnxruntime's default).

    Raises:
        DataNotFoundError: a file is missing (the message names the download command).
        DataFormatError: a file is truncated or corrupt (the message names it and the command that replaces it).
        DataAccessError: a file or folder cannot be read (permissions).
    """

    def __init__(self, root: str | Path | None = None, n_threads: int | None = None):
        self.root = _folder(root)
        for f in FILES:
            check_readable(self.root / f)
            if not (self.root / f).is_file():
                raise not_found(self.root / f)
        self.space, self.task_ids = _read_space(self.root / "config_space.json")
        try:
            enc = json.loads((self.root / "encoding.json").read_text())["OpenML_task_id"]
        except OSError as exc:
            raise access_error(exc, self.root / "encoding.json") from exc
        except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError) as exc:
            raise DataFormatError(f"{self.root / 'encoding.json'}: not a yahpo encoding file ({type(exc).__name__}: "
                                  f"{exc}); the file is truncated or corrupt. Run `{REDOWNLOAD}`.") from exc
        self.encoding = {str(k): int(v) for k, v in enc.items()}
        missing = [t for t in self.task_ids if t not in self.encoding]
        if missing:
            raise DataFormatError(f"{self.root / 'encoding.json'} has no code for task ids {missing}.")
        model = self.root / "model.onnx"
        try:
            problem = onnx_problem(model)
        except OSError as exc:
            raise access_error(exc, model) from exc
        if problem is not None:
            raise DataFormatError(f"{model}: {problem}; the surrogate model is corrupt. Run `{REDOWNLOAD}`.")
        import onnxruntime as ort

        opts = ort.SessionOptions()
        if n_threads is not None:
            opts.intra_op_num_threads = check_int("YahpoLCBenchSurrogate", "n_threads", n_threads, 1)
            opts.inter_op_num_threads = 1
        try:
            self.session = ort.InferenceSession(str(model), sess_options=opts, providers=["CPUExecutionProvider"])
        except Exception as exc:  # noqa: BLE001 -- onnxruntime raises its own types (InvalidProtobuf, Fail, ...)
            raise DataFormatError(f"{model}: onnxruntime cannot load it ({type(exc).__name__}); the surrogate model "
                                  f"is corrupt. Run `{REDOWNLOAD}`.") from exc
        names = {i.name for i in self.session.get_inputs()}
        if names != {"x_cat", "x_cont"}:
            raise DataFormatError(f"{self.root / 'model.onnx'}: inputs {sorted(names)}, expected x_cat and x_cont.")
        self.model_sha256 = source_checksum(self.root / "model.onnx")
        self._bounds = {hp.name: (hp.lower, hp.upper) for hp in self.space.values()}
        self._ints = {hp.name for hp in self.space.values() if isinstance(hp, UniformIntegerHyperparameter)}

    # ------------------------------------------------------------------ validation / encoding
    def _check_task(self, task_id) -> str:
        t = str(task_id)
        if t not in self.task_ids:
            raise unknown_name("lcbench_yahpo task id", t, self.task_ids)
        return t

    def _config_matrix(self, configs) -> np.ndarray:
        """Configurations -> float64 array (n, 7) in :data:`HP_NAMES` order, validated against the space."""
        if isinstance(configs, Mapping):
            configs = [configs]
        df = configs if isinstance(configs, pd.DataFrame) else pd.DataFrame(list(configs))
        missing = [c for c in HP_NAMES if c not in df.columns]
        if missing:
            raise InvalidParameterError(f"Configurations lack hyperparameters {missing}; the LCBench space has "
                                        f"{HP_NAMES}.")
        x = df[HP_NAMES].to_numpy(dtype=float)
        for j, name in enumerate(HP_NAMES):
            lo, hi = self._bounds[name]
            col = x[:, j]
            bad = ~np.isfinite(col) | (col < lo) | (col > hi)
            if name in self._ints:
                bad |= col != np.round(col)
            if bad.any():
                v = float(col[np.flatnonzero(bad)[0]])
                v = int(v) if name in self._ints and v == round(v) else v
                kind = "an int" if name in self._ints else "a float"
                raise InvalidParameterError(
                    f"The {name!r} hyperparameter of LCBench must be {kind} in [{lo:g}, {hi:g}]. Got {v!r}.")
        return x

    def _epochs(self, epochs) -> np.ndarray:
        e = np.atleast_1d(np.asarray(epochs))
        if e.ndim != 1 or e.size == 0 or not np.issubdtype(e.dtype, np.number) or np.any(e != np.round(e)) \
                or np.any(e < 1) or np.any(e > MAX_EPOCH):
            raise InvalidParameterError(f"The 'epochs' parameter of the LCBench surrogate must be ints in "
                                        f"[1, {MAX_EPOCH}]. Got {epochs!r}.")
        return e.astype(int)

    def encode(self, task_ids, configs, epochs) -> tuple[np.ndarray, np.ndarray]:
        """yahpo-gym's model inputs for N aligned rows.

        Args:
            task_ids: one task id or N of them.
            configs: N configurations (DataFrame, list of dicts) in the LCBench space.
            epochs: one epoch or N of them (1..52).

        Returns:
            ``(x_cat, x_cont)``: int32 (N, 1) and float32 (N, 8).
        """
        x = self._config_matrix(configs)
        n = x.shape[0]
        e = np.broadcast_to(self._epochs(epochs), (n,)) if np.ndim(epochs) else np.full(n, self._epochs(epochs)[0])
        tids = [task_ids] * n if isinstance(task_ids, (str, int, np.integer)) else list(task_ids)
        if len(tids) != n:
            raise InvalidParameterError(f"{len(tids)} task ids for {n} configurations.")
        codes = {t: self.encoding[self._check_task(t)] for t in set(map(str, tids))}
        x_cat = np.array([codes[str(t)] for t in tids], dtype=np.int32).reshape(n, 1)
        x_cont = np.column_stack([e.astype(float), x]).astype(np.float32)
        return x_cat, x_cont

    def _run(self, x_cat: np.ndarray, x_cont: np.ndarray, batch_size: int = 200_000) -> np.ndarray:
        out = np.empty((x_cat.shape[0], len(Y_NAMES)), dtype=np.float32)
        for s in range(0, x_cat.shape[0], batch_size):
            out[s:s + batch_size] = self.session.run(
                ["output"], {"x_cat": x_cat[s:s + batch_size], "x_cont": x_cont[s:s + batch_size]})[0]
        return out

    # ------------------------------------------------------------------ public queries
    def predict(self, task_ids, configs, epochs) -> pd.DataFrame:
        """Surrogate outputs for N aligned (task id, configuration, epoch) rows.

        Returns:
            DataFrame of N rows with columns :data:`Y_NAMES` (float32 surrogate outputs, unmodified).
        """
        x_cat, x_cont = self.encode(task_ids, configs, epochs)
        return pd.DataFrame(self._run(x_cat, x_cont), columns=Y_NAMES)

    def curves(self, task_id, configs, epochs: Iterable[int] | None = None) -> np.ndarray:
        """Full grid: every configuration at every epoch of one task.

        Args:
            task_id: an OpenML task id of :attr:`task_ids`.
            configs: n configurations.
            epochs: epochs to query (default 1..52).

        Returns:
            float32 array of shape (n, n_epoch, 6), last axis :data:`Y_NAMES`.
        """
        t = self._check_task(task_id)
        x = self._config_matrix(configs)
        e = self._epochs(np.arange(1, MAX_EPOCH + 1) if epochs is None else epochs)
        n, k = x.shape[0], e.size
        x_cont = np.empty((n * k, 8), dtype=np.float32)
        x_cont[:, 0] = np.tile(e, n)
        x_cont[:, 1:] = np.repeat(x, k, axis=0)
        x_cat = np.full((n * k, 1), self.encoding[t], dtype=np.int32)
        return self._run(x_cat, x_cont).reshape(n, k, len(Y_NAMES))

    def sample_configs(self, n: int, seed=0) -> pd.DataFrame:
        """``n`` configurations drawn from the space with ConfigSpace's sampler, seeded (same seed -> same frame)."""
        n = check_int("YahpoLCBenchSurrogate.sample_configs", "n", n, 1)
        space, _ = _read_space(self.root / "config_space.json")
        space.seed(int_seed(derive(seed, "lcbench_yahpo", "configs")))
        samples = [space.sample_configuration()] if n == 1 else space.sample_configuration(n)
        df = pd.DataFrame([dict(c) for c in samples])[HP_NAMES]
        for c in self._ints:
            df[c] = df[c].astype(np.int64)
        for c in set(HP_NAMES) - self._ints:
            df[c] = df[c].astype(float)
        return df


class YahpoLCBenchBenchmark(Benchmark):
    """Tabulated YAHPO LCBench tasks, one per OpenML task id (34; module docstring for the cost rule).

    Options of :meth:`load`:
        n_configs: configurations per task (default 2000, as LCBench).
        seed: seed of the configuration sample (default 0; the same configurations for every task id).
        cache: read/write the parsed-task cache (default ``True``).
        n_threads: onnxruntime threads (default: onnxruntime's choice).
    """

    name = "lcbench_yahpo"

    def tasks(self) -> list[str]:
        path = _folder() / "config_space.json"
        check_readable(path)
        if not path.is_file():
            raise not_found(path)
        return _read_space(path)[1]

    def _load(self, task: str, **options) -> Task:
        check_options("YahpoLCBenchBenchmark.load", options, ["n_configs", "seed", "cache", "n_threads", "direct"])
        if options.pop("direct", False):
            return self.open_task(task, **options)
        return self._load_task(task, **options)

    def open_task(self, task: str, n_configs: int = 2000, seed: int = 0, cache: bool = True,
                  n_threads: int | None = None) -> SurrogateTask:
        """A :class:`~lcsim.benchmarks.surrogate.SurrogateTask`: the seeded reference tabulation of ``n_configs``
        configurations (its oracle is the regret reference) that also evaluates any proposed configuration by
        querying the surrogate directly (``load("lcbench_yahpo", task, direct=True)``)."""
        from .surrogate import SurrogateTask

        reference = self._load_task(task, n_configs, seed, cache, n_threads)
        surrogate = YahpoLCBenchSurrogate(_folder(), n_threads)
        return SurrogateTask(reference, lambda row: _curves_and_cost(surrogate, task, row))

    def _load_task(self, task: str, n_configs: int = 2000, seed: int = 0, cache: bool = True,
                   n_threads: int | None = None) -> Task:
        n_configs = check_int("YahpoLCBenchBenchmark.load", "n_configs", n_configs, 1)
        seed = check_int("YahpoLCBenchBenchmark.load", "seed", seed, 0)
        folder = _folder()
        sources = [folder / f for f in FILES]
        return cached(self.name, task, {"n_configs": n_configs, "seed": seed}, sources,
                      lambda: tabulate(task, n_configs, seed, YahpoLCBenchSurrogate(folder, n_threads)),
                      use_cache=cache)


def _raw_dt(y: np.ndarray) -> np.ndarray:
    t = y[:, 0, :, 0]
    return np.diff(np.concatenate([np.zeros((t.shape[0], 1)), t], axis=1), axis=1)


def _curves_and_cost(surrogate: YahpoLCBenchSurrogate, task: str, configs: pd.DataFrame):
    """Curves (n, 1, 52, 6) and per-epoch seconds (n, 1, 52): ``cost[e] = max(time[e] - time[e-1], 0)``."""
    y = surrogate.curves(task, configs).astype(float)[:, None, :, :]
    return y, np.maximum(_raw_dt(y), 0.0)[:, None, :]


def tabulate(task: str, n_configs: int, seed: int, surrogate: YahpoLCBenchSurrogate) -> Task:
    """Query the surrogate on ``n_configs`` seeded configurations x 52 epochs of task id ``task``.

    Returns:
        Task of shape (n_configs, 1, 52, 6); objective ``val_balanced_accuracy``; cost in seconds.
    """
    configs = surrogate.sample_configs(n_configs, seed)
    y, cost = _curves_and_cost(surrogate, task, configs)
    clipped = float(np.mean(_raw_dt(y) < 0))
    inf = math.inf
    bounds = {"time": (0.0, inf), "val_accuracy": (0.0, 100.0), "val_cross_entropy": (0.0, inf),
              "val_balanced_accuracy": (0.0, 1.0), "test_cross_entropy": (0.0, inf),
              "test_balanced_accuracy": (0.0, 1.0)}
    metrics = {n: Metric(n, mn, bounds[n]) for n, mn in zip(Y_NAMES, Y_MINIMIZE)}
    return Task(benchmark="lcbench_yahpo", name=str(task), configs=configs, curves=y,
                metrics=metrics, objective="val_balanced_accuracy", space=surrogate.space, epoch_cost=cost,
                cost_unit="seconds", diverged=np.zeros((n_configs, 1), dtype=bool),
                version=f"yahpo-lcbench-1.0.2-{surrogate.model_sha256[:12]}-n{n_configs}-s{seed}",
                fidelities=np.arange(1, MAX_EPOCH + 1),
                extra={"source": "yahpo_gym 1.0.2 lcbench surrogate (onnxruntime)",
                       "model_sha256": surrogate.model_sha256, "n_configs": n_configs, "seed": seed,
                       "cost_clipped_share": clipped,
                       "cost_rule": "cost[e] = max(time[e] - time[e-1], 0), time[0] = 0"})
