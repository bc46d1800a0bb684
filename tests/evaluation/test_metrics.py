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


# --------------------------------------------------------------------------- energy_test (batched)
def _reference_energy_test(A, B, n_permutations, seed):
    """The straightforward loop: one permutation at a time, three masked means of the pooled distances.

    Ties are judged by the split itself (the observed split or, for equal sizes, its swap has the
    observed statistic exactly), not by comparing two roundings of the same number.
    """
    pooled = np.vstack([A, B])
    n, n_a = len(pooled), len(A)
    dist = np.sqrt(((pooled[:, None, :] - pooled[None, :, :]) ** 2).sum(-1))

    def stat(first):
        return 2 * dist[first][:, ~first].mean() - dist[first][:, first].mean() - dist[~first][:, ~first].mean()

    first = np.arange(n) < n_a
    observed = stat(first)
    rng = np.random.default_rng(seed)
    exceed = 0
    for _ in range(n_permutations):
        mask = rng.permutation(n) < n_a
        same_split = np.array_equal(mask, first) or (n_a * 2 == n and np.array_equal(mask, ~first))
        exceed += same_split or stat(mask) >= observed
    return observed, (1 + exceed) / (1 + n_permutations)


@pytest.mark.parametrize("n_a, n_b, shift, seed", [(60, 45, 0.0, 0), (60, 45, 0.3, 1), (50, 50, 0.15, 2),
                                                   (4, 4, 0.0, 3), (3, 5, 0.5, 4),
                                                   # tiny equal sizes: the observed split and its swap recur
                                                   # often; their statistics must count as ties
                                                   (2, 2, 0.0, 5), (3, 3, 0.0, 6), (3, 3, 0.2, 7)])
def test_energy_test_equals_the_straightforward_loop(n_a, n_b, shift, seed):
    from inertial_diffusion.evaluation.metrics import energy_test

    rng = np.random.default_rng(100 + seed)
    A, B = rng.normal(size=(n_a, 3)), rng.normal(size=(n_b, 3)) + shift
    observed, pvalue = _reference_energy_test(A, B, 300, seed)
    result = energy_test(A, B, n_permutations=300, random_state=seed)
    assert result.statistic == pytest.approx(observed, rel=1e-9, abs=1e-12)
    assert result.statistic == pytest.approx(energy_distance(A, B), rel=1e-9, abs=1e-12)
    assert result.pvalue == pvalue  # the same permutations, the same count: exactly the same p-value
    assert result.n_permutations == 300


def test_energy_test_blocks_do_not_change_the_result(monkeypatch):
    from inertial_diffusion.evaluation import metrics

    rng = np.random.default_rng(7)
    A, B = rng.normal(size=(40, 2)), rng.normal(size=(30, 2)) + 0.2
    whole = metrics.energy_test(A, B, n_permutations=250, random_state=5)
    monkeypatch.setattr(metrics, "_PERMUTATION_BLOCK_BYTES", 8 * 70 * 7)  # blocks of 7 permutations
    assert metrics.energy_test(A, B, n_permutations=250, random_state=5) == whole


# --------------------------------------------------------------------------- sliced W1 through POT
def test_sliced_w1_is_the_mean_one_dimensional_w1_over_the_seeded_directions():
    from scipy.stats import wasserstein_distance

    rng = np.random.default_rng(4)
    A, B = rng.normal(size=(120, 6)), rng.standard_t(3, size=(90, 6))
    directions = np.random.default_rng(11).standard_normal((6, 50))
    directions /= np.linalg.norm(directions, axis=0, keepdims=True)
    by_hand = np.mean([wasserstein_distance(A @ v, B @ v) for v in directions.T])
    assert wasserstein1(A, B, method="sliced", n_projections=50, random_state=11) == pytest.approx(by_hand, rel=1e-9)


# --------------------------------------------------------------------------- fidelity: precision / recall, FD
def test_precision_recall_known_answer_on_a_line():
    from inertial_diffusion.evaluation.fidelity import precision_recall

    real = np.arange(10.0)[:, None]  # k = 1: every real ball has radius 1, the union is [-1, 10]
    fake = np.array([[0.5], [11.5], [-1.0], [-1.5]])
    pr = precision_recall(real, fake, k=1)
    assert pr.precision == 0.5
    # fake balls (k = 1): radii 1.5, 2.5 (11.5 -> 0.5... the nearest other fake), 0.5, 0.5
    # real points inside: 0 (|0 - 0.5| <= 1.5), 1 (0.5 <= 1.5), 2? |2 - 0.5| = 1.5 <= 1.5 yes; 3..9 no except
    # within 11.5 +- 11: all of 0..9 -> recall 1
    assert pr.recall == 1.0
    assert precision_recall(real, real, k=2) == type(pr)(1.0, 1.0, 2)


def test_precision_separates_novelty_from_noise():
    """Fresh points of the data law and noisy copies are both far from the training points; only
    the fresh ones stay inside the k-NN support estimate."""
    from inertial_diffusion.evaluation.datasets import Sphere
    from inertial_diffusion.evaluation.fidelity import precision_recall

    sphere = Sphere(2, 10, random_state=0)
    real = sphere.sample(1000, random_state=1)
    novel = sphere.sample(500, random_state=2)
    noisy = real[:500] + np.random.default_rng(3).normal(scale=0.1, size=(500, 10))
    from inertial_diffusion.evaluation.metrics import nearest_distances

    assert np.median(nearest_distances(noisy, real)) > np.median(nearest_distances(novel, real))
    assert precision_recall(real, novel).precision > 0.8
    assert precision_recall(real, noisy).precision < 0.3


