"""AGN Tables 1/2/4 statistics (``paper_figures._agn.stats_table``) on a constructed per-run table whose p-values
differ, so a wrong Benjamini-Hochberg order or grouping, a wrong reference setting or a reversed win/loss fails
(at the figures' tiny scale every p-value is 1.0, where any correction passes)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as st

from paper_figures._agn import stats_table


def _bh_brute_force(p):
    """q_i = min over j with p_j >= p_i of min(1, m p_j / rank_j), by a double loop (ties share the larger rank)."""
    p = np.asarray(p, dtype=float)
    m = len(p)
    rank = np.array([np.sum(p <= pi) for pi in p])
    return np.array([min(1.0, min(m * p[j] / rank[j] for j in range(m) if p[j] >= p[i])) for i in range(m)])


def _runs() -> pd.DataFrame:
    """Two datasets x two methods; per group a ``val`` reference and three objectives shifted by clear, weak and no
    amounts, 8 retrainings each (seeded)."""
    rng = np.random.default_rng(7)
    rows = []
    shifts = {"val": 0.0, "agn_val a=0.05": 0.08, "agn_train a=0.05": 0.02, "agn_train a=0.5": -0.1}
    for ds in ("iris", "wine"):
        for method in ("cmaes", "pso"):
            for setting, shift in shifts.items():
                acc = np.clip(0.8 + shift + rng.normal(0, 0.03, 8), 0, 1)
                loss = 0.5 - shift + rng.normal(0, 0.05, 8)
                rows += [{"dataset": ds, "method": method, "setting": setting, "row": f"{method} {setting}",
                          "objective": setting.split(" ")[0], "alpha": 0.0, "test_acc": a, "test_loss": b}
                         for a, b in zip(acc, loss)]
        for a, b in zip(rng.uniform(0.5, 0.7, 8), rng.uniform(0.6, 0.9, 8)):
            rows.append({"dataset": ds, "method": "default", "setting": "default", "row": "default",
                         "objective": "default", "alpha": 0.0, "test_acc": a, "test_loss": b})
    return pd.DataFrame(rows)


def test_stats_table_against_scipy_and_a_brute_force_bh():
    runs = _runs()
    table = stats_table(runs)
    for tag, value, better in (("acc", "test_acc", np.greater), ("loss", "test_loss", np.less)):
        tested = table[table[f"p_{tag}"].notna()]
        assert len(tested) == 2 * 2 * 3  # every non-reference objective of every (dataset, method)
        for row in tested.itertuples():
            cell = runs[(runs.dataset == row.dataset) & (runs.method == row.method)]
            x = cell[cell.setting == row.setting][value].to_numpy()
            y = cell[cell.setting == "val"][value].to_numpy()
            assert getattr(row, f"p_{tag}") == pytest.approx(st.mannwhitneyu(x, y, alternative="two-sided").pvalue)
        p = tested[f"p_{tag}"].to_numpy()
        assert len(np.unique(p)) > 3 and p.min() < 0.01 < p.max()  # the correction has something to order
        np.testing.assert_allclose(tested[f"p_bh_{tag}"], _bh_brute_force(p), rtol=1e-12)
        for row in tested.itertuples():
            cell = runs[(runs.dataset == row.dataset) & (runs.method == row.method)]
            med = cell[cell.setting == row.setting][value].median()
            ref = cell[cell.setting == "val"][value].median()
            want = ("win" if better(med, ref) else "loss") if getattr(row, f"p_bh_{tag}") < 0.05 else "tie"
            assert getattr(row, f"outcome_{tag}") == want
        outcomes = set(tested[f"outcome_{tag}"])
        assert {"win", "loss"} <= outcomes  # both directions occur, so a reversed comparison fails
    untested = table[table["p_acc"].isna()]
    assert set(untested.setting) == {"val", "default"}
    d = untested[(untested.setting == "default") & (untested.dataset == "iris")].iloc[0]
    ref = runs[(runs.dataset == "iris") & (runs.method == "default")]
    assert d.acc_mean == pytest.approx(ref.test_acc.mean()) and d.n == 8
