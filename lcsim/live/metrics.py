"""Classification metrics recorded every epoch, vectorised for small arrays (checked against scikit-learn in tests).

scikit-learn's ``roc_auc_score``/``balanced_accuracy_score`` validate their inputs on every call, which costs about
a millisecond each; the live trainer calls them nine times per epoch on tiny splits, so this module computes the same
quantities directly: accuracy, balanced accuracy (mean recall over the classes present in ``y``, as
``sklearn.metrics.balanced_accuracy_score``) and ROC AUC (binary: of the positive-class score; multiclass:
one-vs-rest macro average over classes present with both labels, as ``roc_auc_score(multi_class="ovr")``), with
ties ranked by their average rank (Mann-Whitney U form).
"""
from __future__ import annotations

import numpy as np
from scipy.stats import rankdata

__all__ = ["classification_metrics", "roc_auc_ovr", "balanced_accuracy"]


def balanced_accuracy(y: np.ndarray, pred: np.ndarray) -> float:
    """Mean per-class recall over the classes present in ``y``."""
    classes, inv = np.unique(y, return_inverse=True)
    hits = np.bincount(inv, weights=(pred == y).astype(float), minlength=len(classes))
    counts = np.bincount(inv, minlength=len(classes))
    return float(np.mean(hits / counts))


def _binary_auc(score: np.ndarray, pos: np.ndarray) -> float:
    n_pos = int(pos.sum())
    n_neg = len(pos) - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(score)
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def roc_auc_ovr(y: np.ndarray, prob: np.ndarray) -> float:
    """ROC AUC: binary on ``prob[:, 1]``; multiclass one-vs-rest, macro-averaged over the classes of ``y`` that have
    both positives and negatives. NaN when ``prob`` is not finite or no class qualifies.

    Args:
        y: int labels, shape (n,).
        prob: class probabilities (or any monotone scores), shape (n, k).
    """
    if not np.all(np.isfinite(prob)):
        return float("nan")
    k = prob.shape[1]
    if k == 2:
        return _binary_auc(prob[:, 1], y == 1)
    ranks = rankdata(prob, axis=0)  # average ranks of ties, one call for all classes
    vals = []
    for c in np.unique(y):
        pos = y == c
        n_pos = int(pos.sum())
        n_neg = len(y) - n_pos
        if n_pos and n_neg:
            vals.append((ranks[pos, c].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))
    return float(np.mean(vals)) if vals else float("nan")


def classification_metrics(logits: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """Loss (mean cross-entropy), accuracy, balanced accuracy and ROC AUC of ``logits`` (shape (n, k)) for labels
    ``y`` (shape (n,)); every value is NaN when the logits are not finite (a diverged model)."""
    logits = np.asarray(logits, dtype=np.float64)
    y = np.asarray(y)
    if len(y) == 0 or not np.all(np.isfinite(logits)):
        return {"loss": float("nan"), "acc": float("nan"), "bacc": float("nan"), "auc": float("nan")}
    m = logits.max(axis=1, keepdims=True)
    logz = m[:, 0] + np.log(np.exp(logits - m).sum(axis=1))
    loss = float(np.mean(logz - logits[np.arange(len(y)), y]))
    prob = np.exp(logits - logz[:, None])
    pred = logits.argmax(axis=1)
    return {"loss": loss, "acc": float(np.mean(pred == y)), "bacc": balanced_accuracy(y, pred),
            "auc": roc_auc_ovr(y, prob)}
