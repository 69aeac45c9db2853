"""The one statistics module of lcsim (used by :mod:`lcsim.proxy.protocol` and the paper figures): correlations with
p-values, Mann-Whitney U with the Benjamini-Hochberg correction (against a reference method, or pairwise with
FGHPO Table 2's wins/ties/losses), the Friedman test (DPL Fig. 4) and paired Wilcoxon signed-rank tests of one
method against each baseline (DPL Fig. 4's companion table, the DPL preset comparison).

The tests are scipy's; Benjamini-Hochberg is written here (statsmodels is not a dependency) and tested against a hand
computation. This module validates input, drops non-finite pairs and shapes the output.
"""
from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
from scipy import stats as _st

from lcsim.errors import InvalidParameterError, check_choice, check_float

__all__ = ["correlation", "benjamini_hochberg", "mann_whitney_bh", "win_tie_loss", "pairwise_mwu",
           "wins_ties_losses", "friedman", "paired_wilcoxon"]


def _pairs(x, y, name: str):
    x = np.asarray(x, dtype=float).ravel()
    y = np.asarray(y, dtype=float).ravel()
    if x.shape != y.shape:
        raise InvalidParameterError(f"{name}: x and y must have the same length; got {x.size} and {y.size}.")
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 3:
        raise InvalidParameterError(f"{name}: need at least 3 finite (x, y) pairs; got {int(ok.sum())}.")
    return x[ok], y[ok]


def correlation(x, y, method: str = "spearman") -> tuple[float, float, int]:
    """Rank (Spearman) or linear (Pearson) correlation of the finite pairs of ``x`` and ``y``.

    Args:
        x, y: 1-D arrays of shape (n,). Pairs with a non-finite member are dropped.
        method: ``"spearman"`` or ``"pearson"``.

    Returns:
        (r, p, n): coefficient, two-sided p-value (scipy), number of pairs used.
    """
    check_choice("correlation", "method", method, ("spearman", "pearson"))
    x, y = _pairs(x, y, "correlation")
    res = _st.spearmanr(x, y) if method == "spearman" else _st.pearsonr(x, y)
    return float(res.statistic), float(res.pvalue), int(x.size)


