"""lcsim.plotting: one distinct style per method, the same in every figure, and legends off the data."""
from __future__ import annotations

import itertools
import os
import subprocess
import sys

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_hex, to_rgb

from analysis.ranking import plot_cd, rank_stats
from analysis.regret import plot_regret
from lcsim.errors import InvalidParameterError, UnknownNameError
from lcsim.optimizers import METHODS
from lcsim.plotting import METHOD_STYLES, legend_outside, method_colors, method_style, method_styles

# registered today plus the two being added (optuna, dyhpo): every one needs a fixed style
ALL_METHODS = sorted(set(METHODS) | {"optuna", "dyhpo"})


def _lab(color) -> np.ndarray:
    """CIELAB (D65) of an sRGB colour, from the sRGB and CIE 1976 definitions."""
    c = np.array(to_rgb(color))
    c = np.where(c > 0.04045, ((c + 0.055) / 1.055) ** 2.4, c / 12.92)
    m = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
    x = m @ c / np.array([0.95047, 1.0, 1.08883])
    f = np.where(x > (6 / 29) ** 3, np.cbrt(x), x / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def test_lab_reference_values():
    # published CIELAB of sRGB primaries (D65): red (53.24, 80.09, 67.20), blue (32.30, 79.19, -107.86)
    np.testing.assert_allclose(_lab("#FF0000"), [53.24, 80.09, 67.20], atol=0.05)
    np.testing.assert_allclose(_lab("#0000FF"), [32.30, 79.19, -107.86], atol=0.05)
    np.testing.assert_allclose(_lab("#FFFFFF"), [100.0, 0.0, 0.0], atol=0.05)


def test_every_method_has_its_own_style():
    assert set(ALL_METHODS) <= set(METHOD_STYLES), set(ALL_METHODS) - set(METHOD_STYLES)
    styles = [method_style(m) for m in ALL_METHODS]
    pairs = [(to_hex(s["color"]), s["linestyle"]) for s in styles]
    assert len(set(pairs)) == len(pairs)
    assert len({to_hex(s["color"]) for s in styles}) == len(styles)  # not even a colour shared
    assert len({s["marker"] for s in styles}) == len(styles)
    # the bug of the default job: random_search and boca were both matplotlib's first colour
    assert to_hex(method_style("random_search")["color"]) != to_hex(method_style("boca")["color"])


def test_methods_sharing_a_line_style_have_far_apart_colours():
    for a, b in itertools.combinations(ALL_METHODS, 2):
        sa, sb = method_style(a), method_style(b)
        gap = np.linalg.norm(_lab(sa["color"]) - _lab(sb["color"]))
        if sa["linestyle"] == sb["linestyle"]:
            assert gap > 30, (a, b, gap)  # CIE76 delta E: clearly different hues/lightness
        else:
            assert gap > 15, (a, b, gap)  # different line style and marker, still distinguishable colours


def test_method_style_returns_a_copy():
    s = method_style("dpl")
    s["color"] = "red"
    assert method_style("dpl")["color"] != "red"


def test_unknown_label_fallback_is_deterministic_and_outside_the_table():
    table = {(to_hex(s["color"]), s["linestyle"]) for s in METHOD_STYLES.values()}
    table_colors = {to_hex(s["color"]) for s in METHOD_STYLES.values()}
    for label in ("my_method", "asha_v2", "x", "Ünïcode"):
        s = method_style(label)
        assert s == method_style(label)
        assert (to_hex(s["color"]), s["linestyle"]) not in table and to_hex(s["color"]) not in table_colors
        assert s["marker"] not in {t["marker"] for t in METHOD_STYLES.values()}
    # the same style in a fresh interpreter with another string-hash seed (no use of the salted hash())
    code = "from lcsim.plotting import method_style as m; print(m('my_method'), m('hb2', base='hyperband'))"
    outs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={**os.environ, "PYTHONHASHSEED": seed}).stdout for seed in ("1", "2")}
    assert outs == {f"{method_style('my_method')} {method_style('hb2', base='hyperband')}\n"}


def test_variant_keeps_its_base_colour_with_another_line_style():
    base = method_style("hyperband")
    v = method_style("hb2", base="hyperband")
    assert v["color"] == base["color"]
    assert v["linestyle"] not in {s["linestyle"] for s in METHOD_STYLES.values()}
    assert v["marker"] not in {s["marker"] for s in METHOD_STYLES.values()}
    assert method_style("asha", base="asha") == method_style("asha")
    with pytest.raises(UnknownNameError, match="Did you mean 'hyperband'"):
        method_style("hb2", base="hyperbnd")


def test_method_styles_resolves_hash_collisions():
    # brute force: two labels whose hash picks the same fallback, and two variants of one base likewise
    first = {}
    same = None
    for i in range(1000):
        s = method_style(f"m{i}")
        key = (s["color"], s["marker"])
        if key in first:
            same = (first[key], f"m{i}")
            break
        first[key] = f"m{i}"
    assert same is not None
    v = {}
    twins = None
    for i in range(100):
        key = method_style(f"v{i}", base="asha")["marker"]
        if key in v:
            twins = (v[key], f"v{i}")
            break
        v[key] = f"v{i}"
    assert twins is not None
    labels = [*same, *twins, "dpl", "asha"]
    styles = method_styles(labels, bases={twins[0]: "asha", twins[1]: "asha"})
    keys = {(s["color"], s["linestyle"], s["marker"]) for s in styles.values()}
    assert len(keys) == len(labels)
    assert styles["dpl"] == method_style("dpl") and styles["asha"] == method_style("asha")
    assert styles[twins[0]]["color"] == styles[twins[1]]["color"] == method_style("asha")["color"]
    assert method_colors(["dpl"]) == {"dpl": method_style("dpl")["color"]}


