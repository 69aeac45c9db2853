"""Per-epoch classification metrics against scikit-learn."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, balanced_accuracy_score, log_loss, roc_auc_score

from lcsim.live.metrics import classification_metrics


@pytest.mark.parametrize("k,n,seed", [(2, 40, 0), (3, 31, 1), (10, 200, 2), (4, 25, 3)])
def test_metrics_match_sklearn(k, n, seed):
    rng = np.random.default_rng(seed)
    y = np.concatenate([np.arange(k), rng.integers(0, k, n - k)])
    logits = rng.normal(size=(n, k))
    logits[: n // 3] = np.round(logits[: n // 3], 1)  # ties
    logits[5] = logits[6]
    prob = np.exp(logits - logits.max(1, keepdims=True))
    prob /= prob.sum(1, keepdims=True)
    m = classification_metrics(logits, y)
    assert m["loss"] == pytest.approx(log_loss(y, prob, labels=list(range(k))), rel=1e-10)
    assert m["acc"] == pytest.approx(accuracy_score(y, logits.argmax(1)))
    assert m["bacc"] == pytest.approx(balanced_accuracy_score(y, logits.argmax(1)))
    ref = roc_auc_score(y, prob[:, 1]) if k == 2 else roc_auc_score(y, prob, multi_class="ovr")
    assert m["auc"] == pytest.approx(ref, rel=1e-10)


def test_metrics_nan_for_diverged_logits():
    logits = np.array([[0.0, np.nan], [1.0, 2.0]])
    assert all(np.isnan(v) for v in classification_metrics(logits, np.array([0, 1])).values())
