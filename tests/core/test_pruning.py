import dataclasses
import math

import numpy as np
import pytest
import torch

from inertial_diffusion.core.posterior import combine, posterior_partial
from inertial_diffusion.core.process import alpha, variance
from inertial_diffusion.core.pruning import (build_cluster_index, cluster_index_from_labels, pruned_posterior_mean,
                                             pruned_posterior_partial, pruned_reduction)
from inertial_diffusion.evaluation.datasets import Sphere


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    # these tests run many tiny GEMMs, which a second OpenMP thread only slows down on a shared machine
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _standardized(X: np.ndarray, dtype=torch.float64) -> torch.Tensor:
    X = X - X.mean(axis=0)
    return torch.as_tensor(X / np.sqrt(np.mean(np.sum(X**2, axis=1))), dtype=dtype)


def _dataset(name: str) -> torch.Tensor:
    rng = np.random.default_rng(7)
    if name == "noisy_sphere":  # S^2 in R^32 with ambient noise: spread off every cluster's principal span
        X = Sphere(2, 32, random_state=0).sample(3000, random_state=1) + 0.03 * rng.standard_normal((3000, 32))
        return _standardized(X, torch.float32)
    if name == "blobs":
        centres = 3 * rng.standard_normal((12, 16))
        return _standardized(centres[rng.integers(12, size=2500)] + 0.3 * rng.standard_normal((2500, 16)))
    if name == "cube":
        return _standardized(rng.uniform(-1, 1, size=(2000, 5)))
    if name == "plane_f32":  # a 2-plane in R^64: the principal split is exact
        return _standardized(rng.uniform(-1, 1, size=(2500, 2)) @ np.linalg.qr(rng.standard_normal((64, 2)))[0].T,
                             torch.float32)
    raise KeyError(name)


def _queries(data: torch.Tensor, t: float, m: int, seed: int = 0) -> torch.Tensor:
    """One-shot draws from p̂_t, plus a few queries far from the data."""
    g = torch.Generator().manual_seed(seed)
    idx = torch.randint(data.shape[0], (m,), generator=g)
    z = alpha(t) * data[idx].double() + math.sqrt(variance(t)) * torch.randn(m, data.shape[1], generator=g,
                                                                             dtype=torch.float64)
    z[:3] = 3.0 * torch.randn(3, data.shape[1], generator=g, dtype=torch.float64)
    return z.to(data.dtype)


def _true_neglected(x: torch.Tensor, index, t: float, kept: torch.Tensor) -> torch.Tensor:
    """The exact share of the softmax mass on the skipped points, float64 from direct differences."""
    d2 = torch.cdist(x.double(), alpha(t) * index.data.double(), compute_mode="donot_use_mm_for_euclid_dist") ** 2
    logits = -d2 / (2 * variance(t))
    skipped = ~torch.repeat_interleave(kept, index.sizes, dim=1)
    return torch.exp(torch.logsumexp(logits.masked_fill(~skipped, -math.inf), dim=1) - torch.logsumexp(logits, dim=1))


def _needed_points(x: torch.Tensor, data: torch.Tensor, t: float, tol: float) -> torch.Tensor:
    """Fewest points whose exact weights carry more than 1 - tol of the mass."""
    d2 = torch.cdist(x.double(), alpha(t) * data.double(), compute_mode="donot_use_mm_for_euclid_dist") ** 2
    w = torch.sort(torch.softmax(-d2 / (2 * variance(t)), dim=1), dim=1, descending=True).values
    tail = w.flip(1).cumsum(1).flip(1)  # tail[:, j]: mass of the ranks >= j
    return (tail > tol).sum(dim=1)


@pytest.fixture(scope="module")
def indexes():
    cache = {}

    def get(name, k=4):
        if (name, k) not in cache:
            data = _dataset(name)
            cache[name, k] = (data, build_cluster_index(data, 60, n_components=k, random_state=0))
        return cache[name, k]
    return get


