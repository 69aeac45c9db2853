"""Vector codecs between a ConfigSpace search space and the numeric vectors model-based methods work on.

Two representations are used by the multi-fidelity baselines:

* ``"unit"`` (DEHB, BOCA): every hyperparameter in [0, 1]. Numerical ones are min-max scaled on their own scale
  (log where declared); categorical/ordinal ones use DEHB's bins: index ``k`` of ``n`` choices encodes as ``k / n``
  and a value ``v`` decodes to the choice ``floor(v * n)`` (Awad et al. 2021, reference ``vector_to_configspace``).
* ``"kde"`` (BOHB): numerical hyperparameters as in ``"unit"``, categorical ones as their integer index, as
  HpBandSter's ``Configuration.get_array()`` gives the KDE (ordinals are treated as integers on [0, 1]).

Constants are not part of the vector; they are restored on decoding. Conditional spaces are not supported (none of
the benchmark spaces has conditions).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from ConfigSpace import CategoricalHyperparameter, ConfigurationSpace, Constant, OrdinalHyperparameter
from ConfigSpace.hyperparameters import IntegerHyperparameter

from ..errors import InvalidParameterError

__all__ = ["SpaceCodec"]


class SpaceCodec:
    """Encode configurations to vectors of shape (n, d) and decode vectors back to configuration dicts.

    Args:
        space: the search space (no conditions).
        kind: ``"unit"`` or ``"kde"`` (see the module docstring).
    """

    def __init__(self, space: ConfigurationSpace, kind: str = "unit"):
        if kind not in ("unit", "kde"):
            raise InvalidParameterError(f"SpaceCodec kind must be one of ['unit', 'kde']; got {kind!r}.")
        if list(space.conditions):
            raise InvalidParameterError("The multi-fidelity baselines do not support conditional search spaces.")
        self.space = space
        self.kind = kind
        self.hps = [hp for hp in space.values() if not isinstance(hp, Constant)]
        self.constants = {hp.name: hp.value for hp in space.values() if isinstance(hp, Constant)}
        #: number of choices of every dimension (0 for numerical ones), shape (d,)
        self.n_choices = np.array([len(hp.choices) if isinstance(hp, CategoricalHyperparameter) else
                                   (len(hp.sequence) if isinstance(hp, OrdinalHyperparameter) else 0)
                                   for hp in self.hps], dtype=int)
        #: which dimensions are categorical for the KDE (ordinals are numerical there), shape (d,)
        self.is_categorical = np.array([isinstance(hp, CategoricalHyperparameter) for hp in self.hps], dtype=bool)

    @property
    def d(self) -> int:
        return len(self.hps)

    @property
    def names(self) -> list[str]:
        return [hp.name for hp in self.hps]

    def encode(self, configs) -> np.ndarray:
        """Vectors of ``configs`` (a DataFrame or a list of dicts), shape (n, d)."""
        df = configs if isinstance(configs, pd.DataFrame) else pd.DataFrame(list(configs))
        out = np.zeros((len(df), self.d))
        for j, hp in enumerate(self.hps):
            x = df[hp.name]
            if isinstance(hp, (CategoricalHyperparameter, OrdinalHyperparameter)):
                seq = list(hp.choices if isinstance(hp, CategoricalHyperparameter) else hp.sequence)
                idx = np.array([seq.index(v) for v in x], dtype=float)
                if self.kind == "kde" and isinstance(hp, CategoricalHyperparameter):
                    out[:, j] = idx
                elif self.kind == "kde":
                    out[:, j] = idx / max(len(seq) - 1, 1)
                else:
                    out[:, j] = idx / len(seq)
            else:
                v = x.to_numpy(dtype=float)
                lo, hi = float(hp.lower), float(hp.upper)
                if hp.log:
                    v, lo, hi = np.log(v), np.log(lo), np.log(hi)
                out[:, j] = (v - lo) / (hi - lo) if hi > lo else 0.0
        return out

    def decode(self, vector) -> dict:
        """The configuration dict of one vector of shape (d,) (values clipped into the space)."""
        vector = np.asarray(vector, dtype=float)
        cfg = {}
        for j, hp in enumerate(self.hps):
            v = float(vector[j])
            if isinstance(hp, (CategoricalHyperparameter, OrdinalHyperparameter)):
                seq = list(hp.choices if isinstance(hp, CategoricalHyperparameter) else hp.sequence)
                n = len(seq)
                if self.kind == "kde" and isinstance(hp, CategoricalHyperparameter):
                    k = int(np.rint(v))
                elif self.kind == "kde":
                    k = int(np.rint(v * (n - 1)))
                else:
                    k = int(np.floor(v * n + 1e-9))
                cfg[hp.name] = seq[min(max(k, 0), n - 1)]
            else:
                v = min(max(v, 0.0), 1.0)
                lo, hi = float(hp.lower), float(hp.upper)
                val = (float(np.exp(np.log(lo) + v * (np.log(hi) - np.log(lo)))) if hp.log
                       else lo + v * (hi - lo))
                if isinstance(hp, IntegerHyperparameter):
                    val = int(min(max(int(np.round(val)), int(hp.lower)), int(hp.upper)))
                else:
                    val = float(min(max(val, lo), hi))
                cfg[hp.name] = val
        cfg.update(self.constants)
        return cfg
