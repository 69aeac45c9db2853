"""HEBO (Cowen-Rivers et al., "HEBO: Pushing the limits of sample-efficient hyperparameter optimisation", JAIR 2022;
winner of the NeurIPS 2020 black-box optimisation challenge), reimplemented behind lcsim's ask/tell interface.

The reference implementation (the ``HEBO`` pip package, ``hebo.optimizers.hebo.HEBO``) pins numpy 1.x, GPyTorch, GPy,
pymoo 0.6.0 and CatBoost, so it cannot be a dependency of lcsim. This module is written from the paper and from
reading that package's source (version 0.3.6); no code is copied. ``tests/perf/crosscheck_hebo.py`` compares the two
on synthetic functions (results in ``tests/fixtures/hebo_crosscheck.json``, checked by ``tests/test_hebo.py``).

One suggestion, as in ``HEBO.suggest`` with ``n_suggestions=1``:

1. **Initial design** -- while fewer than ``n_init`` = d + 1 observations are in (HEBO's ``rand_sample`` default
   ``1 + num_paras``), the next point of a scrambled Sobol sequence (``torch.quasirandom.SobolEngine``, seeded from
   this optimizer's RNG).
2. **Output transform** -- the losses are divided by their standard deviation and power-transformed
   (``sklearn.preprocessing.PowerTransformer``, which also standardises): Box-Cox when every loss is positive,
   Yeo-Johnson otherwise; a Box-Cox result with standard deviation below 0.5 is redone with Yeo-Johnson, and if that
   is still below 0.5 (or fails) the raw losses are used, as in HEBO (:class:`PowerOutputTransform`).
3. **Surrogate** -- :class:`WarpedGP`: an exact GP with a constant mean, a Matern-3/2 ARD kernel times an output
   scale, Gaussian noise (``>= 8e-4``, HEBO's ``noise_lb``) and a per-dimension Kumaraswamy CDF input warping
   ``w(x) = 1 - (1 - x^a)^b`` (:func:`kumaraswamy_warp`). Targets are standardised inside the GP. Priors, all from
   HEBO: output scale Gamma(0.5, 0.5) and noise LogNormal(log 0.01, 0.5) (HEBO's default ``gp`` model), warping
   parameters LogNormal(0, 0.75) (GPy's ``KumarWarping``, used by HEBO's warped ``gpy`` model; GPy bounds them
   in (0, 10), here [0.01, 10]).
   Initial lengthscales: the median pairwise distance per dimension (clamped at 0.01), as HEBO's ``default_kern``.
   Inputs are the ``"unit"`` encoding of :class:`~lcsim.space.SpaceCodec` (HEBO scales its inputs by the
   space bounds before warping, which is the same map). The GP predicts the latent function (HEBO's default
   ``pred_likeli=False``).
4. **Acquisition** -- MACE (:func:`mace_objectives`): the three objectives (LCB, -log EI, -log PI) minimised jointly,
   with HEBO's details: the incumbent ``tau`` is the GP's posterior mean at the best observed point; ``eps`` = 1e-4;
   the mean is perturbed with independent N(0, 2 * noise) draws in LCB and in EI/PI (HEBO's noise handling); the
   asymptotic log EI / log PI approximations where ``normed <= -6`` or the exact logs are not finite; and HEBO's kappa
   schedule ``kappa = sqrt(2 * upsilon * ((2 + d / 2) * log(t) + log(pi^2 / delta)))`` with ``upsilon`` = 0.5,
   ``delta`` = 0.01, ``t`` = number of observations (:func:`hebo_kappa`).
5. **Acquisition optimiser** -- NSGA-II (:func:`nsga2`) with HEBO's settings: population 100, 100 generations (the
   first being the initial population, as pymoo counts them), the initial population is the incumbent plus uniform
   random points; parents chosen by random permutation (pymoo's ``RandomSelection``, which HEBO's
   ``MixedVariableMating`` uses); SBX crossover (probability 0.9, eta 15, per-variable 0.5, exchange as pymoo) and
   polynomial mutation (probability 0.9, eta 20, per-variable min(0.5, 1/d)); offspring identical to a member of the
   population or to another offspring are discarded and regenerated; survival by non-dominated rank then crowding
   distance (random tie-breaking).
6. **Choice** -- the non-dominated members of the final population, without duplicates and without configurations
   already observed, and one of them uniformly at random (HEBO's ``np.random.choice`` over the front); a Sobol point if
   none is left.

Deviations from the HEBO package and why:

* **Input warping.** The paper's HEBO warps inputs with the Kumaraswamy CDF; the pip package's *default* model
  (``model_name="gp"``, GPyTorch) has no warping -- warping lives in its GPy-based ``gpy`` model (Linear + Matern-3/2
  kernel, ten random restarts), which 0.3.6 does not even register. This module follows the paper (warping on,
  ``warp=False`` turns it off) with the default model's kernel (no Linear term) and priors. The cross-check runs the
  package's default.
* **Hyperparameter fitting.** HEBO's default GP runs 100 steps of preconditioned stochastic-gradient Langevin dynamics
  (pSGLD, lr 0.01) on the marginal likelihood, i.e. a stochastic approximate posterior sample; here the same
  objective (marginal likelihood plus priors, a MAP estimate) is maximised with L-BFGS-B (float64, analytic gradients
  by torch autograd, at most ``gp_max_iter`` iterations) from HEBO's initial values, with a fresh model at every
  suggestion as the package builds one (``WarpedGP.fit`` can also start from a previous fit's ``theta_``; the
  optimizer does not use that). Deterministic and cheaper; the estimate is the mode the pSGLD chain wanders around.
* **Variable types.** HEBO gives integers an Integer variable (rounded SBX/PM) and categoricals an embedding plus a
  categorical variable (uniform crossover, random mutation). lcsim's black-box methods all work in the unit-cube
  encoding (categoricals as index / (n - 1), integers rounded by :meth:`~lcsim.space.SpaceCodec.decode`), so
  every free hyperparameter is a continuous coordinate here; duplicates are detected after decoding, as HEBO does on
  its configuration table. Constant hyperparameters are left out of the model (``d`` counts the others).
* **Tabular tasks.** The GP learns from the configuration actually served (its encoding), as lcsim's other vector
  methods do.
* **Parallel workers.** HEBO proposes batches (``n_suggestions``); lcsim asks one job at a time, so with several
  workers each ask is HEBO's single suggestion from the observations told so far (pending points are not modelled).
* **Randomness.** Everything random comes from this optimizer's numpy Generator (and a torch Sobol engine seeded from
  it); the package uses numpy's and torch's global RNGs. The NSGA-II is written here (pymoo installs with numpy 2 but
  uses numpy's global RNG and would add nine packages).
* **Failures.** A non-finite loss is dropped (HEBO's ``observe_new_data`` filters them too; lcsim's engine serves
  diverged runs at the task's worst value, so this does not happen in replay); if the GP cannot be fitted, the
  suggestion is the next Sobol point.
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from ..errors import InvalidParameterError, check_int
from ._base import Problem
from .blackbox import BlackBox

__all__ = ["HEBO", "WarpedGP", "PowerOutputTransform", "kumaraswamy_warp", "hebo_kappa", "mace_objectives",
           "non_dominated_rank", "crowding_distance", "sbx_crossover", "polynomial_mutation", "nsga2"]

_F32_EPS = float(np.finfo(np.float32).eps)  # HEBO's floor on the predictive std (its tensors are float32)
_WARP_EPS = 1e-6  # GPy's KumarWarping widens [xmin, xmax] by this much so that 0 and 1 stay differentiable


# ----------------------------------------------------------------------------------------------------- warping, GP
def kumaraswamy_warp(x, a, b):
    """Kumaraswamy CDF ``1 - (1 - x^a)^b`` applied per column (``a``, ``b``: shape (d,) or scalars).

    Works on numpy arrays and torch tensors alike. Monotone increasing for ``a, b > 0`` and maps [0, 1] onto [0, 1];
    ``a = b = 1`` is the identity.
    """
    return 1.0 - (1.0 - x ** a) ** b


def _squeeze01(x):
    """GPy's normalisation of unit-cube inputs before warping: [0, 1] -> [eps', 1 - eps']."""
    return (x + _WARP_EPS) / (1.0 + 2.0 * _WARP_EPS)


