"""Bandwidth rule and intrinsic-dimension estimators.

The paper's rate-optimal choice (arXiv 2505.02508) is :math:`\\sigma = c\\, n^{-1/(d+4)}` with
stopping time :math:`h = \\sigma^2`, giving :math:`W_1 = O(n^{-2/(d+4)})` on a d-dimensional
manifold, independently of the ambient dimension D. ``d`` is estimated when not given.
"""

from __future__ import annotations

import numpy as np
from sklearn.neighbors import NearestNeighbors

from inertial_diffusion.core.validation import check_choice, check_data, check_positive, check_positive_int

__all__ = ["bandwidth_rule", "estimate_intrinsic_dim", "twonn_dimension", "mle_dimension", "resolve_intrinsic_dim"]

#: Rows used by the estimators; nearest-neighbour dimension estimates are stable long before this.
MAX_ESTIMATION_ROWS = 5000


def bandwidth_rule(n: int, intrinsic_dim: float, scale: float = 1.0) -> float:
    """:math:`\\sigma = c \\cdot n^{-1/(d+4)}` (standardized units)."""
    check_positive_int(n, "n")
    check_positive(intrinsic_dim, "intrinsic_dim")
    check_positive(scale, "bandwidth_scale")
    return float(scale * n ** (-1.0 / (intrinsic_dim + 4.0)))


def _neighbour_distances(X: np.ndarray, k: int) -> np.ndarray:
    """Distances to the k nearest distinct neighbours, duplicates of a point removed first."""
    X = np.unique(X, axis=0)
    if X.shape[0] <= k:
        raise ValueError(f"intrinsic-dimension estimation needs more than {k} distinct points, "
                         f"got {X.shape[0]}")
    dist, _ = NearestNeighbors(n_neighbors=k + 1).fit(X).kneighbors(X)
    return dist[:, 1:]


def twonn_dimension(X: np.ndarray, discard_fraction: float = 0.1) -> float:
    """TwoNN estimator (Facco, d'Errico, Rodriguez & Laio, Sci. Rep. 2017).

    With :math:`\\mu_i = r_2/r_1` the ratio of second to first neighbour distances,
    :math:`P(\\mu \\le x) = 1 - x^{-d}`; ``d`` is the slope through the origin of
    :math:`-\\log(1 - F_{emp}(\\mu))` against :math:`\\log\\mu`, after discarding the largest
    ``discard_fraction`` of ratios (as in the paper).
    """
    dist = _neighbour_distances(X, 2)
    mu = np.sort(dist[:, 1] / dist[:, 0])
    n = mu.size
    keep = int(np.floor(n * (1.0 - discard_fraction)))
    x = np.log(mu[:keep])
    y = -np.log(1.0 - np.arange(1, keep + 1) / n)
    return float(np.dot(x, y) / np.dot(x, x))


def mle_dimension(X: np.ndarray, k: int = 20) -> float:
    """Levina–Bickel maximum-likelihood estimator (NeurIPS 2004), with the MacKay–Ghahramani
    correction: average the per-point inverse estimates, then invert.

    :math:`\\hat m_k(x)^{-1} = \\frac{1}{k-1}\\sum_{j=1}^{k-1}\\log\\frac{T_k(x)}{T_j(x)}`.
    """
    dist = _neighbour_distances(X, k)
    inv = np.mean(np.log(dist[:, -1:] / dist[:, :-1]), axis=1)
    return float(1.0 / np.mean(inv))


def estimate_intrinsic_dim(X, method: str = "twonn", *, random_state=None, max_rows: int = MAX_ESTIMATION_ROWS,
                           k: int = 20) -> float:
    """Estimate the intrinsic dimension ``d`` of the data manifold.

    Parameters
    ----------
    X : array-like (n, D)
    method : {"twonn", "mle"}
        TwoNN (Facco et al. 2017) or Levina–Bickel MLE with ``k`` neighbours.
    random_state : int, Generator or None
        Picks the ``max_rows`` rows used when ``n > max_rows``.
    max_rows : int
        Subsample size for large data sets.
    k : int
        Neighbours for the MLE estimator.

    Returns
    -------
    float
        The estimate, capped at the number of features D; invariant to translation, global scaling
        and isometric embedding.
    """
    check_choice(method, "method", ("twonn", "mle"))
    k = check_positive_int(k, "k")
    X = check_data(X, min_rows=3)
    if X.shape[0] > max_rows:
        rng = np.random.default_rng(random_state)
        X = X[rng.choice(X.shape[0], size=max_rows, replace=False)]
    d = twonn_dimension(X) if method == "twonn" else mle_dimension(X, k=max(2, min(k, X.shape[0] - 2)))
    return float(min(d, X.shape[1]))  # a manifold in R^D has dimension <= D; tiny samples can overshoot



def resolve_intrinsic_dim(intrinsic_dim: float | None, rows, method: str = "twonn",
                          needed: bool = True) -> float | None:
    """The estimators' ``intrinsic_dim_``: the given ``d``, else (when ``needed``) the estimate on ``rows``
    (an array, or a callable returning one, called only then), else None."""
    if intrinsic_dim is not None:
        return float(check_positive(intrinsic_dim, "intrinsic_dim"))
    if not needed:
        return None
    return estimate_intrinsic_dim(rows() if callable(rows) else rows, method=method, random_state=0)