def test_index_is_a_partition_whose_radii_bound_every_member(indexes):
    data, index = indexes("noisy_sphere")
    assert torch.equal(torch.sort(index.order).values, torch.arange(data.shape[0]))
    assert torch.equal(index.data, data[index.order])
    assert index.offsets[0] == 0 and index.offsets[-1] == data.shape[0] and (index.sizes > 0).all()
    eye = torch.eye(index.n_components, dtype=torch.float64)
    for c in range(index.n_clusters):
        u = index.data[index.offsets[c]:index.offsets[c + 1]].double() - index.centroids[c]
        P = index.bases[c]
        torch.testing.assert_close(P @ P.T, eye, rtol=0, atol=1e-12)
        par, norm = (u @ P.T).norm(dim=1), u.norm(dim=1)
        perp = (u - (u @ P.T) @ P).norm(dim=1)
        for value, radius in ((norm, index.radius[c]), (par, index.radius_par[c]), (perp, index.radius_perp[c])):
            assert value.max() <= radius <= value.max() * (1 + 1e-6) + 1e-9  # an upper bound, and tight
        assert (norm**2).mean() <= index.mean_sq_radius[c] <= (norm**2).mean() * (1 + 1e-6) + 1e-12


@pytest.mark.parametrize("name", ["noisy_sphere", "blobs", "cube", "plane_f32"])
@pytest.mark.parametrize("t", [1e-3, 0.01, 0.05, 0.3])
def test_certified_bound_holds_against_the_true_neglected_mass(indexes, name, t):
    data, index = indexes(name, k=2)  # k = 2 < the spread's dimension: the perpendicular radius matters
    x = _queries(data, t, 60, seed=int(1e4 * t))
    tol = 1e-4
    # a small budget: several query blocks for the bounds and for the reduction
    result = pruned_reduction(x, index, t, tol=tol, max_memory=60 * index.n_clusters * 48, return_mask=True)
    true = _true_neglected(x, index, t, result.kept)
    assert (true <= result.bound).all(), float((true / result.bound).max())
    assert (result.bound <= tol).all()
    # and the exact part is the posterior over the kept points: never fewer than the weights need
    assert (result.kept_points >= _needed_points(x, data, t, tol)).all()


def test_bound_holds_for_an_arbitrary_partition():
    data = _dataset("blobs")
    labels = torch.randint(40, (data.shape[0],), generator=torch.Generator().manual_seed(1))
    index = cluster_index_from_labels(data, labels, n_components=3, random_state=0)
    x = _queries(data, 0.05, 50)
    result = pruned_reduction(x, index, 0.05, tol=1e-3, return_mask=True)
    assert (_true_neglected(x, index, 0.05, result.kept) <= result.bound).all()


def test_bound_is_sharp_for_point_clusters_and_covers_float32_rounding():
    # far clusters of identical points (their mass bound is exact, so the certificate is sharp) and a
    # near cluster on a small ring around the queries (where Jensen's lower bound must charge the spread);
    # float32 rounding of the kept sum, or a Jensen bound without the spread, would break the certificate
    t = 0.3
    rng = np.random.default_rng(3)
    sites = rng.standard_normal((36, 6))  # 35 point clusters, the ring around the last site
    ring_radius = 0.6 * math.sqrt(variance(t)) / alpha(t)
    plane = np.linalg.qr(rng.standard_normal((6, 2)))[0]
    angles = 2 * np.pi * np.arange(12) / 12
    ring = ring_radius * np.stack([np.cos(angles), np.sin(angles)], axis=1) @ plane.T
    points = [np.repeat(sites[i:i + 1], 5, axis=0) for i in range(35)] + [sites[35] + ring]
    labels = torch.as_tensor(np.concatenate([np.full(len(p), i) for i, p in enumerate(points)]))
    data = torch.as_tensor(np.concatenate(points), dtype=torch.float32)
    index = cluster_index_from_labels(data, labels, n_components=2, random_state=0)
    assert torch.all(index.radius[:35] < 1e-5)
    g = torch.Generator().manual_seed(5)
    x = (alpha(t) * torch.as_tensor(sites[35]) + 0.1 * math.sqrt(variance(t)) * torch.randn(200, 6, generator=g,
                                                                                         dtype=torch.float64)).float()
    result = pruned_reduction(x, index, t, tol=1e-2, return_mask=True)
    assert result.partial.max.dtype == torch.float32
    assert result.kept[:, 35].all()  # the ring is kept
    true = _true_neglected(x, index, t, result.kept)
    skipped = result.bound > 0
    assert skipped.sum() > 100  # the test bites only where something was skipped
    assert (true <= result.bound).all()
    assert (result.bound[skipped] <= true[skipped] * (1 + 1e-3)).all()  # and is sharp


