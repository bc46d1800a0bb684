"""One pass of nearest-neighbour distances shared by the fit's estimates: each estimate reads from it what it would
have computed itself (the dimension at the kernel's scale, the separated parts), and a table read with other anchors
is refused."""

import numpy as np
import pytest
from sklearn.neighbors import NearestNeighbors

from inertial_diffusion import InertialDiffusion
from inertial_diffusion.core import neighbours as neighbours_module
from inertial_diffusion.core.bandwidth import scale_dimension
from inertial_diffusion.core.components import find_components
from inertial_diffusion.core.neighbours import neighbour_table
from inertial_diffusion.evaluation.datasets import Sphere


def _two_parts(n=1200, seed=0):
    rng = np.random.default_rng(seed)
    a = Sphere(3, 40, random_state=0).sample(n // 2, random_state=seed)
    b = Sphere(2, 40, random_state=1).sample(n - n // 2, random_state=seed + 1) + 6.0 * rng.normal(size=40) / 6.0
    return np.r_[a, b, a[:5]]  # with duplicated rows


def test_the_table_holds_the_exact_neighbours_and_the_anchor_distances():
    X = _two_parts()
    table = neighbour_table(X, 15, random_state=3)
    dist, index = NearestNeighbors(n_neighbors=15).fit(X).kneighbors()
    # |q|^2 + |y|^2 - 2 q.y rounds at ~1e-16 |q|^2: a distance near 0 (the duplicates) comes out ~1e-8 |q|
    np.testing.assert_allclose(table.knn_dist, dist, rtol=1e-9, atol=1e-7)
    assert np.mean(table.knn_index == index) > 0.99  # duplicates (distance 0) may list in another order
    n_distinct = np.unique(X, axis=0).shape[0]
    assert table.n_distinct == n_distinct and table.anchor_sq.shape == (1000, 256)
    assert scale_dimension(X, random_state=3, table=table) == pytest.approx(scale_dimension(X, random_state=3),
                                                                             rel=1e-9)
    assert scale_dimension(X, n_samples=10**6, random_state=3, table=table) == pytest.approx(
        scale_dimension(X, n_samples=10**6, random_state=3), rel=1e-9)
    with pytest.raises(ValueError, match="anchors"):
        scale_dimension(X, random_state=4, table=table)


def test_find_components_reads_the_same_parts_from_the_table():
    X = _two_parts()
    table = neighbour_table(X, 15, random_state=0)
    labels = find_components(X, random_state=0, table=table)
    assert np.bincount(labels).tolist() == [605, 600]  # the two spheres (the duplicated rows with the first)
    np.testing.assert_array_equal(labels, find_components(X, random_state=0))


def test_a_fit_with_the_shared_pass_equals_one_without(monkeypatch):
    X = _two_parts()
    shared = InertialDiffusion(random_state=0).fit(X)
    assert shared._neighbour_table is None  # a fit-time intermediate, not kept
    calls = []
    real = neighbours_module.neighbour_table

    def counted(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)
    import inertial_diffusion.estimators.inertial as inertial_module
    monkeypatch.setattr(inertial_module, "neighbour_table", counted)
    InertialDiffusion(random_state=0).fit(X)
    assert calls == [1]
    monkeypatch.setattr(inertial_module, "neighbour_table", lambda *a, **k: None)  # each estimate reads its own
    alone = InertialDiffusion(random_state=0).fit(X)
    assert shared.intrinsic_dim_ == pytest.approx(alone.intrinsic_dim_, rel=1e-9)
    np.testing.assert_array_equal(shared.component_labels_, alone.component_labels_)
    assert [c["size"] for c in shared.components_] == [c["size"] for c in alone.components_]
    np.testing.assert_allclose(shared.sample(50, random_state=1), alone.sample(50, random_state=1), atol=1e-9)
