"""Analysis functions against independent references (scipy, hand computation, brute-force loops)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as st

from analysis import efficiency, iou, ranking, regret, stats
from lcsim.benchmarks.synthetic import synthetic_task
from lcsim.errors import InvalidParameterError
from lcsim.optimizers import make_optimizer
from lcsim.replay import Budget, problem_for, run
from lcsim.surrogates import LCModel, lc_prediction_study, lc_predictions, lc_targets


def test_correlation_matches_scipy_and_drops_nan():
    rng = np.random.default_rng(0)
    x = rng.normal(size=50)
    y = x + 0.5 * rng.normal(size=50)
    y2 = y.copy()
    y2[3] = np.nan
    r, p, n = stats.correlation(x, y2, "spearman")
    keep = np.arange(50) != 3
    ref = st.spearmanr(x[keep], y[keep])
    assert n == 49 and r == pytest.approx(ref.statistic) and p == pytest.approx(ref.pvalue)
    r, p, _ = stats.correlation(x, y, "pearson")
    ref = st.pearsonr(x, y)
    assert r == pytest.approx(ref.statistic) and p == pytest.approx(ref.pvalue)
    # known answer: monotone transform has Spearman 1
    assert stats.correlation(x, np.exp(x))[0] == pytest.approx(1.0)
    with pytest.raises(InvalidParameterError, match="spearman"):
        stats.correlation(x, y, "kendal")


def test_benjamini_hochberg_hand_computed():
    p = np.array([0.01, 0.04, 0.03, 0.20])
    # sorted: .01,.03,.04,.20 -> m*p/i = .04, .06, .0533, .20 -> step-up min from the right: .04,.0533,.0533,.20
    expected = np.array([0.04, 0.16 / 3, 0.16 / 3, 0.20])
    np.testing.assert_allclose(stats.benjamini_hochberg(p), expected)
    q = stats.benjamini_hochberg([0.5, np.nan, 0.9])
    assert np.isnan(q[1]) and q[0] == pytest.approx(0.9) and q[2] == pytest.approx(0.9)


def test_mann_whitney_bh_win_tie_loss():
    """U and p of one comparison against scipy, the BH column against a brute-force BH, win/tie/loss by design.

    Fails if BH's ordering is reversed (sorting descending) or ``m`` miscounted."""
    rng = np.random.default_rng(1)
    rows = []
    for task in ("a", "b"):
        for _s in range(10):
            rows += [{"task": task, "method": "ref", "v": rng.normal(1.0, 0.1)},
                     {"task": task, "method": "good", "v": rng.normal(0.0, 0.1)},
                     {"task": task, "method": "same", "v": rng.normal(1.0, 0.1)},
                     {"task": task, "method": "bad", "v": rng.normal(2.0, 0.1)}]
    df = pd.DataFrame(rows)
    t = stats.mann_whitney_bh(df, group="task", method="method", value="v", reference="ref")
    sub = df[df.task == "a"]
    ref = st.mannwhitneyu(sub[sub.method == "good"].v, sub[sub.method == "ref"].v, alternative="two-sided")
    row = t[(t.task == "a") & (t.method == "good")].iloc[0]
    assert row.p == pytest.approx(ref.pvalue) and row.U == pytest.approx(ref.statistic)
    # BH over all six comparisons, brute force from its definition (Benjamini & Hochberg 1995):
    # q_i = min over p_j >= p_i of min(1, m * p_j / rank_j), rank_j = #{k: p_k <= p_j}
    p = t.p.to_numpy()
    assert p.min() < p.max() < 1  # not all equal, none 1: the ordering of BH matters here
    brute = [min(min(1.0, len(p) * pj / np.sum(p <= pj)) for pj in p if pj >= pi) for pi in p]
    np.testing.assert_allclose(t.p_bh, brute, rtol=1e-12)
    wtl = stats.win_tie_loss(t).set_index("method")
    assert wtl.loc["good", "win"] == 2 and wtl.loc["bad", "loss"] == 2
    assert wtl.loc["same"].sum() == 2


