"""What ``python -m lcsim.data list`` reports: per benchmark, whether its files are present, and if not, why.

Each benchmark gets one :class:`DataStatus`, judged from the files on disk, never from a built-in task list:

``available``
    the files are present and pass the cheap checks of :func:`lcsim.benchmarks._datafiles.file_problem` (truncation,
    foreign files); ``tasks`` are the tasks those files hold. LCBench and PD1 raw files name their tasks only inside
    (a 975 MB json, gzipped json lines), so for them ``tasks`` stays empty and the detail says so.
``missing``
    no file of the benchmark under the data root; the detail is the loader's own message with the download command.
``unreadable``
    a file or folder on the way cannot be read (permissions); the detail names the path that blocks.
``corrupt``
    a file fails its check; the detail names it and the command that replaces it. Tasks of the other, intact files
    are still listed.

The checks read at most a few bytes per file (a whole file only for the 2 MB ONNX model and the small json metadata),
so ``list`` stays fast on the real data.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import NamedTuple

from ..errors import DataAccessError, DataFormatError, DataNotFoundError, LcsimError

__all__ = ["DataStatus", "availability", "status_of"]


class DataStatus(NamedTuple):
    """One benchmark's data: ``state`` is ``available``, ``missing``, ``unreadable``, ``corrupt`` or ``no loader``."""

    benchmark: str
    state: str
    tasks: list[str]
    detail: str

    def line(self) -> str:
        """The one-line summary ``list`` prints."""
        if self.state == "available":
            head = f"{_tasks(len(self.tasks))} available" if self.tasks else "available"
            return f"{self.benchmark}: {head} ({self.detail})"
        return f"{self.benchmark}: {self.state}: {self.detail}"


def _tasks(n: int) -> str:
    return f"{n} task{'' if n == 1 else 's'}"


def _check(name: str, files: Iterable[Path], task_of: Callable[[Path], str] | None, fix: str,
           where: str) -> DataStatus:
    """Status of a benchmark whose tasks are ``task_of(file)`` for each intact file of ``files`` (``task_of=None``:
    the files do not name tasks one by one; the caller fills ``tasks``)."""
    from ..benchmarks._datafiles import access_error, check_readable, file_problem

    good, bad, denied = [], [], []
    for f in files:
        try:
            check_readable(f)
            problem = file_problem(f)
        except DataAccessError as exc:
            denied.append(str(exc))
            continue
        except OSError as exc:
            denied.append(str(access_error(exc, f)))
            continue
        if problem is None:
            good.append(f)
        else:
            bad.append(f"{f}: {problem}")
    tasks = sorted({task_of(f) for f in good}) if task_of is not None else []
    rest = f" ({_tasks(len(tasks))} of intact files available)" if tasks else ""
    if denied:
        more = f" ({len(denied) - 1} more such files)" if len(denied) > 1 else ""
        return DataStatus(name, "unreadable", tasks, f"{denied[0]}{more}{rest}")
    if bad:
        more = f" ({len(bad) - 1} more damaged files)" if len(bad) > 1 else ""
        return DataStatus(name, "corrupt", tasks, f"{bad[0]}{more}; delete it and run `{fix}`{rest}.")
    return DataStatus(name, "available", tasks, where)


def _synthetic() -> DataStatus:
    from ..benchmarks import get_benchmark

    return DataStatus("synthetic", "available", list(get_benchmark("synthetic").tasks()), "generated, no files")


def _embedded() -> DataStatus:
    from ..benchmarks._datafiles import check_readable
    from ..benchmarks.embedded import _BUILD, EmbeddedBenchmark, embedded_dir

    d = embedded_dir()
    check_readable(d)
    EmbeddedBenchmark().tasks()                       # DataNotFoundError without the folder
    files = sorted(d.glob("*.npz"))
    if not files:
        raise DataNotFoundError(f"No task file (*.npz) in the embedded benchmark folder {d}; set LCSIM_EMBEDDED to a "
                                f"folder of task .npz files or rebuild them with `{_BUILD}`.")
    return _check("embedded", files, lambda p: p.stem, _BUILD, f"{len(files)} files in {d}")


def _taskset() -> DataStatus:
    from ..benchmarks import taskset as ts

    b = ts.TaskSetBenchmark()
    jf, rf = b.json_files(), b.raw_files()
    if not jf and not rf:
        raise ts._not_found(ts._dataroot())
    where = "; ".join(f"{len(fs)} {kind} files in {d}" for fs, kind, d in
                      ((jf, "json", b._json_dir()), (rf, "npz", b._raw_dir())) if fs)
    return _check("taskset", jf + rf, lambda p: p.stem if p.suffix == ".json" else p.parent.name,
                  f"{ts.DOWNLOAD} --force", where)


