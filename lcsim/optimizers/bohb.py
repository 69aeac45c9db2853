"""BOHB: Hyperband with a TPE-style kernel density model per budget (Falkner et al. 2018, Algorithm 2).

Synchronous successive halving and promotion are :class:`~lcsim.optimizers.hyperband.Hyperband`'s; the bracket sizes
are HpBandSter 0.7.4's (:func:`~lcsim.optimizers._brackets.hpbandster_brackets`, ``n_0 = floor(S / (s + 1)) eta^s``;
the DPL paper ran HpBandSter's Hyperband and BOHB, appendix C). Only the choice of new
configurations differs and follows HpBandSter's ``config_generators/bohb.py``:

* every finished job adds ``(x, loss)`` to the observations of its budget (epoch), unless a model already exists for a
  larger budget (HpBandSter skips those, and so does lcsim);
* once a budget has ``min_points_in_model`` (default ``d + 1``) observations, two product KDEs are fitted on it: the
  ``n_good = max(min_points, top_n_percent * N // 100)`` best points (``l(x)``) and the next
  ``n_bad = max(min_points, (100 - top_n_percent) * N // 100)`` (``g(x)``); a fit needs more points than dimensions
  in each set. Bandwidths follow statsmodels' ``KDEMultivariate(bw='normal_reference')`` rule,
  ``h_j = 1.06 * std_j * n ** (-1 / (4 + d))`` (population std), clipped below at ``min_bandwidth``; continuous
  dimensions use a Gaussian kernel, categorical ones the Aitchison-Aitken kernel (``1 - h`` on a match,
  ``h / (levels - 1)`` otherwise, ``levels`` = distinct values in the fitted data) -- exactly statsmodels' formulas,
  reimplemented here in vectorized numpy (the tests compare against a brute-force loop; ``tests/perf`` against
  statsmodels itself);
* a new configuration is random with probability ``random_fraction`` (or while no model exists); otherwise
  ``num_samples`` candidates are drawn from ``l`` with bandwidths widened by ``bandwidth_factor`` (truncated normal in
  [0, 1] around a random good point; categorical: keep the point's value with probability ``1 - h`` else uniform)
  and the one minimizing ``g(x) / l(x)`` (both floored at 1e-32) is proposed. The model of the largest budget that
  has one is used.

As in HpBandSter, configurations are drawn lazily, one per free worker, so later configurations of a bracket see the
results of earlier ones. On tabular tasks random picks are pool rows drawn without replacement (as lcsim's
Hyperband does) and model-based picks are configurations that the engine maps to the nearest unused candidate; the
model always stores the vector of the candidate actually served. Diverged runs enter the model with loss ``+inf``,
HpBandSter's rule for crashed runs (they always fall into the "bad" set); promotion uses the served (worst) value.
"""
from __future__ import annotations

import numpy as np
import scipy.stats as sps

from ..errors import check_float, check_int
from ..space import SpaceCodec
from ._base import Job, Observation, Problem
from ._brackets import hpbandster_brackets
from .hyperband import Hyperband, _BracketRun

__all__ = ["BOHB", "ProductKDE"]

_LAZY = object()  # placeholder config: drawn when the job is handed out


