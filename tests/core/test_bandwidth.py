import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.datasets import make_swiss_roll

from inertial_diffusion import bandwidth_rule, estimate_intrinsic_dim
from inertial_diffusion.core.bandwidth import (DIM_METHODS, DimensionEstimateError, resolve_intrinsic_dim,
                                               scale_dimension)
from inertial_diffusion.evaluation.datasets import Sphere, make_sphere, make_torus, random_orthonormal


def test_bandwidth_rule_formula():
    assert bandwidth_rule(2000, 2) == pytest.approx(2000 ** (-1 / 6))
    assert bandwidth_rule(10**6, 4, scale=0.5) == pytest.approx(0.5 * 10 ** (-6 / 8))


def test_bandwidth_rule_names_the_bad_argument():
    """A bad scale is reported under its own name (it used to be called 'bandwidth_scale', a parameter
    bandwidth_rule does not have); n and intrinsic_dim likewise."""
    for bad, exc in ((0.0, ValueError), (-1.0, ValueError), (float("nan"), ValueError), ("1", TypeError)):
        with pytest.raises(exc, match=r"^scale must be"):
            bandwidth_rule(100, 2.0, scale=bad)
    with pytest.raises(ValueError, match=r"^n must be"):
        bandwidth_rule(0, 2.0)
    with pytest.raises(ValueError, match=r"^intrinsic_dim must be"):
        bandwidth_rule(100, 0.0)


@pytest.mark.parametrize("method", ["twonn", "mle", "scale"])
def test_intrinsic_dimension_of_known_manifolds(method):
    circle = Sphere(1, 2, random_state=0).sample(2000, random_state=1)
    sphere = Sphere(2, 100, random_state=0).sample(2000, random_state=2)
    roll, _ = make_swiss_roll(3000, random_state=3)
    for X, truth in [(circle, 1), (sphere, 2), (roll, 2)]:
        assert abs(estimate_intrinsic_dim(X, method=method) - truth) <= 0.3


@pytest.mark.parametrize("ambient", [3, 300, 1000])
def test_scale_reads_through_ambient_noise(ambient):
    # unit 2-sphere, noise 0.005 per coordinate: TwoNN reads ~16 and ~40 at D = 300, 1000 (issue 11)
    X = make_sphere(2000, 2, ambient, random_state=1)
    X = X + 0.005 * np.random.default_rng(0).standard_normal(X.shape)
    assert 1.5 <= estimate_intrinsic_dim(X, "scale", random_state=0) <= 3.0


@pytest.mark.parametrize("d,ambient", [(1, 2), (2, 50), (4, 5)])
def test_scale_keeps_the_bandwidth_of_clean_spheres(d, ambient):
    # the rule's sigma with the estimate is within 5 % of sigma with the true d
    X = make_sphere(2000, d, ambient, random_state=d)
    est = estimate_intrinsic_dim(X, "scale", random_state=0)
    assert bandwidth_rule(2000, est) == pytest.approx(bandwidth_rule(2000, d), rel=0.05)


def test_scale_on_a_torus():
    X = make_torus(2000, 2, 30, random_state=5)
    assert abs(estimate_intrinsic_dim(X, "scale", random_state=0) - 2) <= 0.2


@pytest.mark.parametrize("method", ["twonn", "mle", "scale"])
def test_estimate_is_invariant_to_similarity_and_embedding(method):
    X = Sphere(2, 3, random_state=0).sample(1500, random_state=1)
    Q = random_orthonormal(40, 3, random_state=5)
    d = estimate_intrinsic_dim(X, method, random_state=3)
    assert estimate_intrinsic_dim(7.0 * X @ Q.T + 3.0, method, random_state=3) == pytest.approx(d, rel=1e-6)


def test_scale_is_deterministic_given_the_seed():
    X = make_sphere(1500, 3, 10, random_state=2)
    assert estimate_intrinsic_dim(X, "scale", random_state=4) == estimate_intrinsic_dim(X, "scale", random_state=4)


