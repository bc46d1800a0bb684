"""Class-conditional generators compared on real data: IDM, the empirical DM and classical baselines.

Every generator has one signature, ``fit_sample(X, y, counts, seed) -> (X_new, y_new)``: fit to the
labelled training rows and draw ``counts[c]`` rows of every class ``c``, each class modelled on its own
rows only. Same seed, same output. The baselines:

* **KDE (CV)** — Gaussian KDE :math:`x = y_I + h\\xi`, with ``h`` maximising the leave-one-out
  log-likelihood :math:`\\frac1n\\sum_i \\log\\frac1{n-1}\\sum_{j\\ne i} N(y_i; y_j, h^2 I)` on a
  log grid (exact LOO, not k-fold).
* **GMM (BIC)** — scikit-learn's ``GaussianMixture`` (full covariances), the number of components
  chosen by BIC.
* **PCA + GMM** — the same mixture in the span of the first principal components of the class
  (for images, where a full covariance in pixel space is not estimable from a class).
* **SMOTE** — Chawla et al. (JAIR 2002) used as a generator: :math:`x = y_i + u\\,(y_j - y_i)`,
  ``y_j`` one of the ``k = 5`` nearest same-class neighbours of a random ``y_i``, :math:`u \\sim U(0, 1)`.
* **noise** — a label-free Gaussian with the training rows' per-feature mean and variance: the floor
  every score should beat.
"""

from __future__ import annotations

import inspect
import math
from dataclasses import dataclass
from typing import Any, Callable, Mapping

import numpy as np
import torch

__all__ = ["Generator", "GeneratorUnavailable", "real_copies", "noise", "idm", "empirical_dm", "kde_cv", "gmm_bic",
           "pca_gmm", "smote", "kde_loo_bandwidth", "accepts"]

#: The one signature of every generator: ``fit_sample(X, y, counts, seed) -> (X_new, y_new)``.
FitSample = Callable[[np.ndarray, np.ndarray, Mapping[Any, int], int], tuple[np.ndarray, np.ndarray]]

class GeneratorUnavailable(RuntimeError):
    """Raised by a generator variant whose estimator parameter this version does not accept yet."""


@dataclass(frozen=True)
class Generator:
    """A named class-conditional generator; ``param`` labels its point on a frontier (c, bandwidth factor).

    Parameters
    ----------
    name : str
        Display name, the ``generator`` column of the tables (e.g. ``"IDM (c=0.5)"``).
    family : str
        Line of the frontier figure the generator belongs to (e.g. ``"IDM"``, ``"KDE"``).
    fit_sample : callable
        ``fit_sample(X, y, counts, seed) -> (X_new, y_new)``.
    param : float, default nan
        Its parameter on the family's frontier; NaN when not on one.

    Examples
    --------
    >>> g = Generator("SMOTE", "SMOTE", smote())
    >>> g.name, g.family, g.param
    ('SMOTE', 'SMOTE', nan)
    """

    name: str
    family: str
    fit_sample: FitSample
    param: float = float("nan")


def accepts(estimator_class: type[Any], parameter: str) -> bool:
    """Whether ``estimator_class.__init__`` takes ``parameter`` (guards variants that depend on new estimator work).

    Parameters
    ----------
    estimator_class : type
        An estimator class.
    parameter : str
        A constructor parameter name.

    Returns
    -------
    bool

    Examples
    --------
    >>> from inertial_diffusion import InertialDiffusion
    >>> accepts(InertialDiffusion, "bandwidth_scale"), accepts(InertialDiffusion, "no_such_parameter")
    (True, False)
    """
    return parameter in inspect.signature(estimator_class.__init__).parameters


def _per_class(draw: Callable[[np.ndarray, int, np.random.Generator], np.ndarray]) -> FitSample:
    """Lift ``draw(X_class, m, rng)`` to all classes; class ``k`` (sorted) uses ``default_rng([seed, k])``."""

    def fit_sample(X: np.ndarray, y: np.ndarray, counts: Mapping[Any, int], seed: int):
        parts, labels = [], []
        for k, (label, m) in enumerate(counts.items()):
            rng = np.random.default_rng([seed, k])
            parts.append(draw(X[y == label], int(m), rng))
            labels.append(np.full(int(m), label, dtype=y.dtype))
        return np.concatenate(parts), np.concatenate(labels)

    return fit_sample


