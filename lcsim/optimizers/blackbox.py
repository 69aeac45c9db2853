"""Full-fidelity black-box baselines behind the ask/tell interface: TPE (hyperopt), CMA-ES (cmaes), PSO, TuRBO-1.

One adapter, :class:`BlackBox`, turns a "suggest a configuration / observe its value" method into an lcsim
:class:`~lcsim.optimizers._base.Optimizer` whose every job trains a new trial to ``problem.max_epoch`` (so the methods
run on the replay engine and live alike), stopping after ``n_evals`` evaluations (FGHPO section 4: 50). Values are
turned into a loss (``value`` if the objective is minimized, ``-value`` otherwise) before the method sees them.

Vector methods (CMA-ES, PSO, TuRBO) work in the unit hypercube of the ``"unit"`` :class:`~lcsim.space.SpaceCodec`
(``self.codec``), which also maps a point back to a configuration (log scales honoured, integers rounded,
categoricals to the nearest code ``k / (n - 1)``). On tabular tasks the engine serves the nearest unused candidate,
and the vector methods learn from the point actually served (its encoding), not the one proposed.

Which parts are library code: TPE is hyperopt's ``tpe.suggest`` driven through its ``Domain``/``Trials`` API; CMA-ES is
``cmaes.CMA``; PSO and TuRBO-1 are written here (PSO: pyswarms has no ask/tell interface; TuRBO: the reference code
pins an old stack), with a scikit-learn Gaussian process.
"""
from __future__ import annotations

import math
import warnings

import numpy as np
from ConfigSpace import CategoricalHyperparameter, ConfigurationSpace, Constant, OrdinalHyperparameter

from ..errors import check_choice, check_float, check_int
from ._base import Job, Observation, Optimizer, Problem
from .scores import AGN_METRICS, OBJECTIVES, agn_objective, check_agn_metrics

__all__ = ["BlackBox", "TPE", "CMAES", "PSO", "TuRBO", "hyperopt_space"]


def hyperopt_space(space: ConfigurationSpace) -> dict:
    """A hyperopt search space equivalent to a ConfigSpace space (uniform/loguniform, quantized for integers)."""
    from hyperopt import hp as H

    out = {}
    for p in space.values():
        n = p.name
        if isinstance(p, Constant):
            out[n] = p.value
        elif isinstance(p, CategoricalHyperparameter):
            out[n] = H.choice(n, list(p.choices))
        elif isinstance(p, OrdinalHyperparameter):
            out[n] = H.choice(n, list(p.sequence))
        else:
            lo, hi = float(p.lower), float(p.upper)
            is_int = "Integer" in type(p).__name__
            if getattr(p, "log", False):
                out[n] = (H.qloguniform(n, math.log(lo - 0.5 if lo > 0.5 else lo), math.log(hi + 0.5), 1) if is_int
                          else H.loguniform(n, math.log(lo), math.log(hi)))
            else:
                out[n] = H.quniform(n, lo - 0.5, hi + 0.5, 1) if is_int else H.uniform(n, lo, hi)
    return out


