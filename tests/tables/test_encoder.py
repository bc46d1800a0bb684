"""The encoder: rows decode to themselves, one-hot scale, clipping, and draws of categories and missing values."""

import datetime as dt
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pd = pytest.importorskip("pandas")

from inertial_diffusion.tables.encoder import TableEncoder  # noqa: E402


def mixed_frame(n=60, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "age": rng.integers(18, 80, n),
        "kids": pd.array(np.where(rng.random(n) < 0.2, None, rng.integers(0, 4, n)), dtype="Int64"),
        "income": np.where(rng.random(n) < 0.2, np.nan, rng.normal(5e4, 1e4, n)),
        "weight": rng.normal(70, 10, n).astype(np.float32),
        "smoker": rng.random(n) < 0.3,
        "city": pd.Categorical(rng.choice(["Oslo", "Rome"], n), categories=["Lima", "Oslo", "Rome"], ordered=True),
        "pet": rng.choice(np.array(["cat", "dog", None], dtype=object), n),
        "when": pd.to_datetime("2020-01-01") + pd.to_timedelta(rng.integers(0, 1000, n), unit="D"),
        "stamp": pd.date_range("2021-01-01", periods=n, freq="37min", tz="Europe/Oslo"),
        "day": [dt.date(2020, 1, 1) + dt.timedelta(days=int(k)) for k in rng.integers(0, 50, n)],
    })


def test_training_rows_decode_to_themselves_with_their_dtypes():
    frame = mixed_frame()
    enc = TableEncoder().fit(frame)
    back = enc.inverse_transform(enc.transform(frame), np.random.default_rng(0))
    assert list(back.columns) == list(frame.columns)
    for col in frame.columns:
        assert back[col].dtype == frame[col].dtype, col
        pd.testing.assert_series_equal(back[col], frame[col], check_exact=col != "income", rtol=1e-12)
    assert back["city"].cat.categories.tolist() == ["Lima", "Oslo", "Rome"] and back["city"].cat.ordered


def test_one_hot_scale_follows_the_numeric_columns():
    frame = pd.DataFrame({"x": [0.0, 2.0, 4.0, 6.0], "y": [1.0, 1.0, 3.0, 3.0], "c": ["a", "b", "a", "b"]})
    enc = TableEncoder(categorical_weight=2.0).fit(frame)
    rms_sd = math.sqrt((np.var(frame.x) + np.var(frame.y)) / 2)
    E = enc.transform(frame)
    assert enc.unit_ == pytest.approx(2.0 * rms_sd / math.sqrt(2))
    assert np.linalg.norm(E[0, 2:] - E[1, 2:]) == pytest.approx(2.0 * rms_sd)  # a category change: weight * sd
    scaled = TableEncoder(scale_numeric=True).fit(frame)
    np.testing.assert_allclose(scaled.transform(frame)[:, 0], (frame.x - frame.x.mean()) / frame.x.std(ddof=0))
    assert scaled.unit_ == pytest.approx(1 / math.sqrt(2))


def test_decoding_clips_rounds_and_draws():
    frame = pd.DataFrame({"n": [1, 2, 3, 4], "x": [0.5, np.nan, 1.5, 2.5], "c": ["a", "b", "b", "b"]})
    enc = TableEncoder().fit(frame)
    u = enc.unit_
    m = 20000
    Z = np.zeros((m, len(enc.feature_names_out_)))
    Z[:, 0] = np.linspace(-10, 10, m)  # n, centred: far outside the range on both sides
    Z[:, 1] = 0.0
    Z[:, 2] = 0.25 * u  # x missing with probability 0.25
    Z[:, 3:5] = [0.3 * u, 0.7 * u]  # c: P(a) = 0.3
    out = enc.inverse_transform(Z, np.random.default_rng(0))
    assert out.n.min() == 1 and out.n.max() == 4 and out.n.dtype == np.int64
    assert abs(out.x.isna().mean() - 0.25) < 4 * math.sqrt(0.25 * 0.75 / m)
    assert abs((out.c == "a").mean() - 0.3) < 4 * math.sqrt(0.3 * 0.7 / m)
    same = enc.inverse_transform(Z, np.random.default_rng(0))
    pd.testing.assert_frame_equal(out, same)  # the draws follow the generator


def test_transform_refuses_what_fit_did_not_see():
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0], "c": ["a", "b", "a"]})
    enc = TableEncoder().fit(frame)
    with pytest.raises(ValueError, match="'c' has the value 'z'"):
        enc.transform(pd.DataFrame({"x": [1.0], "c": ["z"]}))
    with pytest.raises(ValueError, match="lacks column"):
        enc.transform(pd.DataFrame({"x": [1.0]}))
    with pytest.raises(ValueError, match="'x' has a missing value"):
        enc.transform(pd.DataFrame({"x": [np.nan], "c": ["a"]}))
    np.testing.assert_array_equal(enc.transform(frame[["c", "x"]]), enc.transform(frame))  # by name, any order


@settings(max_examples=30, deadline=None)
@given(n=st.integers(4, 30), seed=st.integers(0, 10_000), weight=st.floats(0.1, 10.0))
def test_random_tables_round_trip(n, seed, weight):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"a": rng.normal(size=n), "b": rng.integers(-5, 5, n),
                          "c": rng.choice(["x", "y", "z"], n), "d": rng.random(n) < 0.5})
    frame.loc[rng.random(n) < 0.2, "a"] = np.nan
    if frame.a.isna().all():
        frame.loc[0, "a"] = 1.0
    enc = TableEncoder(categorical_weight=weight).fit(frame)
    back = enc.inverse_transform(enc.transform(frame), rng)
    pd.testing.assert_frame_equal(back, frame, check_exact=False, rtol=1e-12, atol=1e-12)
