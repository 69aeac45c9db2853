"""BOCA: multi-fidelity GP bandit with continuous approximations (Kandasamy et al. 2017), as Dragonfly runs it.

The DPL paper ran BOCA through Dragonfly 0.1.6 (appendix C) with the configuration as a discrete Euclidean domain
(the candidate pool), the epoch as an integer fidelity in ``[1, max_budget]``, the target fidelity ``z* = max_budget``
and a cost equal to the epochs paid. lcsim reimplements the algorithm; each step names its source.

One BOCA step (``gpb_acquisitions.boca`` in Dragonfly; Algorithm 1 of the paper):

1. **Configuration**: ``x_t = argmax_x mu(x, z*) + beta_t^(1/2) sigma(x, z*)`` -- GP-UCB at the target fidelity with
   ``beta_t^(1/2) = sqrt(0.5 d log(2 d t + 1))`` (Dragonfly's ``_get_ucb_beta_th``; ``d`` = domain dimension, ``t``
   the step).
2. **Fidelity**: among the candidate fidelities cheaper than ``z*`` (every epoch from ``min_epoch`` to
   ``max_epoch - 1`` above what the trial already paid), keep those whose posterior std at ``x_t`` (divided by the
   kernel scale's square root) exceeds ``coeff * y_range * sqrt(cost_ratio(z)) * gap(z)``; choose the cheapest; use
   ``z*`` if none qualifies or the cheapest costs more than ``max_low_fidel_cost_ratio = 0.9`` of ``z*``. The
   information gap is Dragonfly's distance ``|z - z*|`` in the fidelity's own units, epochs here (Dragonfly 0.1.7
   does not normalize an integer fidelity given through ``load_config``; logged in the cross-check; the paper's
   ``xi(z) = sqrt(1 - kappa_Z(z, z*)^2)`` is its kernel analogue); ``cost_ratio(z) = z / max_epoch``; ``y_range`` is
   the range of the observed values.
3. **Threshold adaptation** (Dragonfly ``_main_loop_pre_boca``): before each step, if at most 25 % of the last 20
   queries were at ``z*`` the coefficient (initially 0.01) is multiplied by 1.1, if at least 50 % divided by 1.1.

Model: an exact GP (scikit-learn ``GaussianProcessRegressor``) on ``(x, z)`` with the product kernel
``s^2 * SE_X(x, x') * SE_Z(z, z')`` (an ARD squared-exponential over the configuration dimensions and the normalized
fidelity) plus white noise, hyperparameters by marginal likelihood (Dragonfly's ``gpb_hp_tune_criterion='ml'``),
re-tuned every ``build_new_model_every = 17`` observations and otherwise refitted with the last hyperparameters.
Each finished job adds one point ``(x, z, y)`` (``y`` = the value at the job's epoch; BOCA does not read curves).

Initialisation (Dragonfly ``exd_core``): random configurations at random fidelities (the target fidelity with
probability 0.25) until the initial capital ``clip(5 d, max(5, 0.025 B), max(5, 0.075 B))`` epochs is spent, ``B``
being the run's total budget in epochs (``total_budget``, default 20 full evaluations as in the DPL paper).

Simplifications (documented deviations): the acquisition is maximised over the candidate pool (tabular tasks, as the
DPL wrapper did) or over ``n_acq_samples`` random configurations plus the evaluated ones (other tasks) instead of
Dragonfly's acquisition optimiser; only UCB is used (Dragonfly mixes acquisitions adaptively); pending jobs are
excluded from the acquisition instead of hallucinated; a configuration already paid to ``max_epoch`` and fidelities
at or below a trial's paid epoch are not proposed again (they cost nothing and could stall the simulated clock).
Querying a configuration again at a higher fidelity continues its trial (freeze-thaw), as the DPL wrapper charged.
Diverged runs enter the GP with the served (worst) value.
"""
from __future__ import annotations

import warnings

import numpy as np

from ..errors import check_float, check_int
from ..seeding import int_seed
from ..space import SpaceCodec
from ._base import Job, Observation, Optimizer, Problem

__all__ = ["BOCA", "boca_choose_fidelity", "ucb_beta_th"]


def ucb_beta_th(dim: int, t: int) -> float:
    """Dragonfly's ``beta_t^(1/2) = sqrt(0.5 * dim * log(2 * dim * t + 1))``."""
    return float(np.sqrt(0.5 * dim * np.log(2 * dim * t + 1)))


