"""Small, seeded files in the exact official layouts of LCBench and PD1 (raw and syne-tune-converted).

The real files are large and downloaded on demand; these generators write a few datasets x a few configurations in
the same layouts so loaders can be tested field by field, and users can try lcsim's readers without the downloads::

    from lcsim.testing.fixtures import write_lcbench_raw, write_pd1_raw
    raw = write_lcbench_raw(tmp / "lcbench" / "data_2k_lw.json")          # returns the dict it wrote
    recs = write_pd1_raw(tmp / "pd1")                                      # returns {file name: [records]}

The syne-tune writers follow syne-tune's conversion scripts (``scripts/lcbench/lcbench.py``: indices 1..50 of each
tag, ``time - time[0]``, ``num_layers`` as a string; ``scripts/pd1_import.py``: phase-1 files only, cumulative
``eval_time``, NaN-padded curves, per-task files, ``one_minus_momentum = 1 - hps.opt_hparams.momentum``) but are
written independently of lcsim's loaders, which read them.
"""
from __future__ import annotations

import gzip
import json
import math
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ..seeding import make_rng

__all__ = ["write_lcbench_raw", "write_lcbench_syne_tune", "write_pd1_raw", "write_pd1_syne_tune",
           "lcbench_raw_dict", "pd1_records", "LCBENCH_FIXTURE_DATASETS", "PD1_FIXTURE_TASKS"]

LCBENCH_FIXTURE_DATASETS = ("credit-g", "adult", "vehicle")
LCBENCH_TAGS = ["time", "epoch", "Train/loss", "Train/train_accuracy", "Train/val_accuracy",
                "Train/val_cross_entropy", "Train/val_balanced_accuracy", "Train/test_result",
                "Train/test_cross_entropy", "Train/test_balanced_accuracy"]
_CONSTANT_CONFIG = {"imputation_strategy": "mean", "learning_rate_scheduler": "cosine_annealing",
                    "loss": "CrossEntropyLoss", "network": "shapedmlpnet", "normalization_strategy": "standardize",
                    "optimizer": "sgd",
                    "cosine_annealing_T_max": 50, "cosine_annealing_eta_min": 1e-08, "activation": "relu",
                    "mlp_shape": "funnel"}


def lcbench_raw_dict(datasets: Sequence[str] = LCBENCH_FIXTURE_DATASETS, n_configs: int = 6, n_points: int = 52,
                     seed: int = 0) -> dict:
    """The nested dict of a raw LCBench json: ``{dataset: {config_id: {"config", "log", "results"}}}``.

    Every tag holds ``n_points`` values; the last repeats the one before it (as in the official data); ``time`` is
    cumulative seconds starting with the pre-training scoring; config 1's ``num_layers`` is JSON ``true`` (the
    official data's spelling of one layer).
    """
    rng = make_rng(seed)
    out = {}
    shared = []  # LCBench evaluates the same configurations on every dataset (syne-tune asserts it)
    for c in range(n_configs):
        shared.append({
            "batch_size": int(round(math.exp(rng.uniform(math.log(16), math.log(512))))),
            "learning_rate": float(math.exp(rng.uniform(math.log(1e-4), math.log(1e-1)))),
            "momentum": float(rng.uniform(0.1, 0.99)),
            "weight_decay": float(rng.uniform(1e-5, 1e-1)),
            "num_layers": True if c == 1 else int(rng.integers(2, 5)),
            "max_units": int(round(math.exp(rng.uniform(math.log(64), math.log(1024))))),
            "max_dropout": float(rng.uniform(0.0, 1.0)),
            **_CONSTANT_CONFIG})
    for t, ds in enumerate(datasets):
        runs = {}
        for c in range(n_configs):
            cfg = {**shared[c], "OpenML_task_id": 3000 + t, "instances": 1000 + 10 * t, "classes": 2 + t,
                   "features": 20 + t}
            e = np.arange(n_points, dtype=float)
            rate = rng.uniform(0.05, 0.3)
            bal = 0.5 + 0.4 * (1 - np.exp(-rate * e)) + 0.01 * rng.standard_normal(n_points)
            acc = 100 * (0.55 + 0.35 * (1 - np.exp(-rate * e))) + rng.standard_normal(n_points)
            ce = 0.3 + 0.6 * np.exp(-rate * e) + 0.01 * rng.standard_normal(n_points)
            step = rng.uniform(0.5, 3.0, n_points) * (cfg["max_units"] / 256)
            time = np.cumsum(step)
            log = {
                "time": time, "epoch": e + 1,
                "Train/loss": ce * 0.9, "Train/train_accuracy": acc + 2,
                "Train/val_accuracy": acc, "Train/val_cross_entropy": ce, "Train/val_balanced_accuracy": bal,
                "Train/test_result": acc - 1, "Train/test_cross_entropy": ce + 0.02,
                "Train/test_balanced_accuracy": bal - 0.01,
            }
            log = {k: [float(x) for x in v] for k, v in log.items()}
            for k in log:
                log[k][-1] = log[k][-2]  # the official last step repeats the one before
            results = {"final_train_accuracy": log["Train/train_accuracy"][-1],
                       "final_val_accuracy": log["Train/val_accuracy"][-1],
                       "final_test_accuracy": log["Train/test_result"][-1],
                       "final_val_balanced_accuracy": log["Train/val_balanced_accuracy"][-1],
                       "final_test_balanced_accuracy": log["Train/test_balanced_accuracy"][-1],
                       "final_val_cross_entropy": log["Train/val_cross_entropy"][-1],
                       "final_test_cross_entropy": log["Train/test_cross_entropy"][-1]}
            runs[str(c)] = {"config": cfg, "log": log, "results": results}
        out[ds] = runs
    return out


