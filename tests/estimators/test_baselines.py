"""Baselines: ambient Gaussian KDE and the smoothed closed-form diffusion model (σ-CFDM)."""

import math

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from inertial_diffusion.core import posterior
from inertial_diffusion.estimators.baselines import AmbientKDE, SmoothedCFDM
from inertial_diffusion.core.cfdm import cfdm_times, flow_matching_denoiser, flow_matching_time, sample_cfdm_euler
from inertial_diffusion.evaluation.datasets import Sphere
from inertial_diffusion.evaluation.metrics import nearest_distances


def _fm_posterior_mean(z: torch.Tensor, data: torch.Tensor, tau: float) -> torch.Tensor:
    """Reference in the paper's own variables: softmax(-|z - tau y|^2 / (2 (1 - tau)^2)) @ y."""
    d2 = torch.cdist(z, tau * data, compute_mode="donot_use_mm_for_euclid_dist") ** 2
    return torch.softmax(-d2 / (2 * (1 - tau) ** 2), dim=1) @ data


@pytest.mark.parametrize("tau", [0.0, 1e-3, 0.2, 0.5, 0.9, 0.99])
def test_flow_matching_posterior_is_the_ou_posterior_at_the_mapped_time(tau):
    gen = torch.Generator().manual_seed(0)
    data = torch.randn(300, 7, generator=gen, dtype=torch.float64)
    z = tau * data[:50] + (1 - tau) * torch.randn(50, 7, generator=gen, dtype=torch.float64)
    fm = flow_matching_denoiser(lambda x, t: posterior.posterior_mean(x, data, t))
    np.testing.assert_allclose(fm(z, tau).numpy(), _fm_posterior_mean(z, data, tau).numpy(), atol=1e-10)


def test_flow_matching_time_inverts_the_snr():
    for tau in (0.1, 0.5, 0.95):
        t, scale = flow_matching_time(tau)
        a, v = math.exp(-t), -math.expm1(-2 * t) / 2
        assert a / math.sqrt(v) == pytest.approx(tau / (1 - tau), rel=1e-12)
        assert scale == pytest.approx(a / tau, rel=1e-12)
    with pytest.raises(ValueError, match="tau"):
        flow_matching_time(1.0)