def test_zero_tolerance_or_huge_radii_give_the_exact_posterior(indexes):
    data, index = indexes("blobs")
    x = _queries(data, 0.05, 40)
    exact = posterior_partial(x, data, 0.05)
    huge = dataclasses.replace(index, radius=index.radius + 1e3, radius_par=index.radius_par + 1e3,
                               radius_perp=index.radius_perp + 1e3)
    for idx, tol in ((index, 0.0), (huge, 1e-3)):
        result = pruned_reduction(x, idx, 0.05, tol=tol, chunk_size=64)
        assert torch.equal(result.bound, torch.zeros_like(result.bound))
        assert torch.equal(result.kept_points, torch.full_like(result.kept_points, data.shape[0]))
        torch.testing.assert_close(result.partial.mean(), exact.mean(), rtol=0, atol=1e-12)
        torch.testing.assert_close(result.partial.log_normalizer(), exact.log_normalizer(), rtol=1e-13, atol=0)


@pytest.mark.parametrize("name, t", [("cube", 0.05), ("cube", 0.3), ("blobs", 0.1)])
def test_mean_is_within_the_certified_share_times_the_diameter(indexes, name, t):
    data, index = indexes(name)
    x = _queries(data, t, 80, seed=2)
    mean, bound = pruned_posterior_mean(x, index, t, tol=1e-2)
    exact = posterior_partial(x, data, t).mean()
    diameter = float(torch.cdist(data, data).max())
    err = (mean - exact).norm(dim=1)
    assert (err <= bound * diameter + 1e-12).all()
    assert err.max() > 1e-7  # something was skipped: the contract is tested, not vacuous
    partial, bound2 = pruned_posterior_partial(x, index, t, tol=1e-2)
    assert torch.equal(partial.mean(), mean) and torch.equal(bound2, bound)
    # the log-normalizer of the kept points is below the exact one by at most -log(1 - bound)
    gap = posterior_partial(x, data, t).log_normalizer() - partial.log_normalizer()
    assert (gap >= -1e-12).all() and (gap <= -torch.log1p(-bound) + 1e-12).all()


def test_pruned_shards_combine_within_the_largest_certified_share():
    # sum_s S_s / sum_s Z_s <= max_s S_s / Z_s: shards pruned apart (the Dask layout) merge with combine
    data = _dataset("blobs")
    t = 0.1
    x = _queries(data, t, 50, seed=8)
    shards = [data[:1200], data[1200:]]
    results = [pruned_reduction(x, build_cluster_index(shard, 25, random_state=i), t, tol=1e-2)
               for i, shard in enumerate(shards)]
    merged = combine(results[0].partial, results[1].partial)
    bound = torch.maximum(results[0].bound, results[1].bound)
    exact = posterior_partial(x, data, t)
    diameter = float(torch.cdist(data, data).max())
    err = (merged.mean() - exact.mean()).norm(dim=1)
    assert (err <= bound * diameter + 1e-12).all() and err.max() > 1e-7
    gap = exact.log_normalizer() - merged.log_normalizer()
    assert (gap >= -1e-12).all() and (gap <= -torch.log1p(-bound) + 1e-12).all()