def test_friedman_hand_ranked():
    """Friedman's chi-square on a hand-ranked table (Friedman 1937): 4 blocks x 3 methods.

    Fails if the statistic ranks across blocks instead of within them, or uses the wrong degrees of freedom."""
    a = np.array([[1.0, 2.0, 3.0],    # ranks 1 2 3
                  [0.5, 0.9, 0.7],    # ranks 1 3 2
                  [0.2, 0.4, 0.6],    # ranks 1 2 3
                  [3.0, 1.0, 2.0]])   # ranks 3 1 2 -> rank sums R = 6, 8, 10
    # chi2 = 12 / (n k (k + 1)) * sum R^2 - 3 n (k + 1) = 12 / 48 * 200 - 48 = 2; df = 2: p = exp(-chi2 / 2)
    stat, p = stats.friedman(a)
    assert stat == pytest.approx(2.0, rel=1e-12) and p == pytest.approx(np.exp(-1.0), rel=1e-12)
    # one tie (block 2: 0.7, 0.7 -> ranks 1, 2.5, 2.5): R = 6, 7.5, 10.5, sum R^2 = 202.5, raw chi2 = 2.625;
    # tie correction 1 - sum(t^3 - t) / (n k (k^2 - 1)) = 1 - 6 / 96 = 0.9375 -> chi2 = 2.625 / 0.9375 = 2.8
    b = a.copy()
    b[1] = [0.5, 0.7, 0.7]
    stat, p = stats.friedman(b)
    assert stat == pytest.approx(2.8, rel=1e-12) and p == pytest.approx(np.exp(-1.4), rel=1e-12)
    with pytest.raises(InvalidParameterError):
        stats.friedman(a[:, :2])


def test_step_on_grid_brute_force():
    x = np.array([1, 2, 2, 5, 9.0])
    y = np.array([5, 4, 3, 2, 1.0])
    grid = np.arange(0, 12, 0.5)
    got = regret.step_on_grid(x, y, grid)
    for g, v in zip(grid, got):
        idx = [i for i in range(len(x)) if x[i] <= g]
        assert (np.isnan(v) and not idx) or v == y[idx[-1]]


@pytest.fixture(scope="module")
def results():
    tasks = [synthetic_task(n_configs=40, n_epochs=9, seed=s, name=f"t{s}") for s in range(3)]
    frames = []
    for task in tasks:
        for m in ("random_search", "successive_halving", "hyperband"):
            for seed in range(2):
                opt = make_optimizer(m, problem_for(task), seed)
                frames.append(run(task, opt, Budget(60, "epochs"), seed=seed, method=m).table)
    return tasks, pd.concat(frames, ignore_index=True)


def test_regret_on_grid_and_mean(results):
    tasks, df = results
    grid = np.arange(1, 61)
    g = regret.regret_on_grid(df, grid)
    assert set(g.columns) >= {"method", "task", "seed", "x", "value"}
    # brute force for one run: the last row with budget_used <= 30
    r = df[(df.task == "t1") & (df.method == "hyperband") & (df.seed == 1)]
    expected = r[r.budget_used <= 30].normalized_regret.iloc[-1]
    got = g[(g.task == "t1") & (g.method == "hyperband") & (g.seed == 1) & (g.x == 30)].value.iloc[0]
    assert got == expected
    # regret is non-increasing along the grid for every run, and >= 0
    for _, d in g.groupby(["task", "method", "seed"]):
        v = d.sort_values("x").value.dropna().to_numpy()
        # early-epoch incumbents can be worse than the worst final value, so normalized regret may exceed 1
        assert np.all(np.diff(v) <= 1e-12) and v.min() >= 0
    m = regret.mean_over_tasks(g)
    sel = g[(g.method == "random_search") & (g.x == 40)]
    assert m[(m.method == "random_search") & (m.x == 40)]["mean"].iloc[0] == pytest.approx(
        sel.groupby("task").value.mean().mean())
    assert (m.n_tasks <= 3).all()


