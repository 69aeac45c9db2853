"""The DPL ensemble's mini-batch training loop, written once and run through TorchScript where it is available.

:func:`train_steps` is the forward pass, the hand-written backward pass and the Adam update of the stacked ensemble
(:class:`lcsim.surrogates.dpl_ensemble.DPLEnsemble`, whose module docstring describes the model) for a sequence of
mini-batches. It is plain PyTorch code in the TorchScript subset, so the same source runs either way:

* :func:`scripted` compiles it with ``torch.jit.script``; the loop then runs in TorchScript's C++ interpreter instead
  of the Python one, which removes the Python dispatch of its several dozen operator calls per mini-batch step,
  with bit-identical results (speed: ``tests/perf/README.md``).
* Called directly, it is ordinary eager PyTorch (``DPLEnsemble(scripted=False)``, and the fallback when the script
  cannot be compiled).

``torch.jit.script`` is deprecated in recent PyTorch releases (in favour of ``torch.compile``, which is slower here
because the mini-batch shapes vary, and compiles for long in every process; ``tests/perf/README.md``). The deprecation
warning is silenced for this one call only; if a future release drops or breaks TorchScript, :func:`scripted` warns
once and returns the eager function, so results never change, only speed. This module deliberately has no ``from
__future__ import annotations``: TorchScript reads the annotations.
"""
import warnings

import torch

# torch.nn.LeakyReLU / BatchNorm1d defaults (repeated from dpl_ensemble, which imports them from here)
SLOPE = 0.01
EPS = 1e-5
MOMENTUM = 0.1
HEAD_CODES = {"sigmoid": 0, "leaky_relu": 1, "silu": 2}


