"""Proxy signals of generalisation recorded by the live trainer: FGHPO sharpness, AGN and GN.

Notation: for a mini-batch, ``a`` (shape (m, d)) is the input activation of the last fully connected layer (a^[L-1]
in FGHPO's proof of Theorem 1; the FC-layer input in AGN section 2.1), ``W`` (shape (k, d)) its weight, ``z = a W^T +
b`` the logits and ``p = softmax(z)``. For the per-sample cross-entropy L_i = -log p_{i, y_i}, the gradient with
respect to the logits is ``delta_i = p_i - onehot(y_i)`` (FGHPO Lemma 2 for m = 1).

* **Sharpness** (FGHPO Theorem 1, eq. 2; Algorithm 1 lines 7-13): per mini-batch the lower bound
  ``lb ||Hess_W E|| = ||a|| / ||W||`` and, over the mini-batches of the training set, its maximum. Norms are Frobenius
  ("whenever unspecified, the matrix norm is the Frobenius norm", FGHPO section 3.1); ``weight_norm="spectral"``
  uses sigma_max(W) as in the last step of the proof (a larger value, since ||W||_2 <= ||W||_F). ``activation="input"``
  (default) uses the last layer's input a^[L-1] as in the section 3.3 summary ``||a^[L-1]|| / ||W^[L]||``;
  ``"output"`` uses the softmax output, the literal symbol of eq. 2. A value of 0 means "no information" and FGHPO
  discards such configurations (Algorithm 1 lines 11-13).
* **AGN** (AGN eq. 5): the mean over training samples of ``||grad_FC L_i||^2``. By Goodfellow (2015) the per-sample
  gradient of the FC weight is the outer product ``delta_i a_i^T`` whose squared Frobenius norm is
  ``||delta_i||^2 ||a_i||^2``; the bias adds ``||delta_i||^2``. Computed from tensors the forward pass already has.
* **GN** (AGN eq. 4): the mean over samples of the squared norm of the full per-sample gradient (all parameters),
  vectorised with ``torch.func.vmap(torch.func.grad(...))`` or, for MLPs, exactly from one batched backward with
  Goodfellow's trick applied to every layer; :func:`per_sample_grad_sq_norms_loop` is the naive per-sample autograd
  loop both are tested and benchmarked against.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..errors import check_choice, check_int

__all__ = ["ce_delta", "agn_terms", "agn_batch_sum", "sharpness_batch", "sharpness_max", "batch_norms_sq",
           "per_sample_grad_sq_norms", "per_sample_grad_sq_norms_layerwise", "per_sample_grad_sq_norms_loop"]


def ce_delta(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Per-sample gradient of the cross-entropy with respect to the logits, ``softmax(z_i) - onehot(y_i)``.

    Args:
        logits: shape (m, k).
        y: int64 labels, shape (m,).

    Returns:
        Tensor of shape (m, k).
    """
    d = torch.softmax(logits.detach(), dim=1)
    d[torch.arange(len(y), device=d.device), y] -= 1.0
    return d


def agn_terms(a: torch.Tensor, delta: torch.Tensor, bias: bool = True) -> torch.Tensor:
    """Squared norms of the per-sample FC-layer gradients (Goodfellow's trick), shape (m,).

    ``||delta_i a_i^T||_F^2 + ||delta_i||^2 = ||delta_i||^2 (||a_i||^2 + 1)`` with the bias, without it
    ``||delta_i||^2 ||a_i||^2``.

    Args:
        a: FC-layer inputs, shape (m, d).
        delta: per-sample gradients of the loss with respect to the FC outputs, shape (m, k).
        bias: whether the layer has a bias.
    """
    a_sq = (a.detach() ** 2).sum(dim=1)
    d_sq = (delta.detach() ** 2).sum(dim=1)
    return d_sq * (a_sq + 1.0) if bias else d_sq * a_sq


def agn_batch_sum(a: torch.Tensor, logits: torch.Tensor, y: torch.Tensor, bias: bool = True) -> torch.Tensor:
    """``sum_i ||grad_FC L_i||^2`` over a mini-batch (0-d tensor): :func:`agn_terms` of :func:`ce_delta` fused into
    five small kernels (softmax, one-hot subtraction, two row sums, one dot product) for the training loop."""
    with torch.no_grad():
        d = torch.softmax(logits.detach(), dim=1) - F.one_hot(y, logits.shape[1])
        a = a.detach()
        a_sq = (a * a).sum(dim=1)
        return torch.dot((d * d).sum(dim=1), a_sq + 1.0 if bias else a_sq)


def _weight_norm(weight: torch.Tensor, weight_norm: str) -> torch.Tensor:
    w = weight.detach()
    if weight_norm == "fro":
        return torch.linalg.norm(w)
    return torch.linalg.matrix_norm(w, ord=2)