class ProductKDE:
    """Product-kernel density estimate with statsmodels' ``normal_reference`` bandwidths.

    Args:
        data: float array of shape (n, d); continuous dimensions in [0, 1], categorical ones as integer codes.
        is_categorical: bool array of shape (d,).
        min_bandwidth: lower clip of every bandwidth (HpBandSter's ``min_bandwidth``).
    """

    def __init__(self, data: np.ndarray, is_categorical: np.ndarray, min_bandwidth: float = 1e-3):
        self.data = np.asarray(data, dtype=float)
        n, d = self.data.shape
        self.is_categorical = np.asarray(is_categorical, dtype=bool)
        bw = 1.06 * np.std(self.data, axis=0) * n ** (-1.0 / (4 + d))
        self.bw = np.clip(bw, min_bandwidth, None)
        self.levels = np.array([np.unique(self.data[:, j]).size for j in range(d)])

    def pdf(self, x: np.ndarray) -> np.ndarray:
        """Density at ``x`` of shape (m, d) (or (d,)), returned with shape (m,) (or a float)."""
        x = np.asarray(x, dtype=float)
        single = x.ndim == 1
        x = np.atleast_2d(x)
        c = ~self.is_categorical
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            # (m, n, d) kernel values
            diff = self.data[None, :, :] - x[:, None, :]
            k = np.empty(diff.shape)
            h = self.bw
            k[..., c] = np.exp(-0.5 * (diff[..., c] / h[c]) ** 2) / np.sqrt(2 * np.pi)
            cat = self.is_categorical
            if cat.any():
                match = diff[..., cat] == 0
                off = h[cat] / (self.levels[cat] - 1)
                k[..., cat] = np.where(match, 1.0 - h[cat], off)
            dens = np.prod(k, axis=2) / np.prod(h[c])
            out = dens.mean(axis=1)
        return float(out[0]) if single else out