def test_pruning_skips_most_of_the_data_at_the_rule_bandwidth():
    X = Sphere(2, 16, random_state=0).sample(20000, random_state=1)
    data = _standardized(X, torch.float32)
    h = 20000 ** (-2 / 6)
    index = build_cluster_index(data, 200, random_state=0)
    result = pruned_reduction(_queries(data, h, 100), index, h, tol=1e-6)
    assert result.kept_points.mean() < 0.5 * data.shape[0]


def test_same_seed_same_index_and_result_other_seed_other_index():
    data = _dataset("cube")
    a, b = (build_cluster_index(data, 30, random_state=4) for _ in range(2))
    for field in dataclasses.fields(a):
        assert torch.equal(getattr(a, field.name), getattr(b, field.name)), field.name
    c = build_cluster_index(data, 30, random_state=5)
    assert not torch.equal(a.order, c.order)
    x = _queries(data, 0.05, 20)
    ra, rb = pruned_reduction(x, a, 0.05), pruned_reduction(x, b, 0.05)
    assert torch.equal(ra.partial.weighted, rb.partial.weighted) and torch.equal(ra.bound, rb.bound)


def test_bad_input_is_refused_with_a_message():
    data = _dataset("cube")
    index = build_cluster_index(data, 10, random_state=0)
    x = data[:3]
    bad = [(lambda: build_cluster_index(data[:, 0]), "2-D"),
           (lambda: build_cluster_index(torch.full((5, 2), math.nan)), "finite"),
           (lambda: build_cluster_index(data, 0), "n_clusters"),
           (lambda: build_cluster_index(data, 10, n_components=6), "n_components"),
           (lambda: cluster_index_from_labels(data, torch.zeros(3, dtype=torch.long)), "labels"),
           (lambda: pruned_reduction(x[:, :2], index, 0.1), "shape"),
           (lambda: pruned_reduction(x, index, 0.0), "positive time"),
           (lambda: pruned_reduction(x, index, 0.1, tol=1.0), "tol"),
           (lambda: pruned_reduction(x, index, 0.1, max_memory=0), "max_memory")]
    for call, words in bad:
        with pytest.raises(ValueError, match=words):
            call()


@pytest.mark.parametrize("dim", [1, 2, 3])
def test_default_index_works_below_four_dimensions(dim):
    """The default number of principal directions is capped at D (it was a fixed 4, refused for D < 4)."""
    data = torch.as_tensor(np.random.default_rng(dim).normal(size=(300, dim)))
    index = build_cluster_index(data, 5, random_state=0)
    assert index.n_components == dim
    x = data[:7] + 0.01
    exact = pruned_reduction(x, index, 0.05, tol=0.0).partial.mean()
    assert torch.allclose(pruned_reduction(x, index, 0.05, tol=1e-6).partial.mean(), exact, atol=1e-5)


def test_pruned_moment_draw_is_the_exact_draw_of_the_clustered_order_up_to_the_certificate():
    """The pruned backend keys its noise by the rows' clustered order; against the exact draw over that order, it
    differs only by the skipped rows' terms, whose weights the certificate bounds."""
    from inertial_diffusion.core.noise import KeyedNoise
    from inertial_diffusion.core.posterior import posterior_moment

    data = _dataset("blobs")
    index = build_cluster_index(data, n_clusters=12, random_state=0)
    noise = KeyedNoise(5)
    t = 0.02
    x = _queries(data, t, 200)
    result = pruned_reduction(x, index, t, tol=1e-6, noise=noise)
    assert (result.kept_points < data.shape[0]).float().mean() > 0.5  # pruning happened
    exact = posterior_moment(x, index.data, t, noise).draw  # the same noise: keyed by position in index.data
    diam = 2 * float(index.data.norm(dim=1).max())
    # a skipped term sqrt(w) eps (y - m): sum of w <= bound, |eps| < 6, Cauchy-Schwarz over <= n terms
    limit = 6 * torch.sqrt(result.bound * data.shape[0]) * diam + 1e-9
    assert ((result.partial.moment_draw() - exact).norm(dim=1) <= limit).all()