def train_steps(weights: list[torch.Tensor], biases: list[torch.Tensor], bn_scale: list[torch.Tensor],
                bn_shift: list[torch.Tensor], running_mean: list[torch.Tensor], running_var: list[torch.Tensor],
                exp_avgs: list[torch.Tensor], exp_avg_sqs: list[torch.Tensor], step: torch.Tensor,
                xs: torch.Tensor, lnbs: torch.Tensor, ys: torch.Tensor, sizes: list[int], head: int, l1: bool,
                lr: float, slope: float = SLOPE, eps: float = EPS, momentum: float = MOMENTUM) -> None:
    """Run one Adam step per mini-batch, in place on the stacked parameters and the batch-norm running statistics.

    Args:
        weights, biases: per layer, (K, in, out) and (K, 1, out); the last layer has 3 outputs.
        bn_scale, bn_shift, running_mean, running_var: per hidden layer, (K, 1, units); empty lists without batch
            norm.
        exp_avgs, exp_avg_sqs: Adam's moment estimates, one per parameter in the order
            ``weights + biases + bn_scale + bn_shift``; ``step`` the shared step count (a 0-d float tensor).
        xs, lnbs, ys: the rows of consecutive mini-batches per member, (K, R, d), (K, R) = log(budget), (K, R).
        sizes: the mini-batch sizes, summing to R.
        head: :data:`HEAD_CODES` value; ``l1``: L1 loss if true, else squared error.
        lr: Adam's learning rate (betas 0.9, 0.999, eps 1e-8, no weight decay: torch.optim.Adam's defaults).
        slope, eps, momentum: Leaky ReLU slope and batch-norm constants (arguments because TorchScript cannot read
            module globals; the defaults are torch.nn's).

    Each step's loss is ``sum_k mean_B loss_k``, so every member gets the gradient of its own mean loss and the one
    element-wise Adam over the stacked tensors equals K separate Adams. Adam is ``torch._fused_adam_``, the kernel
    behind ``torch.optim.Adam(fused=True)``, called directly: the optimizer object's per-step Python bookkeeping cost
    more than the update itself.

    Layout: hidden activations live as (B, K * units) blocks (row = example, column = (member, unit)), so batch
    normalization of all members is one native ``native_batch_norm`` (and one ``native_batch_norm_backward``) call;
    the batched matrix products read them through (K, B, units) strided views and write contiguous (K, B, units)
    results that one copy turns into blocks (cheaper than a strided ``out=``). The 3-output layer is
    computed transposed, (K, 3, B) = W^T h^T (MKL's batched GEMM is faster with the short side first).
    """
    K = xs.shape[0]
    n_layers = len(weights) - 1
    batch_norm = len(bn_scale) > 0
    params = weights + biases + bn_scale + bn_shift
    steps = [step for _ in params]  # one shared step count: the Adam kernel only reads it
    start = 0
    for B in sizes:
        x = xs[:, start:start + B]
        lnb = lnbs[:, start:start + B]
        y = ys[:, start:start + B]
        start += B
        # ---- forward
        ins: list[torch.Tensor] = [x]
        zs: list[torch.Tensor] = []
        means: list[torch.Tensor] = []
        invstds: list[torch.Tensor] = []
        acts: list[torch.Tensor] = []
        h = x
        for i in range(n_layers):
            u = weights[i].shape[2]
            z = torch.baddbmm(biases[i], h, weights[i]).transpose(0, 1).reshape(B, K * u)
            a = z
            if batch_norm:
                a, mean, invstd = torch.ops.aten.native_batch_norm(
                    z, bn_scale[i].view(K * u), bn_shift[i].view(K * u), running_mean[i].view(K * u),
                    running_var[i].view(K * u), True, momentum, eps)
                means.append(mean)
                invstds.append(invstd)
            zs.append(z)
            acts.append(a)
            h = torch.nn.functional.leaky_relu(a, slope).view(B, K, u).transpose(0, 1)
            ins.append(h)
        o = torch.baddbmm(biases[-1].transpose(1, 2), weights[-1].transpose(1, 2), h.transpose(1, 2))
        o0, o1, o2 = o[:, 0], o[:, 1], o[:, 2]
        if head == 0:  # sigmoid
            beta, gamma = torch.sigmoid(o1), torch.sigmoid(o2)
            dbeta_do, dgamma_do = beta * (1 - beta), gamma * (1 - gamma)
        elif head == 1:  # leaky_relu
            beta, gamma = torch.nn.functional.leaky_relu(o1, slope), torch.nn.functional.leaky_relu(o2, slope)
            dbeta_do = torch.where(o1 > 0, torch.ones_like(o1), torch.full_like(o1, slope))
            dgamma_do = torch.where(o2 > 0, torch.ones_like(o2), torch.full_like(o2, slope))
        else:  # silu
            s1, s2 = torch.sigmoid(o1), torch.sigmoid(o2)
            beta, gamma = o1 * s1, o2 * s2
            dbeta_do, dgamma_do = s1 * (1 + o1 * (1 - s1)), s2 * (1 + o2 * (1 - s2))
        pw = torch.exp(-gamma * lnb)  # b ** (-gamma)
        diff = o0 + beta * pw - y
        if l1:
            dpred = torch.sign(diff) / B
        else:
            dpred = 2.0 * diff / B
        do = torch.stack([dpred, dpred * pw * dbeta_do, -dpred * beta * pw * lnb * dgamma_do], dim=1)  # (K, 3, B)
        # ---- backward (gradients collected last layer first, reversed at the end)
        gW = [torch.bmm(do, h).transpose(1, 2).contiguous()]
        gb = [do.sum(dim=2).unsqueeze(1)]
        gscale: list[torch.Tensor] = []
        gshift: list[torch.Tensor] = []
        u = weights[-1].shape[1]
        dh = torch.bmm(do.transpose(1, 2), weights[-1].transpose(1, 2)).transpose(0, 1).reshape(B, K * u)
        for j in range(n_layers):
            i = n_layers - 1 - j
            u = weights[i].shape[2]
            dz = torch.ops.aten.leaky_relu_backward(dh, acts[i], slope, False)
            if batch_norm:
                dz, gs, gt = torch.ops.aten.native_batch_norm_backward(
                    dz, zs[i], bn_scale[i].view(K * u), None, None, means[i], invstds[i], True, eps,
                    [True, True, True])
                gscale.append(gs.view(K, 1, u))
                gshift.append(gt.view(K, 1, u))
            dzt = dz.view(B, K, u).transpose(0, 1)
            gW.append(torch.bmm(ins[i].transpose(1, 2), dzt))
            gb.append(dz.sum(dim=0).view(K, 1, u))
            if i > 0:
                u_in = weights[i].shape[1]
                dh = torch.bmm(dzt, weights[i].transpose(1, 2)).transpose(0, 1).reshape(B, K * u_in)
        gW.reverse()
        gb.reverse()
        gscale.reverse()
        gshift.reverse()
        step.add_(1)
        torch._fused_adam_(params, gW + gb + gscale + gshift, exp_avgs, exp_avg_sqs, [], steps, lr=lr,
                           beta1=0.9, beta2=0.999, weight_decay=0.0, eps=1e-8, amsgrad=False, maximize=False)


_SCRIPTED = None


def scripted():
    """:func:`train_steps` compiled by TorchScript, once per process; the eager function if that fails."""
    global _SCRIPTED
    if _SCRIPTED is None:
        try:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=r".*torch\.jit\.script.*deprecated",
                                        category=DeprecationWarning)
                _SCRIPTED = torch.jit.script(train_steps)
        except Exception as err:  # noqa: BLE001 - any compiler failure: same results without it, only slower
            warnings.warn(f"lcsim: TorchScript could not compile the DPL training loop ({type(err).__name__}: {err}); "
                          "running it in eager PyTorch (same results, slower).", RuntimeWarning, stacklevel=2)
            _SCRIPTED = train_steps
    return _SCRIPTED
