"""Well-separated parts of the data, found at the kernel's scale.

One global bandwidth is wrong for data made of separated parts: the global RMS scale and the global
dimension estimate both see the gap, so σ comes out several times what each part needs (a circle and a
4-sphere of radius 1, 1000 points each, centres 6 apart in R^20: σ = 0.82 against 0.25 and 0.41 for each
alone, by :func:`part_bandwidth`).
:func:`find_components` splits such data so that each part can get its own
:math:`\\sigma_p = c\\, n_p^{-1/(d_p+4)}\\, s_p` (:math:`s_p` its RMS distance to its mean).

Two points are linked when they are at most :math:`\\varepsilon_p = \\lambda \\sigma_p` apart, the
parts are the connected components of that graph (single linkage cut at :math:`\\varepsilon_p`): two parts
stay together iff a chain of points crosses the gap in steps the kernel sees. Splitting is repeated
inside each part with the part's own σ until nothing splits (a fixed point).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from sklearn.neighbors import NearestNeighbors

from inertial_diffusion.core.bandwidth import (DIM_METHODS, MAX_ESTIMATION_ROWS, bandwidth_rule,
                                               estimate_intrinsic_dim, first_distinct_rows)
from inertial_diffusion.core.neighbours import NeighbourTable
from inertial_diffusion.core.validation import check_choice, check_data, check_positive, check_positive_int

__all__ = ["find_components", "part_bandwidth"]

#: Neighbours per point in the k-NN graph that carries the ε-graph's short edges.
GRAPH_NEIGHBORS = 15
#: ε = LINK_FACTOR · σ. A d-dimensional sample is connected at radius ~ (log n / n)^(1/d), which nears
#: σ = n^(-1/(d+4)) as d grows: the longest minimum-spanning-tree edge of n = 2000 uniform points is
#: 0.10σ on S^1, 0.44σ on S^2, 1.03σ on S^4, 1.34σ on S^8 (measured), hence the factor 2.
LINK_FACTOR = 2.0


def part_bandwidth(Z: np.ndarray, intrinsic_dim: float | None = None, bandwidth_scale: float = 1.0, *,
                   dim_method: str = "scale", n_samples: int | None = None,
                   random_state=None, table: NeighbourTable | None = None) -> tuple[float, float]:
    """Intrinsic dimension and bandwidth of one part, in data units.

    :math:`\\sigma = c\\, n^{-1/(d+4)}\\, s` (:func:`~inertial_diffusion.core.bandwidth.bandwidth_rule` on
    the part's own standardized scale), with ``s`` the RMS distance of the rows to their mean and ``d`` the
    given dimension or the one estimated on the standardized rows. Both are invariant to translation,
    scaling (σ scales with the data) and isometric embedding.

    Parameters
    ----------
    Z : array-like (m, D)
        The part's rows, or a subsample of them.
    intrinsic_dim : float, optional
        ``d``; estimated with ``dim_method`` when None.
    bandwidth_scale : float
        The rule's constant ``c`` (default 1).
    dim_method : {"scale", "twonn", "mle"}
        Estimator of ``d`` (see :func:`~inertial_diffusion.core.bandwidth.estimate_intrinsic_dim`).
    n_samples : int, optional
        The ``n`` of the rule: the part's row count when ``Z`` is a subsample of it (default: the rows
        of ``Z``).
    random_state : int, Generator or None
        Subsample and anchors of the dimension estimate.
    table : NeighbourTable, optional
        The anchors' distances already read from ``Z`` (:func:`~inertial_diffusion.core.neighbours.neighbour_table`).

    Returns
    -------
    d : float
        The intrinsic dimension used.
    sigma : float
        The part's bandwidth σ, in the units of ``Z``.

    Raises
    ------
    ValueError
        Fewer than 2 rows, non-finite entries, all rows identical, a non-positive ``intrinsic_dim``,
        or a dimension that cannot be estimated (tied distances).

    Examples
    --------
    >>> import numpy as np
    >>> theta = np.random.default_rng(0).uniform(0, 2 * np.pi, 300)
    >>> circle = np.c_[np.cos(theta), np.sin(theta)]
    >>> d, sigma = part_bandwidth(circle, intrinsic_dim=1.0)  # s = 0.9956, n = 300: sigma = s * 300 ** (-1/5)
    >>> round(d, 1), round(sigma, 3)
    (1.0, 0.318)
    >>> d10, sigma10 = part_bandwidth(10 * circle, intrinsic_dim=1.0)  # sigma scales with the data
    >>> round(sigma10 / sigma, 6)
    10.0
    """
    Z = check_data(Z, min_rows=2)
    n = Z.shape[0] if n_samples is None else check_positive_int(n_samples, "n_samples")
    check_positive(bandwidth_scale, "bandwidth_scale")
    centred = Z - Z.mean(axis=0)
    spread = float(np.sqrt(np.mean(np.sum(centred**2, axis=1))))
    if not spread > 0:
        raise ValueError("all rows of the part are identical: it has no bandwidth")
    if intrinsic_dim is None:
        d = estimate_intrinsic_dim(centred / spread, dim_method, random_state=random_state,
                                   n_samples=n, bandwidth_scale=bandwidth_scale, table=table)
    else:
        d = check_positive(intrinsic_dim, "intrinsic_dim")
    return d, bandwidth_rule(n, d, bandwidth_scale) * spread


def _epsilon_components(Z: np.ndarray, eps: float, n_neighbors: int,
                        knn: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """Connected components of the ε-graph (edges between rows at distance <= eps), in O(n k) memory.

    The k-NN edges no longer than ε give components that refine the answer. A component of at most k
    rows has a row of another component in every member's list, so its nearest outside row is listed,
    and it is farther than ε (else that edge would be in the graph): such a component is final. Each
    larger one asks a nearest-neighbour query against all other rows and joins the component found when
    it is within ε; Borůvka rounds repeat this for the merged components until none joins. ``knn``: the rows'
    ``(distances, indices)`` lists when already read (:class:`~inertial_diffusion.core.neighbours.NeighbourTable`).
    """
    n = Z.shape[0]
    k = min(n_neighbors, n - 1)
    if knn is not None and knn[1].shape[1] >= k:
        dist, ind = knn[0][:, :k], knn[1][:, :k]
    else:
        dist, ind = NearestNeighbors(n_neighbors=k).fit(Z).kneighbors()  # excludes each row itself
    short = dist.ravel() <= eps
    graph = coo_matrix((np.ones(short.sum()), (np.repeat(np.arange(n), k)[short], ind.ravel()[short])),
                       shape=(n, n))
    n_comp, labels = connected_components(graph, directed=False)
    ask = np.bincount(labels, minlength=n_comp) > k
    while n_comp > 1 and ask.any():
        joins = []
        for c in np.flatnonzero(ask):
            inside = labels == c
            others = np.flatnonzero(~inside)
            d_o, i_o = NearestNeighbors(n_neighbors=1).fit(Z[others]).kneighbors(Z[inside])
            best = int(np.argmin(d_o[:, 0]))
            if d_o[best, 0] <= eps:
                joins.append((c, labels[others[i_o[best, 0]]]))
        if not joins:
            break
        a, b = np.array(joins).T
        n_new, relabel = connected_components(coo_matrix((np.ones(a.size), (a, b)), shape=(n_comp, n_comp)),
                                              directed=False)
        merged = np.bincount(relabel, minlength=n_new) > 1  # only a merged component has a new nearest row
        labels, n_comp = relabel[labels], n_new
        ask = merged & (np.bincount(labels, minlength=n_comp) > k)
    return labels


def _absorb_small(Z: np.ndarray, labels: np.ndarray, min_size: int) -> np.ndarray:
    """Give the rows of each component smaller than ``min_size`` to the large component holding the
    row nearest to them (single-linkage distance); if none is large, everything is one component."""
    sizes = np.bincount(labels)
    large = np.flatnonzero(sizes >= min_size)
    if large.size == 0:
        return np.zeros_like(labels)
    is_large = np.isin(labels, large)
    if is_large.all():
        return labels
    big_rows = np.flatnonzero(is_large)
    dist, idx = NearestNeighbors(n_neighbors=1).fit(Z[big_rows]).kneighbors(Z[~is_large])
    out = labels.copy()
    small_rows = np.flatnonzero(~is_large)
    for c in np.unique(labels[small_rows]):
        sel = labels[small_rows] == c
        out[small_rows[sel]] = labels[big_rows[idx[sel, 0][np.argmin(dist[sel, 0])]]]
    return out


def find_components(Z: np.ndarray, intrinsic_dim: float | None = None, bandwidth_scale: float = 1.0, *,
                    link_factor: float = LINK_FACTOR, min_size: int | None = None, dim_method: str = "scale",
                    n_neighbors: int = GRAPH_NEIGHBORS, max_rows_dim: int = MAX_ESTIMATION_ROWS,
                    random_state=None, table: NeighbourTable | None = None) -> np.ndarray:
    """Label the well-separated parts of ``Z`` at the kernel's scale.

    Each part ``p`` (first: all rows) gets :math:`\\varepsilon_p = \\lambda\\, c\\, n_p^{-1/(d_p+4)}\\, s_p`
    (:func:`part_bandwidth`) and is cut into the connected components of its ε-graph; components
    with fewer than ``min_size`` rows (isolated outliers, small clumps) are given to the nearest large
    one; each remaining piece is split again with its own σ, until no part splits.

    Parameters
    ----------
    Z : array-like (n, D)
        The data, in any units (the result is invariant to translation, global scaling and
        isometric embedding).
    intrinsic_dim : float, optional
        ``d`` for every part; by default estimated per part with ``dim_method``.
    bandwidth_scale : float
        The rule's ``c``.
    link_factor : float
        The factor λ: rows closer than λσ are linked. Parts separated by gaps shorter than ~λσ stay together.
    min_size : int, optional
        Smallest component; default ``max(10, ceil(0.01 n))``. Smaller ones are absorbed, never returned.
    dim_method : {"scale", "twonn", "mle"}
        Estimator of each part's ``d``.
    n_neighbors : int
        The k of the k-NN graph (memory O(n k)); the result does not depend on it (Borůvka completes it).
    max_rows_dim : int
        Rows used for each dimension estimate.
    random_state : int, Generator or None
        Subsamples and anchors of the dimension estimates; same seed, same labels.
    table : NeighbourTable, optional
        The neighbours of ``Z``'s rows already read (:func:`~inertial_diffusion.core.neighbours.neighbour_table`
        with ``n_neighbors`` and ``random_state``): the first part (all rows) takes its dimension estimate's anchors
        and its k-NN graph from it instead of reading them again.

    Returns
    -------
    ndarray of int64, shape (n,)
        Labels 0..K-1, component 0 the largest (ties: the one holding the lowest row index).

    Raises
    ------
    ValueError
        Bad input, or a part whose dimension cannot be estimated (tied distances): pass ``intrinsic_dim``.

    Examples
    --------
    A circle of 300 points and one of 200 points, 6 apart (radius 1): two parts, the larger first.

    >>> import numpy as np
    >>> theta = np.random.default_rng(0).uniform(0, 2 * np.pi, 300)
    >>> circle = np.c_[np.cos(theta), np.sin(theta)]
    >>> Z = np.r_[circle, circle[:200] + [6.0, 0.0]]
    >>> labels = find_components(Z, random_state=0)
    >>> np.bincount(labels).tolist(), int(labels[0]), int(labels[-1])
    ([300, 200], 0, 1)
    >>> np.bincount(find_components(circle, random_state=0)).tolist()  # one circle: one part
    [300]
    """
    Z = check_data(Z, min_rows=2)
    check_choice(dim_method, "dim_method", DIM_METHODS)
    lam = check_positive(link_factor, "link_factor")
    check_positive(bandwidth_scale, "bandwidth_scale")
    k = check_positive_int(n_neighbors, "n_neighbors")
    max_rows_dim = check_positive_int(max_rows_dim, "max_rows_dim")
    n = Z.shape[0]
    min_size = max(10, math.ceil(0.01 * n)) if min_size is None else check_positive_int(min_size, "min_size")
    rng = np.random.default_rng(random_state)
    if table is not None and table.knn_index.shape[0] != n:
        raise ValueError(f"the neighbour table was read from {table.knn_index.shape[0]} rows, not these {n}")

    final: list[np.ndarray] = []
    pending = [np.arange(n)]
    while pending:
        part = pending.pop()
        shared = table if part.size == n and n <= max_rows_dim else None  # the first part: all rows, as read
        distinct = shared.n_distinct if shared is not None else first_distinct_rows(Z[part]).size
        if part.size < 2 * min_size or distinct < 11:
            final.append(part)  # cannot hold two components of min_size, or too few rows to estimate d
            continue
        rows = part if part.size <= max_rows_dim else np.sort(rng.choice(part, max_rows_dim, replace=False))
        _, sigma = part_bandwidth(Z[rows], intrinsic_dim, bandwidth_scale, dim_method=dim_method,
                                  n_samples=part.size, random_state=rng, table=shared)
        knn = None if shared is None else (shared.knn_dist, shared.knn_index)
        labels = _absorb_small(Z[part], _epsilon_components(Z[part], lam * sigma, k, knn), min_size)
        pieces = [part[labels == c] for c in np.unique(labels)]
        if len(pieces) == 1:
            final.append(part)
        else:
            pending.extend(pieces)
    order = sorted(final, key=lambda p: (-p.size, p.min()))
    out = np.empty(n, dtype=np.int64)
    for label, p in enumerate(order):
        out[p] = label
    return out
