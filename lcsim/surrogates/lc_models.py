"""Learning-curve predictors compared in DPL Hypothesis 1 (section 7, Fig. 2), behind one small interface.

Per-curve models fit each partially observed curve on its own (they cannot predict an unseen configuration):

* :class:`PowerLawLC` - ``y = a + c * s^(-g)`` per curve with ``scipy.optimize.curve_fit`` (``s = epoch / max``);
* :class:`NNLC` - a small feed-forward network per curve (input ``s``), K members for a spread;
* :class:`GPLC` - ``sklearn`` Gaussian process per curve (constant x RBF + white noise kernel on ``s``).

Configuration-conditioned models fit one model on all partial curves and share information across configurations:

* :class:`ConditionedNNLC` - a feed-forward ensemble on ``(config, s)``;
* :class:`DPLLC` - the DPL ensemble (:class:`~lcsim.surrogates.dpl_ensemble.DPLEnsemble`, eq. 4-6).

Interface: ``fit(configs_encoded (n, d), curves (n, T) with NaN beyond the observed part, budgets (T,))`` then
``predict(which, budget) -> (mean, std)`` where ``which`` is an int array of fitted rows or (conditioned models) a
float array (m, d) of encoded configurations, and ``budget`` an epoch in the units of ``budgets``. Targets are "lower
is better" values (use :func:`lc_targets`); :func:`lc_prediction_study` computes Fig. 2's correlations.
"""
from __future__ import annotations

import abc
import warnings

import numpy as np
import pandas as pd
import torch

from ..errors import InvalidParameterError, check_int, unknown_name
from ..seeding import derive, make_rng, torch_generator
from ..space import SpaceCodec

__all__ = ["LCModel", "PowerLawLC", "NNLC", "GPLC", "ConditionedNNLC", "DPLLC", "LC_MODELS", "lc_targets",
           "lc_predictions", "lc_prediction_study"]


class LCModel(abc.ABC):
    """Common interface of the Hypothesis-1 learning-curve predictors."""

    name: str = "lc_model"
    conditioned: bool = False  # True: uses the configuration and can predict unseen ones

    def fit(self, configs_encoded, curves, budgets) -> LCModel:
        """Fit on partial curves.

        Args:
            configs_encoded: float array (n, d), unit-hypercube encoding (:class:`lcsim.space.SpaceCodec`).
            curves: float array (n, T); each row observed from the first budget on, NaN beyond its observed part.
            budgets: the budgets (epochs) of the columns, shape (T,), increasing and > 0.
        """
        X = np.asarray(configs_encoded, dtype=float)
        Y = np.asarray(curves, dtype=float)
        bud = np.asarray(budgets, dtype=float)
        if X.ndim != 2 or Y.ndim != 2 or len(X) != len(Y) or bud.shape != (Y.shape[1],):
            raise InvalidParameterError(
                f"{type(self).__name__}.fit needs configs (n, d), curves (n, T) and budgets (T,); got "
                f"{X.shape}, {Y.shape}, {bud.shape}.")
        if np.any(bud <= 0) or np.any(np.diff(bud) <= 0):
            raise InvalidParameterError("budgets must be positive and increasing.")
        obs = np.isfinite(Y)
        if not obs[:, 0].all():
            raise InvalidParameterError("every curve must be observed at the first budget (NaN only beyond the "
                                        "observed part).")
        self.X_, self.curves_, self.budgets_, self.max_budget_ = X, Y, bud, float(bud[-1])
        self.n_obs_ = obs.sum(axis=1)
        self._fit(X, Y, bud / self.max_budget_)
        return self

    def predict(self, which, budget) -> tuple[np.ndarray, np.ndarray]:
        """Mean and standard deviation at ``budget`` (epochs), each of shape (m,)."""
        s = float(budget) / self.max_budget_
        w = np.asarray(which)
        if w.ndim == 1 and np.issubdtype(w.dtype, np.integer):
            if np.any((w < 0) | (w >= len(self.X_))):
                raise InvalidParameterError(f"row ids must be in 0..{len(self.X_) - 1}.")
            return self._predict_rows(w, s)
        if not self.conditioned:
            raise InvalidParameterError(f"{self.name} fits each curve on its own: predict takes row ids of the "
                                        "fitted curves, not new configurations.")
        X = np.asarray(which, dtype=float)
        if X.ndim != 2 or X.shape[1] != self.X_.shape[1]:
            raise InvalidParameterError(f"configurations must have shape (m, {self.X_.shape[1]}).")
        return self._predict_x(X, s)

    @abc.abstractmethod
    def _fit(self, X: np.ndarray, Y: np.ndarray, s: np.ndarray) -> None:
        """Fit; ``s`` is the scaled budget grid (T,)."""

    @abc.abstractmethod
    def _predict_rows(self, rows: np.ndarray, s: float) -> tuple[np.ndarray, np.ndarray]:
        """Predict for fitted rows at scaled budget ``s``."""

    def _predict_x(self, X: np.ndarray, s: float) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError


# ---------------------------------------------------------------------------------------------- per-curve models
def _pl(s, a, c, g):
    return a + c * s ** (-g)


class PowerLawLC(LCModel):
    """Per-curve power law ``a + c * s^(-g)`` fitted by ``scipy.optimize.curve_fit`` (trust-region, bounded).

    ``g`` in [0, 5]; curves with fewer than 3 observed points (3 parameters) predict their last value. The std is
    the delta-method propagation of curve_fit's parameter covariance (0 where it is undefined).
    """

    name = "power_law"

    def _fit(self, X, Y, s):
        from scipy.optimize import curve_fit

        self.params_ = np.full((len(Y), 3), np.nan)
        self.cov_ = np.zeros((len(Y), 3, 3))
        for i, row in enumerate(Y):
            m = np.isfinite(row)
            ss, yy = s[m], row[m]
            if len(yy) < 3:
                continue
            p0 = (yy[-1], max(yy[0] - yy[-1], 1e-3), 0.5)
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    p, cov = curve_fit(_pl, ss, yy, p0=p0, bounds=([-np.inf, -np.inf, 0.0], [np.inf, np.inf, 5.0]),
                                       maxfev=2000)
            except (RuntimeError, ValueError):
                continue
            self.params_[i] = p
            self.cov_[i] = np.where(np.isfinite(cov), cov, 0.0)

    def _predict_rows(self, rows, s):
        mean = np.empty(len(rows))
        std = np.zeros(len(rows))
        for j, i in enumerate(rows):
            p = self.params_[i]
            if np.isnan(p[0]):
                row = self.curves_[i]
                mean[j] = row[np.isfinite(row)][-1]
                continue
            a, c, g = p
            mean[j] = _pl(s, a, c, g)
            jac = np.array([1.0, s ** (-g), -c * s ** (-g) * np.log(s)])
            std[j] = float(np.sqrt(max(jac @ self.cov_[i] @ jac, 0.0)))
        return mean, std


class _StackedMLP:
    """``M`` independent small MLPs trained together (one ``bmm`` per layer), masked MSE, Adam."""

    def __init__(self, M, d_in, n_units, n_layers, gens):
        self.W, self.b = [], []
        dims = [d_in] + [n_units] * n_layers + [1]
        for i in range(len(dims) - 1):
            bound = 1.0 / np.sqrt(dims[i])
            W = torch.empty(M, dims[i], dims[i + 1])
            bb = torch.empty(M, 1, dims[i + 1])
            for k in range(M):
                W[k].uniform_(-bound, bound, generator=gens[k % len(gens)])
                bb[k].uniform_(-bound, bound, generator=gens[k % len(gens)])
            self.W.append(W.requires_grad_(True))
            self.b.append(bb.requires_grad_(True))

    def __call__(self, x):  # x (M, n, d_in) -> (M, n)
        h = x
        for i in range(len(self.W) - 1):
            h = torch.nn.functional.leaky_relu(torch.baddbmm(self.b[i], h, self.W[i]), 0.01)
        return torch.baddbmm(self.b[-1], h, self.W[-1])[..., 0]

    def fit(self, x, y, mask, epochs, lr, batch_idx=None):
        opt = torch.optim.Adam([*self.W, *self.b], lr=lr)
        for e in range(epochs):
            idx = batch_idx[e] if batch_idx is not None else [None]
            for bi in idx:
                xb, yb, mb = (x, y, mask) if bi is None else (x[:, bi], y[:, bi], mask[:, bi])
                opt.zero_grad(set_to_none=True)
                err = torch.where(mb, self(xb) - yb, torch.zeros_like(yb))
                ((err * err).sum(dim=1) / mb.sum(dim=1).clamp(min=1)).sum().backward()
                opt.step()


