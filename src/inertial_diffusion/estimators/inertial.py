"""The inertial diffusion model (IDM) estimator, arXiv 2505.02508."""

from __future__ import annotations

import functools
import math
import numbers
import warnings
from collections.abc import Callable
from typing import Any, Literal, overload

import numpy as np
import torch
from sklearn.base import _fit_context, clone
from sklearn.neighbors import NearestNeighbors
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from inertial_diffusion import choices
from inertial_diffusion.backends.device import torch_generator
from inertial_diffusion.backends.factory import is_dask_array, make_rows_backend
from inertial_diffusion.core import bandwidth as bandwidth_module
from inertial_diffusion.core.bandwidth import DIM_METHODS, bandwidth_rule, resolve_intrinsic_dim
from inertial_diffusion.core.components import GRAPH_NEIGHBORS, find_components
from inertial_diffusion.core.inertia import INERTIA_FORMS, inertia_step
from inertial_diffusion.core.isolation import isolated_probes
from inertial_diffusion.core.neighbours import NeighbourTable, neighbour_table
from inertial_diffusion.core.process import DEFAULT_T_MAX, alpha, variance
from inertial_diffusion.core.samplers import DEFAULT_N_STEPS, Callback
from inertial_diffusion.core.standardize import Standardizer
from inertial_diffusion.core.validation import check_n_samples
from inertial_diffusion.estimators._base import (COMMON_PARAMETERS_DOC, THREADS_CONSTRAINT, DiffusionBase,
                                                 parameters_doc)
from inertial_diffusion.estimators.bandwidth_search import MIN_SEARCH_ROWS, BandwidthSearch, search_bandwidth_scale
from inertial_diffusion.estimators.conditional import sample_mixture
from inertial_diffusion.estimators.parts import mixture_query

__all__ = ["InertialDiffusion", "DIM_METHODS", "MIN_BANDWIDTH", "MAX_PAPER_H"]

#: Smallest bandwidth accepted: below it h = sigma^2 leaves float64's range and every sample is a
#: training point anyway (use EmpiricalDiffusion for that).
MIN_BANDWIDTH = 1e-50
#: The paper-form inertia step multiplies by e^h h / v_h: past h = 1 (sigma larger than the data's scale)
#: it amplifies the noise by orders of magnitude, and overflows near h = 700.
MAX_PAPER_H = 1.0
#: The paper-form step warns when it scales the score term by more than this (h above ~0.1).
PAPER_WARN_FACTOR = 1.25
#: Training rows probed for isolated points at fit (a seeded subsample beyond this).
ISOLATION_PROBE_ROWS = 512
#: A training point is isolated when its own posterior weight at h, queried at alpha_h y_i, is at least this.
ISOLATION_SELF_WEIGHT = 0.99
#: Reference rows (a seeded subsample) whose neighbours settle most probes before the full log-sum-exp.
ISOLATION_REFERENCE_ROWS = 4096
#: Rows on which separated components are searched (a seeded subsample beyond this).
COMPONENT_ROWS = 5000
#: Samples closer than this (standardized units) to a training point count as copies for ``exclude_copies``.
COPY_DISTANCE = 1e-6


