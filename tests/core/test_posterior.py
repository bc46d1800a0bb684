import math

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import dense_log_density, dense_posterior_mean
from inertial_diffusion.core import posterior as post
from inertial_diffusion.core import precision
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
    # relative to the batch's score scale (a single query's score may be ~0). 2e-6: the score magnifies the mean's
    # error by alpha/v; measured up to 0.97e-6 (t = 0.01, D = 3) with MKL's generic kernels (MKL_CBWR=COMPATIBLE)
    # and over query seeds, 0.86e-6 here: a bound of 1e-6 could fail on another CPU's kernels
    assert (s32.double() - s_ref).norm(dim=1).max().item() <= 2e-6 * s_ref.norm(dim=1).max().item()


def test_float32_guard_is_what_keeps_the_small_t_regime(monkeypatch):
    t, radius = 1e-4, 30.0
    x32, data32 = _circle_and_queries(t, radius=radius)
    ref = dense_posterior_mean(x32.double(), data32.double(), t)
    monkeypatch.setattr(precision, "_FLOAT32_LOGIT_ERROR_LIMIT", math.inf)  # never fall back
    unguarded = (posterior_mean(x32, data32, t).double() - ref).norm(dim=1).max().item() / radius
    assert unguarded > 1e-4  # the plain float32 |x|^2 - 2xy + |y|^2 formulation loses the small-t regime
    assert post.compute_dtype(torch.float32, t, 1.0, 1.0) == torch.float32
    monkeypatch.undo()
    assert post.compute_dtype(torch.float32, t, 1.0, 1.0) == torch.float64


def test_partial_of_empty_query_batch():
    data = _random_data(10, 3)
    part = posterior_partial(data[:0], data, 0.5)
    assert part.weighted.shape == (0, 3)


# ------------------------------------------------- resolution cutoff and sparse weights (issue 12, item 1)

def _state(q, dim, dtype, max_=None):
    state = post.empty_partial(q, dim, torch.empty(0, dtype=dtype))
    if max_ is not None:  # a running state as left by earlier chunks
        g = torch.Generator().manual_seed(4)
        state.max.copy_(max_)
        state.sumexp.copy_(1 + torch.rand(q, generator=g, dtype=dtype))
        state.weighted.copy_(torch.randn(q, dim, generator=g, dtype=dtype))
    return state


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_weights_below_the_cutoff_are_exactly_zero_never_subnormal(dtype):
    # base-2 logits spread over 3000 bits: most weights underflow; the old clamp left them at 2^-126 / 2^-1022
    g = torch.Generator().manual_seed(0)
    logits = -3000 * torch.rand(64, 300, generator=g, dtype=torch.float64).to(dtype)
    logits[:, 0] = 0.0
    y = torch.randn(300, 5, generator=g, dtype=dtype)
    y[:, 0] = 0.0  # this coordinate of the accumulator is the old state's alone: scaled, not covered by the chunk
    # a state so far below that its rescale factor 2^(old - new) would be subnormal: dropped to exactly 0
    below = -140.0 if dtype == torch.float32 else -1050.0
    state = _state(64, 5, dtype, max_=torch.full((64,), below, dtype=dtype))
    expected = logits.double().clone()
    cutoff = precision.cutoff_bits(dtype, 300)
    post.absorb_(state, logits, y, torch.empty(64, 5, dtype=dtype), cutoff, sparse=False)
    weights = logits  # absorb_ leaves the chunk's weights in the logits buffer
    tiny = torch.finfo(dtype).tiny
    assert not ((weights > 0) & (weights < tiny)).any()
    assert torch.equal(weights == 0, expected < -cutoff)
    assert not ((state.weighted != 0) & (state.weighted.abs() < tiny)).any()
    # the state below the cutoff was dropped entirely: sum = the chunk's own weights
    torch.testing.assert_close(state.sumexp.double(), torch.exp2(expected).sum(dim=1), rtol=1e-6, atol=0)


def test_sparse_absorb_equals_dense_absorb():
    g = torch.Generator().manual_seed(1)
    q, b, dim = 40, 64, 7
    y = torch.randn(b, dim, generator=g, dtype=torch.float64)
    start = 100 * torch.randn(q, generator=g, dtype=torch.float64)
    for step in range(4):  # a few chunks: some rows gain a new maximum, some get a few weights, most none
        logits = start[:, None] - 40 - 500 * torch.rand(q, b, generator=g, dtype=torch.float64)
        lift = torch.randperm(q, generator=g)[:6]
        logits[lift, torch.randint(b, (6,), generator=g)] = start[lift] + 30 * torch.randn(6, generator=g,
                                                                                          dtype=torch.float64)
        if step == 0:
            dense, sparse = _state(q, dim, torch.float64, start), _state(q, dim, torch.float64, start)
        post.absorb_(dense, logits.clone(), y, torch.empty(q, dim, dtype=torch.float64), 80.0, sparse=False)
        post.absorb_(sparse, logits.clone(), y, torch.empty(q, dim, dtype=torch.float64), 80.0, sparse=True)
    for field in ("max", "sumexp", "weighted"):
        torch.testing.assert_close(getattr(sparse, field), getattr(dense, field), rtol=1e-13, atol=0)


