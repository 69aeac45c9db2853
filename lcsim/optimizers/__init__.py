"""HPO methods behind one ask/tell interface (see :mod:`lcsim.optimizers._base`).

:data:`METHODS` maps the lower-case names used on the command line to classes; :func:`make_optimizer` builds one
with explicit parameters (validated by the class itself).
"""
from __future__ import annotations

import importlib
import numbers

import numpy as np

from ..errors import InvalidParameterError, unknown_name
from ..space import encode_configs
from ._base import Job, Observation, Optimizer, Problem

__all__ = ["Job", "Observation", "Optimizer", "Problem", "encode_configs", "METHODS", "make_optimizer",
           "list_methods", "param_types", "parse_param"]

# name -> "module:Class"; imported on use so that heavy optional stacks (torch, SMAC3) load only when needed
METHODS: dict[str, str] = {
    "random_search": "lcsim.optimizers.random_search:RandomSearch",
    "successive_halving": "lcsim.optimizers.hyperband:SuccessiveHalving",
    "hyperband": "lcsim.optimizers.hyperband:Hyperband",
    "asha": "lcsim.optimizers.asha:ASHA",
    "dpl": "lcsim.optimizers.dpl:DPL",
    "dyhpo": "lcsim.optimizers.dyhpo:DyHPO",
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
    """Build method ``name`` for ``problem`` with ``seed`` and explicit ``params``: each value must have the type its
    constructor declares (:func:`param_types`; a bool is not an int, a string is not a bool), then the class
    validates ranges."""
    cls = method_class(name)
    params = dict(params or {})
    types = param_types(name)
    unknown = [k for k in params if k not in types]
    if unknown:
        raise InvalidParameterError(f"Bad parameters {params} for method {name!r}: unknown {unknown}. Valid "
                                    f"parameters: {list(types)}.")
    for k, v in params.items():
        _check_type(name, k, v, types[k])
    try:
        return cls(problem, seed, **params)
    except TypeError as exc:
        raise InvalidParameterError(f"Bad parameters {params} for method {name!r}: {exc}. Valid parameters: "
                                    f"{list(types)}.") from exc


def param_types(name: str) -> dict[str, str]:
    """Parameter name -> declared type (the constructor's annotation as written, e.g. ``"bool"``, ``"int | None"``)
    of method ``name``."""
    import inspect

    sig = inspect.signature(method_class(name).__init__)
    return {k: str(p.annotation) if p.annotation is not inspect.Parameter.empty else ""
            for k, p in sig.parameters.items() if k not in ("self", "problem", "seed")}


_SCALARS = {"bool": (bool, np.bool_), "int": (numbers.Integral,), "float": (numbers.Real,), "str": (str,)}


def _declared(annotation: str) -> tuple[set[str], bool]:
    """The scalar types named by an annotation and whether it admits None (other types: not checked here)."""
    parts = {a.strip() for a in annotation.split("|")}
    return parts & set(_SCALARS), "None" in parts


def _check_type(method: str, pname: str, value, annotation: str) -> None:
    kinds, nullable = _declared(annotation)
    if not kinds or (value is None and nullable):
        return
    ok = any(isinstance(value, _SCALARS[k]) and not (k != "bool" and isinstance(value, (bool, np.bool_)))
             for k in kinds)
    if not ok:
        raise InvalidParameterError(f"The {pname!r} parameter of {method} must be {_kinds(kinds, nullable)}. "
                                    f"Got {value!r}.")


def _kinds(kinds: set[str], nullable: bool) -> str:
    """'a bool', 'an int or None', ... (the validation template's wording)."""
    words = [("an " if k == "int" else "a ") + k for k in sorted(kinds)] + (["None"] if nullable else [])
    return " or ".join(words)


def parse_param(method: str, pname: str, text: str):
    """A command-line value for parameter ``pname`` of ``method``, parsed strictly to its declared type: bool from
    ``true``/``false`` (any case), int and float from their literals, str as written, ``none``/``null`` for an
    optional one, anything else as JSON. A value that does not parse raises the validation template."""
    import json

    types = param_types(method)
    if pname not in types:
        raise InvalidParameterError(f"Method {method!r} has no parameter {pname!r}. Valid parameters: {list(types)}.")
    kinds, nullable = _declared(types[pname])
    low = text.strip().lower()
    if nullable and low in ("none", "null"):
        return None
    if kinds == {"str"}:
        return text
    if "bool" in kinds and low in ("true", "false"):
        return low == "true"
    if "int" in kinds:
        try:
            return int(text)
        except ValueError:
            pass
    if "float" in kinds:
        try:
            return float(text)
        except ValueError:
            pass
    if "str" in kinds:
        return text
    if kinds:
        raise InvalidParameterError(f"The {pname!r} parameter of {method} must be {_kinds(kinds, nullable)}. "
                                    f"Got {text!r}.")
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text
