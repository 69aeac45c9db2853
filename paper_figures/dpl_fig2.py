"""DPL Fig. 2 and Fig. 7: LC-prediction quality (Spearman/Pearson of predicted vs true final value) and the
distribution of absolute relative errors, per observed fraction of the curve, for the registered surrogates."""
from __future__ import annotations

import importlib

import numpy as np
import pandas as pd

from analysis.lc_prediction import predict_from_fraction, prediction_quality, relative_errors

from ._common import ROOT_SEED, load_tasks, write_outputs

CLAIM = "The DPL ensemble predicts final performance from partial curves better than GP/NN/LC baselines."
# "module:Class" of surrogates with fit(X, epochs, y) / predict(X, epochs) -> (mean, std), written by the DPL helper
SURROGATES = {"dpl": "lcsim.surrogates.dpl_ensemble:DPLEnsemble", "power_law": "lcsim.surrogates.power_law:PowerLaw",
              "gp": "lcsim.surrogates.gp:GP", "nn": "lcsim.surrogates.nn:NN"}
FRACTIONS = (0.1, 0.2, 0.4, 0.6, 0.8)


def main(ctx):
    from lcsim.seeding import derive, make_rng

    tasks = load_tasks(ctx)
    q_parts, e_parts = [], []
    for name, spec in SURROGATES.items():
        mod, cls = spec.split(":")
        try:
            klass = getattr(importlib.import_module(mod), cls)
        except Exception as exc:  # noqa: BLE001
            ctx.skip(f"surrogate={name}", f"{type(exc).__name__}: {exc}")
            continue
        for task in tasks:
            try:
                sur = klass(seed=ROOT_SEED)
                rng = make_rng(derive(ROOT_SEED, "dpl_fig2", task.key))
                pred = predict_from_fraction(sur, task, FRACTIONS, max_configs=min(task.n_configs, 256), rng=rng)
            except Exception as exc:  # noqa: BLE001
                ctx.skip(f"surrogate={name} task={task.key}", f"{type(exc).__name__}: {exc}")
                continue
            q_parts.append(prediction_quality(pred).assign(surrogate=name, task=task.key))
            e = relative_errors(pred)
            e_parts.append(e.groupby("fraction")["abs_rel_error"].describe().reset_index()
                           .assign(surrogate=name, task=task.key))
    q = pd.concat(q_parts, ignore_index=True) if q_parts else pd.DataFrame(
        columns=["surrogate", "task", "fraction", "spearman", "spearman_p", "pearson", "pearson_p", "n"])
    fig = None
    if q_parts:
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(5, 3.5))
        for s, d in q.groupby("surrogate"):
            m = d.groupby("fraction")["spearman"].mean()
            ax.plot(m.index, m.to_numpy(), marker="o", label=s)
        ax.set_xlabel("observed fraction of the curve")
        ax.set_ylabel("Spearman (predicted, true final)")
        ax.legend(fontsize="small")
    if e_parts:
        write_outputs(ctx, "dpl_fig7", pd.concat(e_parts, ignore_index=True), None, meta={"claim": CLAIM}, script="dpl_fig2")
    return write_outputs(ctx, "dpl_fig2", q, fig, meta={"claim": CLAIM, "fractions": list(FRACTIONS)})
