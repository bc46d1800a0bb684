"""The finiteness check: every NaN/inf found and named by its first index, finite data accepted whatever their size
(the fast path sums blocks: a finite sum proves finite entries, an overflowing one falls back to entry checks)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inertial_diffusion.core.validation import check_data


@settings(max_examples=30, deadline=None)
@given(row=st.integers(0, 20_000 - 1), col=st.integers(0, 3), bad=st.sampled_from([np.nan, np.inf, -np.inf]),
       dtype=st.sampled_from([np.float32, np.float64]))
def test_the_first_non_finite_entry_is_named(row, col, bad, dtype):
    X = np.ones((20_000, 4), dtype=dtype)  # several blocks of 8192 rows
    X[row, col] = bad
    kind = "NaN" if np.isnan(bad) else "infinite"
    with pytest.raises(ValueError, match=rf"{kind} values \(first at index \({row}, {col}\)\)"):
        check_data(X)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_huge_finite_values_whose_sum_overflows_are_accepted(dtype):
    X = np.full((10_000, 3), np.finfo(dtype).max / 2, dtype=dtype)
    X[::2] *= -1.0  # +max/2 - max/2 ...: partial sums may still overflow, the entries are finite
    X[1::4] = np.finfo(dtype).max / 2
    assert np.isfinite(check_data(X)).all()
    X[-1, -1] = np.inf  # after the overflowing blocks: still found
    with pytest.raises(ValueError, match="infinite"):
        check_data(X)
