"""The fit's nearest-neighbour distances, read in one pass over its estimation rows and shared by its estimates.

By default a fit reads distances among the same capped rows (at most
:data:`~inertial_diffusion.core.bandwidth.MAX_ESTIMATION_ROWS`, a seeded subsample) three times: the model's
intrinsic dimension at the kernel's scale and the separated-parts search's first dimension estimate (each the
sorted distances from :data:`~inertial_diffusion.core.bandwidth.SCALE_ANCHORS` anchor rows to their nearest
distinct rows, :func:`~inertial_diffusion.core.bandwidth.scale_dimension`), and that search's k-nearest-neighbour
graph (every row's ``k`` nearest rows, :func:`~inertial_diffusion.core.components.find_components`). The anchors are
rows too, so one blocked pass of ``|q|^2 + |y|^2 - 2 q.y`` over all pairs (float64, as each of them computed it)
gives all three: :func:`neighbour_table`. The estimates read from it are the ones they would compute themselves,
up to the rounding of the centring (measured at 2e5 x 784: 0.69 s of the three passes became 0.38 s).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from inertial_diffusion.core.bandwidth import (SCALE_ANCHORS, SCALE_MAX_K, SCALE_MIN_ROWS, draw_anchors,
                                               first_distinct_rows)

__all__ = ["NeighbourTable", "neighbour_table"]


@dataclass(frozen=True)
class NeighbourTable:
    """Nearest-neighbour distances of a set of rows (see :func:`neighbour_table`).

    Parameters
    ----------
    anchor_sq : ndarray (a, c)
        Squared distances from each anchor row to its ``c`` nearest other *distinct* rows, ascending, in
        standardized units (rows centred and divided by their RMS distance to the mean): what
        :func:`~inertial_diffusion.core.bandwidth.scale_dimension` reads.
    anchors : ndarray of int64 (a,)
        The anchors, as positions among the distinct rows (what ``random_state`` drew).
    n_distinct : int
        Distinct rows.
    knn_dist : ndarray (m, k)
        Distances (in the rows' units) from each row to its ``k`` nearest other rows (duplicates included, at
        distance 0), ascending.
    knn_index : ndarray (m, k) of int64
        Their row indices.
    """

    anchor_sq: np.ndarray
    anchors: np.ndarray
    n_distinct: int
    knn_dist: np.ndarray
    knn_index: np.ndarray


def neighbour_table(X: np.ndarray, n_neighbors: int, *, n_anchors: int = SCALE_ANCHORS, random_state=None,
                    block_rows: int = 1024) -> NeighbourTable | None:
    """Every row's ``n_neighbors`` nearest rows and the anchors' nearest distinct rows, in one pass.

    The anchors are drawn as :func:`~inertial_diffusion.core.bandwidth.scale_dimension` draws them (``random_state``
    picks ``min(n_anchors, distinct)`` positions among the distinct rows), so the table holds what it would read.

    Parameters
    ----------
    X : ndarray (m, D)
        The rows (finite).
    n_neighbors : int
        ``k`` of the k-nearest-neighbour lists (at most ``m - 1`` are kept).
    n_anchors : int
        Anchor rows of the dimension estimate.
    random_state : int, Generator or None
        Picks the anchors.
    block_rows : int
        Query rows per block (memory ``block_rows x m`` float64).

    Returns
    -------
    NeighbourTable or None
        None where the dimension estimate would not read anchors this way: fewer than
        :data:`~inertial_diffusion.core.bandwidth.SCALE_MIN_ROWS` distinct rows, ``D <= 10`` (it uses a k-d tree
        there) or rows without spread.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(300, 12))
    >>> table = neighbour_table(X, 5, random_state=0)
    >>> table.knn_index.shape, table.anchor_sq.shape, table.n_distinct
    ((300, 5), (300, 256), 300)
    >>> from sklearn.neighbors import NearestNeighbors
    >>> dist, index = NearestNeighbors(n_neighbors=5).fit(X).kneighbors()
    >>> bool((index == table.knn_index).all()), bool(np.allclose(dist, table.knn_dist))
    (True, True)
    """
    X = np.asarray(X, dtype=np.float64)
    m, dim = X.shape
    if dim <= 10:
        return None
    distinct = first_distinct_rows(X)
    if distinct.size < SCALE_MIN_ROWS:
        return None
    centred = X - X.mean(axis=0)
    rms_sq = float(np.mean(np.sum(centred**2, axis=1)))
    if not rms_sq > 0:
        return None
    n_columns = min(2 * SCALE_MAX_K, distinct.size - 1)
    drawn = draw_anchors(distinct.size, n_anchors, random_state)
    anchors = distinct[drawn]
    position = np.full(m, -1)
    position[anchors] = np.arange(anchors.size)
    duplicate = torch.ones(m, dtype=torch.bool)
    duplicate[torch.from_numpy(distinct)] = False
    k = min(int(n_neighbors), m - 1)
    rows = torch.from_numpy(centred)
    sq_norms = (rows * rows).sum(dim=1)
    knn_sq = torch.empty((m, k), dtype=torch.float64)
    knn_index = torch.empty((m, k), dtype=torch.int64)
    anchor_sq = torch.empty((anchors.size, n_columns), dtype=torch.float64)
    for q0 in range(0, m, block_rows):
        q1 = min(m, q0 + block_rows)
        sq = torch.addmm(sq_norms[None, :], rows[q0:q1], rows.T, alpha=-2.0).add_(sq_norms[q0:q1, None])
        sq[torch.arange(q1 - q0), torch.arange(q0, q1)] = float("inf")  # a row is not its own neighbour
        knn_sq[q0:q1], knn_index[q0:q1] = torch.topk(sq, k, dim=1, largest=False, sorted=True)
        here = torch.from_numpy(position[q0:q1])
        chosen = (here >= 0).nonzero().squeeze(1)
        if chosen.numel():  # anchors: their nearest distinct rows
            block = sq[chosen]
            block[:, duplicate] = float("inf")
            anchor_sq[here[chosen]] = torch.topk(block, n_columns, dim=1, largest=False, sorted=True).values
    return NeighbourTable(anchor_sq=(anchor_sq / rms_sq).clamp_(min=0.0).numpy(), anchors=drawn,
                          n_distinct=int(distinct.size),
                          knn_dist=knn_sq.clamp_(min=0.0).sqrt_().numpy(), knn_index=knn_index.numpy())