def test_normalized_time_axis(results):
    _, df = results
    g = regret.regret_on_grid(df, [0.5, 1.0, 2.0], axis="normalized_time")
    rs = g[(g.method == "random_search") & (g.x >= 1.0)]
    # at normalized time 1 random search has finished: its value is its final regret
    last = df[df.method == "random_search"].groupby(["task", "seed"]).normalized_regret.last()
    for _, row in rs.iterrows():
        assert row.value == last[(row.task, row.seed)]
    with pytest.raises(InvalidParameterError, match="reference method"):
        regret.regret_on_grid(df[df.method != "random_search"], [1.0], axis="normalized_time")


def test_rank_stats(results):
    _, df = results
    g = regret.regret_on_grid(df, [30, 60])
    mat = ranking.score_matrix(g, 60)
    s = ranking.rank_stats(mat)
    # brute-force average rank
    ranks = {m: 0.0 for m in mat.columns}
    for _, row in mat.iterrows():
        r = st.rankdata(row.to_numpy())
        for m, v in zip(mat.columns, r):
            ranks[m] += v / len(mat)
    for m in mat.columns:
        assert s["ranks"][m] == pytest.approx(ranks[m])
    assert s["friedman"][1] == pytest.approx(st.friedmanchisquare(*mat.to_numpy().T).pvalue)
    assert s["posthoc"].shape == (3, 3)


def test_iou_hand():
    rows = []
    # 4 configs; epoch1 order a<b<c<d; epoch2 order c<a<b<d
    vals = {1: [1, 2, 3, 4], 2: [2, 3, 1, 4]}
    for e, v in vals.items():
        for c, x in enumerate(v):
            rows.append({"config_id": c, "epoch": e, "sharpness": x})
    out = iou.iou_over_epochs(pd.DataFrame(rows), k=2)
    # top2 at 1: {0,1}; at 2: {2,0}: IoU = 1/3
    assert out.set_index("epoch").iou.to_dict() == {1: 1.0, 2: pytest.approx(1 / 3)}


def test_efficiency(results):
    tasks, df = results
    task = tasks[0]
    sub = df[df.task == task.name]
    ts = efficiency.top_share(sub, task, top=0.05)
    assert ts.share.between(0, 1).all() and (ts.n_top == 2).all()
    pr = efficiency.promoted_regret(sub, task)
    reg = task.oracle.normalized_regret(task.final_objective())
    r = sub[(sub.method == "hyperband") & (sub.seed == 0)]
    ids = r.groupby("config_id").epoch.max()
    ids = ids.index[ids >= 9]
    row = pr[(pr.method == "hyperband") & (pr.seed == 0) & (pr.epoch == 9)]
    if len(ids):
        assert row.mean_regret.iloc[0] == pytest.approx(reg[ids].mean())
    rc = efficiency.rank_changes(sub, task, epoch=3, earlier=1)
    assert rc.share.dropna().between(0, 1).all()
    with pytest.raises(InvalidParameterError):
        efficiency.rank_changes(sub, task, epoch=1, earlier=3)


class _LastValueLC(LCModel):
    """A trivially known LC model: predicts each curve's last observed value (tests the plumbing only)."""

    name = "last"

    def _fit(self, X, Y, s):
        self.last_ = np.array([row[np.isfinite(row)][-1] for row in Y])

    def _predict_rows(self, rows, s):
        return self.last_[rows], np.zeros(len(rows))


