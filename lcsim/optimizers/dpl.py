"""Deep Power Laws (DPL; Kadra et al.): gray-box BO with a power-law ensemble and one-epoch freeze-thaw steps.

The loop (DPL section 4, appendix A), split botorch-style into model -> acquisition -> optimizer:

1. **Model** (:class:`~lcsim.surrogates.dpl_ensemble.DPLEnsemble`): K=5 configuration-conditioned power laws
   ``f(lambda, b) = alpha + beta * b^(-gamma)`` (eq. 4) fitted on every observed (configuration, epoch, value)
   triple; posterior mean and variance over the members (eq. 6). Budgets are scaled to ``b = epoch / max_epoch`` as in
   the authors' code, so ``b = 1`` is the maximum budget.
2. **Acquisition** (:func:`~lcsim.optimizers.acquisition.expected_improvement`): EI of the posterior at the maximum
   budget against ``f_best``, the lowest target observed at any epoch so far (eq. 7).
3. **Optimizer**: the candidate with the highest EI among those that are neither running nor finished is advanced
   by ``b_step`` epochs (eq. 8): a new configuration runs to ``b_step``, a known one resumes its trial from its
   highest paid epoch (freeze-thaw). With several workers the running trials are simply not candidates, so a running
   trial is never asked.

Candidates: on tabular tasks the whole pool (the authors' setting); where ``problem.candidates`` is ``None`` (live
tasks) the unfinished trials plus ``n_samples`` configurations sampled from the space after every fit.

Initial history (appendix A): one random configuration at one epoch. With several workers, every ask made before the
first result is in also starts a random new configuration at one epoch (the model has no data yet).

Training schedule (appendix A): 250 epochs from scratch on the first fit, then 20 epochs of refinement after every
new observation, the newest point appended to every mini-batch (authors' code). The first fit is the first one with
at least two points (a one-point fit cannot take a batch-norm step; the authors' code silently skips it and predicts
with the untrained initial weights, which lcsim does too until the second point arrives). ``max_refine_steps``
(default ``None``) optionally caps the mini-batch steps of a refinement: cheaper late in a run, at a measured cost in
mid-run regret (see its argument).

Presets (``preset``): ``"paper"`` (default) follows the paper's text; ``"code"`` reproduces the mechanics of the
authors' public code (github.com/machinelearningnuremberg/DPL, ``surrogate_models/power_law_surrogate.py``,
``models/conditioned_power_law.py``, ``framework.py``). Each difference is its own parameter, and a parameter given
explicitly overrides the preset:

* ``head``: ``"sigmoid"`` (appendix A) / ``"silu"``: ``GLU(cat(x, x)) = x * sigmoid(x)`` on beta and gamma
  (``models/conditioned_power_law.py``), so they may be negative and a curve may rise;
* ``batch_norm``: ``True`` (appendix A) / ``False`` (the code's MLP is Linear-LeakyReLU only);
* ``full_fits``: 1 / 10: the code fits from scratch at observations 1-11 (``iterations_counter <= 10``), the first
  on one point, which trains nothing (its only mini-batch is skipped), so fits on data at observations 2-11 (11 when
  ``b_step > 1``: the first observation then has two points and trains);
* ``restart_patience``: ``None`` (never) / ``int(max_epoch + 0.2 * max_epoch)`` observations in a row without
  improving ``f_best`` (61 on TaskSet's 51 steps), then a fit from scratch at that observation;
* ``encoding``: ``"space"`` (min-max over the space's bounds, columns in the space's order) / ``"pool"`` (below);
* ``clip_targets``: ``True`` (see Targets) / ``False`` (the raw loss);
* ``ei_zero_std``: ``"limit"``, ``max(f_best - mu, 0)`` / ``"half"``, ``(f_best - mu) / 2`` where the ensemble's
  standard deviation is 0 (:func:`~lcsim.optimizers.acquisition.expected_improvement`);
* ``reseed_fits``: ``False`` / ``True`` (the code calls ``torch.manual_seed(member_seed)`` before every training
  call, so every fit from scratch starts from the same weights and every fit from the same shuffling stream).

Encoding ``"pool"`` (the code's ``framework.preprocess``): a sklearn ``ColumnTransformer`` takes ``log`` of the
log-scaled columns with ``remainder="passthrough"``, which puts the log-scaled columns first, then a ``MinMaxScaler``
fitted on the pool scales every column to [0, 1]. lcsim does the same on ``problem.candidates``: log-scaled
hyperparameters first, then the others, each group in the pool's column order (TaskSet: ``learning_rate, epsilon,
l1, l2, linear_decay, exponential_decay, beta1, beta2``), log where the space says ``log=True``; categorical and
ordinal columns keep :func:`~lcsim.optimizers.encode_configs`' index encoding (the code's TaskSet and LCBench spaces
have none). It needs a candidate pool (tabular tasks). The two encodings differ by an affine map per column and a
permutation of the columns.

Targets (lower is better; "curves normalized as the paper does"): a bounded objective (``problem.objective_bounds``
finite) becomes an error in [0, 1]: ``(high - v) / (high - low)`` when maximized (LCBench balanced accuracy ->
``1 - acc``; accuracy in percent -> ``1 - acc / 100``, as the authors feed ``max_value - acc``), ``(v - low) /
(high - low)`` when minimized (PD1 error rate stays an error rate). An unbounded objective (TaskSet cross-entropy) is
used raw (negated when maximized): the authors feed TaskSet losses unscaled (their ``log_transform_labels`` helper is
never called), after dropping diverging curves from the pool. lcsim keeps every curve, so values far above the bulk
(diverged runs are served at the task's worst finite loss, up to 1e34 on unfiltered TaskSet) are clipped at
``median + 3 * (median - min)`` of all targets observed so far (``clip_targets``; the authors' code feeds the raw
loss); with the authors' filtered pool the clip rarely binds.
"""
from __future__ import annotations

