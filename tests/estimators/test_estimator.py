import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from inertial_diffusion import EmpiricalDiffusion, InertialDiffusion
from inertial_diffusion.evaluation.datasets import Sphere, random_orthonormal
from inertial_diffusion.evaluation.metrics import energy_test, nearest_distances
from inertial_diffusion.core.process import alpha, variance


def _rms_scale(X):
    return float(np.sqrt(np.mean(np.sum((X - X.mean(0)) ** 2, axis=1))))


@pytest.fixture(scope="module")
def sphere50():
    sphere = Sphere(2, 50, random_state=0)
    return sphere, sphere.sample(2000, random_state=1)


# ------------------------------------------------------------------ memorization vs novelty
@pytest.mark.parametrize("sampler", ["one_shot", "sde", "ode"])
def test_empirical_diffusion_returns_training_points(sampler):
    X = Sphere(2, 10, random_state=0).sample(500, random_state=1)
    S = EmpiricalDiffusion(sampler=sampler, n_steps=150, random_state=0).fit(X).sample(300)
    close = nearest_distances(S, X) <= 1e-4 * _rms_scale(X)
    assert close.mean() >= 0.99


def test_empirical_diffusion_raw_endpoint_also_memorizes():
    X = Sphere(2, 10, random_state=0).sample(500, random_state=1)
    model = EmpiricalDiffusion(sampler="sde", n_steps=200, t_min=1e-11, denoise=False, random_state=0)
    S = model.fit(X).sample(300)
    assert (nearest_distances(S, X) <= 1e-4 * _rms_scale(X)).mean() >= 0.99


def test_idm_makes_new_points_near_the_sphere(sphere50):
    sphere, X = sphere50
    tau = np.percentile(_train_nn(X), 1)
    S = InertialDiffusion(random_state=0).fit(X).sample(2000)
    assert nearest_distances(S, X).min() > tau
    assert sphere.distance(S).mean() <= 0.15


def _train_nn(X):
    from sklearn.neighbors import NearestNeighbors
    dist, _ = NearestNeighbors(n_neighbors=2).fit(X).kneighbors(X)
    return dist[:, 1]


def test_distance_to_manifold_does_not_depend_on_ambient_dimension():
    means = []
    for D, seed in [(3, 1), (300, 2)]:
        sphere = Sphere(2, D, random_state=seed)
        X = sphere.sample(2000, random_state=seed + 10)
        S = InertialDiffusion(intrinsic_dim=2, random_state=seed).fit(X).sample(2000)
        means.append(sphere.distance(S).mean())
    assert abs(means[0] - means[1]) <= 0.15 * min(means)


def test_paper_form_residual_grows_like_sqrt_D():
    gaps = []
    for D in (30, 300):
        X = Sphere(2, D, random_state=0).sample(1000, random_state=1)
        kw = dict(intrinsic_dim=2, random_state=7)
        pm = InertialDiffusion(inertia="posterior_mean", **kw).fit(X)
        paper = InertialDiffusion(inertia="paper", **kw).fit(X)
        gaps.append(np.linalg.norm(paper.sample(500) - pm.sample(500), axis=1).mean())
        h = pm.h_
    # gap = (h - v_h)/v_h * |alpha m - z| / alpha, and alpha m - z is mostly the noise normal to
    # the manifold, |.| ~ sqrt(v_h (D - d)): the ratio is ~ sqrt(298 / 28) = 3.3
    assert 2.8 < gaps[1] / gaps[0] < 3.8
    predicted = (h - variance(h)) / variance(h) * np.sqrt(variance(h) * 298) / alpha(h)
    assert gaps[1] == pytest.approx(predicted, rel=0.2)