class BlackBox(Optimizer):
    """Adapter from a suggest/observe method to lcsim's ask/tell (full-fidelity jobs).

    Subclasses implement ``_suggest() -> (config dict, handle)`` and ``_observe(handle, x_served, loss)``; ``x_served``
    is the unit-cube encoding of the configuration actually trained (shape (n_hp,), ``self.codec``).

    Args:
        problem: the task's :class:`Problem`.
        seed: the method's seed.
        n_evals: number of full evaluations (FGHPO section 4: 50).
        score: what the method minimizes: ``"objective"`` (the served objective, default) or one of the AGN paper's
            search objectives (eq. 6) ``"val"``, ``"agn_train"``, ``"agn_val"`` computed from the observation's
            metrics by :func:`lcsim.optimizers.scores.agn_objective`.
        alpha: the weight of AGN in eq. 6.
        agn_metric: the recorded column read as AGN(theta_T) by the AGN scores
            (:data:`lcsim.optimizers.scores.AGN_METRICS`: ``"agn_end_sum"``, eq. 5 at the end-of-epoch weights,
            default; ``"agn_sum"``, accumulated during the training passes).
    """

    name = "blackbox"
    proposes_configs = True

    def __init__(self, problem: Problem, seed, n_evals: int = 50, score: str = "objective", alpha: float = 0.1,
                 agn_metric: str = "agn_end_sum"):
        super().__init__(problem, seed)
        self.n_evals = check_int(self.name, "n_evals", n_evals, 1)
        self.score = check_choice(self.name, "score", score, ["objective", *OBJECTIVES])
        self.alpha = check_float(self.name, "alpha", alpha, 0.0, None)
        self.agn_metric = check_choice(self.name, "agn_metric", agn_metric, AGN_METRICS)
        if self.score != "objective":
            check_agn_metrics(problem.metric_names, self.score, self.agn_metric)
        self.codec = problem.codec
        self.dim = self.codec.d
        self._n_asked = 0
        self.results: list[tuple[dict, float]] = []  # (served config, loss), in tell order

    def _ask(self) -> Job | None:
        if self._n_asked >= self.n_evals:
            return None
        cfg, handle = self._suggest()
        self._n_asked += 1
        tid = self.new_trial_id()
        return Job(tid, self.problem.max_epoch, config=cfg, info={"handle": handle, "config": cfg})

    def _tell(self, job: Job, observation: Observation) -> None:
        if self.score == "objective":
            loss = observation.last if self.problem.minimize else -observation.last
        else:
            row = dict(zip(self.problem.metric_names, np.asarray(observation.metrics)[-1]))
            loss = agn_objective(row, self.score, self.alpha, agn_metric=self.agn_metric)
            if not math.isfinite(loss):  # a diverged run: worse than anything seen
                seen = [v for _, v in self.results if math.isfinite(v)]
                loss = (max(seen) + abs(max(seen)) + 1.0) if seen else 1e6
        cfg = job.info["config"]
        if self.problem.is_tabular and observation.config_id is not None:
            row = self.problem.candidates.iloc[int(observation.config_id)]
            cfg = {k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()}
        x = self.codec.encode_one(cfg)
        self.results.append((cfg, float(loss)))
        self._observe(job.info["handle"], x, float(loss))

    @staticmethod
    def contract_params() -> dict:
        """Small parameters for the optimizer contract suite."""
        return {"n_evals": 6}

    def _suggest(self):  # pragma: no cover - abstract
        raise NotImplementedError

    def _observe(self, handle, x: np.ndarray, loss: float) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def params(self) -> dict:
        return {"n_evals": self.n_evals, "score": self.score, "alpha": self.alpha, "agn_metric": self.agn_metric}


class TPE(BlackBox):
    """Tree-structured Parzen estimator (Bergstra et al. 2011) through hyperopt's ``tpe.suggest`` with its defaults
    (20 random start-up trials), driven by hand through ``Domain``/``Trials`` so that it can ask and tell."""

    name = "tpe"

    def __init__(self, problem: Problem, seed, n_evals: int = 50, score: str = "objective", alpha: float = 0.1,
                 agn_metric: str = "agn_end_sum"):
        super().__init__(problem, seed, n_evals, score, alpha, agn_metric)
        import hyperopt

        self._h = hyperopt
        self._space = hyperopt_space(problem.space)
        self._domain = hyperopt.Domain(lambda cfg: 0.0, self._space)
        self._trials = hyperopt.Trials()

    def _suggest(self):
        h = self._h
        tid = len(self._trials.trials)
        docs = h.tpe.suggest([tid], self._domain, self._trials, int(self.rng.integers(2**31 - 1)))
        self._trials.insert_trial_docs(docs)
        self._trials.refresh()
        vals = {k: v[0] for k, v in docs[0]["misc"]["vals"].items() if v}
        cfg = h.space_eval(self._space, vals)
        for p in self.problem.space.values():  # quantized integers come back as floats
            if "Integer" in type(p).__name__:
                cfg[p.name] = int(min(max(round(cfg[p.name]), p.lower), p.upper))
        return dict(cfg), tid

    def _observe(self, handle, x, loss):
        for doc in self._trials._dynamic_trials:
            if doc["tid"] == handle:
                doc["state"] = self._h.JOB_STATE_DONE
                doc["result"] = {"loss": loss, "status": self._h.STATUS_OK}
        self._trials.refresh()