import numpy as np

from ..errors import check_choice, check_float, check_int
from ..seeding import derive
from ._base import Job, Observation, Problem
from ._freeze_thaw import ENCODINGS, FreezeThawBase, pool_encoding
from ._freeze_thaw import check_bool as _check_bool
from .acquisition import ZERO_STD_RULES, expected_improvement

__all__ = ["DPL", "PRESETS", "ENCODINGS", "pool_encoding"]

PRESETS = ("paper", "code")
#: default of every preset-controlled parameter: take the preset's value
PRESET = "preset"


def _preset_values(preset: str, problem: Problem, b_step: int) -> dict:
    """The preset-controlled parameters of ``preset`` (module docstring's table) for ``problem``."""
    if preset == "paper":
        return {"head": "sigmoid", "batch_norm": True, "full_fits": 1, "restart_patience": None, "encoding": "space",
                "clip_targets": True, "ei_zero_std": "limit", "reseed_fits": False}
    m = problem.max_epoch
    return {"head": "silu", "batch_norm": False, "full_fits": 10 if b_step == 1 else 11,
            "restart_patience": int(m + 0.2 * m), "encoding": "pool", "clip_targets": False, "ei_zero_std": "half",
            "reseed_fits": True}


class DPL(FreezeThawBase):
    """Deep Power Law gray-box BO (see the module docstring for the algorithm and every choice).

    Args:
        problem: the task's problem.
        seed: seed of the initial configuration, the ensemble's initializations and mini-batch orders, and the
            candidate samples (non-tabular tasks).
        n_members: ensemble size K (paper: 5).
        n_units: hidden units per layer (paper: 128).
        n_layers: hidden layers (paper: 2).
        initial_epochs: training epochs of a fit from scratch (paper: 250).
        refine_epochs: training epochs of a refinement after each observation (paper: 20).
        max_refine_steps: at most this many mini-batch steps per refinement: the epochs drop to
            ``max(1, min(refine_epochs, max_refine_steps // batches_per_epoch))`` once the history outgrows it, so
            the cost per HPO step stops growing with the history (``None``: always ``refine_epochs``, the paper;
            default). A cap trades speed for regret; its measured effect is in tests/perf/README.md.
        learning_rate: Adam learning rate (paper: 1e-3).
        batch_size: surrogate mini-batch size (authors' code: 64); ``None`` for full batch.
        loss: ``"l1"`` (eq. 5, authors' code; default) or ``"mse"`` (appendix A).
        head: ``"sigmoid"`` (paper), ``"leaky_relu"`` (paper's PD1 variant) or ``"silu"`` (authors' code).
        batch_norm: batch norm after each hidden layer (paper: yes; authors' code: no).
        b_step: epochs added per step (eq. 8; paper: 1).
        full_fits: number of fits from scratch (each on at least two points) before refinements take over (paper:
            1; authors' code: 10, see the module docstring).
        restart_patience: refit from scratch after this many observations in a row without improving ``f_best``
            (authors' code: ``int(max_epoch + 0.2 * max_epoch)``; ``None``: never, the paper's text).
        emphasize_last: append the newest point to every refinement mini-batch (authors' code).
        n_samples: configurations sampled per iteration when the task has no candidate pool.
        vectorized: train the ensemble in one stacked pass (identical fits; ``False`` loops over members).
        scripted: run the stacked pass's training loop through TorchScript (bit-identical fits without the
            Python dispatch of each step, see ``tests/perf/README.md``; ``False``: eager PyTorch).
        preset: ``"paper"`` (default: the paper's text) or ``"code"`` (the authors' public code): the values of
            ``head``, ``batch_norm``, ``full_fits``, ``restart_patience``, ``encoding``, ``clip_targets``,
            ``ei_zero_std`` and ``reseed_fits`` left at ``"preset"`` (module docstring's table).
        encoding: ``"space"`` (min-max over the space's bounds, paper) or ``"pool"`` (min-max over the candidate
            pool in the authors' column order; tabular tasks only).
        clip_targets: clip unbounded targets at ``median + 3 * (median - min)`` (lcsim's paper preset; the authors'
            code: no).
        ei_zero_std: EI where the ensemble's standard deviation is 0: ``"limit"`` (``max(f_best - mu, 0)``) or
            ``"half"`` (``(f_best - mu) / 2``, the authors' code); :func:`~lcsim.optimizers.acquisition.
            expected_improvement`.
        reseed_fits: restart the members' initialization and mini-batch-order generators at every fit, so every
            fit from scratch starts from the same weights (authors' code), instead of continuing them.
    """

    name = "dpl"
    #: not in the CLI's default quick comparison (about 0.22-0.26 s per one-epoch step on one core); run it by name
    slow = True

    @classmethod
    def contract_params(cls) -> dict:
        """Small settings for the optimizer contract suite (same algorithm, fewer and smaller nets)."""
        return {"n_members": 2, "n_units": 16, "initial_epochs": 20, "refine_epochs": 2, "n_samples": 64}

    def __init__(self, problem: Problem, seed, n_members: int = 5, n_units: int = 128, n_layers: int = 2,
                 initial_epochs: int = 250, refine_epochs: int = 20, max_refine_steps: int | None = None,
                 learning_rate: float = 1e-3, batch_size: int | None = 64, loss: str = "l1", head: str = PRESET,
                 batch_norm: bool | str = PRESET, b_step: int = 1, full_fits: int | str = PRESET,
                 restart_patience: int | None | str = PRESET, emphasize_last: bool = True, n_samples: int = 1000,
                 vectorized: bool = True, scripted: bool = True, preset: str = "paper", encoding: str = PRESET,
                 clip_targets: bool | str = PRESET, ei_zero_std: str = PRESET, reseed_fits: bool | str = PRESET):
        super().__init__(problem, seed)
        from ..surrogates.dpl_ensemble import HEADS, LOSSES

        o = "DPL"
        self.preset = check_choice(o, "preset", preset, PRESETS)
        self.b_step = check_int(o, "b_step", b_step, 1, problem.max_epoch)
        given = {"head": head, "batch_norm": batch_norm, "full_fits": full_fits, "restart_patience": restart_patience,
                 "encoding": encoding, "clip_targets": clip_targets, "ei_zero_std": ei_zero_std,
                 "reseed_fits": reseed_fits}
        preset_values = _preset_values(self.preset, problem, self.b_step)
        chosen = {k: preset_values[k] if isinstance(v, str) and v == PRESET else v for k, v in given.items()}
        head, batch_norm, full_fits, restart_patience = (chosen[k] for k in ("head", "batch_norm", "full_fits",
                                                                            "restart_patience"))
        self.n_members = check_int(o, "n_members", n_members, 1)
        self.n_units = check_int(o, "n_units", n_units, 1)
        self.n_layers = check_int(o, "n_layers", n_layers, 1)
        self.initial_epochs = check_int(o, "initial_epochs", initial_epochs, 0)
        self.refine_epochs = check_int(o, "refine_epochs", refine_epochs, 0)
        self.max_refine_steps = None if max_refine_steps is None else check_int(o, "max_refine_steps",
                                                                                max_refine_steps, 1)
        self.learning_rate = check_float(o, "learning_rate", learning_rate, 0, None, closed="neither")
        self.batch_size = None if batch_size is None else check_int(o, "batch_size", batch_size, 2)
        self.loss = check_choice(o, "loss", loss, LOSSES)
        self.head = check_choice(o, "head", head, HEADS)
        self.batch_norm = _check_bool(o, "batch_norm", batch_norm)
        self.full_fits = check_int(o, "full_fits", full_fits, 1)
        self.restart_patience = None if restart_patience is None else check_int(o, "restart_patience",
                                                                                restart_patience, 1)
        self._check_encoding(o, chosen["encoding"])
        self.clip_targets = _check_bool(o, "clip_targets", chosen["clip_targets"])
        self.ei_zero_std = check_choice(o, "ei_zero_std", chosen["ei_zero_std"], ZERO_STD_RULES)
        self.reseed_fits = _check_bool(o, "reseed_fits", chosen["reseed_fits"])
        self.emphasize_last = bool(emphasize_last)
        self.n_samples = check_int(o, "n_samples", n_samples, 1)
        self.vectorized = bool(vectorized)
        self.scripted = bool(scripted)
        self._seed = seed

        self.first_epoch = self.b_step

        # observed data: one row per (trial, epoch)
        self._rows_x: list[np.ndarray] = []
        self._rows_epoch: list[int] = []
        self._rows_v: list[float] = []                 # raw target (before clipping), lower is better
        self._stored: dict[int, int] = {}             # trial -> epochs stored
        self._best = np.inf
        self._patience = 0
        self._n_full = 0
        self._need_full = True
        self._model = None
        self._cand = None  # cached posterior over candidates: dict(x, mean, std, trial, config)

    def params(self) -> dict:
        """Every parameter as resolved (preset values filled in), so a recorded run can be rebuilt from it."""
        return {"n_members": self.n_members, "n_units": self.n_units, "n_layers": self.n_layers,
                "initial_epochs": self.initial_epochs, "refine_epochs": self.refine_epochs,
                "max_refine_steps": self.max_refine_steps,
                "learning_rate": self.learning_rate, "batch_size": self.batch_size, "loss": self.loss,
                "head": self.head, "batch_norm": self.batch_norm, "b_step": self.b_step, "full_fits": self.full_fits,
                "restart_patience": self.restart_patience, "emphasize_last": self.emphasize_last,
                "n_samples": self.n_samples, "vectorized": self.vectorized,
                "scripted": self.scripted, "preset": self.preset, "encoding": self.encoding,
                "clip_targets": self.clip_targets, "ei_zero_std": self.ei_zero_std, "reseed_fits": self.reseed_fits}

    # ------------------------------------------------------------------ targets
    def _clipped(self, y: np.ndarray) -> np.ndarray:
        if not self.clip_targets or self._bounded or len(y) == 0:
            return y
        med, lo = float(np.median(y)), float(np.min(y))
        return np.minimum(y, med + 3.0 * (med - lo))

    # ------------------------------------------------------------------ ask
    def _ask(self) -> Job | None:
        if self._cand is None:  # no observation yet: initial random configuration(s) at b_step epochs
            return self._random_new()
        c = self._cand
        max_epoch = self.problem.max_epoch
        if self.problem.is_tabular:
            trial = self._cid_trial
            ok = np.ones(self.problem.n_candidates, dtype=bool)
            known = np.flatnonzero(trial >= 0)
            busy = [t in self.running or self.paid.get(int(t), 0) >= max_epoch for t in trial[known]]
            ok[known[np.asarray(busy, dtype=bool)]] = False
        else:
            ok = np.array([(not c["taken"][i]) if t is None else
                           (t not in self.running and self.paid.get(t, 0) < max_epoch)
                           for i, t in enumerate(c["trial"])], dtype=bool)
        if not ok.any():
            return None
        ei = np.where(ok, expected_improvement(c["mean"], c["std"], self._best, self.ei_zero_std), -np.inf)
        i = int(np.argmax(ei))  # ties: lowest index
        if self.problem.is_tabular:
            tid = int(self._cid_trial[i])
            if tid < 0:
                return self._new_trial(i, None)
        else:
            tid = c["trial"][i]
            if tid is None:
                c["taken"][i] = True  # reserves the sampled configuration it hands out
                return self._new_trial(None, c["config"][i])
        return self._job(tid, min(self.paid.get(tid, 0) + self.b_step, max_epoch))

    # ------------------------------------------------------------------ tell
    def _tell(self, job: Job, observation: Observation) -> None:
        tid = job.trial_id
        self._adopt(job, observation)
        have = self._stored.get(tid, 0)
        y = self.target(observation.values)
        new = [(int(e), float(v)) for e, v in zip(observation.epochs, y) if e > have]
        if not new:
            return
        improved = False
        for e, v in new:
            self._rows_x.append(self._x_of[tid])
            self._rows_epoch.append(e)
            self._rows_v.append(v)
            if v < self._best:
                self._best, improved = v, True
        self._stored[tid] = max(have, new[-1][0])
        if self.restart_patience is not None:
            self._patience = 0 if improved else self._patience + 1
            if self._patience >= self.restart_patience:
                self._patience, self._need_full = 0, True
        self._fit()
        self._update_candidates()

    def _fit(self) -> None:
        from ..surrogates.dpl_ensemble import DPLEnsemble

        if self._model is None:
            self._model = DPLEnsemble(
                len(next(iter(self._x_of.values()))), derive(self._seed, "dpl", "ensemble"),
                n_members=self.n_members, n_units=self.n_units, n_layers=self.n_layers, head=self.head,
                loss=self.loss, learning_rate=self.learning_rate, batch_size=self.batch_size,
                batch_norm=self.batch_norm, vectorized=self.vectorized, scripted=self.scripted,
                reseed=self.reseed_fits)
        n = len(self._rows_v)
        if n < 2:
            return  # the untrained initial weights predict (no batch-norm step possible with one point)
        X = np.asarray(self._rows_x, dtype=float)
        b = np.asarray(self._rows_epoch, dtype=float) / self.problem.max_epoch
        y = self._clipped(np.asarray(self._rows_v, dtype=float))
        if self._need_full:
            self._model.reset()
            self._model.fit(X, b, y, self.initial_epochs)
            self._n_full += 1
            self._need_full = self._n_full < self.full_fits
        else:
            self._model.fit(X, b, y, self.refine_schedule(n), emphasize=n - 1 if self.emphasize_last else None)

    def refine_schedule(self, n: int) -> int:
        """Epochs of the refinement on ``n`` observed points (``refine_epochs`` unless ``max_refine_steps`` caps
        the mini-batch steps; at least one epoch when ``refine_epochs > 0``)."""
        if self.max_refine_steps is None or self.refine_epochs == 0:
            return self.refine_epochs
        per_epoch = 1 if self.batch_size is None else -(-n // self.batch_size)
        return max(1, min(self.refine_epochs, self.max_refine_steps // per_epoch))

    def _update_candidates(self) -> None:
        if self.problem.is_tabular:
            mean, var = self._model.posterior(self.encoded_pool(), 1.0)
            self._cand = {"mean": mean, "std": np.sqrt(var)}
            return
        max_epoch = self.problem.max_epoch
        trials = [t for t in self._x_of if self.paid.get(t, 0) < max_epoch]
        configs = [self.sample_config() for _ in range(self.n_samples)]
        X = np.vstack([np.asarray([self._x_of[t] for t in trials]).reshape(len(trials), -1),
                       self._encode(configs)])
        mean, var = self._model.posterior(X, 1.0)
        self._cand = {"mean": mean, "std": np.sqrt(var), "trial": trials + [None] * len(configs),
                      "config": [None] * len(trials) + configs, "taken": np.zeros(len(X), dtype=bool)}