def benjamini_hochberg(p) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (step-up; Benjamini & Hochberg 1995).

    ``q_(i) = min_{j >= i} min(1, m * p_(j) / j)`` over the p-values sorted ascending. NaN p-values are kept as NaN
    and not counted in ``m``.

    Args:
        p: array of shape (m,).

    Returns:
        array of shape (m,) of adjusted p-values, in the input order.
    """
    p = np.asarray(p, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    if np.any((p[ok] < 0) | (p[ok] > 1)):
        raise InvalidParameterError("benjamini_hochberg: p-values must lie in [0, 1].")
    pv = p[ok]
    m = pv.size
    if m == 0:
        return out
    order = np.argsort(pv)
    ranked = pv[order] * m / np.arange(1, m + 1)
    q = np.minimum.accumulate(ranked[::-1])[::-1]
    adj = np.empty(m)
    adj[order] = np.minimum(q, 1.0)
    out[ok] = adj
    return out


def mann_whitney_bh(df: pd.DataFrame, *, group: str, method: str, value: str, reference: str,
                    minimize: bool = True, alpha: float = 0.05) -> pd.DataFrame:
    """Per group (e.g. task), two-sided Mann-Whitney U of each method against ``reference``, BH-corrected.

    The correction runs over all (group, method) comparisons at once. A comparison is a *win* for the method when
    the adjusted p-value is below ``alpha`` and its median is better than the reference's, a *loss* when significant
    and worse, else a *tie*.

    Args:
        df: tidy frame with one row per repetition (e.g. seed): columns ``group``, ``method``, ``value``.
        reference: the method every other method is compared with.
        minimize: whether smaller ``value`` is better.

    Returns:
        frame with columns group, method, reference, n, n_ref, median, median_ref, U, p, p_bh, outcome.
    """
    check_float("mann_whitney_bh", "alpha", alpha, 0, 1, closed="neither")
    for c in (group, method, value):
        if c not in df.columns:
            raise InvalidParameterError(f"mann_whitney_bh: column {c!r} missing; columns are {list(df.columns)}.")
    if reference not in set(df[method]):
        raise InvalidParameterError(f"mann_whitney_bh: reference {reference!r} not among methods "
                                    f"{sorted(set(df[method]))}.")
    rows = []
    for g, sub in df.groupby(group, sort=True):
        ref = sub.loc[sub[method] == reference, value].to_numpy(dtype=float)
        ref = ref[np.isfinite(ref)]
        for m, s in sub.groupby(method, sort=True):
            if m == reference:
                continue
            x = s[value].to_numpy(dtype=float)
            x = x[np.isfinite(x)]
            if x.size == 0 or ref.size == 0:
                u, p = np.nan, np.nan
            else:
                r = _st.mannwhitneyu(x, ref, alternative="two-sided")
                u, p = float(r.statistic), float(r.pvalue)
            rows.append({group: g, method: m, "reference": reference, "n": x.size, "n_ref": ref.size,
                         "median": float(np.median(x)) if x.size else np.nan,
                         "median_ref": float(np.median(ref)) if ref.size else np.nan, "U": u, "p": p})
    out = pd.DataFrame(rows)
    if out.empty:
        return out
    out["p_bh"] = benjamini_hochberg(out["p"].to_numpy())
    better = (out["median"] < out["median_ref"]) if minimize else (out["median"] > out["median_ref"])
    sig = out["p_bh"] < alpha
    out["outcome"] = np.where(sig & better, "win", np.where(sig & ~better, "loss", "tie"))
    return out


def win_tie_loss(tests: pd.DataFrame, method: str = "method") -> pd.DataFrame:
    """Count wins, ties and losses per method from :func:`mann_whitney_bh` output (FGHPO Tables 1-2 layout)."""
    t = tests.groupby(method)["outcome"].value_counts().unstack(fill_value=0)
    for c in ("win", "tie", "loss"):
        if c not in t.columns:
            t[c] = 0
    return t[["win", "tie", "loss"]].reset_index()


def pairwise_mwu(df: pd.DataFrame, *, value: str = "score", maximize: bool = True, alpha: float = 0.05,
                 group: str = "method") -> pd.DataFrame:
    """Pairwise two-sided Mann-Whitney U tests between methods on one dataset, BH-adjusted over the pairs.

    Args:
        df: rows of one dataset, columns ``group`` and ``value`` (one row per repeat).
        maximize: direction of ``value``.
        alpha: significance level.

    Returns:
        DataFrame with columns a, b, median_a, median_b, U (statistic of ``a``), p, p_adj, significant, better
        (``a``, ``b`` or ``None``; direction from ``U`` vs ``n_a n_b / 2``).
    """
    alpha = check_float("pairwise_mwu", "alpha", alpha, 0.0, 1.0, closed="neither")
    groups = {k: g[value].to_numpy(dtype=float) for k, g in df.groupby(group, sort=True)}
    rows = []
    for a, b in itertools.combinations(sorted(groups), 2):
        x, y = groups[a], groups[b]
        if np.all(x == x[0]) and np.all(y == x[0]):
            u, p = len(x) * len(y) / 2.0, 1.0  # identical samples: no evidence either way
        else:
            u, p = _st.mannwhitneyu(x, y, alternative="two-sided")
        rows.append((a, b, float(np.median(x)), float(np.median(y)), float(u), float(p), len(x) * len(y)))
    out = pd.DataFrame(rows, columns=["a", "b", "median_a", "median_b", "U", "p", "_nn"])
    out["p_adj"] = benjamini_hochberg(out["p"].to_numpy()) if len(out) else []
    out["significant"] = out["p_adj"] < alpha
    sign = 1.0 if maximize else -1.0
    # direction from the test statistic itself: U_a > n_a n_b / 2 means values of a tend to be larger
    diff = sign * (out["U"] - out["_nn"] / 2.0)
    out = out.drop(columns="_nn")
    out["better"] = [None if (not sig or d == 0) else (a if d > 0 else b)
                     for sig, d, a, b in zip(out["significant"], diff, out["a"], out["b"])]
    return out


def wins_ties_losses(results: pd.DataFrame, *, value: str = "score", maximize: bool = True, alpha: float = 0.05,
                     dataset: str = "dataset", group: str = "method") -> pd.DataFrame:
    """FGHPO Table 2 from :func:`pairwise_mwu` per dataset.

    FGHPO's text: a method *wins* a dataset "if it outperforms every other algorithm"; it *ties* "if any other
    algorithm's performance is not statistically significantly different". lcsim's reading: ``A`` beats ``B`` when
    the adjusted p-value is below ``alpha`` and ``A`` tends to be better, i.e. its Mann-Whitney U exceeds
    ``n_A n_B / 2`` (for maximized scores; equal medians can still differ significantly); ``A`` *wins* when it beats
    every other method, *loses* when some method beats it, and *ties* otherwise.

    Returns:
        DataFrame indexed by method with columns wins, ties, losses, win_tie_pct, and one column per dataset holding
        "win" / "tie" / "loss".
    """
    methods = sorted(results[group].unique())
    table = {m: {} for m in methods}
    for ds, part in results.groupby(dataset, sort=True):
        pw = pairwise_mwu(part, value=value, maximize=maximize, alpha=alpha, group=group)
        beats = {m: set() for m in methods}
        for r in pw.itertuples():
            if isinstance(r.better, str):
                loser = r.b if r.better == r.a else r.a
                beats[r.better].add(loser)
        present = sorted(part[group].unique())
        for m in present:
            others = set(present) - {m}
            if others and beats[m] >= others:
                table[m][ds] = "win"
            elif any(m in beats[o] for o in others):
                table[m][ds] = "loss"
            else:
                table[m][ds] = "tie"
    out = pd.DataFrame(table).T
    out.index.name = group
    counts = pd.DataFrame({"wins": (out == "win").sum(axis=1), "ties": (out == "tie").sum(axis=1),
                           "losses": (out == "loss").sum(axis=1)})
    n = counts[["wins", "ties", "losses"]].sum(axis=1).replace(0, np.nan)
    counts["win_tie_pct"] = 100.0 * (counts["wins"] + counts["ties"]) / n
    return pd.concat([counts, out], axis=1)


def friedman(matrix) -> tuple[float, float]:
    """Friedman test over a (n_blocks, n_methods) matrix of scores (e.g. tasks x methods); scipy's statistic.

    Returns:
        (statistic, p-value).
    """
    a = np.asarray(matrix, dtype=float)
    if a.ndim != 2 or a.shape[1] < 3 or a.shape[0] < 2:
        raise InvalidParameterError(f"friedman: need a 2-D matrix with >= 2 blocks and >= 3 methods; got shape "
                                    f"{a.shape}.")
    if not np.all(np.isfinite(a)):
        raise InvalidParameterError("friedman: matrix contains non-finite values; drop or impute them first.")
    r = _st.friedmanchisquare(*a.T)
    return float(r.statistic), float(r.pvalue)


def paired_wilcoxon(matrix: pd.DataFrame, reference: str) -> pd.DataFrame:
    """Wilcoxon signed-rank test of ``reference`` against every other column of a blocks x methods matrix of scores
    (lower is better; a block is a row, e.g. a task with its seed-averaged regret, or a (task, seed) run), with the
    Benjamini-Hochberg correction over the baselines.

    Each test uses the rows where both methods have a finite score; zero differences are dropped (scipy's default
    ``zero_method="wilcox"``) and a baseline that ties on every row gets p = 1.

    Args:
        matrix: DataFrame of shape (n_blocks, n_methods), one column per method.
        reference: the column tested against every other.

    Returns:
        one row per baseline: ``method``, ``n`` (pairs), ``better`` / ``tied`` / ``worse`` (rows where ``reference``
        is lower / equal / higher), ``median_diff`` (median of reference - method), ``statistic`` (scipy's W),
        ``p`` (two-sided), ``p_bh``.
    """
    if reference not in matrix.columns:
        raise InvalidParameterError(f"paired_wilcoxon: reference {reference!r} is not a column; columns: "
                                    f"{list(matrix.columns)}.")
    rows = []
    for other in [c for c in matrix.columns if c != reference]:
        pair = matrix[[reference, other]].astype(float)
        pair = pair[np.isfinite(pair).all(axis=1)]
        d = (pair[reference] - pair[other]).to_numpy()
        stat, p = np.nan, np.nan
        if np.any(d != 0):
            res = _st.wilcoxon(d)
            stat, p = float(res.statistic), float(res.pvalue)
        elif d.size:
            p = 1.0
        rows.append({"method": other, "n": int(d.size), "better": int((d < 0).sum()), "tied": int((d == 0).sum()),
                     "worse": int((d > 0).sum()), "median_diff": float(np.median(d)) if d.size else np.nan,
                     "statistic": stat, "p": p})
    out = pd.DataFrame(rows, columns=["method", "n", "better", "tied", "worse", "median_diff", "statistic", "p"])
    out["p_bh"] = benjamini_hochberg(out["p"].to_numpy()) if len(out) else []
    return out