def boca_choose_fidelity(fidels: np.ndarray, target: int, stds: np.ndarray, cost_ratios: np.ndarray,
                         gaps: np.ndarray, coeff: float, y_range: float,
                         max_low_fidel_cost_ratio: float = 0.9) -> int:
    """BOCA's fidelity rule (Dragonfly ``gpb_acquisitions.boca``).

    Args:
        fidels: candidate fidelities cheaper than ``target``, shape (m,).
        target: the target fidelity ``z*``.
        stds: posterior std at ``(x_t, z)`` divided by the kernel scale's square root, shape (m,).
        cost_ratios: ``cost(z) / cost(z*)``, shape (m,), all < 1.
        gaps: information gaps of the candidates, shape (m,).
        coeff: threshold coefficient; y_range: range of observed values.
        max_low_fidel_cost_ratio: above this cost ratio, ``z*`` is used instead.

    Returns:
        The chosen fidelity: the cheapest candidate with ``std > coeff * y_range * sqrt(cost_ratio) * gap``, or
        ``target`` when none qualifies or the cheapest qualifying one costs more than the cap.
    """
    fidels = np.asarray(fidels)
    if len(fidels) == 0:
        return int(target)
    thresh = coeff * y_range * np.sqrt(cost_ratios) * gaps
    ok = np.flatnonzero(np.asarray(stds) > thresh)
    if len(ok) == 0:
        return int(target)
    best = ok[np.argmin(np.sqrt(np.asarray(cost_ratios)[ok]))]
    if cost_ratios[best] > max_low_fidel_cost_ratio:
        return int(target)
    return int(fidels[best])


