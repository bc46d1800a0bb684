"""The moment-matched inertia step: x = m + sum_i sqrt(w_i) eps_i (y_i - m), against exact values."""

import math

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inertial_diffusion.backends.local import LocalBackend
from inertial_diffusion.core.inertia import inertia_step
from inertial_diffusion.core.noise import QUERY_TILE, ROW_TILE, KeyedNoise
from inertial_diffusion.core.posterior import Partial, combine, posterior_moment, posterior_partial
from inertial_diffusion.core.process import alpha, variance
from inertial_diffusion.evaluation.datasets import Sphere

CPU = torch.device("cpu")


def _data(n, dim, seed=0, dtype=torch.float64):
    return torch.randn(n, dim, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def _queries(data, t, m, seed=1):
    g = torch.Generator().manual_seed(seed)
    index = torch.randint(data.shape[0], (m,), generator=g)
    return alpha(t) * data[index] + math.sqrt(variance(t)) * torch.randn(m, data.shape[1], generator=g,
                                                                         dtype=data.dtype)


def dense_weights(x, data, t):
    a, v = alpha(t), variance(t)
    d2 = torch.cdist(x.double(), a * data.double(), compute_mode="donot_use_mm_for_euclid_dist") ** 2
    return torch.softmax(-d2 / (2 * v), dim=1)


def dense_moment(x, data, t, noise):
    """Reference: m + sum_i sqrt(w_i) eps_i (y_i - m), all n weights at once, the same keyed eps."""
    w = dense_weights(x, data, t)
    m = w @ data.double()
    eps = noise.block(torch.arange(x.shape[0]), 0, data.shape[0], torch.float64)
    return m, m + (w.sqrt() * eps) @ (data.double() - 0) - m * (w.sqrt() * eps).sum(1, keepdim=True)


# ------------------------------------------------------------------------------------------------ noise
def test_keyed_noise_is_standard_normal_and_independent_of_the_block():
    noise = KeyedNoise(2024)
    whole = noise.block(torch.arange(3 * QUERY_TILE + 5), 0, 3 * ROW_TILE + 17, torch.float64)
    pieces = torch.cat([torch.cat([noise.block(torch.arange(q0, min(q0 + 7, whole.shape[0])), r0,
                                               min(r0 + 100, whole.shape[1]), torch.float64)
                                   for r0 in range(0, whole.shape[1], 100)], dim=1)
                        for q0 in range(0, whole.shape[0], 7)])
    assert torch.equal(pieces, whole)
    flat = whole.flatten()
    assert abs(float(flat.mean())) < 4 / math.sqrt(flat.numel())
    assert abs(float(flat.var()) - 1) < 4 * math.sqrt(2 / flat.numel())
    # neighbouring tiles and keys are uncorrelated
    assert abs(float((whole[:QUERY_TILE, :ROW_TILE] * whole[QUERY_TILE:2 * QUERY_TILE, :ROW_TILE]).mean())) < 0.06
    other = KeyedNoise(2025).block(torch.arange(whole.shape[0]), 0, whole.shape[1], torch.float64)
    assert abs(float((whole * other).mean())) < 4 / math.sqrt(flat.numel())


def test_keyed_noise_from_generator_is_seeded():
    a = KeyedNoise.from_generator(torch.Generator().manual_seed(5))
    b = KeyedNoise.from_generator(torch.Generator().manual_seed(5))
    c = KeyedNoise.from_generator(torch.Generator().manual_seed(6))
    assert a == b and a != c


# ------------------------------------------------------------------------------------------------ exact values
@pytest.mark.parametrize("t", [1e-4, 0.01, 0.2, 3.0])
def test_moment_draw_equals_the_dense_formula(t):
    data = _data(700, 5)
    x = _queries(data, t, 70)
    noise = KeyedNoise(11)
    mean, draw, _ = posterior_moment(x, data, t, noise, chunk_size=97)
    ref_mean, ref_draw = dense_moment(x, data, t, noise)
    scale = float(data.norm(dim=1).max())
    assert (mean - ref_mean).abs().max() <= 1e-12 * scale
    assert (draw - ref_draw).abs().max() <= 1e-11 * scale


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=st.integers(1, 300), m=st.integers(1, 80), chunk=st.integers(1, 400),
       memory=st.sampled_from([2**12, 2**16, 2**26]), log10_t=st.floats(-6, 1), seed=st.integers(0, 1000))
def test_moment_draw_is_the_same_for_every_block_plan(n, m, chunk, memory, log10_t, seed):
    """Same key, same draws, whatever chunk_size and max_memory (the noise is keyed by query and row)."""
    t = 10.0**log10_t
    data = _data(n, 4, seed)
    x = _queries(data, t, m, seed + 1)
    noise = KeyedNoise(seed)
    base = posterior_moment(x, data, t, noise).draw
    other = posterior_moment(x, data, t, noise, chunk_size=chunk, max_memory=memory).draw
    assert torch.isfinite(other).all()
    assert (other - base).abs().max() <= 1e-11 * max(float(data.norm(dim=1).max()), 1e-300)


