"""Seeded, resumable training of one configuration, recording per-epoch metrics and proxy signals.

One :class:`Trainer` is one run (one configuration, one seed). ``train_until(e)`` trains the epochs not yet done and
returns the per-epoch records 1..e; the model and optimizer state are kept, so a later ``train_until(e2)`` continues
without redoing epochs (freeze-thaw), and :meth:`Trainer.state_dict` / :meth:`Trainer.save` carry a paused run
across processes.

Each epoch:

1. *training pass*: the data order is ``torch.randperm`` from the run's data generator; for each mini-batch the
   trainer computes ``a = model.features(x)``, ``z = model.head(a)``, the mean cross-entropy, and one optimizer step.
   From the same ``a`` and ``z`` it accumulates ``||delta_i||^2 (||a_i||^2 + 1)`` (AGN eq. 5 via Goodfellow's trick,
   see :mod:`lcsim.live.proxies`) — no extra backward pass. Its mean over the epoch's samples is ``agn``; the running
   sum over epochs ``agn_sum`` approximates the paper's AGN(theta_T) with each sample at the weights of its step.
2. *evaluation pass* (``model.eval()``, no gradients, chunks of ``eval_batch_size``): loss, accuracy, balanced
   accuracy and ROC AUC on train/valid/test at the end-of-epoch weights; FGHPO sharpness (Theorem 1 per mini-batch,
   max over the mini-batches of the epoch just trained, Algorithm 1 lines 7-10; ``sharpness`` with the activation
   chosen by ``sharpness_activation``, ``sharpness_output`` always with the softmax output); ``agn_end``, eq. 5
   evaluated exactly at the end-of-epoch model theta_{tau N/B}, and its running sum ``agn_end_sum``, eq. 5's
   AGN(theta_T) (what the AGN search objectives read by default, :mod:`lcsim.optimizers.scores`); optionally ``gn``
   (eq. 4 inner term ``1/N sum_i ||grad L(theta; x_i)||^2``, all parameters, at the end-of-epoch model) and its
   running sum ``gn_sum`` over epoch ends.
3. *GN over every iteration* (``gn=True, gn_every="iteration"``): after every optimizer step t of the training pass
   the eq. 4 inner term is evaluated at theta_t (model in eval mode, then back to train mode; no generator is read,
   so the training trajectory is unchanged); ``gn_iter`` is its sum over the epoch's iterations and ``gn_iter_sum``
   the running total over all iterations so far, i.e. AGN eq. 4's ``GN(theta_T) = sum_{t=1..T} 1/N sum_i
   ||grad L(theta_t; x_i)||^2``. ``gn`` is then the value after the epoch's last step (the end-of-epoch model), so
   no extra pass is run for it. The seconds of these passes count in ``eval_seconds``; ``train_seconds`` stays the
   training pass alone.

Divergence: a non-finite training loss (or non-finite end-of-epoch losses) ends the run; that epoch's record holds
NaN for every loss-derived value and ``diverged=True`` stays set; further ``train_until`` calls train nothing.

Randomness: initialisation, data order and dropout masks come from three ``torch.Generator`` objects derived from
the run's seed (:func:`lcsim.seeding.derive`); no global RNG is read or advanced.
"""
from __future__ import annotations

import io
import math
import os
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import InvalidParameterError, check_choice, check_float, check_int, unknown_name
from ..seeding import derive, torch_generator
from .datasets import Dataset
from .metrics import classification_metrics
from .models import MODEL_FAMILIES, build_model, set_generator
from .proxies import agn_batch_sum, agn_terms, ce_delta, per_sample_grad_sq_norms, sharpness_max
from .spaces import canonical_config

__all__ = ["Trainer", "OPTIMIZER_KEYS", "GN_EVERY", "metric_names", "METRIC_DIRECTIONS", "train"]

#: configuration keys read by the optimizer part and their defaults
OPTIMIZER_KEYS = {"optimizer": "sgd", "batch_size": 32, "learning_rate": 0.01, "momentum": 0.9, "weight_decay": 0.0}

#: where GN (AGN eq. 4 inner term) is evaluated: at epoch ends only, or after every optimizer step (eq. 4's sum)
GN_EVERY = ["epoch", "iteration"]

