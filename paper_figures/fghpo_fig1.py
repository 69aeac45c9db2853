"""FGHPO Fig. 1 / Fig. 4: filter-normalized 2-D loss landscapes (Li et al. 2018) of a low- and a high-sharpness
configuration, with their train/test metrics.

The paper plots, for one dataset (Fig. 1: Australian; Fig. 4: more OpenML datasets), the landscape of a configuration
with low and one with high sharpness (Theorem 1) and reports train and test accuracy/AUC and the generalization gap.

lcsim's version, with real training (:class:`lcsim.live.Trainer`, which records the Theorem 1 sharpness at every
epoch end) and :func:`analysis.landscape.loss_landscape`:

1. sample :data:`SETTINGS` ``n_configs`` configurations of FGHPO's OpenML MLP space (Table 3, trained with Adam:
   ``lcsim.proxy.spaces.SPACES["fghpo_openml"]``) and train each for one epoch (the FGHPO probe);
2. among the probes that train (finite, non-zero sharpness and an epoch-1 training loss below chance level,
   ``log(n_classes)``: the paper's two examples both fit the training set, while a random draw from this space often
   explodes with a learning rate near 1, which would make "high" a diverging run), take the lowest ("low") and the
   highest ("high") sharpness;
3. continue both runs to ``epochs`` epochs and compute the training-set cross-entropy on an ``n x n`` grid of
   ``[-1, 1]^2`` along two filter-normalized random directions (biases ignored), from the end-of-training weights.

Datasets: the paper's OpenML sets need the OpenML cache (not shipped). ``small``/``full`` use scikit-learn's
digits, ``tiny`` (tests) iris with 8 probes, 2 epochs and a 5 x 5 grid; both as lcsim loads the Bayesmark
datasets (:func:`lcsim.live.load_dataset`: no preprocessing, 60/20/20 split, split seed 0).

``sharpness`` in ``fghpo_fig1.csv`` is the epoch-1 value the selection used; ``fghpo_fig1_configs.csv`` lists every
probe (configuration, run seed, epoch-1 sharpness and training loss) and, for the two selected runs, the final
sharpness, train/test loss and accuracy and the accuracy gap, so a run can be retrained from the CSV alone (the tests
do). Training runs on one thread (:func:`paper_figures._common.single_threaded`).
"""
from __future__ import annotations

import json

import numpy as np
import pandas as pd

from ._common import ROOT_SEED, single_threaded, write_outputs

CLAIM = ("A configuration with low sharpness after one epoch has a wider, flatter minimum than one with high "
         "sharpness; the sharper one can fit the training set as well or faster yet generalizes worse.")
SETTINGS = {"tiny": dict(dataset="iris", n_configs=8, epochs=2, n=5),
            "small": dict(dataset="digits", n_configs=10, epochs=10, n=15),
            "full": dict(dataset="digits", n_configs=50, epochs=100, n=41)}
SPACE = "fghpo_openml"


def train_loss_fn(model, data):
    """Mean training cross-entropy of ``model`` (evaluation mode) on ``data = (x, y)``: the landscape's height."""
    import torch.nn.functional as F

    model.eval()
    x, y = data
    return F.cross_entropy(model(x), y)


def main(ctx):
    with single_threaded():
        return _main(ctx)


