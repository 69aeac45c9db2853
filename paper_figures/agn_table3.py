"""AGN Table 3 *analogue*: does AGN(theta_T) predict the generalization gap across architectures?

The paper scores complexity measures on the NeurIPS 2020 PGDL competition's 150 trained VGG-like models with the
competition's conditional-mutual-information score; lcsim has neither those models nor that score. This script keeps
the method -- rank the generalization gap of models of different architectures by a complexity measure computed from
training -- on a set the live backend trains: every architecture of :data:`ARCHS` (MLP, CNN and CNN-with-batch-norm
families) crossed with the same seeded random SGD configurations (``paper_figures._common.live_configs`` over
:data:`RANGES`, a range where most models fit the training set within the epochs, as the PGDL models were trained to
convergence), trained on digits (8x8 images scaled to [0, 1]). Measures: ``agn_sum`` (AGN accumulated during the
training passes), ``agn_end_sum`` (eq. 5's AGN(theta_T) at the end-of-epoch weights, the search objectives'), FGHPO
``sharpness`` (lcsim's flatness proxy, not Jiang et al.'s sharpness of the paper's table), ``dist_init`` = ||theta_T
- theta_0||_2 (Nagarajan & Kolter) and ``n_params`` (a crude stand-in for the VC dimension). No Jacobian norm.
Targets: the loss gap (validation - training loss, eq. 2) and the accuracy gap (training - validation accuracy,
PGDL's target).

``analysis.agn_study.cross_architecture`` gives, per measure and target, the Spearman correlation within each
architecture and pooled over all of them (the cross-architecture number), for all models (``subset = all``) and for
the well-fitted ones (``subset = well_fitted``: training accuracy >= :data:`WELL_FITTED`, architectures with at least
3 such models; AGN section 3 finds AGN informative only for well-fitted models). ``agn_table3.csv``: subset, measure,
target, arch, spearman, p, n; ``agn_table3_models.csv``: one row per trained model.
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from analysis.agn_study import cross_architecture
from lcsim.seeding import derive
from lcsim.threads import single_threaded

from ._common import ROOT_SEED, live_configs, live_dataset, write_outputs

NAME = "agn_table3"
CLAIM = ("AGN(theta_T) fails to predict the generalization gap across architectures: it scores above the VC "
         "dimension and Jacobian norm but below distance to initialization and sharpness (AGN Table 3, on PGDL "
         "models; lcsim runs an analogue on its own cross-architecture set).")
#: name -> (family, architecture keys)
ARCHS = {
    "mlp_1x32": ("mlp", {"num_layers": 1, "units": 32}),
    "mlp_2x64": ("mlp", {"num_layers": 2, "units": 64}),
    "mlp_3x128": ("mlp", {"num_layers": 3, "units": 128}),
    "cnn_6f_1b": ("cnn_mnist", {"filters": 6, "num_blocks": 1, "units": 64}),
    "cnn_6f_2b": ("cnn_mnist", {"filters": 6, "num_blocks": 2, "units": 84}),
    "cnnbn_4f_1b": ("cnn_svhn", {"filters": 4, "num_blocks": 1, "units": 64}),
}
#: scale -> (architectures, configurations per architecture, epochs)
SETTINGS = {"tiny": (("mlp_1x32", "cnn_6f_1b"), 3, 2), "small": (tuple(ARCHS), 8, 20), "full": (tuple(ARCHS), 32, 40)}
#: hyperparameter ranges of the cross-architecture set (log-uniform except momentum)
RANGES = {"batch_size": (32, 128), "learning_rate": (0.03, 0.3), "momentum": (0.5, 0.95), "weight_decay": (1e-6, 1e-3)}
#: training accuracy from which a model counts as well fitted
WELL_FITTED = 0.95
MEASURES = ("agn_sum", "agn_end_sum", "sharpness", "dist_init", "n_params")
TARGETS = ("gap", "gap_acc")


def train_model(ds, arch: str, config_id: int, config: dict, epochs: int) -> dict:
    """Train one (architecture, configuration) and return its final measures and gaps (one torch thread)."""
    import torch

    from lcsim.live import Trainer

    family, keys = ARCHS[arch]
    with single_threaded():
        tr = Trainer(ds, family, {**keys, **config}, derive(ROOT_SEED, "agn_table3", arch, config_id))
        theta0 = [p.detach().clone() for p in tr.model.parameters()]
        tr.train_until(epochs)
        dist = float(torch.sqrt(sum(((p.detach() - q) ** 2).sum() for p, q in zip(tr.model.parameters(), theta0))))
    r = tr.records[-1]
    return {"arch": arch, "family": family, "config_id": config_id, "epoch": int(r["epoch"]),
            "diverged": bool(tr.diverged), **{f"hp_{k}": v for k, v in config.items()},
            "train_loss": r["train_loss"], "val_loss": r["valid_loss"], "train_acc": r["train_acc"],
            "val_acc": r["valid_acc"], "agn_sum": r["agn_sum"], "agn_end_sum": r["agn_end_sum"],
            "sharpness": r["sharpness"], "dist_init": dist if not tr.diverged else np.nan,
            "n_params": int(sum(p.numel() for p in tr.model.parameters())),
            "gap": r["valid_loss"] - r["train_loss"], "gap_acc": r["train_acc"] - r["valid_acc"]}


def well_fitted(models: pd.DataFrame) -> pd.DataFrame:
    """Models with training accuracy >= WELL_FITTED, of the architectures that have at least 3 of them."""
    w = models[models["train_acc"] >= WELL_FITTED]
    n = w.groupby("arch")["config_id"].transform("size")
    return w[n >= 3]


def main(ctx):
    archs, n_cfg, epochs = SETTINGS[ctx.scale.name]
    ds = live_dataset("digits", image=True)
    configs = live_configs(n_cfg, derive(ROOT_SEED, "agn_table3", "configs"), RANGES)
    models = pd.DataFrame([train_model(ds, a, c, cfg, epochs) for a in archs for c, cfg in enumerate(configs)])
    rows = []
    with warnings.catch_warnings():  # n_params is constant within an architecture: NaN there, by design
        warnings.simplefilter("ignore")
        for subset, sub in (("all", models), ("well_fitted", well_fitted(models))):
            if sub["arch"].nunique() < 1:
                continue
            for m in MEASURES:
                for t in TARGETS:
                    rows.append(cross_architecture(sub, arch="arch", proxy=m, target=t, at_epoch=epochs)
                                .assign(subset=subset, measure=m, target=t))
    table = pd.concat(rows, ignore_index=True)[["subset", "measure", "target", "arch", "spearman", "p", "n"]]
    ctx.notes.append("analogue of AGN Table 3, not its protocol: PGDL models and the CMI score are not available; "
                     f"{len(archs)} architectures x {n_cfg} random SGD configurations x {epochs} epochs on digits, "
                     "Spearman rank correlation of each measure with the gap")
    if ctx.scale.name == "tiny":
        ctx.notes.append("tiny scale: 2 architectures x 3 configurations x 2 epochs (test plumbing only)")
    import matplotlib.pyplot as plt

    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.8), layout="constrained")
    for arch, d in models.groupby("arch", sort=False):
        a1.scatter(d["agn_end_sum"], d["gap"], s=14, label=arch)
    a1.set_xscale("log")
    agn = models["agn_end_sum"][np.isfinite(models["agn_end_sum"]) & (models["agn_end_sum"] > 0)]
    if len(agn):  # a run whose AGN exploded (finite, not diverged) would squash the axis: shown as a count instead
        hi = 10 * float(np.quantile(agn, 0.95))
        a1.set_xlim(0.5 * float(agn.min()), hi)
        beyond = int((agn > hi).sum())
        a1.set_xlabel("AGN(theta_T), eq. 5" + (f" ({beyond} model(s) beyond the axis)" if beyond else ""))
    a1.set_ylabel("val loss - train loss")
    from lcsim.plotting import legend_outside

    legend_outside(a1, fontsize="x-small")
    pooled = table[(table["arch"] == "pooled") & (table["target"] == "gap")]
    pooled.pivot(index="measure", columns="subset", values="spearman").plot.barh(ax=a2, legend=False)
    legend_outside(a2, fontsize="x-small", title="subset")
    a2.axvline(0, c="k", lw=0.8)
    a2.set_xlabel("pooled Spearman r with the loss gap")
    write_outputs(ctx, f"{NAME}_models", models, None, meta={"claim": CLAIM}, script=NAME)
    return write_outputs(ctx, NAME, table, fig, meta={"claim": CLAIM, "archs": {a: ARCHS[a] for a in archs},
                                                      "configs_per_arch": n_cfg, "epochs": epochs,
                                                      "ranges": RANGES, "well_fitted_train_acc": WELL_FITTED,
                                                      "dataset": "digits (1x8x8, scaled to [0, 1])"})
