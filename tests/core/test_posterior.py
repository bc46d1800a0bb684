import math

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import dense_log_density, dense_posterior_mean
from inertial_diffusion.core import posterior as post
from inertial_diffusion.evaluation.datasets import Sphere
from inertial_diffusion.core.posterior import Partial, combine, log_density, posterior_mean, posterior_partial, score
from inertial_diffusion.core.process import alpha, variance


def _random_data(n, dim, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, dim, generator=g, dtype=torch.float64)


@pytest.mark.parametrize("t", [1e-3, 0.05, 0.3, 1.0, 4.0])
def test_score_equals_autograd_gradient_of_log_density(t):
    data = _random_data(200, 7)
    x = (alpha(t) * data[:30] + math.sqrt(variance(t)) * _random_data(30, 7, seed=1)).requires_grad_(True)
    logp = dense_log_density(x, data, t)
    (grad,) = torch.autograd.grad(logp.sum(), x)
    ours = score(x.detach(), data, t, chunk_size=37)
    torch.testing.assert_close(ours, grad, rtol=1e-9, atol=1e-9 * grad.abs().max().item())
    # and the streamed log-density is the same function
    torch.testing.assert_close(log_density(x.detach(), data, t, chunk_size=37), logp.detach(), rtol=1e-12, atol=1e-9)


@settings(max_examples=60, deadline=None)
@given(x=st.lists(st.floats(-1e3, 1e3), min_size=3, max_size=3),
       t=st.floats(1e-10, 60.0), y=st.lists(st.floats(-1e3, 1e3), min_size=3, max_size=3))
def test_single_training_point_posterior_mean_is_that_point(x, t, y):
    data = torch.tensor([y], dtype=torch.float64)
    m = posterior_mean(torch.tensor([x], dtype=torch.float64), data, t)
    assert torch.equal(m, data)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=st.integers(1, 60), dim=st.integers(1, 6), m=st.integers(1, 9), chunk=st.integers(1, 70),
       log10_t=st.floats(-8, 1.7), seed=st.integers(0, 2**31 - 1), spread=st.sampled_from([1e-3, 1.0, 30.0]))
def test_streaming_equals_dense_and_is_never_nan(n, dim, m, chunk, log10_t, seed, spread):
    t = 10.0**log10_t
    data = spread * _random_data(n, dim, seed)
    x = alpha(t) * data[torch.randint(n, (m,))] + math.sqrt(variance(t)) * _random_data(m, dim, seed + 1)
    ours = posterior_mean(x, data, t, chunk_size=chunk)
    ref = dense_posterior_mean(x, data, t)
    assert torch.isfinite(ours).all()
    scale = data.norm(dim=1).max().item()
    assert (ours - ref).norm(dim=1).max().item() <= 1e-9 * max(scale, 1e-300) + 1e-12 * scale


def test_query_blocking_and_chunking_do_not_change_results():
    data = _random_data(1000, 5)
    x = _random_data(300, 5, seed=3)
    base = posterior_mean(x, data, 0.2, chunk_size=1000)
    for chunk, block in [(7, 10_000), (128, 2**12), (999, 2**30)]:
        other = posterior_mean(x, data, 0.2, chunk_size=chunk, max_memory=block)
        torch.testing.assert_close(other, base, rtol=1e-12, atol=1e-13)


def test_combine_is_associative_commutative_with_identity():
    data = _random_data(90, 4)
    x = _random_data(11, 4, seed=5)
    parts = [posterior_partial(x, data[i:i + 30], 0.1) for i in (0, 30, 60)]
    left = combine(combine(parts[0], parts[1]), parts[2])
    right = combine(parts[0], combine(parts[2], parts[1]))
    torch.testing.assert_close(left.mean(), right.mean(), rtol=1e-13, atol=0)
    torch.testing.assert_close(left.log_normalizer(), right.log_normalizer(), rtol=1e-13, atol=0)
    empty = Partial(torch.full((11,), -math.inf, dtype=torch.float64), torch.zeros(11, dtype=torch.float64),
                    torch.zeros(11, 4, dtype=torch.float64))
    same = combine(empty, left)
    torch.testing.assert_close(same.mean(), left.mean(), rtol=0, atol=0)
    assert torch.isfinite(combine(empty, empty).sumexp).all()


def test_small_t_limit_is_the_nearest_training_point():
    data = _random_data(50, 3)
    x = _random_data(20, 3, seed=9)
    t = 1e-9
    nearest = data[torch.cdist(x, alpha(t) * data).argmin(dim=1)]
    torch.testing.assert_close(posterior_mean(x, data, t), nearest, rtol=0, atol=1e-12)


def test_large_t_limit_is_the_data_mean():
    data = _random_data(50, 3)
    x = _random_data(20, 3, seed=9)
    torch.testing.assert_close(posterior_mean(x, data, 40.0), data.mean(0).expand(20, 3), rtol=0, atol=1e-14)


def _circle_and_queries(t, dim=3, n=4000, seed=0, radius=1.0):
    """Dense data (a circle) so that many points share the posterior even at small t."""
    circle = Sphere(intrinsic_dim=1, ambient_dim=dim, random_state=seed, radius=radius)
    data = torch.as_tensor(circle.sample(n, random_state=seed))
    g = torch.Generator().manual_seed(seed)
    x = alpha(t) * data[:256] + math.sqrt(variance(t)) * torch.randn(256, dim, generator=g, dtype=torch.float64)
    return x.float(), data.float()


@pytest.mark.parametrize("dim,radius", [(3, 1.0), (64, 1.0), (784, 1.0), (3, 30.0)])
@pytest.mark.parametrize("t", [1e-4, 1e-3, 1e-2, 0.1, 0.5, 2.0])
def test_float32_matches_float64_reference(t, dim, radius):
    x32, data32 = _circle_and_queries(t, dim, radius=radius)
    ref = dense_posterior_mean(x32.double(), data32.double(), t)
    ours = posterior_mean(x32, data32, t)
    assert ours.dtype == torch.float32
    err = (ours.double() - ref).norm(dim=1) / radius
    # every query within 1e-6 of the data scale
    assert err.max().item() <= 1e-6
    s32 = score(x32, data32, t)
    s_ref = (alpha(t) * ref - x32.double()) / variance(t)
    # relative to the batch's score scale (a single query's score may be ~0)
    assert (s32.double() - s_ref).norm(dim=1).max().item() <= 1e-6 * s_ref.norm(dim=1).max().item()


def test_float32_guard_is_what_keeps_the_small_t_regime(monkeypatch):
    t, radius = 1e-4, 30.0
    x32, data32 = _circle_and_queries(t, radius=radius)
    ref = dense_posterior_mean(x32.double(), data32.double(), t)
    monkeypatch.setattr(post, "_FLOAT32_LOGIT_ERROR_LIMIT", math.inf)  # never fall back
    unguarded = (posterior_mean(x32, data32, t).double() - ref).norm(dim=1).max().item() / radius
    assert unguarded > 1e-4  # the plain float32 |x|^2 - 2xy + |y|^2 formulation loses the small-t regime
    assert post.compute_dtype(torch.float32, t, 1.0, 1.0) == torch.float32
    monkeypatch.undo()
    assert post.compute_dtype(torch.float32, t, 1.0, 1.0) == torch.float64


def test_partial_of_empty_query_batch():
    data = _random_data(10, 3)
    part = posterior_partial(data[:0], data, 0.5)
    assert part.weighted.shape == (0, 3)
