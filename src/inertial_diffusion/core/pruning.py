"""Certified cluster pruning of the empirical posterior for large n.

The posterior weights :math:`w_i \\propto e^{l_i}`, :math:`l_i = -|x - \\alpha_t y_i|^2/(2v_t)`, of a
query concentrate on the training points near :math:`x/\\alpha_t`. The data are clustered once
(:func:`build_cluster_index`); a cluster :math:`C` with centroid :math:`c` and members
:math:`y = c + u` stores an orthonormal basis :math:`P` (k x D) of its top-k principal directions
and the radii :math:`r = \\max_u |u|`, :math:`r^\\parallel = \\max_u |P^T u|`,
:math:`r^\\perp = \\max_u |(I - P^TP)u|`. Every member lies in the ball of radius r and in the
product of two balls, so with :math:`a = x - \\alpha_t c`,

.. math::

    |x - \\alpha_t y|^2 \\ge \\max\\big[(|a| - \\alpha_t r)_+^2,\\;
    (|P a| - \\alpha_t r^\\parallel)_+^2 + (|(I - P^TP) a| - \\alpha_t r^\\perp)_+^2\\big] =: \\delta_C^2,
    \\qquad \\sum_{i\\in C} e^{l_i} \\le |C|\\, e^{-\\delta_C^2/(2v_t)} =: B_C .

(The triangle bound alone gives away :math:`2\\alpha r |a|`, and :math:`|a| \\approx \\sqrt{D v_t}`
for a noisy query; the split charges the query's noise only against the cluster's small spread
off its principal plane.) Jensen's inequality bounds every cluster's mass from below with its mean squared
radius :math:`s_C^2`: :math:`\\sum_{i\\in C} e^{l_i} \\ge |C| e^{-(|a|^2 + \\alpha_t^2 s_C^2)/(2v_t)} =: J_C`,
tight where the logit varies little across the cluster (the clusters that carry the mass). For
each query the skipped set :math:`S` is the largest set of clusters, smallest :math:`B_C` first,
with :math:`B_S = \\sum_{C \\in S} B_C \\le \\mathrm{tol} \\sum_C J_C`; the others are reduced
exactly with the streaming log-sum-exp of :mod:`inertial_diffusion.core.posterior`. The certified
neglected share of the softmax mass is

.. math::

    \\frac{\\sum_{i \\in S} e^{l_i}}{\\sum_i e^{l_i}} \\le
    \\frac{B_S}{\\max\\big(\\sum_C J_C,\\; Z_{kept} + B_S\\big)} \\le \\mathrm{tol},

with :math:`Z_{kept}` lowered by a bound on the rounding of its float32 logits and sums. The work
is cluster-major: each kept cluster meets the queries that keep it in one GEMM, so a query pays
only for its own kept clusters, never for a block's union. Posterior mean, score and
log-density follow from the returned :class:`~inertial_diffusion.core.posterior.Partial`
(the mean is off by at most the certified share times the data's diameter).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch

from inertial_diffusion.backends.device import torch_generator
from inertial_diffusion.core.posterior import (Partial, absorb_, compute_dtype, default_max_memory, empty_partial,
                                               plan_blocks)
from inertial_diffusion.core.process import alpha, variance

__all__ = ["ClusterIndex", "PrunedResult", "build_cluster_index", "cluster_index_from_labels", "pruned_reduction",
           "pruned_posterior_partial", "pruned_posterior_mean"]

_LOG2E = 1.0 / math.log(2.0)
_EPS64 = float(torch.finfo(torch.float64).eps)
# relative slack on the float64 squared norms of the geometry: ~1e5 times their rounding (~D eps64)
_GEOMETRY_SLACK = 1e-10


@dataclass(frozen=True)
class ClusterIndex:
    """Data permuted so that each cluster is contiguous, with the geometry of the pruning bound.

    ``data``, ``order`` and ``offsets`` are in the data's dtype/device; the geometry (``centroids``,
    ``bases``, radii) and ``half_sq_norms`` are float64 on the same device, because the bound needs
    an orthonormal basis and radii that are upper bounds to ~eps64 (they are small: K x k x D).
    """

    data: torch.Tensor  # (n, D) the training points, cluster by cluster
    order: torch.Tensor  # (n,) data[i] = Z[order[i]]
    offsets: torch.Tensor  # (K + 1,) cluster c is data[offsets[c]:offsets[c + 1]]
    half_sq_norms: torch.Tensor  # (n,) |y_i|^2 / 2 in float64
    centroids: torch.Tensor  # (K, D) member means
    bases: torch.Tensor  # (K, k, D) orthonormal rows: (approximate) top-k principal directions
    radius: torch.Tensor  # (K,) >= max |u|
    radius_par: torch.Tensor  # (K,) >= max |P^T u|
    radius_perp: torch.Tensor  # (K,) >= max |(I - P P^T) u|
    mean_sq_radius: torch.Tensor  # (K,) >= mean |u|^2 (Jensen's lower bound)

    @property
    def n_clusters(self) -> int:
        return int(self.centroids.shape[0])

    @property
    def n_components(self) -> int:
        return int(self.bases.shape[1])

    @property
    def sizes(self) -> torch.Tensor:
        return self.offsets[1:] - self.offsets[:-1]


@dataclass(frozen=True)
class PrunedResult:
    """Partial over the kept points, certified neglected share per query, and the work done."""

    partial: Partial
    bound: torch.Tensor  # (m,) float64, >= the true neglected share of the softmax mass, <= tol
    kept_points: torch.Tensor  # (m,) training points reduced exactly for each query
    kept: torch.Tensor | None = None  # (m, K) bool, the kept clusters (with return_mask=True)


# ----------------------------------------------------------------------------------------- index


def _nearest(points: torch.Tensor, centroids: torch.Tensor, block_bytes: int = 64 * 2**20) -> torch.Tensor:
    """Index of the nearest centroid of every row (chunked GEMM distances; ties to the first)."""
    c = centroids.to(points.dtype)
    c_sq = (c * c).sum(dim=1)
    rows = max(1, block_bytes // (4 * max(c.shape[0], 1)))
    return torch.cat([torch.addmm(c_sq[None], points[s:s + rows], c.T, alpha=-2.0).argmin(dim=1)
                      for s in range(0, points.shape[0], rows)])


def _lloyd(points: torch.Tensor, k: int, gen: torch.Generator, n_iter: int, per_cluster: int) -> torch.Tensor:
    """k centroids (float64) by Lloyd's iterations on a random subsample of ``per_cluster * k`` rows,
    started from distinct random rows; a cluster left empty keeps its centroid."""
    n = points.shape[0]
    sample = points[torch.randperm(n, generator=gen)[:min(n, per_cluster * k)].to(points.device)]
    centroids = sample[torch.randperm(sample.shape[0], generator=gen)[:k].to(points.device)].double()
    for _ in range(n_iter):
        labels = _nearest(sample, centroids)
        # segment sums through a sort and a cumulative sum: deterministic on every device (index_add_ is not on GPU)
        order = torch.argsort(labels, stable=True)
        counts = torch.bincount(labels, minlength=k)
        sums = torch.cat([sample.new_zeros((1, sample.shape[1]), dtype=torch.float64),
                          sample[order].double().cumsum(dim=0)])
        ends = counts.cumsum(0)
        means = (sums[ends] - sums[ends - counts]) / counts.clamp(min=1)[:, None]
        centroids = torch.where((counts > 0)[:, None], means, centroids)
    return centroids


def _principal_bases(u: torch.Tensor, k: int, gen: torch.Generator, n_iter: int = 4) -> torch.Tensor:
    """(B, k, D) orthonormal rows spanning (approximately) the top-k principal directions of each
    batch of rows ``u`` (B, S, D).

    Randomized subspace iteration with a Rayleigh-Ritz step (exact eigenvectors when D is small);
    any orthonormal basis keeps the bound valid, so accuracy only buys tightness. The last step is a
    float64 QR (or eigh): the rows are orthonormal to ~eps64.
    """
    batch, _, dim = u.shape
    if k == 0:
        return u.new_zeros((batch, 0, dim))
    ut = u.transpose(1, 2)
    if dim <= 2 * k + 8:
        _, evecs = torch.linalg.eigh(ut @ u)
        return evecs.flip(-1)[..., :k].transpose(1, 2).contiguous()
    q = torch.randn(batch, dim, k + 4, generator=gen, dtype=torch.float64).to(u.device)
    for _ in range(n_iter):
        q, _ = torch.linalg.qr(ut @ (u @ q))
    b = u @ q
    _, evecs = torch.linalg.eigh(b.transpose(1, 2) @ b)
    top, _ = torch.linalg.qr(q @ evecs.flip(-1)[..., :k])
    return top.transpose(1, 2).contiguous()


def _geometry(data: torch.Tensor, offsets: torch.Tensor, k: int, gen: torch.Generator,
              block_bytes: int = 64 * 2**20) -> dict[str, torch.Tensor]:
    """Centroids, principal bases, radii and mean squared radii, computed from the stored points in
    float64, in padded batches of clusters."""
    (n, dim), n_clusters = data.shape, offsets.numel() - 1
    sizes = (offsets[1:] - offsets[:-1]).tolist()
    out: dict[str, list[torch.Tensor]] = {key: [] for key in ("centroids", "bases", "radius", "radius_par",
                                                                "radius_perp", "mean_sq_radius")}
    c0 = 0
    while c0 < n_clusters:
        c1, width = c0 + 1, sizes[c0]
        while c1 < n_clusters and (c1 + 1 - c0) * max(width, sizes[c1]) * dim * 32 <= block_bytes:
            width = max(width, sizes[c1])
            c1 += 1
        count = offsets[c0 + 1:c1 + 1] - offsets[c0:c1]
        steps = torch.arange(width, device=data.device)
        valid = (steps[None] < count[:, None])[..., None]  # (B, S, 1)
        rows = (offsets[c0:c1, None] + steps[None]).clamp(max=n - 1)
        y = data[rows].double() * valid
        centroids = y.sum(dim=1) / count[:, None]
        u = (y - centroids[:, None]) * valid  # padding rows are 0 and never raise a maximum
        bases = _principal_bases(u, k, gen)
        usq = (u * u).sum(dim=2)
        par = ((u @ bases.transpose(1, 2)) ** 2).sum(dim=2)
        # rounding of these squares (~D eps64 |u|^2) is covered by inflating the squared radii
        slack = _GEOMETRY_SLACK * usq.amax(dim=1)
        for key, sq in (("radius", usq), ("radius_par", par), ("radius_perp", (usq - par).clamp(min=0))):
            out[key].append((sq.amax(dim=1) * (1 + _GEOMETRY_SLACK) + slack).sqrt())
        out["mean_sq_radius"].append(usq.sum(dim=1) / count * (1 + _GEOMETRY_SLACK) + slack)
        out["centroids"].append(centroids)
        out["bases"].append(bases)
        c0 = c1
    return {key: torch.cat(value) for key, value in out.items()}


def build_cluster_index(Z: torch.Tensor, n_clusters: int | None = None, *, n_components: int = 4,
                        random_state: Any = None, n_iter: int = 8, sample_per_cluster: int = 32) -> ClusterIndex:
    """Cluster the data once (two-level k-means) and store the geometry of the pruning bound.

    Parameters
    ----------
    Z : Tensor (n, D)
        Training points (standardized coordinates), on the device and in the dtype of the queries.
    n_clusters : int, optional
        Number of clusters K (default ``round(n / 1000)``, at least 1); empty ones are dropped.
    n_components : int
        Principal directions k kept per cluster for the bound (0: the plain triangle bound).
    random_state : None, int, numpy or torch Generator
        Seeds the k-means subsamples and starts and the subspace iterations.
    n_iter, sample_per_cluster : int
        Lloyd iterations, run on ``sample_per_cluster`` random rows per centroid.

    Notes
    -----
    A coarse k-means with :math:`\\lceil\\sqrt K\\rceil` centroids, then one within each coarse cell
    (with a share of K proportional to its size): assigning the n points costs
    :math:`O(n D \\sqrt K)` instead of :math:`O(n D K)`. Any partition gives a valid bound; the
    clustering only decides how tight it is. The geometry is computed in padded float64 batches of
    clusters of about 64 MiB, or one cluster at a time (~32 D bytes per row) where a cluster is larger.
    """
    if not isinstance(Z, torch.Tensor) or Z.ndim != 2 or not Z.is_floating_point():
        raise ValueError(f"Z must be a 2-D floating-point tensor (n, D), got {type(Z).__name__} "
                         f"{tuple(getattr(Z, 'shape', ()))}")
    n, dim = Z.shape
    if n == 0 or not bool(torch.isfinite(Z).all()):
        raise ValueError("Z must have at least one row and only finite entries")
    if n_clusters is None:  # ~1000 points per cluster: measured best on S^2 in R^128 at 3e5 and 1e6 points
        n_clusters = max(1, min(n, round(n / 1000)))
    if not (isinstance(n_clusters, int) and 1 <= n_clusters <= n):
        raise ValueError(f"n_clusters must be an integer in [1, n = {n}], got {n_clusters!r}")
    if not (isinstance(n_components, int) and 0 <= n_components <= dim):
        raise ValueError(f"n_components must be an integer in [0, D = {dim}], got {n_components!r}")
    gen = torch_generator(random_state, torch.device("cpu"))
    n_coarse = min(n_clusters, math.ceil(math.sqrt(n_clusters)))
    coarse = _nearest(Z, _lloyd(Z, n_coarse, gen, n_iter, sample_per_cluster))
    coarse_order = torch.argsort(coarse, stable=True)
    labels = torch.empty(n, dtype=torch.long, device=Z.device)
    next_label, start = 0, 0
    for count in torch.bincount(coarse, minlength=n_coarse).tolist():
        rows = coarse_order[start:start + count]
        start += count
        if count == 0:
            continue
        k = max(1, min(count, round(n_clusters * count / n)))
        points = Z[rows]
        labels[rows] = next_label + _nearest(points, _lloyd(points, k, gen, n_iter, sample_per_cluster))
        next_label += k
    return cluster_index_from_labels(Z, labels, n_components=n_components, random_state=gen)


def cluster_index_from_labels(Z: torch.Tensor, labels: torch.Tensor, *, n_components: int = 4,
                              random_state: Any = None) -> ClusterIndex:
    """The index of any partition of the rows of ``Z`` (labels (n,), integers; empty labels dropped).

    The bound holds for every partition (a FAISS clustering, a random one); compact clusters make
    it tight. ``random_state`` seeds the subspace iterations of the principal bases.
    """
    if not isinstance(Z, torch.Tensor) or Z.ndim != 2 or not Z.is_floating_point() or Z.shape[0] == 0:
        raise ValueError(f"Z must be a non-empty 2-D floating-point tensor (n, D), got {type(Z).__name__} "
                         f"{tuple(getattr(Z, 'shape', ()))}")
    if not isinstance(labels, torch.Tensor) or labels.shape != Z.shape[:1] or labels.is_floating_point():
        raise ValueError(f"labels must be an integer tensor of shape ({Z.shape[0]},), got "
                         f"{tuple(getattr(labels, 'shape', ()))}")
    if not (isinstance(n_components, int) and 0 <= n_components <= Z.shape[1]):
        raise ValueError(f"n_components must be an integer in [0, D = {Z.shape[1]}], got {n_components!r}")
    gen = torch_generator(random_state, torch.device("cpu"))
    # drop empty clusters, make each cluster contiguous (stable: members keep their input order)
    _, labels = torch.unique(labels.to(Z.device), return_inverse=True)
    order = torch.argsort(labels, stable=True)
    counts = torch.bincount(labels)
    offsets = torch.cat([counts.new_zeros(1), counts.cumsum(0)])
    data = Z[order].contiguous()
    return ClusterIndex(data=data, order=order, offsets=offsets, half_sq_norms=0.5 * (data.double() ** 2).sum(dim=1),
                        **_geometry(data, offsets, n_components, gen))


# ----------------------------------------------------------------------------------------- queries


def _log_mass_bounds(x64: torch.Tensor, index: ClusterIndex, a_t: float, v_t: float,
                     rows: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(b, K) natural-log bounds ``log B_C >= log sum_{i in C} e^{l_i} >= log J_C``, in float64.

    The squared norms :math:`|a|^2`, :math:`|P^T a|^2` and their difference come from GEMMs (cheap:
    K (k + 1) columns); each is moved by a slack far above its float64 rounding (lowered for B,
    raised for J), so both stay bounds in floating point.
    """
    n_clusters, k, dim = index.bases.shape
    c = index.centroids
    c_sq = (c * c).sum(dim=1)
    c_norm = c_sq.sqrt()
    flat = index.bases.reshape(n_clusters * k, dim)
    center_coef = torch.einsum("kjd,kd->kj", index.bases, c)  # P^T c, (K, k)
    log_sizes = index.sizes.to(torch.float64).log()
    radius, r_par, r_perp = (a_t * index.radius, a_t * index.radius_par, a_t * index.radius_perp)
    upper = torch.empty((x64.shape[0], n_clusters), dtype=torch.float64, device=x64.device)
    lower = torch.empty_like(upper)
    for s in range(0, x64.shape[0], rows):
        xs = x64[s:s + rows]
        x_sq = (xs * xs).sum(dim=1)
        d2 = torch.addmm(x_sq[:, None] + a_t * a_t * c_sq[None], xs, c.T, alpha=-2 * a_t)  # |x - alpha c|^2
        eps = (x_sq.sqrt()[:, None] + a_t * c_norm[None]).square_().mul_(_GEOMETRY_SLACK)
        lower[s:s + rows] = log_sizes - (d2 + eps + a_t * a_t * index.mean_sq_radius) / (2 * v_t)
        # split 0, the triangle bound: (|a| - alpha r)_+^2
        gap = (d2 - eps).clamp_(min=0).sqrt_().sub_(radius).clamp_(min=0).square_()
        if k:  # split k: the principal span and its complement
            par2 = (torch.mm(xs, flat.T).view(-1, n_clusters, k) - a_t * center_coef).square_().sum(dim=2)
            perp = (d2 - par2).sub_(eps).clamp_(min=0).sqrt_().sub_(r_perp).clamp_(min=0).square_()
            perp += par2.sub_(eps).clamp_(min=0).sqrt_().sub_(r_par).clamp_(min=0).square_()
            gap = torch.maximum(gap, perp)
        upper[s:s + rows] = log_sizes - gap / (2 * v_t)
    return upper, lower


