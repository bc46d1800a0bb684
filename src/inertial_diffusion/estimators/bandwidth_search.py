"""Data-driven bandwidth: ``InertialDiffusion(bandwidth="auto")``.

The rule :math:`\\sigma = c\\,n^{-1/(d+4)}` (arXiv 2505.02508) fixes the rate, not the constant ``c``.
Two criteria choose ``c``:

* **held-out W1** (default). Split the rows in two halves ``A`` and ``B``, generate ``|B|`` IDM
  samples from ``A`` with :math:`\\sigma_A = c\\,|A|^{-1/(d+4)}`, score them by the exact
  Wasserstein-1 distance to ``B``; average over folds. ``c`` carries over to the full ``n`` through
  the rule. On the memorizing side the curve is flat (the held-out W1 barely sees copies: on the
  swiss roll it changes by < 1 % from c = 0.1 to 0.4, where the population W1 has its minimum),
  so the chosen ``c`` is the *largest* grid value within ``w1_rel_tol`` (1 %) of the minimum, and
  within a fold every ``c`` reuses the same mixture indices and Gaussian noise (common random
  numbers) so that the curve is smooth in ``c``. With independent draws per ``c`` and the argmin,
  the choice on the swiss roll fell to c = 0.1 for 2 of 6 data seeds (population optimum ~0.3).
* **novelty target** ``max_dup_rate``: the smallest ``c`` whose model, fitted on all ``n_fit`` rows,
  has a near-duplicate rate ``DupRate <= max_dup_rate``, where DupRate is the share of samples
  closer to a training row than ``tau``, the 1st percentile of the training rows' nearest-neighbour
  distances (:func:`inertial_diffusion.evaluation.metrics.memorization_report`). DupRate is a
  property of a model and its own training rows, so it is measured on the rows the model is
  fitted on (no split, nothing to transfer) when they are at most ``max_dup_rows``; DupRate is
  decreasing in ``c`` (more smoothing, fewer copies), and a bisection on :math:`\\log c`
  with common random numbers finds the crossing to 1 % in c. Beyond
  ``max_dup_rows`` rows (or when only a sample of the model's rows is given,
  ``n_fit > len(Z)``) the search runs on a subsample and
  keeps :math:`\\sigma` and :math:`\\tau` in proportion to the typical spacing, both
  :math:`\\propto n^{-1/d}` for nearest-neighbour distances on a d-dimensional set: a
  subsample of ``m`` rows at :math:`\\sigma_m = \\sigma\\,(n/m)^{1/d}` with the threshold
  :math:`\\tau_m = \\tau\\,(n/m)^{1/d}` stands for the ``n``-row model. The threshold
  :math:`\\tau` of the ``n`` rows is measured (subsample against all rows) when they are all given.

Every posterior the search evaluates comes from a backend built by ``posterior_factory`` (the estimator passes
one made by :func:`~inertial_diffusion.backends.factory.make_backend` with its own ``dtype``, ``device`` and
``max_memory``): the search computes what the fitted model will compute. The record keeps, beside W1 and
DupRate, the *variance kept* at every ``c`` (total variance of the samples over that of the rows), so that a
novelty target met by collapse (the posterior-mean step at a large ``c``) shows in ``bandwidth_search_``.

Why W1 and not the energy distance or MMD: on spheres those (unbiased) criteria kept decreasing down
to the memorizing end of the grid (they barely see the gaps between training points), while the W1
to the population — the quantity the paper bounds — has an interior minimum; the held-out W1
tracks it (see ``tests/estimators/test_bandwidth_search.py``).
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from numpy.typing import ArrayLike

from inertial_diffusion.backends.base import PosteriorBackend
from inertial_diffusion.core.inertia import inertia_step
from inertial_diffusion.core.process import alpha, variance
from inertial_diffusion.core.validation import check_positive, check_positive_int

__all__ = ["BandwidthSearch", "search_bandwidth_scale", "DupRateCurve", "DEFAULT_SCALES", "MAX_SEARCH_ROWS",
           "MAX_DUP_ROWS", "MIN_SEARCH_ROWS", "SCALE_BRACKET", "default_posterior_factory",
           "PosteriorFactory"]

#: Grid of ``c`` for the W1 criterion: 0.1 to 2.26 in steps of sqrt(2) (a factor 1.41 between neighbours).
DEFAULT_SCALES: tuple[float, ...] = tuple(0.1 * 2 ** (k / 2) for k in range(10))
#: Rows used by the W1 search (a seeded subsample beyond this): the exact W1 costs O(rows^3).
MAX_SEARCH_ROWS = 2000
#: Rows used by the novelty search (a seeded subsample beyond this, then transferred to ``n_fit``).
MAX_DUP_ROWS = 4000
MIN_SEARCH_ROWS = 20
#: Bracket of ``c`` searched for a novelty target.
SCALE_BRACKET: tuple[float, float] = (0.01, 10.0)

#: Builds the posterior of a tensor of standardized rows (float64): a backend.
PosteriorFactory = Callable[[torch.Tensor], PosteriorBackend]


def default_posterior_factory(rows: torch.Tensor) -> PosteriorBackend:
    """The exact float64 CPU backend of ``rows`` (what a search without an estimator uses).

    Parameters
    ----------
    rows : Tensor (n, D)
        Standardized rows.

    Returns
    -------
    LocalBackend
    """
    from inertial_diffusion.backends.factory import resolve_max_memory
    from inertial_diffusion.backends.local import LocalBackend

    cpu = torch.device("cpu")
    return LocalBackend(rows.to(torch.float64), cpu, resolve_max_memory(None, cpu))


@dataclass(frozen=True)
class BandwidthSearch:
    """Record of a bandwidth search (standardized units), as returned by :func:`search_bandwidth_scale`.

    Kept by ``InertialDiffusion(bandwidth="auto")`` as ``bandwidth_search_``; ``str()`` of it is a table of
    ``c``, W1 and DupRate with the chosen row marked. The fields below are also its attributes.

    Parameters
    ----------
    scales : ndarray (k,)
        ``c`` evaluated, in :math:`\\sigma = c\\,n_{fit}^{-1/(d+4)}`: the grid (W1 criterion) or the
        bisection path in evaluation order (novelty target).
    scores : ndarray (k,)
        The criterion's value at each ``c``: mean held-out W1, or DupRate.
    fold_scores : ndarray (k, n_folds)
        Held-out W1 per fold (empty second axis for the novelty target).
    best_scale : float
        The chosen ``c`` (for ``n_fit`` rows).
    intrinsic_dim : float
        ``d`` used by the rule.
    n_rows : int
        Rows the search used.
    criterion : str
        The criterion in words (held-out W1, or the novelty target).
    w1 : ndarray (k,)
        Mean held-out W1 at each ``c`` (NaN where not computed: the novelty target).
    dup_rates : ndarray (k,)
        Estimated DupRate of the ``n_fit``-row model at each ``c``.
    max_dup_rate : float or None
        The novelty target, None for the W1 criterion.
    dup_rate : float
        Estimated DupRate of the model at ``best_scale``.
    target_met : bool
        False when even the largest ``c`` of the bracket leaves DupRate above the target.
    n_fit : int
        Rows of the model the chosen ``c`` is for.
    variance_kept : ndarray (k,)
        Total variance of the samples at each ``c`` over that of the rows: near 1 for the moment-matched step,
        falling towards 0 as the posterior-mean step collapses onto averages.
    inertia : str
        The inertia step the samples took.
    """

    scales: np.ndarray
    scores: np.ndarray
    fold_scores: np.ndarray
    best_scale: float
    intrinsic_dim: float
    n_rows: int
    criterion: str
    w1: np.ndarray
    dup_rates: np.ndarray
    max_dup_rate: float | None
    dup_rate: float
    target_met: bool
    n_fit: int
    variance_kept: np.ndarray
    inertia: str = "posterior_mean"

    @property
    def variance_kept_at_best(self) -> float:
        """Variance kept at the chosen ``c``."""
        return float(self.variance_kept[list(self.scales).index(self.best_scale)])

    def __str__(self) -> str:
        lines = [f"bandwidth search ({self.inertia} step): {self.criterion}, d = {self.intrinsic_dim:.2f}, "
                 f"{self.n_rows} rows (model of {self.n_fit} rows)",
                 f"{'c':>8} {'W1':>10} {'DupRate':>8} {'var kept':>8}"]
        for c, w, r, v in zip(self.scales, self.w1, self.dup_rates, self.variance_kept):
            mark = "  <- chosen" if c == self.best_scale else ""
            lines.append(f"{c:8.4f} {w:10.5f} {r:8.4f} {v:8.3f}{mark}")
        if not self.target_met:
            lines.append(f"target DupRate <= {self.max_dup_rate} not reached at the largest c")
        return "\n".join(lines)


class DupRateCurve:
    """DupRate of the IDM fitted on ``rows`` as a function of :math:`\\sigma`, with common random numbers.

    The samples at every :math:`\\sigma` are :math:`\\hat x = m_h(\\alpha_h y_I + \\sqrt{v_h}\\,\\xi)`,
    :math:`h = \\sigma^2`, with the same indices ``I`` and noise :math:`\\xi` (drawn once): the
    curve is then a deterministic, piecewise-constant function of :math:`\\sigma`, and the binomial
    error :math:`\\sqrt{p(1-p)/m}` is the only error versus the model's true DupRate.

    Call it with σ (standardized units) to get the DupRate, a float in [0, 1]: the share of the ``m``
    samples closer than ``tau`` to a row.

    Parameters
    ----------
    rows : ndarray (n, D)
        Standardized training rows.
    n_samples : int
        ``m``, samples per evaluation.
    inertia : {"posterior_mean", "paper", "moment"}
        Form of the inertia step (see :mod:`inertial_diffusion.core.inertia`).
    generator : torch.Generator
        Draws the indices ``I``, the noise :math:`\\xi` and the moment step's noise key, once, at construction.
    tau : float, optional
        The near-duplicate threshold; default: the 1st percentile of the rows' nearest-neighbour
        distances, as in DupRate.
    posterior_factory : callable, optional
        Builds the posterior of the rows (default :func:`default_posterior_factory`).

    Attributes
    ----------
    rows : Tensor (n, D)
        The rows, float64.
    tau : float
        The threshold used.
    index : Tensor (m,)
        The mixture indices ``I``.
    noise : Tensor (m, D)
        The Gaussian noise :math:`\\xi`.
    variance_kept : dict
        Variance kept of the samples at every σ evaluated.

    Examples
    --------
    >>> import torch
    >>> from inertial_diffusion.evaluation.datasets import make_sphere
    >>> rows = make_sphere(200, intrinsic_dim=1, ambient_dim=2, random_state=0)
    >>> curve = DupRateCurve(rows, 200, "posterior_mean", torch.Generator().manual_seed(0))
    >>> round(curve(0.001), 1), round(curve(0.5), 1)  # more smoothing, fewer near-copies
    (1.0, 0.0)
    """

    def __init__(self, rows: np.ndarray, n_samples: int, inertia: str, generator: torch.Generator,
                 tau: float | None = None, posterior_factory: PosteriorFactory | None = None) -> None:
        self.rows = torch.as_tensor(rows, dtype=torch.float64)
        self.inertia = inertia
        self.tau = _tau(self.rows, self.rows) if tau is None else float(tau)
        self.index = torch.randint(self.rows.shape[0], (n_samples,), generator=generator)
        self.noise = torch.randn((n_samples, self.rows.shape[1]), generator=generator, dtype=torch.float64)
        self._step_seed = int(torch.randint(0, 2**62, (1,), generator=generator))
        self.posterior = (posterior_factory or default_posterior_factory)(self.rows)
        self._total_variance = float(self.rows.var(dim=0).sum())
        self.variance_kept: dict[float, float] = {}

    def __call__(self, sigma: float) -> float:
        h = sigma**2
        z = alpha(h) * self.rows[self.index] + math.sqrt(variance(h)) * self.noise
        # the same step noise at every sigma too (common random numbers)
        z = z.to(dtype=self.posterior.dtype, device=self.posterior.device)
        x_hat = inertia_step(self.posterior, z, h, self.inertia,
                             torch.Generator().manual_seed(self._step_seed)).cpu().double()
        self.variance_kept[sigma] = float(x_hat.var(dim=0).sum()) / max(self._total_variance, 1e-300)
        # as memorization_report: closer than tau, or an exact copy (which counts even when tau = 0)
        nearest = _nearest(x_hat, self.rows)
        return float(((nearest < self.tau) | (nearest == 0)).double().mean())


def _nearest(queries: torch.Tensor, rows: torch.Tensor, exclude_self: bool = False,
             block: int = 1024) -> torch.Tensor:
    """Distance from each query to its nearest row (blocked: ``block x n`` products at a time).

    The neighbour is found by one GEMM (:math:`|y|^2/2 - x\\cdot y`), its distance then computed by
    direct differences: an exact copy gets 0, not the ~1e-8 of the expanded form.
    ``exclude_self``: the queries are the first rows; a row is not its own neighbour (an exact
    duplicate row still is, at distance 0, as in scikit-learn's ``kneighbors`` on the training set).
    """
    half_sq = 0.5 * (rows**2).sum(dim=1)
    out = torch.empty(queries.shape[0], dtype=torch.float64)
    for s in range(0, queries.shape[0], block):
        q = queries[s:s + block]
        score = half_sq - q @ rows.T
        if exclude_self:
            k = torch.arange(q.shape[0])
            score[k, k + s] = math.inf
        nearest = rows[score.argmin(dim=1)]
        out[s:s + block] = torch.linalg.vector_norm(q - nearest, dim=1)
    return out


def _tau(queries: torch.Tensor, rows: torch.Tensor, percentile: float = 1.0) -> float:
    """DupRate's threshold: the ``percentile`` of the distances of ``queries`` (the first rows of ``rows``) to their
    nearest distinct row (repeated rows left out:
    :func:`~inertial_diffusion.evaluation.metrics.duplicate_threshold`)."""
    from inertial_diffusion.evaluation.metrics import duplicate_threshold

    distinct = torch.unique(rows, dim=0)  # a repeated row is no neighbour of its copy for the threshold
    if distinct.shape[0] < 2:
        return 0.0
    own = torch.unique(queries, dim=0)
    return duplicate_threshold(_nearest_other(own, distinct).numpy(), percentile)


def _nearest_other(queries: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
    """Distance of each query (itself one of the distinct ``rows``) to its nearest *other* row.

    The two best GEMM scores hold the query itself and its neighbour; the direct differences tell them apart
    (the query's own is exactly 0, which the expanded form or ``cdist`` would blur to ~1e-8).
    """
    half_sq = 0.5 * (rows**2).sum(dim=1)
    out = torch.empty(queries.shape[0], dtype=torch.float64)
    for s in range(0, queries.shape[0], 1024):
        q = queries[s:s + 1024]
        best = (half_sq - q @ rows.T).topk(2, dim=1, largest=False).indices
        dist = torch.linalg.vector_norm(q[:, None, :] - rows[best], dim=2)
        out[s:s + 1024] = dist.masked_fill(dist == 0, math.inf).min(dim=1).values
    return out


def _sigma_on_rows(c: float, n_rows: int, n_fit: int, d: float) -> float:
    """:math:`\\sigma` on ``n_rows`` rows with the same DupRate as ``c`` on ``n_fit`` rows.

    DupRate is set by :math:`\\sigma/\\tau` and :math:`\\tau` (a nearest-neighbour distance)
    scales as :math:`n^{-1/d}`: :math:`\\sigma_{rows} = c\\,n_{fit}^{-1/(d+4)}(n_{fit}/n_{rows})^{1/d}`.
    """
    return c * n_fit ** (-1.0 / (d + 4.0)) * (n_fit / n_rows) ** (1.0 / d)


def _subsample(Z: np.ndarray, max_rows: int, rng: np.random.Generator) -> np.ndarray:
    n = Z.shape[0]
    return Z if n <= max_rows else Z[np.sort(rng.choice(n, size=max_rows, replace=False))]


def _dup_rate_curve(Z: np.ndarray, d: float, max_rows: int, n_samples: int, inertia: str,
                    rng: np.random.Generator, posterior_factory: PosteriorFactory | None = None) -> DupRateCurve:
    """The DupRate curve on at most ``max_rows`` rows of ``Z``, with the threshold of all of ``Z``.

    Subsampled, the curve keeps the threshold of the ``n`` rows (all their nearest-neighbour
    distances: O(n^2 D), a few seconds at n = 5000, D = 784), scaled to the subsample as
    :math:`\\tau \\propto n^{-1/d}`: the model's DupRate is judged against its own realized
    threshold, a low order statistic (the 12th of 1200 distances) that the subsample's own
    percentile only estimates.
    """
    n = Z.shape[0]
    gen = torch.Generator().manual_seed(int(rng.integers(2**63 - 1)))
    if n <= max_rows:
        return DupRateCurve(Z, n_samples, inertia, gen, posterior_factory=posterior_factory)
    shuffled = torch.as_tensor(Z[rng.permutation(n)], dtype=torch.float64)
    rows = shuffled[:max_rows]
    tau = _tau(shuffled, shuffled) * (n / max_rows) ** (1.0 / d)
    return DupRateCurve(rows.numpy(), n_samples, inertia, gen, tau=tau, posterior_factory=posterior_factory)


def _w1_grid(rows: np.ndarray, d: float, scales: np.ndarray, n_folds: int, inertia: str,
             rng: np.random.Generator, posterior_factory: PosteriorFactory | None = None,
             report: Callable[[float, float], None] | None = None) -> np.ndarray:
    """Held-out exact W1 (k, n_folds) of the IDM fitted on half of ``rows``, common random numbers per fold."""
    from inertial_diffusion.evaluation.metrics import wasserstein1

    half = rows.shape[0] // 2
    fold_scores = np.empty((scales.size, n_folds))
    for fold in range(n_folds):
        perm = rng.permutation(rows.shape[0])
        train = torch.as_tensor(rows[perm[:half]], dtype=torch.float64)
        held_out = rows[perm[half:]]
        gen = torch.Generator().manual_seed(int(rng.integers(2**63 - 1)))
        index = torch.randint(half, (held_out.shape[0],), generator=gen)
        noise = torch.randn(held_out.shape, generator=gen, dtype=torch.float64)
        step_seed = int(torch.randint(0, 2**62, (1,), generator=gen))
        posterior = (posterior_factory or default_posterior_factory)(train)
        for k, c in enumerate(scales):
            h = (c * half ** (-1.0 / (d + 4.0))) ** 2
            z = (alpha(h) * train[index] + math.sqrt(variance(h)) * noise).to(dtype=posterior.dtype,
                                                                                device=posterior.device)
            x_hat = inertia_step(posterior, z, h, inertia, torch.Generator().manual_seed(step_seed))
            fold_scores[k, fold] = wasserstein1(x_hat.cpu().double().numpy(), held_out)
            if report is not None:
                report(float(c), fold_scores[k, fold])
    return fold_scores


#: Grid over the bracket searched for the lowest DupRate when the target is unreachable.
UNREACHABLE_GRID = 13


def bisection_evaluations(bracket: tuple[float, float], rel_tol: float) -> int:
    """DupRate evaluations of the novelty target's bisection: both ends, then halvings of log c down to
    ``1 + rel_tol`` (fewer when the lower end already meets the target; :data:`UNREACHABLE_GRID` when the upper
    end does not).

    Parameters
    ----------
    bracket : (float, float)
        The ``c`` searched, ``0 < low < high``.
    rel_tol : float
        The bisection stops when the bracket's ratio is below ``1 + rel_tol``.

    Returns
    -------
    int
        Evaluations of a search that bisects to the end.

    Examples
    --------
    >>> bisection_evaluations(SCALE_BRACKET, 0.01)  # the default search: both ends and 10 halvings
    12
    """
    lo, hi = bracket
    return 2 + max(0, math.ceil(math.log2(math.log(hi / lo) / math.log1p(rel_tol))))


def _bisect_target(curve: DupRateCurve, target: float, to_sigma: Callable[[float], float], bracket: tuple[float, float],
                   rel_tol: float, report: Callable[[float, float, int], None] | None = None
                   ) -> tuple[list[float], list[float], float, bool]:
    """Smallest ``c`` in ``bracket`` with ``curve(to_sigma(c)) <= target``, by bisection on log c.

    Not a secant (regula falsi): DupRate is 1 or 0 over most of the bracket, and on digits the
    Illinois variant took 12-16 evaluations against bisection's fixed 12.
    Returns the path (c, DupRate) in evaluation order, the chosen ``c`` and whether the target was met.
    ``report(c, dup_rate, total)`` is called after each evaluation, with the evaluations planned so far.
    """
    lo, hi = bracket
    path_c: list[float] = []
    path_r: list[float] = []
    planned = [bisection_evaluations(bracket, rel_tol)]

    def evaluate(c: float) -> float:
        r = curve(to_sigma(c))
        path_c.append(c)
        path_r.append(r)
        if report is not None:
            report(c, r, planned[0])
        return r

    if evaluate(hi) > target:
        planned[0] = UNREACHABLE_GRID
        # unreachable (DupRate need not fall monotonically: in sparse data the collapse towards the mean at
        # large c can sit closer to a row than the rows' own 1 % spacing): the c of lowest DupRate on a grid,
        # the largest one on ties
        for c in np.geomspace(lo, hi, UNREACHABLE_GRID)[:-1]:
            evaluate(float(c))
        rates = np.asarray(path_r)
        best = max(c for c, r in zip(path_c, path_r) if r == rates.min())
        return path_c, path_r, best, False
    if evaluate(lo) <= target:
        return path_c, path_r, lo, True
    while hi / lo > 1.0 + rel_tol:  # invariant: DupRate(lo) > target >= DupRate(hi)
        mid = math.sqrt(lo * hi)
        if evaluate(mid) <= target:
            hi = mid
        else:
            lo = mid
    return path_c, path_r, hi, True


def search_bandwidth_scale(Z: np.ndarray, intrinsic_dim: float, *, max_dup_rate: float | None = None,
                           n_fit: int | None = None, scales: ArrayLike = DEFAULT_SCALES, n_folds: int = 2,
                           max_rows: int = MAX_SEARCH_ROWS, max_dup_rows: int = MAX_DUP_ROWS,
                           n_dup_samples: int = 4000, scale_bracket: tuple[float, float] = SCALE_BRACKET,
                           rel_tol: float = 0.01, w1_rel_tol: float = 0.01, inertia: str = "posterior_mean",
                           random_state: int | np.random.Generator = 0,
                           posterior_factory: PosteriorFactory | None = None,
                           callback: Callable[[dict], None] | None = None) -> BandwidthSearch:
    """Choose ``c`` in :math:`\\sigma = c\\,n_{fit}^{-1/(d+4)}` (see the module docstring).

    Parameters
    ----------
    Z : ndarray (n, D)
        Standardized training rows (all of them, or a sample when the model's rows live elsewhere).
    intrinsic_dim : float
        ``d`` of the rule :math:`\\sigma = c\\,n^{-1/(d+4)}`, and of the :math:`n^{-1/d}` transfer.
    max_dup_rate : float in (0, 1), optional
        Novelty target: the smallest ``c`` with DupRate <= ``max_dup_rate``. None: held-out W1.
    n_fit : int, optional
        Rows of the final model (default ``len(Z)``; give it when ``Z`` is a sample of them). When
        the search sees fewer rows than ``n_fit`` the novelty target is transferred with
        :math:`\\sigma, \\tau \\propto n^{-1/d}` (module docstring); ``c`` is always for ``n_fit`` rows.
        From a sample the final DupRate carries the sample's threshold noise (measured on a
        2-sphere at a 0.2 target: within 0.05 from 1000 of 4000 rows, 0.015 from 5000 of 15000).
    scales : sequence of float, default=DEFAULT_SCALES
        W1 criterion: the grid of ``c``.
    n_folds : int, default=2
        W1 criterion: random half/half splits averaged.
    max_rows : int, default=MAX_SEARCH_ROWS
        W1 criterion: seeded subsample size for large ``n``.
    max_dup_rows : int, default=MAX_DUP_ROWS
        Novelty target: seeded subsample size for large ``n``.
    n_dup_samples : int, default=4000
        Samples per DupRate evaluation of the novelty target (binomial error
        :math:`\\sqrt{p(1-p)/m}`: 0.006 at p = 0.2); a quarter of them for the W1 criterion's report.
    scale_bracket : (float, float), default=SCALE_BRACKET
        Novelty target: the ``c`` searched.
    rel_tol : float, default=0.01
        Novelty target: the bisection stops when the bracket's ratio is below ``1 + rel_tol``.
    w1_rel_tol : float, default=0.01
        W1 criterion: the chosen ``c`` is the largest grid value whose mean W1 is within a factor
        ``1 + w1_rel_tol`` of the minimum (0: the argmin).
    inertia : {"posterior_mean", "paper", "moment"}, default="posterior_mean"
        Form of the inertia step of the generated samples.
    random_state : int or Generator, default=0
        Splits, subsamples and the generated samples. Same seed, same choice.
    posterior_factory : callable, optional
        ``factory(rows) -> posterior`` for a float64 tensor of standardized rows (a backend with ``mean`` and
        ``moment``); default :func:`default_posterior_factory` (exact, float64, CPU). The estimator passes its
        own backend factory (same dtype, device and memory budget as the fitted model).
    callback : callable, optional
        Progress: ``callback({"stage": "bandwidth search", "i", "total", "c", "criterion", "value"})`` after each
        evaluation (``i`` counts from 1; ``total`` is the evaluations planned, which the novelty target raises to
        :data:`UNREACHABLE_GRID` when it finds the target unreachable; ``criterion`` is ``"dup_rate"`` or
        ``"w1"``; ``value`` the DupRate or one fold's held-out W1 at ``c``).

    Returns
    -------
    BandwidthSearch
        The chosen ``c`` (``best_scale``, for ``n_fit`` rows) and the curve it was read from.

    Raises
    ------
    ValueError
        Fewer than :data:`MIN_SEARCH_ROWS` rows, or an option out of range.
    TypeError
        ``n_folds``, ``n_fit`` or ``n_dup_samples`` not an integer.

    Warns
    -----
    RuntimeWarning
        When ``max_dup_rate`` is not reached even at the largest ``c``: the ``c`` of lowest DupRate
        is used and ``target_met`` is False.

    Examples
    --------
    The novelty target on 200 points of a circle:

    >>> from inertial_diffusion.evaluation.datasets import make_sphere
    >>> Z = make_sphere(200, intrinsic_dim=1, ambient_dim=2, random_state=0)
    >>> result = search_bandwidth_scale(Z, 1.0, max_dup_rate=0.1, n_dup_samples=500, rel_tol=0.05)
    >>> round(result.best_scale, 2), result.dup_rate <= 0.1, result.target_met
    (0.06, True, True)
    """
    check_positive(intrinsic_dim, "intrinsic_dim")
    d = float(intrinsic_dim)
    n_folds = check_positive_int(n_folds, "n_folds")
    if not (isinstance(w1_rel_tol, (int, float, np.floating)) and 0 <= w1_rel_tol < math.inf):
        raise ValueError(f"w1_rel_tol must be a finite number >= 0, got {w1_rel_tol!r}")
    check_positive(rel_tol, "rel_tol")
    n_dup_samples = check_positive_int(n_dup_samples, "n_dup_samples")
    novelty = max_dup_rate is not None
    if novelty and not (isinstance(max_dup_rate, (int, float, np.floating)) and 0 < max_dup_rate < 1):
        raise ValueError(f"max_dup_rate must be a number in (0, 1), got {max_dup_rate!r}")
    lo, hi = (float(v) for v in scale_bracket)
    if not 0 < lo < hi < math.inf:
        raise ValueError(f"scale_bracket must be (low, high) with 0 < low < high, got {scale_bracket!r}")
    scales = np.asarray(scales, dtype=float)
    if scales.ndim != 1 or scales.size == 0 or not np.all(np.isfinite(scales)) or np.any(scales <= 0):
        raise ValueError("scales must be a non-empty 1-D sequence of positive numbers")
    n = Z.shape[0]
    if n < MIN_SEARCH_ROWS:
        raise ValueError(f"bandwidth='auto' needs at least {MIN_SEARCH_ROWS} rows to search, got {n}; "
                         "give bandwidth or bandwidth_scale instead")
    n_fit = n if n_fit is None else check_positive_int(n_fit, "n_fit")
    rng = np.random.default_rng(random_state)
    # the W1 criterion only reports DupRate: a quarter of the samples (binomial error <= 0.016)
    m = n_dup_samples if novelty else max(1, n_dup_samples // 4)
    curve = _dup_rate_curve(Z, d, max_dup_rows, m, inertia, rng, posterior_factory)
    dup_rows = curve.rows

    def to_sigma(c: float) -> float:
        return _sigma_on_rows(c, dup_rows.shape[0], n_fit, d)

    done = [0]

    def report(criterion: str, c: float, value: float, total: int) -> None:
        done[0] += 1
        if callback is not None:
            callback({"stage": "bandwidth search", "i": done[0], "total": max(total, done[0]), "c": float(c),
                      "criterion": criterion, "value": float(value)})

    if max_dup_rate is not None:  # the novelty target
        path_c, path_r, best, met = _bisect_target(curve, float(max_dup_rate), to_sigma, (lo, hi), rel_tol,
                                                   functools.partial(report, "dup_rate"))
        if not met:
            lowest = min(path_r)
            warnings.warn(f"max_dup_rate={max_dup_rate} is not reachable on these rows: the lowest DupRate found "
                          f"is {lowest:.3f} (c = {best:.3g}, used); DupRate at c = {hi:g} is {path_r[0]:.3f}",
                          RuntimeWarning, stacklevel=2)
        scales = np.asarray(path_c)
        dup_rates = np.asarray(path_r)
        kept = np.array([curve.variance_kept[to_sigma(c)] for c in path_c])
        return BandwidthSearch(scales=scales, scores=dup_rates, fold_scores=np.empty((scales.size, 0)),
                               best_scale=float(best), intrinsic_dim=d, n_rows=int(dup_rows.shape[0]),
                               criterion=f"smallest c with DupRate <= {max_dup_rate:g}",
                               w1=np.full(scales.size, np.nan),
                               dup_rates=dup_rates, max_dup_rate=float(max_dup_rate),
                               dup_rate=float(dup_rates[path_c.index(best)]), target_met=met, n_fit=n_fit,
                               variance_kept=kept, inertia=inertia)
    rows = _subsample(Z, max_rows, rng)
    total = scales.size * (n_folds + 1)  # the W1 grid per fold, then the DupRate of each c for the report
    fold_scores = _w1_grid(rows, d, scales, n_folds, inertia, rng, posterior_factory,
                           lambda c, w1: report("w1", c, w1, total))
    scores = fold_scores.mean(axis=1)
    # the curve is flat on the memorizing side (held-out W1 barely sees copies): take the largest c
    # within w1_rel_tol of the minimum rather than an argmin that sampling noise can move there
    k_best = int(np.flatnonzero(scores <= (1.0 + w1_rel_tol) * scores.min())[-1])
    dup_rates = np.empty(scales.size)
    for k, c in enumerate(scales):
        dup_rates[k] = curve(to_sigma(float(c)))
        report("dup_rate", float(c), dup_rates[k], total)
    kept = np.array([curve.variance_kept[to_sigma(float(c))] for c in scales])
    criterion = f"held-out exact W1, largest c within {w1_rel_tol:.0%} of the minimum"
    return BandwidthSearch(scales=scales, scores=scores, fold_scores=fold_scores, best_scale=float(scales[k_best]),
                           intrinsic_dim=d, n_rows=int(rows.shape[0]), criterion=criterion, w1=scores,
                           dup_rates=dup_rates, max_dup_rate=None, dup_rate=float(dup_rates[k_best]),
                           target_met=True, n_fit=n_fit, variance_kept=kept, inertia=inertia)
