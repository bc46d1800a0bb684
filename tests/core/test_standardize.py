"""The streamed standardization: exact against a dense reference, equivariant under scaling by powers of two across
float64's range (the one-pass moments for ordinary magnitudes, the rescaled pass beyond), every input layout."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from inertial_diffusion.core.standardize import Standardizer, block_rows_for


def _reference(X: np.ndarray, mode: str) -> tuple[np.ndarray, np.ndarray]:
    X = np.asarray(X, dtype=np.float64)
    mean = X.mean(axis=0)
    var = ((X - mean) ** 2).mean(axis=0)
    return mean, (np.sqrt(var.sum()) if mode == "global" else np.where(var > 0, np.sqrt(var), 1.0))


@pytest.mark.parametrize("mode", ["global", "per_feature"])
@pytest.mark.parametrize("n", [1, 7, 5000])  # one row block, and several (block_rows_for(13) = 8192 / ...)
def test_fit_matches_the_dense_reference(mode, n):
    rng = np.random.default_rng(n)
    X = 3.0 + rng.normal(size=(max(n, 2), 13)) * rng.uniform(0.1, 10, size=13)
    st_ = Standardizer.fit(X, mode)
    mean, scale = _reference(X, mode)
    np.testing.assert_allclose(st_.mean, mean, rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(st_.scale, scale, rtol=1e-12)


@settings(max_examples=40, deadline=None)
@given(k=st.integers(-1000, 1000), mode=st.sampled_from(["global", "per_feature"]))
def test_fit_is_equivariant_under_scaling_by_powers_of_two(k, mode):
    """Scaling by 2^k is exact in float64, so the map must scale with it: whether the moments were taken in one
    pass (|x| within 1e+-100) or on data divided by their largest entry (beyond: squares would overflow or
    underflow)."""
    rng = np.random.default_rng(0)
    X = 5.0 + rng.normal(size=(300, 6)) * np.array([1.0, 2.0, 0.5, 3.0, 1.0, 0.1])
    base = Standardizer.fit(X, mode)
    scaled = Standardizer.fit(np.ldexp(X, k), mode)
    np.testing.assert_allclose(scaled.mean, np.ldexp(base.mean, k), rtol=1e-13)
    np.testing.assert_allclose(scaled.scale, np.ldexp(base.scale, k), rtol=1e-12)


@pytest.mark.parametrize("layout", ["float32", "float64", "fortran", "strided", "readonly", "int16", "memmap"])
def test_transform_into_equals_transform_for_every_layout(layout, tmp_path):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(2 * block_rows_for(40) + 3, 40)) * 7 + 2
    if layout == "float32":
        X = X.astype(np.float32)
    elif layout == "fortran":
        X = np.asfortranarray(X)
    elif layout == "strided":
        X = np.repeat(X, 2, axis=1)[:, ::2]
    elif layout == "readonly":
        X.flags.writeable = False
    elif layout == "int16":
        X = np.round(X * 100).astype(np.int16)
    elif layout == "memmap":
        np.save(tmp_path / "x.npy", X.astype(np.float32))
        X = np.load(tmp_path / "x.npy", mmap_mode="r")
    st_ = Standardizer.fit(X, "per_feature")
    for dtype in (np.float32, np.float64):
        out = st_.transform_into(X, np.empty(X.shape, dtype=dtype))
        np.testing.assert_array_equal(out, st_.transform(X).astype(dtype))
    out = torch.empty(X.shape, dtype=torch.float32)
    st_.transform_into(X, out.numpy())
    np.testing.assert_array_equal(out.numpy(), st_.transform(X).astype(np.float32))


@pytest.mark.parametrize("value", [0.1, 1e6 + 0.3, -7.77e-50, 3e120])
def test_constant_columns_have_no_spread_exactly(value):
    """A constant column's block means round (a mean of 0.1s is not exactly 0.1): its spread must still be exactly
    0 (per-feature scale 1), and rows that are all identical are refused, whatever the magnitude."""
    rng = np.random.default_rng(0)
    X = np.c_[rng.normal(size=20_000), np.full(20_000, value)]
    per_feature = Standardizer.fit(X, "per_feature")
    assert per_feature.scale[1] == 1.0 and per_feature.mean[1] == pytest.approx(value, rel=1e-15)
    with pytest.raises(ValueError, match="identical"):
        Standardizer.fit(np.full((20_000, 3), value), "global")


def test_a_tiny_but_real_spread_is_kept():
    """Far below the spreads that rounding can fake, the extremes decide: 1e6 + 1e-7 noise is not constant."""
    X = 1e6 + 1e-7 * np.random.default_rng(0).normal(size=(5000, 1))
    scale = Standardizer.fit(X, "per_feature").scale[0]
    assert scale == pytest.approx(X.std(), rel=1e-3)


@pytest.mark.parametrize("mode", ["global", "per_feature"])
def test_a_symmetric_column_whose_squares_underflow_keeps_its_spread(mode):
    """Values of +-1e-170: mean exactly 0 and every square underflows to 0, yet the column is not constant."""
    tiny = np.tile([[-1e-170], [1e-170]], (10, 1))
    st_ = Standardizer.fit(tiny, mode)
    assert np.ravel(st_.scale)[0] == pytest.approx(1e-170, rel=1e-12)
    if mode == "per_feature":
        mixed = Standardizer.fit(np.c_[tiny, np.arange(20.0)], mode)
        assert mixed.scale[0] == pytest.approx(1e-170, rel=1e-12) and mixed.scale[1] == pytest.approx(
            np.arange(20.0).std(), rel=1e-12)


@pytest.mark.parametrize("out_dtype", [">f4", np.longdouble])
def test_transform_into_writes_any_float_output(out_dtype):
    X = np.random.default_rng(0).normal(size=(50, 3))
    st_ = Standardizer.fit(X)
    out = st_.transform_into(X, np.empty(X.shape, dtype=out_dtype))
    np.testing.assert_allclose(out.astype(np.float64), st_.transform(X), rtol=1e-6)