# ----------------------------------------------------------------------------- references
def real_copies(X: np.ndarray, y: np.ndarray, counts: Mapping[Any, int], seed: int):
    """The training rows themselves (``counts`` must be the class sizes): train-on-real.

    The reference row of the TSTR table: ``X`` and ``y`` are returned unchanged; ``counts`` and ``seed``
    are not used.

    Parameters
    ----------
    X : ndarray of shape (n, D)
        Training rows.
    y : ndarray of shape (n,)
        Their class labels.
    counts : mapping of label to int
        Rows to draw per class, in output order.
    seed : int
        Seed of every draw.

    Returns
    -------
    X : ndarray of shape (n, D)
        The training rows.
    y : ndarray of shape (n,)
        Their labels.
    """
    return X, y


def noise(X: np.ndarray, y: np.ndarray, counts: Mapping[Any, int], seed: int):
    """Label-free Gaussian noise with the per-feature mean and standard deviation of all of ``X``.

    Every class gets rows of the same law (the classes are pooled), so a classifier trained on them can
    do no better than chance: the floor every generator should beat.

    Parameters
    ----------
    X : ndarray of shape (n, D)
        Training rows.
    y : ndarray of shape (n,)
        Their class labels.
    counts : mapping of label to int
        Rows to draw per class, in output order.
    seed : int
        Seed of every draw.

    Returns
    -------
    X_new : ndarray of shape (sum(counts.values()), D)
        The drawn rows, class by class in the order of ``counts``.
    y_new : ndarray of shape (sum(counts.values()),)
        Their labels (dtype of ``y``).
    """
    rng = np.random.default_rng(seed)
    m = sum(counts.values())
    out = X.mean(0) + X.std(0) * rng.standard_normal((m, X.shape[1]))
    return out, np.repeat(np.array(list(counts), dtype=y.dtype), list(counts.values()))


# ----------------------------------------------------------------------------- diffusion models
def _sample_fitted(model: Any, counts: Mapping[Any, int], seed: int, dtype) -> tuple[np.ndarray, np.ndarray]:
    parts = [model.sample(int(m), y=label, random_state=1000 * seed + k) for k, (label, m) in enumerate(counts.items())]
    labels = np.repeat(np.array(list(counts), dtype=dtype), list(counts.values()))
    return np.concatenate(parts).astype(np.float64), labels


def idm(**params: Any) -> FitSample:
    """IDM fitted with labels (``fit(X, y)``: one model per class, d shared) and sampled per class.

    Raises :class:`GeneratorUnavailable` when a parameter is not accepted by this version of
    :class:`~inertial_diffusion.InertialDiffusion` (the variant is then reported as skipped).

    Parameters
    ----------
    **params : Any
        Keyword arguments of :class:`~inertial_diffusion.InertialDiffusion` (``random_state`` is the
        seed), e.g. ``bandwidth_scale=0.5`` or ``standardize=False``.

    Returns
    -------
    callable
        A generator ``fit_sample(X, y, counts, seed) -> (X_new, y_new)``; class ``k`` of ``counts`` is
        sampled with ``random_state = 1000 * seed + k``. It raises :class:`GeneratorUnavailable` when
        called, not when built.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.standard_normal((200, 2)), np.repeat([0, 1], 100)
    >>> X[y == 1] += 4.0  # class 1 centred at (4, 4)
    >>> X_new, y_new = idm(intrinsic_dim=2)(X, y, {0: 50, 1: 50}, seed=0)
    >>> X_new.shape, np.bincount(y_new).tolist(), X_new[y_new == 1].mean(axis=0).round(0).tolist()
    ((100, 2), [50, 50], [4.0, 4.0])
    """
    from inertial_diffusion import InertialDiffusion

    def fit_sample(X, y, counts, seed):
        missing = [p for p in params if not accepts(InertialDiffusion, p)]
        if missing:
            raise GeneratorUnavailable(f"InertialDiffusion does not accept {', '.join(missing)} yet")
        model = InertialDiffusion(random_state=seed, **params).fit(X, y)
        return _sample_fitted(model, counts, seed, y.dtype)

    return fit_sample