class BOHB(Hyperband):
    """BOHB with HpBandSter's defaults.

    Args:
        problem: the task's problem; ``min_epoch``/``max_epoch`` give the brackets (DPL appendix C).
        seed: seed of every random choice.
        eta: halving rate (default 3).
        min_points_in_model: observations a budget needs before a model is fitted (default and minimum ``d + 1``).
        top_n_percent: share (percent) of observations in the "good" density (default 15).
        num_samples: candidates drawn from the good density per model-based pick (default 64).
        random_fraction: share of random configurations (default 1/3).
        bandwidth_factor: widening of the good density's bandwidths when sampling candidates (default 3).
        min_bandwidth: lower clip of every bandwidth (default 1e-3).
        resume: continue promoted trials (freeze-thaw) instead of retraining them.
    """

    name = "bohb"
    proposes_configs = True

    def __init__(self, problem: Problem, seed, eta: int = 3, min_points_in_model: int | None = None,
                 top_n_percent: int = 15, num_samples: int = 64, random_fraction: float = 1 / 3,
                 bandwidth_factor: float = 3.0, min_bandwidth: float = 1e-3, resume: bool = True):
        super().__init__(problem, seed, eta=eta, resume=resume)
        self.codec = SpaceCodec(problem.space, "kde")
        d = self.codec.d
        if min_points_in_model is None:
            min_points_in_model = d + 1
        self.min_points_in_model = check_int("BOHB", "min_points_in_model", min_points_in_model, d + 1)
        self.top_n_percent = check_int("BOHB", "top_n_percent", top_n_percent, 1, 99)
        self.num_samples = check_int("BOHB", "num_samples", num_samples, 1)
        self.random_fraction = check_float("BOHB", "random_fraction", random_fraction, 0.0, 1.0)
        self.bandwidth_factor = check_float("BOHB", "bandwidth_factor", bandwidth_factor, 0.0, None, closed="neither")
        self.min_bandwidth = check_float("BOHB", "min_bandwidth", min_bandwidth, 0.0, None, closed="neither")
        self.configs: dict[int, list[np.ndarray]] = {}
        self.losses: dict[int, list[float]] = {}
        self.kde_models: dict[int, tuple[ProductKDE, ProductKDE]] = {}
        self.n_model_picks = 0
        self._cand_vectors = self.codec.encode(problem.candidates) if problem.is_tabular else None

    def _schedule(self):
        """HpBandSter's brackets (``n_0 = floor(S / (s + 1)) * eta**s``), the code base the DPL paper ran."""
        return hpbandster_brackets(self.problem.min_epoch, self.problem.max_epoch, self.eta)[1]

    def params(self) -> dict:
        return {**super().params(), "min_points_in_model": self.min_points_in_model,
                "top_n_percent": self.top_n_percent, "num_samples": self.num_samples,
                "random_fraction": self.random_fraction, "bandwidth_factor": self.bandwidth_factor,
                "min_bandwidth": self.min_bandwidth}

    # ------------------------------------------------------------------ lazy sampling
    def _new_config(self, run: _BracketRun):
        return None, _LAZY

    def _job_from(self, run: _BracketRun) -> Job:
        tid, cid, cfg = run.queue[0]
        if cfg is _LAZY:
            run.queue[0] = (tid, *self._sample())
        return super()._job_from(run)

    def _sample(self) -> tuple[int | None, dict | None]:
        """HpBandSter ``BOHB.get_config``: random with probability ``random_fraction``, else the best of
        ``num_samples`` draws from the good KDE of the largest budget with a model."""
        if not self.kde_models or self.rng.random() < self.random_fraction:
            return Hyperband._new_config(self, None)
        budget = max(self.kde_models)
        good, bad = self.kde_models[budget]
        vec = self.sample_candidates(good)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            lv, gv = good.pdf(vec), bad.pdf(vec)
            val = np.maximum(1e-32, gv) / np.maximum(lv, 1e-32)
        best = None
        for i in range(len(vec)):  # the reference's loop, including its rule for non-finite ratios
            if not np.isfinite(val[i]):
                if np.isfinite(lv[i]):
                    best = i
                    break
                continue
            if best is None or val[i] < val[best]:
                best = i
        if best is None:
            return Hyperband._new_config(self, None)
        self.n_model_picks += 1
        return None, self.codec.decode(vec[best])

    def sample_candidates(self, good: ProductKDE) -> np.ndarray:
        """``num_samples`` draws from the widened good density, shape (num_samples, d)."""
        n, d = self.num_samples, self.codec.d
        idx = self.rng.integers(0, len(good.data), size=n)
        m = good.data[idx]                                   # (n, d)
        bw = np.maximum(good.bw, self.min_bandwidth)
        out = np.empty((n, d))
        cat = self.codec.is_categorical
        cont = ~cat
        if cont.any():
            s = self.bandwidth_factor * bw[cont]
            mc = m[:, cont]
            out[:, cont] = sps.truncnorm.rvs(-mc / s, (1 - mc) / s, loc=mc, scale=s, size=mc.shape,
                                             random_state=self.rng)
        for j in np.flatnonzero(cat):
            keep = self.rng.random(n) < (1 - bw[j])
            other = self.rng.integers(0, self.codec.n_choices[j], size=n)
            out[:, j] = np.where(keep, m[:, j].astype(int), other)
        return out

    # ------------------------------------------------------------------ model
    def _observe(self, job: Job, observation: Observation) -> None:
        budget = int(job.epoch)
        loss = np.inf if observation.diverged else (1.0 if self.problem.minimize else -1.0) * observation.last
        if not np.isfinite(loss):
            loss = np.inf
        self.configs.setdefault(budget, [])
        self.losses.setdefault(budget, [])
        if max(list(self.kde_models) + [-np.inf]) > budget:
            return
        if self._cand_vectors is not None and observation.config_id is not None:
            x = self._cand_vectors[int(observation.config_id)]
        else:
            x = self.codec.encode_one(job.config)
        self.configs[budget].append(x)
        self.losses[budget].append(loss)
        self._fit(budget)

    def _fit(self, budget: int) -> None:
        n = len(self.configs[budget])
        if n <= self.min_points_in_model - 1:
            return
        x = np.array(self.configs[budget])
        y = np.array(self.losses[budget])
        n_good = max(self.min_points_in_model, (self.top_n_percent * n) // 100)
        n_bad = max(self.min_points_in_model, ((100 - self.top_n_percent) * n) // 100)
        idx = np.argsort(y, kind="stable")
        good, bad = x[idx[:n_good]], x[idx[n_good:n_good + n_bad]]
        d = x.shape[1]
        if good.shape[0] <= d or bad.shape[0] <= d:
            return
        self.kde_models[budget] = (ProductKDE(good, self.codec.is_categorical, self.min_bandwidth),
                                   ProductKDE(bad, self.codec.is_categorical, self.min_bandwidth))
