"""bandwidth="auto": held-out choice of c in sigma = c n^(-1/(d+4)) against a brute-force oracle."""

import numpy as np
import pytest

from inertial_diffusion import InertialDiffusion
from inertial_diffusion.estimators.bandwidth_search import DEFAULT_SCALES, search_bandwidth_scale
from inertial_diffusion.evaluation.datasets import Sphere
from inertial_diffusion.evaluation.metrics import wasserstein1


def test_auto_bandwidth_is_within_1_5x_of_the_w1_oracle_on_a_sphere():
    sphere = Sphere(4, 8, random_state=0)
    n = 2000
    X = sphere.sample(n, random_state=1)
    model = InertialDiffusion(bandwidth="auto", intrinsic_dim=4, random_state=0).fit(X)
    search = model.bandwidth_search_
    assert search.best_scale in search.scales and search.scores.shape == (len(DEFAULT_SCALES),)
    assert model.bandwidth_ == pytest.approx(search.best_scale * n ** (-1 / 8) / 1.0, rel=1e-12)
    # oracle: the grid value whose full-n model has the smallest W1 to fresh population samples
    oracle = []
    for c in DEFAULT_SCALES[1:8]:
        w = [wasserstein1(InertialDiffusion(intrinsic_dim=4, bandwidth_scale=c, random_state=s).fit(X).sample(1500),
                          sphere.sample(1500, random_state=100 + s)) for s in range(2)]
        oracle.append(np.mean(w))
    oracle_c = DEFAULT_SCALES[1 + int(np.argmin(oracle))]
    assert 1 / 1.5 <= search.best_scale / oracle_c <= 1.5, (search, oracle)
    # and the choice avoids both ends: memorization (smallest c) and the rule's c = 1 oversmoothing here
    assert min(oracle) < oracle[-1]


def test_search_is_reproducible_and_validates():
    X = Sphere(2, 5, random_state=0).sample(300, random_state=0)
    a = search_bandwidth_scale(X, 2.0, scales=(0.2, 0.5, 1.0), random_state=3)
    b = search_bandwidth_scale(X, 2.0, scales=(0.2, 0.5, 1.0), random_state=3)
    np.testing.assert_array_equal(a.fold_scores, b.fold_scores)
    assert "chosen" in str(a)
    with pytest.raises(ValueError, match="at least 20 rows"):
        search_bandwidth_scale(X[:10], 2.0)
    with pytest.raises(ValueError, match="scales"):
        search_bandwidth_scale(X, 2.0, scales=(0.5, -1.0))
    with pytest.raises(ValueError, match="bandwidth must be"):
        InertialDiffusion(bandwidth="silverman").fit(X)


def test_auto_bandwidth_with_labels_shares_the_chosen_scale():
    rng = np.random.default_rng(0)
    X = Sphere(1, 3, random_state=0).sample(400, random_state=0)
    y = rng.integers(0, 2, size=400)
    model = InertialDiffusion(bandwidth="auto", intrinsic_dim=1, random_state=0).fit(X, y)
    c = model.bandwidth_search_.best_scale
    for label, sub in model.class_models_.items():
        assert sub.bandwidth_ == pytest.approx(c * model.class_counts_[label] ** (-1 / 5))
    assert model.sample(5, y=1).shape == (5, 3)
