"""Results store: tidy replay tables as parquet files (pyarrow), written atomically, read back by directory.

A grid writes one file per (method x task x seed) cell (see :mod:`lcsim.replay.grid`); :func:`read_dir` reads every
finished cell of a directory into one table. Temporary files of an interrupted write (``.name.*.tmp``) are never read.
"""
from __future__ import annotations

import io
import os
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .._files import write_atomic
from ..errors import DataFormatError, DataNotFoundError

__all__ = ["write_table", "read_table", "read_dir", "canonical", "write_results", "pack", "unpack", "MEASURED_COLUMNS",
           "SUFFIX"]

SUFFIX = ".parquet"
#: columns holding measured wall time (everything else of a table is simulated and reproducible, unless the runs
#: charged their overhead to the simulated clock: then ``sim_time`` and what follows from it are measured too)
MEASURED_COLUMNS = ("overhead_s",)
#: columns that identify a row of a results table
ROW_KEYS = ["benchmark", "task", "method", "seed", "trial_id", "epoch"]
#: sort key of :func:`canonical`
_KEY = ["benchmark", "task", "method", "seed", "sim_time", "trial_id", "epoch"]


def table_bytes(df: pd.DataFrame) -> bytes:
    """Serialize a table to parquet bytes (no index; deterministic for equal tables)."""
    buf = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), buf, compression="zstd")
    return buf.getvalue()


def write_table(path: str | os.PathLike, df: pd.DataFrame) -> Path:
    """Write ``df`` to ``path`` (parquet) atomically: a crash leaves either the old file or the new one."""
    path = Path(path)
    write_atomic(path, table_bytes(df))
    return path


def read_table(path: str | os.PathLike) -> pd.DataFrame:
    """Read one parquet results file; a truncated or foreign file raises :class:`DataFormatError`."""
    try:
        return pq.read_table(path).to_pandas()
    except FileNotFoundError:
        raise DataNotFoundError(f"No results file at {path}.") from None
    except (pa.ArrowException, OSError) as exc:
        raise DataFormatError(f"{path} is not a readable parquet results file ({exc}); delete it and re-run the "
                              "cell (a grid re-runs missing cells with --resume).") from exc


def cell_files(directory: str | os.PathLike) -> list[Path]:
    """Finished cell files in ``directory`` (sorted; temporary files excluded)."""
    d = Path(directory)
    return sorted(p for p in d.glob(f"*{SUFFIX}") if not p.name.startswith("."))


def read_dir(directory: str | os.PathLike) -> pd.DataFrame:
    """All finished cells of a results directory as one table (in file-name order)."""
    d = Path(directory)
    if not d.is_dir():
        raise DataNotFoundError(f"No results directory at {d}.")
    files = cell_files(d)
    if not files:
        raise DataNotFoundError(f"No results files ({SUFFIX}) in {d}.")
    return pd.concat([read_table(p) for p in files], ignore_index=True)


def canonical(df: pd.DataFrame, drop_wall: bool = True) -> pd.DataFrame:
    """``df`` sorted by (benchmark, task, method, seed, sim_time, trial_id, epoch), wall-time columns dropped.

    Two runs of the same grid give equal canonical tables whichever executor ran them and in whatever order.
    """
    out = df.drop(columns=[c for c in MEASURED_COLUMNS if c in df.columns]) if drop_wall else df
    key = [k for k in _KEY if k in out.columns]
    return out.sort_values(key, kind="stable").reset_index(drop=True)


def write_results(directory: str | os.PathLike, df: pd.DataFrame) -> tuple[Path, Path]:
    """Write a grid's table as ``results.parquet`` (the simulated results, :func:`canonical` order, measured columns
    left out: two runs of one grid give identical bytes) and ``timings.parquet`` (:data:`ROW_KEYS` and the measured
    columns, same row order); both atomically. Returns the two paths."""
    d = Path(directory)
    full = canonical(df, drop_wall=False)
    results = write_table(d / "results.parquet", full.drop(columns=[c for c in MEASURED_COLUMNS if c in full]))
    keep = [c for c in ROW_KEYS + list(MEASURED_COLUMNS) if c in full.columns]
    timings = write_table(d / "timings.parquet", full[keep])
    return results, timings


def pack(paths, path: str | os.PathLike) -> Path:
    """Write the cell files ``paths`` as one parquet file (a ``cell`` column holds each row's file name), atomically:
    a compact archive of a grid to commit or ship; :func:`unpack` restores the cell files."""
    frames = [read_table(p).assign(cell=Path(p).name) for p in paths]
    if not frames:
        raise DataNotFoundError("pack: no cell files given.")
    path = Path(path)
    buf = io.BytesIO()
    table = pa.Table.from_pandas(pd.concat(frames, ignore_index=True), preserve_index=False)
    pq.write_table(table, buf, compression="zstd", compression_level=19)
    write_atomic(path, buf.getvalue())
    return path


def unpack(path: str | os.PathLike, directory: str | os.PathLike) -> list[Path]:
    """Write the cells of a :func:`pack` file into ``directory`` (one file each, atomically), leaving cell files that
    are there already untouched. Returns the paths of all the pack's cells in ``directory``."""
    df = read_table(path)
    if "cell" not in df.columns:
        raise DataFormatError(f"{path} is not a packed grid (no 'cell' column); it was not written by store.pack.")
    d = Path(directory)
    paths = []
    for name, g in df.groupby("cell", sort=False):
        target = d / str(name)
        if not target.exists():
            write_table(target, g.drop(columns="cell").reset_index(drop=True))
        paths.append(target)
    return paths
