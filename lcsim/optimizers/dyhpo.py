"""DyHPO (Wistuba, Kadra and Grabocka, "Supervising the Multi-Fidelity Race of Hyperparameter Configurations",
NeurIPS 2022): gray-box BO with a deep-kernel GP over (configuration, budget, learning curve) and a multi-fidelity EI
that advances one configuration by one epoch per step.

The loop (paper Sec. 4, Algorithm 1), split into model -> acquisition -> optimizer as in :mod:`lcsim.optimizers.dpl`:

1. **Model** (:class:`DeepKernelGP`, Sec. 4.1): a GP whose kernel compares learned features,
   ``k((x, Y, j), (x', Y', j')) = s * exp(-||phi(x, Y, j) - phi(x', Y', j')||^2 / (2 l^2))`` (squared exponential on
   the features), constant mean ``c`` and Gaussian noise ``sigma^2``. The feature extractor ``phi`` sees the encoded
   configuration ``x`` with the budget ``j / max_epoch`` through a linear layer (``units1``), the learning curve
   observed *before* that budget, ``Y = (y_1, ..., y_{j-1})``, through a 1-d convolution (``channels`` filters of
   width ``kernel_size``) and a global max-pool, and both, concatenated, through a last linear layer (``units2``).
   The network weights and ``(c, s, l, sigma^2)`` are fitted together by maximizing the GP's log marginal likelihood
   (Adam, full batch). The posterior is the exact GP posterior (Cholesky) of a target at the features of a
   candidate, observation noise included (what the authors' code scores).
2. **Acquisition** (Sec. 4.2, multi-fidelity EI): a candidate with ``b`` paid epochs is scored at its next budget
   ``j = b + 1`` by the closed-form EI (:func:`~lcsim.optimizers.acquisition.expected_improvement`) of its posterior
   at ``(x, Y_{1..b}, j)`` against ``f_best(j)``, the best target observed at epoch ``j`` by any configuration, or the
   best target observed at any epoch when no configuration has reached ``j`` yet.
3. **Optimizer** (Sec. 4.3): the candidate with the highest EI among those that are neither running nor finished is
   advanced by one epoch: a new configuration runs epoch 1, a known one resumes its trial at ``b + 1`` (freeze-thaw).
   With several workers the running trials are not candidates, so a running trial is never asked.

Candidates: on tabular tasks the whole pool (the paper's setting); where ``problem.candidates`` is ``None`` (live
tasks) the unfinished trials plus ``n_samples`` configurations sampled from the space after every fit, as in DPL.

Initial history: one random configuration at one epoch (the authors' code). With several workers, every ask made
before the first result is in also starts a random new configuration at one epoch.

Training schedule (the authors' released defaults): a fit from scratch (new weights, ``initial_epochs = 1000`` Adam
steps, learning rate 1e-3) at each of the first ``full_fits = 10`` observations, then a warm-started refinement of
``refine_epochs = 50`` steps after every new observation; a fit with a single observed point trains nothing (batch norm
needs two rows). A refit from scratch is also triggered when the best target has not improved for
``restart_patience`` observations in a row (default ``int(1.2 * max_epoch)``; once per improvement-free stretch) and
after a fit whose kernel matrix could not be factorized (the weights from before that fit are restored, as in the
authors' code). Adam's state starts anew at every fit.

Targets (lower is better) follow DPL's rule (:meth:`lcsim.optimizers._freeze_thaw.FreezeThawBase.target`, shared
with DPL): a bounded objective becomes an
error in [0, 1], an unbounded one (TaskSet's loss) is used raw and clipped at ``median + 3 * (median - min)`` of the
targets observed so far (``clip_targets``), so that diverged runs served at a huge worst value do not swamp the GP.
The learning-curve input holds the same (clipped) targets, zero-padded at the end to ``max(max_epoch - 1,
kernel_size)`` values.

Departures from the paper and the authors' code, each deliberate:

* the paper maximizes an accuracy; lcsim minimizes the target above and uses EI for minimization (the GP with a
  constant mean is symmetric under negation, so the choice is the same). The authors' released TaskSet driver feeds
  the raw loss to a maximizing EI; lcsim does not reproduce that;
* plain PyTorch instead of GPyTorch: exact GP in float64 with the parameters ``c``, and ``s``, ``l``, ``sigma^2``
  through softplus (``sigma^2 >= 1e-4``), initialized as GPyTorch does (``c = 0``, ``softplus(0)``); the loss is the
  negative log marginal likelihood divided by the number of points (GPyTorch's ``ExactMarginalLogLikelihood``);
  factorization retries with a jitter of 1e-8, 1e-7, 1e-6 times the mean diagonal before a fit counts as failed;
* the curve input is padded to a fixed length instead of the longest curve of each batch (the max-pool output differs
  only for curves that fill the whole window);
* clipped targets for unbounded objectives (the authors filter diverging curves out of the pool instead);
* configurations are encoded min-max over the space's bounds (``encoding="space"``, log where the space says so);
  ``encoding="pool"`` is the authors' log + min-max over the candidate pool (:func:`~lcsim.optimizers._freeze_thaw.
  pool_encoding`);
* seeding from the optimizer's seed (one torch generator for the weights), no global RNG.
"""
from __future__ import annotations