def test_single_training_point_draw_is_that_point():
    data = torch.tensor([[3.0, -1.0, 2.0]], dtype=torch.float64)
    x = _data(20, 3, seed=4) * 10
    for t in (1e-8, 0.3, 50.0):
        mean, draw, _ = posterior_moment(x, data, t, KeyedNoise(1))
        assert torch.equal(mean, data.expand(20, 3)) and torch.allclose(draw, data.expand(20, 3), atol=1e-14)


def test_conditional_mean_and_covariance_of_the_draw_are_the_posteriors():
    """For one z, draws over many keys have mean m_h(z) and covariance sum_i w_i (y_i - m)(y_i - m)^T."""
    data = _data(40, 3, seed=2)
    t = 0.4
    z = _queries(data, t, 1, seed=3)
    w = dense_weights(z, data, t)[0]
    m = w @ data
    cov = (w[:, None] * (data - m)).T @ (data - m)
    k = 6000
    draws = torch.cat([posterior_moment(z, data, t, KeyedNoise(key)).draw for key in range(k)])
    se = (cov.diagonal() / k).sqrt()
    assert ((draws.mean(0) - m).abs() <= 4.5 * se).all()
    emp = torch.cov(draws.T)
    # the sample covariance's entries have standard error ~ sqrt((C_ii C_jj + C_ij^2) / k)
    tol = 4.5 * ((cov.diagonal()[:, None] * cov.diagonal()[None] + cov**2) / k).sqrt()
    assert ((emp - cov).abs() <= tol).all()
    # and the draw is Gaussian along a direction: standardized, its fourth moment is 3
    u = (draws - m) @ torch.linalg.eigh(cov)[1][:, -1]
    kurt = float((u**4).mean() / (u**2).mean() ** 2)
    assert abs(kurt - 3) < 0.3


def test_float32_moment_draw_is_close_to_float64():
    data = torch.as_tensor(Sphere(2, 20, random_state=0).sample(500, random_state=1))
    noise = KeyedNoise(3)
    for t in (0.003, 0.05, 0.5):
        x = _queries(data, t, 100)
        d64 = posterior_moment(x, data, t, noise).draw
        d32 = posterior_moment(x.float(), data.float(), t, noise).draw
        assert d32.dtype == torch.float32
        assert (d32.double() - d64).abs().max() < 2e-4


def test_combine_merges_the_noise_accumulators_exactly():
    data = _data(300, 4)
    x = _queries(data, 0.1, 9)
    noise = KeyedNoise(7)
    left = posterior_partial(x, data[:120], 0.1, noise=noise)
    right = posterior_partial(x, data[120:], 0.1, noise=noise.shifted(120))
    whole = posterior_partial(x, data, 0.1, noise=noise)
    torch.testing.assert_close(combine(left, right).moment_draw(), whole.moment_draw(), rtol=0, atol=1e-12)
    torch.testing.assert_close(combine(right, left).moment_draw(), whole.moment_draw(), rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match="noise accumulators"):
        combine(left, posterior_partial(x, data[120:], 0.1))
    with pytest.raises(ValueError, match="no noise accumulators"):
        Partial(whole.max, whole.sumexp, whole.weighted).moment_draw()


# ------------------------------------------------------------------------------------------------ the step
def test_inertia_step_moment_is_free_of_the_ambient_dimension():
    """An isometric embedding into R^D maps the moment draws of R^3 onto the draws in R^D (same key)."""
    data3 = torch.as_tensor(Sphere(2, 3, random_state=0).sample(400, random_state=1))
    h = 0.05
    z3 = _queries(data3, h, 200)
    for dim in (10, 200):
        q, _ = torch.linalg.qr(_data(dim, 3, seed=dim))
        dataD = data3 @ q.T
        # z in R^D: the embedded z plus noise orthogonal to the data's span (it shifts every logit alike)
        extra = _data(200, dim, seed=9) * math.sqrt(variance(h))
        zD = z3 @ q.T + extra - (extra @ q) @ q.T
        step3 = inertia_step(LocalBackend(data3, CPU, 2**24), z3, h, "moment", torch.Generator().manual_seed(0))
        stepD = inertia_step(LocalBackend(dataD, CPU, 2**24), zD, h, "moment", torch.Generator().manual_seed(0))
        assert (stepD - step3 @ q.T).abs().max() < 1e-10


def test_moment_step_has_no_radial_bias_on_the_unit_sphere():
    """E|x|^2 = E sum_i w_i |y_i|^2 = 1 on a unit sphere, for every h; the posterior mean falls inside."""
    data = torch.as_tensor(Sphere(2, 3, random_state=0).sample(2000, random_state=1))
    backend = LocalBackend(data, CPU, 2**24)
    h = 0.25**2
    z = _queries(data, h, 8000)
    moment = inertia_step(backend, z, h, "moment", torch.Generator().manual_seed(1))
    mean = inertia_step(backend, z, h, "posterior_mean")
    sq = (moment**2).sum(1)
    assert abs(float(sq.mean()) - 1) < 4 * float(sq.std()) / math.sqrt(sq.numel())
    assert float((mean**2).sum(1).mean()) < 0.9