def _gaussian_peaked(n=3000, dim=784, m=64, t=0.09, seed=0):
    """Unstandardized Gaussian data in R^784 at a bandwidth far below the spacing: one point per query."""
    g = torch.Generator().manual_seed(seed)
    data = torch.randn(n, dim, generator=g, dtype=torch.float64).float()
    src = torch.randint(n, (m,), generator=g)
    x = alpha(t) * data[src].double() + math.sqrt(variance(t)) * torch.randn(m, dim, generator=g, dtype=torch.float64)
    return x.float(), data


def test_peaked_float64_posterior_is_exact_with_sparse_products():
    x, data = _gaussian_peaked()
    x, data = x.double(), data.double()
    ref = dense_posterior_mean(x, data, 0.09)
    ours = posterior_mean(x, data, 0.09)
    scale = data.norm(dim=1).max().item()
    assert (ours - ref).norm(dim=1).max().item() <= 1e-12 * scale


# --------------------------------------------- certified float32 past the a-priori guard (issue 12, item 2)

def _count_redone(monkeypatch):
    redone = []
    original = post._Plan.run

    def run(self, xq, data, t, *args, **kwargs):
        if self.work == torch.float64:
            redone.append(xq.shape[0])
        return original(self, xq, data, t, *args, **kwargs)

    monkeypatch.setattr(post._Plan, "run", run)
    return redone


def test_peaked_float32_stays_float32_and_meets_the_contract(monkeypatch):
    t = 0.09
    x, data = _gaussian_peaked(t=t)
    assert post.compute_dtype(torch.float32, t, x.norm(dim=1).max().item(), data.norm(dim=1).max().item()) \
        == torch.float64  # the a-priori guard alone would compute all of it in float64
    redone = _count_redone(monkeypatch)
    ours = posterior_mean(x, data, t)
    ref = dense_posterior_mean(x.double(), data.double(), t)
    assert ours.dtype == torch.float32
    scale = data.double().norm(dim=1).max().item()
    assert (ours.double() - ref).norm(dim=1).max().item() <= 1e-6 * scale
    assert sum(redone) == 0  # every row certified in float32


def test_uncertified_rows_are_redone_in_float64(monkeypatch):
    t = 0.09
    x, data = _gaussian_peaked(t=t)
    # queries between two data points: two weights of the same order, the logit error matters -> float64
    g = torch.Generator().manual_seed(3)
    i, j = torch.randint(data.shape[0], (2, 8), generator=g)
    mid = alpha(t) * 0.5 * (data[i].double() + data[j].double())
    x = torch.cat([x, mid.float()])
    redone = _count_redone(monkeypatch)
    ours = posterior_mean(x, data, t, max_memory=8 * 2**20)  # several query blocks
    ref = dense_posterior_mean(x.double(), data.double(), t)
    scale = data.double().norm(dim=1).max().item()
    assert (ours.double() - ref).norm(dim=1).max().item() <= 1e-6 * scale
    assert 8 <= sum(redone) < x.shape[0]  # the midpoints, not the peaked rows
    s32 = score(x, data, t)
    s_ref = (alpha(t) * ref - x.double()) / variance(t)
    assert (s32.double() - s_ref).norm(dim=1).max().item() <= 1e-6 * s_ref.norm(dim=1).max().item()


def test_certificate_bound_dominates_the_measured_error():
    # rows certified at a looser tolerance: their measured error must stay under the bound they were given
    t = 0.01
    x, data = _circle_and_queries(t, dim=64, n=2000, radius=30.0)
    y_max = data.double().norm(dim=1).max().item()
    err = precision.logit_error_bound(t, x.double().norm(dim=1), y_max)
    assert err.max().item() > 1e-3  # past the a-priori guard
    part = post.posterior_partial(x, data, t, chunk_size=256)  # float64 reference partial
    ref = part.mean()
    p32 = post._Plan(torch.float32, data, x, t, 0.5 * (data.double() ** 2).sum(dim=1), 256, None,
                     cutoff_slack=2 * err.max().item() / math.log(2), sum_dtype=torch.float64).run(x, data, t)
    s = p32.sumexp.double()
    rest = (s - 1).clamp(min=0) * (1 + 2.0**-16) + 2000 * 2.0**-52 * s
    bound = 2 * err * torch.exp(2 * err) * rest * 2 * y_max
    measured = (p32.mean() - ref).norm(dim=1)
    fp32_rounding = 1e-6 * y_max  # the float32 sums' own rounding, outside the logit-error bound
    assert (measured <= bound + fp32_rounding).all()
    assert (bound > fp32_rounding).any()  # the bound is not vacuous here