def empirical_dm(X, y, counts, seed):
    """The empirical diffusion model run to t_min = 1e-8 and denoised: it returns training rows.

    Parameters
    ----------
    X : ndarray of shape (n, D)
        Training rows.
    y : ndarray of shape (n,)
        Their class labels.
    counts : mapping of label to int
        Rows to draw per class, in output order.
    seed : int
        Seed of every draw.

    Returns
    -------
    X_new : ndarray of shape (sum(counts.values()), D)
        The drawn rows, class by class in the order of ``counts``.
    y_new : ndarray of shape (sum(counts.values()),)
        Their labels (dtype of ``y``).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.standard_normal((40, 3)), np.repeat(["a", "b"], 20)
    >>> X_new, y_new = empirical_dm(X, y, {"a": 5, "b": 5}, seed=0)
    >>> y_new.tolist()
    ['a', 'a', 'a', 'a', 'a', 'b', 'b', 'b', 'b', 'b']
    >>> all(np.isclose(X, row).all(axis=1).any() for row in X_new)  # every sample is a training row
    True
    """
    from inertial_diffusion import EmpiricalDiffusion

    return _sample_fitted(EmpiricalDiffusion(random_state=seed).fit(X, y), counts, seed, y.dtype)


# ----------------------------------------------------------------------------- KDE
def kde_loo_bandwidth(X: np.ndarray, grid: np.ndarray | None = None) -> tuple[float, bool]:
    """Bandwidth ``h`` maximising the exact leave-one-out log-likelihood of a Gaussian KDE of ``X``.

    .. math:: \\ell(h) = \\frac1n\\sum_i \\log\\sum_{j\\ne i} e^{-|y_i-y_j|^2/(2h^2)}
              - \\log(n-1) - \\tfrac D2\\log(2\\pi h^2)

    The default grid is 41 log-spaced values from 0.01 to 3 times the RMS per-feature standard
    deviation. Returns ``(h, on_edge)``; ``on_edge`` flags a maximum at an end of the grid.

    Parameters
    ----------
    X : ndarray of shape (n, D)
        Rows, ``n >= 2``; the pairwise distances are held in memory (``n x n``).
    grid : ndarray, optional
        Candidate bandwidths (data units); None (default) uses the grid above.

    Returns
    -------
    h : float
        The maximizing bandwidth, in data units.
    on_edge : bool
        True when ``h`` is the first or last grid value (extend the grid).

    Raises
    ------
    ValueError
        Fewer than 2 rows.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).standard_normal((100, 2))
    >>> h, on_edge = kde_loo_bandwidth(X)
    >>> 0.3 < h < 0.9, on_edge
    (True, False)
    """
    n, D = X.shape
    if n < 2:
        raise ValueError("a leave-one-out bandwidth needs at least 2 rows")
    if grid is None:
        grid = np.sqrt(X.var(0).mean()) * np.logspace(-2, math.log10(3), 41)
    Xt = torch.as_tensor(X, dtype=torch.float64)
    sq = torch.cdist(Xt, Xt, compute_mode="donot_use_mm_for_euclid_dist") ** 2
    sq.fill_diagonal_(float("inf"))
    scores = []
    for h in grid:
        lse = torch.logsumexp(-sq / (2 * h * h), dim=1)
        scores.append(float(lse.mean()) - math.log(n - 1) - 0.5 * D * math.log(2 * math.pi * h * h))
    best = int(np.argmax(scores))
    return float(grid[best]), best in (0, len(grid) - 1)


def kde_cv(factor: float = 1.0) -> FitSample:
    """Per-class Gaussian KDE at ``factor`` times the leave-one-out bandwidth of the class.

    Parameters
    ----------
    factor : float, default 1.0
        Multiple of :func:`kde_loo_bandwidth`'s ``h`` (the frontier's parameter).

    Returns
    -------
    callable
        A generator ``fit_sample(X, y, counts, seed) -> (X_new, y_new)`` (see the module docstring);
        class ``k`` of ``counts`` draws from ``numpy.random.default_rng([seed, k])``.
    """

    def draw(Xc, m, rng):
        h, _ = kde_loo_bandwidth(Xc)
        return Xc[rng.integers(len(Xc), size=m)] + factor * h * rng.standard_normal((m, Xc.shape[1]))

    return _per_class(draw)