def _lcbench_yahpo() -> DataStatus:
    from ..benchmarks import yahpo
    from ..benchmarks._datafiles import check_readable

    folder = yahpo._folder()
    check_readable(folder)
    for f in yahpo.FILES:
        if not (folder / f).is_file():
            raise yahpo.not_found(folder / f)
    st = _check("lcbench_yahpo", [folder / f for f in yahpo.FILES], None, yahpo.REDOWNLOAD,
                f"YAHPO Gym surrogate in {folder}")
    if st.state != "available":
        return st
    return st._replace(tasks=list(yahpo._read_space(folder / "config_space.json")[1]))  # DataFormatError: corrupt


def _syne_tasks(directory: Path) -> list[str]:
    path = directory / "metadata.json"
    try:
        return [str(t) for t in json.loads(path.read_text())["task_names"]]
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError) as exc:
        raise DataFormatError(f"{path}: not syne-tune blackbox metadata ({type(exc).__name__}: {exc}).") from exc


def _lcbench() -> DataStatus:
    from ..benchmarks import data_root
    from ..benchmarks import lcbench as lc
    from ..benchmarks._datafiles import check_readable

    base = data_root() / "lcbench"
    check_readable(base)
    paths = lc.find_files()
    raw = [p for p in paths["raw"].values() if p is not None]
    fix = "python -m lcsim.data download lcbench --force"
    if raw:
        return _check("lcbench", raw, None, fix,
                      f"{', '.join(p.name for p in raw)} in {base}; the task names are read from the file on load")
    if paths["syne_tune"] is not None:
        d = paths["syne_tune"]
        st = _check("lcbench", [d / "metadata.json", d / "objectives_evaluations.npy"], None, fix,
                    f"syne-tune blackbox in {d}")
        return st._replace(tasks=_syne_tasks(d) if st.state == "available" else [])
    names = [n for ns in lc.RAW_FILES.values() for n in ns]
    raise DataNotFoundError(f"LCBench data not found in {base} (expected {', '.join(names)}, or syne-tune's "
                            f"metadata.json + objectives_evaluations.npy); {lc.DOWNLOAD_HINT}.")


def _pd1() -> DataStatus:
    from ..benchmarks import data_root, pd1
    from ..benchmarks._datafiles import check_readable

    d = data_root() / "pd1"
    check_readable(d)
    raw = pd1.raw_files(d)
    fix = "python -m lcsim.data download pd1 --force"
    if raw:
        return _check("pd1", raw, None, fix,
                      f"{len(raw)} raw files in {d}; the task names are read from them on load")
    if (d / "metadata.json").is_file():
        st = _check("pd1", [d / "metadata.json"], None, fix,
                    f"syne-tune blackbox in {d}; task count before DPL's curve-length filter")
        return st._replace(tasks=_syne_tasks(d) if st.state == "available" else [])
    raise DataNotFoundError(f"PD1 data not found in {d} (expected pd1_{{matched,unmatched}}_phase{{0,1}}_results"
                            f".jsonl.gz, or syne-tune's metadata.json); {pd1.DOWNLOAD_HINT}.")


_PROBES: dict[str, Callable[[], DataStatus]] = {
    "synthetic": _synthetic, "embedded": _embedded, "taskset": _taskset, "lcbench": _lcbench,
    "lcbench_yahpo": _lcbench_yahpo, "pd1": _pd1,
}


def status_of(name: str) -> DataStatus:
    """The :class:`DataStatus` of one registered benchmark (never raises for a data problem)."""
    from ..benchmarks import data_root, get_benchmark
    from ..benchmarks._datafiles import access_error

    probe = _PROBES.get(name)
    try:
        if probe is None:  # a benchmark registered without a probe: trust its own task list
            return DataStatus(name, "available", list(get_benchmark(name).tasks()), "task list of its loader")
        return probe()
    except DataAccessError as exc:
        return DataStatus(name, "unreadable", [], str(exc))
    except DataNotFoundError as exc:
        return DataStatus(name, "missing", [], str(exc))
    except DataFormatError as exc:
        return DataStatus(name, "corrupt", [], str(exc))
    except ImportError as exc:
        return DataStatus(name, "no loader", [], f"loader not installed in this build ({exc.name or exc})")
    except LcsimError as exc:
        return DataStatus(name, "missing", [], str(exc))
    except OSError as exc:  # a permission the checks above could not see (ACLs, network file systems)
        return DataStatus(name, "unreadable", [], str(access_error(exc, exc.filename or data_root())))


def availability() -> list[DataStatus]:
    """:func:`status_of` every registered benchmark, in registry order."""
    from ..benchmarks import list_benchmarks

    return [status_of(name) for name in list_benchmarks()]
