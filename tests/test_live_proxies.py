"""Proxy signals of the live trainer against brute-force references (explicit per-sample autograd loops)."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from lcsim.live import Trainer, from_arrays
from lcsim.live.models import build_model
from lcsim.live.proxies import (
    agn_batch_sum,
    agn_terms,
    ce_delta,
    per_sample_grad_sq_norms,
    per_sample_grad_sq_norms_loop,
    sharpness_batch,
    sharpness_max,
)
from lcsim.seeding import derive, torch_generator

torch.set_num_threads(1)


def _tiny_model(seed=0, **arch):
    g = torch.Generator().manual_seed(seed)
    cfg = {"num_layers": 2, "units": 7, "activation": "tanh", **arch}
    return build_model("mlp", cfg, (5,), 3, g).double()


def _data(n=13, seed=1):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 5, generator=g, dtype=torch.float64), torch.randint(0, 3, (n,), generator=g)


def _fc_grad_sq_loop(model, x, y):
    """||grad of L_i w.r.t. (head.weight, head.bias)||^2 by one backward per sample."""
    out = []
    for i in range(len(x)):
        loss = F.cross_entropy(model(x[i:i + 1]), y[i:i + 1])
        gw, gb = torch.autograd.grad(loss, [model.head.weight, model.head.bias])
        out.append(float((gw ** 2).sum() + (gb ** 2).sum()))
    return np.array(out)


def test_agn_goodfellow_matches_per_sample_autograd():
    model, (x, y) = _tiny_model(), _data()
    model.eval()
    a = model.features(x)
    z = model.head(a)
    fast = agn_terms(a, ce_delta(z, y), bias=True).numpy()
    np.testing.assert_allclose(fast, _fc_grad_sq_loop(model, x, y), rtol=1e-12, atol=1e-14)
    assert float(agn_batch_sum(a, z, y, True)) == pytest.approx(fast.sum(), rel=1e-12)
    assert float(agn_batch_sum(a, z, y, False)) == pytest.approx(
        agn_terms(a, ce_delta(z, y), bias=False).sum().item(), rel=1e-12)
    # without the bias term: only the weight part
    nobias = agn_terms(a, ce_delta(z, y), bias=False).numpy()
    ref_w = []
    for i in range(len(x)):
        gw = torch.autograd.grad(F.cross_entropy(model(x[i:i + 1]), y[i:i + 1]), model.head.weight)[0]
        ref_w.append(float((gw ** 2).sum()))
    np.testing.assert_allclose(nobias, ref_w, rtol=1e-12)


def test_ce_delta_is_logit_gradient():
    z = torch.randn(6, 4, dtype=torch.float64, requires_grad=True)
    y = torch.tensor([0, 3, 1, 1, 2, 0])
    g = torch.autograd.grad(F.cross_entropy(z, y, reduction="sum"), z)[0]
    np.testing.assert_allclose(ce_delta(z, y).numpy(), g.numpy(), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("weight_norm", ["fro", "spectral"])
def test_sharpness_max_matches_loop(weight_norm):
    g = torch.Generator().manual_seed(3)
    a = torch.randn(23, 6, generator=g, dtype=torch.float64)
    w = torch.randn(4, 6, generator=g, dtype=torch.float64)
    wn = math.sqrt(float((w ** 2).sum())) if weight_norm == "fro" else float(np.linalg.svd(w.numpy())[1][0])
    for bs in (1, 5, 8, 23, 40):
        ref = max(math.sqrt(float((a[s:s + bs] ** 2).sum())) / wn for s in range(0, len(a), bs))
        assert sharpness_max(a, w, bs, weight_norm) == pytest.approx(ref, rel=1e-12)
        assert sharpness_batch(a[:bs], w, weight_norm) == pytest.approx(
            math.sqrt(float((a[:bs] ** 2).sum())) / wn, rel=1e-12)
    assert sharpness_max(torch.zeros(5, 3), w[:, :3], 2) == 0.0  # no information (Algorithm 1 line 11)


def test_gn_vmap_matches_loop_with_batchnorm_and_dropout():
    model, (x, y) = _tiny_model(batch_norm=True, dropout=0.3), _data(n=9)
    with torch.no_grad():  # non-trivial running statistics
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm1d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
    model.eval()
    fast = per_sample_grad_sq_norms(model, x, y, chunk_size=4, method="vmap").numpy()
    ref = per_sample_grad_sq_norms_loop(model, x, y).numpy()
    np.testing.assert_allclose(fast, ref, rtol=1e-10)
    layer = per_sample_grad_sq_norms(model, x, y, method="layerwise").numpy()
    np.testing.assert_allclose(layer, ref, rtol=1e-10)
    # fully independent reference: flatten every parameter gradient by hand
    params = list(model.parameters())
    for i in (0, 4, 8):
        grads = torch.autograd.grad(F.cross_entropy(model(x[i:i + 1]), y[i:i + 1]), params)
        assert fast[i] == pytest.approx(float(sum((gg ** 2).sum() for gg in grads)), rel=1e-10)


def _toy_dataset(n=60, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 5)).astype(np.float32)
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(int) + (x[:, 2] > 1).astype(int)
    return from_arrays(x, y, name="toy", seed=0)


def test_trainer_proxies_match_references_at_end_of_epoch():
    ds = _toy_dataset()
    cfg = {"num_layers": 2, "units": 8, "batch_size": 7, "learning_rate": 0.05, "momentum": 0.5, "dropout": 0.2}
    t = Trainer(ds, "mlp", cfg, seed=11, gn=True)
    rec = t.train_until(2)[-1]
    model = t.model.eval()
    x, y = torch.as_tensor(ds.x_train), torch.as_tensor(ds.y_train)
    # AGN eq. 5 at the end-of-epoch model: mean over samples of per-sample FC gradient norms (autograd loop)
    assert rec["agn_end"] == pytest.approx(_fc_grad_sq_loop(model, x, y).mean(), rel=1e-5)
    assert rec["agn_end_sum"] == pytest.approx(t.records[0]["agn_end"] + rec["agn_end"], rel=1e-12)
    # GN: full per-sample gradients by the naive loop
    assert rec["gn"] == pytest.approx(float(per_sample_grad_sq_norms_loop(model, x, y).double().mean()), rel=1e-5)
    # sharpness: Theorem 1 per mini-batch of the epoch just trained (its permutation), maximum over batches
    g = torch_generator(derive(11, "data"))
    torch.randperm(len(y), generator=g)
    perm = torch.randperm(len(y), generator=g)  # epoch 2's order
    with torch.no_grad():
        a = model.features(x)[perm]
        wn = float(torch.linalg.norm(model.head.weight))
        ref = max(float(torch.linalg.norm(a[s:s + 7])) / wn for s in range(0, len(y), 7))
    assert rec["sharpness"] == pytest.approx(ref, rel=1e-5)


def test_trainer_agn_during_training_equals_per_sample_loop_when_weights_do_not_move():
    """With a vanishing learning rate the epoch's training-pass AGN equals eq. 5 at the fixed weights."""
    ds = _toy_dataset()
    t = Trainer(ds, "mlp", {"num_layers": 1, "units": 6, "batch_size": 9, "learning_rate": 1e-12, "momentum": 0.0},
                seed=2)
    w0 = [p.detach().clone() for p in t.model.parameters()]
    rec = t.train_until(1)[0]
    model = t.model.eval()
    ref = _fc_grad_sq_loop(model, torch.as_tensor(ds.x_train), torch.as_tensor(ds.y_train)).mean()
    assert rec["agn"] == pytest.approx(ref, rel=1e-5)
    assert rec["agn"] == pytest.approx(rec["agn_end"], rel=1e-5)
    assert all(torch.allclose(p, q, atol=1e-9) for p, q in zip(w0, t.model.parameters()))


