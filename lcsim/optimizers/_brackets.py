"""Hyperband bracket schedules (Li et al. 2017, Algorithm 1), in integer epochs.

With ``R = max_epoch / min_epoch`` and ``s_max = floor(log_eta(R))``, bracket ``s`` (``s_max`` down to 0) starts
``n = ceil((s_max + 1) / (s + 1) * eta**s)`` configurations at budget ``r = max_epoch * eta**(-s)``; rung ``i`` keeps
``floor(n * eta**(-i))`` configurations at budget ``r * eta**i``. Budgets are rounded to the nearest epoch and kept
within ``[min_epoch, max_epoch]``; the last rung of every bracket is exactly ``max_epoch``. ``log_eta`` is computed
on integers so that R = 81, eta = 3 gives s_max = 4 exactly (a float ``log`` can give 3.9999).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["Rung", "Bracket", "int_log", "hyperband_brackets", "successive_halving_rungs",
           "min_epoch_for_brackets", "hpbandster_brackets"]


@dataclass(frozen=True)
class Rung:
    n: int        # configurations evaluated at this rung
    epoch: int    # budget (epochs) of this rung


@dataclass(frozen=True)
class Bracket:
    s: int
    rungs: tuple[Rung, ...]


def int_log(ratio: float, eta: int) -> int:
    """Largest integer ``k`` with ``eta**k <= ratio`` (robust against float rounding)."""
    k = 0
    while eta ** (k + 1) <= ratio * (1 + 1e-12):
        k += 1
    return k


def _rungs(n: int, s: int, min_epoch: int, max_epoch: int, eta: int) -> tuple[Rung, ...]:
    out = []
    for i in range(s + 1):
        n_i = int(math.floor(n * eta ** (-i) + 1e-9))
        r_i = max_epoch * eta ** (i - s)
        e = max_epoch if i == s else min(max(int(round(r_i)), min_epoch), max_epoch)
        out.append(Rung(max(n_i, 1), e))
    return tuple(out)


def successive_halving_rungs(n: int, min_epoch: int, max_epoch: int, eta: int) -> tuple[Rung, ...]:
    """Rungs of one successive-halving run starting ``n`` configurations at ``min_epoch`` (Jamieson & Talwalkar)."""
    s = int_log(max_epoch / min_epoch, eta)
    return _rungs(n, s, min_epoch, max_epoch, eta)


def hyperband_brackets(min_epoch: int, max_epoch: int, eta: int = 3) -> list[Bracket]:
    """All Hyperband brackets, most exploratory first (``s = s_max .. 0``)."""
    s_max = int_log(max_epoch / min_epoch, eta)
    out = []
    for s in range(s_max, -1, -1):
        n = int(math.ceil((s_max + 1) / (s + 1) * eta ** s - 1e-9))
        out.append(Bracket(s, _rungs(n, s, min_epoch, max_epoch, eta)))
    return out


def min_epoch_for_brackets(max_epoch: int, eta: int = 3, n_brackets: int = 4) -> int:
    """The DPL paper's rule for curves of different lengths (PD1, appendix C): the largest minimal fidelity that
    still allows ``n_brackets`` Hyperband brackets, ``floor(max_epoch / eta**(n_brackets - 1))``, or 1 where fewer
    brackets are possible."""
    return max(1, int(math.floor(max_epoch / eta ** (n_brackets - 1) + 1e-9)))


def hpbandster_brackets(min_epoch: int, max_epoch: int, eta: int = 3) -> tuple[list[int], list[Bracket]]:
    """The bracket schedule of HpBandSter 0.7.4 (Hyperband/BOHB) and DEHB 0.1.x, most exploratory first.

    It differs from Li et al.'s Algorithm 1 (:func:`hyperband_brackets`) in the first rung: with ``S = s_max + 1``
    fidelity levels, bracket ``s`` starts ``n_0 = floor(S / (s + 1)) * eta**s`` configurations (Li et al.: ``ceil``);
    rung ``i`` keeps ``max(floor(n_0 * eta**-i), 1)``. Fidelity level ``k`` is ``max_epoch * eta**(k - s_max)``
    rounded to an epoch (the last exactly ``max_epoch``). ``s_max`` is computed on integers (HpBandSter's float
    ``log`` can lose a level, e.g. for ``R = 243``).

    Returns:
        (epochs of the ``S`` fidelity levels, brackets ``s = s_max .. 0``).
    """
    s_max = int_log(max_epoch / min_epoch, eta)
    S = s_max + 1
    levels = []
    for k in range(S):
        e = max_epoch if k == s_max else int(round(max_epoch * float(eta) ** (k - s_max)))
        levels.append(min(max(e, min_epoch), max_epoch))
    brackets = []
    for s in range(s_max, -1, -1):
        n0 = (S // (s + 1)) * eta ** s
        rungs = tuple(Rung(max(int(math.floor(n0 * float(eta) ** (-i) + 1e-9)), 1), levels[s_max - s + i])
                      for i in range(s + 1))
        brackets.append(Bracket(s, rungs))
    return levels, brackets