def test_cfdm_last_euler_step_lands_on_the_smoothed_posterior_mean():
    taus = cfdm_times(10, 0.3)
    assert taus[0] == pytest.approx(0.3) and taus[-1] == pytest.approx(0.93)
    seen = []
    data = torch.randn(40, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    fm = flow_matching_denoiser(lambda x, t: posterior.posterior_mean(x, data, t))
    out = sample_cfdm_euler(fm, torch.zeros(5, 3, dtype=torch.float64), taus, 0.1, 4,
                            generator=torch.Generator().manual_seed(2), callback=seen.append)
    assert len(seen) == 10
    np.testing.assert_allclose(out.numpy(), seen[-1]["denoised"].numpy(), atol=1e-12)
    # the callback's t is the time of its x, as in the OU samplers: the next step's start, then tau = 1
    assert [info["t"] for info in seen] == [*map(float, taus[1:]), 1.0]
    assert torch.equal(seen[-1]["x"], out)


def test_cfdm_of_one_training_point_returns_it():
    y = np.array([[2.0, -1.0, 0.5]])
    X = np.vstack([y, y + 1e-9])  # two rows (the estimators need n >= 2), numerically one point
    S = SmoothedCFDM(bandwidth=0.3, n_steps=20, random_state=0).fit(X).sample(50)
    np.testing.assert_allclose(S, np.repeat(y, 50, axis=0), atol=1e-6)


def test_unsmoothed_closed_form_model_memorizes_and_smoothing_does_not():
    X = Sphere(2, 10, random_state=0).sample(300, random_state=1)
    data = torch.as_tensor(X)
    fm = flow_matching_denoiser(lambda x, t: posterior.posterior_mean(x, data, t))
    gen = torch.Generator().manual_seed(0)
    z0 = torch.randn(200, 10, generator=gen, dtype=torch.float64)
    plain = sample_cfdm_euler(fm, z0, cfdm_times(1000), 0.0, 1, generator=gen).numpy()
    assert np.mean(nearest_distances(plain, X) < 1e-4) >= 0.99
    model = SmoothedCFDM(bandwidth=0.3, n_steps=50, n_noise=8, random_state=0, standardize=False).fit(X)
    smooth = model.sample(200)
    assert np.mean(nearest_distances(smooth, X) < 1e-4) < 0.05
    # barycenters of points on the unit sphere lie inside the ball
    assert np.all(np.linalg.norm(smooth, axis=1) <= 1 + 1e-9)


def test_cfdm_start_time_draws_the_perturbed_mixture():
    X = np.array([[3.0, 0.0], [-3.0, 0.0]])
    model = SmoothedCFDM(bandwidth=0.1, n_steps=1, start_time=0.6, standardize=False, random_state=0).fit(X)
    starts = []
    model.sample(4000, callback=lambda info: starts.append(info["x"]) if info["i"] == 0 else None)
    # one Euler step of size 0.4 from tau0 = 0.6 lands on m(z); its law splits the two points evenly
    out = starts[0].numpy()
    assert abs(np.mean(out[:, 0] > 0) - 0.5) < 0.05
    # from N(0, I) (tau0 = 0) one step would land near the mean 0; from the mixture it lands on a point
    assert np.mean(np.abs(np.abs(out[:, 0]) - 3.0) < 1e-3) > 0.98


def test_ambient_kde_adds_isotropic_noise_of_the_bandwidth():
    X = np.array([[0.0] * 20, [100.0] + [0.0] * 19])
    model = AmbientKDE(bandwidth=0.01, random_state=0).fit(X)
    S = model.sample(20000)
    offsets = S - X[(S[:, 0] > 50).astype(int)]
    sigma_data = model.bandwidth_ * model.standardizer_.scale
    assert np.mean(offsets**2) / sigma_data**2 == pytest.approx(1.0, rel=0.03)
    assert abs(np.mean(S[:, 0] > 50) - 0.5) < 0.02


def test_ambient_kde_leaves_the_manifold_like_sqrt_D_while_cfdm_does_not():
    off = {}
    for D in (3, 300):
        sphere = Sphere(2, D, random_state=0)
        X = sphere.sample(400, random_state=1)
        kde = AmbientKDE(intrinsic_dim=2, random_state=0).fit(X)
        off[D] = sphere.distance(kde.sample(2000)).mean()
        cfdm = SmoothedCFDM(intrinsic_dim=2, n_steps=20, n_noise=4, random_state=0).fit(X)
        assert sphere.distance(cfdm.sample(100)).mean() < 0.25
    sigma = kde.bandwidth_ * kde.standardizer_.scale
    # the D - 3 directions off the sphere's R^3 carry |sigma xi| ~ sigma sqrt(D - 3); the radial part is small
    assert off[300] == pytest.approx(sigma * math.sqrt(300 - 3), rel=0.05)
    assert off[300] / off[3] > 10


@pytest.mark.parametrize("cls", [AmbientKDE, SmoothedCFDM])
def test_baseline_estimator_conventions(cls):
    X = Sphere(1, 5, random_state=0).sample(100, random_state=0)
    model = cls(random_state=3, **({"n_steps": 5} if cls is SmoothedCFDM else {}))
    with pytest.raises(NotFittedError):
        model.sample(3)
    a = model.fit(X).sample(10)
    b = clone(model).fit(X).sample(10)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (10, 5) and model.sample(0).shape == (0, 5)
    assert model.intrinsic_dim_ == pytest.approx(1.0, abs=0.3)
    with pytest.raises(ValueError, match="bandwidth"):
        clone(model).set_params(bandwidth=-1.0).fit(X)
    with pytest.raises(ValueError, match="NaN"):
        clone(model).fit(np.full((4, 5), np.nan))


def test_cfdm_rejects_bad_parameters():
    X = np.random.default_rng(0).standard_normal((20, 3))
    with pytest.raises(ValueError, match="start_time"):
        SmoothedCFDM(start_time=1.0).fit(X)
    with pytest.raises(ValueError, match="n_noise"):
        SmoothedCFDM(n_noise=0).fit(X)


def test_cfdm_sample_takes_the_shared_signature():
    """σ-CFDM's sample is DiffusionBase.sample with its own draw: a label is refused by name (it used to be a
    TypeError: unexpected keyword), the neglected mass of the exact backend is zeros, and the samples are the
    same with or without asking for it."""
    X = Sphere(2, 3, random_state=0).sample(60, random_state=1)
    model = SmoothedCFDM(bandwidth=0.3, n_steps=5, n_noise=2, random_state=0).fit(X)
    with pytest.raises(ValueError, match="fitted without labels"):
        model.sample(3, y=0)
    samples, mass = model.sample(7, random_state=3, return_neglected_mass=True)
    np.testing.assert_array_equal(samples, model.sample(7, random_state=3))
    assert mass.shape == (7,) and not mass.any()
    empty, none = model.sample(0, return_neglected_mass=True)
    assert empty.shape == (0, 3) and none.shape == (0,)