# ------------------------------------------------------------------ equivariance and invariance
@settings(max_examples=15, deadline=None)
@given(a=st.floats(1e-3, 1e3), b=st.floats(-1e3, 1e3), seed=st.integers(0, 1000))
def test_affine_equivariance(a, b, seed):
    X = Sphere(2, 4, random_state=seed).sample(300, random_state=seed)
    S = InertialDiffusion(random_state=seed).fit(X).sample(50)
    S_affine = InertialDiffusion(random_state=seed).fit(a * X + b).sample(50)
    np.testing.assert_allclose(S_affine, a * S + b, rtol=1e-8, atol=1e-8 * (a + abs(b)))


def test_isometric_embedding_invariance():
    sphere = Sphere(2, 3, random_state=0)
    X = sphere.sample(1500, random_state=1)
    Q = random_orthonormal(200, 3, random_state=2)
    small = InertialDiffusion(random_state=0).fit(X)
    big = InertialDiffusion(random_state=0).fit(X @ Q.T)
    assert big.bandwidth_ == pytest.approx(small.bandwidth_, rel=1e-9)
    assert big.intrinsic_dim_ == pytest.approx(small.intrinsic_dim_, rel=1e-9)
    S_small = small.sample(1500, random_state=3)
    S_big = big.sample(1500, random_state=4)
    d_small = sphere.distance(S_small)
    d_big = sphere.distance(S_big @ Q)  # back in R^3 (S_big lies in the span of Q)
    assert np.abs(S_big - (S_big @ Q) @ Q.T).max() < 1e-9
    se = np.sqrt(d_small.var() / d_small.size + d_big.var() / d_big.size)
    assert abs(d_small.mean() - d_big.mean()) < 4 * se
    assert energy_test(S_small, S_big @ Q, n_permutations=200, random_state=0).pvalue > 0.01


@pytest.mark.parametrize("sampler", ["one_shot", "sde", "sde_euler", "ode"])
def test_same_seed_same_output(sampler):
    X = Sphere(1, 3, random_state=0).sample(200, random_state=1)
    model = InertialDiffusion(sampler=sampler, n_steps=10).fit(X)
    np.testing.assert_array_equal(model.sample(20, random_state=5), model.sample(20, random_state=5))
    assert not np.array_equal(model.sample(20, random_state=5), model.sample(20, random_state=6))
    fixed = InertialDiffusion(sampler=sampler, n_steps=10, random_state=11).fit(X)
    np.testing.assert_array_equal(fixed.sample(20), fixed.sample(20))
    np.testing.assert_array_equal(fixed.sample(20, random_state=np.random.default_rng(3)),
                                  fixed.sample(20, random_state=np.random.default_rng(3)))


def test_float32_model_agrees_with_float64():
    X = Sphere(2, 20, random_state=0).sample(1000, random_state=1)
    m64 = InertialDiffusion(random_state=0).fit(X)
    m32 = InertialDiffusion(random_state=0, dtype="float32").fit(X)
    S64, S32 = m64.sample(400), m32.sample(400)
    assert S32.dtype == np.float64 and S64.dtype == np.float64  # float32 work, float64 data units
    assert energy_test(S32, S64, n_permutations=200, random_state=0).pvalue > 0.01
    # the same queries through float32 arithmetic: agreement to 1e-6 of the data scale
    q = S64[:100]
    assert np.abs(m32.posterior_mean(q, m32.h_) - m64.posterior_mean(q, m64.h_)).max() <= 1e-6 * _rms_scale(X)


def test_float32_work_keeps_data_units_resolved_under_a_large_offset():
    """float32 runs in standardized units; a 1e8 offset (GPS-like data) must not collapse the samples."""
    X = 1e8 + Sphere(1, 2, random_state=0).sample(500, random_state=1)
    S = InertialDiffusion(dtype="float32", random_state=0).fit(X).sample(300)
    assert S.dtype == np.float64
    # float32 data units would keep a handful of distinct values (spacing 8 at 1e8); in float32 standardized units
    # two samples may still share a coordinate by chance (spacing 6e-8 where x = cos(theta) is flat near 1)
    assert np.unique(S[:, 0]).size >= 290
    assert np.abs(S - 1e8).max() < 1.5