class BOCA(Optimizer):
    """BOCA with Dragonfly's defaults (see the module docstring).

    Args:
        problem: the task's problem (fidelities ``min_epoch``..``max_epoch``, target ``max_epoch``).
        seed: seed of every random choice (and of the GP optimiser's restarts).
        total_budget: the run's budget in epochs, used only to size the initial design (default
            ``20 * max_epoch``).
        thresh_coeff_init: initial threshold coefficient (0.01).
        thresh_multiplier: adaptation factor of the coefficient (1.1).
        window: window of queries for the adaptation (20).
        target_frac_min, target_frac_max: band of the share of target-fidelity queries (0.25, 0.5).
        max_low_fidel_cost_ratio: cost-ratio cap of a lower fidelity (0.9).
        init_target_prob: probability that an initial query uses the target fidelity (0.25).
        build_new_model_every: observations between hyperparameter re-tunings (17).
        n_acq_samples: random configurations scored per step on non-tabular tasks (1000).
    """

    name = "boca"
    proposes_configs = True

    def __init__(self, problem: Problem, seed, total_budget: float | None = None, thresh_coeff_init: float = 0.01,
                 thresh_multiplier: float = 1.1, window: int = 20, target_frac_min: float = 0.25,
                 target_frac_max: float = 0.5, max_low_fidel_cost_ratio: float = 0.9,
                 init_target_prob: float = 0.25, build_new_model_every: int = 17, n_acq_samples: int = 1000):
        super().__init__(problem, seed)
        self._seed_int = int_seed(seed)
        if total_budget is None:
            total_budget = 20.0 * problem.max_epoch
        self.total_budget = check_float("BOCA", "total_budget", total_budget, 0.0, None, closed="neither")
        self.thresh_coeff = check_float("BOCA", "thresh_coeff_init", thresh_coeff_init, 0.0, None, closed="neither")
        self.thresh_coeff_init = self.thresh_coeff
        self.thresh_multiplier = check_float("BOCA", "thresh_multiplier", thresh_multiplier, 1.0, None)
        self.window = check_int("BOCA", "window", window, 1)
        self.target_frac_min = check_float("BOCA", "target_frac_min", target_frac_min, 0.0, 1.0)
        self.target_frac_max = check_float("BOCA", "target_frac_max", target_frac_max, self.target_frac_min, 1.0)
        self.max_low_fidel_cost_ratio = check_float("BOCA", "max_low_fidel_cost_ratio", max_low_fidel_cost_ratio,
                                                    0.0, 1.0)
        self.init_target_prob = check_float("BOCA", "init_target_prob", init_target_prob, 0.0, 1.0)
        self.build_new_model_every = check_int("BOCA", "build_new_model_every", build_new_model_every, 1)
        self.n_acq_samples = check_int("BOCA", "n_acq_samples", n_acq_samples, 1)
        self.codec = SpaceCodec(problem.space, "bins")
        self.d = self.codec.d
        self.init_capital = float(np.clip(5 * self.d, max(5.0, 0.025 * self.total_budget),
                                          max(5.0, 0.075 * self.total_budget)))
        self._cand = self.codec.encode(problem.candidates) if problem.is_tabular else None
        self._X: list[np.ndarray] = []          # GP inputs (x, z_norm)
        self._y: list[float] = []               # GP targets (maximised: -loss for minimisation)
        self._spent = 0.0                       # epochs handed out (initial-capital accounting)
        self._at_target: list[bool] = []        # per query: was it at z*
        self._trial_of: dict = {}               # candidate row or config key -> trial id
        self._vec_of: dict[int, np.ndarray] = {}  # trial id -> x vector
        self._gp = None
        self._kernel = None
        self._n_since_tune = 0
        self.n_model_steps = 0
        self.n_low_fidelity = 0

    def params(self) -> dict:
        return {"total_budget": self.total_budget, "thresh_coeff_init": self.thresh_coeff_init,
                "thresh_multiplier": self.thresh_multiplier, "window": self.window,
                "target_frac_min": self.target_frac_min, "target_frac_max": self.target_frac_max,
                "max_low_fidel_cost_ratio": self.max_low_fidel_cost_ratio, "init_target_prob": self.init_target_prob,
                "build_new_model_every": self.build_new_model_every, "n_acq_samples": self.n_acq_samples}

    # ------------------------------------------------------------------ helpers
    def _z(self, epoch) -> np.ndarray:
        lo, hi = self.problem.min_epoch, self.problem.max_epoch
        return (np.asarray(epoch, dtype=float) - lo) / max(hi - lo, 1)

    def _job(self, key, x: np.ndarray, epoch: int, config_id=None, config=None, info=None) -> Job:
        tid = self._trial_of.get(key)
        info = dict(info or {})
        info["x"] = x
        if tid is None:
            tid = self.new_trial_id()
            self._trial_of[key] = tid
            self._vec_of[tid] = x
            job = Job(tid, epoch, config_id=config_id, config=config, info=info)
        else:
            job = Job(tid, epoch, info=info)
        self._spent += max(epoch - self.paid.get(tid, 0), 0)
        self._at_target.append(epoch == self.problem.max_epoch)
        return job

    def _random_query(self) -> Job | None:
        """Initial design: a random unused configuration at a random fidelity (``z*`` with prob. 0.25)."""
        lo, hi = self.problem.min_epoch, self.problem.max_epoch
        epoch = hi if self.rng.random() < self.init_target_prob else int(self.rng.integers(lo, hi + 1))
        if self._cand is not None:
            free = np.setdiff1d(np.arange(len(self._cand)), np.fromiter(self._trial_of, dtype=int,
                                                                         count=len(self._trial_of)))
            if len(free) == 0:
                return None
            cid = int(self.rng.choice(free))
            return self._job(cid, self._cand[cid], epoch, config_id=cid, info={"init": True})
        cfg = self.sample_config()
        x = self.codec.encode_one(cfg)
        return self._job(("cfg", self.new_key()), x, epoch, config=cfg, info={"init": True})

    def _random_vectors(self, n: int) -> np.ndarray:
        """``n`` uniform points of the unit cube, categorical dimensions snapped to their codes ``k / n_k``."""
        v = self.rng.uniform(0.0, 1.0, size=(n, self.d))
        nc = self.codec.n_choices
        for j in np.flatnonzero(nc > 0):
            v[:, j] = np.floor(v[:, j] * nc[j]) / nc[j]
        return v

    def new_key(self) -> int:
        """A fresh key for a configuration proposed on a non-tabular task."""
        return len(self._trial_of)

    # ------------------------------------------------------------------ ask
    def _ask(self) -> Job | None:
        if self._spent < self.init_capital or self._gp is None:
            return self._random_query()
        self._adapt_threshold()
        # acquisition pool: (key, x, paid epochs) of every admissible configuration
        hi = self.problem.max_epoch
        if self._cand is not None:
            keys = np.arange(len(self._cand))
            xs = self._cand
            paid = np.array([self.paid.get(self._trial_of.get(int(k), -1), 0) for k in keys])
            busy = np.array([self._trial_of.get(int(k), -1) in self.running for k in keys])
            ok = (paid < hi) & ~busy
            keys, xs, paid = keys[ok], xs[ok], paid[ok]
            keys = [int(k) for k in keys]
            cfgs = None
        else:
            new = self._random_vectors(self.n_acq_samples)
            cfgs = list(range(len(new)))
            old = [(k, t) for k, t in self._trial_of.items() if self.paid.get(t, 0) < hi and t not in self.running]
            keys = [("new", i) for i in range(len(cfgs))] + [k for k, _ in old]
            xs = np.vstack([new] + [self._vec_of[t][None, :] for _, t in old])
            paid = np.array([0] * len(cfgs) + [self.paid.get(t, 0) for _, t in old])
        if len(keys) == 0:
            return None
        self.n_model_steps += 1
        t = len(self._y) + 1
        beta = ucb_beta_th(max(self.d, 1), t)
        mu, sd = self._predict(xs, np.full(len(xs), hi))
        i = int(np.argmax(mu + beta * sd))
        x = xs[i]
        # fidelity rule
        lo = self.problem.min_epoch
        fidels = np.arange(max(lo, int(paid[i]) + 1), hi)
        if len(fidels):
            _, s = self._predict(np.repeat(x[None, :], len(fidels), axis=0), fidels)
            scale = float(np.sqrt(self._scale()))
            cost = fidels / hi
            gaps = np.abs(fidels - hi).astype(float)  # epochs, as Dragonfly 0.1.7 (see the module docstring)
            y_range = float(np.ptp(self._y)) if len(self._y) > 1 else 1.0
            epoch = boca_choose_fidelity(fidels, hi, s / scale, cost, gaps, self.thresh_coeff, y_range,
                                         self.max_low_fidel_cost_ratio)
        else:
            epoch = hi
        if epoch < hi:
            self.n_low_fidelity += 1
        key = keys[i]
        if cfgs is not None and isinstance(key, tuple) and key[0] == "new":
            cfg = self.codec.decode(x)
            return self._job(("cfg", self.new_key()), self.codec.encode_one(cfg), epoch, config=cfg)
        if self._cand is not None and key not in self._trial_of:
            return self._job(key, x, epoch, config_id=key)
        return self._job(key, x, epoch)

    def _adapt_threshold(self) -> None:
        last = self._at_target[-self.window:]
        frac = sum(last) / float(self.window)
        if frac <= self.target_frac_min:
            self.thresh_coeff *= self.thresh_multiplier
        elif frac >= self.target_frac_max:
            self.thresh_coeff /= self.thresh_multiplier

    # ------------------------------------------------------------------ model
    def _tell(self, job: Job, obs: Observation) -> None:
        x = job.info.get("x", self._vec_of.get(job.trial_id))
        if self._cand is not None and obs.config_id is not None:
            x = self._cand[int(obs.config_id)]
            self._vec_of[job.trial_id] = x
        y = -obs.last if self.problem.minimize else obs.last
        self._X.append(np.concatenate([x, [float(self._z(job.epoch))]]))
        self._y.append(float(y))
        self._fit()

    def _fit(self) -> None:
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.gaussian_process import GaussianProcessRegressor
        from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel

        if len(self._y) < 2:
            return
        X, y = np.array(self._X), np.array(self._y)
        self._n_since_tune += 1
        tune = self._kernel is None or self._n_since_tune >= self.build_new_model_every
        if tune:
            kernel = (ConstantKernel(1.0, (1e-2, 1e2)) * RBF(np.full(self.d + 1, 0.5), (1e-2, 1e1))
                      + WhiteKernel(1e-3, (1e-6, 1e0)))
            if self._kernel is not None:
                kernel = self._kernel
            gp = GaussianProcessRegressor(kernel, normalize_y=True, n_restarts_optimizer=1, optimizer=_lbfgs,
                                          random_state=np.random.RandomState(self._seed_int % (2**32 - 1)))
            self._n_since_tune = 0
        else:
            gp = GaussianProcessRegressor(self._kernel, normalize_y=True, optimizer=None)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            warnings.simplefilter("ignore", RuntimeWarning)
            gp.fit(X, y)
        self._gp = gp
        self._kernel = gp.kernel_

    def _scale(self) -> float:
        """Signal variance ``s^2`` of the fitted kernel, on the GP's (normalized) output scale."""
        return float(self._gp.kernel_.k1.k1.constant_value)

    def _predict(self, xs: np.ndarray, epochs) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and std (normalized-output units, std excluding the white noise) at ``(xs, epochs)``."""
        Z = np.column_stack([xs, self._z(epochs)])
        gp = self._gp
        K_trans = gp.kernel_.k1(Z, gp.X_train_)
        mean = K_trans @ gp.alpha_
        v = _solve_lower(gp.L_, K_trans.T)
        var = gp.kernel_.k1.diag(Z) - np.einsum("ij,ij->j", v, v)
        return mean, np.sqrt(np.clip(var, 1e-12, None))


def _lbfgs(obj_func, initial_theta, bounds):
    """Marginal-likelihood maximisation for scikit-learn's GP: L-BFGS-B capped at 100 iterations."""
    from scipy.optimize import minimize

    res = minimize(obj_func, initial_theta, method="L-BFGS-B", jac=True, bounds=bounds, options={"maxiter": 100})
    return res.x, res.fun


def _solve_lower(L: np.ndarray, B: np.ndarray) -> np.ndarray:
    from scipy.linalg import solve_triangular

    return solve_triangular(L, B, lower=True, check_finite=False)