import math

import numpy as np

from ..errors import InvalidParameterError, check_float, check_int
from ..seeding import derive, torch_generator
from ._base import Job, Observation, Problem
from ._freeze_thaw import FreezeThawBase
from ._freeze_thaw import check_bool as _check_bool
from .acquisition import expected_improvement

__all__ = ["DyHPO", "DeepKernelGP"]

_NOISE_FLOOR = 1e-4   # GPyTorch's GaussianLikelihood noise constraint GreaterThan(1e-4)
_JITTERS = (0.0, 1e-8, 1e-7, 1e-6)


def _softplus(t):
    import torch

    return torch.nn.functional.softplus(t)


def _build_net(n_features: int, units1: int, units2: int, channels: int, kernel_size: int, batch_norm: bool):
    """The feature extractor phi of Sec. 4.1 as a torch module (float64)."""
    import torch
    from torch import nn

    class _Phi(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(n_features + 1, units1, dtype=torch.float64)
            self.bn1 = nn.BatchNorm1d(units1, dtype=torch.float64) if batch_norm else nn.Identity()
            self.conv = nn.Conv1d(1, channels, kernel_size, dtype=torch.float64)
            self.fc2 = nn.Linear(units1 + channels, units2, dtype=torch.float64)
            self.act = nn.LeakyReLU()

        def forward(self, x, b, curve):
            h = self.act(self.bn1(self.fc1(torch.cat([x, b[:, None]], dim=1))))
            c = self.conv(curve[:, None, :]).amax(dim=2)  # global max-pool over the curve
            return self.act(self.fc2(torch.cat([h, c], dim=1)))

    return _Phi()


class DeepKernelGP:
    """GP with a deep squared-exponential kernel over (configuration, budget, learning curve) (DyHPO Sec. 4.1).

    Args:
        n_features: width of the encoded configuration.
        curve_len: length of the (zero-padded) learning-curve input (>= ``kernel_size``).
        seed: seed of the weight initializations (one continuing torch generator).
        units1, units2: widths of the first and the last linear layer.
        channels, kernel_size: filters and width of the curve convolution.
        learning_rate: Adam learning rate.
        batch_norm: batch norm after the first linear layer (the authors' code).
    """

    def __init__(self, n_features: int, curve_len: int, seed, *, units1: int = 64, units2: int = 128,
                 channels: int = 4, kernel_size: int = 3, learning_rate: float = 1e-3, batch_norm: bool = True):
        self.n_features, self.curve_len = int(n_features), int(curve_len)
        self.units1, self.units2, self.channels, self.kernel_size = units1, units2, channels, kernel_size
        self.learning_rate = learning_rate
        self.batch_norm = batch_norm
        self._gen = torch_generator(derive(seed, "dyhpo", "init"))
        self._train = None  # tensors of the last fit: x, b, curve, y
        self.reset()

    # ------------------------------------------------------------------ parameters
    def reset(self) -> None:
        """New weights from the continuing generator: every linear / conv weight and bias uniform in
        ``+-1/sqrt(fan_in)`` (PyTorch's default bound), batch norm at scale 1, shift 0; GP parameters at GPyTorch's
        initial values (``c = 0``, raw ``s, l, sigma^2`` = 0)."""
        import torch

        self.net = _build_net(self.n_features, self.units1, self.units2, self.channels, self.kernel_size,
                              self.batch_norm)
        with torch.no_grad():
            for m in (self.net.fc1, self.net.conv, self.net.fc2):
                bound = 1.0 / math.sqrt(m.weight[0].numel())
                m.weight.uniform_(-bound, bound, generator=self._gen)
                m.bias.uniform_(-bound, bound, generator=self._gen)
        self.raw = torch.zeros(4, dtype=torch.float64, requires_grad=True)  # c, raw s, raw l, raw noise

    def gp_params(self) -> dict:
        """The GP's constant mean, outputscale, lengthscale and noise variance as floats."""
        c, s, ell, n = (float(v.detach()) for v in self._gp())
        return {"mean": float(c), "outputscale": float(s), "lengthscale": float(ell), "noise": float(n)}

    def _gp(self):
        r = self.raw
        return r[0], _softplus(r[1]), _softplus(r[2]), _softplus(r[3]) + _NOISE_FLOOR

    def _state(self):
        import copy

        return copy.deepcopy(self.net.state_dict()), self.raw.detach().clone()

    def _load(self, state) -> None:
        import torch

        self.net.load_state_dict(state[0])
        with torch.no_grad():
            self.raw.copy_(state[1])

    # ------------------------------------------------------------------ GP algebra
    def kernel(self, Za, Zb):
        """``s * exp(-||za - zb||^2 / (2 l^2))`` between feature rows."""
        _, s, ell, _ = self._gp()
        A, B = Za / ell, Zb / ell
        d2 = (A * A).sum(1)[:, None] + (B * B).sum(1)[None, :] - 2.0 * A @ B.T
        return s * (-0.5 * d2.clamp_min(0.0)).exp()

    def _cholesky(self, K):
        """Lower Cholesky factor of ``K``, retrying with jitter (``_JITTERS`` times the mean diagonal); ``None`` when
        every try fails."""
        import torch

        eye = torch.eye(len(K), dtype=K.dtype)
        scale = K.diagonal().mean().detach()
        for j in _JITTERS:
            L, info = torch.linalg.cholesky_ex(K + j * scale * eye if j else K)
            if int(info) == 0:
                return L
        return None

    def neg_mll(self, Z, y):
        """Negative log marginal likelihood per point, ``[r' K^-1 r + log|K| + n log 2 pi] / (2 n)`` with
        ``r = y - c`` and ``K = k(Z, Z) + sigma^2 I``; ``None`` when ``K`` cannot be factorized."""
        import torch

        c, _, _, noise = self._gp()
        n = len(y)
        K = self.kernel(Z, Z) + noise * torch.eye(n, dtype=Z.dtype)
        L = self._cholesky(K)
        if L is None:
            return None
        r = (y - c)[:, None]
        alpha = torch.cholesky_solve(r, L)
        return (0.5 * (r * alpha).sum() + L.diagonal().log().sum() + 0.5 * n * math.log(2 * math.pi)) / n

    # ------------------------------------------------------------------ fit / predict
    @staticmethod
    def _tensors(X, b, C, y=None):
        import torch

        out = [torch.as_tensor(np.asarray(a, dtype=float), dtype=torch.float64) for a in (X, b, C)]
        if y is not None:
            out.append(torch.as_tensor(np.asarray(y, dtype=float), dtype=torch.float64))
        return out

    def fit(self, X, b, C, y, epochs: int) -> bool:
        """``epochs`` full-batch Adam steps on the negative log marginal likelihood of ``(X, b, C) -> y``, warm from
        the current weights. Returns ``False`` (weights restored to those before the call) when a kernel matrix
        could not be factorized. With one point nothing is trained (batch norm needs two rows)."""
        import torch

        x, bt, ct, yt = self._tensors(X, b, C, y)
        self._train = (x, bt, ct, yt)
        if len(yt) < 2 or epochs == 0:
            return True
        before = self._state()
        opt = torch.optim.Adam(list(self.net.parameters()) + [self.raw], lr=self.learning_rate)
        self.net.train()
        for _ in range(epochs):
            opt.zero_grad()
            loss = self.neg_mll(self.net(x, bt, ct), yt)
            if loss is None or not torch.isfinite(loss):
                self._load(before)
                return False
            loss.backward()
            opt.step()
        return True

    def posterior(self, X, b, C) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and variance of a target at ``(X, b, C)`` given the last fit's data (batch norm in eval
        mode for both, as in the authors' code): ``mu = c + k*' K^-1 (y - c)``, ``var = s - k*' K^-1 k* +
        sigma^2``."""
        import torch

        xs, bs, cs = self._tensors(X, b, C)
        c, s, _, noise = self._gp()
        self.net.eval()
        with torch.no_grad():
            Zs = self.net(xs, bs, cs)
            if self._train is None or len(self._train[3]) == 0:
                return (np.full(len(xs), float(c)), np.full(len(xs), float(s + noise)))
            x, bt, ct, yt = self._train
            Z = self.net(x, bt, ct)
            K = self.kernel(Z, Z) + noise * torch.eye(len(yt), dtype=Z.dtype)
            L = self._cholesky(K)
            if L is None:  # cannot happen after a successful fit's factorization; the prior as a safe answer
                return (np.full(len(xs), float(c)), np.full(len(xs), float(s + noise)))
            Ks = self.kernel(Z, Zs)
            mean = c + (Ks * torch.cholesky_solve((yt - c)[:, None], L)).sum(0)
            v = torch.linalg.solve_triangular(L, Ks, upper=False)
            var = (s - (v * v).sum(0)).clamp_min(0.0) + noise
        return mean.numpy().copy(), var.numpy().copy()


class DyHPO(FreezeThawBase):
    """DyHPO gray-box BO (see the module docstring for the algorithm, the schedule and every departure).

    Args:
        problem: the task's problem.
        seed: seed of the initial configuration, the network initializations and the candidate samples (non-tabular
            tasks).
        units1: units of the linear layer over configuration and budget (authors' code: 64).
        units2: units of the last linear layer, the kernel's feature width (authors' code: 128).
        channels: filters of the learning-curve convolution (authors' code: 4).
        kernel_size: width of the convolution (authors' code: 3).
        batch_norm: batch norm after the first linear layer (authors' code: yes).
        learning_rate: Adam learning rate (authors' code: 1e-3).
        initial_epochs: Adam steps of a fit from scratch (authors' code: 1000).
        refine_epochs: Adam steps of a warm-started refinement (authors' code: 50).
        full_fits: observations (from the first) after which the model is fitted from scratch (authors' code: 10).
        restart_patience: refit from scratch once the best target has not improved for this many observations in a
            row (``None``: ``int(1.2 * max_epoch)``, the authors' code; ``0``: never).
        clip_targets: clip unbounded targets at ``median + 3 * (median - min)`` (module docstring).
        encoding: ``"space"`` (min-max over the space's bounds) or ``"pool"`` (the authors' log + min-max over the
            candidate pool; tabular tasks only).
        n_samples: configurations sampled per iteration when the task has no candidate pool.
    """

    name = "dyhpo"
    #: not in the CLI's default quick comparison (a GP refit of 50 Adam steps per one-epoch step); run it by name
    slow = True

    @classmethod
    def contract_params(cls) -> dict:
        """Small settings for the optimizer contract suite (same algorithm, smaller nets and fewer steps)."""
        return {"units1": 8, "units2": 8, "initial_epochs": 15, "refine_epochs": 3, "full_fits": 2, "n_samples": 32}

    def __init__(self, problem: Problem, seed, units1: int = 64, units2: int = 128, channels: int = 4,
                 kernel_size: int = 3, batch_norm: bool = True, learning_rate: float = 1e-3,
                 initial_epochs: int = 1000, refine_epochs: int = 50, full_fits: int = 10,
                 restart_patience: int | None = None, clip_targets: bool = True, encoding: str = "space",
                 n_samples: int = 1000):
        super().__init__(problem, seed)
        o = "DyHPO"
        self.units1 = check_int(o, "units1", units1, 1)
        self.units2 = check_int(o, "units2", units2, 1)
        self.channels = check_int(o, "channels", channels, 1)
        self.kernel_size = check_int(o, "kernel_size", kernel_size, 1)
        self.batch_norm = _check_bool(o, "batch_norm", batch_norm)
        self.learning_rate = check_float(o, "learning_rate", learning_rate, 0, None, closed="neither")
        self.initial_epochs = check_int(o, "initial_epochs", initial_epochs, 0)
        self.refine_epochs = check_int(o, "refine_epochs", refine_epochs, 0)
        self.full_fits = check_int(o, "full_fits", full_fits, 1)
        m = problem.max_epoch
        self.restart_patience = (int(m + 0.2 * m) if restart_patience is None
                                 else check_int(o, "restart_patience", restart_patience, 0))
        self.clip_targets = _check_bool(o, "clip_targets", clip_targets)
        self._check_encoding(o, encoding)
        self.n_samples = check_int(o, "n_samples", n_samples, 1)
        self._seed = seed
        self.curve_len = max(m - 1, self.kernel_size)

        self.first_epoch = 1  # one-epoch steps
        self._curve: dict[int, list[float]] = {}   # trial -> raw targets of epochs 1..stored
        self._best = np.inf
        self._patience = 0
        self._n_fits = 0
        self._need_full = True
        self._model: DeepKernelGP | None = None
        self._cand = None

    def params(self) -> dict:
        return {"units1": self.units1, "units2": self.units2, "channels": self.channels,
                "kernel_size": self.kernel_size, "batch_norm": self.batch_norm, "learning_rate": self.learning_rate,
                "initial_epochs": self.initial_epochs, "refine_epochs": self.refine_epochs,
                "full_fits": self.full_fits, "restart_patience": self.restart_patience,
                "clip_targets": self.clip_targets, "encoding": self.encoding, "n_samples": self.n_samples}

    # ------------------------------------------------------------------ targets
    def _clip_level(self, y: np.ndarray) -> float:
        if not self.clip_targets or self._bounded or len(y) == 0:
            return np.inf
        med = float(np.median(y))
        return med + 3.0 * (med - float(np.min(y)))

    # ------------------------------------------------------------------ data
    def _padded(self, values, clip: float) -> np.ndarray:
        """A curve input: ``values`` clipped at ``clip``, zero-padded to ``curve_len``."""
        out = np.zeros(self.curve_len)
        v = np.minimum(np.asarray(values, dtype=float)[: self.curve_len], clip)
        out[: len(v)] = v
        return out

    def training_data(self):
        """Every observed (configuration, epoch) point as model inputs: ``X`` (n, n_features), ``b = epoch /
        max_epoch`` (n,), ``C`` the curve before that epoch (n, curve_len), ``y`` the clipped target (n,), the epochs
        (n,) and the clip level used."""
        trials = [t for t in self._curve if self._curve[t]]
        raw = np.concatenate([self._curve[t] for t in trials]) if trials else np.zeros(0)
        clip = self._clip_level(raw)
        X, C, y, ep = [], [], [], []
        for t in trials:
            cur = self._curve[t]
            for e in range(1, len(cur) + 1):
                X.append(self._x_of[t])
                ep.append(e)
                C.append(self._padded(cur[: e - 1], clip))
                y.append(min(cur[e - 1], clip))
        m = self.problem.max_epoch
        n_f = len(next(iter(self._x_of.values()))) if self._x_of else 0
        return (np.asarray(X, dtype=float).reshape(len(y), n_f), np.asarray(ep, dtype=float) / m,
                np.asarray(C, dtype=float).reshape(len(y), self.curve_len), np.asarray(y, dtype=float),
                np.asarray(ep, dtype=int), clip)

    # ------------------------------------------------------------------ ask
    def _started(self, tid: int) -> None:
        self._curve[tid] = []

    def _eligible(self) -> np.ndarray:
        """Candidates that may be asked now: not running and not trained to ``max_epoch``."""
        c, m = self._cand, self.problem.max_epoch
        return np.array([(not c["taken"][i]) if t < 0 else (t not in self.running and self.paid.get(t, 0) < m)
                         for i, t in enumerate(c["trial"])], dtype=bool)

    def _ask(self) -> Job | None:
        if self._cand is None:  # no observation yet: initial random configuration(s) at one epoch
            return self._random_new()
        c = self._cand
        ok = self._eligible()
        if not ok.any():
            return None
        i = int(np.argmax(np.where(ok, c["ei"], -np.inf)))  # ties: lowest index (pool order on tabular tasks)
        tid = int(c["trial"][i])
        if tid < 0:
            c["taken"][i] = True  # reserves the new configuration it hands out
            if self.problem.is_tabular:
                return self._new_trial(int(c["config_id"][i]), None)
            return self._new_trial(None, c["config"][i])
        return self._job(tid, min(self.paid.get(tid, 0) + 1, self.problem.max_epoch))

    # ------------------------------------------------------------------ tell
    def _tell(self, job: Job, observation: Observation) -> None:
        tid = job.trial_id
        self._adopt(job, observation)
        cur = self._curve[tid]
        y = self.target(observation.values)
        new = [(int(e), float(v)) for e, v in zip(observation.epochs, y) if e > len(cur)]
        if not new:
            return
        improved = False
        for e, v in new:
            if e != len(cur) + 1:  # epochs arrive in order from the engine; a gap would break the curve input
                raise InvalidParameterError(f"DyHPO got epoch {e} of trial {tid} after {len(cur)} epochs; the "
                                            "engine reveals every epoch of a job, first..epoch.")
            cur.append(v)
            if v < self._best:
                self._best, improved = v, True
        self._patience = 0 if improved else self._patience + 1
        if self.restart_patience and self._patience == self.restart_patience:
            self._need_full = True
        self._fit()
        self._update_candidates()

    def _fit(self) -> None:
        X, b, C, y, _, _ = self.training_data()
        if self._model is None:
            self._model = DeepKernelGP(X.shape[1], self.curve_len, derive(self._seed, "dyhpo", "model"),
                                       units1=self.units1, units2=self.units2, channels=self.channels,
                                       kernel_size=self.kernel_size, learning_rate=self.learning_rate,
                                       batch_norm=self.batch_norm)
        self._n_fits += 1
        if self._need_full:
            self._model.reset()
            ok = self._model.fit(X, b, C, y, self.initial_epochs)
            self._need_full = self._n_fits < self.full_fits
        else:
            ok = self._model.fit(X, b, C, y, self.refine_epochs)
        if not ok:
            self._need_full = True  # the authors' code restarts the model after a failed fit

    def _candidates(self):
        """The candidates after a fit: trial ids (-1: new configuration), pool rows (-1: none), sampled configs
        (non-tabular) and their model inputs ``X``, next epoch, ``b`` and curve ``C``. On tabular tasks they are the
        pool rows in order, each new or with an unfinished observed trial; elsewhere the unfinished observed trials,
        then ``n_samples`` new configurations sampled from the space."""
        m = self.problem.max_epoch
        if self.problem.is_tabular:
            rows = []
            for r, t in enumerate(self._cid_trial):
                n_obs = len(self._curve.get(int(t), ())) if t >= 0 else 0
                if t < 0 or 0 < n_obs < m:
                    rows.append(r)
            rows = np.asarray(rows, dtype=np.int64)
            trial = self._cid_trial[rows]
            X = self.encoded_pool()[rows]
            configs = [None] * len(rows)
        else:
            known = [t for t in self._x_of if 0 < len(self._curve.get(t, ())) < m]
            configs = [None] * len(known) + [self.sample_config() for _ in range(self.n_samples)]
            rows = np.full(len(configs), -1, dtype=np.int64)
            trial = np.concatenate([np.asarray(known, dtype=np.int64), np.full(self.n_samples, -1)])
            n_f = len(next(iter(self._x_of.values())))
            X = np.vstack([np.asarray([self._x_of[t] for t in known]).reshape(len(known), n_f),
                           self._encode(configs[len(known):])])
        return trial, rows, configs, X

    def _update_candidates(self) -> None:
        _, _, _, y, ep, clip = self.training_data()
        m = self.problem.max_epoch
        trial, rows, configs, X = self._candidates()
        nxt = np.array([len(self._curve[int(t)]) + 1 if t >= 0 else 1 for t in trial], dtype=int)
        C = np.zeros((len(X), self.curve_len))
        for k in np.flatnonzero(trial >= 0):
            C[k] = self._padded(self._curve[int(trial[k])], clip)
        mean, var = self._model.posterior(X, nxt / m, C)
        std = np.sqrt(var)
        # f_best per budget (Sec. 4.2): best target at that epoch, else best at any epoch
        best_at = np.full(m + 1, np.inf)
        np.minimum.at(best_at, ep, y)
        f_best = np.where(np.isfinite(best_at[nxt]), best_at[nxt], y.min())
        ei = np.empty(len(X))
        for j in np.unique(nxt):
            sel = nxt == j
            ei[sel] = expected_improvement(mean[sel], std[sel], float(f_best[sel][0]))
        self._cand = {"mean": mean, "std": std, "budget": nxt, "f_best": f_best, "ei": ei, "trial": trial,
                      "config_id": rows, "config": configs, "taken": np.zeros(len(X), dtype=bool)}