# ------------------------------------------------------------------ data-unit score & posterior
def test_score_function_is_the_gradient_of_log_density_in_data_units():
    X = 5.0 * Sphere(1, 3, random_state=0).sample(100, random_state=1) + 2.0
    model = InertialDiffusion(bandwidth=0.3).fit(X)
    x, t, eps = X[:5] + 0.1, 0.2, 1e-6
    num = np.stack([(model.log_density(x + eps * e, t) - model.log_density(x - eps * e, t)) / (2 * eps)
                    for e in np.eye(3)], axis=1)
    np.testing.assert_allclose(model.score_function(x, t), num, rtol=1e-6, atol=1e-6)


def test_posterior_mean_in_data_units_is_a_convex_combination_of_training_points():
    X = np.array([[0.0, 0.0], [10.0, 0.0]])
    model = InertialDiffusion(bandwidth=0.3).fit(X)
    midpoint = model.posterior_mean(np.array([[5.0, 3.0]]), 0.5)
    np.testing.assert_allclose(midpoint, [[5.0, 0.0]], atol=1e-12)
    np.testing.assert_allclose(model.posterior_mean([10.0, 1.0], 1e-6), [[10.0, 0.0]], atol=1e-12)


# ------------------------------------------------------------------ scikit-learn conventions
def test_sklearn_conventions():
    model = InertialDiffusion(bandwidth=0.2, sampler="ode", random_state=3)
    params = model.get_params()
    assert params["bandwidth"] == 0.2 and params["sampler"] == "ode"
    twin = clone(model)
    assert twin.get_params() == params
    assert model.set_params(n_steps=7).n_steps == 7
    for call in (lambda: model.sample(3), lambda: model.posterior_mean([[0.0]], 0.1),
                 lambda: model.score_function([[0.0]], 0.1), lambda: model.mean_):
        with pytest.raises(NotFittedError):
            call()
    X = Sphere(1, 2, random_state=0).sample(100, random_state=1)
    model.fit(X)
    assert model.n_features_in_ == 2 and model.bandwidth_ == 0.2 and model.h_ == pytest.approx(0.04)
    assert clone(model).get_params() == model.get_params()


def test_sample_zero_is_empty():
    X = Sphere(1, 2, random_state=0).sample(50, random_state=1)
    for model in (InertialDiffusion(), EmpiricalDiffusion(), InertialDiffusion(sampler="sde", n_steps=3)):
        out = model.fit(X).sample(0)
        assert out.shape == (0, 2)


def test_fitted_attributes_of_the_bandwidth_rule():
    X = Sphere(2, 10, random_state=0).sample(1000, random_state=1)
    model = InertialDiffusion(intrinsic_dim=2, bandwidth_scale=0.5).fit(X)
    assert model.bandwidth_ == pytest.approx(0.5 * 1000 ** (-1 / 6))
    assert model.intrinsic_dim_ == 2
    model = InertialDiffusion().fit(X)
    assert abs(model.intrinsic_dim_ - 2) < 0.3
    assert model.bandwidth_ == pytest.approx(1000 ** (-1 / (model.intrinsic_dim_ + 4)))
    assert model.scale_ == pytest.approx(_rms_scale(X))
    np.testing.assert_allclose(model.mean_, X.mean(0))


# ------------------------------------------------------------------ validation
GOOD = np.random.default_rng(0).normal(size=(20, 3))


@pytest.mark.parametrize("X,match", [
    (np.array([[0.0, np.nan], [1.0, 2.0]]), "NaN"),
    (np.array([[0.0, np.inf], [1.0, 2.0]]), "infinite"),
    (np.empty((0, 3)), "empty"),
    (np.ones((1, 3)), "n_samples = 1"),
    (np.ones(5), "2-D"),
    (np.ones((2, 2, 2)), "2-D"),
    (np.ones((4, 0)), "no features"),
    (np.ones((5, 3)), "identical"),
])
def test_fit_rejects_bad_data(X, match):
    for model in (InertialDiffusion(), EmpiricalDiffusion()):
        with pytest.raises(ValueError, match=match):
            model.fit(X)