def _main(ctx):
    import torch

    from analysis.landscape import loss_landscape, plot_landscape
    from lcsim.live import Trainer, load_dataset, sample_configs
    from lcsim.proxy.spaces import SPACES
    from lcsim.seeding import derive, int_seed

    st = SETTINGS[ctx.scale.name]
    if ctx.scale.name == "tiny":
        ctx.notes.append(f"tiny scale: iris, {st['n_configs']} probes, {st['epochs']} epochs, "
                         f"{st['n']} x {st['n']} grid (test plumbing only, not a result)")
    ctx.notes.append(f"dataset: scikit-learn {st['dataset']}; the paper's Fig. 1 uses OpenML Australian (Fig. 4 more "
                     "OpenML sets), whose data needs the OpenML cache, which lcsim does not ship")
    factory, family = SPACES[SPACE]
    ds = load_dataset(st["dataset"], seed=0)
    configs = sample_configs(factory(), st["n_configs"], derive(ROOT_SEED, "fghpo_fig1", "configs"))
    probes, trainers = [], {}
    for i, row in enumerate(configs.to_dict("records")):
        cfg = {k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()}
        seed = int_seed(derive(ROOT_SEED, "fghpo_fig1", st["dataset"], i))
        tr = Trainer(ds, family, cfg, seed)
        rec = tr.train_until(1)[0]
        trainers[i] = tr
        probes.append({"config_index": i, "config": json.dumps(cfg, sort_keys=True), "run_seed": seed,
                       "sharpness_epoch1": rec["sharpness"], "train_loss_epoch1": rec["train_loss"]})
    probes = pd.DataFrame(probes)
    chance = float(np.log(ds.n_classes))
    ok = probes[np.isfinite(probes.sharpness_epoch1) & (probes.sharpness_epoch1 > 0)
                & (probes.train_loss_epoch1 < chance)]
    cols = ["label", "sharpness", "alpha", "beta", "loss"]
    if len(ok) < 2:
        ctx.skip(f"dataset={st['dataset']}", f"only {len(ok)} probe(s) train (finite non-zero sharpness, "
                 "epoch-1 training loss below chance level)")
        return write_outputs(ctx, "fghpo_fig1", pd.DataFrame(columns=cols), None, meta={"claim": CLAIM})
    chosen = {"low": int(ok.loc[ok.sharpness_epoch1.idxmin(), "config_index"]),
              "high": int(ok.loc[ok.sharpness_epoch1.idxmax(), "config_index"])}
    probes["label"] = ""
    parts = []
    x, y = (torch.as_tensor(ds.x_train), torch.as_tensor(ds.y_train))
    for label, i in chosen.items():
        tr = trainers[i]
        recs = tr.train_until(st["epochs"])
        last = recs[-1]
        j = probes.index[probes.config_index == i][0]
        probes.loc[j, "label"] = label
        for k, v in {"epochs": len(recs), "diverged": bool(tr.diverged), "sharpness_final": last["sharpness"],
                     "train_loss": last["train_loss"], "train_acc": last["train_acc"],
                     "test_loss": last["test_loss"], "test_acc": last["test_acc"],
                     "acc_gap": last["train_acc"] - last["test_acc"]}.items():
            probes.loc[j, k] = v
        land = loss_landscape(tr.model, train_loss_fn, (x, y), n=st["n"], span=1.0,
                              seed=int_seed(derive(ROOT_SEED, "fghpo_fig1", "directions", label)))
        parts.append(land.assign(label=label, sharpness=float(probes.loc[j, "sharpness_epoch1"])))
    data = pd.concat(parts, ignore_index=True)[cols]
    meta = {"claim": CLAIM, "dataset": st["dataset"], "split_seed": 0, "space": SPACE, "family": family,
            "epochs": st["epochs"], "grid": st["n"], "span": 1.0, "chosen": chosen,
            "chance_loss": chance}
    write_outputs(ctx, "fghpo_fig1_configs", probes, None, meta=meta, script="fghpo_fig1")

    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    for ax, label in zip(axes[:2], ("low", "high")):
        d = data[data.label == label]
        plot_landscape(d, ax, levels=15)
        ax.set_title(f"{label} sharpness ({d.sharpness.iloc[0]:.3g} after epoch 1)", fontsize="small")
    sel = probes[probes.label != ""].set_index("label").loc[["low", "high"]]
    sel[["train_acc", "test_acc", "acc_gap"]].plot.bar(ax=axes[2], rot=0)
    axes[2].set_title(f"{st['dataset']}, {st['epochs']} epochs", fontsize="small")
    fig.tight_layout()
    return write_outputs(ctx, "fghpo_fig1", data, fig, meta=meta)