def _gemm_unit_roundoff(work: torch.dtype, device: torch.device) -> float:
    """Unit roundoff of a GEMM in ``work``: TF32 (10-bit mantissa) where a GPU may use it."""
    tf32 = torch.backends.cuda.matmul.allow_tf32 or torch.get_float32_matmul_precision() != "highest"
    if work == torch.float32 and device.type == "cuda" and tf32:
        return 2.0**-11
    return float(torch.finfo(work).eps) / 2


def _reduce_pairs(state: Partial, xw: torch.Tensor, mask: torch.Tensor, index: ClusterIndex, offsets: list[int],
                  bias: torch.Tensor, scale: float, data_rows: int, query_rows: int, logits_buffer: torch.Tensor,
                  product_buffer: torch.Tensor) -> None:
    """Fold into ``state`` (in place) every (query, cluster) pair of ``mask`` (b, K), cluster by cluster:
    one GEMM per cluster chunk for all the queries that keep it (the posterior's hot loop)."""
    pairs = mask.T.nonzero()  # (cluster, query), sorted by cluster
    if pairs.shape[0] == 0:
        return
    clusters, counts = torch.unique_consecutive(pairs[:, 0], return_counts=True)
    for c, queries in zip(clusters.tolist(), torch.split(pairs[:, 1], counts.tolist())):
        o0, o1 = offsets[c], offsets[c + 1]
        for s in range(0, queries.numel(), query_rows):
            q = queries[s:s + query_rows]
            sub = Partial(*(field.index_select(0, q) for field in (state.max, state.sumexp, state.weighted)))
            xq = xw.index_select(0, q)
            for r0 in range(o0, o1, data_rows):
                r1 = min(r0 + data_rows, o1)
                y = index.data[r0:r1].to(xw.dtype)
                logits = logits_buffer[:q.numel(), :r1 - r0]
                torch.addmm(bias[None, r0:r1], xq, y.T, beta=1.0, alpha=scale, out=logits)
                absorb_(sub, logits, y, product_buffer[:q.numel()])
            for field, value in ((state.max, sub.max), (state.sumexp, sub.sumexp), (state.weighted, sub.weighted)):
                field.index_copy_(0, q, value)


