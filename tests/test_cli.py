"""``python -m lcsim.replay``: a small comparison end to end, and one clear error per bad input."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lcsim.replay import store
from lcsim.replay.__main__ import main
from lcsim.replay.summary import regret_at, summary_table


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
    s = pd.read_csv(out / "summary.csv", index_col=0)
    for m in ("asha", "hb2"):
        finals = t[t.method == m].groupby(["task", "seed"])["normalized_regret"].last()
        assert s.loc[m, "100%"] == pytest.approx(finals.mean())
    # resume on a finished grid runs nothing and reports the same numbers
    assert main(["--benchmark", "synthetic", "--tasks", "powerlaw-0,powerlaw-1", "--methods",
                 "asha,hb2=hyperband", "--param", "hb2.eta=2", "--seeds", "2", "--budget", "3", "--executor",
                 "serial", "--out", str(out), "--resume", "--no-progress"]) == 0
    pd.testing.assert_frame_equal(pd.read_csv(out / "summary.csv", index_col=0), s)


BAD = [
    (["--benchmark", "nope"], "Unknown benchmark 'nope'"),
    (["--benchmark", "synthetic", "--tasks", "powerlaw-9"], "Unknown synthetic task 'powerlaw-9'"),
    (["--benchmark", "synthetic", "--methods", "ashaa"], "Did you mean 'asha'"),
    (["--benchmark", "synthetic", "--methods", "asha", "--param", "asha.eta=1"], "'eta' parameter of ASHA"),
    (["--benchmark", "synthetic", "--methods", "asha", "--param", "asha.bogus=1"], "Valid parameters"),
    (["--benchmark", "synthetic", "--methods", "asha", "--param", "asha:eta"], "METHOD.NAME=VALUE"),
    (["--benchmark", "synthetic", "--methods", "asha", "--param", "hyperband.eta=2"], "not in --methods"),
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
                      "budget": 8.0, "budget_unit": "epochs", "sim_time": np.arange(8.0)})
    # 25 % = 2 epochs -> row 2; 50 % = 4 -> row 4; 100 % -> last; 10 % = 0.8 epochs -> nothing seen yet -> 1
    np.testing.assert_allclose(regret_at(g, [0.1, 0.25, 0.5, 1.0]), [1.0, 0.8, 0.5, 0.1])
    df = pd.concat([g.assign(benchmark="b", task="t", method="m", seed=s) for s in (0, 1)]
                   + [g.assign(benchmark="b", task="t", method="n", seed=0, normalized_regret=0.0)])
    s = summary_table(df, methods=["n", "m"])
    assert list(s.index) == ["n", "m"] and s.loc["m", "50%"] == pytest.approx(0.5) and s.loc["n", "100%"] == 0
    assert list(s["n_runs"]) == [1, 2]


def test_cli_loader_option_reaches_the_benchmark(tmp_path, capsys):
    """--option filter=dpl serves TaskSet's DPL-filtered pool (the DPL protocol) to every cell."""
    import json

    from lcsim import benchmarks

    name = benchmarks.get_benchmark("taskset").tasks()[0]
    kept = benchmarks.load("taskset", name, filter="dpl").n_configs
    assert kept < benchmarks.load("taskset", name).n_configs
    out = tmp_path / "o"
    assert main(["--benchmark", "taskset", "--tasks", name, "--methods", "random_search", "--seeds", "1",
                 "--budget", "2", "--option", "filter=dpl", "--executor", "serial", "--no-progress",
                 "--out", str(out)]) == 0
    assert json.loads((out / "cells" / "grid.json").read_text())["options"] == {"filter": "dpl"}
    table = pd.read_parquet(out / "results.parquet")
    assert table.config_id.max() < kept and table.version.iloc[0] == benchmarks.load("taskset", name,
                                                                                    filter="dpl").version


def test_seeds_count_list_and_single_seed():
    from lcsim.replay.__main__ import _seeds

    assert _seeds("3") == [0, 1, 2]          # a count
    assert _seeds("0,4,7") == [0, 4, 7]      # a list
    assert _seeds("3,") == [3]               # one seed alone: the list form (as --help says)