def write_lcbench_raw(path: str | Path, data: dict | None = None, as_zip: bool | None = None, **kwargs) -> dict:
    """Write a raw LCBench json (or, for a ``.zip`` path or ``as_zip``, the zip holding it); return the dict.

    ``kwargs`` go to :func:`lcbench_raw_dict` when ``data`` is None.
    """
    path = Path(path)
    data = lcbench_raw_dict(**kwargs) if data is None else data
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(data)
    if as_zip or (as_zip is None and path.suffix == ".zip"):
        member = path.with_suffix(".json").name
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            zf.writestr(member, text)
    else:
        path.write_text(text)
    return data


def write_lcbench_syne_tune(directory: str | Path, data: dict) -> Path:
    """Write syne-tune's converted LCBench blackbox for a raw dict (same ids 0..n-1 in every dataset)."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    names = ["val_accuracy", "val_balanced_accuracy", "val_cross_entropy", "test_accuracy",
             "test_balanced_accuracy", "test_cross_entropy", "time"]
    tags = ["Train/val_accuracy", "Train/val_balanced_accuracy", "Train/val_cross_entropy", "Train/test_result",
            "Train/test_balanced_accuracy", "Train/test_cross_entropy", "time"]
    tasks = list(data)
    n_cfg = len(data[tasks[0]])
    n_epoch = len(data[tasks[0]]["0"]["log"]["time"]) - 2
    ev = np.zeros((len(tasks), n_cfg, 1, n_epoch, len(names)))
    for t, ds in enumerate(tasks):
        for i in range(n_cfg):
            log = data[ds][str(i)]["log"]
            for j, tag in enumerate(tags):
                raw = np.asarray(log[tag], dtype=float)
                ev[t, i, 0, :, j] = raw[1:-1] - (raw[0] if tag == "time" else 0.0)
    cfgs = pd.DataFrame([data[tasks[0]][str(i)]["config"] for i in range(n_cfg)])
    cfgs = cfgs.loc[:, (cfgs != cfgs.iloc[0]).any()]  # syne-tune drops constant columns
    cfgs["num_layers"] = cfgs["num_layers"].apply(str)
    cfgs.to_parquet(d / "hyperparameters.parquet", index=False, compression="gzip")
    np.save(d / "objectives_evaluations.npy", ev.astype(np.float32), allow_pickle=False)
    np.save(d / "fidelities_values.npy", np.arange(1, n_epoch + 1), allow_pickle=False)
    (d / "configspace.json").write_text(json.dumps({
        "num_layers": {"domain_cls": "Categorical", "categories": ["True", "2", "3", "4"]},
        "max_units": {"domain_cls": "Integer", "lower": 64, "upper": 1024, "log": True},
        "batch_size": {"domain_cls": "Integer", "lower": 16, "upper": 512, "log": True},
        "learning_rate": {"domain_cls": "Float", "lower": 1e-4, "upper": 1e-1, "log": True},
        "weight_decay": {"domain_cls": "Float", "lower": 1e-5, "upper": 1e-1},
        "momentum": {"domain_cls": "Float", "lower": 0.1, "upper": 0.99},
        "max_dropout": {"domain_cls": "Float", "lower": 0.0, "upper": 1.0}}))
    (d / "fidelityspace.json").write_text(json.dumps({"epoch": {"domain_cls": "Integer", "lower": 1,
                                                                 "upper": n_epoch}}))
    (d / "metadata.json").write_text(json.dumps({
        "metric_elapsed_time": "time", "metric_default": "val_accuracy", "time_attr": "epoch",
        "objectives_names": names, "task_names": tasks}))
    return d


# --------------------------------------------------------------------------------------------------------- PD1
#: (dataset, model, activation or None, batch size, curve length, n trials per file)
PD1_FIXTURE_TASKS = (
    ("mnist", "max_pooling_cnn", "relu", 256, 12, 3),
    ("mnist", "max_pooling_cnn", "tanh", 256, 12, 2),
    ("cifar10", "wide_resnet", None, 256, 20, 3),
    ("lm1b", "transformer", None, 2048, 5, 2),        # too short for DPL's filter
    ("imagenet", "resnet", None, 1024, 60, 2),        # too long for DPL's filter
)
PD1_FILES = [f"pd1_{g}_phase{p}_results.jsonl.gz" for g in ("matched", "unmatched") for p in (0, 1)]


def pd1_records(seed: int = 0, tasks=PD1_FIXTURE_TASKS) -> dict[str, list[dict]]:
    """Raw PD1 records per file name, with nulls, diverged runs and error rates above 1 sprinkled in.

    In every file and task: trial 0 is ``done`` with full curves; trial 1 (when present) has ``status`` diverged
    and a curve cut short at 60 %; trial 2 (when present) has one null inside ``valid/error_rate`` and one error rate
    of 1.7 in ``train/error_rate``. Transformer tasks carry no ``test/*`` arrays (as in PD1). As in PD1,
    ``hps.opt_hparams.momentum`` is the momentum itself, ``1 - one_minus_momentum`` with one_minus_momentum drawn
    log-uniformly in [1e-3, 1] (the search space of syne-tune and DPL).
    """
    rng = make_rng(seed)
    out: dict[str, list[dict]] = {}
    for f in PD1_FILES:
        recs = []
        for (ds, model, act, bs, length, n) in tasks:
            for k in range(n):
                steps = list(range(100, 100 * (length + 1), 100))
                lr = float(math.exp(rng.uniform(math.log(1e-5), math.log(10))))
                omm = float(math.exp(rng.uniform(math.log(1e-3), 0.0)))
                base = rng.uniform(0.05, 0.4)
                e = np.arange(1, length + 1, dtype=float)
                err = base + 0.5 * e ** -0.7 + 0.005 * rng.standard_normal(length)
                ce = 2 * err + 0.1
                rec = {
                    "dataset": ds, "model": model, "hps.batch_size": bs,
                    "trial_dir": f"/{f}/{ds}/{model}/{act}/{bs}/trial_{k}",
                    "status": "diverged" if k == 1 else "done",
                    "hps.lr_hparams.initial_value": lr, "hps.lr_hparams.power": float(rng.uniform(0.1, 2.0)),
                    "hps.lr_hparams.decay_steps_factor": float(rng.uniform(0.01, 0.99)),
                    "hps.opt_hparams.momentum": 1.0 - omm, "global_step": steps,
                    "valid/error_rate": [float(x) for x in err], "valid/ce_loss": [float(x) for x in ce],
                    "train/error_rate": [float(x) for x in err * 0.8], "train/ce_loss": [float(x) for x in ce * 0.8],
                    "epoch": [float(x) for x in e * 0.5],
                    "eval_time": [float(x) for x in rng.uniform(1.0, 5.0, length)],
                    "best_valid/error_rate": float(err.min()),
                }
                if act is not None:
                    rec["hps.activation_fn"] = act
                if model != "transformer":
                    rec["test/error_rate"] = [float(x) for x in err + 0.01]
                    rec["test/ce_loss"] = [float(x) for x in ce + 0.02]
                if k == 1:
                    cut = max(1, int(0.6 * length))
                    for key in ("global_step", "valid/error_rate", "valid/ce_loss", "train/error_rate",
                                "train/ce_loss", "test/error_rate", "test/ce_loss", "epoch", "eval_time"):
                        if key in rec:
                            rec[key] = rec[key][:cut]
                if k == 2:
                    rec["valid/error_rate"][length // 2] = None
                    rec["train/error_rate"][1] = 1.7
                recs.append(rec)
        out[f] = recs
    return out


def write_pd1_raw(directory: str | Path, records: dict[str, list[dict]] | None = None, seed: int = 0) -> dict:
    """Write the four ``pd1_*_results.jsonl.gz`` files; return ``{file name: records}``."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    records = pd1_records(seed) if records is None else records
    for name, recs in records.items():
        with gzip.open(d / name, "wt", encoding="utf-8") as fh:
            for r in recs:
                fh.write(json.dumps(r) + "\n")
    return records


def _task_name(r: dict) -> str:
    act = r.get("hps.activation_fn")
    return f"{r['dataset']}_{r['model']}{'' if act is None else '_' + act}_batch_size_{r['hps.batch_size']}"


def write_pd1_syne_tune(directory: str | Path, records: dict[str, list[dict]]) -> Path:
    """Write syne-tune's converted PD1 blackbox from the phase-1 records (as ``pd1_import.py`` does).

    Like syne-tune's conversion, the ``one_minus_momentum`` column is ``1 - hps.opt_hparams.momentum`` of the record.
    """
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    recs = [r for name in ("pd1_matched_phase1_results.jsonl.gz", "pd1_unmatched_phase1_results.jsonl.gz")
            for r in records.get(name, [])]
    by_task: dict[str, list[dict]] = {}
    for r in recs:
        by_task.setdefault(_task_name(r), []).append(r)
    objectives = ["metric_valid_error_rate", "metric_valid_ce_loss", "metric_elapsed_time"]
    keys = ["valid/error_rate", "valid/ce_loss", "eval_time"]
    for task, rs in by_task.items():
        length = max(len(r["valid/error_rate"]) for r in rs)
        ev = np.full((len(rs), 1, length, 3), np.nan)
        for i, r in enumerate(rs):
            for j, k in enumerate(keys):
                v = [np.nan if x is None else x for x in r[k]]
                if k == "eval_time":
                    v = list(np.cumsum(v))
                ev[i, 0, : len(v), j] = v
        hp = pd.DataFrame({"lr_initial_value": [r["hps.lr_hparams.initial_value"] for r in rs],
                           "lr_power": [r["hps.lr_hparams.power"] for r in rs],
                           "lr_decay_steps_factor": [r["hps.lr_hparams.decay_steps_factor"] for r in rs],
                           "one_minus_momentum": [1 - r["hps.opt_hparams.momentum"] for r in rs]})
        hp.to_parquet(d / f"{task}-hyperparameters.parquet", index=False, compression="gzip")
        (d / f"{task}-fidelity_space.json").write_text(json.dumps(
            {"global_step": {"domain_cls": "Integer", "lower": 1, "upper": length}}))
        np.save(d / f"{task}-objectives_evaluations.npy", ev.astype(np.float32), allow_pickle=False)
        np.save(d / f"{task}-fidelity_values.npy", np.arange(1, length + 1), allow_pickle=False)
    (d / "configspace.json").write_text(json.dumps({
        "lr_initial_value": {"domain_cls": "Float", "lower": 1e-5, "upper": 10.0, "log": True},
        "lr_power": {"domain_cls": "Float", "lower": 0.1, "upper": 2.0},
        "lr_decay_steps_factor": {"domain_cls": "Float", "lower": 0.01, "upper": 0.99},
        "one_minus_momentum": {"domain_cls": "Float", "lower": 1e-3, "upper": 1.0, "log": True}}))
    (d / "metadata.json").write_text(json.dumps({
        "metric_elapsed_time": "metric_elapsed_time", "metric_default": "metric_valid_error_rate",
        "time_attr": "global_step", "objectives_names": objectives, "task_names": list(by_task)}))
    return d
