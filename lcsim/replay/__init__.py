"""Replay engine: serve recorded learning curves on a simulated clock (see :mod:`lcsim.replay.engine`)."""
from .engine import INCUMBENT_RULES, Budget, ReplayResult, add_incumbents, problem_for, run

__all__ = ["Budget", "ReplayResult", "run", "problem_for", "add_incumbents", "INCUMBENT_RULES"]