class CMAES(BlackBox):
    """CMA-ES (Hansen 2016) via ``cmaes.CMA`` in the unit cube; generations of ``popsize`` points.

    Args:
        x0: initial mean as a configuration dict (default: centre of the cube).
        sigma0: initial step size in the unit cube.
        popsize: population size (default: cmaes' default 4 + floor(3 ln d)).
    """

    name = "cmaes"

    def __init__(self, problem: Problem, seed, n_evals: int = 50, x0: dict | None = None, sigma0: float = 0.3,
                 popsize: int | None = None, score: str = "objective", alpha: float = 0.1,
                 agn_metric: str = "agn_end_sum"):
        super().__init__(problem, seed, n_evals, score, alpha, agn_metric)
        from cmaes import CMA

        self.sigma0 = check_float(self.name, "sigma0", sigma0, 0.0, None, closed="neither")
        mean = (np.full(self.dim, 0.5) if x0 is None
                else self.codec.encode_one(x0))
        kw = {} if popsize is None else {"population_size": check_int(self.name, "popsize", popsize, 2)}
        self._cma = CMA(mean=np.clip(mean, 0, 1), sigma=self.sigma0, bounds=np.tile([0.0, 1.0], (self.dim, 1)),
                        seed=int(self.rng.integers(2**31 - 1)), **kw)
        self._pending: list[tuple[np.ndarray, float]] = []

    def _suggest(self):
        x = self._cma.ask()
        return self.codec.decode(x), x

    def _observe(self, handle, x, loss):
        # CMA-ES is told the point it proposed (the served candidate may differ on tabular tasks)
        self._pending.append((np.asarray(handle), loss))
        if len(self._pending) == self._cma.population_size:
            self._cma.tell(self._pending)
            self._pending = []


class PSO(BlackBox):
    """Particle swarm optimization (Kennedy & Eberhart 1995; constriction coefficients of Clerc & Kennedy 2002:
    inertia 0.7298, c1 = c2 = 1.49618) in the unit cube, synchronous: a swarm of ``n_particles`` is evaluated, then
    velocities and positions update (positions clipped to the cube, velocities to +-0.5).

    Args:
        n_particles: swarm size (AGN appendix A.1: 8 per round).
        x0: optional configuration given to particle 0 at the start (the AGN initial point).
    """

    name = "pso"

    def __init__(self, problem: Problem, seed, n_evals: int = 50, n_particles: int = 8, x0: dict | None = None,
                 inertia: float = 0.7298, c1: float = 1.49618, c2: float = 1.49618, score: str = "objective",
                 alpha: float = 0.1, agn_metric: str = "agn_end_sum"):
        super().__init__(problem, seed, n_evals, score, alpha, agn_metric)
        self.n_particles = check_int(self.name, "n_particles", n_particles, 1)
        self.w = check_float(self.name, "inertia", inertia, 0.0, 2.0)
        self.c1 = check_float(self.name, "c1", c1, 0.0, 5.0)
        self.c2 = check_float(self.name, "c2", c2, 0.0, 5.0)
        self.pos = self.rng.random((self.n_particles, self.dim))
        if x0 is not None:
            self.pos[0] = self.codec.encode_one(x0)
        self.vel = (self.rng.random((self.n_particles, self.dim)) - 0.5) * 0.2
        self.pbest = self.pos.copy()
        self.pbest_f = np.full(self.n_particles, np.inf)
        self.gbest, self.gbest_f = self.pos[0].copy(), np.inf
        self._next = 0
        self._told: dict[int, float] = {}

    def _suggest(self):
        k = self._next
        self._next += 1
        return self.codec.decode(self.pos[k]), k

    def _observe(self, k, x, loss):
        self._told[k] = loss
        if loss < self.pbest_f[k]:
            self.pbest_f[k], self.pbest[k] = loss, self.pos[k].copy()
        if loss < self.gbest_f:
            self.gbest_f, self.gbest = loss, self.pos[k].copy()
        if len(self._told) == self.n_particles:
            r1 = self.rng.random(self.pos.shape)
            r2 = self.rng.random(self.pos.shape)
            self.vel = (self.w * self.vel + self.c1 * r1 * (self.pbest - self.pos)
                        + self.c2 * r2 * (self.gbest[None] - self.pos))
            self.vel = np.clip(self.vel, -0.5, 0.5)
            self.pos = np.clip(self.pos + self.vel, 0.0, 1.0)
            self._told, self._next = {}, 0

    def _ask(self) -> Job | None:
        if self._next >= self.n_particles:
            return None  # wait for the swarm to be told
        return super()._ask()


