"""DPL Fig. 1: the DPL power-law ensemble's mean and uncertainty (a) along a 1-D slice of the search space at a few
budgets and (b) across budgets for one partially observed configuration.

The paper (section 4, Fig. 1) fits its surrogate on a 1-D search space (CIFAR10, dropout rate) in which one region
is observed up to the maximal budget and other configurations only partially, then plots the prediction at the
maximal budget across the dropout rate (left) and across budgets for one partially observed configuration (right).

lcsim's version, through :class:`lcsim.surrogates.DPLLC` (the DPL ensemble behind the LCModel interface, the paper's
architecture and training settings) and :func:`analysis.lc_prediction.slice_data` / ``budget_data``:

* ``small`` / ``full`` (one illustration, the same at both scales): the YAHPO-LCBench surrogate task (first task
  id, served directly so any configuration on the slice can be evaluated). The slice varies ``max_dropout`` (LCBench's
  dropout rate) over its range with every other hyperparameter fixed at the reference tabulation's best
  configuration. Training data, all on the slice: :data:`N_FULL` dropout rates drawn uniformly from the lower half of
  the range and observed for all 52 epochs, and :data:`N_PARTIAL` drawn from the upper half observed for a few
  epochs (drawn between 1/20 and 1/4 of the budget); panel (b) is the first partially observed one. Targets are
  :func:`lcsim.surrogates.lc_targets` (1 - validation balanced accuracy); ``true`` holds the YAHPO surrogate's own
  value at every predicted point.
* ``tiny`` (tests only): the synthetic power-law task's pool, configurations with dropout < 0.45 fully observed and
  the others for 1-3 epochs; the slice goes through pool configuration 0 along ``dropout``; small ensemble settings
  (:data:`TINY_DPL`). ``true`` is only known on the pool (panel b).

Outputs: ``dpl_fig1.csv`` (panel, param, value, epoch, mean, std, true, observed) and ``dpl_fig1_train.csv`` (every
observed training point: row, value, epoch, target and the encoded configuration ``x_<name>``), so the fit can be
redone from the CSV alone (the tests do, with a fresh DPLLC of the recorded seed). The fit runs single-threaded
(:func:`paper_figures._common.single_threaded`).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.lc_prediction import budget_data, slice_data

from ._common import ROOT_SEED, single_threaded, write_outputs

CLAIM = ("The power-law surrogate is confident near observed configurations and more uncertain for partially "
         "observed ones, the more so further from the observed region; for a partially observed configuration the "
         "uncertainty grows with the budget beyond the last observed epoch.")
N_FULL, N_PARTIAL, N_VALUES = 6, 3, 41
TINY_DPL = {"epochs": 20, "n_members": 2, "n_units": 16}
SMALL_DPL = {"epochs": 250}  # DPLEnsemble defaults: 5 members, 2 x 128 units, Adam 1e-3, L1, batch 64


def _yahpo_setup(ctx, rng):
    """Slice configurations and their curves from the YAHPO-LCBench surrogate (None if unavailable)."""
    from lcsim import benchmarks
    from lcsim.benchmarks import get_benchmark
    from lcsim.surrogates import lc_targets

    try:
        name = get_benchmark("lcbench_yahpo").tasks()[0]
        task = benchmarks.load("lcbench_yahpo", name, direct=True)
    except Exception as exc:  # noqa: BLE001 -- missing data or loader: skip with the reason
        ctx.skip("benchmark=lcbench_yahpo", f"{type(exc).__name__}: {exc}")
        return None
    param = "max_dropout"
    hp = task.space[param]
    lo, hi = float(hp.lower), float(hp.upper)
    ref = lc_targets(task)
    base = task.configs.iloc[int(np.argmin(ref[:, -1]))].to_dict()
    T = task.n_epochs
    mid = lo + 0.5 * (hi - lo)
    train_vals = np.concatenate([np.sort(rng.uniform(lo, mid, N_FULL)), np.sort(rng.uniform(mid, hi, N_PARTIAL))])
    n_obs = np.concatenate([np.full(N_FULL, T), rng.integers(max(1, T // 20), T // 4 + 1, N_PARTIAL)])
    values = np.linspace(lo, hi, N_VALUES)
    grown = task.fresh()
    ids = []
    for v in np.concatenate([train_vals, values]):
        ids.append(grown.add_config({**base, param: float(v)}))
    Y = lc_targets(grown)[ids]
    cfgs = grown.configs.iloc[ids[:len(train_vals)]].reset_index(drop=True)
    return dict(task=task, param=param, base=base, train_configs=cfgs, Y=Y[:len(train_vals)], n_obs=n_obs,
                values=values, true_slice=Y[len(train_vals):], panel_b=N_FULL, dpl=SMALL_DPL)


def _synthetic_setup(ctx, rng):
    from lcsim.benchmarks.synthetic import synthetic_task
    from lcsim.surrogates import lc_targets

    ctx.notes.append("tiny scale: synthetic power-law task, small DPL ensemble (test plumbing only, not a result)")
    task = synthetic_task(n_configs=ctx.scale.max_configs, n_epochs=9, seed=0, name="powerlaw0")
    param = "dropout"
    Y = lc_targets(task)
    T = task.n_epochs
    full = task.configs[param].to_numpy() < 0.45
    n_obs = np.where(full, T, rng.integers(1, 4, task.n_configs))
    return dict(task=task, param=param, base=task.configs.iloc[0].to_dict(), train_configs=task.configs, Y=Y,
                n_obs=n_obs, values=np.linspace(0.0, 0.9, 7), true_slice=None,
                panel_b=int(np.flatnonzero(~full)[0]), dpl=TINY_DPL)


def main(ctx):
    from lcsim.seeding import derive, int_seed, make_rng
    from lcsim.space import encode_configs
    from lcsim.surrogates import DPLLC

    tiny = ctx.scale.name == "tiny"
    rng = make_rng(derive(ROOT_SEED, "dpl_fig1", "data"))
    s = _synthetic_setup(ctx, rng) if tiny else _yahpo_setup(ctx, rng)
    cols = ["panel", "param", "value", "epoch", "mean", "std", "true", "observed"]
    if s is None:
        return write_outputs(ctx, "dpl_fig1", pd.DataFrame(columns=cols), None, meta={"claim": CLAIM})
    task, param, T = s["task"], s["param"], s["task"].n_epochs
    budgets = np.arange(1, T + 1, dtype=float)
    Y = s["Y"].copy()
    for i, k in enumerate(s["n_obs"]):
        Y[i, int(k):] = np.nan
    X = np.nan_to_num(encode_configs(task.space, s["train_configs"]), nan=0.0)
    seed = int_seed(derive(ROOT_SEED, "dpl_fig1", task.key))
    pred_budgets = sorted({max(1, int(round(T / 4))), max(1, int(round(T / 2))), T})
    j = s["panel_b"]
    with single_threaded():
        model = DPLLC(seed=seed, **s["dpl"]).fit(X, Y, budgets)
        a = slice_data(model, task.space, s["base"], param, s["values"], pred_budgets)
        b = budget_data(model, X[j], budgets)
    a["true"] = np.nan if s["true_slice"] is None else np.concatenate(
        [s["true_slice"][:, int(e) - 1] for e in pred_budgets])
    b.insert(0, "value", float(s["train_configs"][param].iloc[j]))
    b.insert(0, "param", param)
    b["true"] = s["Y"][j]
    b["observed"] = Y[j]
    data = pd.concat([a.assign(panel="slice", observed=np.nan), b.assign(panel="budget")], ignore_index=True)[cols]

    names = [hp for hp in task.space.keys() if hp in s["train_configs"].columns]
    r, c = np.nonzero(np.isfinite(Y))
    train = pd.DataFrame({"row": r, "value": s["train_configs"][param].to_numpy()[r], "epoch": budgets[c],
                          "target": Y[r, c]})
    for k, n in enumerate(names):
        train[f"x_{n}"] = X[r, k]
    base_enc = np.nan_to_num(encode_configs(task.space, pd.DataFrame([s["base"]])), nan=0.0)[0]
    meta = {"claim": CLAIM, "task": task.key, "param": param, "base_config": s["base"],
            "base_encoded": base_enc.tolist(), "encoded_columns": names, "dpl_seed": seed, "dpl_params": s["dpl"],
            "n_epochs": T, "pred_budgets": pred_budgets, "panel_b_row": j,
            "n_observed_epochs": [int(k) for k in s["n_obs"]]}
    write_outputs(ctx, "dpl_fig1_train", train, None, meta=meta, script="dpl_fig1")

    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.8))
    for e, d in a.groupby("epoch"):
        line, = ax1.plot(d["value"], d["mean"], label=f"epoch {e:g}")
        ax1.fill_between(d["value"], d["mean"] - d["std"], d["mean"] + d["std"], color=line.get_color(), alpha=0.2)
        if d["true"].notna().any():
            ax1.plot(d["value"], d["true"], ls=":", color=line.get_color())
    tv = s["train_configs"][param].to_numpy()
    full = np.asarray(s["n_obs"]) == T
    last = Y[np.arange(len(Y)), np.asarray(s["n_obs"]) - 1]
    ax1.scatter(tv[full], last[full], c="k", marker="o", s=18, zorder=3, label="fully observed (final)")
    ax1.scatter(tv[~full], last[~full], c="k", marker="x", s=24, zorder=3, label="partially observed (last)")
    ax1.set_xlabel(param)
    ax1.set_ylabel("predicted target (mean +- std)")
    ax1.legend(fontsize="x-small")
    ax2.plot(b["epoch"], b["mean"], label="DPL mean")
    ax2.fill_between(b["epoch"], b["mean"] - b["std"], b["mean"] + b["std"], alpha=0.25)
    ax2.plot(b["epoch"], b["true"], ls=":", c="gray", label="true curve")
    ax2.scatter(b["epoch"], b["observed"], c="k", s=12, zorder=3, label="observed")
    ax2.set_xlabel("epoch")
    ax2.set_title(f"{param} = {b['value'].iloc[0]:.3g}", fontsize="small")
    ax2.legend(fontsize="x-small")
    fig.suptitle(task.key, fontsize="small")
    return write_outputs(ctx, "dpl_fig1", data, fig, meta=meta)