def test_lc_prediction_pipeline():
    from analysis import lc_prediction as lp

    task = synthetic_task(n_configs=30, n_epochs=10, seed=4)
    pred = lc_predictions(task, [0.1, 0.5, 0.9], n_train=30, seed=0, models={"last": lambda seed: _LastValueLC()})
    obj = lc_targets(task)
    assert list(pred.columns) == ["model", "fraction", "observed_epochs", "config_id", "observed", "predicted", "std"]
    p5 = pred[pred.fraction == 0.5]
    assert (p5.observed_epochs == 5).all()  # round(0.5 * 10)
    np.testing.assert_allclose(p5.predicted, obj[p5.config_id, 4])
    np.testing.assert_allclose(p5.observed, obj[p5.config_id, -1])
    q = lp.prediction_quality(pred, by=("model", "fraction"))
    ref = st.spearmanr(obj[:, 4], obj[:, -1])
    assert q.set_index("fraction").loc[0.5, "spearman"] == pytest.approx(ref.statistic)
    re = lp.relative_errors(pred)
    np.testing.assert_allclose(re.abs_rel_error, np.abs(re.predicted - re.observed) / np.abs(re.observed))
    # with more of the curve seen, the last-value predictor is closer to the final value
    assert re.groupby("fraction").abs_rel_error.mean().is_monotonic_decreasing
    # the aggregate study is the same table reduced
    study = lc_prediction_study(task, [0.1, 0.5, 0.9], n_train=30, seed=0,
                                models={"last": lambda seed: _LastValueLC()})
    assert study.set_index("fraction").loc[0.5, "spearman"] == pytest.approx(ref.statistic)


class _KnownLC(LCModel):
    """A conditioned LCModel whose prediction is a known function of the encoded configuration and the budget:
    mean = 10 * x_lr + x_dropout + s, std = s * (1 + x_width), with s = budget / max budget."""

    name = "known"
    conditioned = True

    def _fit(self, X, Y, s):
        pass

    def _predict_x(self, X, s):
        return 10 * X[:, 1] + X[:, 0] + s, s * (1 + X[:, 2])

    def _predict_rows(self, rows, s):
        return self._predict_x(self.X_[rows], s)


def test_slice_and_budget_data_use_the_encoding():
    from analysis import lc_prediction as lp
    from lcsim.optimizers import encode_configs

    task = synthetic_task(n_configs=30, n_epochs=10, seed=4)
    assert list(task.space.keys()) == ["dropout", "learning_rate", "width"]  # the encoding's column order
    X = encode_configs(task.space, task.configs)
    model = _KnownLC().fit(X, task.served_objective()[:, 0, :], np.arange(1, 11))
    base = task.configs.iloc[3]
    lrs = np.array([1e-4, 1e-3, 1e-2, 1e-1])
    sl = lp.slice_data(model, task.space, base, "learning_rate", lrs, [5, 10])
    assert list(sl.columns) == ["param", "value", "epoch", "mean", "std"] and len(sl) == 8
    x_lr = (np.log(lrs) - np.log(1e-4)) / (np.log(1e-1) - np.log(1e-4))  # log scale, min-max: 0, 1/3, 2/3, 1
    x_do = base["dropout"] / 0.9
    x_w = (np.log(base["width"]) - np.log(16)) / (np.log(256) - np.log(16))
    for e in (5, 10):
        d = sl[sl.epoch == e]
        np.testing.assert_allclose(d["value"], lrs)
        np.testing.assert_allclose(d["mean"], 10 * x_lr + x_do + e / 10, rtol=1e-12)
        np.testing.assert_allclose(d["std"], np.full(4, e / 10 * (1 + x_w)), rtol=1e-12)
    # per-curve models cannot predict unseen configurations
    from lcsim.surrogates import PowerLawLC

    with pytest.raises(InvalidParameterError):
        lp.slice_data(PowerLawLC(), task.space, base, "dropout", [0.1], [5])
    with pytest.raises(InvalidParameterError):
        lp.slice_data(model, task.space, base, "depth", [0.1], [5])
    # across budgets: a fitted row and the same configuration given encoded agree
    bd = lp.budget_data(model, 3, [1, 4, 10])
    np.testing.assert_allclose(bd["mean"], 10 * X[3, 1] + X[3, 0] + np.array([1, 4, 10]) / 10, rtol=1e-12)
    pd.testing.assert_frame_equal(bd, lp.budget_data(model, X[3], [1, 4, 10]))


