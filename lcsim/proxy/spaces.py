"""Search spaces of the two proxy papers, as ConfigSpace spaces.

* FGHPO Table 3: OpenML MLP, MNIST CNN, SVHN CNN (defined in :mod:`lcsim.live.spaces`, re-exported here), trained with
  Adam as in FGHPO section 3 (a constant ``optimizer = "adam"`` is added by :func:`with_adam`).
* :func:`bayesmark_mlp_space`: Bayesmark's ``MLP-adam`` space (defined in :mod:`lcsim.live.spaces`, re-exported here).
* :func:`agn_space`: AGN section 4.1: batch size 32..1000, learning rate 1e-7..0.5 (log), momentum 0..0.99, weight
  decay 5e-7..0.05 (log), SGD; initial point :data:`AGN_INITIAL` (batch size 100, lr 0.01, momentum 0.6, wd 5e-4).
"""
from __future__ import annotations

from ConfigSpace import ConfigurationSpace, Constant, Float, Integer

from ..live.spaces import bayesmark_mlp_space, fghpo_mnist_space, fghpo_openml_space, fghpo_svhn_space

__all__ = ["bayesmark_mlp_space", "fghpo_openml_space", "fghpo_mnist_space", "fghpo_svhn_space", "agn_space",
           "AGN_INITIAL", "with_adam", "SPACES"]

#: AGN section 4.1 initial configuration
AGN_INITIAL = {"batch_size": 100, "learning_rate": 0.01, "momentum": 0.6, "weight_decay": 0.0005}


def with_adam(space: ConfigurationSpace) -> ConfigurationSpace:
    """A copy of ``space`` with the constant ``optimizer = "adam"`` (FGHPO trains with Adam, section 3)."""
    cs = ConfigurationSpace.from_serialized_dict(space.to_serialized_dict())
    cs.add(Constant("optimizer", "adam"))
    return cs


def agn_space(max_batch_size: int = 1000) -> ConfigurationSpace:
    """AGN section 4.1 space (SGD with momentum); ``max_batch_size`` caps the batch size on small datasets."""
    return ConfigurationSpace(name="agn", space={
        "batch_size": Integer("batch_size", (32, int(max_batch_size)), log=True),
        "learning_rate": Float("learning_rate", (1e-7, 0.5), log=True),
        "momentum": Float("momentum", (0.0, 0.99)),
        "weight_decay": Float("weight_decay", (5e-7, 0.05), log=True),
        "optimizer": Constant("optimizer", "sgd"),
    })


#: name -> (space factory, model family)
SPACES = {"bayesmark_mlp": (bayesmark_mlp_space, "mlp"),
          "fghpo_openml": (lambda: with_adam(fghpo_openml_space()), "mlp"),
          "fghpo_mnist": (lambda: with_adam(fghpo_mnist_space()), "cnn_mnist"),
          "fghpo_svhn": (lambda: with_adam(fghpo_svhn_space()), "cnn_svhn"),
          "agn": (agn_space, "mlp")}
