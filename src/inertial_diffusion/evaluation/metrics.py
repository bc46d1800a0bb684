"""Sample-quality and memorization metrics (plain functions)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from sklearn.neighbors import NearestNeighbors

from inertial_diffusion.core.validation import check_data, check_positive_int

__all__ = ["energy_distance", "energy_test", "TestResult", "nearest_distances", "wasserstein1", "duplicate_threshold",
           "floor_corrected", "MemorizationReport", "memorization_report", "ManifoldError", "manifold_error"]


def _distances(A: torch.Tensor, B: torch.Tensor) -> torch.Tensor:
    """Euclidean distances from direct differences: the GEMM form |a|^2 - 2ab + |b|^2 of
    ``torch.cdist``'s default loses ~1e-9 relative accuracy on the energy statistic in float64."""
    return torch.cdist(A, B, compute_mode="donot_use_mm_for_euclid_dist")


def _pairwise_mean_distance(A: torch.Tensor, B: torch.Tensor) -> torch.Tensor:
    return _distances(A, B).mean()


def _energy_from_distances(dist: torch.Tensor, first: torch.Tensor) -> torch.Tensor:
    """Energy statistic of a pooled distance matrix split by the boolean mask ``first``."""
    second = ~first
    dxy = dist[first][:, second].mean()
    dxx = dist[first][:, first].mean()
    dyy = dist[second][:, second].mean()
    return 2 * dxy - dxx - dyy


#: Bytes of the (permutations x N) float64 block that energy_test's batched statistic keeps at once.
_PERMUTATION_BLOCK_BYTES = 32 * 2**20

#: Permutation statistics within this fraction of the mean pooled distance of the observed one count
#: as ties (exceedances): a permutation that reproduces the observed split (or swaps two equal-sized
#: samples) has exactly the observed statistic, but a different summation order may round it 1e-16 lower.
_TIE_TOLERANCE = 1e-9


def _permutation_statistics(dist: torch.Tensor, first_mask: torch.Tensor, n_first: int) -> torch.Tensor:
    """Energy statistics of many splits of one pooled distance matrix at once.

    With :math:`m_k` the 0/1 indicator of the first sample in split ``k``, :math:`r = D\\mathbf 1` and
    :math:`S = \\mathbf 1^\\top D \\mathbf 1`, the three double sums are
    :math:`s_{xx} = m_k^\\top D m_k`, :math:`s_{xy} = m_k^\\top r - s_{xx}` and
    :math:`s_{yy} = S - 2 m_k^\\top r + s_{xx}` (D symmetric), so one GEMM ``M D`` replaces the three
    masked copies of D that each permutation of the straightforward loop makes.
    """
    n_second = dist.shape[0] - n_first
    M = first_mask.to(dist.dtype)
    row_sums = dist.sum(dim=1)
    total = row_sums.sum()
    s_xx = ((M @ dist) * M).sum(dim=1)
    m_r = M @ row_sums
    s_xy = m_r - s_xx
    s_yy = total - 2 * m_r + s_xx
    return 2 * s_xy / (n_first * n_second) - s_xx / n_first**2 - s_yy / n_second**2


def energy_distance(A, B) -> float:
    """Energy distance :math:`2E|X-Y| - E|X-X'| - E|Y-Y'|` (Székely & Rizzo), V-statistic form.

    Zero iff the two laws agree (for finite first moments); a metric on laws after a square root.

    Parameters
    ----------
    A : array-like (m, D)
        First sample, at least one row.
    B : array-like (k, D)
        Second sample, with the same number of features.

    Returns
    -------
    float
        The statistic over the empirical measures (mean pairwise distances, diagonals included).

    Raises
    ------
    ValueError
        Input that is not a finite 2-D array, or different numbers of features.

    Examples
    --------
    >>> import numpy as np
    >>> A = np.array([[0.0], [1.0]])
    >>> B = np.array([[0.5], [1.5]])
    >>> energy_distance(A, B)
    0.5
    >>> energy_distance(A, A)
    0.0
    """
    A = torch.as_tensor(check_data(A, name="A", min_rows=1))
    B = torch.as_tensor(check_data(B, name="B", min_rows=1))
    if A.shape[1] != B.shape[1]:
        raise ValueError(f"A and B have different numbers of features: {A.shape[1]} vs {B.shape[1]}")
    return float(2 * _pairwise_mean_distance(A, B) - _pairwise_mean_distance(A, A) - _pairwise_mean_distance(B, B))


