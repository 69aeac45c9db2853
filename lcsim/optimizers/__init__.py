"""HPO methods behind one ask/tell interface (see :mod:`lcsim.optimizers._base`).

:data:`METHODS` maps the lower-case names used on the command line to classes; :func:`make_optimizer` builds one
with explicit parameters (validated by the class itself).
"""
from __future__ import annotations

import importlib

from ..errors import InvalidParameterError, unknown_name
from ..space import encode_configs
from ._base import Job, Observation, Optimizer, Problem

__all__ = ["Job", "Observation", "Optimizer", "Problem", "encode_configs", "METHODS", "make_optimizer",
           "list_methods"]

# name -> "module:Class"; imported on use so that heavy optional stacks (torch, SMAC3) load only when needed
METHODS: dict[str, str] = {
    "random_search": "lcsim.optimizers.random_search:RandomSearch",
    "successive_halving": "lcsim.optimizers.hyperband:SuccessiveHalving",
    "hyperband": "lcsim.optimizers.hyperband:Hyperband",
    "asha": "lcsim.optimizers.asha:ASHA",
    "dpl": "lcsim.optimizers.dpl:DPL",
    "fghpo": "lcsim.optimizers.fghpo:FGHPO",
    "tpe": "lcsim.optimizers.blackbox:TPE",
    "cmaes": "lcsim.optimizers.blackbox:CMAES",
    "pso": "lcsim.optimizers.blackbox:PSO",
    "turbo": "lcsim.optimizers.blackbox:TuRBO",
    "hebo": "lcsim.optimizers.hebo:HEBO",
    "bohb": "lcsim.optimizers.bohb:BOHB",
    "dehb": "lcsim.optimizers.dehb:DEHB",
    "smac": "lcsim.optimizers.smac:SMAC",
    "boca": "lcsim.optimizers.boca:BOCA",
    "optuna": "lcsim.optimizers.optuna_adapter:Optuna",
}


def list_methods() -> list[str]:
    return list(METHODS)


def method_class(name: str) -> type[Optimizer]:
    if name not in METHODS:
        raise unknown_name("method", name, METHODS)
    mod, cls = METHODS[name].split(":")
    return getattr(importlib.import_module(mod), cls)


def make_optimizer(name: str, problem: Problem, seed, params: dict | None = None) -> Optimizer:
    """Build method ``name`` for ``problem`` with ``seed`` and explicit ``params`` (validated by the class)."""
    cls = method_class(name)
    try:
        return cls(problem, seed, **(params or {}))
    except TypeError as exc:
        import inspect

        valid = [p for p in inspect.signature(cls.__init__).parameters if p not in ("self", "problem", "seed")]
        raise InvalidParameterError(f"Bad parameters {params} for method {name!r}: {exc}. Valid parameters: "
                                    f"{valid}.") from exc
