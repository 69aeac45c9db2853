"""``python -m lcsim.replay``: a small comparison end to end, and one clear error per bad input."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.regret import regret_at_fractions, summary_table
from lcsim.replay import store
from lcsim.replay.__main__ import main


def _summary(path):
    return pd.read_csv(path, comment="#", index_col=0)


def test_cli_small_comparison(tmp_path, capsys):
    out = tmp_path / "run"
    rc = main(["--benchmark", "synthetic", "--tasks", "powerlaw-0,powerlaw-1", "--methods", "asha,hb2=hyperband",
               "--param", "hb2.eta=2", "--seeds", "2", "--budget", "3", "--executor", "serial", "--out", str(out),
               "--no-progress"])
    assert rc == 0
    text = capsys.readouterr().out
    assert "asha" in text and "hb2" in text and "25%" in text and "100%" in text
    for name in ("results.parquet", "summary.csv", "regret.png"):
        assert (out / name).is_file() and str((out / name).resolve()) in text
    t = store.read_table(out / "results.parquet")
    assert set(t["method"]) == {"asha", "hb2"}
    assert set(t.loc[t.method == "hb2", "method_params"]) == {'{"eta": 2, "resume": true}'}
    # the printed summary is the table's mean normalized regret at the end of the budget, computed here by hand
    s = _summary(out / "summary.csv")
    for m in ("asha", "hb2"):
        finals = t[t.method == m].groupby(["task", "seed"])["normalized_regret"].last()
        assert s.loc[m, "100%"] == pytest.approx(finals.mean())
    # resume on a finished grid runs nothing and reports the same numbers
    assert main(["--benchmark", "synthetic", "--tasks", "powerlaw-0,powerlaw-1", "--methods",
                 "asha,hb2=hyperband", "--param", "hb2.eta=2", "--seeds", "2", "--budget", "3", "--executor",
                 "serial", "--out", str(out), "--resume", "--no-progress"]) == 0
    pd.testing.assert_frame_equal(_summary(out / "summary.csv"), s)


def test_summary_csv_is_analysis_of_results_parquet(tmp_path):
    """The CLI's summary.csv is analysis.regret.summary_table of its own results.parquet, with the aggregation's
    choices in its # lines (fails if the CLI aggregates by a rule of its own)."""
    out = tmp_path / "run"
    assert main(["--benchmark", "synthetic", "--tasks", "powerlaw-0,powerlaw-1", "--methods",
                 "random_search,asha", "--seeds", "0,3,5", "--budget", "2", "--executor", "serial", "--out", str(out),
                 "--no-progress"]) == 0
    want = summary_table(store.read_table(out / "results.parquet"), methods=["random_search", "asha"])
    got = _summary(out / "summary.csv")
    pd.testing.assert_frame_equal(got, want, check_dtype=False)
    head = [line for line in (out / "summary.csv").read_text().splitlines() if line.startswith("#")]
    assert any("before_first_observation" in h for h in head) and any('normaliser: ["final"]' in h for h in head)


def test_same_grid_twice_gives_identical_results_bytes(tmp_path):
    """results.parquet holds simulated results only (measured wall time goes to timings.parquet), so two runs of
    one grid write identical bytes (fails if overhead_s is stored with the results again)."""
    argv = ["--benchmark", "synthetic", "--tasks", "powerlaw-0", "--methods", "asha,tpe", "--seeds", "2",
            "--budget", "2", "--executor", "serial", "--no-progress"]
    assert main(argv + ["--out", str(tmp_path / "a")]) == 0
    assert main(argv + ["--out", str(tmp_path / "b")]) == 0
    assert (tmp_path / "a" / "results.parquet").read_bytes() == (tmp_path / "b" / "results.parquet").read_bytes()
    res = store.read_table(tmp_path / "a" / "results.parquet")
    tim = store.read_table(tmp_path / "a" / "timings.parquet")
    assert "overhead_s" not in res and list(tim.columns) == store.ROW_KEYS + ["overhead_s"]
    pd.testing.assert_frame_equal(tim[store.ROW_KEYS], res[store.ROW_KEYS])


