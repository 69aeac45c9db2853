"""Live-training backend (PyTorch): datasets, models, a seeded resumable trainer recording proxy signals (FGHPO
sharpness, AGN, GN), a live curve source for methods and the builder of tabular tasks.

Example::

    from lcsim.live import load_dataset, Trainer
    ds = load_dataset("iris", seed=0)
    t = Trainer(ds, "mlp", {"num_layers": 2, "units": 32, "batch_size": 16, "learning_rate": 0.05}, seed=1)
    t.train_until(5)            # later: t.train_until(20) continues from epoch 5
    t.to_frame()[["valid_loss", "sharpness", "agn", "agn_sum"]]

    live = LiveTask(ds, "mlp", lcbench_mlp_space(), seed=0, max_epoch=50)   # on-demand curves for methods
    recs = live.train(trial_id=0, config=sample_configs(live.space, 1, seed=3).iloc[0].to_dict(), epoch=1)

Hand-written here: the proxies (FGHPO Theorem 1 sharpness, AGN eq. 5 via Goodfellow's trick, layerwise per-sample
gradient norms), the idx/SVHN/CIFAR parsers, the seeded training loop and the builder. Library code: PyTorch (models,
autograd, ``torch.func`` vmap+grad for GN), scikit-learn (datasets, OpenML cache), SciPy (``loadmat``, ranks),
ConfigSpace (spaces and sampling), tqdm.
"""
from .datasets import Dataset, from_arrays, load_dataset
from .models import MODEL_FAMILIES, build_model
from .spaces import SPACES, lcbench_mlp_space, sample_configs
from .task import LiveTask
from .trainer import METRIC_DIRECTIONS, OPTIMIZER_KEYS, Trainer, metric_names, train

__all__ = ["Dataset", "from_arrays", "load_dataset", "MODEL_FAMILIES", "build_model", "Trainer", "train", "LiveTask",
           "metric_names", "METRIC_DIRECTIONS", "OPTIMIZER_KEYS", "SPACES", "lcbench_mlp_space", "sample_configs"]