def test_agn_study_functions():
    from analysis import agn_study as ag

    rng = np.random.default_rng(5)
    n, E = 40, 3
    rows = []
    for c in range(n):
        q = rng.random()
        for e in range(1, E + 1):
            gn = rng.random() + q
            rows.append({"config_id": c, "epoch": e, "train_loss": q / e, "val_loss": q + 0.1 * rng.random(),
                         "train_acc": 1 - q / e, "sharpness": q + 0.01 * e, "gn": gn, "agn": 2 * gn + 1,
                         "time_plain": 1.0, "time_agn": 1.1, "time_gn": 3.0})
    df = pd.DataFrame(rows)
    g = ag.gn_vs_agn(df)
    assert g.pearson.iloc[0] == pytest.approx(1.0) and g.spearman.iloc[0] == pytest.approx(1.0)
    pv = ag.proxy_vs_final(df).set_index("proxy")
    fin = df[df.epoch == E].sort_values("config_id")
    e1 = df[df.epoch == 1].sort_values("config_id")
    ref = st.spearmanr(e1.sharpness, fin.val_loss)
    assert pv.loc["sharpness", "spearman"] == pytest.approx(ref.statistic)
    assert pv.loc["sharpness", "p"] == pytest.approx(ref.pvalue)
    gap = ag.agn_gap_by_fit(df).set_index("group")
    well = fin.train_acc >= fin.train_acc.median()
    ref = st.pearsonr(fin.agn[well], (fin.val_loss - fin.train_loss)[well])
    assert gap.loc["well_fitted", "pearson"] == pytest.approx(ref.statistic)
    assert gap.loc["well_fitted", "p"] == pytest.approx(ref.pvalue)
    ref = st.spearmanr(fin.agn[~well], (fin.val_loss - fin.train_loss)[~well])
    assert gap.loc["under_fitted", "spearman"] == pytest.approx(ref.statistic)
    assert gap.loc["under_fitted", "spearman_p"] == pytest.approx(ref.pvalue)
    assert gap.n.sum() == n and gap.loc["well_fitted", "n"] == well.sum()
    groups = ag.fit_groups(df)
    assert (groups["group"] == "well_fitted").sum() == well.sum()
    np.testing.assert_allclose(groups["gap"], (fin.val_loss - fin.train_loss).to_numpy())
    ref = st.pearsonr(df.sharpness, df.train_loss)
    assert ag.gn_vs_agn(df, "sharpness", "train_loss").pearson.iloc[0] == pytest.approx(ref.statistic)
    t = ag.epoch_times(df).set_index("variant")
    assert t.loc["gn", "mean_s"] == 3.0
    with pytest.raises(InvalidParameterError, match="lacks columns"):
        ag.gn_vs_agn(df.drop(columns="gn"))


def test_landscape_filter_normalization_and_centre():
    import torch

    from analysis.landscape import filter_normalized_direction, loss_landscape

    torch.set_num_threads(1)
    g = torch.Generator().manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 1))
    x = torch.randn(20, 3, generator=g)
    y = torch.randn(20, 1, generator=g)

    def loss_fn(m, data):
        return torch.nn.functional.mse_loss(m(data[0]), data[1])

    before = [p.detach().clone() for p in model.parameters()]
    d = filter_normalized_direction(before, torch.Generator().manual_seed(1))
    for p, u in zip(before, d):
        if p.dim() == 1:
            assert torch.all(u == 0)
        else:
            for i in range(p.shape[0]):  # brute force: each filter's norm equals the weight filter's norm
                assert float(u[i].norm()) == pytest.approx(float(p[i].norm()), rel=1e-5)
    df = loss_landscape(model, loss_fn, (x, y), n=3, span=0.5, seed=2)
    assert len(df) == 9
    centre = df[(df.alpha == 0) & (df.beta == 0)].loss.iloc[0]
    with torch.no_grad():
        assert centre == pytest.approx(float(loss_fn(model, (x, y))))
    for p, b in zip(model.parameters(), before):  # parameters restored
        assert torch.equal(p.detach(), b)
    assert df.loss.max() > centre  # moving away from the trained point changes the loss


