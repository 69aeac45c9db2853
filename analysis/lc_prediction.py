"""Learning-curve prediction quality (DPL Fig. 2 and Fig. 7) and the surrogate views of DPL Fig. 1.

:func:`lcsim.surrogates.lc_predictions` builds the per-configuration table (model, fraction, config_id, observed,
predicted, std) by fitting lcsim's learning-curve models on partial curves; :func:`prediction_quality` and
:func:`relative_errors` only need that table, so they are tested on tables with known answers.
DPL Fig. 1's :func:`slice_data` and :func:`budget_data` take a fitted :class:`lcsim.surrogates.LCModel`
(``predict(which, budget) -> (mean, std)`` on encoded configurations).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from lcsim.errors import InvalidParameterError
from lcsim.space import SpaceCodec

from .stats import correlation

__all__ = ["prediction_quality", "relative_errors", "slice_data", "budget_data"]


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


def slice_data(model, space, base_config, param: str, values, budgets) -> pd.DataFrame:
    """DPL Fig. 1 (left): a fitted learning-curve model's mean and std along a 1-D slice of ``param``.

    Every other hyperparameter keeps its value in ``base_config``; the varied configurations are encoded with
    the ``"unit"`` :class:`lcsim.space.SpaceCodec` (the encoding the conditioned models are fitted on; NaN of inactive
    conditional hyperparameters becomes 0, as in :func:`lcsim.surrogates.lc_models.lc_prediction_study`).

    Args:
        model: a fitted configuration-conditioned :class:`lcsim.surrogates.LCModel` (``model.conditioned``), e.g.
            :class:`~lcsim.surrogates.DPLLC`.
        space: the task's ConfigSpace space (the one the model's training configurations were encoded with).
        base_config: mapping (dict or Series) holding a value for every hyperparameter of the fitted encoding.
        param: the hyperparameter that varies.
        values: its values along the slice.
        budgets: budgets (epochs, in the units the model was fitted with) to predict at.

    Returns:
        frame with columns param, value, epoch, mean, std (one row per value and budget, budgets outer).
    """
    if not getattr(model, "conditioned", False):
        raise InvalidParameterError(f"slice_data needs a configuration-conditioned LCModel; {type(model).__name__} "
                                    "predicts only the curves it was fitted on.")
    if param not in space:
        raise InvalidParameterError(f"{param!r} is not a hyperparameter of the space; valid: {list(space.keys())}.")
    values = np.asarray(values)
    X = pd.DataFrame([dict(base_config)] * values.size).reset_index(drop=True)
    X[param] = values
    enc = np.nan_to_num(SpaceCodec(space).encode(X), nan=0.0)
    rows = []
    for b in budgets:
        mean, std = model.predict(enc, float(b))
        rows.append(pd.DataFrame({"param": param, "value": values, "epoch": float(b), "mean": np.asarray(mean, float),
                                  "std": np.asarray(std, float)}))
    return pd.concat(rows, ignore_index=True)


def budget_data(model, which, budgets) -> pd.DataFrame:
    """DPL Fig. 1 (right): a fitted learning-curve model's mean and std for one configuration across budgets.

    Args:
        model: a fitted :class:`lcsim.surrogates.LCModel`.
        which: a fitted row id (int) or, for conditioned models, one encoded configuration (array of shape (d,)).
        budgets: budgets (epochs) to predict at.

    Returns:
        frame with columns epoch, mean, std.
    """
    w = np.asarray(which)
    arg = np.array([int(w)]) if w.ndim == 0 and np.issubdtype(w.dtype, np.integer) else w.reshape(1, -1).astype(float)
    rows = []
    for b in budgets:
        mean, std = model.predict(arg, float(b))
        rows.append((float(b), float(np.asarray(mean)[0]), float(np.asarray(std)[0])))
    return pd.DataFrame(rows, columns=["epoch", "mean", "std"])
