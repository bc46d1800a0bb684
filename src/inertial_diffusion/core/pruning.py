"""Certified cluster pruning of the empirical posterior for large n.

The posterior weights :math:`w_i \\propto e^{l_i}`, :math:`l_i = -|x - \\alpha_t y_i|^2/(2v_t)`, of a
query concentrate on the training points near :math:`x/\\alpha_t`. The data are clustered once
(:func:`build_cluster_index`); a cluster :math:`C` with centroid :math:`c` and members
:math:`y = c + u` stores an orthonormal basis :math:`P` (k x D) of its top-k principal directions
and the radii :math:`r = \\max_u |u|`, :math:`r^\\parallel = \\max_u |P u|`,
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

from inertial_diffusion.core.cluster_index import (GEOMETRY_SLACK, ClusterIndex, build_cluster_index,
                                                   cluster_index_from_labels)
from inertial_diffusion.core.noise import KeyedNoise
from inertial_diffusion.core.posterior import (Partial, absorb_, compute_dtype, concat, default_max_memory,
                                               empty_partial, plan_blocks)
from inertial_diffusion.core.precision import check_precision, gemm_unit_roundoff
from inertial_diffusion.core.process import alpha, variance

__all__ = ["ClusterIndex", "PrunedResult", "build_cluster_index", "cluster_index_from_labels", "pruned_reduction",
           "pruned_posterior_partial", "pruned_posterior_mean"]

_LOG2E = 1.0 / math.log(2.0)
_EPS64 = float(torch.finfo(torch.float64).eps)


@dataclass(frozen=True)
class PrunedResult:
    """Partial over the kept points, certified neglected share per query, and the work done.

    Returned by :func:`pruned_reduction`.

    Parameters
    ----------
    partial : Partial
        The exact streaming reduction over each query's kept clusters (see
        :class:`~inertial_diffusion.core.posterior.Partial`), in the computation dtype.
    bound : Tensor (m,), float64
        Certified upper bound on the share of each query's softmax mass on the skipped points;
        at most ``tol``; 0 where nothing was skipped (or where the bound underflows float64).
    kept_points : Tensor (m,), float64
        Number of training points reduced exactly for each query (the work done).
    kept : Tensor (m, K), bool, optional
        The kept clusters of each query; only with ``return_mask=True``, else None.
    """

    partial: Partial
    bound: torch.Tensor  # (m,) float64, >= the true neglected share of the softmax mass, <= tol
    kept_points: torch.Tensor  # (m,) training points reduced exactly for each query
    kept: torch.Tensor | None = None  # (m, K) bool, the kept clusters (with return_mask=True)


# ----------------------------------------------------------------------------------------- index


def _log_mass_bounds(x64: torch.Tensor, index: ClusterIndex, a_t: float, v_t: float,
                     rows: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(b, K) natural-log bounds ``log B_C >= log sum_{i in C} e^{l_i} >= log J_C``, in float64.

    The squared norms :math:`|a|^2`, :math:`|P a|^2` and their difference come from GEMMs (cheap:
    K (k + 1) columns); each is moved by a slack far above its float64 rounding (lowered for B,
    raised for J), so both stay bounds in floating point.
    """
    n_clusters, k, dim = index.bases.shape
    c = index.centroids
    c_sq = (c * c).sum(dim=1)
    c_norm = c_sq.sqrt()
    flat = index.bases.reshape(n_clusters * k, dim)
    center_coef = torch.einsum("kjd,kd->kj", index.bases, c)  # P c, (K, k)
    log_sizes = index.sizes.to(torch.float64).log()
    radius, r_par, r_perp = (a_t * index.radius, a_t * index.radius_par, a_t * index.radius_perp)
    upper = torch.empty((x64.shape[0], n_clusters), dtype=torch.float64, device=x64.device)
    lower = torch.empty_like(upper)
    for s in range(0, x64.shape[0], rows):
        xs = x64[s:s + rows]
        x_sq = (xs * xs).sum(dim=1)
        d2 = torch.addmm(x_sq[:, None] + a_t * a_t * c_sq[None], xs, c.T, alpha=-2 * a_t)  # |x - alpha c|^2
        eps = (x_sq.sqrt()[:, None] + a_t * c_norm[None]).square_().mul_(GEOMETRY_SLACK)
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