def test_scale_uses_the_fitted_row_count():
    # sigma(d) = c n^(-1/(d+4)): a different n or c moves the scale the data are read at; on an
    # exact power law (a 2-D grid far from its edges, read at two different scales) the answer barely moves,
    # but on a noisy sphere in high D a smaller sigma (larger n) sees more noise: d rises with n
    X = make_sphere(2000, 2, 1000, random_state=1) + 0.005 * np.random.default_rng(0).standard_normal((2000, 1000))
    small = scale_dimension(X, random_state=0)
    large = scale_dimension(X, n_samples=10**7, random_state=0)
    wide = scale_dimension(X, n_samples=10**7, bandwidth_scale=10 ** (7 / 6) / 2000 ** (1 / 6), random_state=0)
    assert large > small + 0.1
    assert wide == pytest.approx(small, abs=0.05)  # c compensates n exactly at d = 2


def test_scale_on_a_subsample_keeps_the_full_row_count():
    X = make_sphere(3000, 2, 300, random_state=1) + 0.005 * np.random.default_rng(0).standard_normal((3000, 300))
    sub = estimate_intrinsic_dim(X, "scale", max_rows=1000, random_state=0)
    assert sub == estimate_intrinsic_dim(X, "scale", max_rows=1000, n_samples=3000, random_state=0)
    assert sub != estimate_intrinsic_dim(X, "scale", max_rows=1000, n_samples=1000, random_state=0)


def test_resolve_passes_the_rule_through():
    X = make_sphere(800, 2, 10, random_state=2)
    assert resolve_intrinsic_dim(None, X, "scale", n_samples=10**6, bandwidth_scale=0.5) == \
        estimate_intrinsic_dim(X, "scale", random_state=0, n_samples=10**6, bandwidth_scale=0.5)
    assert resolve_intrinsic_dim(None, lambda: X, "scale") == estimate_intrinsic_dim(X, "scale", random_state=0)
    assert resolve_intrinsic_dim(3, None, "scale") == 3.0
    assert resolve_intrinsic_dim(None, None, "scale", needed=False) is None


def test_duplicates_do_not_break_the_estimators():
    X = Sphere(1, 2, random_state=0).sample(500, random_state=1)
    X = np.vstack([X, X[:100]])
    for method in DIM_METHODS:
        assert np.isfinite(estimate_intrinsic_dim(X, method=method))


def _grid(side: int, dim: int) -> np.ndarray:
    return np.stack(np.meshgrid(*[np.arange(side)] * dim), -1).reshape(-1, dim).astype(float)


def test_twonn_on_a_grid_says_what_happened():
    # every first and second neighbour distance is the grid step: mu = 1 everywhere (was: nan)
    with pytest.raises(DimensionEstimateError, match="tied distances.*intrinsic_dim") as err:
        estimate_intrinsic_dim(_grid(30, 2), "twonn")
    assert "tied distances" in err.value.reason and "intrinsic_dim" not in err.value.reason  # for the CLI


def test_mle_on_equidistant_neighbours_says_what_happened():
    # the 2 nearest neighbours of every vertex of a square are both at distance 1 (was: inf)
    with pytest.raises(DimensionEstimateError, match="tied distances.*intrinsic_dim"):
        estimate_intrinsic_dim(np.array([[0.0, 0], [0, 1], [1, 0], [1, 1]]), "mle", k=2)


@pytest.mark.parametrize("method", ["twonn", "mle", "scale"])
def test_equidistant_points_say_what_happened(method):
    # the 30 basis vectors of R^30: every distance is sqrt(2), no ratio says anything about d
    with pytest.raises(DimensionEstimateError, match="tied"):
        estimate_intrinsic_dim(np.eye(30), method, random_state=0)


@pytest.mark.parametrize("X,low,high", [(_grid(40, 2), 1.5, 2.5), (_grid(12, 3), 2.0, 3.5),
                                        (np.random.default_rng(0).integers(0, 5, (1000, 3)), 2.0, 3.5)])
def test_scale_reads_integer_grids(X, low, high):
    # a lattice's common nearest distance is not a noise floor (else a 5^3 cube read ~0.07)
    assert low <= estimate_intrinsic_dim(X, "scale", random_state=0) <= high


@pytest.mark.parametrize("method", ["twonn", "mle", "scale"])
def test_boolean_data_give_a_dimension_or_a_clear_error(method):
    X = np.random.default_rng(1).integers(0, 2, size=(500, 20)).astype(bool)
    try:
        d = estimate_intrinsic_dim(X, method, random_state=0)
    except ValueError as err:
        assert "intrinsic_dim" in str(err)
    else:
        assert np.isfinite(d) and 0 < d <= 20


