"""inertia="moment" through the estimators: seeds, block plans, the data's covariance, the law, every consumer."""

import math
import warnings

import numpy as np
import pytest
import torch

from inertial_diffusion import InertialDiffusion
from inertial_diffusion.core.process import alpha, variance
from inertial_diffusion.evaluation.datasets import Sphere
from inertial_diffusion.evaluation.metrics import energy_test


@pytest.fixture(scope="module")
def gaussian2d():
    rng = np.random.default_rng(0)
    return rng.standard_normal((400, 2)) @ np.array([[3.0, 0.0], [1.0, 0.5]]) + [5.0, -2.0]


@pytest.mark.parametrize("sampler", ["one_shot", "sde"])
def test_same_seed_same_samples_for_every_block_plan(gaussian2d, sampler):
    kw = dict(inertia="moment", bandwidth=0.3, sampler=sampler, n_steps=10, random_state=3)
    base = InertialDiffusion(**kw).fit(gaussian2d).sample(300)
    for extra in (dict(chunk_size=7), dict(max_memory=2**14), dict(chunk_size=1000, max_memory=2**30)):
        other = InertialDiffusion(**kw, **extra).fit(gaussian2d).sample(300)
        assert np.abs(other - base).max() <= 1e-10 * np.abs(base).max()
    assert not np.array_equal(InertialDiffusion(**{**kw, "random_state": 4}).fit(gaussian2d).sample(300), base)


@pytest.mark.parametrize("bandwidth", [0.05, 0.5, 2.0])
def test_samples_keep_the_data_mean_and_covariance(gaussian2d, bandwidth):
    """Law of total covariance, in data units: the moment step keeps Cov(X); the posterior mean shrinks it."""
    k = 20000
    n = gaussian2d.shape[0]
    mean, cov = gaussian2d.mean(0), np.cov(gaussian2d.T, bias=True)  # the empirical law's moments
    S = InertialDiffusion(inertia="moment", bandwidth=bandwidth, random_state=0).fit(gaussian2d).sample(k)
    # the one-shot index I adds its own sampling error (k draws of n rows): a conservative 5-sigma band
    se_mean = np.sqrt(np.diag(cov) / k)
    assert np.all(np.abs(S.mean(0) - mean) <= 5 * se_mean)
    se_cov = np.sqrt((np.outer(np.diag(cov), np.diag(cov)) + cov**2) * 3 / k)
    assert np.all(np.abs(np.cov(S.T, bias=True) - cov) <= 5 * se_cov), (np.cov(S.T), cov)
    shrunk = InertialDiffusion(bandwidth=bandwidth, random_state=0).fit(gaussian2d).sample(k)
    if bandwidth >= 0.5:
        assert np.trace(np.cov(shrunk.T)) < 0.9 * np.trace(cov)
    assert n == 400


def test_law_equals_a_dense_reference():
    """Energy test of the estimator's samples against an independent dense implementation of the same law."""
    data = Sphere(2, 6, random_state=0).sample(300, random_state=1)
    model = InertialDiffusion(inertia="moment", bandwidth=0.35, random_state=0).fit(data)
    ours = model.sample(600)
    Z = torch.as_tensor(model.standardizer_.transform(data))
    h = model.h_
    g = torch.Generator().manual_seed(123)
    z = alpha(h) * Z[torch.randint(300, (600,), generator=g)] + math.sqrt(variance(h)) * torch.randn(
        600, 6, generator=g, dtype=torch.float64)
    d2 = torch.cdist(z, alpha(h) * Z) ** 2
    w = torch.softmax(-d2 / (2 * variance(h)), dim=1)
    m = w @ Z
    eps = torch.randn(w.shape, generator=g, dtype=torch.float64)
    ref = m + (w.sqrt() * eps) @ Z - m * (w.sqrt() * eps).sum(1, keepdim=True)
    ref = model.standardizer_.inverse_transform(ref.numpy())
    assert energy_test(ours, ref, n_permutations=300, random_state=0).pvalue > 0.01
    # the test has power: the posterior-mean step's law is told apart
    mean_step = InertialDiffusion(bandwidth=0.35, random_state=0).fit(data).sample(600)
    assert energy_test(mean_step, ref, n_permutations=300, random_state=0).pvalue < 0.01


def test_every_consumer_takes_the_moment_step(gaussian2d):
    y = np.repeat(["a", "b"], 200)
    model = InertialDiffusion(inertia="moment", random_state=0).fit(gaussian2d, y)
    assert all(m.inertia == "moment" for m in model.class_models_.values())
    assert model.sample(10, y="b").shape == (10, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        X = np.vstack([gaussian2d[:100], [[60.0, 60.0]]])
        iso = InertialDiffusion(inertia="moment", bandwidth=0.05, random_state=0).fit(X)
    S = iso.sample(400, exclude_copies=True)
    assert (np.linalg.norm(S[:, None] - X[None], axis=2).min(axis=1) > 1e-6 * iso.scale_).all()


def test_max_dup_rate_search_keeps_the_variance_with_the_moment_step():
    """The novelty target without collapse: variance kept is recorded, near 1 for the moment step."""
    X = Sphere(2, 3, random_state=0).sample(800, random_state=1)
    kw = dict(bandwidth="auto", max_dup_rate=0.05, intrinsic_dim=2, random_state=0)
    moment = InertialDiffusion(inertia="moment", **kw).fit(X).bandwidth_search_
    mean = InertialDiffusion(**kw).fit(X).bandwidth_search_
    assert moment.inertia == "moment" and moment.dup_rate <= 0.05
    assert moment.variance_kept.shape == moment.scales.shape
    assert abs(moment.variance_kept_at_best - 1) < 0.05
    assert mean.variance_kept_at_best < moment.variance_kept_at_best
    assert "var kept" in str(moment)