def test_moment_step_keeps_the_data_covariance_for_every_bandwidth():
    """Law of total covariance: Cov(x) = Cov(m_h(z)) + E Cov_h(y | z) = Cov(y), even where the mean collapses."""
    g = torch.Generator().manual_seed(0)
    data = torch.randn(300, 2, generator=g, dtype=torch.float64) @ torch.tensor([[2.0, 0.0], [1.0, 0.5]],
                                                                              dtype=torch.float64)
    data -= data.mean(0)
    target = (data.T @ data) / data.shape[0]  # the empirical law's covariance (1/n)
    backend = LocalBackend(data, CPU, 2**24)
    k = 20000
    for h in (0.01, 0.5, 4.0):
        z = _queries(data, h, k, seed=int(h * 100))
        x = inertia_step(backend, z, h, "moment", torch.Generator().manual_seed(2))
        emp = torch.cov(x.T, correction=0)
        tol = 5 * ((target.diagonal()[:, None] * target.diagonal()[None] + target**2) * 3 / k).sqrt()
        assert ((emp - target).abs() <= tol).all(), (h, emp, target)
        assert (x.mean(0).abs() <= 5 * (target.diagonal() / k).sqrt()).all()
    collapsed = inertia_step(backend, _queries(data, 4.0, k), 4.0, "posterior_mean")
    assert float(torch.cov(collapsed.T).trace()) < 0.1 * float(target.trace())


def test_moment_step_of_an_isolated_point_stays_near_it():
    """A point far from the rest: its posterior is a point mass, the draw is (a hair from) the point itself."""
    data = torch.cat([_data(100, 2), torch.tensor([[40.0, 40.0]], dtype=torch.float64)])
    z = alpha(0.01) * data[-1:].expand(50, 2) + 0.1 * _data(50, 2, seed=3)
    x = inertia_step(LocalBackend(data, CPU, 2**24), z, 0.01, "moment", torch.Generator().manual_seed(0))
    assert (x - data[-1]).norm(dim=1).max() < 1e-8


# ------------------------------------------------------------------------------------------------ the row choice
def test_chosen_row_is_a_draw_of_the_posterior():
    """Gumbel-max on the keyed noise: P(choice = i) = w_i, for one z over many keys."""
    data = _data(12, 3, seed=5)
    t = 0.3
    z = _queries(data, t, 1, seed=6)
    w = dense_weights(z, data, t)[0]
    k = 20000
    zs = z.expand(k, 3).contiguous()  # k queries of one z: k independent keyed noise rows
    choice = posterior_moment(zs, data, t, KeyedNoise(1, choose=True)).choice
    freq = torch.bincount(choice, minlength=12).double() / k
    assert ((freq - w).abs() <= 4.5 * (w * (1 - w) / k).sqrt() + 1e-4).all(), (freq, w)


def test_chosen_row_is_the_same_for_every_block_plan_and_combines():
    data = _data(900, 4, seed=1)
    t = 0.05
    x = _queries(data, t, 60)
    noise = KeyedNoise(9, choose=True)
    base = posterior_moment(x, data, t, noise).choice
    assert torch.equal(posterior_moment(x, data, t, noise, chunk_size=33, max_memory=2**14).choice, base)
    halves = combine(posterior_partial(x, data[:400], t, noise=noise),
                     posterior_partial(x, data[400:], t, noise=noise.shifted(400)))
    assert torch.equal(halves.choice, base)
    assert torch.equal(posterior_moment(x.float(), data.float(), t, noise).choice, base)  # float32 too


def test_discrete_coordinates_take_one_posterior_row():
    """A table's codes (here: the last two coordinates, a one-hot pair) come from one real row, jointly."""
    g = torch.Generator().manual_seed(0)
    cont = torch.randn(500, 2, generator=g, dtype=torch.float64)
    code = (cont[:, :1] > 0).double()
    data = torch.cat([cont, code, 1 - code], dim=1)
    discrete = torch.tensor([False, False, True, True])
    backend = LocalBackend(data, CPU, 2**24)
    h = 0.3
    z = _queries(data, h, 4000)
    for form in ("posterior_mean", "moment", "paper"):
        x = inertia_step(backend, z, h, form, torch.Generator().manual_seed(1), discrete=discrete)
        codes = x[:, 2:]
        assert set(codes.sum(1).tolist()) == {1.0} and set(codes.flatten().tolist()) <= {0.0, 1.0}
        plain = inertia_step(backend, z, h, form, torch.Generator().manual_seed(1))
        assert torch.equal(x[:, :2], plain[:, :2])
    # the code's frequency is the data's (the chosen row is a posterior draw of a one-shot z)
    share = float(x[:, 2].mean())
    assert abs(share - float(code.mean())) < 4 * math.sqrt(0.25 / 4000) + 0.02