class NNLC(LCModel):
    """Per-curve feed-forward network on the scaled budget (``n_members`` nets per curve for a spread).

    Every (curve, member) pair is its own network; all are trained together, full batch, masked MSE, Adam.
    """

    name = "nn"

    def __init__(self, seed=0, n_members: int = 3, n_units: int = 16, n_layers: int = 2, epochs: int = 300,
                 learning_rate: float = 1e-2):
        self.seed, self.n_members, self.n_units, self.n_layers = seed, n_members, n_units, n_layers
        self.epochs, self.lr = epochs, learning_rate

    def _fit(self, X, Y, s):
        n, T = Y.shape
        K = self.n_members
        gens = [torch_generator(derive(self.seed, "nn", k)) for k in range(K)]
        self.net = _StackedMLP(n * K, 1, self.n_units, self.n_layers, gens)
        x = torch.as_tensor(np.broadcast_to(s, (n * K, T))[..., None].copy(), dtype=torch.float32)
        yy = np.repeat(np.nan_to_num(Y), K, axis=0)
        mask = torch.as_tensor(np.repeat(np.isfinite(Y), K, axis=0))
        self.net.fit(x, torch.as_tensor(yy, dtype=torch.float32), mask, self.epochs, self.lr)

    def _predict_rows(self, rows, s):
        n, K = len(self.X_), self.n_members
        with torch.no_grad():
            p = self.net(torch.full((n * K, 1, 1), s)).numpy()[:, 0].reshape(n, K)
        return p[rows].mean(axis=1), p[rows].std(axis=1)


class GPLC(LCModel):
    """Per-curve Gaussian process (``sklearn.gaussian_process.GaussianProcessRegressor``) on the scaled budget.

    Kernel ``C * RBF + White`` with ``normalize_y=True``; hyperparameters by marginal likelihood (no restarts).
    """

    name = "gp"

    def _fit(self, X, Y, s):
        from sklearn.gaussian_process import GaussianProcessRegressor
        from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel

        self.gps_ = []
        for row in Y:
            m = np.isfinite(row)
            kernel = ConstantKernel(1.0, (1e-3, 1e3)) * RBF(0.3, (1e-2, 1e2)) + WhiteKernel(1e-3, (1e-8, 1e0))
            gp = GaussianProcessRegressor(kernel, normalize_y=True, random_state=0)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                gp.fit(s[m][:, None], row[m]) if m.sum() >= 2 else None
            self.gps_.append(gp if m.sum() >= 2 else float(row[m][-1]))

    def _predict_rows(self, rows, s):
        mean, std = np.empty(len(rows)), np.zeros(len(rows))
        for j, i in enumerate(rows):
            gp = self.gps_[i]
            if isinstance(gp, float):
                mean[j] = gp
            else:
                mu, sd = gp.predict(np.array([[s]]), return_std=True)
                mean[j], std[j] = mu[0], sd[0]
        return mean, std


# ---------------------------------------------------------------------------------------------- conditioned models
def _observed_points(X, Y, s):
    rows, cols = np.nonzero(np.isfinite(Y))
    return X[rows], s[cols], Y[rows, cols]


