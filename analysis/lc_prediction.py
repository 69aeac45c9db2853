"""Learning-curve prediction quality (DPL Fig. 2 and Fig. 7).

:func:`lcsim.surrogates.lc_predictions` builds the per-configuration table (model, fraction, config_id, observed,
predicted, std) by fitting lcsim's learning-curve models on partial curves; :func:`prediction_quality` and
:func:`relative_errors` only need that table, so they are tested on tables with known answers.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from lcsim.errors import InvalidParameterError

from .stats import correlation

__all__ = ["prediction_quality", "relative_errors", "slice_data"]


def prediction_quality(pred: pd.DataFrame, by=("fraction",)) -> pd.DataFrame:
    """Spearman and Pearson correlation of predicted vs observed final values per group (DPL Fig. 2).

    Returns:
        frame with the ``by`` columns, spearman, spearman_p, pearson, pearson_p, n.
    """
    rows = []
    for key, g in pred.groupby(list(by), sort=True):
        key = key if isinstance(key, tuple) else (key,)
        rs, ps, n = correlation(g["observed"], g["predicted"], "spearman")
        rp, pp, _ = correlation(g["observed"], g["predicted"], "pearson")
        rows.append({**dict(zip(by, key)), "spearman": rs, "spearman_p": ps, "pearson": rp, "pearson_p": pp,
                     "n": n})
    return pd.DataFrame(rows)


def relative_errors(pred: pd.DataFrame) -> pd.DataFrame:
    """Absolute relative error ``|predicted - observed| / |observed|`` per row (DPL Fig. 7); zero targets dropped."""
    obs = pred["observed"].to_numpy(float)
    ok = np.abs(obs) > 0
    out = pred.loc[ok].copy()
    out["abs_rel_error"] = np.abs(out["predicted"].to_numpy(float) - obs[ok]) / np.abs(obs[ok])
    return out


def slice_data(surrogate, base_config: pd.Series, param: str, values, epochs) -> pd.DataFrame:
    """DPL Fig. 1: surrogate mean and std along a 1-D slice of ``param`` at each budget in ``epochs``.

    Returns:
        frame with columns ``param``, epoch, mean, std.
    """
    values = np.asarray(values)
    rows = []
    for e in epochs:
        X = pd.DataFrame([base_config] * values.size).reset_index(drop=True)
        X[param] = values
        mean, std = surrogate.predict(X, np.full(values.size, int(e)))
        rows.append(pd.DataFrame({param: values, "epoch": int(e), "mean": np.asarray(mean, float),
                                  "std": np.asarray(std, float)}))
    return pd.concat(rows, ignore_index=True)
