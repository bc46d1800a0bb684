"""Fidelity metrics on features: improved precision and recall, and the Fréchet distance.

Nearest-neighbour distances alone cannot tell novelty from noise: a sample pushed off the data by
added noise is far from every training point, exactly like a genuinely new point. Precision asks
the converse question — does the sample fall inside the support of the real data, estimated by
k-NN balls — so a noisy generator scores a large distance *and* a low precision, while a novel
one keeps its precision.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from inertial_diffusion.core.validation import check_positive_int
from inertial_diffusion.evaluation.metrics import paired

__all__ = ["PrecisionRecall", "precision_recall", "knn_radii", "frechet_distance", "frechet_distance_gaussians"]

#: Rows of the (queries x references) distance block computed at once.
_BLOCK_ROWS = 1024


def _pair(real, fake) -> tuple[np.ndarray, np.ndarray]:
    return paired(real, fake, names=("real", "fake"), min_rows=2)


def knn_radii(X: np.ndarray, k: int) -> np.ndarray:
    """Distance from each row of ``X`` to its ``k``-th nearest *other* row of ``X``.

    Parameters
    ----------
    X : array-like (n, D)
        Points (read as float64). A duplicate row counts as a neighbour, at distance (about) 0.
    k : int
        Neighbour rank, ``1 <= k < n``.

    Returns
    -------
    ndarray (n,), float64

    Raises
    ------
    ValueError
        ``k`` out of range.

    Examples
    --------
    >>> import numpy as np
    >>> knn_radii(np.array([[0.0], [1.0], [3.0]]), 1).tolist()
    [1.0, 1.0, 2.0]
    """
    T = torch.as_tensor(X, dtype=torch.float64)
    if not 1 <= k < T.shape[0]:
        raise ValueError(f"k must be between 1 and n - 1 = {T.shape[0] - 1}, got {k}")
    out = []
    for start in range(0, T.shape[0], _BLOCK_ROWS):
        d = torch.cdist(T[start:start + _BLOCK_ROWS], T)
        # the k+1 smallest include the row itself at distance 0
        out.append(torch.topk(d, k + 1, dim=1, largest=False).values[:, k])
    return torch.cat(out).numpy()


def _inside_any_ball(queries: np.ndarray, centres: np.ndarray, radii: np.ndarray) -> np.ndarray:
    """Whether each query lies in at least one closed ball ``|q - c_j| <= r_j``."""
    Q = torch.as_tensor(queries, dtype=torch.float64)
    C = torch.as_tensor(centres, dtype=torch.float64)
    r = torch.as_tensor(radii, dtype=torch.float64)
    out = []
    for start in range(0, Q.shape[0], _BLOCK_ROWS):
        out.append((torch.cdist(Q[start:start + _BLOCK_ROWS], C) <= r).any(dim=1))
    return torch.cat(out).numpy()


@dataclass(frozen=True)
class PrecisionRecall:
    """Improved precision and recall (Kynkäänniemi et al., NeurIPS 2019), as returned by :func:`precision_recall`.

    Parameters
    ----------
    precision : float
        Fraction of fake rows inside the real manifold estimate: the union of the balls centred at
        the real rows with radius the distance to their ``k``-th nearest real neighbour.
    recall : float
        Fraction of real rows inside the fake manifold estimate (same construction on the fakes).
    k : int
        Neighbour rank of the ball radii.
    """

    precision: float
    recall: float
    k: int


def precision_recall(real, fake, k: int = 3) -> PrecisionRecall:
    """Improved precision and recall of ``fake`` against ``real`` (rows are feature vectors).

    .. math::
        \\text{precision} = \\frac1{|F|}\\sum_{\\phi \\in F} \\mathbb 1[\\exists \\phi' \\in R:\\
        |\\phi - \\phi'| \\le \\mathrm{NN}_k(\\phi', R)], \\qquad
        \\text{recall} = \\text{same with } R \\leftrightarrow F,

    Kynkäänniemi, Karras, Laine, Lehtinen & Aila, "Improved precision and recall metric for
    assessing generative models", NeurIPS 2019 (k = 3 there). Copies of real rows have precision
    1; noise added in many directions drives precision towards 0 (the noisy point leaves every
    ball) even though its nearest-neighbour distance grows like a novel point's would.

    Parameters
    ----------
    real, fake : array-like (n, D)
        Feature vectors, at least 2 rows each and the same number of features.
    k : int
        Neighbour rank of the ball radii.

    Returns
    -------
    PrecisionRecall

    Raises
    ------
    ValueError
        Bad input, or ``k`` not below the number of rows of both sets.

    Examples
    --------
    >>> import numpy as np
    >>> real = np.random.default_rng(0).normal(size=(200, 2))
    >>> precision_recall(real, real)
    PrecisionRecall(precision=1.0, recall=1.0, k=3)
    >>> precision_recall(real, real + 5.0)  # disjoint supports
    PrecisionRecall(precision=0.0, recall=0.0, k=3)
    """
    real, fake = _pair(real, fake)
    k = check_positive_int(k, "k")
    if k >= min(len(real), len(fake)):
        raise ValueError(f"k = {k} needs more than k rows in real ({len(real)}) and fake ({len(fake)})")
    precision = _inside_any_ball(fake, real, knn_radii(real, k)).mean()
    recall = _inside_any_ball(real, fake, knn_radii(fake, k)).mean()
    return PrecisionRecall(float(precision), float(recall), k)


def frechet_distance_gaussians(mu1, cov1, mu2, cov2) -> float:
    """Fréchet (2-Wasserstein squared) distance between N(mu1, cov1) and N(mu2, cov2).

    .. math:: |\\mu_1 - \\mu_2|^2 + \\operatorname{tr}\\big(\\Sigma_1 + \\Sigma_2
              - 2(\\Sigma_1^{1/2}\\Sigma_2\\Sigma_1^{1/2})^{1/2}\\big)

    (Dowson & Landau 1982; the FID of Heusel et al. 2017 on classifier features). The trace of
    the matrix square root is the sum of the square roots of the eigenvalues of the symmetric
    :math:`\\Sigma_1^{1/2}\\Sigma_2\\Sigma_1^{1/2}`, which avoids the complex round-off of
    ``sqrtm(cov1 @ cov2)``.

    Parameters
    ----------
    mu1, mu2 : array-like (D,)
        Means.
    cov1, cov2 : array-like (D, D)
        Covariances (symmetric positive semi-definite).

    Returns
    -------
    float
        Non-negative (round-off below 0 is clipped).

    Raises
    ------
    ValueError
        Shapes that do not match.

    Examples
    --------
    >>> import numpy as np
    >>> round(frechet_distance_gaussians(np.zeros(2), np.eye(2), np.ones(2), np.eye(2)), 6)
    2.0
    >>> round(frechet_distance_gaussians([0.0], [[1.0]], [0.0], [[4.0]]), 6)  # (2 - 1)^2
    1.0
    """
    mu1, mu2 = np.atleast_1d(np.asarray(mu1, float)), np.atleast_1d(np.asarray(mu2, float))
    cov1, cov2 = np.atleast_2d(np.asarray(cov1, float)), np.atleast_2d(np.asarray(cov2, float))
    D = mu1.shape[0]
    if mu2.shape != (D,) or cov1.shape != (D, D) or cov2.shape != (D, D):
        raise ValueError(f"shapes do not match: mu {mu1.shape}, {mu2.shape}; cov {cov1.shape}, {cov2.shape}")
    w1, V1 = np.linalg.eigh((cov1 + cov1.T) / 2)
    root1 = (V1 * np.sqrt(np.clip(w1, 0, None))) @ V1.T
    middle = root1 @ cov2 @ root1
    cross = np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2), 0, None)).sum()
    value = float(np.sum((mu1 - mu2) ** 2) + np.trace(cov1) + np.trace(cov2) - 2 * cross)
    return max(value, 0.0)


def frechet_distance(A, B) -> float:
    """Fréchet distance between Gaussians fitted to the rows of ``A`` and of ``B`` (sample mean and
    unbiased covariance); with classifier features, the FID of Heusel et al. (NeurIPS 2017).

    Parameters
    ----------
    A, B : array-like (n, D)
        At least 2 rows each and the same number of features.

    Returns
    -------
    float
        See :func:`frechet_distance_gaussians`.

    Raises
    ------
    ValueError
        Bad input (see :func:`~inertial_diffusion.evaluation.metrics.paired`).

    Examples
    --------
    >>> import numpy as np
    >>> A = np.random.default_rng(0).normal(size=(200, 2))
    >>> round(frechet_distance(A, A), 6)
    0.0
    >>> round(frechet_distance(A, A + np.array([3.0, 4.0])), 6)  # a shift by 5: 5^2
    25.0
    """
    A, B = _pair(A, B)
    return frechet_distance_gaussians(A.mean(0), np.cov(A, rowvar=False), B.mean(0), np.cov(B, rowvar=False))