class ConditionedNNLC(LCModel):
    """A feed-forward ensemble on ``(configuration, scaled budget)`` shared by all curves (no power-law head)."""

    name = "conditioned_nn"
    conditioned = True

    def __init__(self, seed=0, n_members: int = 5, n_units: int = 128, n_layers: int = 2, epochs: int = 250,
                 learning_rate: float = 1e-3, batch_size: int = 64):
        self.seed, self.n_members, self.n_units, self.n_layers = seed, n_members, n_units, n_layers
        self.epochs, self.lr, self.batch_size = epochs, learning_rate, batch_size

    def _fit(self, X, Y, s):
        x, b, y = _observed_points(X, Y, s)
        K, n = self.n_members, len(y)
        gens = [torch_generator(derive(self.seed, "cnn", k)) for k in range(K)]
        self.net = _StackedMLP(K, X.shape[1] + 1, self.n_units, self.n_layers, gens)
        inp = torch.as_tensor(np.column_stack([x, b]), dtype=torch.float32).expand(K, -1, -1)
        yy = torch.as_tensor(y, dtype=torch.float32).expand(K, -1)
        order = [torch_generator(derive(self.seed, "cnn-order", k)) for k in range(K)]
        batches = []
        for _ in range(self.epochs):
            perm = torch.stack([torch.randperm(n, generator=g) for g in order])
            batches.append([perm[:, i:i + self.batch_size] for i in range(0, n, self.batch_size)])
        # member k's batch is perm[k]; gather per member
        opt = torch.optim.Adam([*self.net.W, *self.net.b], lr=self.lr)
        ar = torch.arange(K)[:, None]
        for epoch in batches:
            for idx in epoch:
                opt.zero_grad(set_to_none=True)
                err = self.net(inp[ar, idx]) - yy[ar, idx]
                (err * err).mean(dim=1).sum().backward()
                opt.step()

    def _predict_x(self, X, s):
        inp = torch.as_tensor(np.column_stack([X, np.full(len(X), s)]), dtype=torch.float32)
        with torch.no_grad():
            p = self.net(inp.expand(self.n_members, -1, -1)).numpy()
        return p.mean(axis=0), p.std(axis=0)

    def _predict_rows(self, rows, s):
        return self._predict_x(self.X_[rows], s)


class DPLLC(LCModel):
    """The DPL ensemble (eq. 4-6) fitted once on all observed points (``epochs`` from scratch)."""

    name = "dpl"
    conditioned = True

    def __init__(self, seed=0, epochs: int = 250, **ensemble_params):
        self.seed, self.epochs, self.params = seed, epochs, ensemble_params

    def _fit(self, X, Y, s):
        from .dpl_ensemble import DPLEnsemble

        x, b, y = _observed_points(X, Y, s)
        self.model = DPLEnsemble(X.shape[1], derive(self.seed, "dpl-lc"), **self.params)
        self.model.fit(x, b, y, self.epochs)

    def _predict_x(self, X, s):
        mean, var = self.model.posterior(X, s)
        return mean, np.sqrt(var)

    def _predict_rows(self, rows, s):
        return self._predict_x(self.X_[rows], s)


LC_MODELS = {"power_law": PowerLawLC, "nn": NNLC, "gp": GPLC, "conditioned_nn": ConditionedNNLC, "dpl": DPLLC}


def lc_targets(task) -> np.ndarray:
    """Seed-averaged served objective curves of ``task`` as "lower is better" targets, shape (n_cfg, n_epoch).

    Bounded objectives become errors in [0, 1] (accuracy -> 1 - accuracy), unbounded ones are negated when
    maximized: the normalization the DPL optimizer uses (:meth:`lcsim.optimizers.dpl.DPL.target`).
    """
    v = task.served_objective().mean(axis=1)
    lo, hi = task.metrics[task.objective].bounds
    if np.isfinite(lo) and np.isfinite(hi) and hi > lo:
        return (v - lo) / (hi - lo) if task.minimize else (hi - v) / (hi - lo)
    return v if task.minimize else -v


