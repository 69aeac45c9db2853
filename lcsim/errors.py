"""Exceptions and the one validation-message template lcsim uses everywhere.

Every error raised on user input names what was wrong and what is valid (or the command that fixes it), following
scikit-learn's ``_param_validation`` message style: "The 'eta' parameter of ASHA must be an int in [2, inf). Got 1."
"""
from __future__ import annotations

import difflib
import math
from collections.abc import Iterable

__all__ = [
    "LcsimError",
    "DataNotFoundError",
    "DataFormatError",
    "DataAccessError",
    "UnknownNameError",
    "InvalidParameterError",
    "BudgetError",
    "LookAheadError",
    "ProtocolError",
    "unknown_name",
    "check_int",
    "check_float",
    "check_choice",
]


class LcsimError(Exception):
    """Base class of every error lcsim raises on purpose."""


class DataNotFoundError(LcsimError, FileNotFoundError):
    """A benchmark's files are missing; the message names the download command."""


class DataFormatError(LcsimError, ValueError):
    """A data file exists but is malformed, truncated or has the wrong shape."""


class UnknownNameError(LcsimError, KeyError):
    """An unknown benchmark, task, method or metric name; the message lists the valid ones."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class InvalidParameterError(LcsimError, ValueError):
    """A parameter outside its valid range; the message states the range."""


class BudgetError(LcsimError, ValueError):
    """A budget or epoch out of range for the task."""


class LookAheadError(LcsimError, RuntimeError):
    """Raised when something tries to read an epoch that nobody paid for (a replay-engine invariant)."""


class ProtocolError(LcsimError, RuntimeError):
    """A method broke the ask/tell protocol the replay engine enforces: it returned something that is not a Job,
    asked an epoch outside ``1..max_epoch`` or a config_id outside the pool, asked a trial whose job is still running,
    resumed a trial with another configuration, or never stopped (``max_jobs``). The message names the method and
    the rule."""


def unknown_name(kind: str, name: str, valid: Iterable[str]) -> UnknownNameError:
    """Build the error for an unknown ``name`` of ``kind``, suggesting the closest valid names."""
    valid = sorted(valid)
    close = difflib.get_close_matches(str(name), valid, n=3, cutoff=0.5)
    hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    shown = valid if len(valid) <= 40 else valid[:40] + [f"... ({len(valid) - 40} more)"]
    return UnknownNameError(f"Unknown {kind} {name!r}.{hint} Valid {kind}s: {shown}.")


def _interval(low: float | None, high: float | None, closed: str) -> str:
    lo = "-inf" if low is None else f"{low:g}"
    hi = "inf" if high is None else f"{high:g}"
    left = "[" if closed in ("both", "left") and low is not None else "("
    right = "]" if closed in ("both", "right") and high is not None else ")"
    return f"{left}{lo}, {hi}{right}"


def _in(value: float, low: float | None, high: float | None, closed: str) -> bool:
    if low is not None and (value < low or (value == low and closed not in ("both", "left"))):
        return False
    if high is not None and (value > high or (value == high and closed not in ("both", "right"))):
        return False
    return True


def check_int(owner: str, name: str, value, low: int | None = None, high: int | None = None,
              closed: str = "both") -> int:
    """Validate that ``value`` is an int in the interval; return it as ``int``."""
    if isinstance(value, bool) or not isinstance(value, (int,)) and not (
            hasattr(value, "__index__") and not isinstance(value, float)):
        raise InvalidParameterError(
            f"The {name!r} parameter of {owner} must be an int in {_interval(low, high, closed)}. Got {value!r}.")
    value = int(value)
    if not _in(value, low, high, closed):
        raise InvalidParameterError(
            f"The {name!r} parameter of {owner} must be an int in {_interval(low, high, closed)}. Got {value!r}.")
    return value


def check_float(owner: str, name: str, value, low: float | None = None, high: float | None = None,
                closed: str = "both") -> float:
    """Validate that ``value`` is a finite real number in the interval; return it as ``float``."""
    try:
        f = float(value)
    except (TypeError, ValueError):
        f = math.nan
    if isinstance(value, bool) or not math.isfinite(f) or not _in(f, low, high, closed):
        raise InvalidParameterError(
            f"The {name!r} parameter of {owner} must be a float in {_interval(low, high, closed)}. Got {value!r}.")
    return f


def check_choice(owner: str, name: str, value, options: Iterable) -> object:
    """Validate that ``value`` is one of ``options``."""
    options = list(options)
    if value not in options:
        raise InvalidParameterError(
            f"The {name!r} parameter of {owner} must be one of {options}. Got {value!r}.")
    return value


class DataAccessError(LcsimError, OSError):
    """A data file, data folder or cache folder exists but cannot be read or written (permission denied, not a
    directory, no space left on the device); the message names the path and the fix."""