def _mean_df(methods, n=30, seed=0):
    """A mean_over_tasks-shaped frame: decreasing regret curves, one per method."""
    rng = np.random.default_rng(seed)
    x = np.arange(1, n + 1, dtype=float)
    return pd.concat([pd.DataFrame({"method": m, "x": x, "mean": np.exp(-x / (5 + 10 * rng.random())) + 0.01,
                                    "sem": 0.01, "n_tasks": 4}) for m in methods], ignore_index=True)


def _rank_stats(methods, seed):
    rng = np.random.default_rng(seed)
    mat = pd.DataFrame(rng.random((12, len(methods))) + np.linspace(0, 1, len(methods)), columns=methods)
    return rank_stats(mat)


def _cd_text_colors(ax) -> dict:
    """Method -> colour of its label in a CD diagram (labels read 'name (rank)' or '(rank) name')."""
    out = {}
    for t in ax.texts:
        s = t.get_text()
        name = s.split(" (")[0] if not s.startswith("(") else s.split(") ", 1)[1]
        out[name] = to_hex(t.get_color())
    return out


def test_same_method_same_colour_in_regret_plot_and_every_cd_panel():
    methods = ["random_search", "hyperband", "asha", "dpl", "bohb", "dehb", "boca", "tpe", "smac", "hb2"]
    bases = {"hb2": "hyperband"}
    fig, (a1, a2, a3) = plt.subplots(3, 1, figsize=(7, 10))
    plot_regret(_mean_df(methods), ax=a1, bases=bases)
    # two panels with other method subsets and other rank orders: a positional palette would recolour dpl
    plot_cd(_rank_stats(methods[::-1], 1), ax=a2, bases=bases)
    plot_cd(_rank_stats(["dpl", "asha", "tpe", "boca"], 2), ax=a3)
    fig.canvas.draw()
    lines = {ln.get_label(): ln for ln in a1.get_lines()}
    assert set(lines) == set(methods)
    for m in methods:
        want = method_style(m, base=bases.get(m))
        assert to_hex(lines[m].get_color()) == to_hex(want["color"])
        assert lines[m].get_marker() == want["marker"]
        assert lines[m].get_linestyle() == want["linestyle"]
    assert lines["hb2"].get_color() == lines["hyperband"].get_color()
    assert lines["hb2"].get_linestyle() == ":" != lines["hyperband"].get_linestyle()
    for ax in (a2, a3):
        texts = _cd_text_colors(ax)
        assert texts, "no labels read from the CD diagram"
        for m, c in texts.items():
            assert c == to_hex(lines[m].get_color()), m
    assert _cd_text_colors(a2)["dpl"] == _cd_text_colors(a3)["dpl"] == to_hex(method_style("dpl")["color"])
    plt.close(fig)


def _overlaps(a, b) -> bool:
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


@pytest.mark.parametrize("where", ["right", "below"])
def test_legend_outside_never_covers_data(where):
    methods = ALL_METHODS
    fig, ax = plt.subplots(figsize=(6, 4))
    plot_regret(_mean_df(methods), ax=ax, legend=False)
    leg = legend_outside(ax, where=where)
    fig.canvas.draw()
    lb, ab = leg.get_window_extent(), ax.get_window_extent()
    assert not _overlaps(lb, ab), (lb, ab)
    assert len(leg.get_texts()) == len(methods)
    if where == "below":  # under the tick labels and x label too
        assert lb.y1 <= ax.xaxis.get_tightbbox(fig.canvas.get_renderer()).y0 + 1e-6
    # a tight save keeps the legend in the picture
    tight = fig.get_tightbbox(fig.canvas.get_renderer())
    inches = leg.get_window_extent().transformed(fig.dpi_scale_trans.inverted())
    assert tight.x0 <= inches.x0 + 1e-6 and inches.x1 <= tight.x1 + 1e-6
    plt.close(fig)


def test_plot_regret_legend_is_outside_by_default_and_shared_across_panels():
    fig, ax = plt.subplots()
    plot_regret(_mean_df(["dpl", "asha", "random_search"]), ax=ax)
    fig.canvas.draw()
    assert not _overlaps(ax.get_legend().get_window_extent(), ax.get_window_extent())
    plt.close(fig)
    # several panels: one legend right of the last one, covering no panel, listing each method once
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.5))
    for i, a in enumerate(axes):
        plot_regret(_mean_df(["dpl", "asha", "boca"][: i + 1] + ["random_search"], seed=i), ax=a, legend=False)
    leg = legend_outside(axes[-1], handles_from=axes)
    fig.canvas.draw()
    assert [t.get_text() for t in leg.get_texts()] == ["dpl", "random_search", "asha", "boca"]
    for a in axes:
        assert a.get_legend() is None or a is axes[-1]
        assert not _overlaps(leg.get_window_extent(), a.get_window_extent())
    plt.close(fig)


def test_legend_outside_edge_cases():
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])  # no label
    assert legend_outside(ax) is None
    with pytest.raises(InvalidParameterError, match="'where' parameter of legend_outside must be one of"):
        legend_outside(ax, where="inside")
    plt.close(fig)