def test_frechet_distance_closed_forms_and_invariance():
    from scipy.linalg import sqrtm

    from inertial_diffusion.evaluation.fidelity import frechet_distance, frechet_distance_gaussians

    a, b = np.array([1.0, 4.0, 0.25]), np.array([9.0, 1.0, 0.25])
    mu1, mu2 = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
    expected = 5.0 + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)  # commuting covariances
    assert frechet_distance_gaussians(mu1, np.diag(a), mu2, np.diag(b)) == pytest.approx(expected, rel=1e-12)
    rng = np.random.default_rng(0)
    L1, L2 = rng.normal(size=(4, 4)), rng.normal(size=(4, 4))
    S1, S2 = L1 @ L1.T, L2 @ L2.T
    textbook = np.trace(S1 + S2 - 2 * np.real(sqrtm(S1 @ S2)))
    assert frechet_distance_gaussians(np.zeros(4), S1, np.zeros(4), S2) == pytest.approx(textbook, rel=1e-8)
    A, B = rng.normal(size=(300, 4)) @ L1, rng.normal(size=(200, 4)) @ L2 + 1.0
    Q, _ = np.linalg.qr(rng.normal(size=(4, 4)))
    assert frechet_distance(A @ Q, B @ Q) == pytest.approx(frechet_distance(A, B), rel=1e-9)
    assert frechet_distance(A, A) == pytest.approx(0.0, abs=1e-9)
    with pytest.raises(ValueError, match="features"):
        frechet_distance(A, B[:, :3])


def test_memorization_report_shows_isolated_rows_and_their_copies():
    """10 far outliers beside 2000 sphere points: the report counts them, and IDM's near-copies of them."""
    import warnings

    from inertial_diffusion import InertialDiffusion
    from inertial_diffusion.evaluation.datasets import Sphere

    rng = np.random.default_rng(5)
    far = rng.normal(size=(10, 3))
    far = 8.0 * far / np.linalg.norm(far, axis=1, keepdims=True) * (1 + np.arange(10)[:, None])
    X = np.r_[Sphere(2, 3, random_state=0).sample(2000, random_state=1), far]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        S = InertialDiffusion(intrinsic_dim=2, random_state=0).fit(X).sample(4000)
    report = memorization_report(S, X)
    assert report.isolated_rows == 10
    assert 0.5 * 10 / 2010 < report.isolated_dup_rate < 2 * 10 / 2010  # each outlier copied at its share
    clean = memorization_report(S[np.linalg.norm(S, axis=1) < 2], X[:2000])
    assert clean.isolated_rows == 0 and clean.isolated_dup_rate == 0
    assert "isolated training rows" in str(report)


def test_sliced_w1_streams_its_projections():
    """Round 3, item 8: the sliced W1 holds at most 2^22 projected values at a time, not (m + k) x 200: its peak
    memory stays near the data's whatever the number of rows."""
    import tracemalloc

    import ot

    rng = np.random.default_rng(0)
    A, B = rng.normal(size=(300_000, 4)), rng.normal(size=(300_000, 4)) + 0.1
    tracemalloc.start()
    value = wasserstein1(A, B, method="sliced", random_state=0)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 2 * (A.nbytes + B.nbytes) + 64 * 2**20  # the old path: 2 x 600k x 200 x 8 bytes ~ 2 GB
    small = wasserstein1(A[:500], B[:400], method="sliced", random_state=3)
    d = np.random.default_rng(3).standard_normal((4, 200))
    d /= np.linalg.norm(d, axis=0)
    assert abs(small - ot.sliced_wasserstein_distance(A[:500], B[:400], p=1, projections=d)) < 1e-12
    assert 0.05 < value < 0.2


def test_duprate_threshold_ignores_repeated_training_rows():
    """A table with repeated rows: the threshold is read off the distinct neighbours, so copies still count (with
    repeats pulling the 1st percentile to 0, DupRate would call every sample novel, and max_dup_rate copy)."""
    from inertial_diffusion import InertialDiffusion

    rng = np.random.default_rng(0)
    train = np.repeat(rng.normal(size=(100, 3)), 2, axis=0)  # every row twice
    report = memorization_report(train[:50], train)
    assert report.tau > 0 and report.dup_rate == 1.0
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = InertialDiffusion(inertia="moment", bandwidth="auto", max_dup_rate=0.05, random_state=0).fit(train)
    assert memorization_report(model.sample(500), train).dup_rate <= 0.1


def test_search_threshold_matches_the_report_and_ignores_repeats():
    """The bandwidth search's DupRate threshold is memorization_report's, repeats or not."""
    import torch

    from inertial_diffusion.estimators.bandwidth_search import _tau

    rng = np.random.default_rng(1)
    distinct = rng.normal(size=(300, 4))
    train = np.concatenate([distinct, distinct[:150]])  # half the rows repeated
    expected = memorization_report(distinct[:5], distinct).tau
    assert expected > 0
    assert _tau(torch.from_numpy(train), torch.from_numpy(train)) == pytest.approx(expected, rel=1e-12)
    assert memorization_report(distinct[:5], train).tau == pytest.approx(expected, rel=1e-12)
