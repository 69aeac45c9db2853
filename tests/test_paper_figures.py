"""Run every paper-figure script at tiny scale and check the numbers in its CSV, not only that files exist."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats as st

from paper_figures import SCRIPTS
from paper_figures.__main__ import main
from paper_figures._common import read_csv, synthetic_proxy_table


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    d = tmp_path_factory.mktemp("pf")
    assert main(["--scale", "tiny", "--out", str(d)]) == 0
    return d / "tiny"


def test_all_outputs_written(out):
    for name in SCRIPTS:
        df, meta = read_csv(out / f"{name}.csv")
        assert meta["figure"] == [name] and meta["scale"] == ["tiny"]
        assert f"--only {name} --scale tiny" in (out / f"{name}.cmd.txt").read_text()
        if name == "dpl_fig2" and all(s.startswith("surrogate=") for s in meta.get("skipped", ["x"])) \
                and len(df) == 0:
            continue  # no surrogate registered in this checkout: recorded as skipped, nothing drawn
        assert (out / f"{name}.png").stat().st_size > 1000
        assert len(df) > 0


def test_missing_methods_are_recorded_not_faked(out):
    """Every method of the DPL comparison either ran or is recorded as skipped with its reason, never both."""
    from lcsim.optimizers import list_methods
    from paper_figures._dpl import DPL_METHODS

    df, meta = read_csv(out / "dpl_fig3.csv")
    skipped = {s.split(":", 1)[0].removeprefix("method="): s for s in meta.get("skipped", [])
               if s.startswith("method=")}
    ran = set(df["method"])
    for m in DPL_METHODS + ("successive_halving",):
        assert (m in ran) != (m in skipped), m
        if m in skipped:
            assert m not in list_methods() and skipped[m].split(":", 1)[1].strip(), skipped[m]
    assert {"random_search", "hyperband", "asha", "dpl"} <= ran
    assert set(df["benchmark"]) == {"synthetic"}


def test_dpl_fig3_values(out):
    df, _ = read_csv(out / "dpl_fig3.csv")
    assert (df["mean"] >= 0).all() and (df["n_tasks"] == 3).all()
    for _, d in df.groupby("method"):
        assert d.sort_values("x")["mean"].is_monotonic_decreasing  # mean of non-increasing step functions
    # recompute one point from the cached cells
    cells = pd.concat([pd.read_parquet(f) for f in (out / "cells").glob("*__no.parquet")])
    rs = cells[cells.method == "random_search"]
    x = df[df.method == "random_search"].x.max()
    per = rs[rs.budget_used <= x].groupby(["task", "seed"]).normalized_regret.last()
    expected = per.groupby("task").mean().mean()
    got = df[(df.method == "random_search") & (df.x == x)]["mean"].iloc[0]
    assert got == pytest.approx(expected)


def test_dpl_fig4_ranks(out):
    df, _ = read_csv(out / "dpl_fig4.csv")
    for frac, d in df.groupby("fraction"):
        k = len(d)  # methods ranked
        assert k >= 3
        assert d.mean_rank.sum() == pytest.approx(k * (k + 1) / 2)  # average ranks sum to 1 + ... + k
        assert d.mean_rank.between(1, k).all() and d.friedman_p.between(0, 1).all()


def test_dpl_fig5_and_fig6_ranges(out):
    df, _ = read_csv(out / "dpl_fig5.csv")
    assert df.x.between(0, 1).all() and (df["mean"] >= 0).all()
    df, _ = read_csv(out / "dpl_fig6.csv")
    share = df[df.quantity.isin(["top1pct_share", "rank_change_share"])].value.dropna()
    assert share.between(0, 1).all()
    assert set(df.quantity) == {"top1pct_share", "promoted_regret", "rank_change_share"}


def test_proxy_scripts_match_scipy(out):
    tab = synthetic_proxy_table(0)
    fin = tab[tab.epoch == tab.epoch.max()].sort_values("config_id")
    e1 = tab[tab.epoch == 1].sort_values("config_id")
    df, meta = read_csv(out / "fghpo_corr.csv")
    assert any("synthetic" in n for n in meta["note"])
    row = df[(df.task == "synthetic0") & (df.proxy == "sharpness")].iloc[0]
    ref = st.spearmanr(e1.sharpness.to_numpy(), fin.val_loss.to_numpy())
    assert row.spearman == pytest.approx(ref.statistic) and row.p == pytest.approx(ref.pvalue)
    df, _ = read_csv(out / "agn_fig1.csv")
    row = df[df.task == "synthetic0"].iloc[0]
    assert row.pearson == pytest.approx(st.pearsonr(tab.gn, tab.agn).statistic)
    df, _ = read_csv(out / "fghpo_fig3.csv")
    assert df.iou.between(0, 1).all() and (df[df.epoch == 1].iou == 1).all()
    df, _ = read_csv(out / "agn_fig2.csv")
    assert df[(df.task == "synthetic0") & (df.variant == "gn")].mean_s.iloc[0] == pytest.approx(tab.time_gn.mean())


def test_resume_and_bad_name(out, capsys):
    before = (out / "agn_fig1.csv").stat().st_mtime_ns  # complete (nothing skipped): not redone
    assert main(["--only", "agn_fig1", "--scale", "tiny", "--out", str(out.parent)]) == 0
    assert (out / "agn_fig1.csv").stat().st_mtime_ns == before
    assert "exists, skipped" in capsys.readouterr().out
    # a CSV that records a skipped piece is redone (from the cached cells) and gives the same numbers
    csv = out / "dpl_fig3.csv"
    a, _ = read_csv(csv)
    csv.write_text("# skipped: method=not_yet_registered: test marker\n" + csv.read_text())
    assert read_csv(csv)[1]["skipped"]
    assert main(["--only", "dpl_fig3", "--scale", "tiny", "--out", str(out.parent)]) == 0
    assert "re-running" in capsys.readouterr().out
    b, _ = read_csv(out / "dpl_fig3.csv")
    pd.testing.assert_frame_equal(a, b)
    assert main(["--only", "dpl_fig33", "--scale", "tiny", "--out", str(out.parent)]) == 2
    assert "dpl_fig3" in capsys.readouterr().err


def test_fresh_process_same_numbers(out, tmp_path):
    """Same seed, fresh process -> the same DPL Fig. 3 numbers (no cache shared)."""
    r = subprocess.run([sys.executable, "-m", "paper_figures", "--only", "dpl_fig3", "--scale", "tiny", "--out",
                        str(tmp_path)], capture_output=True, text=True, timeout=120,
                       cwd=Path(__file__).resolve().parents[1])
    assert r.returncode == 0, r.stderr
    a, _ = read_csv(out / "dpl_fig3.csv")
    b, _ = read_csv(tmp_path / "tiny" / "dpl_fig3.csv")
    pd.testing.assert_frame_equal(a, b)


def test_dpl_fig2_skips_or_scores(out):
    df, meta = read_csv(out / "dpl_fig2.csv")
    try:
        import lcsim.surrogates  # noqa: F401
    except ImportError:
        assert len(df) == 0 and any("surrogate=dpl" in s for s in meta["skipped"])
        return
    assert df.spearman.between(-1, 1).all() and df.fraction.between(0, 1).all()


def test_fghpo_table1_against_scipy(out):
    table, meta = read_csv(out / "fghpo_table1.csv")
    tests, _ = read_csv(out / "fghpo_table1_tests.csv")
    assert (table[["win", "tie", "loss"]].sum(axis=1) == 3).all()  # 3 tasks per pair
    cells = pd.concat([pd.read_parquet(f) for f in (out / "cells").glob("*__no.parquet")])
    fin = cells.groupby(["task", "method", "seed"]).normalized_regret.last()
    row = tests[tests.method == "hyperband"].iloc[0]
    task = row.group.split("/")[1]
    ref = st.mannwhitneyu(fin[task]["hyperband"].to_numpy(), fin[task]["random_search"].to_numpy(),
                          alternative="two-sided")
    assert row.p == pytest.approx(ref.pvalue)
    from analysis.stats import benjamini_hochberg
    np.testing.assert_allclose(tests.p_bh, benjamini_hochberg(tests.p))


def test_fghpo_fig5_quantiles(out):
    df, _ = read_csv(out / "fghpo_fig5.csv")
    tab = synthetic_proxy_table(1)
    row = df[(df.task == "synthetic1") & (df.epoch == 2) & (df.quantity == "sharpness")].iloc[0]
    v = tab[tab.epoch == 2].sharpness
    assert row["mean"] == pytest.approx(v.mean()) and row.q25 == pytest.approx(np.quantile(v, 0.25))
    assert (df.q25 <= df.q75).all()


def _bh(p):
    """Benjamini-Hochberg adjusted p-values, written out here (independent of analysis.stats)."""
    p = np.asarray(p, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    q = p[ok]
    order = np.argsort(q)
    ranked = q[order] * q.size / np.arange(1, q.size + 1)
    ranked = np.minimum.accumulate(ranked[::-1])[::-1]
    res = np.empty(q.size)
    res[order] = np.minimum(ranked, 1.0)
    out[ok] = res
    return out


@pytest.mark.parametrize("name", ["agn_table1", "agn_table2", "agn_table4"])
def test_agn_tables_against_scipy(out, name):
    """Every statistic of the AGN search tables recomputed from the per-run CSV with scipy / numpy."""
    table, meta = read_csv(out / f"{name}.csv")
    runs, _ = read_csv(out / f"{name}_runs.csv")
    assert any("tiny scale" in n for n in meta["note"])
    assert set(runs.method) == ({"bohb", "default"} if name == "agn_table2" else {"cmaes", "pso", "default"})
    assert (runs.groupby(["dataset", "method", "setting"]).size() == 3).all()  # 3 retrainings per cell at tiny
    for tag, value, better in (("acc", "test_acc", np.greater), ("loss", "test_loss", np.less)):
        for row in table.itertuples():
            v = runs[(runs.dataset == row.dataset) & (runs.method == row.method) & (runs.setting == row.setting)]
            x = v[value].dropna().to_numpy()
            assert getattr(row, f"{tag}_mean") == pytest.approx(x.mean())
            assert getattr(row, f"{tag}_std") == pytest.approx(x.std(ddof=1))
            assert row.n == len(v)
            p = getattr(row, f"p_{tag}")
            if row.setting in ("val", "default"):
                assert np.isnan(p)
                continue
            ref = runs[(runs.dataset == row.dataset) & (runs.method == row.method) & (runs.setting == "val")]
            y = ref[value].dropna().to_numpy()
            assert p == pytest.approx(st.mannwhitneyu(x, y, alternative="two-sided").pvalue)
        tested = table[table[f"p_{tag}"].notna()]
        np.testing.assert_allclose(tested[f"p_bh_{tag}"], _bh(tested[f"p_{tag}"]))
        for row in tested.itertuples():
            v = runs[(runs.dataset == row.dataset) & (runs.method == row.method)]
            med = v[v.setting == row.setting][value].median()
            med_ref = v[v.setting == "val"][value].median()
            sig = getattr(row, f"p_bh_{tag}") < 0.05
            want = ("win" if better(med, med_ref) else "loss") if sig else "tie"
            assert getattr(row, f"outcome_{tag}") == want


def test_agn_fig4_curves_are_seeded_reruns(out):
    """The Fig. 4 curves end at the Table 1 retraining 0 of the same cell and equal a fresh seeded re-run."""
    import json

    from lcsim.live import Trainer
    from paper_figures._agn import final_seed
    from paper_figures._common import live_dataset, one_thread

    fig, meta = read_csv(out / "agn_fig4.csv")
    runs, _ = read_csv(out / "agn_table1_runs.csv")
    epochs = int(json.loads(meta["epochs"][0]))
    assert set(fig.panel) >= {"Default", "RS (Val)", "CMA-ES (Val)", "CMA-ES (AGN+Train, a=0.05)"}
    matched = 0
    for panel, d in fig.groupby("panel"):
        d = d.sort_values("epoch")
        assert list(d.epoch) == list(range(1, epochs + 1))
        np.testing.assert_allclose(d.gap, d.test_loss - d.train_loss)
        r = runs[(runs.method == d.method.iloc[0]) & (runs.objective == d.objective.iloc[0])
                 & np.isclose(runs.alpha, d.alpha.iloc[0]) & (runs.repeat == 0)]
        if len(r):
            assert d.test_loss.iloc[-1] == pytest.approx(r.test_loss.iloc[0], rel=1e-9)
            assert d.test_acc.iloc[-1] == pytest.approx(r.test_acc.iloc[0], rel=1e-9)
            assert json.loads(d.config.iloc[0]) == json.loads(r.config.iloc[0])
            matched += 1
    assert matched == fig.panel.nunique() - 1  # every panel but RS (its own search cell) is a Table 1 row
    d = fig[fig.panel == "CMA-ES (Val)"].sort_values("epoch")
    with one_thread():
        tr = Trainer(live_dataset(d.dataset.iloc[0]), d.family.iloc[0], json.loads(d.config.iloc[0]),
                     final_seed(int(d.cell_seed.iloc[0]), 0))
        tr.train_until(epochs)
    fresh = tr.to_frame()
    np.testing.assert_allclose(d.train_loss, fresh.train_loss, rtol=1e-9)
    np.testing.assert_allclose(d.test_loss, fresh.test_loss, rtol=1e-9)


def test_agn_table3_against_scipy(out):
    from paper_figures.agn_table3 import train_model
    from paper_figures._common import live_configs, live_dataset, ROOT_SEED
    from lcsim.seeding import derive

    table, meta = read_csv(out / "agn_table3.csv")
    models, _ = read_csv(out / "agn_table3_models.csv")
    assert any("analogue" in n for n in meta["note"])
    assert set(table.arch) == set(models.arch) | {"pooled"}
    from paper_figures.agn_table3 import RANGES, WELL_FITTED

    for row in table.itertuples():
        m = models
        if row.subset == "well_fitted":
            m = m[m.train_acc >= WELL_FITTED]
            m = m[m.arch.map(m.arch.value_counts()) >= 3]
        m = m if row.arch == "pooled" else m[m.arch == row.arch]
        ok = m[~m.diverged & np.isfinite(m[row.measure]) & np.isfinite(m[row.target])]
        assert row.n == len(ok)
        if ok[row.measure].nunique() < 2:
            assert np.isnan(row.spearman)  # n_params within one architecture
            continue
        ref = st.spearmanr(ok[row.measure], ok[row.target])
        assert row.spearman == pytest.approx(ref.statistic) and row.p == pytest.approx(ref.pvalue)
    np.testing.assert_allclose(models.gap, models.val_loss - models.train_loss)
    # one model re-trained from scratch gives the recorded measures
    first = models.iloc[0]
    cfg = live_configs(int(models.config_id.max()) + 1, derive(ROOT_SEED, "agn_table3", "configs"),
                       RANGES)[int(first.config_id)]
    again = train_model(live_dataset("digits", image=True), first.arch, int(first.config_id), cfg, int(first.epoch))
    for k in ("agn_sum", "dist_init", "gap", "sharpness", "n_params"):
        assert again[k] == pytest.approx(first[k], rel=1e-9)


def test_live_gn_table(tmp_path):
    """live_gn_table: the synthetic table's columns, GN equal to a fresh Trainer(gn=True), consistent timings, cache."""
    from lcsim.live import Trainer
    from lcsim.seeding import derive
    from paper_figures._common import (ROOT_SEED, Context, get_scale, live_configs, live_dataset, live_gn_table,
                                       one_thread)

    ctx = Context(get_scale("small"), tmp_path)
    df = live_gn_table(ctx, "iris", "mlp", n_configs=2, epochs=2)
    assert set(synthetic_proxy_table(0).columns) <= set(df.columns)
    assert len(df) == 4 and (df.groupby("config_id").epoch.max() == 2).all()
    for c in ("time_plain", "time_agn", "time_gn", "time_gn_epoch_end", "time_gn_naive"):
        assert (df[c] > 0).all()
    assert (df.time_gn >= df.time_gn_epoch_end).all() and (df.time_gn_epoch_end > df.time_plain).all()
    np.testing.assert_allclose(df.groupby("config_id").gn.cumsum(), df.gn_sum)
    cfg = live_configs(2, derive(ROOT_SEED, "live_gn", "iris", "mlp", ""))[1]
    with one_thread():
        tr = Trainer(live_dataset("iris"), "mlp", cfg, derive(ROOT_SEED, "live_gn_run", "iris", "mlp", "", 1), gn=True)
        tr.train_until(2)
    fresh = tr.to_frame()
    d = df[df.config_id == 1]
    np.testing.assert_allclose(d.gn, fresh.gn, rtol=1e-9)
    np.testing.assert_allclose(d.agn, fresh.agn, rtol=1e-9)
    assert d.hp_batch_size.iloc[0] == cfg["batch_size"]
    cached = next((tmp_path / "live_gn").glob("*.parquet"))
    before = cached.stat().st_mtime_ns
    pd.testing.assert_frame_equal(live_gn_table(ctx, "iris", "mlp", n_configs=2, epochs=2), df)
    assert cached.stat().st_mtime_ns == before
