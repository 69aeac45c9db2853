"""AGN and FGHPO proxy studies over per-epoch proxy tables recorded by the live backend.

A proxy table has one row per (config_id, epoch) (optionally task/seed/arch columns) with columns such as
``train_loss, train_acc, val_loss, val_acc, sharpness, agn, gn, time_plain, time_agn, time_gn``.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from lcsim.errors import InvalidParameterError

from .stats import correlation

__all__ = ["final_rows", "proxy_vs_final", "fit_groups", "agn_gap_by_fit", "gn_vs_agn", "epoch_times", "over_epochs",
           "objective_comparison", "cross_architecture"]


def _need(df, cols):
    miss = [c for c in cols if c not in df.columns]
    if miss:
        raise InvalidParameterError(f"proxy table lacks columns {miss}; has {list(df.columns)}.")


def final_rows(df: pd.DataFrame, by=("config_id",)) -> pd.DataFrame:
    """The last-epoch row of every configuration."""
    _need(df, [*by, "epoch"])
    return df.sort_values("epoch").groupby(list(by), sort=True).tail(1).set_index(list(by)).sort_index()


def proxy_vs_final(df: pd.DataFrame, proxies=("sharpness", "val_loss"), at_epoch: int = 1,
                   target: str = "val_loss", by=("config_id",)) -> pd.DataFrame:
    """Spearman correlation of each proxy at ``at_epoch`` with the final ``target`` (FGHPO section 4).

    Returns:
        frame with columns proxy, at_epoch, spearman, p, n.
    """
    _need(df, [*by, "epoch", target, *proxies])
    fin = final_rows(df, by)[target]
    early = df[df["epoch"] == at_epoch].set_index(list(by)).sort_index()
    rows = []
    for p in proxies:
        x = early[p].reindex(fin.index)
        r, pv, n = correlation(x.to_numpy(float), fin.to_numpy(float), "spearman")
        rows.append({"proxy": p, "at_epoch": at_epoch, "spearman": r, "p": pv, "n": n})
    return pd.DataFrame(rows)


def fit_groups(df: pd.DataFrame, agn: str = "agn", by=("config_id",)) -> pd.DataFrame:
    """The last-epoch row of every model (one per ``by`` key) with its generalization gap ``gap`` = val_loss -
    train_loss (AGN section 2: the empirical gap measured on the validation set) and its ``group``: ``well_fitted``
    for the top 50 % train accuracy (>= the median, AGN Fig. 3b), else ``under_fitted`` (Fig. 3c)."""
    _need(df, [*by, "epoch", agn, "train_loss", "val_loss", "train_acc"])
    fin = final_rows(df, by).copy()
    fin["gap"] = fin["val_loss"] - fin["train_loss"]
    well = fin["train_acc"] >= fin["train_acc"].median()
    fin["group"] = np.where(well, "well_fitted", "under_fitted")
    return fin


def agn_gap_by_fit(df: pd.DataFrame, agn: str = "agn", by=("config_id",)) -> pd.DataFrame:
    """AGN Fig. 3: Pearson and Spearman correlation of final AGN (column ``agn``) with the generalization gap,
    separately for the well-fitted half (train accuracy >= median) and the under-fitted half (:func:`fit_groups`).

    Returns:
        frame with columns group, pearson, p (Pearson's two-sided p-value), spearman, spearman_p, n.
    """
    fin = fit_groups(df, agn, by)
    rows = []
    for name in ("well_fitted", "under_fitted"):
        g = fin[fin["group"] == name]
        r, p, n = correlation(g[agn], g["gap"], "pearson")
        rs, ps, _ = correlation(g[agn], g["gap"], "spearman")
        rows.append({"group": name, "pearson": r, "p": p, "spearman": rs, "spearman_p": ps, "n": n})
    return pd.DataFrame(rows)


def gn_vs_agn(df: pd.DataFrame, x: str = "gn", y: str = "agn") -> pd.DataFrame:
    """AGN Fig. 1: Pearson and Spearman correlation of column ``x`` with column ``y`` over all rows (default the exact
    gradient norm with AGN; the figure also pairs GN(theta_T) and AGN(theta_T) with the generalization gap)."""
    _need(df, [x, y])
    rp, pp, n = correlation(df[x], df[y], "pearson")
    rs, ps, _ = correlation(df[x], df[y], "spearman")
    return pd.DataFrame([{"pearson": rp, "pearson_p": pp, "spearman": rs, "spearman_p": ps, "n": n}])


def epoch_times(df: pd.DataFrame, cols=("time_plain", "time_agn", "time_gn")) -> pd.DataFrame:
    """AGN Fig. 2 / FGHPO Fig. 2: mean and std of the per-epoch seconds of each variant."""
    _need(df, list(cols))
    return pd.DataFrame([{"variant": c.removeprefix("time_"), "mean_s": float(df[c].mean()),
                          "std_s": float(df[c].std()), "n": int(df[c].notna().sum())} for c in cols])


def over_epochs(df: pd.DataFrame, columns=("sharpness", "val_loss"), by=()) -> pd.DataFrame:
    """FGHPO Fig. 5: mean, 25 % and 75 % quantiles over configurations of each column per epoch.

    Returns:
        tidy frame with columns ``by``..., epoch, quantity, mean, q25, q75, n.
    """
    _need(df, ["epoch", *columns, *by])
    rows = []
    for key, g in df.groupby([*by, "epoch"], sort=True):
        key = key if isinstance(key, tuple) else (key,)
        for c in columns:
            v = g[c].to_numpy(float)
            v = v[np.isfinite(v)]
            rows.append({**dict(zip([*by, "epoch"], key)), "quantity": c, "mean": float(v.mean()) if v.size else np.nan,
                         "q25": float(np.quantile(v, 0.25)) if v.size else np.nan,
                         "q75": float(np.quantile(v, 0.75)) if v.size else np.nan, "n": int(v.size)})
    return pd.DataFrame(rows)


def objective_comparison(df: pd.DataFrame, *, objective: str = "objective", value: str = "test_loss",
                         group: str = "task", reference: str = "val_loss", minimize: bool = True,
                         alpha: float = 0.05) -> pd.DataFrame:
    """AGN Tables 1, 2, 4: searches driven by different selection objectives (e.g. ``val_loss``, ``agn``,
    ``sharpness``) compared on a held-out ``value`` of the configuration each search returned.

    Args:
        df: one row per (group, objective, seed) search, with the returned configuration's ``value``.
        reference: the objective every other objective is tested against (two-sided MWU, BH over all).

    Returns:
        frame with columns group, objective, mean, std, n, median_ref, p, p_bh, outcome (reference rows have NaN
        test columns).
    """
    from .stats import mann_whitney_bh

    _need(df, [objective, value, group])
    summ = df.groupby([group, objective])[value].agg(["mean", "std", "count"]).rename(columns={"count": "n"})
    tests = mann_whitney_bh(df, group=group, method=objective, value=value, reference=reference,
                            minimize=minimize, alpha=alpha)
    out = summ.reset_index()
    if not tests.empty:
        out = out.merge(tests[[group, objective, "median_ref", "p", "p_bh", "outcome"]], how="left",
                        on=[group, objective])
    return out


def cross_architecture(df: pd.DataFrame, *, arch: str = "arch", proxy: str = "agn", target: str = "val_loss",
                       at_epoch: int = 1) -> pd.DataFrame:
    """An *analogue* of AGN Table 3 (not the paper's protocol): how well the epoch-``at_epoch`` proxy ranks the
    final ``target`` within each architecture and when all architectures are pooled (Spearman, with p).

    Returns:
        frame with columns arch (``"pooled"`` for all together), spearman, p, n.
    """
    _need(df, [arch, "config_id", "epoch", proxy, target])
    rows = []
    keyed = df.assign(_key=df[arch].astype(str) + "|" + df["config_id"].astype(str))
    for name, g in list(keyed.groupby(arch, sort=True)) + [("pooled", keyed)]:
        fin = final_rows(g, ("_key",))[target]
        early = g[g["epoch"] == at_epoch].set_index("_key")[proxy].reindex(fin.index)
        r, p, n = correlation(early.to_numpy(float), fin.to_numpy(float), "spearman")
        rows.append({"arch": str(name), "spearman": r, "p": p, "n": n})
    return pd.DataFrame(rows)