def sharpness_batch(a: torch.Tensor, weight: torch.Tensor, weight_norm: str = "fro") -> float:
    """FGHPO Theorem 1 (eq. 2) lower bound for one mini-batch: ``||a||_F / ||W||``.

    Args:
        a: activations of the mini-batch, shape (m, d) (see the module docstring for which activation).
        weight: last-layer weight, shape (k, d).
        weight_norm: ``"fro"`` (default) or ``"spectral"``.
    """
    check_choice("sharpness_batch", "weight_norm", weight_norm, ["fro", "spectral"])
    wn = float(_weight_norm(weight, weight_norm))
    an = float(torch.linalg.norm(a.detach()))
    if wn == 0.0:
        return float("inf") if an > 0 else 0.0
    return an / wn


def batch_norms_sq(a: torch.Tensor, batch_size: int) -> torch.Tensor:
    """Squared Frobenius norms of consecutive mini-batches of ``a`` (rows 0..B-1, B..2B-1, ...), shape (n_batch,)."""
    batch_size = check_int("batch_norms_sq", "batch_size", batch_size, 1)
    row = (a.detach().reshape(len(a), -1) ** 2).sum(dim=1)
    n = len(row)
    n_batch = -(-n // batch_size)
    pad = n_batch * batch_size - n
    if pad:
        row = torch.cat([row, row.new_zeros(pad)])
    return row.reshape(n_batch, batch_size).sum(dim=1)


def sharpness_max(a: torch.Tensor, weight: torch.Tensor, batch_size: int, weight_norm: str = "fro") -> float:
    """FGHPO Algorithm 1 lines 7-10: the maximum over mini-batches of :func:`sharpness_batch`, vectorised.

    Args:
        a: activations of the whole training set in mini-batch order, shape (n, d).
        weight: last-layer weight, shape (k, d).
        batch_size: mini-batch size m (the last batch may be smaller).
        weight_norm: ``"fro"`` or ``"spectral"``.

    Returns:
        ``max_b ||a_b||_F / ||W||``; 0.0 when every activation is zero (no information); NaN when non-finite.
    """
    check_choice("sharpness_max", "weight_norm", weight_norm, ["fro", "spectral"])
    if len(a) == 0:
        return 0.0
    top = float(torch.sqrt(batch_norms_sq(a, batch_size).max()))
    wn = float(_weight_norm(weight, weight_norm))
    if not (torch.isfinite(torch.tensor(top)) and torch.isfinite(torch.tensor(wn))):
        return float("nan")
    if wn == 0.0:
        return float("inf") if top > 0 else 0.0
    return top / wn


def _per_sample_loss_fn(model):
    from torch.func import functional_call

    def loss(params, buffers, x, y):
        out = functional_call(model, (params, buffers), (x.unsqueeze(0),))
        return F.cross_entropy(out, y.unsqueeze(0))

    return loss


_BN = (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)


def _layerwise_supported(model: torch.nn.Module) -> bool:
    for m in model.modules():
        if not any(p.requires_grad for p in m.parameters(recurse=False)):
            continue
        if isinstance(m, torch.nn.Linear):
            continue
        if isinstance(m, torch.nn.Conv2d) and m.groups == 1 and m.padding_mode == "zeros":
            continue
        if isinstance(m, _BN) and not m.training and m.track_running_stats:
            continue
        return False
    return True


def _conv_patches(m: torch.nn.Conv2d, a: torch.Tensor) -> torch.Tensor:
    """Unfolded input patches of a Conv2d, shape (n, c_in * kh * kw, P), matching its output positions."""
    kh, kw = m.kernel_size
    if isinstance(m.padding, str):
        if m.padding == "same":
            pads = []
            for k, d in ((kw, m.dilation[1]), (kh, m.dilation[0])):  # F.pad order: last dim first
                total = d * (k - 1)
                pads += [total // 2, total - total // 2]
            a = F.pad(a, pads)
        pad = (0, 0)
    else:
        pad = m.padding
    return F.unfold(a, (kh, kw), dilation=m.dilation, padding=pad, stride=m.stride)


def per_sample_grad_sq_norms_layerwise(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Per-sample squared gradient norms from one batched forward and backward (Goodfellow's trick, every layer).

    For a Linear layer with per-sample input ``a_i`` and output gradient ``delta_i`` (the gradient of the summed
    per-sample losses with respect to the layer output, which for independent samples is the gradient of ``L_i``),
    ``||grad_W L_i||^2 = ||delta_i||^2 ||a_i||^2`` and ``||grad_b L_i||^2 = ||delta_i||^2``; for BatchNorm1d in eval
    mode (a per-feature affine map of ``xhat_i``),
    ``grad_gamma L_i = delta_i * xhat_i`` and ``grad_beta L_i = delta_i``.
    For Conv2d the per-sample weight gradient is ``D_i U_i^T`` with ``D_i`` the output gradient (c_out, positions)
    and ``U_i`` the unfolded input patches (c_in k_h k_w, positions); its bias gradient sums ``D_i`` over positions;
    eval-mode BatchNorm2d sums ``delta * xhat`` and ``delta`` over positions.
    Exact for models whose parametrised modules are Linear (2-d inputs), Conv2d (groups 1, zero padding) and
    eval-mode BatchNorm layers (the MLP, FGHPO-CNN and ResNet families); raises ``ValueError`` otherwise (use the
    vmap path). Shape (n,).
    """
    if not _layerwise_supported(model):
        raise ValueError("layerwise per-sample norms need Linear, Conv2d or eval-mode BatchNorm parameters only")
    mods = [m for m in model.modules() if any(p.requires_grad for p in m.parameters(recurse=False))]
    saved: dict = {}

    def hook(mod, inp, out):
        saved[mod] = (inp[0], out)

    handles = [m.register_forward_hook(hook) for m in mods]
    try:
        with torch.enable_grad():
            logits = model(x)
            loss = F.cross_entropy(logits, y, reduction="sum")
            deltas = torch.autograd.grad(loss, [saved[m][1] for m in mods])
    finally:
        for h in handles:
            h.remove()
    total = torch.zeros(len(x), dtype=logits.dtype, device=logits.device)
    n = len(x)
    for m, d in zip(mods, deltas):
        a = saved[m][0].detach()
        w_on = m.weight is not None and m.weight.requires_grad
        b_on = m.bias is not None and m.bias.requires_grad
        if isinstance(m, torch.nn.Linear):
            if a.dim() != 2:
                raise ValueError("layerwise per-sample norms need 2-d inputs to Linear layers")
            d_sq = (d * d).sum(dim=1)
            if w_on:
                total += d_sq * (a * a).sum(dim=1)
            if b_on:
                total += d_sq
        elif isinstance(m, torch.nn.Conv2d):
            dm = d.reshape(n, d.shape[1], -1)  # (n, c_out, P)
            if w_on:
                g = torch.bmm(dm, _conv_patches(m, a).transpose(1, 2))  # (n, c_out, c_in*kh*kw)
                total += (g * g).sum(dim=(1, 2))
            if b_on:
                total += (dm.sum(dim=2) ** 2).sum(dim=1)
        else:  # BatchNorm1d / BatchNorm2d in eval mode: per-feature affine map of xhat
            shape = (1, -1) + (1,) * (a.dim() - 2)
            xhat = (a - m.running_mean.reshape(shape)) / torch.sqrt(m.running_var.reshape(shape) + m.eps)
            dims = tuple(range(2, a.dim()))
            if w_on:
                gw = (d * xhat).sum(dim=dims) if dims else d * xhat
                total += (gw * gw).sum(dim=1)
            if b_on:
                gb = d.sum(dim=dims) if dims else d
                total += (gb * gb).sum(dim=1)
    return total.detach()


def per_sample_grad_sq_norms(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor,
                             chunk_size: int | None = 256, method: str = "auto") -> torch.Tensor:
    """``||grad_theta L(theta; x_i)||_2^2`` for every sample, all parameters (AGN eq. 4 inner term), shape (n,).

    ``method="vmap"``: ``torch.func.vmap(torch.func.grad(loss))`` over the samples (any architecture;
    ``chunk_size`` bounds memory). ``"layerwise"``: :func:`per_sample_grad_sq_norms_layerwise` (Linear/Conv2d/BatchNorm
    models; one batched backward, Goodfellow's trick per layer). ``"auto"`` (default) takes ``layerwise`` where it
    applies, else ``vmap``. The model is evaluated as it is: call ``model.eval()`` first so batch norm uses running
    statistics and
    dropout is off, which makes the per-sample loss well defined.
    """
    check_choice("per_sample_grad_sq_norms", "method", method, ["auto", "vmap", "layerwise"])
    if method == "layerwise" or (method == "auto" and _layerwise_supported(model)):
        return per_sample_grad_sq_norms_layerwise(model, x, y)
    from torch.func import grad, vmap

    params = {k: v.detach() for k, v in model.named_parameters()}
    buffers = {k: v.detach() for k, v in model.named_buffers()}
    g = vmap(grad(_per_sample_loss_fn(model)), in_dims=(None, None, 0, 0), chunk_size=chunk_size)(
        params, buffers, x, y)
    return sum((v.reshape(len(x), -1) ** 2).sum(dim=1) for v in g.values())


def per_sample_grad_sq_norms_loop(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Naive reference for :func:`per_sample_grad_sq_norms`: one forward/backward per sample, shape (n,)."""
    params = [p for p in model.parameters() if p.requires_grad]
    out = []
    for i in range(len(x)):
        loss = F.cross_entropy(model(x[i:i + 1]), y[i:i + 1])
        grads = torch.autograd.grad(loss, params)
        out.append(sum((g ** 2).sum() for g in grads))
    return torch.stack(out).detach()