@dataclass(frozen=True)
class TestResult:
    """A statistic with its permutation p-value, as returned by :func:`energy_test`.

    Parameters
    ----------
    statistic : float
        The observed statistic (for :func:`energy_test`, the energy distance).
    pvalue : float
        ``(1 + #{permutation statistic >= observed}) / (1 + n_permutations)``: never below
        ``1 / (1 + n_permutations)``.
    n_permutations : int
        Number of random relabellings.
    """

    statistic: float
    pvalue: float
    n_permutations: int


def energy_test(A, B, n_permutations: int = 500, random_state=None) -> TestResult:
    """Two-sample permutation test of equal laws with the energy distance.

    The statistic is :func:`energy_distance` of ``A`` and ``B``; permutation ``k`` relabels the
    pooled rows by ``rng.permutation(N)`` drawn in turn from ``numpy.random.default_rng(random_state)``
    (row ``i`` joins the first sample when ``perm[i] < len(A)``). The p-value is
    ``(1 + #{perm stat >= observed}) / (1 + n_permutations)``, exact in level. The permutation
    statistics are computed in blocks by one matrix product each (see ``_permutation_statistics``);
    statistic and p-value are those of the straightforward loop for the same seed.

    Parameters
    ----------
    A : array-like (m, D)
        First sample, at least one row.
    B : array-like (k, D)
        Second sample, with the same number of features.
    n_permutations : int, default=500
        Number of random relabellings.
    random_state : int, Generator or None
        Seeds ``numpy.random.default_rng``.

    Returns
    -------
    TestResult
        ``statistic`` (the energy distance), ``pvalue`` and ``n_permutations``.

    Raises
    ------
    ValueError
        Input that is not a finite 2-D array, different numbers of features, or ``n_permutations`` not a
        positive integer.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> A = rng.normal(size=(30, 2))
    >>> B = rng.normal(size=(30, 2)) + 2.0
    >>> result = energy_test(A, B, n_permutations=99, random_state=0)
    >>> round(result.statistic, 2), result.pvalue  # no permutation beats the observed split
    (3.02, 0.01)
    """
    A = check_data(A, name="A", min_rows=1)
    B = check_data(B, name="B", min_rows=1)
    if A.shape[1] != B.shape[1]:
        raise ValueError(f"A and B have different numbers of features: {A.shape[1]} vs {B.shape[1]}")
    n_permutations = check_positive_int(n_permutations, "n_permutations")
    pooled = torch.as_tensor(np.vstack([A, B]))
    n, n_first = pooled.shape[0], A.shape[0]
    dist = _distances(pooled, pooled)
    first = torch.zeros(n, dtype=torch.bool)
    first[:n_first] = True
    observed = float(_energy_from_distances(dist, first))
    # ties are judged against the observed split's statistic computed the batched way
    reference = float(_permutation_statistics(dist, first[None, :], n_first)[0])
    tolerance = _TIE_TOLERANCE * float(dist.mean())
    rng = np.random.default_rng(random_state)
    block = max(1, _PERMUTATION_BLOCK_BYTES // (8 * n))
    exceed = 0
    for start in range(0, n_permutations, block):
        perms = np.stack([rng.permutation(n) for _ in range(min(block, n_permutations - start))])
        stats = _permutation_statistics(dist, torch.as_tensor(perms < n_first), n_first)
        exceed += int((stats >= reference - tolerance).sum())
    return TestResult(observed, (1 + exceed) / (1 + n_permutations), n_permutations)


def nearest_distances(samples, train) -> np.ndarray:
    """Euclidean distance from each sample to its nearest training point.

    Parameters
    ----------
    samples : array-like (m, D)
        Query points; may have no rows.
    train : array-like (n, D)
        Reference points, at least one row.

    Returns
    -------
    ndarray (m,)
        Distance of each sample to its nearest row of ``train`` (0 for a copy).

    Raises
    ------
    ValueError
        Input that is not a finite 2-D array, or different numbers of features.

    Examples
    --------
    >>> import numpy as np
    >>> A = np.array([[0.0], [1.0]])
    >>> B = np.array([[0.5], [1.5]])
    >>> nearest_distances(B, A).tolist()
    [0.5, 0.5]
    """
    train = check_data(train, name="train", min_rows=1)
    if np.shape(samples)[:1] == (0,):
        return np.empty(0)
    samples = check_data(samples, name="samples", min_rows=1)
    if samples.shape[1] != train.shape[1]:
        raise ValueError(f"samples have {samples.shape[1]} features but train has {train.shape[1]}")
    dist, _ = NearestNeighbors(n_neighbors=1).fit(train).kneighbors(samples)
    return dist[:, 0]


def paired(A, B, names: tuple[str, str] = ("A", "B"), min_rows: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Two point sets as float arrays with the same number of features (errors name them).

    Parameters
    ----------
    A, B : array-like (n, D)
        The two point sets (numbers of rows may differ).
    names : tuple of str, default=("A", "B")
        The names used in error messages.
    min_rows : int, default=1
        Fewest rows each set must have.

    Returns
    -------
    A, B : ndarray
        Finite float arrays (float32 kept, anything else float64).

    Raises
    ------
    ValueError
        Input that is not a finite 2-D array, too few rows, or different numbers of features.

    Examples
    --------
    >>> A, B = paired([[1, 2]], [[3, 4]])
    >>> A.dtype, B.shape
    (dtype('float64'), (1, 2))
    """
    A = check_data(A, name=names[0], min_rows=min_rows)
    B = check_data(B, name=names[1], min_rows=min_rows)
    if A.shape[1] != B.shape[1]:
        raise ValueError(f"{names[0]} and {names[1]} have different numbers of features: {A.shape[1]} vs {B.shape[1]}")
    return A, B


_pair = paired


def wasserstein1(A, B, method: str = "exact", n_projections: int = 200, random_state=None,
                 max_iter: int = 10_000_000) -> float:
    """Wasserstein-1 distance between the empirical measures of ``A`` and ``B`` (uniform weights).

    ``method="exact"``: optimal transport with Euclidean cost by POT's network simplex
    (``ot.emd2``); raises ``RuntimeError`` if the solver stops before optimality (raise ``max_iter``).
    ``method="sliced"``: mean over ``n_projections`` seeded random directions :math:`\\theta_k` of the
    1-D W1 of the projections, :math:`\\frac1K\\sum_k W_1(\\theta_k^\\top A, \\theta_k^\\top B)`, by
    ``ot.sliced_wasserstein_distance(..., p=1)`` with these directions. Each projection is 1-Lipschitz,
    so every term, and hence the value for any directions, is a lower bound of the exact W1.

    Parameters
    ----------
    A : array-like (m, D)
        First sample, at least one row.
    B : array-like (k, D)
        Second sample, with the same number of features.
    method : {"exact", "sliced"}, default="exact"
        Exact optimal transport, or the sliced approximation (a lower bound, for large samples).
    n_projections : int, default=200
        "sliced" only: number of random directions.
    random_state : int, Generator or None
        "sliced" only: seeds the directions.
    max_iter : int, default=10_000_000
        "exact" only: iteration limit of the network simplex.

    Returns
    -------
    float
        The distance, in the units of the data.

    Raises
    ------
    ValueError
        Bad input (see :func:`paired`) or an unknown ``method``.
    RuntimeError
        The exact solver stopped before optimality.

    Examples
    --------
    >>> import numpy as np
    >>> A = np.array([[0.0], [1.0]])
    >>> B = np.array([[0.5], [1.5]])
    >>> round(wasserstein1(A, B), 6)
    0.5
    >>> round(wasserstein1(A, B, method="sliced", random_state=0), 6)  # in 1-D every direction is +-1
    0.5
    """
    A, B = _pair(A, B)
    if method == "exact":
        import ot

        from scipy.spatial.distance import cdist

        cost = cdist(A, B)  # direct differences: ot.dist's |a|^2 - 2ab + |b|^2 leaves ~1e-8 on the diagonal
        a = np.full(A.shape[0], 1.0 / A.shape[0])
        b = np.full(B.shape[0], 1.0 / B.shape[0])
        value, log = ot.emd2(a, b, cost, numItermax=max_iter, log=True)
        if log.get("warning"):
            raise RuntimeError(f"exact W1 did not reach optimality: {log['warning']}; raise max_iter")
        return float(value)
    if method == "sliced":
        rng = np.random.default_rng(random_state)
        directions = rng.standard_normal((A.shape[1], check_positive_int(n_projections, "n_projections")))
        directions /= np.linalg.norm(directions, axis=0, keepdims=True)
        # directions in batches: memory ~ (m + k) x batch, not (m + k) x n_projections (2e6 rows x 200 directions
        # would be 6 GB of projections); at most 2^22 projected values (32 MB) at a time
        batch = max(1, min(directions.shape[1], int(2**22 // max(A.shape[0] + B.shape[0], 1))))
        total = 0.0
        for j in range(0, directions.shape[1], batch):
            PA, PB = A @ directions[:, j:j + batch], B @ directions[:, j:j + batch]
            total += sum(_w1_1d(PA[:, c], PB[:, c]) for c in range(PA.shape[1]))
        return total / directions.shape[1]
    raise ValueError(f"unknown method {method!r}; expected 'exact' or 'sliced'")


def _w1_1d(a: np.ndarray, b: np.ndarray) -> float:
    """Exact 1-D W1 of two empirical measures: the integral of ``|F_a^-1(u) - F_b^-1(u)|`` over the merged
    quantile breakpoints (O((m + k) log(m + k)) time, O(m + k) memory)."""
    a, b = np.sort(a), np.sort(b)
    u = np.union1d(np.arange(1, a.size + 1) / a.size, np.arange(1, b.size + 1) / b.size)
    width = np.diff(np.concatenate([[0.0], u]))
    qa = a[np.minimum(np.searchsorted(np.arange(1, a.size + 1) / a.size, u - 1e-12), a.size - 1)]
    qb = b[np.minimum(np.searchsorted(np.arange(1, b.size + 1) / b.size, u - 1e-12), b.size - 1)]
    return float(np.sum(width * np.abs(qa - qb)))


def floor_corrected(raw: float, floor: float) -> float:
    """Remove an estimator's sampling floor in quadrature: :math:`\\sqrt{\\max(W^2 - F^2, 0)}`.

    ``raw`` is a plug-in W1 between ``m`` samples and ``m`` population points; ``floor`` the same
    estimator between two independent population samples of size ``m`` (its value when the laws
    agree). The plug-in overshoots a true distance ``delta`` roughly like :math:`\\sqrt{\\delta^2 + F^2}`.
    Measured on concentric spheres (radii 1 and 1 - delta, so W1 = delta exactly; ``m`` = 1500 and
    4000, d = 1, 2, floor averaged over 4 draws): the corrected value is within ~25 % of delta at
    delta = F, ~10 % at 1.5 F and ~3 % at 3 F; below F it is unreliable (the 1-D floor itself varies
    by ±30 % between draws). Report values below ~1.5 F as near the floor.

    Parameters
    ----------
    raw : float
        The plug-in W1, ``W``.
    floor : float
        Its sampling floor, ``F``.

    Returns
    -------
    float
        :math:`\\sqrt{\\max(W^2 - F^2, 0)}`, the estimate of the true distance.

    Raises
    ------
    ValueError
        ``raw`` or ``floor`` negative or not finite.

    Examples
    --------
    >>> round(floor_corrected(0.05, 0.03), 6)
    0.04
    >>> floor_corrected(0.02, 0.03)  # below the floor
    0.0
    """
    if not (np.isfinite(raw) and np.isfinite(floor)) or raw < 0 or floor < 0:
        raise ValueError(f"raw and floor must be finite and non-negative, got {raw!r}, {floor!r}")
    return float(np.sqrt(max(raw * raw - floor * floor, 0.0)))


#: A training row is isolated when its nearest neighbour is farther than this many median NN distances.
ISOLATION_FACTOR = 5.0


@dataclass(frozen=True)
class MemorizationReport:
    """How close samples are to the training set, as returned by :func:`memorization_report`.

    ``str()`` of a report is a table of its numbers in words.

    Parameters
    ----------
    n_samples : int
        Number of samples judged.
    copy_rate : float
        Fraction of samples within ``1e-6 * scale`` of a training point (exact copies).
    dup_rate : float
        Fraction of samples closer to a training point than ``tau``.
    tau : float
        The ``percentile``-th percentile of training nearest-neighbour distances.
    percentile : float
        The percentile that set ``tau``.
    median_nn_distance : float
        Median distance from a sample to its nearest training point.
    nn_ratio : float or None
        Median sample->train distance over median held_out->train distance (about 1 for a
        generator as novel as fresh data, 0 for copies); None without ``held_out``.
    scale : float
        RMS distance of the training rows to their mean.
    isolated_rows : int, default=0
        Training rows whose nearest neighbour is more than :data:`ISOLATION_FACTOR` times the median
        nearest-neighbour distance away: where the data are not dense at the kernel's scale, IDM returns
        near-copies of them.
    isolated_dup_rate : float, default=0.0
        Fraction of samples that are near-duplicates (closer than ``tau``) of an isolated row.
    """

    n_samples: int
    copy_rate: float
    dup_rate: float
    tau: float
    percentile: float
    median_nn_distance: float
    nn_ratio: float | None
    scale: float
    isolated_rows: int = 0
    isolated_dup_rate: float = 0.0

    def __str__(self) -> str:
        rows = [("samples", f"{self.n_samples}"),
                ("exact copies (within 1e-6 x scale)", f"{100 * self.copy_rate:.2f} %"),
                (f"DupRate (closer than tau = {self.tau:.4g}, p{self.percentile:g} of train NN)",
                 f"{100 * self.dup_rate:.2f} %"),
                ("median distance to nearest training point", f"{self.median_nn_distance:.4g}"),
                ("NN distance ratio (samples / held-out)", "n/a" if self.nn_ratio is None else f"{self.nn_ratio:.3f}"),
                (f"isolated training rows (NN > {ISOLATION_FACTOR:g} x median)", f"{self.isolated_rows}"),
                ("samples that near-duplicate an isolated row", f"{100 * self.isolated_dup_rate:.2f} %")]
        width = max(len(k) for k, _ in rows)
        return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)


def duplicate_threshold(nn_distances: np.ndarray, percentile: float = 1.0) -> float:
    """DupRate's threshold: the ``percentile`` of the training rows' distances to their nearest *distinct* row.

    Rows repeated in the training set (tables often hold identical rows) have a nearest distance of 0; counted,
    they would pull the percentile to 0 and make every sample novel by definition. They are left out; a sample at
    distance 0 from a training row still counts as a near-duplicate.

    Parameters
    ----------
    nn_distances : ndarray (n,)
        Each training row's distance to its nearest other row.
    percentile : float, default=1.0
        The percentile.

    Returns
    -------
    float
        0 when every row repeats another.

    Examples
    --------
    >>> import numpy as np
    >>> round(duplicate_threshold(np.r_[np.zeros(50), np.linspace(1, 2, 50)], 1.0), 2)  # half the rows are repeats
    1.01
    """
    distinct = np.asarray(nn_distances, dtype=float)
    distinct = distinct[distinct > 0]
    return float(np.percentile(distinct, percentile)) if distinct.size else 0.0


def memorization_report(samples, train, held_out=None, percentile: float = 1.0) -> MemorizationReport:
    """Copy rate, DupRate and nearest-neighbour distance ratio of ``samples`` against ``train``.

    Parameters
    ----------
    samples : array-like (m, D)
        Generated points, at least one row.
    train : array-like (n, D)
        The training set, at least 2 rows.
    held_out : array-like (k, D), optional
        Fresh data from the same law, for ``nn_ratio``.
    percentile : float, default=1.0
        Percentile of the training nearest-neighbour distances that sets ``tau``, the DupRate
        threshold (at 1, ``tau`` is below 99 % of the training rows' nearest-neighbour distances).

    Returns
    -------
    MemorizationReport
        Copy rate, DupRate, the isolated-row counts and the nearest-neighbour distances.

    Raises
    ------
    ValueError
        Input that is not a finite 2-D array, or different numbers of features.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> train = rng.normal(size=(50, 2))
    >>> report = memorization_report(train[:10], train, held_out=rng.normal(size=(10, 2)))
    >>> report.copy_rate, report.nn_ratio  # every sample is a copy
    (1.0, 0.0)
    """
    train = check_data(train, name="train", min_rows=2)
    samples = check_data(samples, name="samples", min_rows=1)
    if samples.shape[1] != train.shape[1]:
        raise ValueError(f"samples have {samples.shape[1]} features but train has {train.shape[1]}")
    scale = float(np.sqrt(np.mean(np.sum((train - train.mean(0)) ** 2, axis=1))))
    dist, _ = NearestNeighbors(n_neighbors=2).fit(train).kneighbors(train)
    distinct = np.unique(train, axis=0)  # repeated rows are no neighbours of each other for the threshold
    tau = duplicate_threshold(NearestNeighbors(n_neighbors=2).fit(distinct).kneighbors(distinct)[0][:, 1]
                              if distinct.shape[0] > 1 else np.zeros(1), percentile)
    isolated = dist[:, 1] > ISOLATION_FACTOR * np.median(dist[:, 1])
    nn_dist, nn_index = NearestNeighbors(n_neighbors=1).fit(train).kneighbors(samples)
    nn, nn_index = nn_dist[:, 0], nn_index[:, 0]
    ratio = None
    if held_out is not None:
        held_out = check_data(held_out, name="held_out", min_rows=1)
        ratio = float(np.median(nn) / np.median(nearest_distances(held_out, train)))
    duplicate = (nn < tau) | (nn == 0)
    return MemorizationReport(samples.shape[0], float(np.mean(nn <= 1e-6 * scale)), float(np.mean(duplicate)),
                              tau, float(percentile), float(np.median(nn)), ratio, scale, int(isolated.sum()),
                              float(np.mean(isolated[nn_index] & duplicate)))


@dataclass(frozen=True)
class ManifoldError:
    """Summary of the distances of samples to a manifold with a known exact distance.

    Returned by :func:`manifold_error`; all three in the units of the data.

    Parameters
    ----------
    mean : float
        Mean distance.
    median : float
        Median distance.
    max : float
        Largest distance.
    """

    mean: float
    median: float
    max: float


def manifold_error(samples, manifold) -> ManifoldError:
    """Mean, median and max of ``manifold.distance(samples)`` (see :mod:`inertial_diffusion.evaluation.datasets`).

    Parameters
    ----------
    samples : array-like (m, D)
        Points to judge, at least one row.
    manifold : object
        With ``ambient_dim`` (D) and ``distance(X) -> ndarray (m,)``, the exact distance to the manifold
        (e.g. a :class:`~inertial_diffusion.evaluation.datasets.Manifold`).

    Returns
    -------
    ManifoldError
        Mean, median and maximum distance.

    Raises
    ------
    ValueError
        Input that is not a finite 2-D array, or a number of features other than ``manifold.ambient_dim``.

    Examples
    --------
    >>> import numpy as np
    >>> class UnitCircle:
    ...     ambient_dim = 2
    ...     def distance(self, X):
    ...         return np.abs(np.linalg.norm(X, axis=1) - 1.0)
    >>> manifold_error(np.array([[2.0, 0.0], [0.0, 1.0]]), UnitCircle())
    ManifoldError(mean=0.5, median=0.5, max=1.0)
    """
    samples = check_data(samples, name="samples", min_rows=1)
    if samples.shape[1] != manifold.ambient_dim:
        raise ValueError(f"samples have {samples.shape[1]} features but the manifold lives in R^{manifold.ambient_dim}")
    d = manifold.distance(samples)
    return ManifoldError(float(d.mean()), float(np.median(d)), float(d.max()))
