"""The posterior contract: every backend's mean, score and log-density agree with each other and with a
dense float64 reference, and the estimators route every query method through the one backend."""

import math

import numpy as np
import pytest
import torch

from inertial_diffusion import EmpiricalDiffusion, InertialDiffusion
from inertial_diffusion.backends.local import LocalBackend
from inertial_diffusion.core.process import alpha, variance
from inertial_diffusion.evaluation.datasets import Sphere

Y = torch.as_tensor(Sphere(2, 6, random_state=0).sample(300, random_state=1))


def dense_log_density(x: torch.Tensor, data: torch.Tensor, t: float) -> torch.Tensor:
    """log p̂_t(x) = log mean_i N(x; alpha_t y_i, v_t I), written out densely in float64."""
    a, v = alpha(t), variance(t)
    d2 = ((x[:, None, :] - a * data[None]) ** 2).sum(-1)
    n, dim = data.shape
    return torch.logsumexp(-d2 / (2 * v), dim=1) - math.log(n) - 0.5 * dim * math.log(2 * math.pi * v)


def backends():
    yield "local-float64", LocalBackend(Y, torch.device("cpu"), max_memory=2**20, chunk_size=64)
    yield "local-float32", LocalBackend(Y.float(), torch.device("cpu"), max_memory=2**20, chunk_size=64)


@pytest.mark.parametrize("name,backend", list(backends()), ids=lambda v: v if isinstance(v, str) else "")
@pytest.mark.parametrize("t", [0.02, 0.3, 2.0])
def test_mean_score_and_log_density_match_autograd_of_the_dense_log_density(name, backend, t):
    x = (alpha(t) * Y[:40] + math.sqrt(variance(t)) * torch.randn(40, 6, generator=torch.Generator().manual_seed(0),
                                                                      dtype=torch.float64))
    xr = x.clone().requires_grad_(True)
    logp = dense_log_density(xr, Y, t)
    (grad,) = torch.autograd.grad(logp.sum(), xr)
    tol = 1e-10 if backend.dtype == torch.float64 else 2e-5
    xq = x.to(backend.dtype)
    score = backend.score(xq, t).double()
    mean = backend.mean(xq, t).double()
    np.testing.assert_allclose(backend.log_density(xq, t).numpy(), logp.detach().numpy(), rtol=1e-9, atol=tol)
    np.testing.assert_allclose(score.numpy(), grad.numpy(), rtol=tol, atol=tol / variance(t))
    # Tweedie: the score is (alpha m - x)/v with m the backend's own mean
    np.testing.assert_allclose(score.numpy(), ((alpha(t) * mean - xq.double()) / variance(t)).numpy(),
                               atol=10 * tol / variance(t))
    assert torch.equal(backend.neglected_mass(xq, t), torch.zeros(40, dtype=torch.float64))


def test_estimator_query_methods_go_through_the_backend(monkeypatch):
    """posterior_mean, score_function, log_density and sample all call the fitted backend (no side path)."""
    X = Y.numpy() * 3.0 + 1.0
    model = InertialDiffusion(bandwidth=0.3, random_state=0).fit(X)
    calls = []
    for name in ("mean", "score", "partial"):
        original = getattr(model.backend_, name)

        def spy(*args, _name=name, _original=original, **kwargs):
            calls.append(_name)
            return _original(*args, **kwargs)
        monkeypatch.setattr(model.backend_, name, spy)
    model.posterior_mean(X[:3], 0.1), model.score_function(X[:3], 0.1), model.log_density(X[:3], 0.1)
    model.sample(4)
    assert calls == ["mean", "score", "partial", "mean"]


