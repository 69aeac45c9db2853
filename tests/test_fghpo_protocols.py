"""FGHPO figures as the paper draws them: Fig. 3 on probe pools, Fig. 5 per configuration, Bayesmark's score and the
embedded tasks on Bayesmark's MLP-adam space. Each computation is checked against an independent brute force."""
from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from analysis.iou import chance_iou, iou_over_epochs, iou_over_pools
from analysis.regret import bayesmark_score
from lcsim.errors import InvalidParameterError
from lcsim.seeding import make_rng
from paper_figures.fghpo_fig5 import median_config, property_holds


def _table(n_cfg=30, n_ep=5, seed=0):
    rng = np.random.default_rng(seed)
    rows = [{"config_id": c, "epoch": e, "sharpness": float(rng.random()), "val_loss": float(rng.random())}
            for c in range(n_cfg) for e in range(1, n_ep + 1)]
    return pd.DataFrame(rows)


def test_chance_iou_equals_enumeration():
    k, n = 3, 7
    subsets = [set(s) for s in itertools.combinations(range(n), k)]
    ref = np.mean([len(a & b) / len(a | b) for a in subsets for b in subsets])
    assert chance_iou(k, n) == pytest.approx(ref, rel=1e-12)
    assert chance_iou(10, 10) == pytest.approx(1.0)


def test_iou_over_pools_matches_a_plain_loop():
    tab = _table()
    got = iou_over_pools(tab, k=4, pool_size=12, n_pools=6, epochs=range(1, 5), seed=3)
    assert set(got["epoch"]) == {1, 2, 3, 4} and (got["pool_size"] == 12).all()
    rng = make_rng(3)  # the documented draw: one choice without replacement per pool, in pool order
    ids = np.sort(tab["config_id"].unique())
    for p in range(6):
        members = rng.choice(ids, size=12, replace=False)
        sub = tab[tab["config_id"].isin(members)]

        def lowest(e, sub=sub):
            d = sub[sub["epoch"] == e]
            return set(d.sort_values(["sharpness", "config_id"])["config_id"].iloc[:4])

        for e in range(1, 5):
            a, b = lowest(1), lowest(e)
            want = len(a & b) / len(a | b)
            assert got[(got["pool"] == p) & (got["epoch"] == e)]["iou"].item() == pytest.approx(want)
    whole = iou_over_pools(tab, k=4, pool_size=30, n_pools=2, epochs=range(1, 6), seed=0)
    ref = iou_over_epochs(tab, k=4)
    for p in (0, 1):
        np.testing.assert_allclose(whole[whole["pool"] == p]["iou"].to_numpy(), ref["iou"].to_numpy())
    with pytest.raises(InvalidParameterError, match="pool_size"):
        iou_over_pools(tab, k=4, pool_size=31)


def test_bayesmark_score_by_hand():
    pool = np.array([[1.0], [2.0], [3.0], [4.0], [5.0], [np.nan]])  # best 1, median 3 (NaN left out)
    got = bayesmark_score([1.0, 2.0, 3.0, 5.0, np.nan], pool)
    np.testing.assert_allclose(got[:4], [100.0, 50.0, 0.0, 0.0])  # 5 -> (5-1)/(3-1) = 2, clipped to 1
    assert np.isnan(got[4])
    with pytest.raises(InvalidParameterError, match="median"):
        bayesmark_score([1.0], [1.0, 1.0, 1.0])


def test_fig5_rules_by_hand():
    # config 0: sharpness rises late (fails), 1: stays below epoch 1 in the second half (holds), 2: dead (sharpness 0),
    # 3: diverged (NaN)
    sharp = {0: [5, 4, 6, 7], 1: [5, 6, 4, 3], 2: [0, 0, 0, 0], 3: [5, np.nan, np.nan, np.nan]}
    final_val = {0: 0.3, 1: 0.1, 2: 0.2, 3: np.nan}
    rows = [{"config_id": c, "seed": 0, "epoch": e + 1, "sharpness": v[e],
             "val_loss": final_val[c] if e == 3 else 1.0} for c, v in sharp.items() for e in range(4)]
    tab = pd.DataFrame(rows)
    held = property_holds(tab)
    assert held.to_dict() == {0: False, 1: True}
    assert median_config(tab) == 1  # informative configs 0 (0.3), 1 (0.1): the lower median is config 1


def test_embedded_bayesmark_tasks():
    from lcsim import benchmarks
    from lcsim.errors import UnknownNameError
    from lcsim.live.spaces import bayesmark_mlp_space

    for name in ("breast_cancer", "digits", "iris", "wine"):
        t = benchmarks.load("embedded", name, space="bayesmark_mlp")
        assert t.n_configs == 200 and t.n_epochs == 50 and t.version.startswith("embedded-1-bayesmark_mlp")
        assert t.extra["space"] == "bayesmark_mlp"
        assert set(t.configs["optimizer"]) == {"adam"} and set(t.configs["num_layers"]) == {1}
        assert t.configs["units"].between(50, 200).all() and t.configs["batch_size"].between(10, 250).all()
        assert list(t.configs.columns) == list(bayesmark_mlp_space().keys())
        assert np.nanmax(t.curves[:, 0, -1, t.metric_index("test_acc")]) > 0.8  # something learns
    assert benchmarks.load("embedded", "iris").version.startswith("embedded-1")
    with pytest.raises(UnknownNameError, match="bayesmark_mlp"):
        benchmarks.load("embedded", "iris", space="bayesmark")