def pruned_reduction(x: torch.Tensor, index: ClusterIndex, t: float, *, tol: float = 1e-6,
                     chunk_size: int | None = None, max_memory: int | None = None,
                     return_mask: bool = False) -> PrunedResult:
    """Posterior partial of queries ``x`` over the clusters that carry all but ``tol`` of the mass.

    Parameters
    ----------
    x : Tensor (m, D)
        Queries at time ``t``, on the index's device.
    index : ClusterIndex
        From :func:`build_cluster_index`.
    t : float
        Diffusion time, ``t > 0``.
    tol : float
        Certified level of the neglected share of the softmax mass, ``0 <= tol < 1`` (0: exact).
    chunk_size, max_memory : int, optional
        As in :func:`~inertial_diffusion.core.posterior.posterior_partial`; ``max_memory`` also sizes
        the query blocks of the bounds (a few (block x K (k + 1)) float64 arrays).
    return_mask : bool
        Also return the (m, K) mask of kept clusters.

    Returns
    -------
    PrunedResult
        ``partial`` in the computation dtype (:func:`~inertial_diffusion.core.posterior.compute_dtype`);
        ``bound[q]`` >= the true share of query q's softmax mass on the skipped points, and <= tol.
    """
    if not isinstance(x, torch.Tensor) or x.ndim != 2 or x.shape[1] != index.data.shape[1]:
        raise ValueError(f"x must be a tensor of shape (m, {index.data.shape[1]}), got "
                         f"{tuple(getattr(x, 'shape', ()))}")
    if x.device != index.data.device:
        raise ValueError(f"x is on {x.device} but the index is on {index.data.device}")
    if not (isinstance(t, (int, float)) and math.isfinite(t) and t > 0):
        raise ValueError(f"t must be a finite positive time, got {t!r}")
    if not (isinstance(tol, (int, float)) and 0 <= tol < 1):
        raise ValueError(f"tol must be in [0, 1), got {tol!r}")
    (m, dim), (n, _) = x.shape, index.data.shape
    n_clusters, k = index.n_clusters, index.n_components
    a_t, v_t = alpha(t), variance(t)
    y_norm = math.sqrt(2.0 * float(index.half_sq_norms.max()))
    x_norm = float(x.double().norm(dim=1).max()) if m else 0.0
    work = torch.float64 if x.dtype == torch.float64 else compute_dtype(x.dtype, t, x_norm, y_norm)
    budget = default_max_memory(x.device) if max_memory is None else int(max_memory)
    if budget <= 0:
        raise ValueError(f"max_memory must be a positive number of bytes, got {max_memory!r}")
    data_rows, query_rows = plan_blocks(n, m, dim, work, x.device, chunk_size, budget)
    offsets = index.offsets.tolist()
    n_chunks = sum(-(-(offsets[c + 1] - offsets[c]) // data_rows) for c in range(n_clusters))
    # relative rounding of a kept mass: <= R - 1 terms per chunk sum; per chunk a rescale and an add whose
    # exponent error is below ~(log2 n + 12) u of the total. Past 1 % (float32 beyond ~1e8 points): float64
    rel = (data_rows + 32 * n_chunks + 16) * float(torch.finfo(work).eps) / 2
    if rel > 0.01:
        work = torch.float64
        rel = (data_rows + 32 * n_chunks + 16) * _EPS64 / 2
    scale = _LOG2E * a_t / v_t
    bias = index.half_sq_norms.to(work) * (-_LOG2E * a_t * a_t / v_t)
    bias_max = float(bias.abs().max())
    gemm_unit = _gemm_unit_roundoff(work, x.device)
    outer = max(1, min(m, budget // (48 * n_clusters + 32 * dim)))
    bound_rows = max(1, budget // (8 * n_clusters * (k + 8)))
    rows = max(1, min(query_rows, outer))
    logits_buffer = torch.empty((rows, data_rows), dtype=work, device=x.device)
    product_buffer = torch.empty((rows, dim), dtype=work, device=x.device)
    parts, bounds, kept_points, masks = [], [], [], []
    for q0 in range(0, m, outer):
        xb = x[q0:q0 + outer]
        xb64, xw = xb.to(torch.float64), xb.to(work)
        log_b, log_j = _log_mass_bounds(xb64, index, a_t, v_t, bound_rows)
        log_j_all = torch.logsumexp(log_j, dim=1)  # <= log of the total mass
        skip = torch.zeros_like(log_b, dtype=torch.bool)
        if tol > 0:
            ratio, by_size = torch.exp(log_b - log_j_all[:, None]).sort(dim=1)
            skip.scatter_(1, by_size, ratio.cumsum(dim=1) <= tol * (1 - 1e-6))
        state = empty_partial(xb.shape[0], dim, xw)
        _reduce_pairs(state, xw, ~skip, index, offsets, bias, scale, data_rows, query_rows, logits_buffer,
                      product_buffer)
        # natural log of the true kept mass >= computed - logit rounding (D + 8) u L (base 2) + log(1 - rel)
        logit_err = (dim + 8) * gemm_unit * (scale * xb64.norm(dim=1) * y_norm + bias_max) * 1.01
        log_kept = (state.log_normalizer() - (xb64 * xb64).sum(dim=1) / (2 * v_t) - logit_err * math.log(2.0)
                    + math.log1p(-rel))
        log_skipped = torch.logsumexp(log_b.masked_fill(~skip, -math.inf), dim=1)
        log_den = torch.maximum(log_j_all, torch.logaddexp(log_kept, log_skipped))
        bounds.append(torch.exp(log_skipped - log_den) * (1 + 1e-9))  # 0 where nothing is skipped
        kept_points.append((~skip).to(torch.float64) @ index.sizes.to(torch.float64))
        parts.append(state)
        if return_mask:
            masks.append(~skip)
    if not parts:
        return PrunedResult(empty_partial(0, dim, x.to(work)), x.new_zeros(0, dtype=torch.float64),
                            x.new_zeros(0, dtype=torch.float64),
                            torch.zeros((0, n_clusters), dtype=torch.bool, device=x.device) if return_mask else None)
    partial = Partial(torch.cat([p.max for p in parts]), torch.cat([p.sumexp for p in parts]),
                      torch.cat([p.weighted for p in parts]))
    return PrunedResult(partial, torch.cat(bounds), torch.cat(kept_points), torch.cat(masks) if return_mask else None)


def pruned_posterior_partial(x: torch.Tensor, index: ClusterIndex, t: float, *, tol: float = 1e-6,
                             chunk_size: int | None = None,
                             max_memory: int | None = None) -> tuple[Partial, torch.Tensor]:
    """``(partial over the kept points, certified neglected share per query)``; see :func:`pruned_reduction`.

    The partial combines with others through :func:`~inertial_diffusion.core.posterior.combine`; its
    ``mean()`` differs from the exact posterior mean by at most ``bound`` times the data's diameter,
    and its ``log_normalizer()`` from the exact one by at most ``-log(1 - bound)``.
    """
    result = pruned_reduction(x, index, t, tol=tol, chunk_size=chunk_size, max_memory=max_memory)
    return result.partial, result.bound


def pruned_posterior_mean(x: torch.Tensor, index: ClusterIndex, t: float,
                          **kwargs: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """``(posterior mean in x.dtype, certified neglected share)``; keywords of :func:`pruned_reduction`."""
    result = pruned_reduction(x, index, t, **kwargs)
    return result.partial.mean().to(x.dtype), result.bound
