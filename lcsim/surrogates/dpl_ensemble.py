"""The Deep Power Law (DPL) ensemble surrogate (Kadra et al., DPL paper section 4, eq. 3-6, appendix A).

Each member ``g`` is a small MLP mapping an encoded configuration ``lambda`` (unit hypercube, log-scaled where the
space says so: :func:`lcsim.optimizers.encode_configs`) to the power-law coefficients ``(alpha, beta, gamma)``; the
predicted curve is (eq. 4)::

    f(lambda, b) = alpha + beta * b ** (-gamma)

with ``b`` the budget scaled to ``(0, 1]`` (``epoch / max_epoch``, as the authors' code does), so ``f(lambda, 1) =
alpha + beta`` is the prediction at the maximum budget. ``K`` members (default 5) differ in their initialization and
mini-batch order (Deep Ensembles, Lakshminarayanan et al. 2017); the posterior is the ensemble mean and (population)
variance of eq. 6.

Architecture (appendix A): ``n_layers`` hidden linear layers of ``n_units`` units, each followed by batch
normalization and Leaky ReLU (slope 0.01), then a linear layer with 3 outputs. Output heads (``head``):

* ``"sigmoid"`` (default; appendix A): ``alpha`` linear, ``beta = sigmoid(.)``, ``gamma = sigmoid(.)``;
* ``"leaky_relu"``: the PD1 variant of appendix A (Leaky ReLU instead of the sigmoid on ``beta`` and ``gamma``,
  "to improve convergence, since the benchmark features low error rate values");
* ``"silu"``: what the authors' public code computes (``GLU(cat(x, x)) = x * sigmoid(x)`` on ``beta`` and
  ``gamma``; their public model also has no batch norm: ``batch_norm=False``; ``DPL(preset="code")`` sets both).

Training loss (``loss``): eq. 5 writes the L1 (absolute) error, appendix A says MSE; the authors' public code uses
``torch.nn.L1Loss``. lcsim defaults to **L1** because two of the three sources agree on it and because it is robust to
the worst-value targets that diverged runs are served with (one diverged curve would dominate an MSE fit);
``loss="mse"`` gives the appendix-A variant. Optimizer: Adam, learning rate 1e-3, a fresh Adam state at every call of
:meth:`DPLEnsemble.fit` (as in the authors' code), mini-batches of ``batch_size`` (64 in the authors' code;
``None`` = full batch) drawn from a per-member permutation each epoch; a mini-batch of one example is skipped (batch
norm needs two). ``emphasize`` appends one example to every mini-batch (the authors' refinement gives the newest
observation that weight).

Vectorization: all members train in one pass. Weights are stacked (``W[l]`` of shape (K, in, out)) and every layer is
one ``torch.bmm``; batch normalization is per member (batch statistics over each member's own mini-batch, biased
variance for normalizing, unbiased variance for the running statistics, momentum 0.1, eps 1e-5: exactly
``torch.nn.BatchNorm1d``). The training loss is the *sum* over members of each member's mean loss, so every member's
gradient is that of its own loss, and one Adam over the stacked tensors equals K separate Adams (Adam is
element-wise). The mini-batch loop (forward, hand-written backward, fused Adam) is :func:`._dpl_steps.train_steps`,
compiled by TorchScript by default (``scripted``). ``vectorized=False`` trains the same members one by one as
ordinary ``torch.nn`` modules from the same initial weights and the same mini-batch orders; the tests check that both
give the same fits.

Randomness: member ``k`` has two ``torch.Generator`` s derived from the ensemble seed (initialization; mini-batch
order) through :mod:`lcsim.seeding`; the global torch RNG is never touched. By default both streams continue across
calls (every :meth:`DPLEnsemble.reset` draws new initial weights, every fit new mini-batch orders); ``reseed=True``
restarts both from the seed at every call instead, as the authors' code does (``torch.manual_seed(member_seed)``
before each member's every training call): every fit from scratch starts from the same initial weights and every fit
draws its mini-batch orders from the same stream start.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from ..errors import InvalidParameterError, check_choice, check_float, check_int
from ..seeding import derive, torch_generator
from . import _dpl_steps

__all__ = ["DPLEnsemble", "power_law", "HEADS", "LOSSES"]

HEADS = ("sigmoid", "leaky_relu", "silu")
LOSSES = ("l1", "mse")
_SLOPE, _EPS, _MOMENTUM = _dpl_steps.SLOPE, _dpl_steps.EPS, _dpl_steps.MOMENTUM  # torch.nn defaults


def power_law(alpha, beta, gamma, b):
    """Eq. 3/4: ``alpha + beta * b ** (-gamma)`` (broadcasting; works on numpy arrays and torch tensors)."""
    return alpha + beta * b ** (-gamma)


def _head(raw: torch.Tensor, head: str) -> torch.Tensor:
    """Map raw outputs (..., 3) to (alpha, beta, gamma) stacked on the last axis."""
    alpha = raw[..., 0]
    if head == "sigmoid":
        beta, gamma = torch.sigmoid(raw[..., 1]), torch.sigmoid(raw[..., 2])
    elif head == "leaky_relu":
        beta, gamma = torch.nn.functional.leaky_relu(raw[..., 1], _SLOPE), torch.nn.functional.leaky_relu(
            raw[..., 2], _SLOPE)
    else:  # silu == GLU(cat(x, x))
        beta, gamma = torch.nn.functional.silu(raw[..., 1]), torch.nn.functional.silu(raw[..., 2])
    return torch.stack([alpha, beta, gamma], dim=-1)


class _Member(torch.nn.Module):
    """One ensemble member as an ordinary ``torch.nn`` network (the looped reference path)."""

    def __init__(self, n_features: int, n_units: int, n_layers: int, batch_norm: bool, head: str, dtype):
        super().__init__()
        layers: list[torch.nn.Module] = []
        d = n_features
        for _ in range(n_layers):
            layers.append(torch.nn.Linear(d, n_units, dtype=dtype))
            if batch_norm:
                layers.append(torch.nn.BatchNorm1d(n_units, eps=_EPS, momentum=_MOMENTUM, dtype=dtype))
            layers.append(torch.nn.LeakyReLU(_SLOPE))
            d = n_units
        layers.append(torch.nn.Linear(d, 3, dtype=dtype))
        self.net = torch.nn.Sequential(*layers)
        self.head = head

    def coefficients(self, x: torch.Tensor) -> torch.Tensor:
        return _head(self.net(x), self.head)

    def forward(self, x: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        c = self.coefficients(x)
        return power_law(c[..., 0], c[..., 1], c[..., 2], b)


class DPLEnsemble:
    """Ensemble of K configuration-conditioned power laws (eq. 4), trained together.

    Args:
        n_features: width of the encoded configurations.
        seed: ensemble seed (int or ``SeedSequence``); member k uses ``derive(seed, "member", k, ...)``.
        n_members: ensemble size K (paper: 5).
        n_units: units per hidden layer (paper: 128).
        n_layers: hidden layers (paper: 2).
        head: ``"sigmoid"`` (paper), ``"leaky_relu"`` (PD1 variant) or ``"silu"`` (authors' code); see module doc.
        loss: ``"l1"`` (eq. 5, default) or ``"mse"`` (appendix A).
        learning_rate: Adam learning rate (paper: 1e-3).
        batch_size: mini-batch size (authors' code: 64); ``None`` for full-batch training.
        batch_norm: batch normalization after every hidden linear layer (paper: yes; authors' code: no).
        vectorized: train all members in one stacked pass (default) or one by one (reference path).
        reseed: restart each member's initialization and mini-batch-order generators from the seed at every
            :meth:`reset` and :meth:`fit` (authors' code) instead of continuing them (default); module docstring.
        dtype: ``torch.float32`` (default) or ``torch.float64``.
        scripted: run the stacked pass's mini-batch loop through TorchScript (default;
            faster, ``tests/perf/README.md``) or as eager PyTorch; the same code and bit-identical results either way
            (:mod:`lcsim.surrogates._dpl_steps`).
    """

    def __init__(self, n_features: int, seed, *, n_members: int = 5, n_units: int = 128, n_layers: int = 2,
                 head: str = "sigmoid", loss: str = "l1", learning_rate: float = 1e-3, batch_size: int | None = 64,
                 batch_norm: bool = True, vectorized: bool = True, dtype=torch.float32, scripted: bool = True,
                 reseed: bool = False):
        owner = "DPLEnsemble"
        self.n_features = check_int(owner, "n_features", n_features, 0)
        self.n_members = check_int(owner, "n_members", n_members, 1)
        self.n_units = check_int(owner, "n_units", n_units, 1)
        self.n_layers = check_int(owner, "n_layers", n_layers, 1)
        self.head = check_choice(owner, "head", head, HEADS)
        self.loss = check_choice(owner, "loss", loss, LOSSES)
        self.learning_rate = check_float(owner, "learning_rate", learning_rate, 0, None, closed="neither")
        self.batch_size = None if batch_size is None else check_int(owner, "batch_size", batch_size, 2)
        self.batch_norm = bool(batch_norm)
        self.vectorized = bool(vectorized)
        self.scripted = bool(scripted)
        self.reseed = bool(reseed)
        if dtype not in (torch.float32, torch.float64):
            raise InvalidParameterError(f"The 'dtype' parameter of {owner} must be torch.float32 or torch.float64. "
                                        f"Got {dtype!r}.")
        self.dtype = dtype
        self.seed = seed
        self._init_gens = self._generators("init")
        self._order_gens = self._generators("order")
        self.n_fits = 0
        self.reset()

    def _generators(self, stream: str) -> list[torch.Generator]:
        """One fresh generator per member for ``stream`` (``"init"`` or ``"order"``), at the seed's start."""
        return [torch_generator(derive(self.seed, "member", k, stream)) for k in range(self.n_members)]

    # ------------------------------------------------------------------ parameters
    def reset(self) -> None:
        """Draw initial weights for every member: new ones from each member's continuing init generator, or with
        ``reseed`` the same ones every time (the generator restarted from the seed).

        Linear layers use PyTorch's default ``nn.Linear`` distribution (``U(-1/sqrt(fan_in), 1/sqrt(fan_in))`` for
        weights and biases), drawn from the member's generator; batch-norm scale 1, shift 0, running mean 0, var 1.
        """
        if self.reseed:
            self._init_gens = self._generators("init")
        K = self.n_members
        dims = [self.n_features] + [self.n_units] * self.n_layers + [3]
        self.weights: list[torch.Tensor] = []
        self.biases: list[torch.Tensor] = []
        for i in range(len(dims) - 1):
            fan_in, fan_out = dims[i], dims[i + 1]
            bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
            W = torch.empty(K, fan_out, fan_in, dtype=self.dtype)
            bias = torch.empty(K, fan_out, dtype=self.dtype)
            for k in range(K):
                W[k].uniform_(-bound, bound, generator=self._init_gens[k])
                bias[k].uniform_(-bound, bound, generator=self._init_gens[k])
            # stored as (K, in, out) for bmm; biases as (K, 1, out)
            self.weights.append(W.transpose(1, 2).contiguous().requires_grad_(True))
            self.biases.append(bias.unsqueeze(1).contiguous().requires_grad_(True))
        self.bn_scale = [torch.ones(K, 1, self.n_units, dtype=self.dtype, requires_grad=True)
                         for _ in range(self.n_layers)] if self.batch_norm else []
        self.bn_shift = [torch.zeros(K, 1, self.n_units, dtype=self.dtype, requires_grad=True)
                         for _ in range(self.n_layers)] if self.batch_norm else []
        self.running_mean = [torch.zeros(K, 1, self.n_units, dtype=self.dtype) for _ in range(self.n_layers)]
        self.running_var = [torch.ones(K, 1, self.n_units, dtype=self.dtype) for _ in range(self.n_layers)]
        self.n_fits = 0

    def _parameters(self) -> list[torch.Tensor]:
        return [*self.weights, *self.biases, *self.bn_scale, *self.bn_shift]

    def member_module(self, k: int) -> _Member:
        """Member ``k`` as an ordinary ``torch.nn`` module holding a copy of its current weights and BN state."""
        m = _Member(self.n_features, self.n_units, self.n_layers, self.batch_norm, self.head, self.dtype)
        lin = [mod for mod in m.net if isinstance(mod, torch.nn.Linear)]
        bns = [mod for mod in m.net if isinstance(mod, torch.nn.BatchNorm1d)]
        with torch.no_grad():
            for i, layer in enumerate(lin):
                layer.weight.copy_(self.weights[i][k].T)
                layer.bias.copy_(self.biases[i][k, 0])
            for i, bn in enumerate(bns):
                bn.weight.copy_(self.bn_scale[i][k, 0])
                bn.bias.copy_(self.bn_shift[i][k, 0])
                bn.running_mean.copy_(self.running_mean[i][k, 0])
                bn.running_var.copy_(self.running_var[i][k, 0])
        return m

    def _load_member(self, k: int, m: _Member) -> None:
        lin = [mod for mod in m.net if isinstance(mod, torch.nn.Linear)]
        bns = [mod for mod in m.net if isinstance(mod, torch.nn.BatchNorm1d)]
        with torch.no_grad():
            for i, layer in enumerate(lin):
                self.weights[i][k].copy_(layer.weight.T)
                self.biases[i][k, 0].copy_(layer.bias)
            for i, bn in enumerate(bns):
                self.bn_scale[i][k, 0].copy_(bn.weight)
                self.bn_shift[i][k, 0].copy_(bn.bias)
                self.running_mean[i][k, 0].copy_(bn.running_mean)
                self.running_var[i][k, 0].copy_(bn.running_var)

    # ------------------------------------------------------------------ forward
    def _raw(self, x: torch.Tensor, train: bool) -> torch.Tensor:
        """Stacked forward pass: x (K, n, d) -> raw outputs (K, n, 3)."""
        h = x
        for i in range(self.n_layers):
            h = torch.baddbmm(self.biases[i], h, self.weights[i])
            if self.batch_norm:
                # per-member BatchNorm1d as one native call: columns of the (n, K * units) view are (member, unit)
                K, n, u = h.shape
                flat = h.transpose(0, 1).reshape(n, K * u)
                flat = torch.nn.functional.batch_norm(
                    flat, self.running_mean[i].view(K * u), self.running_var[i].view(K * u),
                    self.bn_scale[i].reshape(K * u), self.bn_shift[i].reshape(K * u), training=train,
                    momentum=_MOMENTUM, eps=_EPS)
                h = flat.reshape(n, K, u).transpose(0, 1)
            h = torch.nn.functional.leaky_relu(h, _SLOPE)
        return torch.baddbmm(self.biases[-1], h, self.weights[-1])

    def _as_tensor(self, a) -> torch.Tensor:
        return torch.as_tensor(np.asarray(a, dtype=np.float64), dtype=self.dtype)

    # ------------------------------------------------------------------ training
    def fit(self, X, b, y, epochs: int, emphasize: int | None = None) -> DPLEnsemble:
        """Train every member for ``epochs`` passes over the data, continuing from the current weights.

        Call :meth:`reset` first for a fit from scratch (the optimizer does: 250 epochs on the first fit, then
        20-epoch refinements, appendix A).

        Args:
            X: encoded configurations, float array of shape (n, n_features).
            b: scaled budgets in (0, 1], shape (n,).
            y: targets (lower is better), shape (n,).
            epochs: passes over the data.
            emphasize: optional row index appended to every mini-batch (authors' refinement of the newest point).
        """
        X, b, y = self._as_tensor(X), self._as_tensor(b), self._as_tensor(y)
        n = X.shape[0]
        if X.ndim != 2 or X.shape[1] != self.n_features or b.shape != (n,) or y.shape != (n,):
            raise InvalidParameterError(
                f"DPLEnsemble.fit needs X of shape (n, {self.n_features}), b and y of shape (n,); got "
                f"{tuple(X.shape)}, {tuple(b.shape)}, {tuple(y.shape)}.")
        if not (torch.all(torch.isfinite(X)) and torch.all(torch.isfinite(y)) and torch.all(b > 0)):
            raise InvalidParameterError("DPLEnsemble.fit needs finite X and y and budgets b > 0.")
        epochs = check_int("DPLEnsemble.fit", "epochs", epochs, 0)
        if emphasize is not None:
            emphasize = check_int("DPLEnsemble.fit", "emphasize", emphasize, 0, n - 1)
        if self.reseed:
            self._order_gens = self._generators("order")
        batches = self._batches(n, epochs)
        if self.vectorized:
            self._fit_vectorized(X, b, y, batches, emphasize)
        else:
            self._fit_looped(X, b, y, batches, emphasize)
        self.n_fits += 1
        return self

    def _batches(self, n: int, epochs: int) -> list[list[torch.Tensor]]:
        """Mini-batch row indices per epoch, each batch of shape (K, batch), from the members' order generators."""
        out = []
        bs = n if self.batch_size is None else self.batch_size
        for _ in range(epochs):
            if self.batch_size is None:
                perm = torch.arange(n).expand(self.n_members, n)
            else:
                perm = torch.stack([torch.randperm(n, generator=g) for g in self._order_gens])
            # batch norm needs two examples (the authors skip singleton batches too)
            out.append([perm[:, s:s + bs] for s in range(0, n, bs) if min(bs, n - s) >= 2])
        return out

    def _loss_fn(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Mean loss over the last axis (per member if stacked)."""
        d = pred - target
        return (d.abs() if self.loss == "l1" else d * d).mean(dim=-1)

    def _fit_vectorized(self, X, b, y, epochs, emphasize) -> None:
        """Adam over the stacked parameters, one step per mini-batch, through :func:`._dpl_steps.train_steps`
        (forward, hand-written backward and ``torch._fused_adam_``; compiled by TorchScript unless ``scripted`` is
        false). Rows of one epoch are gathered in one indexing call."""
        run = _dpl_steps.scripted() if self.scripted else _dpl_steps.train_steps
        params = self._parameters()
        exp_avgs = [torch.zeros_like(p) for p in params]
        exp_avg_sqs = [torch.zeros_like(p) for p in params]
        step = torch.zeros((), dtype=torch.float32)
        lnb = torch.log(b)
        extra = None if emphasize is None else torch.full((self.n_members, 1), emphasize, dtype=torch.long)
        head = _dpl_steps.HEAD_CODES[self.head]
        with torch.no_grad():
            for batches in epochs:
                if not batches:
                    continue
                if extra is not None:
                    batches = [torch.cat([idx, extra], dim=1) for idx in batches]
                rows = torch.cat(batches, dim=1)
                run(self.weights, self.biases, self.bn_scale, self.bn_shift, self.running_mean, self.running_var,
                    exp_avgs, exp_avg_sqs, step, X[rows], lnb[rows], y[rows], [int(i.shape[1]) for i in batches],
                    head, self.loss == "l1", float(self.learning_rate))

    def _fit_looped(self, X, b, y, batches, emphasize) -> None:
        batches = [idx for epoch in batches for idx in epoch]
        for k in range(self.n_members):
            m = self.member_module(k)
            m.train()
            opt = torch.optim.Adam(m.parameters(), lr=self.learning_rate)
            for idx in batches:
                rows = idx[k]
                if emphasize is not None:
                    rows = torch.cat([rows, torch.tensor([emphasize], dtype=rows.dtype)])
                opt.zero_grad(set_to_none=True)
                loss = self._loss_fn(m(X[rows], b[rows]), y[rows])
                loss.backward()
                opt.step()
            self._load_member(k, m)

    # ------------------------------------------------------------------ prediction
    @torch.no_grad()
    def coefficients(self, X) -> np.ndarray:
        """Power-law coefficients per member: float array of shape (K, n, 3) = (alpha, beta, gamma)."""
        X = self._as_tensor(X)
        if X.ndim != 2 or X.shape[1] != self.n_features:
            raise InvalidParameterError(f"X must have shape (n, {self.n_features}); got {tuple(X.shape)}.")
        raw = self._raw(X.unsqueeze(0).expand(self.n_members, -1, -1), train=False)
        return _head(raw, self.head).numpy().astype(np.float64)

    def predict_members(self, X, b) -> np.ndarray:
        """Member predictions ``f^(k)(lambda, b)``: float array (K, n); ``b`` scalar or shape (n,), scaled budget."""
        c = self.coefficients(X)
        b = np.broadcast_to(np.asarray(b, dtype=np.float64), c.shape[1:2])
        return power_law(c[..., 0], c[..., 1], c[..., 2], b[None, :])

    def posterior(self, X, b) -> tuple[np.ndarray, np.ndarray]:
        """Eq. 6: ensemble mean and population variance, each of shape (n,)."""
        p = self.predict_members(X, b)
        return p.mean(axis=0), p.var(axis=0)