# ----------------------------------------------------------------------------- mixtures
def _gmm_bic(Z: np.ndarray, max_components: int, rng: np.random.Generator):
    from sklearn.mixture import GaussianMixture

    best, best_bic = None, np.inf
    seed = int(rng.integers(2**31))
    for k in range(1, max(1, min(max_components, len(Z) // 2)) + 1):
        gm = GaussianMixture(k, covariance_type="full", reg_covar=1e-4, random_state=seed).fit(Z)
        bic = gm.bic(Z)
        if bic < best_bic:
            best, best_bic = gm, bic
    return best


def gmm_bic(max_components: int = 5) -> FitSample:
    """Per-class Gaussian mixture, full covariances (``reg_covar`` 1e-4), components 1..K by BIC.

    Parameters
    ----------
    max_components : int, default 5
        ``K``, the largest number of components tried; capped at half the class's rows (at least 1).

    Returns
    -------
    callable
        A generator ``fit_sample(X, y, counts, seed) -> (X_new, y_new)`` (see the module docstring);
        class ``k`` of ``counts`` draws from ``numpy.random.default_rng([seed, k])``.
    """

    def draw(Xc, m, rng):
        return _gmm_bic(Xc, max_components, rng).sample(m)[0][rng.permutation(m)]

    return _per_class(draw)


def pca_gmm(n_components: int = 50, max_components: int = 5) -> FitSample:
    """Per-class PCA to ``n_components`` (at most n - 1), a BIC-chosen mixture there, mapped back.

    Parameters
    ----------
    n_components : int, default 50
        Principal components kept per class (capped at the class's rows minus one).
    max_components : int, default 5
        Largest number of mixture components tried (see :func:`gmm_bic`).

    Returns
    -------
    callable
        A generator ``fit_sample(X, y, counts, seed) -> (X_new, y_new)`` (see the module docstring);
        class ``k`` of ``counts`` draws from ``numpy.random.default_rng([seed, k])``.
    """
    from sklearn.decomposition import PCA

    def draw(Xc, m, rng):
        pca = PCA(min(n_components, len(Xc) - 1), random_state=int(rng.integers(2**31))).fit(Xc)
        Z = _gmm_bic(pca.transform(Xc), max_components, rng).sample(m)[0][rng.permutation(m)]
        return pca.inverse_transform(Z)

    return _per_class(draw)


# ----------------------------------------------------------------------------- SMOTE
def smote(k: int = 5) -> FitSample:
    """SMOTE as a generator: a random point moved a U(0, 1) fraction towards one of its k same-class neighbours.

    Parameters
    ----------
    k : int, default 5
        Nearest same-class neighbours to choose from (capped at the class's rows minus one).

    Returns
    -------
    callable
        A generator ``fit_sample(X, y, counts, seed) -> (X_new, y_new)`` (see the module docstring);
        class ``k`` of ``counts`` draws from ``numpy.random.default_rng([seed, k])``.

    Examples
    --------
    The generator protocol: fit to labelled rows, draw ``counts[c]`` rows of each class ``c``.

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.standard_normal((200, 2)), np.repeat([0, 1], 100)
    >>> fit_sample = smote(k=5)
    >>> X_new, y_new = fit_sample(X, y, {0: 3, 1: 2}, seed=0)
    >>> X_new.shape, y_new.tolist()
    ((5, 2), [0, 0, 0, 1, 1])
    >>> bool(np.array_equal(X_new, fit_sample(X, y, {0: 3, 1: 2}, seed=0)[0]))  # same seed, same rows
    True
    """
    from sklearn.neighbors import NearestNeighbors

    def draw(Xc, m, rng):
        kk = min(k, len(Xc) - 1)
        _, nbrs = NearestNeighbors(n_neighbors=kk + 1).fit(Xc).kneighbors(Xc)
        i = rng.integers(len(Xc), size=m)
        j = nbrs[i, 1 + rng.integers(kk, size=m)]  # column 0 is the point itself
        return Xc[i] + rng.random((m, 1)) * (Xc[j] - Xc[i])

    return _per_class(draw)
