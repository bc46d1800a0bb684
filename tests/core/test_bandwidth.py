import numpy as np
import pytest
from sklearn.datasets import make_swiss_roll

from inertial_diffusion import bandwidth_rule, estimate_intrinsic_dim
from inertial_diffusion.evaluation.datasets import Sphere, random_orthonormal


def test_bandwidth_rule_formula():
    assert bandwidth_rule(2000, 2) == pytest.approx(2000 ** (-1 / 6))
    assert bandwidth_rule(10**6, 4, scale=0.5) == pytest.approx(0.5 * 10 ** (-6 / 8))


@pytest.mark.parametrize("method", ["twonn", "mle"])
def test_intrinsic_dimension_of_known_manifolds(method):
    circle = Sphere(1, 2, random_state=0).sample(2000, random_state=1)
    sphere = Sphere(2, 100, random_state=0).sample(2000, random_state=2)
    roll, _ = make_swiss_roll(3000, random_state=3)
    for X, truth in [(circle, 1), (sphere, 2), (roll, 2)]:
        assert abs(estimate_intrinsic_dim(X, method=method) - truth) <= 0.3


def test_estimate_is_invariant_to_similarity_and_embedding():
    X = Sphere(2, 3, random_state=0).sample(1500, random_state=1)
    Q = random_orthonormal(40, 3, random_state=5)
    d = estimate_intrinsic_dim(X)
    assert estimate_intrinsic_dim(7.0 * X @ Q.T + 3.0) == pytest.approx(d, rel=1e-9)


def test_duplicates_do_not_break_the_estimators():
    X = Sphere(1, 2, random_state=0).sample(500, random_state=1)
    X = np.vstack([X, X[:100]])
    for method in ["twonn", "mle"]:
        assert np.isfinite(estimate_intrinsic_dim(X, method=method))


@pytest.mark.parametrize("bad,exc", [(np.zeros(5), ValueError), (np.zeros((2, 3)), ValueError),
                                     (np.array([[0.0, np.nan], [1, 2], [3, 4]]), ValueError),
                                     (np.array([["a", "b"]] * 4), TypeError)])
def test_estimate_rejects_bad_input(bad, exc):
    with pytest.raises(exc):
        estimate_intrinsic_dim(bad)


def test_estimate_rejects_unknown_method():
    with pytest.raises(ValueError, match="method"):
        estimate_intrinsic_dim(np.random.default_rng(0).normal(size=(50, 3)), method="pca")


def test_estimate_never_exceeds_the_ambient_dimension():
    X = np.array([[1.0], [2.0], [3.0], [4.0]])
    assert estimate_intrinsic_dim(X) <= 1.0
