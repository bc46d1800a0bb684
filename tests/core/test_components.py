import numpy as np
import pytest
from scipy.sparse.csgraph import connected_components
from scipy.spatial.distance import cdist

from inertial_diffusion.core.components import _epsilon_components, find_components, part_bandwidth
from inertial_diffusion.evaluation.datasets import make_sphere, make_swiss_roll, make_torus, random_orthonormal


def _circle_and_four_sphere(n: int = 600, ambient: int = 20) -> tuple[np.ndarray, np.ndarray]:
    """Issue 11: a circle and a 4-sphere, radius 1, centres 6 apart in R^20."""
    shift = np.zeros(ambient)
    shift[0] = 6.0
    X = np.vstack([make_sphere(n, 1, ambient, random_state=1), make_sphere(n, 4, ambient, random_state=2) + shift])
    return X, np.repeat([0, 1], n)


def _same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    pairs = set(zip(a.tolist(), b.tolist()))
    return len(pairs) == len(set(a.tolist())) == len(set(b.tolist()))


def _blobs(rng: np.random.Generator, dim: int = 2) -> tuple[np.ndarray, np.ndarray]:
    sizes, centres = (300, 500, 400), (0.0, 20.0, -20.0)
    X = np.vstack([rng.standard_normal((s, dim)) + c for s, c in zip(sizes, centres)])
    return X, np.repeat([2, 0, 1], sizes)  # labels by size: 500 -> 0, 400 -> 1, 300 -> 2


def test_circle_and_four_sphere_are_two_components():
    X, truth = _circle_and_four_sphere()
    labels = find_components(X, random_state=0)
    assert _same_partition(labels, truth) and labels.max() == 1
    # each part's own sigma is far below the global one the gap inflates
    _, sigma_all = part_bandwidth(X, random_state=0)
    for c in (0, 1):
        assert part_bandwidth(X[labels == c], random_state=0)[1] < 0.6 * sigma_all


@pytest.mark.parametrize("X", [make_sphere(2000, 2, 3, random_state=3), make_sphere(2000, 4, 10, random_state=4),
                               make_torus(2000, 2, 4, random_state=5), make_swiss_roll(2000, 3, random_state=6)],
                         ids=["sphere", "4-sphere", "torus", "swiss-roll"])
def test_one_connected_manifold_is_one_component(X):
    assert np.all(find_components(X, random_state=0) == 0)


@pytest.mark.parametrize("dim", [2, 5])
def test_three_far_blobs_are_three_components_ordered_by_size(dim):
    X, truth = _blobs(np.random.default_rng(dim), dim)
    labels = find_components(X, random_state=0)
    np.testing.assert_array_equal(labels, truth)


def test_nested_separation_needs_the_fixed_point():
    # a pair of blobs 12 apart, 200 away from a third: the global sigma (RMS scale ~100) bridges the pair,
    # the pair's own sigma (RMS scale ~6) does not
    rng = np.random.default_rng(8)
    X = np.vstack([rng.standard_normal((500, 2)), rng.standard_normal((400, 2)) + [12.0, 0.0],
                   rng.standard_normal((600, 2)) + [200.0, 0.0]])
    _, sigma_all = part_bandwidth(X, random_state=0)
    assert 2 * sigma_all > 12.0  # the first round cannot split the pair
    np.testing.assert_array_equal(find_components(X, random_state=0), np.repeat([1, 2, 0], [500, 400, 600]))


def test_invariant_to_similarity_and_isometric_embedding():
    X, _ = _blobs(np.random.default_rng(1), 3)
    labels = find_components(X, random_state=7)
    Q = random_orthonormal(30, 3, random_state=2)
    np.testing.assert_array_equal(find_components(0.01 * X @ Q.T - 5.0, random_state=7), labels)
    np.testing.assert_array_equal(find_components(X * 1e4 + 3.0, random_state=7), labels)


