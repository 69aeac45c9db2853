"""DPL Fig. 2 and Fig. 7: LC-prediction quality (Spearman/Pearson of predicted vs true final value) and the
distribution of absolute relative errors, per observed fraction of the curve, for lcsim's learning-curve models
(per-curve power law, NN, GP; configuration-conditioned NN; the DPL ensemble)."""
from __future__ import annotations

import pandas as pd

from analysis.lc_prediction import prediction_quality, relative_errors
from lcsim.plotting import legend_outside, method_styles

from ._common import ROOT_SEED, load_tasks, parallel_map, single_threaded, write_outputs

CLAIM = "The DPL ensemble predicts final performance from partial curves better than GP/NN/LC baselines."
FRACTIONS = {"tiny": (0.2, 0.4, 0.8), "small": (0.1, 0.2, 0.4, 0.8), "full": (0.1, 0.2, 0.4, 0.6, 0.8)}
# configurations drawn per task, and model settings (tiny: a plumbing check in seconds)
N_TRAIN = {"tiny": 12, "small": 40, "full": 256}
# tasks per benchmark (None: the scale's own number); small: one per benchmark, ~4 min on 2 cores
MAX_TASKS = {"tiny": None, "small": 1, "full": None}
TINY_PARAMS = {"nn": {"epochs": 30, "n_members": 2}, "conditioned_nn": {"epochs": 30, "n_units": 16, "n_members": 2},
               "dpl": {"epochs": 30, "n_units": 16, "n_members": 2}}


def _predict(task, fractions, n_train: int, params: dict):
    """One task's per-configuration predictions, or the exception that stopped them (module level: runs in worker
    processes; single-threaded, so the numbers do not depend on ``--jobs``)."""
    from lcsim.surrogates import lc_predictions

    try:
        with single_threaded():
            return lc_predictions(task, fractions, n_train=n_train, seed=ROOT_SEED, model_params=params)
    except Exception as exc:  # noqa: BLE001 - recorded in the CSV header, never hidden
        return exc


def main(ctx):
    from lcsim.surrogates import LC_MODELS

    tasks = load_tasks(ctx, max_tasks=MAX_TASKS[ctx.scale.name])
    params = TINY_PARAMS if ctx.scale.name == "tiny" else {}
    n_train = N_TRAIN[ctx.scale.name]
    fractions = FRACTIONS[ctx.scale.name]
    print(f"  dpl_fig2: {len(tasks)} tasks x {len(fractions)} fractions x {len(LC_MODELS)} models "
          f"({ctx.jobs} process(es))", flush=True)
    preds = parallel_map(ctx, _predict, [(t, fractions, n_train, params) for t in tasks], desc="dpl_fig2 tasks")
    q_parts, e_parts = [], []
    for task, pred in zip(tasks, preds):
        if isinstance(pred, Exception):
            ctx.skip(f"task={task.key}", f"{type(pred).__name__}: {pred}")
            continue
        q_parts.append(prediction_quality(pred, by=("model", "fraction")).assign(task=task.key))
        e = relative_errors(pred)
        e_parts.append(e.groupby(["model", "fraction"])["abs_rel_error"].describe().reset_index()
                       .assign(task=task.key))
    cols = ["task", "model", "fraction", "spearman", "spearman_p", "pearson", "pearson_p", "n"]
    q = pd.concat(q_parts, ignore_index=True)[cols] if q_parts else pd.DataFrame(columns=cols)
    fig = None
    if q_parts:
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(1, 2, figsize=(9, 3.5))
        e = pd.concat(e_parts, ignore_index=True)
        styles = method_styles(LC_MODELS)  # the DPL ensemble in DPL's colour, as in Figs. 3-6
        panels = ((q, "spearman", "Spearman (predicted, true final)"), (e, "50%", "median |relative error| (Fig. 7)"))
        for ax, (frame, col, label) in zip(axes, panels):
            for m in LC_MODELS:
                d = frame[frame.model == m]
                if len(d):
                    line = d.groupby("fraction")[col].mean()  # mean over tasks
                    ax.plot(line.index, line.to_numpy(), label=m, **styles[m])
            ax.set_xlabel("observed fraction of the curve")
            ax.set_ylabel(label)
        legend_outside(axes[-1], handles_from=axes)
        axes[1].set_yscale("log")
        fig.tight_layout()
    meta = {"claim": CLAIM, "fractions": list(fractions), "n_train": n_train}
    if e_parts:
        write_outputs(ctx, "dpl_fig7", pd.concat(e_parts, ignore_index=True), None, meta=meta, script="dpl_fig2")
    return write_outputs(ctx, "dpl_fig2", q, fig, meta=meta)
