"""Run every paper-figure script at tiny scale and check the numbers in its CSV, not only that files exist."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats as st

from lcsim.optimizers import METHODS
from lcsim.testing.optimizer_contract import fast_params
from paper_figures import SCRIPTS
from paper_figures.__main__ import main
from paper_figures._common import read_csv, single_threaded, synthetic_proxy_table

#: the tiny scale with the contract suite's small method settings (the figures use the methods' defaults otherwise)
TINY = ["--scale", "tiny", "--params", json.dumps({m: fast_params(m) for m in METHODS})]


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    d = tmp_path_factory.mktemp("pf")
    assert main([*TINY, "--out", str(d), "--jobs", "1"]) == 0
    return d / "tiny"


def test_all_outputs_written(out):
    """Every script wrote its CSV (with metadata and some finite numbers), its command and a drawn PNG (a decodable
    image that is not blank); the numbers themselves are checked by the per-figure tests below."""
    import matplotlib.image as mpimg

    for name in SCRIPTS:
        df, meta = read_csv(out / f"{name}.csv")
        assert meta["figure"] == [name] and meta["scale"] == ["tiny"]
        assert f"--only {name} --scale tiny" in (out / f"{name}.cmd.txt").read_text()
        img = mpimg.imread(out / f"{name}.png")
        assert img.ndim == 3 and min(img.shape[:2]) > 100 and img[..., :3].std() > 0.01, name
        assert len(df) > 0
        numbers = df.select_dtypes("number")
        assert numbers.shape[1] and np.isfinite(numbers.to_numpy(dtype=float)).any(), name


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
    cells = pd.concat([pd.read_parquet(f) for f in (out / "cells").glob("*.parquet")])
    rs = cells[cells.method == "random_search"]
    x = df[df.method == "random_search"].x.max()
    per = rs[rs.budget_used <= x].groupby(["task", "seed"]).normalized_regret.last()
    expected = per.groupby("task").mean().mean()
    got = df[(df.method == "random_search") & (df.x == x)]["mean"].iloc[0]
    assert got == pytest.approx(expected)


def _brute_force_scores(out, frac):
    """(task, seed) x method normalized regret at ``frac`` of each cell's budget, by a plain loop over the cells."""
    rows = {}
    for f in (out / "cells").glob("*.parquet"):
        c = pd.read_parquet(f)
        if "budget_used" not in c or c.normaliser.iloc[0] != "any_epoch":  # another script's cells
            continue
        paid = c[c.budget_used <= frac * c.budget.iloc[0] + 1e-9]
        rows[(c.task.iloc[0], int(c.seed.iloc[0]), c.method.iloc[0])] = paid.normalized_regret.iloc[-1]
    s = pd.Series(rows)
    s.index.names = ["task", "seed", "method"]
    return s.unstack("method")


def test_dpl_fig4_ranks_and_wilcoxon_against_a_brute_force_recomputation(out):
    """Mean ranks, Friedman and the DPL-vs-baseline Wilcoxon table recomputed from the cells with scipy: a wrong
    ranking direction, averaging order or pairing fails it (not only the rank-sum identity)."""
    df, _ = read_csv(out / "dpl_fig4.csv")
    wil, meta = read_csv(out / "dpl_fig4_wilcoxon.csv")
    assert meta["reference"] == ['"dpl"']
    for frac, d in df.groupby("fraction"):
        runs = _brute_force_scores(out, frac)
        tasks = runs.groupby("task").mean()[d.method.tolist()]
        ranks = pd.DataFrame(st.rankdata(tasks.to_numpy(), axis=1), columns=tasks.columns).mean()
        np.testing.assert_allclose(d.set_index("method").mean_rank[ranks.index], ranks, rtol=1e-12)
        fr = st.friedmanchisquare(*tasks.to_numpy().T)
        assert d.friedman_stat.iloc[0] == pytest.approx(fr.statistic) and d.n_tasks.iloc[0] == len(tasks)
        for level, matrix in (("task", tasks), ("run", runs)):
            w = wil[(wil.fraction == frac) & (wil.blocks == level)].set_index("method")
            assert set(w.index) == set(matrix.columns) - {"dpl"}
            for m, r in w.iterrows():
                diff = (matrix["dpl"] - matrix[m]).to_numpy()
                assert (r.n, r.better, r.worse) == (len(diff), (diff < 0).sum(), (diff > 0).sum())
                p = st.wilcoxon(diff).pvalue if np.any(diff != 0) else 1.0
                assert r.p == pytest.approx(p, rel=1e-9)


