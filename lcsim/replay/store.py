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

__all__ = ["write_table", "read_table", "read_dir", "canonical", "write_results", "MEASURED_COLUMNS", "SUFFIX"]

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