def _matern32(r):
    """Matern-3/2 correlation of scaled distances ``r`` (numpy array or torch tensor)."""
    s3r = math.sqrt(3.0) * r
    if isinstance(r, np.ndarray):
        return (1.0 + s3r) * np.exp(-s3r)
    return (1.0 + s3r) * (-s3r).exp()  # torch


class WarpedGP:
    """Exact GP regression on the unit cube: constant mean + output scale x Matern-3/2 (ARD) on Kumaraswamy-warped
    inputs + Gaussian noise, hyperparameters by MAP (marginal likelihood + HEBO's priors) with L-BFGS-B.

    Targets are standardised internally (mean, population std); :meth:`predict` returns the mean and the variance of
    the latent function in the original target units and :attr:`noise` the noise variance in those units.

    Args:
        warp: learn a Kumaraswamy warping per dimension (else the identity).
        noise_lb: lower bound on the (standardised) noise variance (HEBO: 8e-4).
        max_iter: L-BFGS-B iterations per start.
    """

    #: box bounds (natural scale) of the hyperparameters during fitting
    LS_BOUNDS = (1e-3, 1e3)
    SCALE_BOUNDS = (1e-4, 1e2)
    NOISE_UB = 10.0
    WARP_BOUNDS = (1e-2, 10.0)
    MEAN_BOUNDS = (-10.0, 10.0)

    def __init__(self, warp: bool = True, noise_lb: float = 8e-4, max_iter: int = 100):
        self.warp = bool(warp)
        self.noise_lb = float(noise_lb)
        self.max_iter = int(max_iter)
        self.theta_: np.ndarray | None = None

    # -- parameter vector: [log ls (d), log outputscale, log noise, mean, log a (d), log b (d)] (warp parts if warp)
    def _unpack(self, theta, d):
        ls, ls2 = theta[:d], theta[d:]
        out = {"log_ls": ls, "log_scale": ls2[0], "log_noise": ls2[1], "mean": ls2[2]}
        if self.warp:
            out["log_a"], out["log_b"] = ls2[3:3 + d], ls2[3 + d:3 + 2 * d]
        return out

    def _bounds(self, d):
        lo_ls, hi_ls = np.log(self.LS_BOUNDS)
        b = [(lo_ls, hi_ls)] * d + [tuple(np.log(self.SCALE_BOUNDS)),
                                    (math.log(self.noise_lb), math.log(self.NOISE_UB)), self.MEAN_BOUNDS]
        if self.warp:
            b += [tuple(np.log(self.WARP_BOUNDS))] * (2 * d)
        return b

    def initial_theta(self, X: np.ndarray, y_std: np.ndarray) -> np.ndarray:
        """HEBO's starting values: lengthscale = median pairwise distance per dimension (>= 0.01), output scale =
        variance of the standardised targets (1), noise = max(0.01, noise_lb), mean 0, identity warping."""
        n, d = X.shape
        ls = np.empty(d)
        for j in range(d):
            diff = np.abs(X[:, None, j] - X[None, :, j])[np.triu_indices(n, 1)]
            ls[j] = max(float(np.median(diff)) if diff.size else 0.5, 0.01)
        scale = max(float(np.var(y_std)), 1e-3)
        th = list(np.log(ls)) + [math.log(scale), math.log(max(1e-2, self.noise_lb)), 0.0]
        if self.warp:
            th += [0.0] * (2 * d)
        return np.array(th)

    def _neg_log_post(self, theta_t, X_t, y_t):
        import torch

        n, d = X_t.shape
        p = self._unpack(theta_t, d)
        x = _squeeze01(X_t)
        if self.warp:
            x = kumaraswamy_warp(x, torch.exp(p["log_a"]), torch.exp(p["log_b"]))
        z = x / torch.exp(p["log_ls"])
        d2 = ((z[:, None, :] - z[None, :, :]) ** 2).sum(-1)
        r = torch.sqrt(torch.clamp(d2, min=1e-30))
        scale, noise = torch.exp(p["log_scale"]), torch.exp(p["log_noise"])
        K = scale * _matern32(r) + (noise + 1e-8) * torch.eye(n, dtype=X_t.dtype)
        L = torch.linalg.cholesky(K)
        resid = (y_t - p["mean"])[:, None]
        alpha = torch.cholesky_solve(resid, L)
        nll = 0.5 * (resid * alpha).sum() + torch.log(torch.diagonal(L)).sum() + 0.5 * n * math.log(2 * math.pi)
        # priors: Gamma(0.5, 0.5) on the output scale, LogNormal(log 0.01, 0.5) on the noise (HEBO's GP),
        # LogNormal(0, 0.75) on the Kumaraswamy parameters (GPy's KumarWarping); constants dropped
        lp = (0.5 - 1.0) * p["log_scale"] - 0.5 * scale
        lp = lp - (p["log_noise"] - math.log(0.01)) ** 2 / (2 * 0.5 ** 2) - p["log_noise"]
        if self.warp:
            for w in (p["log_a"], p["log_b"]):
                lp = lp - (w ** 2 / (2 * 0.75 ** 2)).sum() - w.sum()
        return nll - lp

    def fit(self, X: np.ndarray, y: np.ndarray, theta0: np.ndarray | None = None) -> WarpedGP:
        """Fit on ``X`` (n, d) in [0, 1] and ``y`` (n,). Starts from HEBO's initial values and from ``theta0`` (a
        previous fit's ``theta_``) when given; keeps the start with the better MAP objective."""
        import torch
        from scipy.optimize import minimize

        X = np.asarray(X, dtype=float)
        y = np.asarray(y, dtype=float).ravel()
        self._set_data(X, y)
        X_t = torch.as_tensor(X, dtype=torch.float64)
        y_t = torch.as_tensor(self.y_std_, dtype=torch.float64)
        d = X.shape[1]

        def fg(th):
            t = torch.as_tensor(th, dtype=torch.float64).requires_grad_(True)
            try:
                loss = self._neg_log_post(t, X_t, y_t)
                loss.backward()
            except (RuntimeError, torch.linalg.LinAlgError):  # not positive definite: steer away
                return 1e10, np.zeros_like(th)
            g = t.grad.numpy().copy()
            val = float(loss.detach())
            if not (math.isfinite(val) and np.all(np.isfinite(g))):
                return 1e10, np.zeros_like(th)
            return val, g

        bounds = self._bounds(d)
        starts = [self.initial_theta(X, self.y_std_)]
        if theta0 is not None and len(theta0) == len(starts[0]):
            starts.append(np.asarray(theta0, dtype=float))
        best = None
        for th0 in starts:
            th0 = np.clip(th0, [b[0] for b in bounds], [b[1] for b in bounds])
            res = minimize(fg, th0, jac=True, method="L-BFGS-B", bounds=bounds, options={"maxiter": self.max_iter})
            val = float(res.fun) if np.isfinite(res.fun) else np.inf
            if best is None or val < best[0]:
                best = (val, np.asarray(res.x, dtype=float))
        self.theta_ = best[1]
        self._factorize()
        return self

    def set_hyperparameters(self, X: np.ndarray, y: np.ndarray, lengthscale, outputscale: float, noise: float,
                            mean: float = 0.0, a=None, b=None) -> WarpedGP:
        """Condition on data with fixed hyperparameters (standardised-target units), no fitting."""
        X = np.asarray(X, dtype=float)
        y = np.asarray(y, dtype=float).ravel()
        d = X.shape[1]
        self._set_data(X, y)
        th = list(np.log(np.broadcast_to(np.asarray(lengthscale, dtype=float), (d,)))) + [
            math.log(outputscale), math.log(noise), float(mean)]
        if self.warp:
            th += list(np.log(np.broadcast_to(1.0 if a is None else np.asarray(a, float), (d,))))
            th += list(np.log(np.broadcast_to(1.0 if b is None else np.asarray(b, float), (d,))))
        self.theta_ = np.array(th)
        self._factorize()
        return self

    def _set_data(self, X, y):
        self.X_ = X
        self.y_mean_ = float(np.mean(y))
        sd = float(np.std(y))
        self.y_scale_ = sd if sd > 0 and math.isfinite(sd) else 1.0
        self.y_std_ = (y - self.y_mean_) / self.y_scale_

    @property
    def params_(self) -> dict:
        """Fitted hyperparameters on their natural scale."""
        p = self._unpack(self.theta_, self.X_.shape[1])
        out = {"lengthscale": np.exp(p["log_ls"]), "outputscale": float(np.exp(p["log_scale"])),
               "noise": float(np.exp(p["log_noise"])), "mean": float(p["mean"])}
        if self.warp:
            out["a"], out["b"] = np.exp(p["log_a"]), np.exp(p["log_b"])
        return out

    def warp_inputs(self, X: np.ndarray) -> np.ndarray:
        x = _squeeze01(np.clip(np.asarray(X, dtype=float), 0.0, 1.0))
        if self.warp:
            p = self.params_
            x = kumaraswamy_warp(x, p["a"], p["b"])
        return x

    def _factorize(self):
        from scipy.linalg import cho_factor, cho_solve

        p = self.params_
        self._ls, self._scale, self._mean = p["lengthscale"], p["outputscale"], p["mean"]
        self._Z = self.warp_inputs(self.X_) / self._ls
        K = self._kern(self._Z, self._Z) + (p["noise"] + 1e-8) * np.eye(len(self._Z))
        jitter = 0.0
        for _ in range(8):
            try:
                self._cho = cho_factor(K + jitter * np.eye(len(K)), lower=True)
                break
            except np.linalg.LinAlgError:
                jitter = max(1e-8, 10 * jitter)
        else:  # pragma: no cover - K is a kernel matrix plus >= 8e-4 noise
            raise np.linalg.LinAlgError("GP covariance is not positive definite")
        self._alpha = cho_solve(self._cho, self.y_std_ - self._mean)

    def _kern(self, A, B):
        d2 = (A * A).sum(1)[:, None] + (B * B).sum(1)[None, :] - 2.0 * A @ B.T
        return self._scale * _matern32(np.sqrt(np.clip(d2, 0.0, None)))

    def predict(self, Xq: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and variance of the latent function at ``Xq`` (m, d), in target units."""
        from scipy.linalg import solve_triangular

        Zq = self.warp_inputs(np.atleast_2d(Xq)) / self._ls
        Kq = self._kern(Zq, self._Z)
        mu = self._mean + Kq @ self._alpha
        v = solve_triangular(self._cho[0], Kq.T, lower=True)
        var = np.clip(self._scale - (v * v).sum(0), 1e-12, None)
        return mu * self.y_scale_ + self.y_mean_, var * self.y_scale_ ** 2

    @property
    def noise(self) -> float:
        """Noise variance in target units."""
        return self.params_["noise"] * self.y_scale_ ** 2


class PowerOutputTransform:
    """HEBO's output transform: ``y / std(y)`` then a power transform (standardising), with HEBO's fallbacks.

    Box-Cox when ``min(y) > 0`` (redone with Yeo-Johnson if the result's std is below 0.5), Yeo-Johnson otherwise; if
    the result's std is still below 0.5, or the transform fails, the identity (``method == "none"``).
    """

    def fit(self, y: np.ndarray) -> PowerOutputTransform:
        from sklearn.preprocessing import PowerTransformer

        y = np.asarray(y, dtype=float).reshape(-1, 1)
        self.method, self._pt, self._scale = "none", None, 1.0
        sd = float(np.std(y))
        if not (sd > 0 and math.isfinite(sd)) or len(y) < 2:
            return self
        methods = ["box-cox", "yeo-johnson"] if float(y.min()) > 0 else ["yeo-johnson"]
        for m in methods:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    pt = PowerTransformer(method=m, standardize=True).fit(y / sd)
                    z = pt.transform(y / sd)
            except (ValueError, FloatingPointError, ArithmeticError):
                continue
            if np.all(np.isfinite(z)) and float(np.std(z)) >= 0.5:
                self.method, self._pt, self._scale = m, pt, sd
                return self
        return self

    def transform(self, y: np.ndarray) -> np.ndarray:
        y = np.asarray(y, dtype=float).reshape(-1, 1)
        if self._pt is None:
            return y.ravel()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return self._pt.transform(y / self._scale).ravel()

    def inverse_transform(self, z: np.ndarray) -> np.ndarray:
        z = np.asarray(z, dtype=float).reshape(-1, 1)
        if self._pt is None:
            return z.ravel()
        return (self._pt.inverse_transform(z) * self._scale).ravel()


# ------------------------------------------------------------------------------------------------------------ MACE
def hebo_kappa(n_obs: int, dim: int, upsilon: float = 0.5, delta: float = 0.01) -> float:
    """HEBO's UCB coefficient after ``n_obs`` observations in ``dim`` dimensions (Srinivas et al.'s schedule)."""
    t = max(1, int(n_obs))
    return math.sqrt(upsilon * 2.0 * ((2.0 + dim / 2.0) * math.log(t) + math.log(3.0 * math.pi ** 2 / (3.0 * delta))))


def mace_objectives(mu: np.ndarray, var: np.ndarray, noise_var: float, tau: float, kappa: float,
                    rng: np.random.Generator, eps: float = 1e-4) -> np.ndarray:
    """HEBO's MACE acquisition: (LCB, -log EI, -log PI) per point, all to be minimised, shape (m, 3).

    ``mu``/``var``: the GP's posterior mean and latent variance; ``noise_var``: its noise variance; ``tau``: the
    posterior mean at the incumbent. The mean is perturbed with N(0, 2 noise_var) draws (one set for LCB, another for
    EI/PI); where ``normed = (tau - eps - mu') / sigma <= -6`` or the exact logs are not finite, the asymptotic
    approximations of log EI and log PI are used.
    """
    from scipy.special import ndtr

    mu = np.asarray(mu, dtype=float).ravel()
    # HEBO floors the predictive variance at float32's eps (GP.predict) and the std again in MACE
    ps = np.sqrt(np.clip(np.asarray(var, dtype=float).ravel(), _F32_EPS, None))
    noise = math.sqrt(2.0) * math.sqrt(max(float(noise_var), 0.0))
    lcb = mu + noise * rng.standard_normal(mu.shape) - kappa * ps
    normed = (tau - eps - mu - noise * rng.standard_normal(mu.shape)) / ps
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        pdf = np.exp(-0.5 * normed ** 2) / math.sqrt(2.0 * math.pi)
        pi = ndtr(normed)
        ei = ps * (pi * normed + pdf)
        log_ei, log_pi = np.log(ei), np.log(pi)
        use_app = ~((normed > -6) & np.isfinite(log_ei) & np.isfinite(log_pi))
        log_ei_app = np.log(ps) - 0.5 * normed ** 2 - np.log(normed ** 2 - 1.0)
        log_pi_app = -0.5 * normed ** 2 - np.log(-normed) - math.log(math.sqrt(2.0 * math.pi))
    out = np.column_stack([lcb, -np.where(use_app, log_ei_app, log_ei), -np.where(use_app, log_pi_app, log_pi)])
    return np.nan_to_num(out, nan=1e30, posinf=1e30, neginf=-1e30)


# --------------------------------------------------------------------------------------------------------- NSGA-II
def non_dominated_rank(F: np.ndarray, n_stop: int | None = None) -> np.ndarray:
    """Pareto rank of each row of ``F`` (n, m), minimisation: 0 for the non-dominated front, 1 for the front that is
    non-dominated once front 0 is removed, and so on (Deb et al. 2002's fast non-dominated sort, vectorised).

    ``n_stop``: stop once at least that many rows are ranked (the rest get rank ``n``), as NSGA-II's survival needs.
    """
    F = np.asarray(F, dtype=float)
    n = len(F)
    le = np.ones((n, n), dtype=bool)
    lt = np.zeros((n, n), dtype=bool)
    for j in range(F.shape[1]):  # one objective at a time: much faster than reducing an (n, n, m) array
        a, b = F[:, j, None], F[None, :, j]
        le &= a <= b
        lt |= a < b
    dom = le & lt  # dom[i, j]: i dominates j
    count = dom.sum(0).astype(np.int64)
    rank = np.full(n, -1, dtype=np.int64)
    front = np.flatnonzero(count == 0)
    r, n_ranked = 0, 0
    while front.size:
        rank[front] = r
        n_ranked += front.size
        if n_stop is not None and n_ranked >= n_stop:
            rank[rank < 0] = n
            break
        count = count - dom[front].sum(0)
        count[rank >= 0] = -1
        front = np.flatnonzero(count == 0)
        r += 1
    return rank


def crowding_distance(F: np.ndarray) -> np.ndarray:
    """NSGA-II crowding distance of the rows of one front ``F`` (n, m): the mean over objectives of the normalised
    gap between each point's neighbours; boundary points get ``inf``, repeated points 0 (as pymoo)."""
    F = np.asarray(F, dtype=float)
    n, m = F.shape
    if n <= 2:
        return np.full(n, np.inf)
    _, first = np.unique(F, axis=0, return_index=True)
    uniq = np.sort(first)
    G = F[uniq]
    k = len(G)
    cd_u = np.zeros(k)
    if k <= 2:
        cd_u[:] = np.inf
    else:
        for j in range(m):
            order = np.argsort(G[:, j], kind="mergesort")
            v = G[order, j]
            span = v[-1] - v[0]
            gap = np.empty(k)
            gap[0] = gap[-1] = np.inf
            gap[1:-1] = (v[2:] - v[:-2]) / span if span > 0 else 0.0
            cd_u[order] += gap
        cd_u /= m
    cd = np.zeros(n)
    cd[uniq] = cd_u
    return cd


def sbx_crossover(P1: np.ndarray, P2: np.ndarray, rng: np.random.Generator, eta: float = 15.0, prob: float = 0.9,
                  prob_var: float = 0.5, prob_exch: float = 0.5,
                  prob_bin: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """Simulated binary crossover (Deb & Agrawal 1995) with bounds [0, 1], pymoo's variant and defaults.

    Per mating: crossover with probability ``prob``; per variable with ``prob_var`` (not where the parents coincide);
    the two children's values are swapped per variable with probability ``prob_bin`` in matings where exchange
    happens (probability ``prob_exch``).
    """
    m, d = P1.shape
    do = rng.random(m) < prob
    pbin = np.where(rng.random(m) > prob_exch, 0.0, prob_bin)
    cross = (rng.random((m, d)) < prob_var) & (np.abs(P1 - P2) > 1e-14) & do[:, None]
    y1, y2 = np.minimum(P1, P2), np.maximum(P1, P2)
    delta = np.where(cross, y2 - y1, 1.0)
    rand = rng.random((m, d))

    def betaq(beta):
        alpha = 2.0 - beta ** (-(eta + 1.0))
        with np.errstate(invalid="ignore", divide="ignore"):
            lo = (rand * alpha) ** (1.0 / (eta + 1.0))
            hi = (1.0 / (2.0 - rand * alpha)) ** (1.0 / (eta + 1.0))
        return np.where(rand <= 1.0 / alpha, lo, hi)

    c1 = 0.5 * ((y1 + y2) - betaq(1.0 + 2.0 * y1 / delta) * delta)
    c2 = 0.5 * ((y1 + y2) + betaq(1.0 + 2.0 * (1.0 - y2) / delta) * delta)
    swap = rng.random((m, d)) < pbin[:, None]
    c1, c2 = np.where(swap, c2, c1), np.where(swap, c1, c2)
    Q1 = np.clip(np.where(cross, c1, P1), 0.0, 1.0)
    Q2 = np.clip(np.where(cross, c2, P2), 0.0, 1.0)
    return Q1, Q2


def polynomial_mutation(X: np.ndarray, rng: np.random.Generator, eta: float = 20.0, prob: float = 0.9,
                        prob_var: float | None = None) -> np.ndarray:
    """Polynomial mutation (Deb & Goyal 1996) with bounds [0, 1], pymoo's variant: each individual is mutated with
    probability ``prob``, each of its variables with ``prob_var`` (default min(0.5, 1/d))."""
    n, d = X.shape
    pv = min(0.5, 1.0 / d) if prob_var is None else prob_var
    mut = (rng.random((n, d)) < pv) & (rng.random(n) <= prob)[:, None]
    r = rng.random((n, d))
    pw = 1.0 / (eta + 1.0)
    with np.errstate(invalid="ignore"):
        d1 = (2.0 * r + (1.0 - 2.0 * r) * (1.0 - X) ** (eta + 1.0)) ** pw - 1.0
        d2 = 1.0 - (2.0 * (1.0 - r) + 2.0 * (r - 0.5) * X ** (eta + 1.0)) ** pw
    Y = np.clip(X + np.where(r <= 0.5, d1, d2), 0.0, 1.0)
    return np.where(mut, Y, X)


def _survive(F: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of the ``n`` survivors: whole fronts by rank, the splitting front by crowding distance (descending,
    ties broken at random)."""
    rank = non_dominated_rank(F, n_stop=n)
    keep: list[int] = []
    for r in range(int(rank.max()) + 1):
        front = np.flatnonzero(rank == r)
        if len(keep) + len(front) <= n:
            keep.extend(front.tolist())
        else:
            cd = crowding_distance(F[front])
            perm = rng.permutation(len(front))
            order = perm[np.argsort(-cd[perm], kind="stable")]
            keep.extend(front[order[:n - len(keep)]].tolist())
        if len(keep) >= n:
            break
    return np.array(keep, dtype=np.int64)


def nsga2(func, init: np.ndarray, rng: np.random.Generator, n_gens: int = 100, max_fill_iter: int = 100):
    """NSGA-II (Deb et al. 2002) on [0, 1]^d minimising the objectives ``func(X) -> F`` (n, m).

    ``init`` is the initial population (its size is the population size); ``n_gens`` counts it as the first
    generation (pymoo's convention). Offspring: parents by random permutation, :func:`sbx_crossover`,
    :func:`polynomial_mutation`; offspring equal to a population member or to each other are discarded and more
    are bred (at most ``max_fill_iter`` rounds). Returns the final population, its objectives and Pareto ranks.
    """
    X = np.asarray(init, dtype=float).copy()
    n = len(X)
    F = func(X)
    for _ in range(max(0, n_gens - 1)):
        seen = {row.tobytes() for row in X}
        kids: list[np.ndarray] = []
        for _ in range(max_fill_iter):
            need = n - len(kids)
            n_mat = math.ceil(need / 2)
            idx = np.concatenate([rng.permutation(n) for _ in range(math.ceil(2 * n_mat / n))])[:2 * n_mat]
            idx = idx.reshape(n_mat, 2)
            c1, c2 = sbx_crossover(X[idx[:, 0]], X[idx[:, 1]], rng)
            off = polynomial_mutation(np.concatenate([c1, c2]), rng)
            for row in off:
                key = row.tobytes()
                if key not in seen:
                    seen.add(key)
                    kids.append(row)
                    if len(kids) == n:
                        break
            if len(kids) >= n:
                break
        if not kids:
            break
        Q = np.array(kids)
        FQ = func(Q)
        XA, FA = np.concatenate([X, Q]), np.concatenate([F, FQ])
        keep = _survive(FA, n, rng)
        X, F = XA[keep], FA[keep]
    return X, F, non_dominated_rank(F)


# ---------------------------------------------------------------------------------------------------------- method
class HEBO(BlackBox):
    """HEBO (Cowen-Rivers et al. 2022): power-transformed outputs, a GP with Kumaraswamy input warping, and the MACE
    multi-objective acquisition (LCB, EI, PI) optimised by NSGA-II; one point of the Pareto front per suggestion.

    See the module docstring for what follows HEBO exactly and every deviation.

    Args:
        n_evals: number of evaluations (full trainings).
        n_init: size of the Sobol initial design (default d + 1, HEBO's ``rand_sample``; at least 2).
        pop_size: NSGA-II population (HEBO: 100).
        n_gens: NSGA-II generations, the initial population included (HEBO: 100).
        warp: Kumaraswamy input warping in the GP (the paper's HEBO; the package's default ``gp`` model has none).
        gp_max_iter: L-BFGS-B iterations per GP fit start.
        score, alpha: as :class:`~lcsim.optimizers.blackbox.BlackBox`.
    """

    #: a GP fit and 10^4 acquisition evaluations per suggestion (seconds per run): not in the CLI's quick comparison
    slow = True
    name = "hebo"

    def __init__(self, problem: Problem, seed, n_evals: int = 50, n_init: int | None = None, pop_size: int = 100,
                 n_gens: int = 100, warp: bool = True, gp_max_iter: int = 100, score: str = "objective",
                 alpha: float = 0.1):
        super().__init__(problem, seed, n_evals, score, alpha)
        import torch

        self.free = self.codec.free
        self.n_free = int(self.free.sum())
        self.n_init = (self.n_free + 1 if n_init is None else check_int(self.name, "n_init", n_init, 2))
        self.pop_size = check_int(self.name, "pop_size", pop_size, 4)
        self.n_gens = check_int(self.name, "n_gens", n_gens, 1)
        if not isinstance(warp, (bool, np.bool_)):
            raise InvalidParameterError(f"The 'warp' parameter of {self.name} must be a bool. Got {warp!r}.")
        self.warp = bool(warp)
        self.gp_max_iter = check_int(self.name, "gp_max_iter", gp_max_iter, 1)
        self._sobol = torch.quasirandom.SobolEngine(max(self.n_free, 1), scramble=True,
                                                    seed=int(self.rng.integers(2**31 - 1)))
        self.X: list[np.ndarray] = []  # free coordinates of the served configurations
        self.y: list[float] = []
        self.last_info: dict = {}

    # -- helpers
    def _full(self, xf: np.ndarray) -> np.ndarray:
        x = np.zeros(self.dim)
        x[self.free] = np.clip(xf, 0.0, 1.0)
        return x

    def _sobol_point(self) -> np.ndarray:
        return self._sobol.draw(1).numpy().astype(float)[0][: self.n_free]

    def _snap(self, Xf: np.ndarray) -> np.ndarray:
        """Free coordinates of the configurations the points decode to (integers/categoricals rounded)."""
        return self.codec.encode([self.codec.decode(self._full(x)) for x in Xf])[:, self.free]

    def _suggest(self):
        if self.n_free == 0:
            x = np.zeros(self.dim)
            return self.codec.decode(x), x
        if len(self.y) < self.n_init:
            xf = self._sobol_point()
        else:
            try:
                xf = self._model_suggestion()
            except (np.linalg.LinAlgError, ValueError, RuntimeError) as exc:  # pragma: no cover - defensive
                self.last_info = {"fallback": f"{type(exc).__name__}: {exc}"}
                xf = self._sobol_point()
        x = self._full(xf)
        return self.codec.decode(x), x

    def _model_suggestion(self) -> np.ndarray:
        X, y = np.array(self.X), np.array(self.y)
        tr = PowerOutputTransform().fit(y)
        z = tr.transform(y)
        gp = WarpedGP(warp=self.warp, max_iter=self.gp_max_iter).fit(X, z)
        best = X[int(np.argmin(y))]
        tau = float(gp.predict(best[None])[0][0])
        kappa = hebo_kappa(len(y), self.n_free)
        noise = gp.noise

        def acq(P):
            mu, var = gp.predict(P)
            return mace_objectives(mu, var, noise, tau, kappa, self.rng)

        init = np.vstack([best[None], self.rng.random((self.pop_size - 1, self.n_free))])
        P, F, rank = nsga2(acq, init, self.rng, n_gens=self.n_gens)
        front = P[rank == 0]
        # drop duplicates and configurations already observed (compared after decoding, as HEBO on its table)
        snapped = self._snap(front)
        seen = {np.round(r, 12).tobytes() for r in self._snap(X)}
        keep, keys = [], set()
        for i, r in enumerate(snapped):
            k = np.round(r, 12).tobytes()
            if k not in seen and k not in keys:
                keys.add(k)
                keep.append(i)
        self.last_info = {"front": len(front), "candidates": len(keep), "kappa": kappa, "tau": tau,
                          "transform": tr.method, "gp": gp.params_}
        if not keep:
            return self._sobol_point()
        return front[keep[int(self.rng.integers(len(keep)))]]

    def _observe(self, handle, x, loss):
        if not math.isfinite(loss):
            return
        self.X.append(np.asarray(x, dtype=float)[self.free])
        self.y.append(float(loss))

    @staticmethod
    def contract_params() -> dict:
        """Small parameters for the optimizer contract suite."""
        return {"n_evals": 6, "pop_size": 16, "n_gens": 5, "gp_max_iter": 30}

    def params(self) -> dict:
        return {**super().params(), "n_init": self.n_init, "pop_size": self.pop_size, "n_gens": self.n_gens,
                "warp": self.warp, "gp_max_iter": self.gp_max_iter}