def test_objective_comparison_and_cross_architecture():
    from analysis import agn_study as ag

    rng = np.random.default_rng(7)
    rows = [{"task": t, "objective": o, "seed": s, "test_loss": rng.normal(mu, 0.05)}
            for t in ("a", "b") for s in range(8) for o, mu in (("val_loss", 1.0), ("agn", 0.5), ("random", 1.0))]
    df = pd.DataFrame(rows)
    out = ag.objective_comparison(df).set_index(["task", "objective"])
    sub = df[df.task == "a"]
    assert out.loc[("a", "agn"), "mean"] == pytest.approx(sub[sub.objective == "agn"].test_loss.mean())
    ref = st.mannwhitneyu(sub[sub.objective == "agn"].test_loss, sub[sub.objective == "val_loss"].test_loss,
                          alternative="two-sided")
    assert out.loc[("a", "agn"), "p"] == pytest.approx(ref.pvalue)
    assert out.loc[("a", "agn"), "outcome"] == "win" and np.isnan(out.loc[("a", "val_loss"), "p"])
    # cross-architecture: two archs, proxy equals final target within arch -> Spearman 1 per arch
    rows = []
    for a in ("mlp", "cnn"):
        for c in range(10):
            fin = rng.random() + (5 if a == "cnn" else 0)
            rows += [{"arch": a, "config_id": c, "epoch": 1, "agn": fin, "val_loss": fin + 1},
                     {"arch": a, "config_id": c, "epoch": 2, "agn": 0.0, "val_loss": fin}]
    ca = ag.cross_architecture(pd.DataFrame(rows)).set_index("arch")
    assert ca.loc["mlp", "spearman"] == pytest.approx(1.0) and ca.loc["pooled", "n"] == 20
    assert ca.loc["pooled", "spearman"] == pytest.approx(1.0)


def test_fraction_axis_with_per_task_budget(results):
    _, df = results
    budgets = {("synthetic", t): 60 for t in ("t0", "t1", "t2")}
    g = regret.regret_on_grid(df, [0.5], axis="fraction", total_budget=budgets)
    r = df[(df.task == "t0") & (df.method == "random_search") & (df.seed == 0)]
    exp = r[r.budget_used <= 30].normalized_regret.iloc[-1]
    assert g[(g.task == "t0") & (g.method == "random_search") & (g.seed == 0)].value.iloc[0] == exp


def test_paired_wilcoxon_against_hand_computed_exact_p_values():
    """Reference vs three baselines on 5 complete rows (a 6th row has no reference score and is dropped).
    Exact signed-rank p-values by hand (n = 5, 2^5 sign patterns): every difference negative -> W = 0,
    p = 2 * 1/32; differences (-1, -2, 3, -4, -5) -> W+ = 3, P(W+ <= 3) = 5/32 ({}, {1}, {2}, {3}, {1, 2}),
    p = 10/32; all tied -> p = 1. BH over (0.0625, 1, 0.3125): 3 * 0.0625 / 1, 1, 3 * 0.3125 / 2."""
    ref = np.array([10.0, 20.0, 30.0, 40.0, 50.0, np.nan])
    m = pd.DataFrame({"ref": ref, "worse": ref + [0.1, 0.2, 0.3, 0.4, 0.5, 1.0], "same": ref,
                      "mixed": ref - np.array([-1.0, -2.0, 3.0, -4.0, -5.0, 0.0])})
    out = stats.paired_wilcoxon(m, "ref").set_index("method")
    assert list(out.index) == ["worse", "same", "mixed"] and (out["n"] == 5).all()
    assert out.loc["worse", ["better", "tied", "worse"]].tolist() == [5, 0, 0]
    assert out.loc["mixed", ["better", "tied", "worse"]].tolist() == [4, 0, 1]
    assert out.loc["same", "tied"] == 5 and np.isnan(out.loc["same", "statistic"])
    np.testing.assert_allclose(out["p"], [2 / 32, 1.0, 10 / 32])
    np.testing.assert_allclose(out.loc["mixed", "statistic"], 3.0)
    np.testing.assert_allclose(out["p_bh"], [3 * 0.0625, 1.0, 3 * 0.3125 / 2])
    np.testing.assert_allclose(out.loc["mixed", "median_diff"], -2.0)
    with pytest.raises(InvalidParameterError, match="reference 'dpl' is not a column"):
        stats.paired_wilcoxon(m, "dpl")
