"""lcsim.space.SpaceCodec against hand-computed encodings (log scale, integer, categorical, ordinal, constant) in each
of its three kinds, hand-computed decodings (rounding, bins, clipping) and round trips."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from ConfigSpace import Categorical, ConfigurationSpace, Constant, EqualsCondition, Float, Integer
from ConfigSpace.hyperparameters import OrdinalHyperparameter

from lcsim.errors import InvalidParameterError
from lcsim.space import SpaceCodec, decode_unit, encode_configs


def _space() -> ConfigurationSpace:
    cs = ConfigurationSpace(seed=0)
    cs.add([Float("lr", (1e-4, 1.0), log=True), Float("mom", (0.0, 0.5)), Integer("width", (4, 64), log=True),
            Integer("layers", (1, 5)), Categorical("act", ["a", "b", "c"]),
            OrdinalHyperparameter("bs", [8, 16, 32, 64, 128]), Constant("opt", "sgd")])
    return cs


CONFIG = {"lr": 1e-2, "mom": 0.125, "width": 16, "layers": 2, "act": "c", "bs": 32, "opt": "sgd"}
# by hand: lr log10 -2 on [-4, 0] -> 0.5; mom 0.125 / 0.5; width log2 4 on [2, 6] -> 0.5; layers (2 - 1) / 4;
# act index 2 of 3, bs index 2 of 5; the constant is 0 where it is a dimension
NUMERIC = {"lr": 0.5, "mom": 0.25, "width": 0.5, "layers": 0.25}
EXPECTED = {
    "unit": {**NUMERIC, "act": 2 / 2, "bs": 2 / 4, "opt": 0.0},
    "bins": {**NUMERIC, "act": 2 / 3, "bs": 2 / 5},
    "kde": {**NUMERIC, "act": 2.0, "bs": 2 / 4},
}


def _same(a: dict, b: dict, rel: float) -> None:
    """Equal configurations: floats to ``rel``, everything else (ints, choices, constants) exactly."""
    assert list(a) == list(b)
    for k in a:
        assert a[k] == (pytest.approx(b[k], rel=rel) if isinstance(b[k], float) else b[k]), (k, a, b)
        assert type(a[k]) is type(b[k]), (k, a, b)


@pytest.mark.parametrize("kind", ["unit", "bins", "kde"])
def test_encoding_matches_hand_computation(kind):
    codec = SpaceCodec(_space(), kind)
    exp = EXPECTED[kind]
    assert codec.names == [n for n in _space().keys() if n in exp]  # the space's order, constants only in "unit"
    x = codec.encode([CONFIG, CONFIG])
    assert x.shape == (2, len(exp))
    np.testing.assert_allclose(x[0], [exp[n] for n in codec.names], rtol=0, atol=1e-12)
    np.testing.assert_array_equal(codec.encode_one(CONFIG), x[1])
    assert list(codec.n_choices) == [{"act": 3, "bs": 5}.get(n, 0) for n in codec.names]
    assert list(codec.is_categorical) == [n == "act" for n in codec.names]
    assert list(codec.free) == [n != "opt" for n in codec.names]


@pytest.mark.parametrize("kind, v_act, act, v_bs, bs", [
    ("unit", 0.74, "b", 0.6, 32),   # round(0.74 * 2) = 1; round(0.6 * 4) = 2
    ("bins", 0.74, "c", 0.6, 64),   # floor(0.74 * 3) = 2; floor(0.6 * 5) = 3
    ("kde", 1.4, "b", 0.6, 32),     # rint(1.4) = 1; ordinals as "unit"
])
def test_decoding_matches_hand_computation(kind, v_act, act, v_bs, bs):
    codec = SpaceCodec(_space(), kind)
    # lr 10 ** (-4 + 0.25 * 4); mom 0.5 * 0.5; width 2 ** (2 + 0.25 * 4) = 8; layers 1 + 0.375 * 4 = 2.5 -> 2 (half
    # to even, a half-up rounding gives 3)
    v = {"lr": 0.25, "mom": 0.5, "width": 0.25, "layers": 0.375, "act": v_act, "bs": v_bs, "opt": 0.7}
    cfg = codec.decode([v[n] for n in codec.names])
    assert list(cfg) == list(_space().keys())
    assert cfg["lr"] == pytest.approx(1e-3, rel=1e-12)
    assert cfg["mom"] == 0.25 and cfg["width"] == 8 and cfg["layers"] == 2
    assert cfg["act"] == act and cfg["bs"] == bs and cfg["opt"] == "sgd"
    assert type(cfg["width"]) is int and type(cfg["lr"]) is float


@pytest.mark.parametrize("kind", ["unit", "bins", "kde"])
def test_decoding_clips_into_the_space(kind):
    codec = SpaceCodec(_space(), kind)
    low = codec.decode(np.full(codec.d, -3.0))
    high = codec.decode(np.full(codec.d, 7.0))
    assert low["lr"] == pytest.approx(1e-4, rel=1e-12) and high["lr"] == pytest.approx(1.0, rel=1e-12)
    assert (low["mom"], low["width"], low["layers"], low["act"], low["bs"]) == (0.0, 4, 1, "a", 8)
    assert (high["mom"], high["width"], high["layers"], high["act"], high["bs"]) == (0.5, 64, 5, "c", 128)


@pytest.mark.parametrize("kind", ["unit", "bins", "kde"])
def test_round_trip(kind):
    codec = SpaceCodec(_space(), kind)
    _same(codec.decode(codec.encode_one(CONFIG)), {k: CONFIG[k] for k in _space().keys()}, 1e-12)
    rng = np.random.default_rng(0)
    for x in rng.random((50, codec.d)) * (3.0 if kind == "kde" else 1.0):
        cfg = codec.decode(x)
        _same(codec.decode(codec.encode_one(cfg)), cfg, 1e-9)


def test_table_encoding_of_sampled_configurations_against_a_loop():
    space = _space()
    space.seed(3)
    rows = [dict(c) for c in space.sample_configuration(40)]
    x = SpaceCodec(space).encode(pd.DataFrame(rows))
    lo = {"lr": np.log(1e-4), "width": np.log(4)}
    hi = {"lr": np.log(1.0), "width": np.log(64)}
    for i, r in enumerate(rows):
        ref = [(r["act"] == "b") * 0.5 + (r["act"] == "c") * 1.0, [8, 16, 32, 64, 128].index(r["bs"]) / 4,
               (r["layers"] - 1) / 4, (np.log(r["lr"]) - lo["lr"]) / (hi["lr"] - lo["lr"]), r["mom"] / 0.5, 0.0,
               (np.log(r["width"]) - lo["width"]) / (hi["width"] - lo["width"])]
        names = ["act", "bs", "layers", "lr", "mom", "opt", "width"]
        np.testing.assert_allclose([x[i, SpaceCodec(space).names.index(n)] for n in names], ref, atol=1e-12)


def test_missing_values_default_and_missing_columns_are_left_out():
    codec = SpaceCodec(_space())
    partial = {k: v for k, v in CONFIG.items() if k != "mom"}
    mom = codec.names.index("mom")
    assert codec.encode_one(partial)[mom] == pytest.approx(_space()["mom"].default_value / 0.5)
    x = codec.encode(pd.DataFrame([partial]))
    assert x.shape == (1, codec.d - 1)


def test_functions_are_the_unit_kind_and_optimizers_reexport_them():
    import lcsim.optimizers

    df = pd.DataFrame([CONFIG])
    np.testing.assert_array_equal(encode_configs(_space(), df), SpaceCodec(_space()).encode(df))
    assert decode_unit(_space(), SpaceCodec(_space()).encode(df)[0]) == SpaceCodec(_space()).decode(
        SpaceCodec(_space()).encode(df)[0])
    assert lcsim.optimizers.encode_configs is encode_configs


def test_bad_kind_and_conditional_space():
    with pytest.raises(InvalidParameterError, match="kind"):
        SpaceCodec(_space(), "onehot")
    cs = _space()
    cs.add(Float("beta", (0.1, 0.9)))
    cs.add(EqualsCondition(cs["beta"], cs["act"], "a"))
    with pytest.raises(InvalidParameterError, match="conditional"):
        SpaceCodec(cs, "bins")
    x = SpaceCodec(cs).encode(pd.DataFrame([{**CONFIG, "beta": np.nan}]))  # "unit": inactive -> NaN
    assert np.isnan(x[0, SpaceCodec(cs).names.index("beta")])
