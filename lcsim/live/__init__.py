"""Live-training backend (PyTorch): datasets, models, a seeded resumable trainer recording proxy signals (FGHPO
sharpness, AGN, GN), a live curve source for methods and the builder of tabular tasks.

Example::

    from lcsim.live import load_dataset, Trainer
    ds = load_dataset("iris", seed=0)
    t = Trainer(ds, "mlp", {"num_layers": 2, "units": 32, "batch_size": 16, "learning_rate": 0.05}, seed=1)
    t.train_until(5)            # later: t.train_until(20) continues from epoch 5
    t.to_frame()[["valid_loss", "sharpness", "agn", "agn_sum"]]
"""
from .datasets import Dataset, from_arrays, load_dataset
from .models import MODEL_FAMILIES, build_model
from .task import LiveTask
from .trainer import METRIC_DIRECTIONS, OPTIMIZER_KEYS, Trainer, metric_names, train

__all__ = ["Dataset", "from_arrays", "load_dataset", "MODEL_FAMILIES", "build_model", "Trainer", "train", "LiveTask",
           "metric_names", "METRIC_DIRECTIONS", "OPTIMIZER_KEYS"]