def test_trainer_agn_during_training_replicated_by_hand():
    """The training-pass AGN equals a hand-written SGD loop that accumulates per-sample FC gradients by autograd."""
    ds = _toy_dataset()
    cfg = {"num_layers": 1, "units": 5, "batch_size": 8, "learning_rate": 0.1, "momentum": 0.0}
    t = Trainer(ds, "mlp", cfg, seed=4)
    rec = t.train_until(1)[0]
    ref_model = build_model("mlp", cfg, ds.input_shape, ds.n_classes, torch_generator(derive(4, "init")))
    perm = torch.randperm(len(ds.y_train), generator=torch_generator(derive(4, "data")))
    x, y = torch.as_tensor(ds.x_train)[perm], torch.as_tensor(ds.y_train)[perm]
    total = 0.0
    for s in range(0, len(y), 8):
        xb, yb = x[s:s + 8], y[s:s + 8]
        total += _fc_grad_sq_loop(ref_model, xb, yb).sum()
        grads = torch.autograd.grad(F.cross_entropy(ref_model(xb), yb), list(ref_model.parameters()))
        with torch.no_grad():
            for p, gg in zip(ref_model.parameters(), grads):
                p -= 0.1 * gg
    assert rec["agn"] == pytest.approx(total / len(y), rel=1e-5)
    assert rec["agn_sum"] == rec["agn"]


@pytest.mark.parametrize("family,cfg,shape", [
    ("cnn_svhn", {"filters": 2, "kernel_size": 3, "num_blocks": 1, "units": 5, "padding": "same"}, (3, 6, 6)),
    ("cnn_mnist", {"filters": 3, "kernel_size": 2, "num_blocks": 2, "units": 4, "padding": "same"}, (1, 9, 9)),
    ("cnn_mnist", {"filters": 2, "kernel_size": 3, "num_blocks": 1, "units": 4, "padding": "valid"}, (1, 8, 8)),
    ("resnet20", {"blocks_per_stage": 1, "width": 2}, (3, 8, 8)),
])
def test_gn_conv_models_layerwise_and_vmap_match_loop(family, cfg, shape):
    model = build_model(family, cfg, shape, 3, torch.Generator().manual_seed(0)).double()
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.3, 0.3)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5)
    model.eval()
    x = torch.rand(5, *shape, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    y = torch.tensor([0, 1, 2, 1, 0])
    ref = per_sample_grad_sq_norms_loop(model, x, y).numpy()
    np.testing.assert_allclose(per_sample_grad_sq_norms(model, x, y, method="layerwise").numpy(), ref, rtol=1e-10)
    np.testing.assert_allclose(per_sample_grad_sq_norms(model, x, y, method="vmap").numpy(), ref, rtol=1e-10)


def test_gn_layerwise_refuses_training_mode_batchnorm():
    model = _tiny_model(batch_norm=True)
    model.train()
    x, y = _data()
    with pytest.raises(ValueError, match="BatchNorm"):
        per_sample_grad_sq_norms(model, x, y, method="layerwise")


def test_gn_layerwise_without_bias_and_frozen_parameters():
    model = _tiny_model()
    model.head.bias = None
    model.body[1].weight.requires_grad_(False)
    x, y = _data()
    model.eval()
    np.testing.assert_allclose(per_sample_grad_sq_norms(model, x, y, method="layerwise").numpy(),
                               per_sample_grad_sq_norms_loop(model, x, y).numpy(), rtol=1e-10)
