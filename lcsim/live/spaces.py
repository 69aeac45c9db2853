"""Search spaces of the live backend and the configuration helpers the builder, the live task and the trainer share.

* :func:`lcbench_mlp_space` (the embedded benchmark's default space), :func:`bayesmark_mlp_space` (Bayesmark's MLP-adam,
  FGHPO's Bayesmark space) and FGHPO Table 3's spaces, by name in :data:`SPACES`;
* :func:`sample_configs`: a prefix-stable seeded sample of a space as a typed DataFrame;
* :func:`canonical_config`: the canonical string of a configuration (run seeds and resume checks key on it).
"""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
from ConfigSpace import Categorical, ConfigurationSpace, Constant, Float, Integer

from ..errors import check_int
from ..seeding import derive, int_seed

__all__ = ["SPACES", "lcbench_mlp_space", "bayesmark_mlp_space", "fghpo_openml_space", "fghpo_mnist_space",
           "fghpo_svhn_space", "sample_configs", "canonical_config"]


def lcbench_mlp_space() -> ConfigurationSpace:
    """An LCBench-like MLP space scaled for 2 CPU cores (LCBench: Zimmer et al. 2021, SGD with momentum).

    batch_size 16..256 (log), learning_rate 1e-4..1e-1 (log), momentum 0.1..0.99, weight_decay 1e-5..1e-1 (log),
    num_layers 1..4, units 16..256 (log), dropout 0..0.5.
    """
    return ConfigurationSpace(name="lcbench_mlp", space={
        "batch_size": Integer("batch_size", (16, 256), log=True),
        "learning_rate": Float("learning_rate", (1e-4, 1e-1), log=True),
        "momentum": Float("momentum", (0.1, 0.99)),
        "weight_decay": Float("weight_decay", (1e-5, 1e-1), log=True),
        "num_layers": Integer("num_layers", (1, 4)),
        "units": Integer("units", (16, 256), log=True),
        "dropout": Float("dropout", (0.0, 0.5)),
    })


def bayesmark_mlp_space() -> ConfigurationSpace:
    """Bayesmark's ``MLP-adam`` space (bayesmark ``sklearn_funcs.py``; FGHPO section 4's Bayesmark space) mapped onto
    lcsim's PyTorch MLP trained with Adam.

    ``hidden_layer_sizes`` 50..200 -> one hidden layer of ``units`` 50..200; ``alpha`` 1e-5..1e1 (log) ->
    ``weight_decay``; ``batch_size`` 10..250; ``learning_rate_init`` 1e-5..1e-1 (log) -> ``learning_rate``.
    Bayesmark's ``tol`` and ``validation_fraction`` (scikit-learn's early stopping; lcsim trains a fixed number of
    epochs) and ``beta_1``, ``beta_2``, ``epsilon`` (Adam's defaults kept) are left out.
    """
    return ConfigurationSpace(name="bayesmark_mlp", space={
        "units": Integer("units", (50, 200)),
        "weight_decay": Float("weight_decay", (1e-5, 10.0), log=True),
        "batch_size": Integer("batch_size", (10, 250)),
        "learning_rate": Float("learning_rate", (1e-5, 1e-1), log=True),
        "num_layers": Constant("num_layers", 1),
        "optimizer": Constant("optimizer", "adam"),
    })


def fghpo_openml_space() -> ConfigurationSpace:
    """FGHPO Table 3, OpenML MLP: depth 1..4, width 16..1024 (log2), batch size 4..256 (log2), lr 1e-5..1 (log10)."""
    return ConfigurationSpace(name="fghpo_openml", space={
        "num_layers": Integer("num_layers", (1, 4)),
        "units": Integer("units", (16, 1024), log=True),
        "batch_size": Integer("batch_size", (4, 256), log=True),
        "learning_rate": Float("learning_rate", (1e-5, 1.0), log=True),
    })


def fghpo_mnist_space() -> ConfigurationSpace:
    """FGHPO Table 3, MNIST CNN: filters 2..6, kernel size 2..6, padding valid/same, conv blocks 1..3."""
    return ConfigurationSpace(name="fghpo_mnist", space={
        "filters": Integer("filters", (2, 6)), "kernel_size": Integer("kernel_size", (2, 6)),
        "padding": Categorical("padding", ["valid", "same"]), "num_blocks": Integer("num_blocks", (1, 3)),
    })


def fghpo_svhn_space() -> ConfigurationSpace:
    """FGHPO Table 3, SVHN CNN: MNIST's plus dropout 0.2..0.5, final dropout 0.2..0.5, units 32..512 (log2)."""
    cs = fghpo_mnist_space()
    cs.add([Float("dropout", (0.2, 0.5)), Float("final_dropout", (0.2, 0.5)),
            Integer("units", (32, 512), log=True)])
    return cs


#: name -> (space factory, model family)
SPACES = {"lcbench_mlp": (lcbench_mlp_space, "mlp"), "bayesmark_mlp": (bayesmark_mlp_space, "mlp"),
          "fghpo_openml": (fghpo_openml_space, "mlp"),
          "fghpo_mnist": (fghpo_mnist_space, "cnn_mnist"), "fghpo_svhn": (fghpo_svhn_space, "cnn_svhn")}


def sample_configs(space: ConfigurationSpace, n: int, seed) -> pd.DataFrame:
    """``n`` configurations sampled from ``space``, configuration ``i`` from a seed derived from ``(seed, i)``.

    Prefix-stable: the first ``k`` rows of ``sample_configs(space, n, seed)`` are ``sample_configs(space, k, seed)``,
    so a smaller build is a subset of a larger one. Returns a typed DataFrame whose columns follow the space's order
    (ints as int64, floats as float64, categoricals as str, constants as their value's type: an integer constant such
    as ``num_layers = 1`` stays an int64 column so the trainer reads an int).
    """
    n = check_int("sample_configs", "n", n, 1)
    space = ConfigurationSpace.from_serialized_dict(space.to_serialized_dict())  # private copy to seed
    rows = []
    for i in range(n):
        space.seed(int_seed(derive(seed, "config", i)))
        rows.append(dict(space.sample_configuration()))
    df = pd.DataFrame(rows, columns=list(space.keys()))
    for hp in space.values():
        kind = type(hp).__name__
        if "Integer" in kind:
            df[hp.name] = df[hp.name].astype(np.int64)
        elif "Float" in kind:
            df[hp.name] = df[hp.name].astype(np.float64)
        elif kind == "Constant" and isinstance(hp.value, (int, np.integer)) and not isinstance(hp.value, bool):
            df[hp.name] = df[hp.name].astype(np.int64)
        elif kind == "Constant" and isinstance(hp.value, (float, np.floating)):
            df[hp.name] = df[hp.name].astype(np.float64)
        else:
            df[hp.name] = df[hp.name].astype(str)
    return df


def canonical_config(config: dict) -> str:
    """A configuration as a canonical JSON string: keys sorted, numpy scalars as Python values, whole floats as
    ints, so equal configurations give one string whatever their types (seeds and resume checks key on it)."""

    def norm(v):
        if hasattr(v, "item"):
            v = v.item()
        if isinstance(v, float) and v.is_integer():
            return int(v)
        return v

    return json.dumps({k: norm(v) for k, v in sorted(config.items())}, sort_keys=True, default=str)