def test_dpl_fig5_and_fig6_ranges(out):
    df, meta = read_csv(out / "dpl_fig5.csv")
    assert df.x.between(0, 1).all() and (df["mean"] >= 0).all()
    # at x = 1 random search has used all of its own time: its point is its mean final regret over tasks and seeds
    cells = pd.concat([pd.read_parquet(f) for f in (out / "cells").glob("*__random_search__*.parquet")])
    final = cells.groupby(["task", "seed"]).normalized_regret.last()
    rs = df[(df.method == "random_search") & np.isclose(df.x, 1.0)]["mean"].iloc[0]
    assert rs == pytest.approx(final.mean())
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
    row = df[(df.task == "synthetic0") & (df["values"] == "per_epoch") & (df.x == "gn") & (df.y == "agn")].iloc[0]
    assert row.pearson == pytest.approx(st.pearsonr(tab.gn, tab.agn).statistic) and row.n == len(tab)
    df, _ = read_csv(out / "fghpo_fig3.csv")
    assert df.iou.between(0, 1).all() and (df[df.epoch == 1].iou == 1).all()
    tests, _ = read_csv(out / "fghpo_fig3_tests.csv")  # sharpness vs val-loss IoU at the last epoch, paired by pool
    for r in tests.itertuples():
        last = df[(df.task == r.task) & (df.epoch == r.epoch)].pivot(index="pool", columns="proxy", values="iou")
        d = last.sharpness - last.val_loss
        assert r.mean_iou_sharpness == pytest.approx(last.sharpness.mean()) and r.n_pools == len(last)
        if (d != 0).any():
            assert r.p == pytest.approx(st.wilcoxon(d).pvalue)
    df, _ = read_csv(out / "agn_fig2.csv")
    assert df[(df.task == "synthetic0") & (df.variant == "gn")].mean_s.iloc[0] == pytest.approx(tab.time_gn.mean())


def test_resume_and_bad_name(out, capsys):
    before = (out / "agn_fig1.csv").stat().st_mtime_ns  # complete (nothing skipped): not redone
    assert main(["--only", "agn_fig1", *TINY, "--out", str(out.parent)]) == 0
    assert (out / "agn_fig1.csv").stat().st_mtime_ns == before
    assert "exists, skipped" in capsys.readouterr().out
    # a CSV that records a skipped piece is redone (from the cached cells) and gives the same numbers
    csv = out / "dpl_fig3.csv"
    a, _ = read_csv(csv)
    csv.write_text("# skipped: method=not_yet_registered: test marker\n" + csv.read_text())
    assert read_csv(csv)[1]["skipped"]
    assert main(["--only", "dpl_fig3", *TINY, "--out", str(out.parent)]) == 0
    assert "re-running" in capsys.readouterr().out
    b, _ = read_csv(out / "dpl_fig3.csv")
    pd.testing.assert_frame_equal(a, b)
    assert main(["--only", "dpl_fig33", *TINY, "--out", str(out.parent)]) == 2
    assert "dpl_fig3" in capsys.readouterr().err


def test_recompute_reruns_one_methods_cells_and_redraws(out, capsys):
    """--recompute METHOD deletes that method's cached cells (only its own), runs them again and redraws the script
    although its CSV exists; the same seeds give the same numbers. An unknown method is one error with status 2."""
    cells = out / "cells"
    rs = {p.name: p.stat().st_mtime_ns for p in cells.glob("*__random_search__seed*")}
    others = {p.name: p.stat().st_mtime_ns for p in cells.glob("*.parquet") if p.name not in rs}
    assert rs and others
    before, _ = read_csv(out / "dpl_fig3.csv")
    assert main(["--only", "dpl_fig3", *TINY, "--recompute", "random_search", "--out", str(out.parent)]) == 0
    printed = capsys.readouterr()
    assert f"running {len(rs)} cell(s) of synthetic again" in printed.err and "exists, skipped" not in printed.out
    assert {p.name: p.stat().st_mtime_ns for p in cells.glob("*__random_search__seed*")}.keys() == rs.keys()
    assert all(p.stat().st_mtime_ns > rs[p.name] for p in cells.glob("*__random_search__seed*"))
    assert {p.name: p.stat().st_mtime_ns for p in cells.glob("*.parquet") if p.name not in rs} == others
    after, _ = read_csv(out / "dpl_fig3.csv")
    pd.testing.assert_frame_equal(before, after)
    assert main(["--only", "dpl_fig3", *TINY, "--recompute", "smacc", "--out", str(out.parent)]) == 2
    assert "smac" in capsys.readouterr().err


