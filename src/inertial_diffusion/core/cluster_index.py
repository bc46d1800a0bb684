"""The cluster index of certified pruning: the data clustered once, with each cluster's geometry.

A cluster :math:`C` with centroid :math:`c` and members :math:`y = c + u` stores an orthonormal basis
:math:`P` (k x D, orthonormal rows) of its top-k principal directions and upper bounds of :math:`|u|`,
:math:`|P u|`, :math:`|(I - P^TP)u|` and of the mean :math:`|u|^2`; :mod:`inertial_diffusion.core.pruning`
turns them into bounds on each cluster's share of a query's softmax mass. Any partition gives valid bounds; compact
clusters make them tight.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch

from inertial_diffusion.core.generators import torch_generator

__all__ = ["ClusterIndex", "build_cluster_index", "cluster_index_from_labels", "GEOMETRY_SLACK"]

#: relative slack on the float64 squared norms of the geometry: above their worst-case rounding D eps64
#: (eps64 = 2.2e-16) for D up to ~4.5e5
GEOMETRY_SLACK = 1e-10
#: principal directions kept per cluster by default (capped at D): the pruning bound's subspace part
DEFAULT_COMPONENTS = 4


@dataclass(frozen=True)
class ClusterIndex:
    """Data permuted so that each cluster is contiguous, with the geometry of the pruning bound.

    Everything is on the data's device. ``data`` keeps the data's dtype, ``order`` and ``offsets`` are
    int64; the geometry (``centroids``, ``bases``, radii) and ``half_sq_norms`` are float64, because the
    bound needs an orthonormal basis and radii that are upper bounds to ~eps64 (they are small: K x k x D).
    Build it with :func:`build_cluster_index` or :func:`cluster_index_from_labels`, not by hand: the
    radii must be upper bounds for the bound of :mod:`inertial_diffusion.core.pruning` to hold.

    In the notation below a member of a cluster with centroid :math:`c` is :math:`y = c + u`, and
    :math:`P` is the cluster's (k x D) basis.

    Parameters
    ----------
    data : Tensor (n, D)
        The training points, cluster by cluster.
    order : Tensor (n,), int64
        The permutation: ``data[i] = Z[order[i]]``.
    offsets : Tensor (K + 1,), int64
        Cluster ``c`` is ``data[offsets[c]:offsets[c + 1]]``.
    half_sq_norms : Tensor (n,), float64
        :math:`|y_i|^2 / 2` of the rows of ``data`` (the bias of the logits).
    centroids : Tensor (K, D), float64
        Member means.
    bases : Tensor (K, k, D), float64
        Orthonormal rows spanning (approximately) each cluster's top-k principal directions.
    radius : Tensor (K,), float64
        :math:`\\ge \\max |u|`.
    radius_par : Tensor (K,), float64
        :math:`\\ge \\max |P u|`, the spread within the principal span.
    radius_perp : Tensor (K,), float64
        :math:`\\ge \\max |(I - P^T P) u|`, the spread off it.
    mean_sq_radius : Tensor (K,), float64
        :math:`\\ge` the mean of :math:`|u|^2` (for Jensen's lower bound on the cluster's mass).

    Examples
    --------
    >>> import torch
    >>> Z = torch.tensor([[0.0, 0.0], [0.0, 1.0], [5.0, 0.0], [5.0, 1.0], [5.0, 2.0]], dtype=torch.float64)
    >>> index = cluster_index_from_labels(Z, torch.tensor([1, 0, 1, 0, 1]), n_components=1)
    >>> index.n_clusters, index.sizes.tolist(), index.order.tolist()
    (2, [2, 3], [1, 3, 0, 2, 4])
    >>> index.centroids.round(decimals=4).tolist()
    [[2.5, 1.0], [3.3333, 0.6667]]
    >>> bool(torch.equal(index.data, Z[index.order]))
    True
    """

    data: torch.Tensor  # (n, D) the training points, cluster by cluster
    order: torch.Tensor  # (n,) data[i] = Z[order[i]]
    offsets: torch.Tensor  # (K + 1,) cluster c is data[offsets[c]:offsets[c + 1]]
    half_sq_norms: torch.Tensor  # (n,) |y_i|^2 / 2 in float64
    centroids: torch.Tensor  # (K, D) member means
    bases: torch.Tensor  # (K, k, D) orthonormal rows: (approximate) top-k principal directions
    radius: torch.Tensor  # (K,) >= max |u|
    radius_par: torch.Tensor  # (K,) >= max |P u|
    radius_perp: torch.Tensor  # (K,) >= max |(I - P^T P) u|
    mean_sq_radius: torch.Tensor  # (K,) >= mean |u|^2 (Jensen's lower bound)

    @property
    def n_clusters(self) -> int:
        """Number of clusters ``K`` (all non-empty).

        Returns
        -------
        int
            ``K``.
        """
        return int(self.centroids.shape[0])

    @property
    def n_components(self) -> int:
        """Principal directions ``k`` kept per cluster (0: only the plain triangle bound).

        Returns
        -------
        int
            ``k``.
        """
        return int(self.bases.shape[1])

    @property
    def sizes(self) -> torch.Tensor:
        """Number of members of each cluster.

        Returns
        -------
        Tensor (K,), int64
            ``offsets[1:] - offsets[:-1]``, all >= 1.
        """
        return self.offsets[1:] - self.offsets[:-1]


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
        slack = GEOMETRY_SLACK * usq.amax(dim=1)
        for key, sq in (("radius", usq), ("radius_par", par), ("radius_perp", (usq - par).clamp(min=0))):
            out[key].append((sq.amax(dim=1) * (1 + GEOMETRY_SLACK) + slack).sqrt())
        out["mean_sq_radius"].append(usq.sum(dim=1) / count * (1 + GEOMETRY_SLACK) + slack)
        out["centroids"].append(centroids)
        out["bases"].append(bases)
        c0 = c1
    return {key: torch.cat(value) for key, value in out.items()}


def build_cluster_index(Z: torch.Tensor, n_clusters: int | None = None, *, n_components: int | None = None,
                        random_state: Any = None, n_iter: int = 8, sample_per_cluster: int = 32) -> ClusterIndex:
    """Cluster the data once (two-level k-means) and store the geometry of the pruning bound.

    Parameters
    ----------
    Z : Tensor (n, D)
        Training points (standardized coordinates), on the device and in the dtype of the queries.
    n_clusters : int, optional
        Target number of clusters K, in [1, n] (default ``round(n / 1000)``, at least 1). The result has
        about K: each coarse cell gets its rounded share, and empty clusters are dropped.
    n_components : int, optional
        Principal directions k kept per cluster for the bound (0: the plain triangle bound; default
        ``min(4, D)``).
    random_state : None, int, numpy or torch Generator
        Seeds the k-means subsamples and starts and the subspace iterations.
    n_iter, sample_per_cluster : int
        Lloyd iterations, run on ``sample_per_cluster`` random rows per centroid.

    Returns
    -------
    ClusterIndex
        The permuted data and the geometry, on ``Z``'s device.

    Raises
    ------
    ValueError
        ``Z`` not a finite, non-empty 2-D floating-point tensor; ``n_clusters`` not an integer in [1, n];
        ``n_components`` not an integer in [0, D].

    See Also
    --------
    cluster_index_from_labels : The index of a partition computed elsewhere.
    inertial_diffusion.core.pruning.pruned_reduction : The certified pruned posterior that uses it.

    Notes
    -----
    A coarse k-means with :math:`\\lceil\\sqrt K\\rceil` centroids, then one within each coarse cell
    (with a share of K proportional to its size): assigning the n points costs
    :math:`O(n D \\sqrt K)` instead of :math:`O(n D K)`. Any partition gives a valid bound; the
    clustering only decides how tight it is. The geometry is computed in padded float64 batches of
    clusters of about 64 MiB, or one cluster at a time (~32 D bytes per row) where a cluster is larger.

    Examples
    --------
    >>> import torch
    >>> g = torch.Generator().manual_seed(0)
    >>> theta = 2 * torch.pi * torch.rand(400, generator=g, dtype=torch.float64)
    >>> Z = torch.stack([theta.cos(), theta.sin(), torch.zeros_like(theta)], dim=1)  # a circle in R^3
    >>> index = build_cluster_index(Z, n_clusters=8, n_components=1, random_state=0)
    >>> 1 <= index.n_clusters <= 16, int(index.sizes.sum()), bool(torch.equal(index.data, Z[index.order]))
    (True, 400, True)
    >>> bool((index.radius_perp < index.radius).all())  # arcs: most of the spread is along one direction
    True
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
    if n_components is None:
        n_components = min(DEFAULT_COMPONENTS, dim)
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