def test_param_parsed_to_its_declared_type(tmp_path):
    """--param hyperband.resume=False means False (it used to be the string "False", truthy); a value that does not
    parse to the declared type is refused with the template."""
    out = tmp_path / "o"
    assert main(["--benchmark", "synthetic", "--tasks", "powerlaw-0", "--methods", "hyperband", "--param",
                 "hyperband.resume=False", "--seeds", "1", "--budget", "2", "--executor", "serial", "--out", str(out),
                 "--no-progress"]) == 0
    params = set(store.read_table(out / "results.parquet")["method_params"])
    assert params == {'{"eta": 3, "resume": false}'}


BAD = [
    (["--benchmark", "nope"], "Unknown benchmark 'nope'"),
    (["--benchmark", "synthetic", "--tasks", "powerlaw-9"], "Unknown synthetic task 'powerlaw-9'"),
    (["--benchmark", "synthetic", "--methods", "ashaa"], "Did you mean 'asha'"),
    (["--benchmark", "synthetic", "--methods", "asha", "--param", "asha.eta=1"], "'eta' parameter of ASHA"),
    (["--benchmark", "synthetic", "--methods", "asha", "--param", "asha.bogus=1"], "Valid parameters"),
    (["--benchmark", "synthetic", "--methods", "asha", "--param", "asha:eta"], "METHOD.NAME=VALUE"),
    (["--benchmark", "synthetic", "--methods", "asha", "--param", "hyperband.eta=2"],
     "--param names 'hyperband', which --methods does not list. Valid method labels: ['asha']"),
    (["--benchmark", "synthetic", "--methods", "hyperband", "--param", "hyperband.resume=yes"],
     "'resume' parameter of hyperband must be a bool. Got 'yes'"),
    (["--benchmark", "synthetic", "--methods", "asha", "--param", "asha.eta=2.5"],
     "'eta' parameter of asha must be an int. Got '2.5'"),
    (["--benchmark", "synthetic", "--tasks", ","], "--tasks lists no task"),
    (["--benchmark", "synthetic", "--budget-epochs", "0.5"], "cannot pay for one epoch"),
    (["--benchmark", "synthetic", "--budget", "1e12"], "exceeds what task synthetic/powerlaw-0 can absorb"),
    (["--benchmark", "synthetic", "--normaliser", "median"], "'value' parameter of --normaliser must be one of"),
    (["--benchmark", "synthetic", "--params", "{bad"], "not valid JSON"),
    (["--benchmark", "synthetic", "--executor", "spark"], "'value' parameter of --executor must be one of"),
    (["--benchmark", "synthetic", "--incumbent", "last"], "any_epoch"),
    (["--benchmark", "synthetic", "--seeds", "x"], "--seeds must be"),
    (["--benchmark", "synthetic", "--seeds", "0"], "count must be >= 1"),
    (["--benchmark", "synthetic", "--budget", "-1"], "--budget"),
    (["--benchmark", "synthetic", "--budget-epochs", "nan"], "--budget-epochs"),
    (["--benchmark", "synthetic", "--workers", "0"], "--workers"),
    (["--benchmark", "synthetic", "--scheduler", "tcp://x:1"], "--scheduler needs --executor dask"),
    (["--benchmark", "synthetic", "--resume"], "--resume needs --out"),
    (["--benchmark", "synthetic", "--option", "filter"], "NAME=VALUE"),
]