def test_a_named_benchmark_without_data_is_one_error(tmp_path, monkeypatch, capsys):
    """--benchmarks names what the user asked for: one that cannot be loaded ends with status 2 and the loader's
    fix (the download command) before any script runs, instead of a figure that records it as skipped."""
    monkeypatch.setenv("LCSIM_DATA", str(tmp_path / "empty"))
    out = tmp_path / "out"
    assert main(["--only", "dpl_fig3", "--scale", "full", "--benchmarks", "lcbench_yahpo", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "--benchmarks names lcbench_yahpo" in err and "python -m lcsim.data download lcbench_yahpo" in err
    assert err.count("\n") == 1 and not out.exists()


def test_seeds_option_draws_the_first_seeds_and_records_them(out, tmp_path, capsys):
    """--seeds N draws the grid's seeds 0..N-1 only (the same cells as the full run's first seed), records it in
    the CSV and its command, redraws a CSV made with another seed count, and refuses N < 1 with status 2."""
    assert main(["--only", "dpl_fig3", *TINY, "--seeds", "0", "--out", str(tmp_path)]) == 2
    assert "--seeds must be a positive" in capsys.readouterr().err
    d = tmp_path / "tiny"
    d.mkdir(parents=True)
    for f in (out / "cells").glob("*__seed0__*.parquet"):  # the first seed's cells, already run by the fixture
        (d / "cells").mkdir(exist_ok=True)
        (d / "cells" / f.name).write_bytes(f.read_bytes())
    assert main(["--only", "dpl_fig3", *TINY, "--seeds", "1", "--out", str(tmp_path)]) == 0
    one, meta = read_csv(d / "dpl_fig3.csv")
    assert meta["seeds"] == ["1"] and "--seeds 1" in (d / "dpl_fig3.cmd.txt").read_text()
    assert not list((d / "cells").glob("*__seed1__*"))  # nothing beyond seed 0 ran
    cells = pd.concat([pd.read_parquet(f) for f in (d / "cells").glob("*__random_search__*.parquet")])
    x = one[one.method == "random_search"].x.max()
    per = cells[cells.budget_used <= x].groupby("task").normalized_regret.last()
    assert one[(one.method == "random_search") & (one.x == x)]["mean"].iloc[0] == pytest.approx(per.mean())
    assert main(["--only", "dpl_fig3", *TINY, "--out", str(tmp_path)]) == 0  # the scale's 2 seeds: redrawn
    assert "drawn with 1 seed(s)" in capsys.readouterr().out
    assert read_csv(d / "dpl_fig3.csv")[1]["seeds"] == ["2"]


def test_fresh_process_same_numbers(out, tmp_path):
    """Same seed, fresh process, 2 worker processes -> the same numbers (no cache shared) for every script that runs
    cells in the process pool: the replay grid, DPL Fig. 2, the AGN searches and the FGHPO protocol."""
    names = ("dpl_fig3", "dpl_fig2", "agn_table1", "fghpo_table1")
    r = subprocess.run([sys.executable, "-m", "paper_figures", "--only", *names, *TINY, "--jobs", "2",
                        "--out", str(tmp_path)], capture_output=True, text=True, timeout=300,
                       cwd=Path(__file__).resolve().parents[1])
    assert r.returncode == 0, r.stderr
    for name in names:
        a, _ = read_csv(out / f"{name}.csv")
        b, _ = read_csv(tmp_path / "tiny" / f"{name}.csv")
        pd.testing.assert_frame_equal(a, b)


def test_dpl_fig2_scores_every_model_and_recomputes(out):
    from lcsim.benchmarks.synthetic import synthetic_task
    from lcsim.surrogates import LC_MODELS, lc_predictions
    from paper_figures.dpl_fig2 import FRACTIONS, N_TRAIN, TINY_PARAMS

    df, meta = read_csv(out / "dpl_fig2.csv")
    assert "skipped" not in meta
    assert set(df.model) == set(LC_MODELS) and set(df.fraction) == set(FRACTIONS["tiny"])
    assert df.spearman.between(-1, 1).all() and (df.n == N_TRAIN["tiny"]).all()
    # one task recomputed independently: same seeded predictions, correlation from scipy
    task = synthetic_task(n_configs=24, n_epochs=9, seed=0, name="powerlaw-0")  # the tiny scale's first task
    with single_threaded():  # as the script computes them
        pred = lc_predictions(task, (0.4,), n_train=N_TRAIN["tiny"], seed=2024, models=["power_law", "dpl"],
                              model_params=TINY_PARAMS)
    for m in ("power_law", "dpl"):
        g = pred[pred.model == m]
        row = df[(df.task == f"synthetic/{task.name}") & (df.model == m) & (df.fraction == 0.4)].iloc[0]
        assert row.spearman == pytest.approx(st.spearmanr(g.observed, g.predicted).statistic)
    e, _ = read_csv(out / "dpl_fig7.csv")
    assert set(e.model) == set(LC_MODELS) and (e["min"] >= 0).all() and (e["50%"] <= e["max"]).all()


def test_fghpo_table1_against_scipy(out):
    """Table 1/2 from the per-run CSV: one Mann-Whitney p-value with scipy, the BH adjustment with scipy's
    false_discovery_control, the medians, and the win/tie/loss bookkeeping."""
    table1, meta = read_csv(out / "fghpo_table1.csv")
    table2, _ = read_csv(out / "fghpo_table2.csv")
    tests, _ = read_csv(out / "fghpo_table1_tests.csv")
    runs, _ = read_csv(out / "fghpo_table1_runs.csv")
    assert any("synthetic" in n for n in meta["note"])
    assert "skipped" not in meta  # every method of the paper's table runs (HEBO: lcsim's reimplementation)
    methods = set(runs.method)
    assert methods == {"fghpo", "tpe", "random_search", "turbo", "hebo", "bohb"}
    n_ds = runs.dataset.nunique()
    assert n_ds == 3 and (runs.groupby(["dataset", "method"]).size() == 3).all()  # 3 tasks x 3 repeats
    k = len(methods)
    assert len(tests) == n_ds * k * (k - 1) // 2
    # one MWU p-value (FGHPO vs random search on the first dataset), recomputed from the per-repeat scores
    d = sorted(runs.dataset.unique())[0]
    row = tests[(tests.dataset == d) & (tests.a == "fghpo") & (tests.b == "random_search")].iloc[0]
    x = runs[(runs.dataset == d) & (runs.method == "fghpo")].score.to_numpy()
    y = runs[(runs.dataset == d) & (runs.method == "random_search")].score.to_numpy()
    if np.all(x == x[0]) and np.all(y == x[0]):
        assert row.p == 1.0  # identical samples: no evidence (scipy would return NaN)
    else:
        ref = st.mannwhitneyu(x, y, alternative="two-sided")
        assert row.p == pytest.approx(ref.pvalue) and row.U == pytest.approx(ref.statistic)
    # Benjamini-Hochberg over the pairs of each dataset
    for _, g in tests.groupby("dataset"):
        np.testing.assert_allclose(g.p_adj, st.false_discovery_control(g.p.to_numpy(), method="bh"))
    # Table 1 medians and Table 2 counts
    med = runs.groupby(["dataset", "method"]).score.median()
    for r in table1.itertuples():
        assert r.median_score == pytest.approx(med[(r.dataset, r.method)])
    counts = table1.groupby("method").outcome.value_counts().unstack(fill_value=0)
    t2 = table2.set_index("method")
    for m in methods:
        assert t2.loc[m, ["wins", "ties", "losses"]].sum() == n_ds
        for o, col in (("win", "wins"), ("tie", "ties"), ("loss", "losses")):
            assert t2.loc[m, col] == counts.loc[m].get(o, 0)
    # a loss needs a significant pair where another method is better
    for r in table1[table1.outcome == "loss"].itertuples():
        g = tests[(tests.dataset == r.dataset) & ((tests.a == r.method) | (tests.b == r.method))]
        assert (g.significant & g.better.notna() & (g.better != r.method)).any()


def test_fghpo_fig5_one_configuration(out):
    """Fig. 5 shows the configuration the stated rule picks, with its recorded values, and the property share is
    the share of the rule's informative configurations (checked by hand in test_fghpo_protocols)."""
    from paper_figures.fghpo_fig5 import median_config, property_holds

    df, meta = read_csv(out / "fghpo_fig5.csv")
    prop, _ = read_csv(out / "fghpo_fig5_property.csv")
    assert meta["configuration_rule"]
    tab = synthetic_proxy_table(1)
    cid = median_config(tab)
    shown = df[df.task == "synthetic1"]
    assert set(shown.config_id) == {cid}
    ref = tab[tab.config_id == cid].sort_values("epoch")
    np.testing.assert_allclose(shown.sort_values("epoch").sharpness.to_numpy(), ref.sharpness.to_numpy())
    np.testing.assert_allclose(shown.sort_values("epoch").val_loss.to_numpy(), ref.val_loss.to_numpy())
    row = prop[prop.task == "synthetic1"].iloc[0]
    held = property_holds(tab)
    assert row.share_holds == pytest.approx(held.mean()) and row.n == len(held)
    assert row.ci_low <= row.share_holds <= row.ci_high


def test_fghpo_table1_bayesmark_score(out):
    """The Bayesmark variant's score is Bayesmark's normalized score of the returned configuration's loss,
    recomputed here from the task's pool by hand (best = pool minimum, clip = pool median)."""
    from paper_figures._fghpo import synthetic_sharpness_task

    runs, meta = read_csv(out / "fghpo_table1_bayesmark_runs.csv")
    assert json.loads(meta["space"][0]) == "bayesmark_mlp" and "bayesmark" in meta["score"][0]
    for d, g in runs.groupby("dataset"):
        t = synthetic_sharpness_task(int(d.removeprefix("powerlaw")), 24)
        pool = t.curves[:, :, -1, t.metric_index("valid_loss")].ravel()
        best, med = pool.min(), np.median(pool)
        want = 100 * (1 - np.clip((g.loss - best) / (med - best), -1, 1))
        np.testing.assert_allclose(g.score, want)
    t1, _ = read_csv(out / "fghpo_table1_bayesmark.csv")
    med = runs.groupby(["dataset", "method"]).score.median()
    for r in t1.itertuples():
        assert r.median_score == pytest.approx(med[(r.dataset, r.method)])


def test_dpl_fig1_refits_from_the_csv(out):
    """The slice and budget predictions reproduce from a fresh DPLLC with the recorded seed fitted on the CSV's
    training points; std >= 0; one row per slice value and budget, one per epoch for panel (b); and the training
    points are the protocol's (which runs are observed for how long, their targets) on an independent load."""
    import json

    from lcsim.surrogates import DPLLC

    df, meta = read_csv(out / "dpl_fig1.csv")
    tr, _ = read_csv(out / "dpl_fig1_train.csv")
    m = {k: json.loads(v[0]) for k, v in meta.items() if k not in ("note", "skipped", "figure", "scale")}
    T, cols, param = m["n_epochs"], m["encoded_columns"], m["param"]
    assert (df["std"] >= 0).all() and df["mean"].notna().all()
    a, b = df[df.panel == "slice"], df[df.panel == "budget"]
    values = np.linspace(0.0, 0.9, 7)  # tiny: synthetic dropout slice
    assert len(a) == len(values) * len(m["pred_budgets"]) and sorted(set(a.epoch)) == m["pred_budgets"]
    assert len(b) == T and list(b.epoch) == list(range(1, T + 1))
    rows = tr.groupby("row")[[f"x_{c}" for c in cols]].first()
    X = rows.to_numpy()
    Y = np.full((len(X), T), np.nan)
    Y[tr.row.to_numpy(), tr.epoch.to_numpy(int) - 1] = tr.target.to_numpy()
    assert list(np.isfinite(Y).sum(axis=1)) == m["n_observed_epochs"]
    from paper_figures._common import single_threaded

    with single_threaded():
        model = DPLLC(seed=m["dpl_seed"], **m["dpl_params"]).fit(X, Y, np.arange(1, T + 1, dtype=float))
    Xs = np.tile(m["base_encoded"], (len(values), 1))
    Xs[:, cols.index(param)] = values / 0.9  # dropout in [0, 0.9], linear
    for e in m["pred_budgets"]:
        mean, std = model.predict(Xs, e)
        d = a[a.epoch == e]
        np.testing.assert_allclose(d["value"], values)
        np.testing.assert_allclose(d["mean"], mean, rtol=1e-6, atol=1e-9)
        np.testing.assert_allclose(d["std"], std, rtol=1e-6, atol=1e-9)
    j = m["panel_b_row"]
    for e in (1, T):
        mean, std = model.predict(X[j:j + 1], e)
        row = b[b.epoch == e].iloc[0]
        assert row["mean"] == pytest.approx(mean[0], rel=1e-6) and row["std"] == pytest.approx(std[0], rel=1e-6)
    k = m["n_observed_epochs"][j]
    assert k < T and b.observed.notna().sum() == k
    np.testing.assert_allclose(b.observed.iloc[:k], Y[j, :k])
    # the training data are the protocol's, checked on an independent load of the pool: configurations with
    # dropout < 0.45 observed in full, the others for 1-3 epochs, targets the pool's curves; panel (b)'s true curve
    from lcsim.benchmarks.synthetic import synthetic_task
    from lcsim.surrogates import lc_targets

    n_obs = np.asarray(m["n_observed_epochs"])
    pool = synthetic_task(n_configs=len(n_obs), n_epochs=T, seed=0, name="powerlaw0")
    full = pool.configs["dropout"].to_numpy() < 0.45
    assert (n_obs[full] == T).all() and ((n_obs[~full] >= 1) & (n_obs[~full] <= 3)).all()
    ref = lc_targets(pool)
    np.testing.assert_allclose(tr.target, ref[tr.row.to_numpy(), tr.epoch.to_numpy(int) - 1], rtol=1e-12)
    np.testing.assert_allclose(tr.value, pool.configs["dropout"].to_numpy()[tr.row.to_numpy()])
    np.testing.assert_allclose(b["true"], ref[j])
    assert not full[j]


def test_fghpo_fig1_centre_is_the_trained_models_loss(out):
    """Retrain both selected runs from the CSV (configuration, run seed, epochs): the landscape's centre is their
    training cross-entropy computed directly; the low-sharpness run's recorded sharpness is below the high one's."""
    import json

    import torch
    import torch.nn.functional as F

    from lcsim.live import Trainer, load_dataset
    from paper_figures._common import single_threaded

    df, meta = read_csv(out / "fghpo_fig1.csv")
    cf, _ = read_csv(out / "fghpo_fig1_configs.csv")
    grid = json.loads(meta["grid"][0])
    assert set(df.label) == {"low", "high"} and (df.groupby("label").size() == grid * grid).all()
    s = df.groupby("label").sharpness.first()
    assert s["low"] < s["high"]
    sel = cf[cf.label.isin(["low", "high"])].set_index("label")
    assert sel.loc["low", "sharpness_epoch1"] == pytest.approx(s["low"])
    chance = np.log(3)  # iris: 3 classes
    ok = cf[np.isfinite(cf.sharpness_epoch1) & (cf.sharpness_epoch1 > 0) & (cf.train_loss_epoch1 < chance)]
    assert s["low"] == pytest.approx(ok.sharpness_epoch1.min())
    assert s["high"] == pytest.approx(ok.sharpness_epoch1.max())
    ds = load_dataset(json.loads(meta["dataset"][0]), seed=0)
    x, y = torch.as_tensor(ds.x_train), torch.as_tensor(ds.y_train)
    for label in ("low", "high"):
        r = sel.loc[label]
        with single_threaded():
            tr = Trainer(ds, json.loads(meta["family"][0]), json.loads(r.config), int(r.run_seed))
            tr.train_until(int(r.epochs))
        tr.model.eval()
        with torch.no_grad():
            direct = float(F.cross_entropy(tr.model(x), y))
        centre = df[(df.label == label) & (df.alpha == 0) & (df.beta == 0)]["loss"]
        assert len(centre) == 1 and centre.iloc[0] == pytest.approx(direct, rel=1e-6)
        assert r.train_loss == pytest.approx(direct, rel=1e-5)  # the trainer's own end-of-training record


def test_fghpo_fig2_runtimes(out):
    """Fig. 2's medians come from the protocol runs of Table 1; every run's replayed training time respects the
    protocol's epoch budget (FGHPO: N1 probe epochs + N2 full curves; others: n_evals full curves)."""
    import json

    from paper_figures._fghpo import synthetic_sharpness_task

    df, meta = read_csv(out / "fghpo_fig2.csv")
    runs, _ = read_csv(out / "fghpo_table1_runs.csv")
    runs["total_s"] = runs.runtime_s + runs.overhead_s
    med = runs.groupby(["dataset", "method"]).agg(tr=("runtime_s", "median"), tot=("total_s", "median"))
    for r in df.itertuples():
        assert r.median_train_s == pytest.approx(med.loc[(r.dataset, r.method), "tr"])
        assert r.median_total_s == pytest.approx(med.loc[(r.dataset, r.method), "tot"])
        fg = med.loc[(r.dataset, "fghpo"), "tot"]
        assert r.fghpo_share == pytest.approx(fg / r.median_total_s)
    assert (df.median_overhead_s >= 0).all() and (df[df.method == "fghpo"].fghpo_share == 1).all()
    n_probe, n_full, n_evals = (json.loads(meta[k][0]) for k in ("n_probe", "n_full", "n_evals"))
    for s in range(3):
        task = synthetic_sharpness_task(s, 24)
        worst = task.epoch_cost.max()  # seconds of the most expensive epoch of the task
        part = runs[runs.dataset == f"powerlaw{s}"]
        epochs = np.where(part.method == "fghpo", n_probe + n_full * task.n_epochs, n_evals * task.n_epochs)
        assert (part.runtime_s <= epochs * worst + 1e-9).all() and (part.runtime_s > 0).all()


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


def test_agn_search_cells_read_eq5_and_key_the_column(out, tmp_path):
    """The tables' AGN cells read eq. 5's AGN (``agn_end_sum``) and name it in their cache key; a cell on the
    training-pass column is its own cell, and the Val cells (which read no AGN) are shared by both columns."""
    import json

    from paper_figures._agn import AGN_METRIC, search_cell
    from paper_figures._common import Context, get_scale, live_dataset

    assert AGN_METRIC == "agn_end_sum"
    files = sorted((out / "agn_search").glob("*.json"))
    agn = [f for f in files if "__agn_train__" in f.name or "__agn_val__" in f.name]
    assert agn and all("__agn_end_sum__" in f.name for f in agn)
    assert all(json.loads(f.read_text())["agn_metric"] == "agn_end_sum" for f in agn)
    assert not any("agn_sum" in f.name for f in files if "__val__" in f.name)
    ctx = Context(get_scale("tiny"), tmp_path)
    ds = live_dataset("iris")
    a = search_cell(ctx, "iris", "mlp", ds, "pso", "agn_train", 0.05)
    b = search_cell(ctx, "iris", "mlp", ds, "pso", "agn_train", 0.05, agn_metric="agn_sum")
    assert (a["agn_metric"], b["agn_metric"]) == ("agn_end_sum", "agn_sum") and a["seed"] == b["seed"]
    assert len(list((tmp_path / "agn_search").glob("*.json"))) == 2
    search_cell(ctx, "iris", "mlp", ds, "pso", "val", 0.0)
    search_cell(ctx, "iris", "mlp", ds, "pso", "val", 0.0, agn_metric="agn_sum")
    assert len(list((tmp_path / "agn_search").glob("*.json"))) == 3


def test_agn_fig4_curves_are_seeded_reruns(out):
    """The Fig. 4 curves end at the Table 1 retraining 0 of the same cell and equal a fresh seeded re-run."""
    import json

    from lcsim.live import Trainer
    from paper_figures._agn import final_seed
    from paper_figures._common import live_dataset

    fig, meta = read_csv(out / "agn_fig4.csv")
    runs, _ = read_csv(out / "agn_table1_runs.csv")
    epochs = int(json.loads(meta["epochs"][0]))
    assert set(fig.panel) >= {"Default", "RS (Val)", "CMA-ES (Val)", "CMA-ES (AGN+Train, a=0.05)"}
    matched = 0
    for _panel, d in fig.groupby("panel"):
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
    with single_threaded():
        tr = Trainer(live_dataset(d.dataset.iloc[0]), d.family.iloc[0], json.loads(d.config.iloc[0]),
                     final_seed(int(d.cell_seed.iloc[0]), 0))
        tr.train_until(epochs)
    fresh = tr.to_frame()
    np.testing.assert_allclose(d.train_loss, fresh.train_loss, rtol=1e-9)
    np.testing.assert_allclose(d.test_loss, fresh.test_loss, rtol=1e-9)


def test_agn_table3_against_scipy(out):
    from lcsim.seeding import derive
    from paper_figures._common import ROOT_SEED, live_configs, live_dataset
    from paper_figures.agn_table3 import train_model

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
    from paper_figures._common import (
        ROOT_SEED,
        Context,
        get_scale,
        live_configs,
        live_dataset,
        live_gn_table,
    )

    ctx = Context(get_scale("small"), tmp_path)
    df = live_gn_table(ctx, "iris", "mlp", n_configs=2, epochs=2)
    assert set(synthetic_proxy_table(0).columns) <= set(df.columns)
    assert len(df) == 4 and (df.groupby("config_id").epoch.max() == 2).all()
    for c in ("time_plain", "time_agn", "time_gn", "time_gn_epoch_end", "time_gn_naive"):
        assert (df[c] > 0).all()
    assert (df.time_gn >= df.time_gn_epoch_end).all() and (df.time_gn_epoch_end > df.time_plain).all()
    np.testing.assert_allclose(df.groupby("config_id").gn.cumsum(), df.gn_sum)
    cfg = live_configs(2, derive(ROOT_SEED, "live_gn", "iris", "mlp", ""))[1]
    with single_threaded():
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


def test_a_figure_cell_equals_the_same_cell_from_the_cli(out, tmp_path):
    """One pipeline: the random-search cell (powerlaw-0, seed 0) that `python -m paper_figures` replayed for DPL
    Figs. 3-6 equals the same cell run by `python -m lcsim.replay` with the figures' root seed, budget, loader options
    and normaliser (fails if the two entry points derive seeds, name cells or normalise regret differently)."""
    from lcsim.replay import store
    from lcsim.replay.__main__ import main as replay_main
    from paper_figures._common import ROOT_SEED, SCALES, TINY_OPTIONS

    tiny = SCALES["tiny"]
    cli = tmp_path / "cli"
    argv = ["--benchmark", "synthetic", "--tasks", "powerlaw-0", "--methods", "random_search", "--seeds", "1",
            "--budget", f"{tiny.budget_full_evals:g}", "--seed", str(ROOT_SEED), "--normaliser", "any_epoch",
            "--executor", "serial", "--no-progress", "--out", str(cli)]
    argv += [a for k, v in TINY_OPTIONS.items() for a in ("--option", f"{k}={v}")]
    assert replay_main(argv) == 0
    (mine,) = store.cell_files(cli / "cells")
    theirs = out / "cells" / mine.name
    assert theirs.is_file(), "the figure grid names the cell differently"
    a = store.canonical(store.read_table(mine))
    b = store.canonical(store.read_table(theirs))
    pd.testing.assert_frame_equal(a, b)
    assert len(a) and set(a["normaliser"]) == {"any_epoch"}


def test_full_scale_grid_packs_its_cells_and_a_rerun_draws_from_the_pack(tmp_path, monkeypatch):
    """At the full scale the grid's cells go into results/full/<benchmark>.parquet (only the figures' columns); a run
    in a fresh output folder restores them from the pack and runs nothing, and a stopped run packs what finished."""
    import paper_figures._common as common
    from lcsim.benchmarks.synthetic import synthetic_task
    from lcsim.replay import grid, store

    monkeypatch.setattr(common, "RESULTS", tmp_path / "results")
    scale = common.Scale("full", ("synthetic",), 2, 2, 2, None)
    tasks = [synthetic_task(seed=i, name=f"powerlaw-{i}") for i in range(2)]
    cols = ("task", "method", "seed", "budget_used", "regret")
    first = common.run_grid(common.Context(scale, tmp_path / "one"), tasks, ["random_search", "hyperband"],
                            columns=cols)
    packed = tmp_path / "results" / "full" / "synthetic.parquet"
    assert len(first) > 0 and list(first.columns) == list(cols)
    assert store.read_table(packed)["cell"].nunique() == 2 * 2 * 2

    def no_run(*args, **kwargs):
        raise AssertionError("a packed cell was run again")

    with monkeypatch.context() as m:
        m.setattr(grid, "run_cell", no_run)
        again = common.run_grid(common.Context(scale, tmp_path / "two"), tasks, ["random_search", "hyperband"],
                                columns=cols)
    pd.testing.assert_frame_equal(again, first)

    calls = []

    def stop_after_two(cell, *args, **kwargs):
        if len(calls) == 2:
            raise KeyboardInterrupt
        calls.append(cell)
        return real(cell, *args, **kwargs)

    # --recompute: hyperband's cells run again, once per command (the context's `redone` is shared by its scripts),
    # and replace the packed ones; the same seeds give the same table
    ran = []
    real = grid.run_cell
    packed_at = packed.stat().st_mtime_ns
    ctx = common.Context(scale, tmp_path / "two", recompute=("hyperband",))
    with monkeypatch.context() as m:
        m.setattr(grid, "run_cell", lambda cell, *a, **k: ran.append(cell.label) or real(cell, *a, **k))
        redone = common.run_grid(ctx, tasks, ["random_search", "hyperband"], columns=cols)
        assert ran == ["hyperband"] * 4
        again = common.run_grid(common.Context(scale, tmp_path / "two", recompute=("hyperband",), redone=ctx.redone),
                                tasks, ["random_search", "hyperband"], columns=cols)
        assert ran == ["hyperband"] * 4
    pd.testing.assert_frame_equal(redone, first)
    pd.testing.assert_frame_equal(again, first)
    assert store.read_table(packed)["cell"].nunique() == 8 and packed.stat().st_mtime_ns > packed_at

    monkeypatch.setattr(grid, "run_cell", stop_after_two)
    with pytest.raises(KeyboardInterrupt):
        common.run_grid(common.Context(scale, tmp_path / "three"), tasks, ["random_search", "asha"], columns=cols)
    assert store.read_table(packed)["cell"].nunique() == 8 + 2   # the two finished asha cells joined the pack