@settings(max_examples=60, deadline=None, derandomize=True)
@given(arrays(np.int8, st.tuples(st.integers(12, 60), st.integers(1, 4)), elements=st.integers(0, 3)),
       st.sampled_from(["twonn", "mle", "scale"]))
def test_no_estimate_is_ever_nan_inf_or_non_positive(X, method):
    X[0, 0] = 5  # hypothesis prefers constant arrays; keep one check of those below
    try:
        d = estimate_intrinsic_dim(X, method, random_state=0)
    except ValueError as err:  # too few distinct rows, or ties: the message must say what to do
        assert "intrinsic_dim" in str(err) or "distinct" in str(err)
    else:
        assert np.isfinite(d) and 0 < d <= X.shape[1]


@pytest.mark.parametrize("method", ["twonn", "mle", "scale"])
def test_constant_data_say_what_happened(method):
    with pytest.raises(ValueError, match="distinct"):
        estimate_intrinsic_dim(np.ones((40, 3)), method)


@pytest.mark.parametrize("bad,exc", [(np.zeros(5), ValueError), (np.zeros((2, 3)), ValueError),
                                     (np.array([[0.0, np.nan], [1, 2], [3, 4]]), ValueError),
                                     (np.array([["a", "b"]] * 4), TypeError)])
def test_estimate_rejects_bad_input(bad, exc):
    with pytest.raises(exc):
        estimate_intrinsic_dim(bad)


def test_estimate_rejects_unknown_method():
    with pytest.raises(ValueError, match="method"):
        estimate_intrinsic_dim(np.random.default_rng(0).normal(size=(50, 3)), method="pca")
    for max_rows in (0, -1, 2.5):
        with pytest.raises((ValueError, TypeError), match="max_rows"):
            estimate_intrinsic_dim(np.random.default_rng(0).normal(size=(50, 3)), max_rows=max_rows)


def test_scale_rejects_a_bad_rule():
    X = np.random.default_rng(0).normal(size=(50, 3))
    with pytest.raises(ValueError, match="bandwidth_scale"):
        estimate_intrinsic_dim(X, "scale", bandwidth_scale=0.0)
    with pytest.raises(ValueError, match="n_samples"):
        estimate_intrinsic_dim(X, "scale", n_samples=0)


def test_estimate_never_exceeds_the_ambient_dimension():
    X = np.array([[1.0], [2.0], [3.0], [4.0]])
    assert estimate_intrinsic_dim(X) <= 1.0


def test_scale_falls_back_to_twonn_below_eleven_distinct_rows():
    """Six generated images read back as data: too few rows for any scale but the nearest neighbours."""
    from inertial_diffusion.core.bandwidth import SCALE_MIN_ROWS

    X = np.random.default_rng(0).normal(size=(SCALE_MIN_ROWS - 1, 4))
    assert estimate_intrinsic_dim(X, "scale") == estimate_intrinsic_dim(X, "twonn")


@given(n=st.integers(1, 40), dim=st.integers(1, 4), levels=st.integers(1, 4), seed=st.integers(0, 2**16),
       dtype=st.sampled_from([np.float64, np.float32, np.int64]))
def test_first_distinct_rows_are_numpys_unique_rows(n, dim, levels, seed, dtype):
    """Hashing the rows finds the same first occurrences as numpy's sort-based unique, signed zeros included."""
    from inertial_diffusion.core.bandwidth import first_distinct_rows

    rng = np.random.default_rng(seed)
    X = (rng.integers(-levels, levels + 1, size=(n, dim)) * 0.5).astype(dtype)  # many repeated rows
    if dtype != np.int64:
        X[rng.random(X.shape) < 0.2] = -0.0
    expected = np.sort(np.unique(X, axis=0, return_index=True)[1])
    np.testing.assert_array_equal(first_distinct_rows(X), expected)


def test_first_distinct_rows_keeps_large_integers_exact_and_refuses_objects():
    from inertial_diffusion.core.bandwidth import first_distinct_rows

    big = np.array([[2**53], [2**53 + 1], [2**53]], dtype=np.int64)  # equal as float64, distinct as integers
    assert first_distinct_rows(big).tolist() == [0, 1]
    with pytest.raises(TypeError, match="numeric"):
        first_distinct_rows(np.array([[1.0], ["a"]], dtype=object))