@pytest.mark.parametrize("argv,msg", BAD, ids=[" ".join(a[2:]) or a[1] for a, _ in BAD])
def test_cli_bad_input_one_clear_error(argv, msg, capsys, tmp_path):
    assert main(argv + ["--out", str(tmp_path / "o")] if "--resume" not in argv else argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and msg in err and err.count("\n") == 1


def test_cli_missing_embedded_says_how_to_build(monkeypatch, capsys):
    import lcsim.benchmarks as b

    def missing(name):
        raise ModuleNotFoundError("No module named 'lcsim.benchmarks.embedded'")

    monkeypatch.setattr(b, "get_benchmark", missing)
    assert main([]) == 2
    err = capsys.readouterr().err
    assert "embedded benchmark is not available" in err and "--benchmark synthetic" in err


def test_regret_at_budget_fractions_by_hand():
    g = pd.DataFrame({"budget_used": [1.0, 2, 3, 4, 5, 6, 7, 8], "normalized_regret": [.9, .8, .8, .5, .5, .4, .1, .1],
                      "budget": 8.0, "budget_unit": "epochs", "sim_time": np.arange(8.0), "overhead_s": 0.0,
                      "benchmark": "b", "task": "t", "method": "m", "seed": 0})
    g["regret"] = 2 * g["normalized_regret"]
    # 25 % = 2 epochs -> row 2; 50 % = 4 -> row 4; 100 % -> last; 10 % = 0.8 epochs -> nothing seen yet -> 1
    np.testing.assert_allclose(regret_at_fractions(g, [0.1, 0.25, 0.5, 1.0])["value"], [1.0, 0.8, 0.5, 0.1])
    # raw regret before the first observation: the worst value's regret (here 2 = regret / normalized regret)
    np.testing.assert_allclose(regret_at_fractions(g, [0.1], value="regret")["value"], [2.0])
    df = pd.concat([g.assign(seed=s) for s in (0, 1)] + [g.assign(method="n", normalized_regret=0.0, regret=0.0)])
    s = summary_table(df, methods=["n", "m"])
    assert list(s.index) == ["n", "m"] and s.loc["m", "50%"] == pytest.approx(0.5) and s.loc["n", "100%"] == 0
    assert list(s["n_runs"]) == [1, 2]


def test_cli_loader_option_reaches_the_benchmark(tmp_path, capsys):
    """--option filter=none serves TaskSet's whole pool to every cell (the default is the DPL pool)."""
    import json

    from lcsim import benchmarks

    name = benchmarks.get_benchmark("taskset").tasks()[0]
    kept = benchmarks.load("taskset", name).n_configs
    assert kept < benchmarks.load("taskset", name, filter="none").n_configs
    out = tmp_path / "o"
    assert main(["--benchmark", "taskset", "--tasks", name, "--methods", "random_search", "--seeds", "1",
                 "--budget", "2", "--option", "filter=none", "--executor", "serial", "--no-progress",
                 "--out", str(out)]) == 0
    assert json.loads((out / "cells" / "grid.json").read_text())["options"] == {"filter": "none"}
    table = pd.read_parquet(out / "results.parquet")
    assert table.version.iloc[0] == benchmarks.load("taskset", name, filter="none").version


def test_taskset_default_gives_meaningful_regret(tmp_path, capsys):
    """Issue 16.4: on the DPL pool (TaskSet's default) normalized regret is spread over [0, 1]; on the whole pool a
    diverged-but-finite worst value (~1e17) made it ~1e-18 for every method."""
    from lcsim import benchmarks

    name = "FixedTextRNNClassification_imdb_patch32_GRU128_bs128"
    assert benchmarks.load("taskset", name, filter="none").oracle.worst > 1e10  # the outlier the default avoids
    out = tmp_path / "o"
    assert main(["--benchmark", "taskset", "--tasks", name, "--methods", "random_search", "--seeds", "2",
                 "--budget", "3", "--executor", "serial", "--no-progress", "--out", str(out)]) == 0
    s = pd.read_csv(out / "summary.csv", comment="#", index_col=0)
    assert 0.01 < s.loc["random_search", "25%"] <= 1


def test_seeds_count_list_and_single_seed():
    from lcsim.replay.__main__ import _seeds

    assert _seeds("3") == [0, 1, 2]          # a count
    assert _seeds("0,4,7") == [0, 4, 7]      # a list
    assert _seeds("3,") == [3]               # one seed alone: the list form (as --help says)
