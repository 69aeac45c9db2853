"""Live trainer: determinism under a seed, no global RNG, resuming, divergence, parameter validation, models."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from lcsim.errors import InvalidParameterError, UnknownNameError
from lcsim.live import Trainer, from_arrays, load_dataset
from lcsim.live.models import FGHPOCNN, MODEL_FAMILIES, ResNet20, build_model

torch.set_num_threads(1)

CFG = {"num_layers": 2, "units": 16, "batch_size": 16, "learning_rate": 0.05, "momentum": 0.9, "dropout": 0.2,
       "weight_decay": 1e-4}
TIMING = ("train_seconds", "eval_seconds", "epoch_seconds")


def _strip(records):
    return [{k: v for k, v in r.items() if k not in TIMING} for r in records]


@pytest.fixture(scope="module")
def iris():
    return load_dataset("iris", seed=0)


def test_same_seed_same_records_and_no_global_rng(iris):
    state = torch.random.get_rng_state().clone()
    np_state = np.random.get_state()[1].copy()
    a = Trainer(iris, "mlp", dict(CFG, batch_norm=True), seed=5).train_until(3)
    b = Trainer(iris, "mlp", dict(CFG, batch_norm=True), seed=5).train_until(3)
    c = Trainer(iris, "mlp", dict(CFG, batch_norm=True), seed=6).train_until(3)
    assert _strip(a) == _strip(b)
    assert _strip(a) != _strip(c)
    assert torch.equal(torch.random.get_rng_state(), state)  # global torch RNG neither read-advanced nor reseeded
    assert np.array_equal(np.random.get_state()[1], np_state)


def test_fresh_process_reproduces(iris):
    code = ("import torch, json; torch.set_num_threads(1)\n"
            "from lcsim.live import Trainer, load_dataset\n"
            f"r = Trainer(load_dataset('iris', seed=0), 'mlp', {CFG!r}, seed=5).train_until(2)[-1]\n"
            "print(json.dumps([r['valid_loss'], r['sharpness'], r['agn_sum']]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[1])
    r = Trainer(iris, "mlp", CFG, seed=5).train_until(2)[-1]
    assert out.stdout.strip() == f"[{r['valid_loss']}, {r['sharpness']}, {r['agn_sum']}]".replace("'", '"')


def test_resume_equals_straight_run(iris, tmp_path):
    straight = Trainer(iris, "mlp", CFG, seed=3).train_until(5)
    t = Trainer(iris, "mlp", CFG, seed=3)
    t.train_until(2)
    assert t.epoch == 2
    assert len(t.train_until(1)) == 1 and t.epoch == 2  # asking fewer epochs trains nothing
    path = t.save(tmp_path / "run.pt")
    t2 = Trainer(iris, "mlp", CFG, seed=3).restore(path)  # another trainer (process) continues
    assert _strip(t2.train_until(5)) == _strip(straight)
    assert _strip(t.train_until(5)) == _strip(straight)
    with pytest.raises(InvalidParameterError, match="saved run"):
        Trainer(iris, "mlp", dict(CFG, units=17), seed=3).restore(path)


def test_records_columns_and_ranges(iris):
    t = Trainer(iris, "mlp", CFG, seed=1)
    recs = t.train_until(2)
    for r in recs:
        for m in t.metrics:
            assert np.isfinite(r[m]), m
        for s in ("train", "valid", "test"):
            assert 0 <= r[f"{s}_acc"] <= 1 and 0 <= r[f"{s}_bacc"] <= 1 and 0 <= r[f"{s}_auc"] <= 1
        assert r["sharpness"] > 0 and r["agn"] > 0 and r["epoch_seconds"] >= r["train_seconds"] > 0
    assert recs[1]["agn_sum"] == pytest.approx(recs[0]["agn"] + recs[1]["agn"])
    assert t.curve(4).shape == (4, len(t.metrics)) and np.isnan(t.curve(4)[2:]).all()


def test_divergence_ends_run_cleanly():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(80, 4)).astype(np.float32) * 1e3
    ds = from_arrays(x, (x[:, 0] > 0).astype(int), seed=0)
    t = Trainer(ds, "mlp", {"num_layers": 3, "units": 32, "batch_size": 8, "learning_rate": 50.0, "momentum": 0.99},
                seed=0)
    recs = t.train_until(10)
    assert t.diverged and recs[-1]["diverged"] and len(recs) < 10
    assert np.isnan(recs[-1]["valid_loss"]) and np.isnan(recs[-1]["agn"])
    assert np.isfinite(recs[-1]["epoch_seconds"])
    assert all(not r["diverged"] for r in recs[:-1])
    n = t.epoch
    assert len(t.train_until(20)) == n and t.epoch == n  # nothing more is trained


@pytest.mark.parametrize("bad,match", [
    ({"batch_size": 0}, r"'batch_size' parameter of Trainer must be an int in \[1, inf\)"),
    ({"learning_rate": -1.0}, r"'learning_rate' .* \(0, 100\]"),
    ({"momentum": 1.0}, r"'momentum' .* \[0, 1\)"),
    ({"optimizer": "rmsprop"}, r"one of \['sgd', 'adam'\]"),
    ({"num_layers": -1}, r"'num_layers' parameter of MLP must be an int in \[0, 64\]"),
    ({"dropout": 1.0}, r"'dropout' .* \[0, 1\)"),
])
def test_invalid_parameters_raise_with_range(iris, bad, match):
    with pytest.raises(InvalidParameterError, match=match):
        Trainer(iris, "mlp", dict(CFG, **bad), seed=0)


def test_unknown_names(iris):
    with pytest.raises(UnknownNameError, match="Did you mean 'relu'"):
        Trainer(iris, "mlp", dict(CFG, activation="relux"), seed=0)
    with pytest.raises(UnknownNameError, match="Did you mean 'learning_rate'"):
        Trainer(iris, "mlp", dict(CFG, learnig_rate=0.1), seed=0)
    with pytest.raises(UnknownNameError, match="model family"):
        Trainer(iris, "mlpp", CFG, seed=0)


def test_cnn_invalid_architecture_names_fix():
    with pytest.raises(InvalidParameterError, match="padding='same'"):
        FGHPOCNN((1, 12, 12), 10, "mnist", filters=3, kernel_size=6, padding="valid", num_blocks=3)


@pytest.mark.parametrize("family,shape", [("cnn_mnist", (1, 12, 12)), ("cnn_svhn", (3, 16, 16)),
                                          ("resnet20", (3, 8, 8)), ("mlp", (7,))])
def test_models_expose_linear_head_on_features(family, shape):
    g = torch.Generator().manual_seed(0)
    cfg = {"blocks_per_stage": 1, "width": 4} if family == "resnet20" else {"padding": "same"}
    m = build_model(family, cfg, shape, 4, g).eval()
    x = torch.rand(3, *shape, generator=torch.Generator().manual_seed(1))
    a = m.features(x)
    assert isinstance(m.head, torch.nn.Linear) and a.shape == (3, m.head.in_features)
    torch.testing.assert_close(m(x), m.head(a))
    assert set(MODEL_FAMILIES) == {"mlp", "cnn_mnist", "cnn_svhn", "resnet20"}


def test_resnet20_layout():
    m = ResNet20((3, 32, 32), 10)
    convs = [mod for mod in m.modules() if isinstance(mod, torch.nn.Conv2d) and mod.kernel_size == (3, 3)]
    assert len(convs) == 19  # 6n + 1 conv layers with n = 3, plus the head = 20 weighted layers
    assert m.head.in_features == 64


def test_trainer_on_images_with_adam():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, size=(40, 1, 10, 10), dtype=np.uint8)
    ds = from_arrays(x, rng.integers(0, 3, 40), seed=0, preprocessing="scale_01")
    assert ds.x_train.max() <= 1.0 and ds.x_train.min() >= 0.0
    t = Trainer(ds, "cnn_mnist", {"filters": 3, "kernel_size": 3, "num_blocks": 2, "units": 8, "optimizer": "adam",
                                  "learning_rate": 1e-3, "batch_size": 8}, seed=0)
    r = t.train_until(1)[0]
    assert np.isfinite(r["valid_loss"]) and r["sharpness"] > 0