#: metric -> minimize?
METRIC_DIRECTIONS = {
    **{f"{s}_{m}": m == "loss" for s in ("train", "valid", "test") for m in ("loss", "acc", "bacc", "auc")},
    "sharpness": True, "sharpness_output": True, "agn": True, "agn_sum": True, "agn_end": True, "agn_end_sum": True,
    "gn": True, "gn_sum": True, "gn_iter": True, "gn_iter_sum": True,
    "train_seconds": True, "eval_seconds": True, "epoch_seconds": True,
}


def metric_names(gn: bool = False, gn_every: str = "epoch") -> list[str]:
    """The per-epoch record columns, in order (``gn``, ``gn_sum`` only when GN is computed; ``gn_iter``,
    ``gn_iter_sum``, AGN eq. 4 over every iteration, only with ``gn_every="iteration"``)."""
    check_choice("metric_names", "gn_every", gn_every, GN_EVERY)
    names = [f"{s}_{m}" for s in ("train", "valid", "test") for m in ("loss", "acc", "bacc", "auc")]
    names += ["sharpness", "sharpness_output", "agn", "agn_sum", "agn_end", "agn_end_sum"]
    if gn:
        names += ["gn", "gn_sum"]
        if gn_every == "iteration":
            names += ["gn_iter", "gn_iter_sum"]
    return names + ["train_seconds", "eval_seconds", "epoch_seconds"]


def _validate_optimizer(cfg: dict, n_train: int) -> dict:
    owner = "Trainer"
    out = {k: cfg.get(k, v) for k, v in OPTIMIZER_KEYS.items()}
    check_choice(owner, "optimizer", out["optimizer"], ["sgd", "adam"])
    bs = out["batch_size"]
    if isinstance(bs, float) and bs.is_integer():
        bs = int(bs)
    out["batch_size"] = check_int(owner, "batch_size", bs, 1)
    out["learning_rate"] = check_float(owner, "learning_rate", out["learning_rate"], 0.0, 100.0, closed="right")
    out["momentum"] = check_float(owner, "momentum", out["momentum"], 0.0, 1.0, closed="left")
    out["weight_decay"] = check_float(owner, "weight_decay", out["weight_decay"], 0.0, 10.0)
    return out