def lc_predictions(task, fractions=(0.1, 0.2, 0.4, 0.6, 0.8), n_train: int = 100, seed=0, models=None,
                   model_params: dict | None = None) -> pd.DataFrame:
    """Per-configuration predictions of the final value from partially observed curves (DPL Figs. 2 and 7).

    ``n_train`` configurations are drawn from the task's pool; for every fraction ``f`` each curve is observed up to
    epoch ``max(1, round(f * n_epoch))`` and every model predicts the value at the last epoch for the same
    configurations. Values are :func:`lc_targets` (lower is better).

    Args:
        task: an lcsim :class:`~lcsim.benchmarks.Task`.
        fractions: observed fractions of each curve, in (0, 1).
        n_train: configurations drawn (without replacement, capped at the pool size).
        seed: seed of the draw and of the models.
        models: names from :data:`LC_MODELS` (default: all five), or a mapping ``{name: factory}`` where
            ``factory(seed) -> LCModel`` (to compare a model of your own).
        model_params: optional ``{name: {param: value}}`` passed to the constructors of named models.

    Returns:
        DataFrame with columns model, fraction, observed_epochs, config_id, observed (true final value), predicted,
        std.
    """
    if isinstance(models, dict):
        factories = dict(models)
    else:
        names = list(LC_MODELS) if models is None else list(models)
        for m in names:
            if m not in LC_MODELS:
                raise unknown_name("LC model", m, LC_MODELS)
        params_of = model_params or {}

        def _factory(name):
            cls, params = LC_MODELS[name], dict(params_of.get(name, {}))
            return (lambda s: cls(**params)) if name in ("power_law", "gp") else (lambda s: cls(seed=s, **params))

        factories = {m: _factory(m) for m in names}
    n_train = check_int("lc_predictions", "n_train", n_train, 3)
    rng = make_rng(derive(seed, "lc-study", task.key))
    ids = np.sort(rng.choice(task.n_configs, size=min(n_train, task.n_configs), replace=False))
    Y = lc_targets(task)[ids]
    X = np.nan_to_num(SpaceCodec(task.space).encode(task.configs.iloc[ids]), nan=0.0)
    T = Y.shape[1]
    budgets = np.arange(1, T + 1, dtype=float)
    rows = []
    for f in fractions:
        if not 0 < f < 1:
            raise InvalidParameterError(f"fractions must lie in (0, 1); got {f}.")
        k = max(1, int(round(f * T)))
        part = Y.copy()
        part[:, k:] = np.nan
        for name, factory in factories.items():
            mean, std = factory(derive(seed, name)).fit(X, part, budgets).predict(np.arange(len(ids)), budgets[-1])
            rows.append(pd.DataFrame({"model": name, "fraction": float(f), "observed_epochs": k, "config_id": ids,
                                      "observed": Y[:, -1], "predicted": np.asarray(mean, float),
                                      "std": np.asarray(std, float)}))
    return pd.concat(rows, ignore_index=True)


def lc_prediction_study(task, fractions=(0.1, 0.2, 0.4, 0.6, 0.8), n_train: int = 100, seed=0, models=None,
                        model_params: dict | None = None) -> pd.DataFrame:
    """DPL Fig. 2: how well each model predicts final values from partially observed curves.

    Aggregates :func:`lc_predictions` (same arguments): correlation (Pearson and Spearman) and mean absolute error of
    the predicted against the true final values, per model and fraction. NaN predictions are left out.

    Returns:
        DataFrame with columns model, fraction, observed_epochs, n_configs, pearson, spearman, mae, seed.
    """
    from scipy.stats import pearsonr, spearmanr

    pred = lc_predictions(task, fractions, n_train, seed, models, model_params)
    rows = []
    for (name, f), g in pred.groupby(["model", "fraction"], sort=False):
        mean, truth = g["predicted"].to_numpy(), g["observed"].to_numpy()
        ok = np.isfinite(mean)
        pr = pearsonr(mean[ok], truth[ok])[0] if ok.sum() > 2 and np.std(mean[ok]) > 0 else np.nan
        sr = spearmanr(mean[ok], truth[ok])[0] if ok.sum() > 2 and np.std(mean[ok]) > 0 else np.nan
        rows.append({"model": name, "fraction": float(f), "observed_epochs": int(g["observed_epochs"].iloc[0]),
                     "n_configs": len(g), "pearson": float(pr), "spearman": float(sr),
                     "mae": float(np.mean(np.abs(mean - truth))),
                     "seed": int(seed) if not hasattr(seed, "entropy") else -1})
    return pd.DataFrame(rows)