def _reduce_pairs(state: Partial, xw: torch.Tensor, mask: torch.Tensor, index: ClusterIndex, offsets: list[int],
                  bias: torch.Tensor, scale: float, data_rows: int, query_rows: int, logits_buffer: torch.Tensor,
                  product_buffer: torch.Tensor, noise: KeyedNoise | None = None, q_offset: int = 0) -> None:
    """Fold into ``state`` (in place) every (query, cluster) pair of ``mask`` (b, K), cluster by cluster:
    one GEMM per cluster chunk for all the queries that keep it (the posterior's hot loop); ``noise`` is keyed
    by the query's index (``q_offset`` + its row in the block) and the row's position in the clustered order."""
    pairs = mask.T.nonzero()  # (cluster, query), sorted by cluster
    if pairs.shape[0] == 0:
        return
    clusters, counts = torch.unique_consecutive(pairs[:, 0], return_counts=True)
    for c, queries in zip(clusters.tolist(), torch.split(pairs[:, 1], counts.tolist())):
        o0, o1 = offsets[c], offsets[c + 1]
        for s in range(0, queries.numel(), query_rows):
            q = queries[s:s + query_rows]
            sub = state.select(q)
            xq = xw.index_select(0, q)
            for r0 in range(o0, o1, data_rows):
                r1 = min(r0 + data_rows, o1)
                y = index.data[r0:r1].to(xw.dtype)
                logits = logits_buffer[:q.numel(), :r1 - r0]
                torch.addmm(bias[None, r0:r1], xq, y.T, beta=1.0, alpha=scale, out=logits)
                eps = None if noise is None else noise.block(q.cpu() + q_offset, r0, r1, xw.dtype, xw.device)
                rows = index.order[r0:r1] if noise is not None and noise.choose else None  # original row indices
                absorb_(sub, logits, y, product_buffer[:q.numel()], noise=eps, row_ids=rows)
            state.assign_(q, sub)


def pruned_reduction(x: torch.Tensor, index: ClusterIndex, t: float, *, tol: float = 1e-6,
                     chunk_size: int | None = None, max_memory: int | None = None,
                     return_mask: bool = False, noise: KeyedNoise | None = None,
                     precision: str = "exact") -> PrunedResult:
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
    noise : KeyedNoise, optional
        Also reduce the moment-matched draw's accumulators (noise keyed by the query and the row's position in
        the clustered order). The skipped rows' share of the draw's conditional variance is at most
        ``bound`` times the squared diameter of the data.
    precision : {"exact", "tf32"}
        The precision policy (:data:`~inertial_diffusion.core.precision.PRECISIONS`): the bound's GEMM rounding
        is TF32's with "tf32" on a GPU. Torch's global matmul switches are not read.

    Returns
    -------
    PrunedResult
        ``partial`` in the computation dtype (:func:`~inertial_diffusion.core.posterior.compute_dtype`);
        ``bound[q]`` >= the true share of query q's softmax mass on the skipped points, and <= tol.

    Raises
    ------
    ValueError
        ``x`` not of shape (m, D) or not on the index's device; ``t`` not finite and positive; ``tol``
        outside [0, 1); ``max_memory`` not positive.

    Examples
    --------
    Queries on a circle of 200 points at a small time: each reduces a fraction of the data, certified.

    >>> import torch
    >>> g = torch.Generator().manual_seed(0)
    >>> theta = 2 * torch.pi * torch.rand(200, generator=g, dtype=torch.float64)
    >>> Z = torch.stack([theta.cos(), theta.sin(), torch.zeros_like(theta)], dim=1)
    >>> index = build_cluster_index(Z, n_clusters=4, n_components=1, random_state=0)
    >>> result = pruned_reduction(Z[:5] * 0.99, index, 0.001, tol=1e-6, return_mask=True)
    >>> bool((result.bound <= 1e-6).all()), bool((result.kept_points < 200).all())
    (True, True)
    >>> result.kept.shape == (5, index.n_clusters)
    True
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
    data_rows, query_rows = plan_blocks(n, m, dim, work, x.device, chunk_size, budget, moment=noise is not None)
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
    check_precision(precision)
    gemm_unit = gemm_unit_roundoff(work, x.device, precision)
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
        state = empty_partial(xb.shape[0], dim, xw, noise=noise is not None,
                              choose=noise is not None and noise.choose)
        _reduce_pairs(state, xw, ~skip, index, offsets, bias, scale, data_rows, query_rows, logits_buffer,
                      product_buffer, noise, q0)
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
        return PrunedResult(empty_partial(0, dim, x.to(work), noise=noise is not None,
                                          choose=noise is not None and noise.choose),
                            x.new_zeros(0, dtype=torch.float64),
                            x.new_zeros(0, dtype=torch.float64),
                            torch.zeros((0, n_clusters), dtype=torch.bool, device=x.device) if return_mask else None)
    partial = concat(parts)
    return PrunedResult(partial, torch.cat(bounds), torch.cat(kept_points), torch.cat(masks) if return_mask else None)


