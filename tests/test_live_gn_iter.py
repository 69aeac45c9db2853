"""GN over every iteration (AGN eq. 4, ``Trainer(gn=True, gn_every="iteration")``) against a brute force: the
parameters are snapshotted after every optimizer step and the per-sample squared gradient norms of all parameters are
recomputed at each snapshot with a plain per-sample autograd loop; the training trajectory must not change."""
from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from lcsim.errors import InvalidParameterError
from lcsim.live import Trainer, from_arrays
from lcsim.live.trainer import metric_names

torch.set_num_threads(1)

TIMING = ("train_seconds", "eval_seconds", "epoch_seconds")
MLP = {"num_layers": 2, "units": 8, "batch_size": 11, "learning_rate": 0.05, "momentum": 0.5, "dropout": 0.3,
       "batch_norm": True}
CNN = {"filters": 2, "kernel_size": 3, "num_blocks": 1, "units": 6, "batch_size": 9, "learning_rate": 0.05,
       "momentum": 0.5}


def _toy(n=50, shape=(5,), seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, *shape)).astype(np.float32)
    flat = x.reshape(n, -1)
    y = (flat[:, 0] + 0.5 * flat[:, 1] > 0).astype(int) + (flat[:, 2] > 1).astype(int)
    return from_arrays(x, y, name="toy", seed=0)


def _snapshotting(trainer):
    """Wrap the trainer's optimizer step so that the full model state (parameters and batch-norm buffers) is copied
    after every step."""
    snaps, step = [], trainer.optimizer.step

    def wrapped(*args, **kwargs):
        out = step(*args, **kwargs)
        snaps.append(copy.deepcopy(trainer.model.state_dict()))
        return out

    trainer.optimizer.step = wrapped
    return snaps


def _gn_loop(model, state, x, y) -> float:
    """1/N sum_i ||grad_theta L(theta; x_i)||^2 at ``state`` by one backward per sample (eval mode), float64 sum."""
    m = copy.deepcopy(model)
    m.load_state_dict(state)
    m.eval()
    params = [p for p in m.parameters() if p.requires_grad]
    total = 0.0
    for i in range(len(x)):
        grads = torch.autograd.grad(F.cross_entropy(m(x[i:i + 1]), y[i:i + 1]), params)
        total += sum(float((g.double() ** 2).sum()) for g in grads)
    return total / len(x)


@pytest.mark.parametrize("family,cfg,shape,k", [("mlp", MLP, (5,), None), ("cnn_mnist", CNN, (1, 6, 6), 20)])
def test_gn_every_iteration_matches_per_step_brute_force(family, cfg, shape, k):
    ds = _toy(shape=shape)
    t = Trainer(ds, family, cfg, seed=4, gn=True, gn_every="iteration", gn_max_samples=k)
    snaps = _snapshotting(t)
    recs = t.train_until(2)
    x, y = torch.as_tensor(ds.x_train), torch.as_tensor(ds.y_train)
    x, y = (x, y) if k is None else (x[:k], y[:k])
    steps = -(-len(ds.y_train) // cfg["batch_size"])
    assert len(snaps) == 2 * steps
    per_step = [_gn_loop(t.model, s, x, y) for s in snaps]
    running = 0.0
    for e, r in enumerate(recs):
        part = per_step[e * steps:(e + 1) * steps]
        running += sum(part)
        assert r["gn_iter"] == pytest.approx(sum(part), rel=1e-5)
        assert r["gn_iter_sum"] == pytest.approx(running, rel=1e-5)  # eq. 4's GN(theta_T) after epoch e + 1
        assert r["gn"] == pytest.approx(part[-1], rel=1e-5)  # the last step's model is the end-of-epoch model
    assert recs[1]["gn_iter_sum"] == pytest.approx(recs[0]["gn_iter"] + recs[1]["gn_iter"], rel=1e-12)
    # the per-step values differ from step to step: the sum is not the end-of-epoch value times the step count
    assert abs(recs[0]["gn_iter"] - steps * recs[0]["gn"]) > 1e-3 * recs[0]["gn_iter"]


def test_gn_every_iteration_leaves_the_trajectory_unchanged():
    ds = _toy()
    plain = Trainer(ds, "mlp", MLP, seed=7, gn=True)
    it = Trainer(ds, "mlp", MLP, seed=7, gn=True, gn_every="iteration")
    modes, step = [], it.optimizer.step
    it.optimizer.step = lambda *a, **k: (modes.append(it.model.training), step(*a, **k))[1]
    a, b = plain.train_until(3), it.train_until(3)
    assert modes and all(modes)  # every step after the first GN evaluation ran in train mode again (dropout on)
    assert it.metrics == plain.metrics[:-3] + ["gn_iter", "gn_iter_sum"] + list(TIMING)
    for ra, rb in zip(a, b):
        for m in plain.metrics:
            if m not in TIMING:
                assert ra[m] == rb[m], m  # every metric bit-identical, gn included
    for pa, pb in zip(plain.model.state_dict().values(), it.model.state_dict().values()):
        assert torch.equal(pa, pb)


def test_gn_iter_sum_survives_resume(tmp_path):
    ds = _toy()
    straight = Trainer(ds, "mlp", MLP, seed=2, gn=True, gn_every="iteration").train_until(3)
    t = Trainer(ds, "mlp", MLP, seed=2, gn=True, gn_every="iteration")
    t.train_until(1)
    t2 = Trainer(ds, "mlp", MLP, seed=2, gn=True, gn_every="iteration").restore(t.save(tmp_path / "r.pt"))
    assert [r["gn_iter_sum"] for r in t2.train_until(3)] == [r["gn_iter_sum"] for r in straight]


def test_gn_every_validation():
    ds = _toy()
    with pytest.raises(InvalidParameterError, match=r"'gn_every' parameter of Trainer must be one of "
                                                    r"\['epoch', 'iteration'\]"):
        Trainer(ds, "mlp", MLP, seed=0, gn=True, gn_every="step")
    with pytest.raises(InvalidParameterError, match="needs gn=True"):
        Trainer(ds, "mlp", MLP, seed=0, gn_every="iteration")
    assert "gn_iter" not in metric_names(True) and "gn_iter_sum" in metric_names(True, "iteration")