@pytest.mark.parametrize("standardize", ["global", "per_feature", "none"])
def test_data_unit_score_is_the_gradient_of_the_data_unit_log_density(standardize):
    X = Y.numpy() * np.array([1.0, 3.0, 0.5, 10.0, 2.0, 1.0]) + 4.0
    model = InertialDiffusion(bandwidth=0.3, standardize=standardize).fit(X)
    x, t, eps = X[:4] + 0.05, 0.2, 1e-6
    num = np.stack([(model.log_density(x + eps * e, t) - model.log_density(x - eps * e, t)) / (2 * eps)
                    for e in np.eye(6)], axis=1)
    np.testing.assert_allclose(model.score_function(x, t), num, rtol=1e-5, atol=1e-6)
    # a density in data units integrates to one: the standardized density minus log|det| of the map
    a = model.log_density(X[:4], t) + model.standardizer_.log_abs_det(6)
    z = torch.as_tensor(model.standardizer_.transform(X[:4]))
    np.testing.assert_allclose(a, model.backend_.log_density(z, t).numpy(), rtol=1e-12)


def test_empirical_model_uses_the_same_contract():
    model = EmpiricalDiffusion(random_state=0).fit(Y.numpy())
    S = model.sample(50)
    d = np.abs(S[:, None, :] - Y.numpy()[None]).max(axis=2).min(axis=1)
    assert d.max() < 1e-6


def test_pruned_backend_keeps_the_contract_within_its_certified_bound():
    """Pruned mean/score/log-density agree with each other exactly and with the exact backend within the
    certified neglected share (times the data's diameter for the mean)."""
    from inertial_diffusion.backends.pruned import PrunedBackend

    data = torch.as_tensor(Sphere(2, 16, random_state=0).sample(1500, random_state=1))
    exact = LocalBackend(data, torch.device("cpu"), max_memory=2**24)
    pruned = PrunedBackend(data, torch.device("cpu"), max_memory=2**24, tol=1e-6, random_state=0, n_clusters=40)
    t = 0.01
    noise = torch.randn(150, 16, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    x = alpha(t) * data[:150] + math.sqrt(variance(t)) * noise
    bound = pruned.neglected_mass(x, t)
    assert bound.max() <= 1e-6 and bool((bound > 0).any())  # something was skipped, and certified
    diameter = 2 * float(data.norm(dim=1).max())
    err = (pruned.mean(x, t) - exact.mean(x, t)).norm(dim=1)
    assert bool((err <= 2 * bound * diameter + 1e-12).all())
    m = pruned.mean(x, t)
    np.testing.assert_allclose(pruned.score(x, t).numpy(), ((alpha(t) * m - x) / variance(t)).numpy(), atol=1e-9)
    assert float((pruned.log_density(x, t) - exact.log_density(x, t)).abs().max()) <= 2e-6


def test_prune_tol_in_the_estimator_reports_its_bound():
    X = Sphere(2, 16, random_state=0).sample(1500, random_state=1)
    exact = InertialDiffusion(intrinsic_dim=2, random_state=0).fit(X)
    pruned = InertialDiffusion(intrinsic_dim=2, random_state=0, prune_tol=1e-6).fit(X)
    S, mass = pruned.sample(200, return_neglected_mass=True)
    assert mass.shape == (200,) and mass.max() <= 1e-6
    assert np.abs(S - exact.sample(200)).max() <= 1e-5 * exact.scale_  # same draws, means within the bound
    assert np.array_equal(exact.sample(5, return_neglected_mass=True)[1], np.zeros(5))


@pytest.mark.parametrize("name,backend", list(backends()), ids=lambda v: v if isinstance(v, str) else "")
def test_log_normalizer_query_is_the_partials(name, backend):
    """The log-sum-exp alone (the isolated-point count's query) is the full partial's, with half the work."""
    x = (alpha(0.1) * Y[:30] + 0.2).to(backend.dtype)
    full = backend.partial(x, 0.1).log_normalizer()
    np.testing.assert_allclose(backend.log_normalizer(x, 0.1).numpy(), full.numpy(),
                               rtol=0, atol=1e-12 if backend.dtype == torch.float64 else 1e-4)