def pruned_posterior_partial(x: torch.Tensor, index: ClusterIndex, t: float, *, tol: float = 1e-6,
                             chunk_size: int | None = None, max_memory: int | None = None,
                             precision: str = "exact") -> tuple[Partial, torch.Tensor]:
    """Posterior partial over the kept points, with the certified neglected share per query.

    The partial combines with others through :func:`~inertial_diffusion.core.posterior.combine`; its
    ``mean()`` differs from the exact posterior mean by at most ``bound`` times the data's diameter,
    and its ``log_normalizer()`` from the exact one by at most ``-log(1 - bound)``.

    Parameters
    ----------
    x : Tensor (m, D)
        Queries at time ``t``, on the index's device.
    index : ClusterIndex
        From :func:`build_cluster_index`.
    t : float
        Diffusion time, ``t > 0``.
    tol : float
        Certified level of the neglected share, ``0 <= tol < 1`` (0: exact).
    chunk_size, max_memory : int, optional
        As in :func:`pruned_reduction`.
    precision : {"exact", "tf32"}
        As in :func:`pruned_reduction`.

    Returns
    -------
    partial : Partial
        Over each query's kept points, in the computation dtype.
    bound : Tensor (m,), float64
        Certified neglected share of each query's softmax mass, <= ``tol``.

    Raises
    ------
    ValueError
        As :func:`pruned_reduction`.

    See Also
    --------
    pruned_reduction : The same reduction, with the work done and the kept clusters.
    """
    result = pruned_reduction(x, index, t, tol=tol, chunk_size=chunk_size, max_memory=max_memory,
                              precision=precision)
    return result.partial, result.bound


def pruned_posterior_mean(x: torch.Tensor, index: ClusterIndex, t: float,
                          **kwargs: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """Posterior mean :math:`m_t(x)` from the kept clusters only, with its certificate.

    The mean differs from the exact :func:`~inertial_diffusion.core.posterior.posterior_mean` by at most
    ``bound`` times the data's diameter.

    Parameters
    ----------
    x : Tensor (m, D)
        Queries at time ``t``, on the index's device.
    index : ClusterIndex
        From :func:`build_cluster_index`.
    t : float
        Diffusion time, ``t > 0``.
    **kwargs
        ``tol``, ``chunk_size``, ``max_memory``: see :func:`pruned_reduction`.

    Returns
    -------
    mean : Tensor (m, D)
        The posterior mean, in ``x.dtype``.
    bound : Tensor (m,), float64
        Certified neglected share of each query's softmax mass, <= ``tol``.

    Raises
    ------
    ValueError
        As :func:`pruned_reduction`.

    Examples
    --------
    >>> import torch
    >>> from inertial_diffusion.core.posterior import posterior_mean
    >>> g = torch.Generator().manual_seed(0)
    >>> theta = 2 * torch.pi * torch.rand(200, generator=g, dtype=torch.float64)
    >>> Z = torch.stack([theta.cos(), theta.sin(), torch.zeros_like(theta)], dim=1)
    >>> index = build_cluster_index(Z, n_clusters=4, n_components=1, random_state=0)
    >>> x = Z[:5] * 0.99
    >>> mean, bound = pruned_posterior_mean(x, index, 0.001, tol=1e-6)
    >>> bool(torch.allclose(mean, posterior_mean(x, Z, 0.001))), bool((bound <= 1e-6).all())
    (True, True)
    """
    result = pruned_reduction(x, index, t, **kwargs)
    return result.partial.mean().to(x.dtype), result.bound