def test_fit_rejects_non_numeric_data():
    with pytest.raises(TypeError, match="numeric"):
        InertialDiffusion().fit(np.array([["a", "b"], ["c", "d"]]))


@pytest.mark.parametrize("params,match", [
    ({"bandwidth": 0.0}, "bandwidth"), ({"bandwidth": -1.0}, "bandwidth"), ({"bandwidth": np.nan}, "bandwidth"),
    ({"bandwidth_scale": 0.0}, "bandwidth_scale"), ({"intrinsic_dim": -2}, "intrinsic_dim"),
    ({"n_steps": 0}, "n_steps"), ({"inertia": "newton"}, "inertia"), ({"sampler": "euler"}, "sampler"),
    ({"dtype": "float16"}, "dtype"), ({"prior": "uniform"}, "prior"), ({"device": "tpu"}, "device"),
    ({"chunk_size": 0}, "chunk_size"), ({"dim_method": "pca"}, "dim_method"), ({"t_max": -1.0}, "t_max"),
])
def test_fit_rejects_bad_parameters(params, match):
    with pytest.raises(ValueError, match=match):
        InertialDiffusion(**params).fit(GOOD)


def test_empirical_rejects_bad_parameters():
    with pytest.raises(ValueError, match="t_min"):
        EmpiricalDiffusion(t_min=0.0).fit(GOOD)
    with pytest.raises(ValueError, match="sampler"):
        EmpiricalDiffusion(sampler="one-shot").fit(GOOD)


def test_cuda_request_without_gpu_is_a_clear_error():
    import torch
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(ValueError, match="CUDA"):
        InertialDiffusion(device="cuda").fit(GOOD)
    assert InertialDiffusion(device="auto", bandwidth=0.3).fit(GOOD).device_.type == "cpu"


def test_query_validation():
    model = InertialDiffusion(bandwidth=0.3).fit(GOOD)
    with pytest.raises(ValueError, match="3 features"):
        model.posterior_mean(np.zeros((2, 4)), 0.1)
    with pytest.raises(ValueError, match="NaN"):
        model.score_function(np.array([[np.nan, 0, 0]]), 0.1)
    for t in (0.0, -1.0, np.inf):
        with pytest.raises(ValueError, match="t must be"):
            model.posterior_mean(np.zeros((1, 3)), t)
    with pytest.raises(ValueError, match="n_samples"):
        model.sample(-1)
    with pytest.raises(TypeError, match="n_samples"):
        model.sample(2.5)


def test_stationary_prior_gives_the_same_law():
    X = Sphere(2, 5, random_state=0).sample(300, random_state=1)
    kw = dict(intrinsic_dim=2, n_steps=60)
    exact = InertialDiffusion(**kw).fit(X).sample(600, random_state=0)
    stationary = InertialDiffusion(sampler="sde", prior="stationary", **kw).fit(X).sample(600, random_state=1)
    assert energy_test(exact, stationary, n_permutations=200, random_state=0).pvalue > 0.01


def test_fit_time_draws_take_the_random_state():
    """Every fit-time draw (here the 512-row probe of isolated points, beyond 512 rows) follows random_state."""
    import warnings

    rng = np.random.default_rng(5)
    far = rng.normal(size=(100, 3))
    far *= 50 * (1 + np.arange(100))[:, None] / np.linalg.norm(far, axis=1, keepdims=True)  # each alone
    X = np.r_[Sphere(2, 3, random_state=0).sample(2000, random_state=1), far]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        counts = {InertialDiffusion(intrinsic_dim=2, random_state=s).fit(X).n_isolated_ for s in range(6)}
        same = {InertialDiffusion(intrinsic_dim=2, random_state=3).fit(X).n_isolated_ for _ in range(3)}
    assert len(counts) > 1 and len(same) == 1  # different probes for different seeds, the same for one seed