def test_rows_within_the_guard_stay_float32_when_one_far_query_fails_it(monkeypatch):
    t = 0.05
    x, data = _circle_and_queries(t, dim=3, n=2000)
    far = torch.tensor([[100.0, 0.0, 0.0]])  # alone it pushes the batch's a-priori bound past the guard
    x = torch.cat([x, far])
    assert post.compute_dtype(torch.float32, t, 100.0, 1.0) == torch.float64
    redone = _count_redone(monkeypatch)
    ours = posterior_mean(x, data, t)
    ref = dense_posterior_mean(x.double(), data.double(), t)
    assert (ours.double() - ref).norm(dim=1).max().item() <= 1e-6
    assert sum(redone) <= 1  # at most the far query


def test_bf16_precision_is_refused_with_a_clear_error():
    data = _random_data(20, 3)
    for fn in (posterior_mean, score, log_density, posterior_partial):
        with pytest.raises(ValueError, match="bf16"):
            fn(data[:2], data, 0.1, precision="bf16")
        with pytest.raises(ValueError, match="precision"):
            fn(data[:2], data, 0.1, precision="fast")
    torch.testing.assert_close(posterior_mean(data[:2], data, 0.1, precision="exact"),
                               posterior_mean(data[:2], data, 0.1))
    assert isinstance(post.bf16_supported(), bool)


def test_one_point_posteriors_certify_even_when_the_logit_error_is_nats(monkeypatch):
    t = 1e-4
    x, data = _gaussian_peaked(t=t)
    error = precision.logit_error_bound(t, x.double().norm(dim=1), data.double().norm(dim=1).max().item())
    assert error.min().item() > 5.0  # float32 logits off by several nats: only the count of weights saves them
    redone = _count_redone(monkeypatch)
    ours = posterior_mean(x, data, t)
    ref = dense_posterior_mean(x.double(), data.double(), t)
    assert (ours.double() - ref).norm(dim=1).max().item() <= 1e-6 * data.double().norm(dim=1).max().item()
    assert sum(redone) == 0


def test_a_batch_of_spread_posteriors_goes_to_float64_after_the_probe(monkeypatch):
    t = 0.09
    _, data = _gaussian_peaked(t=t)
    g = torch.Generator().manual_seed(5)
    i, j = torch.randint(data.shape[0], (2, 150), generator=g)
    x = (alpha(t) * 0.5 * (data[i].double() + data[j].double())).float()  # two points share each posterior
    rows32 = []
    original = post._Plan.run

    def run(self, xq, d, tt, *args, **kwargs):
        if self.work == torch.float32:
            rows32.append(xq.shape[0])
        return original(self, xq, d, tt, *args, **kwargs)

    monkeypatch.setattr(post._Plan, "run", run)
    ours = posterior_mean(x, data, t)
    ref = dense_posterior_mean(x.double(), data.double(), t)
    assert (ours.double() - ref).norm(dim=1).max().item() <= 1e-6 * data.double().norm(dim=1).max().item()
    assert sum(rows32) == post.PROBE_ROWS  # only the probe ran in float32


def _sphere_and_queries(t, d=8, dim=256, n=4000, m=256, seed=0):
    """S^d embedded isometrically in R^dim, standardized: few competing neighbours per posterior."""
    X = torch.as_tensor(Sphere(intrinsic_dim=d, ambient_dim=dim, random_state=seed).sample(n, random_state=seed))
    X = X - X.mean(dim=0)
    data = (X / X.pow(2).sum(dim=1).mean().sqrt()).float()
    g = torch.Generator().manual_seed(seed + 1)
    src = torch.randint(n, (m,), generator=g)
    x = alpha(t) * data[src].double() + math.sqrt(variance(t)) * torch.randn(m, dim, generator=g, dtype=torch.float64)
    return x.float(), data


@pytest.mark.parametrize("t", [0.005, 0.02, 0.03, 0.1])
def test_float32_mean_on_a_manifold_stays_within_what_the_guard_proves(t):
    """The documented float32 contract: the a-priori guard keeps every logit error E <= 2e-5, and the mean then
    moves by at most E e^{2E} times the posterior's spread <= max|y| (Cauchy-Schwarz), plus the float32 sums'
    own rounding. On this non-peaked manifold posterior the error does exceed 1e-6 of the data scale (2.7e-6 at
    t = 0.03, measured), which is why 1e-6 is promised only for float64 and for peaked float32 rows."""
    x, data = _sphere_and_queries(t)
    ref = dense_posterior_mean(x.double(), data.double(), t)
    error = (posterior_mean(x, data, t).double() - ref).norm(dim=1).max().item()
    y_max = data.double().norm(dim=1).max().item()
    limit = 2e-5  # the documented guard (precision._FLOAT32_LOGIT_ERROR_LIMIT)
    assert error <= limit * math.exp(2 * limit) * y_max + 1e-6  # + the float32 sums' rounding (~1e-7 measured)
    a_priori = torch.finfo(torch.float32).eps * alpha(t) * max(x.double().norm(dim=1).max().item(), 1.0) \
        * max(y_max, 1.0) / variance(t)
    if a_priori > limit:  # past the guard: peaked rows certified to 2.5e-7, the rest in float64
        assert error <= 1e-6  # 2.3e-6 at t = 0.005 without the guard
