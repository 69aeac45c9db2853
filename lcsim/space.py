"""One codec between a ConfigSpace search space and the numeric vectors that models and vector methods work on.

:class:`SpaceCodec` encodes a configuration table (a DataFrame or a list of dicts) into an array of shape (n, d), one
configuration into a vector of shape (d,), and decodes a vector back into a configuration dict. Numerical
hyperparameters are min-max scaled on their own scale in every kind (log where the space says ``log=True``:
``(log v - log lo) / (log hi - log lo)``); decoding clips to [0, 1], maps back and rounds integers (half to even).
The kinds differ in how they treat choices and constants:

* ``"unit"`` (the DPL surrogate input, the nearest-candidate mapping of tabular tasks, the black-box vector methods
  CMA-ES, PSO, TuRBO and HEBO): every hyperparameter of the space is a dimension; a categorical or ordinal value
  with index ``k`` of ``n`` choices encodes as ``k / (n - 1)`` and a value ``v`` decodes to the choice
  ``round(v * (n - 1))``; a constant encodes as 0 and decodes to its value.
* ``"bins"`` (DEHB, BOCA): constants are no dimension; index ``k`` of ``n`` choices encodes as ``k / n`` and a value
  ``v`` decodes to the choice ``floor(v * n)``, DEHB's equal-width bins (Awad et al. 2021, reference
  ``vector_to_configspace``).
* ``"kde"`` (BOHB): constants are no dimension; categorical values as their integer index, as HpBandSter's
  ``Configuration.get_array()`` gives the KDE; ordinal ones as in ``"unit"``.

Decoded configurations list the space's hyperparameters in the space's order. A table lacking a column of the space
is encoded without that dimension (a frame of the columns a task records). The ``"unit"`` kind also encodes
conditional spaces (inactive values are NaN and encode to NaN); the other two reject them. Decoding ignores
conditions.

:func:`encode_configs` and :func:`decode_unit` are the ``"unit"`` kind's encoding of a table and decoding of one
vector, as functions.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
from ConfigSpace import CategoricalHyperparameter, ConfigurationSpace, Constant, OrdinalHyperparameter
from ConfigSpace.hyperparameters import IntegerHyperparameter

from .errors import InvalidParameterError, check_choice

__all__ = ["SpaceCodec", "KINDS", "encode_configs", "decode_unit"]

KINDS = ("unit", "bins", "kde")

# exp/log of the log-scale decoding: the "unit" kind evaluates them with Python's math module, the other kinds with
# numpy; the two libraries differ in the last bit for a few per cent of arguments, and each kind keeps the arithmetic
# its methods' recorded results were computed with.
_EXP_LOG = {"unit": (math.exp, math.log), "bins": (np.exp, np.log), "kde": (np.exp, np.log)}


def _choices(hp) -> list | None:
    """The ordered choices of a categorical or ordinal hyperparameter, ``None`` for the others."""
    if isinstance(hp, CategoricalHyperparameter):
        return list(hp.choices)
    if isinstance(hp, OrdinalHyperparameter):
        return list(hp.sequence)
    return None


class SpaceCodec:
    """Encode configurations of ``space`` to vectors and decode vectors back (see the module docstring).

    Args:
        space: the search space.
        kind: ``"unit"`` (default), ``"bins"`` or ``"kde"``.

    Attributes:
        hps: the hyperparameters that are dimensions of the vector, in the space's order.
        constants: name -> value of the space's constants.
        n_choices: number of choices of every dimension (0 for numerical ones and constants), shape (d,).
        is_categorical: which dimensions are categorical (ordinals are not), shape (d,).
        free: which dimensions are not constants, shape (d,) (all True for ``"bins"`` and ``"kde"``).
    """

    def __init__(self, space: ConfigurationSpace, kind: str = "unit"):
        self.kind = check_choice("SpaceCodec", "kind", kind, KINDS)
        if kind != "unit" and list(space.conditions):
            raise InvalidParameterError(f"SpaceCodec kind {kind!r} (the multi-fidelity baselines) does not support "
                                        "conditional search spaces; use a space without conditions.")
        self.space = space
        self.hps = [hp for hp in space.values() if kind == "unit" or not isinstance(hp, Constant)]
        self.constants = {hp.name: hp.value for hp in space.values() if isinstance(hp, Constant)}
        self._choices = [_choices(hp) for hp in self.hps]
        self.n_choices = np.array([0 if c is None else len(c) for c in self._choices], dtype=int)
        self.is_categorical = np.array([isinstance(hp, CategoricalHyperparameter) for hp in self.hps], dtype=bool)
        self.free = np.array([not isinstance(hp, Constant) for hp in self.hps], dtype=bool)
        for arr in (self.n_choices, self.is_categorical, self.free):  # shared by every user of a Problem's codec
            arr.setflags(write=False)
        self._exp, self._log = _EXP_LOG[kind]

    @property
    def d(self) -> int:
        """Number of dimensions of a vector."""
        return len(self.hps)

    @property
    def names(self) -> list[str]:
        """Names of the dimensions, in order."""
        return [hp.name for hp in self.hps]

    # ------------------------------------------------------------------------------------------------ encoding
    def _code(self, hp, seq: list | None, x: pd.Series) -> np.ndarray:
        """The codes of one column ``x`` of hyperparameter ``hp`` (choices ``seq``), shape (n,)."""
        if isinstance(hp, Constant):
            return np.zeros(len(x))
        if seq is not None:
            idx = np.array([seq.index(v) for v in x], dtype=float)
            if self.kind == "kde" and isinstance(hp, CategoricalHyperparameter):
                return idx
            if self.kind == "bins":
                return idx / len(seq)
            return idx / max(len(seq) - 1, 1)
        v = x.to_numpy(dtype=float)
        lo, hi = float(hp.lower), float(hp.upper)
        if getattr(hp, "log", False):
            v, lo, hi = np.log(v), np.log(lo), np.log(hi)
        return (v - lo) / (hi - lo) if hi > lo else np.zeros(len(v))

    def encode(self, configs) -> np.ndarray:
        """Vectors of a configuration table (a DataFrame or a list of dicts), shape (n, d); the dimensions of
        hyperparameters that are no column of the table are left out."""
        df = configs if isinstance(configs, pd.DataFrame) else pd.DataFrame(list(configs))
        cols = [self._code(hp, seq, df[hp.name]) for hp, seq in zip(self.hps, self._choices) if hp.name in df.columns]
        return np.column_stack(cols) if cols else np.zeros((len(df), 0))

    def encode_one(self, config: dict) -> np.ndarray:
        """The vector of one configuration, shape (d,); hyperparameters missing from ``config`` take their default."""
        full = {hp.name: config.get(hp.name, hp.default_value) for hp in self.space.values()}
        return self.encode(pd.DataFrame([full]))[0]

    # ------------------------------------------------------------------------------------------------ decoding
    def decode(self, vector) -> dict:
        """The configuration of one vector of shape (d,), every hyperparameter of the space in the space's order."""
        vector = np.asarray(vector, dtype=float)
        vals = {}
        for j, (hp, seq) in enumerate(zip(self.hps, self._choices)):
            v = float(vector[j])
            if isinstance(hp, Constant):
                continue
            if seq is not None:
                n = len(seq)
                if self.kind == "bins":
                    k = int(np.floor(v * n + 1e-9))
                elif self.kind == "kde" and isinstance(hp, CategoricalHyperparameter):
                    k = int(np.rint(v))
                else:
                    k = int(np.rint(v * (n - 1)))
                vals[hp.name] = seq[min(max(k, 0), n - 1)]
                continue
            v = min(max(v, 0.0), 1.0)
            lo, hi = float(hp.lower), float(hp.upper)
            if getattr(hp, "log", False):
                exp, log = self._exp, self._log
                val = float(exp(log(lo) + v * (log(hi) - log(lo))))
            else:
                val = lo + v * (hi - lo)
            if isinstance(hp, IntegerHyperparameter):
                vals[hp.name] = int(min(max(int(np.round(val)), int(hp.lower)), int(hp.upper)))
            else:
                vals[hp.name] = float(min(max(val, lo), hi))
        return {hp.name: self.constants[hp.name] if hp.name in self.constants else vals[hp.name]
                for hp in self.space.values()}


def encode_configs(space: ConfigurationSpace, configs) -> np.ndarray:
    """The ``"unit"`` encoding of a configuration table, shape (n_cfg, n_hp): ``SpaceCodec(space).encode(configs)``."""
    return SpaceCodec(space).encode(configs)


def decode_unit(space: ConfigurationSpace, x) -> dict:
    """The configuration of one ``"unit"`` vector: ``SpaceCodec(space).decode(x)``."""
    return SpaceCodec(space).decode(x)