class InertialDiffusion(DiffusionBase):
    __doc__ = """Inertial diffusion model (IDM) of Lyu, Nguyen, Qian & Tong, arXiv 2505.02508.

    Runs the empirical diffusion model of the (standardized) training set from ``T`` down to
    ``h = sigma^2`` (or draws :math:`z \\sim \\hat p_h` exactly in one shot), then takes one inertia
    step. Samples are close to a Gaussian KDE *on* the data manifold, with
    :math:`W_1 = O(n^{{-2/(d+4)}})` for :math:`\\sigma = n^{{-1/(d+4)}}`, independently of the ambient D.
    (Convention: :math:`dX = -X\\,dt + dW`, :math:`h = \\sigma^2`; our inference, the paper's text being
    unavailable.)

    Parameters
    ----------
    bandwidth : float, "auto" or None, default=None
        :math:`\\sigma` in standardized units; overrides the rule :math:`\\sigma = c\\,n^{{-1/(d+4)}}`.
        "auto" chooses ``c`` by a search (:mod:`inertial_diffusion.estimators.bandwidth_search`): the
        largest ``c`` whose held-out W1 is within 1 % of the best on a grid, or the novelty target
        ``max_dup_rate``; recorded in ``bandwidth_search_``.
{RULE_DOC}{THREADS_DOC}    inertia : {{"posterior_mean", "paper", "moment"}}, default="posterior_mean"
        Form of the inertia step (see :mod:`inertial_diffusion.core.inertia`): the posterior mean
        :math:`m_h(z)` (the paper's step, exact to second order), the paper's printed step, or "moment", a draw
        of :math:`N(m_h(z), \\operatorname{{Cov}}_h(y \\mid z))` that keeps the data's mean and covariance (new
        samples that are neither averages nor copies; about 1.5-2x the cost of the mean, see the README).
    max_dup_rate : float in (0, 1), optional
        With ``bandwidth="auto"``: a novelty target. The search picks the smallest ``c`` whose model, fitted
        on all rows, has a near-duplicate rate (the DupRate of ``memorization_report``: samples closer to a
        training row than the 1 % quantile of the rows' nearest-neighbour distances) of at most this, by
        bisection on ``log c``; ``bandwidth_search_`` records c, W1 and DupRate along the path.
    column_types : dict, optional
        For a pandas DataFrame ``X``: column name -> ``"continuous"``, ``"integer"``, ``"boolean"``,
        ``"categorical"`` or ``"datetime"``, overriding the type read off its dtype (see
        :mod:`inertial_diffusion.tables`); e.g. ``{{"zip": "categorical"}}``.
    categorical_weight : float, default=1.0
        For a DataFrame: the distance between two categories of a column, in typical standard deviations of
        the numeric columns (:mod:`inertial_diffusion.tables.encoder`).
    components : {{"auto", "none"}}, default="auto"
        "auto": find the well-separated parts of the data at the kernel's scale
        (:func:`inertial_diffusion.core.components.find_components`, at the rule's scale c = 1) and, when
        there are several, give each its own model (own standardization, ``d`` and σ from its own
        ``n``), sampled in proportion to its size; the queries (``posterior_mean``, ``score_function``,
        ``log_density``) then answer for the same mixture of the parts
        (:mod:`inertial_diffusion.estimators.parts`). Skipped with labels, a numeric ``bandwidth`` or a Dask array.
{COMMON_PARAMETERS_DOC}
    Attributes
    ----------
    bandwidth_ : float
        :math:`\\sigma` used, in standardized units.
    h_ : float
        Stopping time :math:`h = \\sigma^2`.
    intrinsic_dim_ : float or None
        ``d`` used by the rule (None when ``bandwidth`` was given and ``intrinsic_dim`` was not).
    bandwidth_search_ : BandwidthSearch or None
        The held-out search when ``bandwidth="auto"``, else None.
    backend_ : PosteriorBackend
        The posterior every query method goes through (chosen at ``fit``).
    n_isolated_ : int
        Training points isolated at the kernel's scale (own posterior weight at ``h`` ≥ 0.99): IDM
        returns near-copies of them. Exact up to 512 rows, estimated on a 512-row subsample beyond.
    data_resident_ : bool
        Whether the training data live on ``device_`` (False: streamed from the host).
    n_features_in_, n_samples_fit_ : int
    mean_ : ndarray
        The standardization's centre.
    scale_ : float or ndarray
        The standardization's scale (one global scale, or one per feature).
    class_models_ : dict or None
        After ``fit(X, y)``: one model per class.
    components_ : list of dict or None
        With several separated parts: per part its ``size``, ``bandwidth`` (σ in data units, the part's
        own scale times its standardized σ) and ``intrinsic_dim``; ``component_models_`` holds the models and
        ``component_labels_`` the part of every training row. None when the data form one part.

    Examples
    --------
    >>> import numpy as np
    >>> from inertial_diffusion import InertialDiffusion
    >>> X = np.random.default_rng(0).normal(size=(200, 3))
    >>> model = InertialDiffusion(random_state=0).fit(X)
    >>> model.sample(5).shape
    (5, 3)
    """.format(COMMON_PARAMETERS_DOC=COMMON_PARAMETERS_DOC,
               RULE_DOC=parameters_doc("intrinsic_dim", "bandwidth_scale", "dim_method"),
               THREADS_DOC=parameters_doc("threads"))

    _parameter_constraints: dict = {
        **DiffusionBase._parameter_constraints,
        "bandwidth": [Interval(numbers.Real, 0, None, closed="neither"), StrOptions({"auto"}), None],
        "intrinsic_dim": [Interval(numbers.Real, 0, None, closed="neither"), None],
        "bandwidth_scale": [Interval(numbers.Real, 0, None, closed="neither")],
        "inertia": [StrOptions(set(INERTIA_FORMS))],
        "dim_method": [StrOptions(set(DIM_METHODS))],
        "max_dup_rate": [Interval(numbers.Real, 0, 1, closed="neither"), None],
        "components": [StrOptions(set(choices.COMPONENTS))],
        "column_types": [dict, None],
        "threads": THREADS_CONSTRAINT,
        "categorical_weight": [Interval(numbers.Real, 0, None, closed="neither")],
    }

    # fitted attributes (set by ``fit``; the component ones are absent on the class models of ``fit(X, y)``)
    intrinsic_dim_: float | None
    bandwidth_search_: BandwidthSearch | None
    bandwidth_: float
    n_isolated_: int
    components_: list[dict[str, Any]] | None
    component_models_: list[InertialDiffusion] | None
    component_labels_: np.ndarray | None

    _neighbour_table: NeighbourTable | None  # a fit-time intermediate (see _fit_one)

    def __init__(self, *, bandwidth: float | str | None = None, intrinsic_dim: float | None = None,
                 bandwidth_scale: float = 1.0, inertia: str = "posterior_mean", dim_method: str = "scale",
                 max_dup_rate: float | None = None, components: str = "auto",
                 column_types: dict[str, str] | None = None, categorical_weight: float = 1.0,
                 sampler: str = "one_shot",
                 n_steps: int = DEFAULT_N_STEPS,
                 standardize: bool | str = True, dtype: str = "float64", device: str = "cpu",
                 chunk_size: int | None = None, max_memory: int | None = None, random_state: Any = None,
                 prior: str = "mixture", t_max: float = DEFAULT_T_MAX, client: Any = None,
                 prune_tol: float | None = None, threads: int | None = None) -> None:
        self.bandwidth = bandwidth
        self.intrinsic_dim = intrinsic_dim
        self.bandwidth_scale = bandwidth_scale
        self.inertia = inertia
        self.dim_method = dim_method
        self.max_dup_rate = max_dup_rate
        self.components = components
        self.column_types = column_types
        self.categorical_weight = categorical_weight
        self.sampler = sampler
        self.n_steps = n_steps
        self.standardize = standardize
        self.dtype = dtype
        self.device = device
        self.chunk_size = chunk_size
        self.max_memory = max_memory
        self.random_state = random_state
        self.prior = prior
        self.t_max = t_max
        self.client = client
        self.prune_tol = prune_tol
        self.threads = threads

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: Any, y: Any = None, *, callback: Callable[[dict], None] | None = None) -> "InertialDiffusion":
        """Fit to training data ``X`` of shape (n, D): standardize, choose σ, build the posterior backend.

        There is no training: fitting standardizes the rows, estimates the intrinsic dimension ``d``
        when the rule needs it, sets :math:`h = \\sigma^2` (given, from the rule
        :math:`\\sigma = c\\,n^{-1/(d+4)}`, or from the search of ``bandwidth="auto"``), counts the
        isolated training points (warning when there are any) and, with ``components="auto"``, looks
        for well-separated parts.

        With labels ``y``, also keep one model per class (``class_models_``), each with its own
        bandwidth from the class size ``n_c`` (σ = c n_c^(-1/(d+4)), d shared, estimated on all
        of X) and the common standardization; then ``sample(m, y=label)`` and ``sample_per_class``.
        With ``max_dup_rate`` every class runs its own novelty search, so the target holds per class;
        a W1 search (``bandwidth="auto"`` alone) runs once on all rows and every class keeps its ``c``.

        Parameters
        ----------
        X : array-like of shape (n, D) or dask.array.Array
            Training data, finite, at least 2 rows. A Dask array stays on its cluster (see ``client``).
        y : array-like of shape (n,), optional
            Class labels for class-conditional sampling; no missing labels (NaN/None).
        callback : callable, optional
            Progress of the longest part of a fit, the search of ``bandwidth="auto"``: called after each of its
            evaluations with ``{"stage": "bandwidth search", "i", "total", "c", "criterion", "value"}``
            (:func:`~inertial_diffusion.estimators.bandwidth_search.search_bandwidth_scale`; ``total`` is the
            evaluations planned, an upper bound: a search whose smallest ``c`` already meets the target stops at
            2), plus ``"label"`` for a class's own search and ``"part"`` for a separated part's. The CLI shows it
            in its status line.

        Returns
        -------
        self : InertialDiffusion
            The fitted estimator.

        Raises
        ------
        ValueError
            Invalid data or parameters, ``max_dup_rate`` without ``bandwidth="auto"``, a bandwidth
            below :data:`MIN_BANDWIDTH` (or, with ``inertia="paper"``, :math:`h >` :data:`MAX_PAPER_H`),
            missing labels, labels for a Dask array, or every class with fewer than 2 rows.

        Warns
        -----
        UserWarning
            When training points are isolated at the kernel's scale (their samples are near-copies),
            and for classes with fewer than 2 rows (they get no model).

        Examples
        --------
        >>> import numpy as np
        >>> from inertial_diffusion import InertialDiffusion
        >>> rng = np.random.default_rng(0)
        >>> X = np.vstack([rng.normal(size=(100, 2)), rng.normal(size=(60, 2)) + 2.0])
        >>> y = np.repeat(["a", "b"], [100, 60])
        >>> model = InertialDiffusion(intrinsic_dim=2, random_state=0).fit(X, y)
        >>> round(model.bandwidth_, 3), sorted(model.class_models_)
        (0.429, ['a', 'b'])
        >>> model.sample(3, y="b").shape
        (3, 2)
        """
        if self.max_dup_rate is not None and self.bandwidth != "auto":
            raise ValueError("max_dup_rate is a target of the bandwidth search: use it with bandwidth='auto'")
        shape = getattr(X, "shape", (0, 0))
        with self._threads(ISOLATION_PROBE_ROWS, int(shape[0]) if len(shape) else 0,
                           int(shape[1]) if len(shape) > 1 else 0):
            return self._fit(X, y, callback)

    def _fit(self, X: Any, y: Any, callback: Callable[[dict], None] | None = None) -> "InertialDiffusion":
        X = self._validate_fit_input(X)
        parts = y is None and self.components == "auto" and self.bandwidth in (None, "auto") and not is_dask_array(X)
        try:
            self._fit_one(X, self._fit_standardizer(X), callback=callback, share_neighbours=parts)
            self.class_models_ = None
            self.components_ = self.component_models_ = self.component_labels_ = None
            if parts:
                self._fit_components(X, callback)
        finally:
            self._neighbour_table = None  # a fit-time intermediate: never kept (nor pickled) with the model
        if y is not None:
            if self.max_dup_rate is not None:  # a novelty target holds per class: each class searches its own c
                overrides = {"intrinsic_dim": self.intrinsic_dim_}
            elif self.bandwidth_search_ is not None:  # one W1 search on all rows; each class keeps the rule with that c
                overrides = {"bandwidth": None, "max_dup_rate": None, "intrinsic_dim": self.intrinsic_dim_,
                             "bandwidth_scale": self.bandwidth_search_.best_scale}
            else:
                overrides = {} if self.bandwidth is not None else {"intrinsic_dim": self.intrinsic_dim_}
            self._fit_classes(X, y, callback=callback, **overrides)
        return self

    def _fit_one(self, X: Any, standardizer: Standardizer, callback: Callable[[dict], None] | None = None,
                 share_neighbours: bool = False) -> None:
        """Backend, intrinsic dimension, bandwidth and the isolated-point count for one model.

        With ``share_neighbours`` (the separated-parts search follows, on the same capped rows), the dimension
        estimate and that search read their nearest-neighbour distances from one pass
        (:func:`~inertial_diffusion.core.neighbours.neighbour_table`), kept until the search has run."""
        Z = self._fit_backend(X, standardizer)
        auto = self.bandwidth == "auto"
        needs_rows = auto or (self.intrinsic_dim is None and self.bandwidth is None)
        rows = self._estimation_rows(Z) if needs_rows else None
        self._neighbour_table = None
        if (share_neighbours and rows is not None and self.intrinsic_dim is None and self.dim_method == "scale"
                and COMPONENT_ROWS == bandwidth_module.MAX_ESTIMATION_ROWS):  # then the search's rows are these
            self._neighbour_table = neighbour_table(rows, GRAPH_NEIGHBORS, random_state=self._fit_seed())
        # d is None only when it is neither given nor needed: a numeric bandwidth without intrinsic_dim
        d = resolve_intrinsic_dim(self.intrinsic_dim, rows, self.dim_method, self.bandwidth is None or auto,
                                  n_samples=self.n_samples_fit_, bandwidth_scale=1.0 if auto else self.bandwidth_scale,
                                  random_state=self._fit_seed(), table=self._neighbour_table)
        self.intrinsic_dim_ = d
        self.bandwidth_search_ = None
        if auto:
            assert rows is not None and d is not None, "the search reads the rows and needs d"
            factory = functools.partial(make_rows_backend, dtype=self.dtype, device=self.device_,
                                        max_memory=self.max_memory_, chunk_size=self.chunk_size)
            self.bandwidth_search_ = search_bandwidth_scale(rows, d, max_dup_rate=self.max_dup_rate,
                                                            inertia=self.inertia, n_fit=self.n_samples_fit_,
                                                            random_state=self._fit_seed(),
                                                            posterior_factory=factory, callback=callback)
            self.bandwidth_ = bandwidth_rule(self.n_samples_fit_, d, self.bandwidth_search_.best_scale)
        elif self.bandwidth is not None:
            self.bandwidth_ = float(self.bandwidth)
        else:
            assert d is not None, "the rule needs d"
            self.bandwidth_ = bandwidth_rule(self.n_samples_fit_, d, self.bandwidth_scale)
        self._check_bandwidth()
        self.h_ = self.bandwidth_**2
        self.n_isolated_ = self._count_isolated()

    def _fit_components(self, X: np.ndarray, callback: Callable[[dict], None] | None = None) -> None:
        """Separated parts at the kernel's scale; with several, one full model per part (own standardization);
        ``callback`` follows the parts' own bandwidth searches (with ``"part"`` added)."""
        Z = self.backend_.rows  # the standardized working copy (float32 or float64)
        n = Z.shape[0]
        # parts are judged at the rule's own scale (c = 1), whatever c the user or the search picks: a small c
        # would otherwise cut one manifold into pieces the kernel merely does not bridge
        components_of = functools.partial(find_components, intrinsic_dim=self.intrinsic_dim, bandwidth_scale=1.0,
                                          dim_method=self.dim_method, random_state=self._fit_seed(),
                                          table=getattr(self, "_neighbour_table", None))
        if n <= COMPONENT_ROWS:
            labels = components_of(Z.cpu().double().numpy())
        else:  # parts found on a seeded subsample; every row joins the part of its nearest subsampled row
            probe = np.sort(np.random.default_rng(self._fit_seed()).choice(n, size=COMPONENT_ROWS, replace=False))
            Z_probe = Z[torch.as_tensor(probe)].cpu().double().numpy()
            probe_labels = components_of(Z_probe)
            if probe_labels.max() == 0:
                return
            search = NearestNeighbors(n_neighbors=1).fit(Z_probe)
            labels = np.concatenate([probe_labels[search.kneighbors(Z[r0:r0 + 8192].cpu().double().numpy(),
                                                                    return_distance=False)[:, 0]]
                                     for r0 in range(0, n, 8192)])
        if labels.max() == 0:
            return
        if any(np.ptp(X[labels == k], axis=0).max() == 0 for k in range(int(labels.max()) + 1)):
            return  # a part of identical rows has no spread to model on its own: keep one model
        self.component_labels_ = labels
        # a table's parts keep the encoder's scaling (its one-hot weights): one global scale each, never per column
        part_options = {"components": "none", **({"standardize": "global"} if self.encoder_ is not None else {})}
        # a part too small to search its bandwidth takes the rule's (c = 1) instead of failing the whole fit
        small = {"bandwidth": None, "max_dup_rate": None} if self.bandwidth == "auto" else {}
        self.component_models_ = []
        for k in range(int(labels.max()) + 1):
            options = {**part_options, **(small if np.sum(labels == k) < MIN_SEARCH_ROWS else {})}
            report = None if callback is None else (
                lambda info, _k=k: callback({**info, "part": _k}))
            self.component_models_.append(clone(self).set_params(**options).fit(X[labels == k], callback=report))
        for part in self.component_models_:  # fitted on the encoded rows: a table's codes stay codes
            part.discrete_dims_ = getattr(self, "discrete_dims_", None)
        # sigma in data units: the part's standardized sigma times its scale (the mean scale if per feature)
        self.components_ = [{"size": int((labels == k).sum()), "intrinsic_dim": m.intrinsic_dim_,
                             "bandwidth": float(m.bandwidth_ * np.mean(m.scale_))}
                            for k, m in enumerate(self.component_models_)]
        self.n_isolated_ = sum(m.n_isolated_ for m in self.component_models_)

    def _estimation_rows(self, Z: torch.Tensor | None) -> np.ndarray:
        """Standardized rows (float64) for the dimension estimate and the search: all local rows up to
        the estimators' row cap, else a seeded subsample (gathered from the cluster for Dask data)."""
        n = self.n_samples_fit_
        cap = bandwidth_module.MAX_ESTIMATION_ROWS
        rows = self.backend_.rows
        if n > cap:
            pick = np.random.default_rng(self._fit_seed()).choice(n, size=cap, replace=False)
            rows = rows[torch.as_tensor(np.sort(pick))]
        elif not isinstance(rows, torch.Tensor):  # rows kept on a cluster: gather them all (n <= cap)
            rows = rows[torch.arange(n)]
        return rows.cpu().double().numpy()

    def _check_bandwidth(self) -> None:
        """Refuse the bandwidths whose arithmetic leaves float64 (one line, naming the option)."""
        where = ("bandwidth_scale" if self.bandwidth is None else "bandwidth")
        if self.bandwidth_ < MIN_BANDWIDTH:
            raise ValueError(f"{where} gives sigma = {self.bandwidth_:.3g}: below {MIN_BANDWIDTH:g} h = sigma^2 "
                             "underflows and every sample is a training point; use EmpiricalDiffusion for that")
        h = self.bandwidth_**2
        if self.inertia == "paper" and h <= MAX_PAPER_H and math.exp(h) * h / variance(h) > PAPER_WARN_FACTOR:
            # the printed step adds e^h (h/v_h - 1) (alpha m - z)/alpha to the posterior mean: past a ~25 % overshoot
            # of the score term its samples leave the data (82-95 % outside the data's range at h = 1)
            warnings.warn(f"the paper-form inertia step at h = {h:.3g} scales the score term by "
                          f"{math.exp(h) * h / variance(h):.2f} (1 at h -> 0): samples overshoot the data; use "
                          "inertia='posterior_mean' (the same map to first order in h) or a smaller bandwidth",
                          UserWarning, stacklevel=4)
        if self.inertia == "paper" and self.bandwidth_**2 > MAX_PAPER_H:
            raise ValueError(f"{where} gives sigma = {self.bandwidth_:.3g} (h = {self.bandwidth_**2:.3g}): the "
                             "paper-form inertia step multiplies by e^h h/v_h and is unusable past "
                             f"h = {MAX_PAPER_H:g}; "
                             "use inertia='posterior_mean' or a smaller bandwidth")

    def _count_isolated(self) -> int:
        """Training points isolated at the kernel's scale, from a seeded probe of 512 rows
        (:func:`~inertial_diffusion.core.isolation.isolated_probes`); an estimate for all ``n`` beyond."""
        n = self.n_samples_fit_
        k = min(n, ISOLATION_PROBE_ROWS)
        rng = np.random.default_rng(self._fit_seed())
        index = torch.as_tensor(np.sort(rng.choice(n, size=k, replace=False)))
        rows = self.backend_.rows
        y = rows[index].to(self.device_)
        # a subsample of reference rows settles most probes; its float64 blocks stay within max_memory. With
        # n <= k every row is a probe and its own reference; on Dask the probes are (more rows touch every shard)
        n_ref = min(n, ISOLATION_REFERENCE_ROWS, max(k, self.max_memory_ // (16 * max(self.n_dims_, 1))))
        if n > k and n_ref > k and isinstance(rows, torch.Tensor):
            ref_index = torch.as_tensor(np.sort(rng.choice(n, size=n_ref, replace=False)))
            reference = rows[ref_index].to(self.device_)
        else:
            ref_index, reference = index, y
        count = int(isolated_probes(self.backend_, y, index, reference, ref_index, self.h_, ISOLATION_SELF_WEIGHT,
                                    max_memory=self.max_memory_).sum())
        estimate = count if k == n else int(round(count * n / k))
        if estimate:
            warnings.warn(f"{'about ' if k < n else ''}{estimate} of {n} training points are isolated at the "
                          f"kernel's scale (sigma = {self.bandwidth_:.3g}): samples drawn from them are "
                          "near-copies; sample(..., exclude_copies=True) (CLI: --exclude-copies) redraws those",
                          UserWarning, stacklevel=4)
        return estimate

    def _final_map(self, z: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        dims = getattr(self, "discrete_dims_", None)  # a table's codes: from one posterior-drawn row
        discrete = None if dims is None else torch.as_tensor(dims, device=z.device)
        return inertia_step(self.backend_, z, self.h_, self.inertia, generator, discrete=discrete)

    @overload
    def sample(self, n_samples: int = ..., random_state: Any = ..., callback: Callback = ..., y: Any = ...,
               return_neglected_mass: Literal[False] = ..., exclude_copies: bool = ...) -> np.ndarray: ...

    @overload
    def sample(self, n_samples: int = ..., random_state: Any = ..., callback: Callback = ..., y: Any = ..., *,
               return_neglected_mass: Literal[True], exclude_copies: bool = ...) -> tuple[np.ndarray, np.ndarray]: ...

    @overload
    def sample(self, n_samples: int = ..., random_state: Any = ..., callback: Callback = ..., y: Any = ...,
               return_neglected_mass: bool = ..., exclude_copies: bool = ...
               ) -> np.ndarray | tuple[np.ndarray, np.ndarray]: ...

    def sample(self, n_samples: int = 1, random_state: Any = None, callback: Callback = None, y: Any = None,
               return_neglected_mass: bool = False,
               exclude_copies: bool = False) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        """Draw ``n_samples`` new points, in float64 data units.

        As :meth:`DiffusionBase.sample <inertial_diffusion.estimators._base.DiffusionBase.sample>`, with
        the inertia step as the final map; a model of several separated parts draws from the parts in
        proportion to their sizes.

        Parameters
        ----------
        n_samples : int, default=1
            Number of samples (0 gives an empty ``(0, D)`` array).
        random_state : None, int, numpy RandomState or Generator, optional
            Overrides the estimator's ``random_state`` for this call.
        callback : callable, optional
            Called after every step of a simulated sampler (see ``DiffusionBase.sample``).
        y : label, optional
            After ``fit(X, y)``: draw from this class's model only.
        return_neglected_mass : bool, default=False
            Also return the per-sample bound on the pruned softmax mass (see ``DiffusionBase.sample``).
        exclude_copies : bool, default=False
            Redraw every sample within :data:`COPY_DISTANCE` (``1e-6``, standardized units) of a training
            point, up to 100 rounds. This removes the copies of isolated training points; it changes the
            law slightly (the mass near training points is redistributed over the other draws).

        Returns
        -------
        samples : ndarray of shape (n_samples, D)
            The new points, float64, in data units.
        neglected_mass : ndarray of shape (n_samples,)
            Only with ``return_neglected_mass=True``, as the second item of a tuple.

        Raises
        ------
        ValueError
            As ``DiffusionBase.sample``; also ``exclude_copies`` with ``return_neglected_mass``,
            ``return_neglected_mass`` on a model of several parts, or copies still drawn after 100
            redraws (the bandwidth is too small: the model memorizes).

        Examples
        --------
        Two far-apart points are isolated at a small σ: plain samples copy them, ``exclude_copies`` does not.

        >>> import warnings
        >>> import numpy as np
        >>> from inertial_diffusion import InertialDiffusion
        >>> X = np.vstack([np.random.default_rng(0).uniform(-1, 1, size=(100, 2)), [[6.0, 6.0], [-6.0, 6.0]]])
        >>> with warnings.catch_warnings():
        ...     warnings.simplefilter("ignore")  # the isolated-point warning
        ...     model = InertialDiffusion(bandwidth=0.2, random_state=0).fit(X)
        >>> model.n_isolated_
        2
        >>> def copies(S):
        ...     return int((np.linalg.norm(S[:, None] - X[None], axis=2).min(axis=1) < 1e-6).sum())
        >>> copies(model.sample(200)) > 0, copies(model.sample(200, exclude_copies=True))
        (True, 0)
        """
        rs = self.random_state if random_state is None else random_state
        check_is_fitted(self, "backend_")
        with self._threads(int(n_samples) if isinstance(n_samples, numbers.Integral) else 1):
            return self._decode(self._sample_idm(n_samples, rs, callback, y, return_neglected_mass, exclude_copies),
                                rs)

    def _sample_idm(self, n_samples: int, rs: Any, callback: Callback, y: Any, return_neglected_mass: bool,
                    exclude_copies: bool) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        """:meth:`sample` before a table's decoding (``rs``: the call's random state)."""
        # getattr: the class models of fit(X, y) are fitted without the component search
        parts: list[InertialDiffusion] | None = getattr(self, "component_models_", None)
        if parts is not None and y is None:
            if return_neglected_mass:
                raise ValueError("return_neglected_mass is not available for a model of several components")
            check_n_samples(n_samples)
            assert self.components_ is not None, "set with component_models_"
            return sample_mixture(parts, [c["size"] for c in self.components_], n_samples, rs, callback,
                                  exclude_copies=exclude_copies)
        if not exclude_copies:
            check_is_fitted(self, "backend_")
            return self._sample_array(check_n_samples(n_samples), rs, callback, y, return_neglected_mass)
        if return_neglected_mass:
            raise ValueError("exclude_copies and return_neglected_mass cannot be combined")
        check_is_fitted(self, "backend_")
        n_samples = check_n_samples(n_samples)
        if y is not None and self.class_models_ is None:
            raise ValueError("y was given to sample() but the model was fitted without labels; "
                             "call fit(X, y) for class-conditional sampling")
        if self.class_models_ is not None:  # each class model redraws its own copies
            return self._sample_classes(check_n_samples(n_samples), rs, callback, y, exclude_copies=True)
        gen = torch_generator(rs, self.device_)
        x_hat, _ = self._sample_standardized(n_samples, gen, callback)
        for _ in range(100):
            copies = torch.nonzero(self._nearest_distance(x_hat) < COPY_DISTANCE).flatten()
            if copies.numel() == 0:
                break
            x_hat[copies] = self._sample_standardized(int(copies.numel()), gen, callback)[0]
        else:
            raise ValueError("exclude_copies: samples kept landing on training points after 100 redraws; the "
                             "bandwidth is too small for these data (the model memorizes)")
        return self.standardizer_.inverse_transform(x_hat.cpu().numpy())

    def _parts(self) -> tuple[list[InertialDiffusion], list[int]] | None:
        parts = getattr(self, "component_models_", None)
        return None if parts is None or self.components_ is None else (parts, [c["size"] for c in self.components_])

    def posterior_mean(self, x: Any, t: float) -> np.ndarray:  # noqa: D102 (DiffusionBase's docstring)
        parts = self._parts()
        return super().posterior_mean(x, t) if parts is None else mixture_query(*parts, x, t, "posterior_mean")

    def score_function(self, x: Any, t: float) -> np.ndarray:  # noqa: D102
        parts = self._parts()
        return super().score_function(x, t) if parts is None else mixture_query(*parts, x, t, "score_function")

    def log_density(self, x: Any, t: float) -> np.ndarray:  # noqa: D102
        parts = self._parts()
        return super().log_density(x, t) if parts is None else mixture_query(*parts, x, t, "log_density")

    posterior_mean.__doc__ = DiffusionBase.posterior_mean.__doc__
    score_function.__doc__ = DiffusionBase.score_function.__doc__
    log_density.__doc__ = DiffusionBase.log_density.__doc__

    def _nearest_distance(self, s: torch.Tensor) -> torch.Tensor:
        """Distance of each point ``s`` to its nearest training point, from the backend's max logit.

        At ``t = ln(3)/2`` (where ``alpha_t^2 = v_t``) the logits at ``x = alpha_t s`` are
        ``s.y_i - |y_i|^2/2``, so ``min_i |s - y_i|^2 = |s|^2 - 2 max_i l_i`` (float64 queries).
        """
        t = 0.5 * math.log(3.0)
        s64 = s.double()
        best = self.backend_.partial(alpha(t) * s64, t).max.double() * math.log(2.0)  # base-2 max -> natural
        return ((s64**2).sum(dim=1) - 2 * best).clamp_min(0.0).sqrt()