class TuRBO(BlackBox):
    """TuRBO-1 (Eriksson et al. 2019): one trust region around the incumbent, a GP fitted on the observations, and
    Thompson sampling over candidates inside the region.

    Faithful to the paper's algorithm: Latin-hypercube initial design of ``n_init`` points; Matern-5/2 ARD GP
    (scikit-learn, standardized outputs); trust-region side ``length`` (init 0.8, min 0.5**7, max 1.6) scaled per
    dimension by the GP lengthscales normalized to geometric mean 1; ``succ_tol`` = 3 consecutive successes double it,
    ``fail_tol`` = max(4, d) consecutive failures halve it; a region smaller than the minimum restarts with a new
    design. A success is an improvement of more than 1e-3 |best|. Candidates: ``n_cand`` = min(100 d, 5000) points,
    each perturbing the centre in a random subset of coordinates (probability min(20/d, 1)), as in the authors' code.
    GP hyperparameters: marginal-likelihood L-BFGS-B (at most 50 iterations) warm-started from the previous fit (the
    authors' code likewise refits from the previous hyperparameters each step). Constant hyperparameters are left
    out of the GP and the trust region.
    """

    #: a GP refit per suggestion (tens of seconds per run): not in the CLI's default quick comparison
    slow = True
    name = "turbo"

    def __init__(self, problem: Problem, seed, n_evals: int = 50, n_init: int | None = None,
                 score: str = "objective", alpha: float = 0.1,
                 agn_metric: str = "agn_end_sum"):
        super().__init__(problem, seed, n_evals, score, alpha, agn_metric)
        self.n_free = max(1, int(self.codec.free.sum()))
        self.n_init = 2 * self.n_free if n_init is None else check_int(self.name, "n_init", n_init, 1)
        self.length_min, self.length_max, self.length_init = 0.5 ** 7, 1.6, 0.8
        self.succ_tol, self.fail_tol = 3, max(4, self.n_free)
        self._restart()
        self.X_all: list[np.ndarray] = []
        self.y_all: list[float] = []

    def _restart(self):
        n, d = self.n_init, self.dim
        # Latin hypercube
        u = (self.rng.permuted(np.tile(np.arange(n), (d, 1)), axis=1).T + self.rng.random((n, d))) / n
        self._init = list(u)
        self.X: list[np.ndarray] = []
        self.y: list[float] = []
        self._theta = None
        self.length = self.length_init
        self.n_succ = self.n_fail = 0

    def _suggest(self):
        if self._init:
            x = self._init.pop()
            return self.codec.decode(x), x
        if len(self.y) < 2:
            x = self.rng.random(self.dim)
            return self.codec.decode(x), x
        x = self._thompson()
        return self.codec.decode(x), x

    def _thompson(self) -> np.ndarray:
        from sklearn.gaussian_process import GaussianProcessRegressor
        from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

        X, y = np.array(self.X), np.array(self.y)
        # constant hyperparameters encode to a fixed 0: model and search only the free coordinates
        free = self.codec.free
        full_centre = X[int(np.argmin(y))]
        X = X[:, free]
        d = int(free.sum())
        kern = (ConstantKernel(1.0, (0.05, 20.0)) * Matern(np.full(d, 0.5), (0.005, 2.0), nu=2.5)
                + WhiteKernel(1e-3, (1e-6, 0.1)))
        if self._theta is not None and len(self._theta) == len(kern.theta):
            kern = kern.clone_with_theta(self._theta)  # warm start from the last fit

        def lbfgs(obj, theta0, bounds):
            from scipy.optimize import minimize

            r = minimize(obj, theta0, method="L-BFGS-B", jac=True, bounds=bounds, options={"maxiter": 50})
            return r.x, r.fun

        gp = GaussianProcessRegressor(kern, normalize_y=True, n_restarts_optimizer=0, optimizer=lbfgs,
                                      random_state=int(self.rng.integers(2**31 - 1)))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # lengthscales at their bounds are expected on flat regions
            gp.fit(X, y)
        self._theta = gp.kernel_.theta
        ls = np.atleast_1d(gp.kernel_.k1.k2.length_scale).astype(float)
        w = ls / np.exp(np.mean(np.log(ls)))
        centre = X[int(np.argmin(y))]
        lb = np.clip(centre - w * self.length / 2, 0, 1)
        ub = np.clip(centre + w * self.length / 2, 0, 1)
        n_cand = min(100 * d, 5000)
        pert = lb + (ub - lb) * self.rng.random((n_cand, d))
        mask = self.rng.random((n_cand, d)) <= min(20.0 / d, 1.0)
        none = ~mask.any(axis=1)
        mask[none, self.rng.integers(d, size=int(none.sum()))] = True
        cand = np.where(mask, pert, centre[None])
        # one joint posterior draw over the candidates (Thompson sampling); Cholesky with jitter (sklearn's sample_y
        # uses an SVD, which costs far more at these sizes)
        mu, cov = gp.predict(cand, return_cov=True)
        jitter = 1e-8 * max(float(np.mean(np.diag(cov))), 1e-12)
        for _ in range(6):
            try:
                chol = np.linalg.cholesky(cov + jitter * np.eye(len(cand)))
                break
            except np.linalg.LinAlgError:
                jitter *= 10.0
        else:
            chol = np.diag(np.sqrt(np.clip(np.diag(cov), 0, None)))
        sample = mu + chol @ self.rng.standard_normal(len(cand))
        x = full_centre.copy()
        x[free] = cand[int(np.argmin(sample))]
        return x

    def _observe(self, handle, x, loss):
        x = np.asarray(handle, dtype=float) if not self.problem.is_tabular else np.asarray(x, dtype=float)
        if len(self.y) >= self.n_init:
            if self.y:
                best = min(self.y)
                if loss < best - 1e-3 * abs(best):
                    self.n_succ, self.n_fail = self.n_succ + 1, 0
                else:
                    self.n_succ, self.n_fail = 0, self.n_fail + 1
                if self.n_succ == self.succ_tol:
                    self.length, self.n_succ = min(2.0 * self.length, self.length_max), 0
                elif self.n_fail == self.fail_tol:
                    self.length, self.n_fail = self.length / 2.0, 0
        self.X.append(x)
        self.y.append(loss)
        self.X_all.append(x)
        self.y_all.append(loss)
        if self.length < self.length_min:
            self._restart()

    def params(self) -> dict:
        return {**super().params(), "n_init": self.n_init}