class Trainer:
    """Train one configuration of a model family on a :class:`~lcsim.live.datasets.Dataset`.

    Args:
        dataset: the data (train/valid/test).
        family: a key of :data:`lcsim.live.models.MODEL_FAMILIES` (``mlp``, ``cnn_mnist``, ``cnn_svhn``,
            ``resnet20``).
        config: hyperparameters: architecture keys of the family plus :data:`OPTIMIZER_KEYS` (``optimizer`` "sgd"
            with momentum / weight decay, or "adam" with weight decay and default betas; ``batch_size``,
            ``learning_rate``, ``momentum``, ``weight_decay``). Missing keys take the defaults; unknown keys raise
            :class:`~lcsim.errors.UnknownNameError`.
        seed: the run's seed (int or SeedSequence).
        device: ``"cpu"`` or ``"cuda"``.
        gn: also compute GN (AGN eq. 4 inner term) at the end of every epoch (expensive).
        gn_every: ``"epoch"`` (default: ``gn`` at epoch ends only) or ``"iteration"``: also evaluate it after every
            optimizer step and record ``gn_iter`` (sum over the epoch's steps) and ``gn_iter_sum`` (running total,
            AGN eq. 4's GN(theta_T)); costs one GN pass per step. Needs ``gn=True``.
        gn_max_samples: compute GN on the first ``gn_max_samples`` training samples only (None: all).
        sharpness_activation: ``"input"`` (a^[L-1], default) or ``"output"`` (softmax); see
            :mod:`lcsim.live.proxies`.
        sharpness_weight_norm: ``"fro"`` (default) or ``"spectral"``.
        eval_batch_size: chunk size of the evaluation pass.
        agn: accumulate AGN during the training pass (default); ``False`` records NaN for ``agn``/``agn_sum``
            (used to time a plain training epoch).

    Raises:
        InvalidParameterError: an architecture or optimizer value outside its valid range (the message states it).
    """

    def __init__(self, dataset: Dataset, family: str = "mlp", config: dict | None = None, seed=0, *,
                 device: str = "cpu", gn: bool = False, gn_every: str = "epoch", gn_max_samples: int | None = None,
                 sharpness_activation: str = "input", sharpness_weight_norm: str = "fro",
                 eval_batch_size: int = 4096, agn: bool = True):
        config = dict(config or {})
        self.dataset = dataset
        self.family = family
        self.config = config
        self.device = torch.device(device)
        self.gn = bool(gn)
        self.gn_every = check_choice("Trainer", "gn_every", gn_every, GN_EVERY)
        if self.gn_every == "iteration" and not self.gn:
            raise InvalidParameterError("The 'gn_every' parameter of Trainer is 'iteration' but gn=False: GN over "
                                        "every iteration needs gn=True.")
        self.agn = bool(agn)
        self.gn_max_samples = None if gn_max_samples is None else check_int("Trainer", "gn_max_samples",
                                                                              gn_max_samples, 1)
        self.sharpness_activation = check_choice("Trainer", "sharpness_activation", sharpness_activation,
                                                 ["input", "output"])
        self.sharpness_weight_norm = check_choice("Trainer", "sharpness_weight_norm", sharpness_weight_norm,
                                                  ["fro", "spectral"])
        self.eval_batch_size = check_int("Trainer", "eval_batch_size", eval_batch_size, 1)
        self.opt_cfg = _validate_optimizer(config, len(dataset.y_train))
        if family in MODEL_FAMILIES:
            valid = set(OPTIMIZER_KEYS) | set(MODEL_FAMILIES[family])
            for key in sorted(set(config) - valid):  # a typo must not silently fall back to a default
                raise unknown_name(f"{family} hyperparameter", key, valid)
        self.seed = seed
        gdev = "cuda" if self.device.type == "cuda" else "cpu"
        g_init = torch_generator(derive(seed, "init"), gdev)
        self.g_data = torch_generator(derive(seed, "data"))  # CPU: randperm indices
        self.g_drop = torch_generator(derive(seed, "dropout"), gdev)
        self.model = build_model(family, config, dataset.input_shape, dataset.n_classes, g_init, self.device)
        set_generator(self.model, self.g_drop)
        self.has_bn = any(isinstance(m, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)) for m in self.model.modules())
        o = self.opt_cfg
        if o["optimizer"] == "sgd":
            self.optimizer = torch.optim.SGD(self.model.parameters(), lr=o["learning_rate"], momentum=o["momentum"],
                                             weight_decay=o["weight_decay"])
        else:
            self.optimizer = torch.optim.Adam(self.model.parameters(), lr=o["learning_rate"],
                                              weight_decay=o["weight_decay"])
        dev = self.device
        self._x = {s: torch.as_tensor(getattr(dataset, f"x_{s}"), device=dev) for s in ("train", "valid", "test")}
        self._y = {s: torch.as_tensor(getattr(dataset, f"y_{s}"), device=dev) for s in ("train", "valid", "test")}
        self.metrics = metric_names(self.gn, self.gn_every)
        self.epoch = 0
        self.records: list[dict] = []
        self.diverged = False
        self._sums = {"agn": 0.0, "agn_end": 0.0, "gn": 0.0, "gn_iter": 0.0}

    # ----------------------------------------------------------------------------------------------------- training
    def train_until(self, epoch: int) -> list[dict]:
        """Train up to ``epoch`` (1-based, inclusive), resuming from :attr:`epoch`; return records 1..epoch.

        A diverged run stops at its divergence epoch: the returned list is then shorter than ``epoch``.
        """
        epoch = check_int("Trainer.train_until", "epoch", epoch, 1)
        while self.epoch < epoch and not self.diverged:
            self.records.append(self._one_epoch())
        return [dict(r) for r in self.records[:epoch]]

    def _one_epoch(self) -> dict:
        model, opt = self.model, self.optimizer
        x, y = self._x["train"], self._y["train"]
        n, bs = len(y), self.opt_cfg["batch_size"]
        model.train()
        t0 = time.perf_counter()
        perm = torch.randperm(n, generator=self.g_data).to(self.device)
        agn_parts: list[torch.Tensor] = []
        buf_a: list[torch.Tensor] = []
        buf_z: list[torch.Tensor] = []
        buf_y: list[torch.Tensor] = []
        buffered = 0
        has_bias = model.head.bias is not None
        used = 0
        diverged = False
        gn_steps: list[float] = []  # AGN eq. 4 inner term after each step t of this epoch (gn_every="iteration")
        gn_s = 0.0  # seconds of those GN passes: counted in eval_seconds, not in train_seconds
        for start in range(0, n, bs):
            idx = perm[start:start + bs]
            if len(idx) == 1 and self.has_bn and start > 0:
                break  # batch norm cannot train on a single sample: drop a trailing batch of one
            xb, yb = x[idx], y[idx]
            a = model.features(xb)
            z = model.head(a)
            loss = F.cross_entropy(z, yb)
            if not torch.isfinite(loss):
                diverged = True
                break
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if self.gn_every == "iteration":
                t_g = time.perf_counter()
                gn_steps.append(self._gn_now())
                gn_s += time.perf_counter() - t_g
            if self.agn:  # AGN eq. 5 from this forward pass (Goodfellow's trick), no extra backward: keep the
                buf_a.append(a.detach())  # detached activations/logits and reduce them in a few large kernels
                buf_z.append(z.detach())
                buf_y.append(yb)
                buffered += len(idx)
                if buffered >= 8192:
                    agn_parts.append(agn_batch_sum(torch.cat(buf_a), torch.cat(buf_z), torch.cat(buf_y), has_bias))
                    buf_a, buf_z, buf_y, buffered = [], [], [], 0
            used += len(idx)
        if self.agn and buffered:
            agn_parts.append(agn_batch_sum(torch.cat(buf_a), torch.cat(buf_z), torch.cat(buf_y), has_bias))
        if self.device.type == "cuda":
            torch.cuda.synchronize()
        train_s = time.perf_counter() - t0 - gn_s
        self.epoch += 1
        rec: dict = {"epoch": self.epoch}
        t1 = time.perf_counter()
        if not diverged:
            agn = (float(torch.stack(agn_parts).double().sum()) / max(used, 1) if self.agn and agn_parts
                   else float("nan"))
            diverged = self.agn and not math.isfinite(agn)
            if not diverged:
                ev = self._evaluate(perm, gn_steps[-1] if gn_steps else None)
                diverged = not all(math.isfinite(ev[f"{s}_loss"]) for s in ("train", "valid"))
        if diverged:
            self.diverged = True
            rec.update({m: float("nan") for m in self.metrics})
        else:
            rec.update(ev)
            rec["agn"] = agn
            self._sums["agn"] += agn
            self._sums["agn_end"] += rec["agn_end"]
            rec["agn_sum"], rec["agn_end_sum"] = self._sums["agn"], self._sums["agn_end"]
            if self.gn:
                self._sums["gn"] += rec["gn"]
                rec["gn_sum"] = self._sums["gn"]
            if self.gn_every == "iteration":  # eq. 4: GN(theta_T) sums the inner term over every iteration t <= T
                rec["gn_iter"] = math.fsum(gn_steps)
                self._sums["gn_iter"] += rec["gn_iter"]
                rec["gn_iter_sum"] = self._sums["gn_iter"]
        eval_s = time.perf_counter() - t1 + gn_s
        rec.update(train_seconds=train_s, eval_seconds=eval_s, epoch_seconds=train_s + eval_s,
                   diverged=self.diverged)
        return rec

    @torch.no_grad()
    def _forward_all(self, split: str, keep_features: bool):
        x = self._x[split]
        feats, logits = [], []
        for s in range(0, len(x), self.eval_batch_size):
            a = self.model.features(x[s:s + self.eval_batch_size])
            logits.append(self.model.head(a))
            if keep_features:
                feats.append(a)
        z = torch.cat(logits) if logits else torch.zeros((0, self.dataset.n_classes), device=self.device)
        return (torch.cat(feats) if keep_features else None), z

    def _gn_now(self) -> float:
        """AGN eq. 4 inner term at the current weights: mean over the first ``gn_max_samples`` (default all) training
        samples of the squared per-sample gradient norm of all parameters, in eval mode (dropout off, batch-norm
        running statistics, so the per-sample loss is well defined); restores the previous mode. Reads no
        generator and writes no ``.grad`` or buffer, so training continues exactly as without it."""
        y = self._y["train"]
        k = len(y) if self.gn_max_samples is None else min(len(y), self.gn_max_samples)
        was_training = self.model.training
        self.model.eval()
        try:
            with torch.enable_grad():
                g = per_sample_grad_sq_norms(self.model, self._x["train"][:k], y[:k])
        finally:
            self.model.train(was_training)
        return float(g.double().mean())

    def _evaluate(self, perm: torch.Tensor, gn_last: float | None = None) -> dict:
        self.model.eval()
        out: dict = {}
        a, z = self._forward_all("train", True)
        for split in ("train", "valid", "test"):
            zz = z if split == "train" else self._forward_all(split, False)[1]
            m = classification_metrics(zz.double().cpu().numpy(), self._y[split].cpu().numpy())
            out.update({f"{split}_{k}": v for k, v in m.items()})
        head = self.model.head
        bs, wn = self.opt_cfg["batch_size"], self.sharpness_weight_norm
        out["sharpness_output"] = sharpness_max(torch.softmax(z, dim=1)[perm], head.weight, bs, wn)
        out["sharpness"] = (sharpness_max(a[perm], head.weight, bs, wn) if self.sharpness_activation == "input"
                            else out["sharpness_output"])
        y = self._y["train"]
        out["agn_end"] = float(agn_terms(a, ce_delta(z, y), head.bias is not None).double().mean())
        if self.gn:  # the last step's value (gn_every="iteration") is already GN at the end-of-epoch model
            out["gn"] = self._gn_now() if gn_last is None else gn_last
        return out

    # ----------------------------------------------------------------------------------------------------- results
    def curve(self, n_epoch: int | None = None) -> np.ndarray:
        """Records as an array of shape (n_epoch, len(self.metrics)); epochs not trained (or after divergence) NaN."""
        n_epoch = self.epoch if n_epoch is None else n_epoch
        out = np.full((n_epoch, len(self.metrics)), np.nan)
        for i, r in enumerate(self.records[:n_epoch]):
            out[i] = [r[m] for m in self.metrics]
        return out

    def to_frame(self):
        """Records as a pandas DataFrame (one row per trained epoch)."""
        import pandas as pd

        return pd.DataFrame(self.records, columns=["epoch"] + self.metrics + ["diverged"])

    # ----------------------------------------------------------------------------------------------------- resume
    def state_dict(self) -> dict:
        """Everything needed to continue this run elsewhere: model, optimizer, generator states, records."""
        return {"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                "g_data": self.g_data.get_state(), "g_drop": self.g_drop.get_state(), "epoch": self.epoch,
                "records": [dict(r) for r in self.records], "diverged": self.diverged, "sums": dict(self._sums),
                "family": self.family, "config": dict(self.config)}

    def load_state_dict(self, state: dict) -> None:
        """Restore a state from :meth:`state_dict` (same dataset, family and configuration)."""
        same_config = canonical_config(state.get("config") or {}) == canonical_config(self.config)
        if state.get("family") != self.family or not same_config:
            raise InvalidParameterError(
                f"The saved run is {state.get('family')!r} with config {state.get('config')}; this trainer is "
                f"{self.family!r} with config {self.config}. Build the Trainer with the saved family and config.")
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.g_data.set_state(state["g_data"])
        self.g_drop.set_state(state["g_drop"])
        self.epoch = int(state["epoch"])
        self.records = [dict(r) for r in state["records"]]
        self.diverged = bool(state["diverged"])
        self._sums = {"agn": 0.0, "agn_end": 0.0, "gn": 0.0, "gn_iter": 0.0, **state["sums"]}

    def save(self, path: str | os.PathLike) -> Path:
        """Write :meth:`state_dict` atomically to ``path`` (``torch.save`` format)."""
        from .._files import write_atomic

        buf = io.BytesIO()
        torch.save(self.state_dict(), buf)
        write_atomic(path, buf.getvalue())
        return Path(path)

    def restore(self, path: str | os.PathLike) -> Trainer:
        """Load a state written by :meth:`save` (weights only, no arbitrary objects are unpickled)."""
        state = torch.load(path, map_location=self.device, weights_only=True)
        self.load_state_dict(state)
        return self


def train(dataset: Dataset, family: str, config: dict, epochs: int, seed=0, **options):
    """Convenience: train ``config`` for ``epochs`` and return the records as a DataFrame."""
    t = Trainer(dataset, family, config, seed, **options)
    t.train_until(epochs)
    return t.to_frame()
