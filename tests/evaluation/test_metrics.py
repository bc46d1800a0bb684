import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inertial_diffusion.evaluation.datasets import Sphere
from inertial_diffusion.evaluation.metrics import energy_distance, manifold_error, memorization_report, wasserstein1


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), shift=st.lists(st.floats(-5, 5), min_size=3, max_size=3))
def test_w1_of_a_translate_is_the_shift(seed, shift):
    A = np.random.default_rng(seed).normal(size=(40, 3))
    s = np.array(shift)
    assert wasserstein1(A, A + s) == pytest.approx(np.linalg.norm(s), abs=1e-9)
    assert wasserstein1(A, A) == pytest.approx(0.0, abs=1e-12)


def test_w1_one_dimensional_closed_form():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(300, 1)), rng.normal(size=(300, 1)) * 2 + 1
    expected = np.mean(np.abs(np.sort(a[:, 0]) - np.sort(b[:, 0])))  # 1-D: sorted matching is optimal
    assert wasserstein1(a, b) == pytest.approx(expected, rel=1e-9)
    assert wasserstein1(a, b, method="sliced", random_state=0) == pytest.approx(expected, rel=1e-9)


def test_sliced_is_below_exact_and_seeded():
    rng = np.random.default_rng(1)
    A, B = rng.normal(size=(200, 5)), rng.normal(size=(200, 5)) + 0.5
    s1 = wasserstein1(A, B, method="sliced", random_state=3)
    assert s1 == wasserstein1(A, B, method="sliced", random_state=3)
    assert s1 <= wasserstein1(A, B)
    with pytest.raises(ValueError, match="method"):
        wasserstein1(A, B, method="sinkhorn")


def test_energy_distance_of_equal_sets_is_zero():
    A = np.random.default_rng(0).normal(size=(50, 2))
    assert energy_distance(A, A) == pytest.approx(0.0, abs=1e-12)
    assert energy_distance(A, A + 3) > 1.0


def test_memorization_report_known_answers():
    X = Sphere(2, 3, random_state=0).sample(500, random_state=1)
    copies = memorization_report(X[:100], X)
    assert copies.copy_rate == 1.0 and copies.dup_rate == 1.0 and copies.median_nn_distance == 0.0
    far = memorization_report(X[:100] * 3.0, X, held_out=Sphere(2, 3, random_state=0).sample(200, random_state=5))
    assert far.copy_rate == 0.0 and far.dup_rate == 0.0 and far.nn_ratio > 1.0
    assert "DupRate" in str(far)


def test_manifold_error():
    sphere = Sphere(2, 4, random_state=0)
    X = sphere.sample(100, random_state=1) * 1.25
    err = manifold_error(X, sphere)
    assert err.mean == pytest.approx(0.25) and err.max == pytest.approx(0.25)
    with pytest.raises(ValueError, match="R\\^4"):
        manifold_error(X[:, :3], sphere)


@pytest.mark.parametrize("d", [1, 2])
def test_floor_corrected_w1_recovers_a_known_distance_above_the_floor(d):
    from inertial_diffusion.evaluation.datasets import Sphere
    from inertial_diffusion.evaluation.metrics import floor_corrected

    m = 1000
    sphere = Sphere(d, d + 1, random_state=0)
    P = sphere.sample(m, random_state=0)
    floor = np.mean([wasserstein1(sphere.sample(m, random_state=10 + k), P) for k in range(4)])
    for ratio in (1.5, 3.0):
        delta = ratio * floor  # concentric spheres of radii 1 and 1 - delta: W1 = delta exactly
        raw = np.mean([wasserstein1(sphere.sample(m, random_state=50 + k) * (1 - delta), P) for k in range(3)])
        assert raw > delta * 1.02  # the plug-in overshoots ...
        assert floor_corrected(raw, floor) == pytest.approx(delta, rel=0.15)  # ... the correction does not
    with pytest.raises(ValueError):
        floor_corrected(float("nan"), 0.1)