def cluster_index_from_labels(Z: torch.Tensor, labels: torch.Tensor, *, n_components: int | None = None,
                              random_state: Any = None) -> ClusterIndex:
    """The index of any partition of the rows of ``Z``.

    The bound holds for every partition (a FAISS clustering, a random one); compact clusters make
    it tight. Clusters are numbered in the order of their sorted labels; members keep their input order.

    Parameters
    ----------
    Z : Tensor (n, D)
        Training points (standardized coordinates), floating point.
    labels : Tensor (n,)
        Integer cluster label of each row; any integers (labels with no rows are simply absent).
    n_components : int, optional
        Principal directions k kept per cluster, in [0, D] (0: the plain triangle bound; default ``min(4, D)``).
    random_state : None, int, numpy or torch Generator
        Seeds the subspace iterations of the principal bases.

    Returns
    -------
    ClusterIndex
        The permuted data and the geometry, on ``Z``'s device.

    Raises
    ------
    ValueError
        ``Z`` not a non-empty 2-D floating-point tensor; ``labels`` not an integer tensor of shape (n,);
        ``n_components`` not an integer in [0, D].

    Examples
    --------
    >>> import torch
    >>> Z = torch.tensor([[0.0, 0.0], [0.0, 1.0], [5.0, 0.0], [5.0, 1.0]], dtype=torch.float64)
    >>> index = cluster_index_from_labels(Z, torch.tensor([7, 7, 3, 3]), n_components=0)
    >>> index.sizes.tolist(), index.centroids.tolist(), index.radius.round(decimals=6).tolist()
    ([2, 2], [[5.0, 0.5], [0.0, 0.5]], [0.5, 0.5])
    """
    if not isinstance(Z, torch.Tensor) or Z.ndim != 2 or not Z.is_floating_point() or Z.shape[0] == 0:
        raise ValueError(f"Z must be a non-empty 2-D floating-point tensor (n, D), got {type(Z).__name__} "
                         f"{tuple(getattr(Z, 'shape', ()))}")
    if not isinstance(labels, torch.Tensor) or labels.shape != Z.shape[:1] or labels.is_floating_point():
        raise ValueError(f"labels must be an integer tensor of shape ({Z.shape[0]},), got "
                         f"{tuple(getattr(labels, 'shape', ()))}")
    if n_components is None:
        n_components = min(DEFAULT_COMPONENTS, Z.shape[1])
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