def test_deterministic_given_the_seed():
    X, _ = _circle_and_four_sphere(300)
    np.testing.assert_array_equal(find_components(X, random_state=3), find_components(X, random_state=3))


def test_isolated_outliers_and_small_clumps_join_the_nearest_component():
    rng = np.random.default_rng(4)
    X, truth = _blobs(rng)
    far = np.array([[100.0, 0.0], [0.0, -100.0], [19.0, 60.0]])  # nearest blob centres: (20,20), (-20,-20), (20,20)
    clump = rng.standard_normal((8, 2)) * 0.1 + [60.0, 0.0]      # nearest: the blob at (20, 20)
    labels = find_components(np.vstack([X, far, clump]), random_state=0)
    assert labels.max() == 2
    np.testing.assert_array_equal(labels[: truth.size], truth)
    assert np.all(labels[truth.size + 3:] == 0)
    assert labels[truth.size] == 0 and labels[truth.size + 1] == 1 and labels[truth.size + 2] == 0
    # the clump becomes its own component when min_size allows it
    assert find_components(np.vstack([X, clump]), min_size=5, random_state=0).max() == 3


@pytest.mark.parametrize("eps", [0.05, 0.12, 0.3])
def test_epsilon_components_match_the_dense_radius_graph(eps):
    # k = 2 keeps most epsilon-edges out of the k-NN lists: the Borůvka rounds must restore them
    rng = np.random.default_rng(0)
    Z = np.vstack([rng.uniform(size=(150, 2)) * [1.0, 0.3], rng.uniform(size=(100, 2)) * 0.2 + [1.1, 0.0]])
    n_ref, ref = connected_components(cdist(Z, Z) <= eps, directed=False)
    got = _epsilon_components(Z, eps, n_neighbors=2)
    assert _same_partition(got, ref) and got.max() + 1 == n_ref


def test_given_dimension_is_used_for_every_part():
    X, truth = _circle_and_four_sphere(300)
    # a huge d makes sigma ~ c * s: the link radius spans the gap, nothing splits
    assert find_components(X, intrinsic_dim=1000.0, link_factor=4.0, random_state=0).max() == 0
    assert _same_partition(find_components(X, intrinsic_dim=2.0, random_state=0), truth)


@pytest.mark.parametrize("kwargs,match", [({"link_factor": 0.0}, "link_factor"), ({"min_size": 0}, "min_size"),
                                          ({"dim_method": "pca"}, "dim_method"), ({"n_neighbors": 0}, "n_neighbors"),
                                          ({"bandwidth_scale": -1.0}, "bandwidth_scale")])
def test_rejects_bad_options(kwargs, match):
    with pytest.raises(ValueError, match=match):
        find_components(np.random.default_rng(0).normal(size=(50, 2)), **kwargs)


def test_part_bandwidth_is_the_rule_in_data_units():
    X = 3.0 * make_sphere(500, 2, 5, random_state=1) + 7.0
    spread = np.sqrt(np.mean(np.sum((X - X.mean(axis=0)) ** 2, axis=1)))  # ~3: RMS distance to the mean
    d, sigma = part_bandwidth(X, intrinsic_dim=2.0, bandwidth_scale=0.5, n_samples=10**6)
    assert d == 2.0 and sigma == pytest.approx(0.5 * 10 ** (-1) * spread, rel=1e-9)
    d, sigma = part_bandwidth(X, random_state=0)
    assert abs(d - 2) < 0.2 and sigma == pytest.approx(500 ** (-1 / (d + 4)) * spread, rel=1e-9)
    for given in (None, 2.0):  # the message names the caller's parameter, with or without a given d
        with pytest.raises(ValueError, match="^bandwidth_scale"):
            part_bandwidth(X, intrinsic_dim=given, bandwidth_scale=0.0, random_state=0)


def test_rejects_bad_data():
    with pytest.raises(ValueError):
        find_components(np.array([[0.0, np.inf], [1.0, 2.0]]))
