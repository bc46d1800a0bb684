"""What the estimators share: parameter constraints, validation, standardization, the backend, sampling.

Data flow: validate -> standardize -> backend (the empirical posterior, chosen once at ``fit``) ->
sampler -> final map (inertia step or denoising) -> un-standardize. The estimators hold no math and no
backend branch: every query method (``sample``, ``posterior_mean``, ``score_function``, ``log_density``)
goes through ``backend_``, so they always agree.
"""

from __future__ import annotations

import numbers
import warnings
from typing import Any, Literal, overload

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.base import BaseEstimator
from sklearn.utils import Tags
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from inertial_diffusion import choices
from inertial_diffusion.backends.base import PosteriorBackend
from inertial_diffusion.backends.device import DTYPES, check_dtype_for_device, resolve_device, torch_generator
from inertial_diffusion.backends.factory import is_dask_array, make_backend, resolve_max_memory
from inertial_diffusion.backends.threads import thread_scope, threads_for
from inertial_diffusion.core.process import time_grid
from inertial_diffusion.core.samplers import SIMULATORS, Callback, sample_one_shot, sample_stationary
from inertial_diffusion.core.standardize import STANDARDIZE_MODES, Standardizer, resolve_mode
from inertial_diffusion.core.validation import check_data, check_n_samples, check_queries, check_time
from inertial_diffusion.estimators.conditional import ClassConditionalMixin
from inertial_diffusion.tables.encoder import is_dataframe

__all__ = ["parameters_doc", "PARAMETER_DOCS", "DiffusionBase", "GeneratorMixin", "validate_fit_input", "SAMPLERS",
           "PRIORS", "COMMON_CONSTRAINTS", "COMMON_PARAMETERS_DOC"]

SAMPLERS: tuple[str, ...] = choices.SAMPLERS
assert set(SAMPLERS) == {"one_shot", *SIMULATORS}, "choices.SAMPLERS and core.samplers.SIMULATORS disagree"
PRIORS: tuple[str, ...] = ("mixture", "stationary")

_POSITIVE = Interval(numbers.Real, 0, None, closed="neither")
_POSITIVE_INT = Interval(numbers.Integral, 1, None, closed="left")

#: Constraints of the parameters every diffusion estimator shares (scikit-learn's declarative checks).
COMMON_CONSTRAINTS: dict[str, list[Any] | str] = {  # a list of constraints, or "no_validation"
    "sampler": [StrOptions(set(SAMPLERS))],
    "n_steps": [_POSITIVE_INT],
    "standardize": ["boolean", StrOptions(set(STANDARDIZE_MODES))],
    "dtype": [StrOptions(set(DTYPES))],
    "device": [str],
    "chunk_size": [_POSITIVE_INT, None],
    "max_memory": [_POSITIVE_INT, None],
    "random_state": ["random_state", np.random.Generator],
    "prior": [StrOptions(set(PRIORS))],
    "t_max": [_POSITIVE],
    "client": "no_validation",
    "prune_tol": [Interval(numbers.Real, 0, 1, closed="neither"), None],
}
#: The ``threads`` parameter of the diffusion estimators that take it.
THREADS_CONSTRAINT: list[Any] = [_POSITIVE_INT, None]

#: numpydoc entries of the parameters several estimators share: one text, substituted into each docstring.
PARAMETER_DOCS: dict[str, str] = {
    'sampler': """\
    sampler : {"one_shot", "sde", "sde_euler", "ode"}, default="one_shot"
        Exact draw of ``z ~ p̂_h`` ("one_shot"); reverse SDE by the exponential integrator ("sde") or
        Euler–Maruyama ("sde_euler"); probability-flow ODE by Heun ("ode"). All have the law
        :math:`\\hat p_h` up to discretization error.
""",
    'n_steps': """\
    n_steps : int, default=100
        Steps of the simulated samplers (log-spaced times from ``t_max`` to the final time). "sde_euler"
        splits each into 10 Euler–Maruyama sub-steps (at 100 steps plain Euler–Maruyama overshoots
        :math:`E|z|^2` by 4 %); "sde", the exponential integrator, is the recommended simulation.
""",
    'standardize': """\
    standardize : {"global", "per_feature", "none"} or bool, default=True
        ``True``/"global": centre and divide by one global scale (RMS distance to the mean), which
        keeps the ambient-dimension independence. "per_feature": divide each column by its standard
        deviation (tables with mixed units). ``False``/"none": use the data as they are.
""",
    'dtype': """\
    dtype : {"float64", "float32", "tf32"}, default="float64"
        Computation dtype, in standardized units (samples are returned in float64 data units).
        float32 (about 2x faster) keeps the posterior mean within ~2e-5 of the data scale through an
        a-priori guard on the logits (typically ~1e-7; 2.7e-6 measured on a manifold with few neighbours
        per posterior); past the guard, peaked posteriors stay in float32 under a per-row certificate
        (2.5e-7) and the other rows are recomputed in float64. Besides, the queries themselves are rounded to
        float32: at t <= 1e-4 a query exactly between two training points has its posterior split set by its
        last bits (measured up to 6e-4 of the data scale). Use float64 when 1e-6 matters.
        "tf32" (GPU only) is an opt-in fast mode of ~1e-3 accuracy.
""",
    'device': """\
    device : {"cpu", "cuda", "cuda:N", "auto"}, default="cpu"
        "auto": CUDA when available. On a GPU the data stay resident when they take at most half of
        the free memory, else they stay in pinned host memory and are streamed chunk by chunk.
""",
    'chunk_size': """\
    chunk_size : int, optional
        Training rows per streamed chunk (default: see :func:`inertial_diffusion.core.posterior.plan_blocks`).
""",
    'max_memory': """\
    max_memory : int, optional
        Working-memory budget in bytes of every posterior evaluation (default: an eighth of the
        available memory capped at 256 MiB on the CPU, a quarter of the free GPU memory).
""",
    'random_state': """\
    random_state : None, int, numpy RandomState or Generator
        Seeds every draw; same seed, same output.
""",
    'prior': """\
    prior : {"mixture", "stationary"}, default="mixture"
        Start of the simulated samplers: the exact :math:`\\hat p_T` or :math:`N(0, \\tfrac12 I)`.
""",
    't_max': """\
    t_max : float, default=10.0
        Start time ``T`` of the simulated samplers.
""",
    'client': """\
    client : dask.distributed.Client, address string or None
        Only for a Dask-array ``X``: the cluster that holds the data (default: the current client, or
        a new 2-worker ``LocalCluster``). The data stay distributed.
""",
    'prune_tol': """\
    prune_tol : float in (0, 1), optional
        Certified cluster pruning: skip the clusters of training points whose share of the softmax
        mass is provably below ``prune_tol`` (see :mod:`inertial_diffusion.backends.pruned`). None:
        exact, every point.
""",
    'threads': """\
    threads : int, optional
        Torch threads of every call (fit, sample, queries). None: one thread for small calls or when the machine
        is busy (other processes' runnable threads, niced ones aside, leave no core free), torch's setting otherwise
        (:mod:`inertial_diffusion.backends.threads`: measured beside two busy processes, 1 thread ran 1.05-1.7x
        faster than 2 at every size).
""",
    'intrinsic_dim': """\
    intrinsic_dim : float, optional
        Manifold dimension ``d`` of the rule :math:`\\sigma = c\\,n^{-1/(d+4)}`; estimated with ``dim_method``
        when omitted.
""",
    'bandwidth_scale': """\
    bandwidth_scale : float, default=1.0
        The constant ``c`` of the rule.
""",
    'dim_method': """\
    dim_method : {"scale", "twonn", "mle"}, default="scale"
        Intrinsic-dimension estimator used when ``intrinsic_dim`` is None: "scale" measures the data at
        the kernel's scale (GRIDE on the neighbour distances that σ spans), so ambient noise below σ is not
        read as dimensions; "twonn" and "mle" measure at the nearest-neighbour scale (see
        :func:`inertial_diffusion.estimate_intrinsic_dim`).
""",
}


def parameters_doc(*names: str) -> str:
    """The numpydoc lines of the named shared parameters, in order.

    Every estimator that takes one of these parameters substitutes this text into its ``__doc__``
    (``str.format``), so a shared parameter is described once, here, and reads the same everywhere
    (``tests/estimators/test_conformance.py`` checks it).

    Parameters
    ----------
    *names : str
        Keys of :data:`PARAMETER_DOCS`, in the order they should appear.

    Returns
    -------
    str
        The entries concatenated, each indented by 4 spaces and ending with a newline, ready to sit
        inside a class's ``Parameters`` section.

    Raises
    ------
    KeyError
        A name that has no entry in :data:`PARAMETER_DOCS`.

    Examples
    --------
    >>> print(parameters_doc("t_max"), end="")
        t_max : float, default=10.0
            Start time ``T`` of the simulated samplers.
    """
    return "".join(PARAMETER_DOCS[name] for name in names)


#: The parameters every diffusion estimator shares.
COMMON_PARAMETERS_DOC = parameters_doc("sampler", "n_steps", "standardize", "dtype", "device", "chunk_size",
                                       "max_memory", "random_state", "prior", "t_max", "client", "prune_tol")


class GeneratorMixin:
    """What every generator shares: scikit-learn tags (dense finite input, labels optional) and the fitted
    standardization as ``mean_`` and ``scale_``."""

    #: The fitted standardization (set by ``fit``).
    standardizer_: Standardizer

    def __sklearn_tags__(self) -> Tags:
        # a mixin: BaseEstimator, which defines __sklearn_tags__, follows it in every estimator's MRO
        tags: Tags = super().__sklearn_tags__()  # type: ignore[misc]
        tags.input_tags.allow_nan = False
        tags.input_tags.sparse = False
        tags.target_tags.required = False
        tags.non_deterministic = False
        return tags

    @property
    def mean_(self) -> np.ndarray:
        """Mean subtracted before the process runs (zeros if ``standardize=False``)."""
        check_is_fitted(self, "standardizer_")
        return self.standardizer_.mean

    @property
    def scale_(self) -> float | np.ndarray:
        """Scale of the standardization: one float (global), one per feature, or 1."""
        check_is_fitted(self, "standardizer_")
        return self.standardizer_.scale


def validate_fit_input(estimator: BaseEstimator, X: Any) -> Any:
    """Validate the training data of ``fit`` and set ``estimator.n_features_in_``.

    The project's own checks run first, so that the error names the problem (the index of a NaN or
    infinite entry, a non-numeric pandas column); scikit-learn's ``validate_data`` then records the
    feature count. Of a Dask array only the shape and dtype are checked here (its finiteness is checked
    with the statistics of the standardization, in one pass); it stays on its cluster.

    Parameters
    ----------
    estimator : BaseEstimator
        The estimator being fitted; receives ``n_features_in_``.
    X : array-like of shape (n, D), pandas DataFrame or dask.array.Array
        Training data. Nullable pandas columns (``Float64``, ``Int64``) are read with NA as NaN, which is
        then rejected with its index.

    Returns
    -------
    X : ndarray of shape (n, D) or dask.array.Array
        A finite float array (float32 kept, anything else float64) with at least 2 rows, or the Dask
        array unchanged.

    Raises
    ------
    ValueError
        Not 2-D, fewer than 2 rows, no columns, NaN or infinite entries.
    TypeError
        Non-numeric (or complex) data, or a scipy.sparse matrix (dense data are required).

    Examples
    --------
    >>> from inertial_diffusion import InertialDiffusion
    >>> model = InertialDiffusion()
    >>> validate_fit_input(model, [[0, 1], [2, 3], [4, 5]]).dtype, model.n_features_in_
    (dtype('float64'), 2)
    >>> validate_fit_input(model, [[0.0, 1.0], [float("nan"), 3.0]])
    Traceback (most recent call last):
    ...
    ValueError: X contains NaN ...
    """
    if is_dask_array(X):
        from inertial_diffusion.backends.dask import check_dask_data

        check_dask_data(X)
        estimator.n_features_in_ = int(X.shape[1])
        return X
    if hasattr(X, "to_numpy") and hasattr(X, "dtypes"):  # pandas: nullable Float64/Int64 -> NaN error
        X = _pandas_to_float(X)
    if not sp.issparse(X):  # our checks first: their messages name the problem; scipy.sparse gets sklearn's
        X = check_data(X, min_rows=2)
    return validate_data(estimator, X, dtype=[np.float64, np.float32], ensure_all_finite=False, reset=True)


class DiffusionBase(GeneratorMixin, ClassConditionalMixin, BaseEstimator):
    """Shared fit, sample and query machinery of the diffusion estimators (not used directly).

    A subclass fits in ``_fit_one`` (calls ``_fit_backend``, then sets ``h_``, the final time of the
    reverse process) and defines ``_final_map`` (IDM's inertia step, or the empirical model's
    denoising). Everything else -- sampling, class-conditional models and the queries
    :meth:`posterior_mean`, :meth:`score_function` and :meth:`log_density` -- lives here and goes
    through the one ``backend_`` chosen at ``fit``, so every method sees the same empirical law.

    See Also
    --------
    inertial_diffusion.InertialDiffusion, inertial_diffusion.EmpiricalDiffusion, inertial_diffusion.SmoothedCFDM
    """

    _parameter_constraints: dict = dict(COMMON_CONSTRAINTS)

    # fitted attributes (set by ``fit``; declared here for the type checker, so unset before ``fit``)
    client_: Any
    device_: torch.device
    n_features_in_: int
    _fit_seed_value: int | None = None
    feature_names_in_: np.ndarray
    encoder_: Any
    discrete_dims_: np.ndarray | None
    n_dims_: int
    max_memory_: int
    backend_: PosteriorBackend
    data_resident_: bool
    h_: float

    # ----------------------------------------------------------------- fitting
    def _validate_fit_input(self, X: Any) -> Any:
        self.client_ = None  # a refit resolves its client again (set_params(client=...) must take effect)
        self._fit_seed_value = None  # drawn again for this fit (_fit_seed)
        self.encoder_ = None
        self.discrete_dims_ = None
        if not is_dataframe(X):
            self.__dict__.pop("feature_names_in_", None)  # a refit on an array forgets a table's names
            return validate_fit_input(self, X)
        # a table: its typed columns are encoded for the posterior (tables.encoder), and samples decoded alike
        from inertial_diffusion.tables.encoder import TableEncoder

        if len(X) < 2:
            raise ValueError(f"X has {len(X)} row(s); at least 2 are needed")
        encoder = TableEncoder(column_types=getattr(self, "column_types", None),
                               categorical_weight=getattr(self, "categorical_weight", 1.0),
                               scale_numeric=resolve_mode(self.standardize) == "per_feature").fit(X)
        encoded = validate_fit_input(self, encoder.transform(X))
        if resolve_mode(self.standardize) == "global" and encoder.spread_ratio_ > 10:
            warnings.warn(f"the table's numeric columns have spreads {encoder.spread_ratio_:.3g}x apart (mixed units, "
                          "dates in days?): one global scale lets the widest set sigma; standardize='per_feature' "
                          "scales each column", UserWarning, stacklevel=4)
        self.encoder_ = encoder
        self.discrete_dims_ = encoder.discrete_mask_ if encoder.discrete_mask_.any() else None
        self.n_features_in_ = int(X.shape[1])
        self.feature_names_in_ = np.asarray([str(c) for c in X.columns], dtype=object)
        return encoded

    def _fit_standardizer(self, X: Any) -> Standardizer:
        from inertial_diffusion.backends.dask import dask_statistics

        mode = resolve_mode(self.standardize)
        if getattr(self, "encoder_", None) is not None and mode == "per_feature":
            mode = "global"  # the encoder scaled the numeric columns; one global scale keeps the one-hot weights
        return dask_statistics(X, self._client(), mode) if is_dask_array(X) else Standardizer.fit(X, mode)

    def _fit_seed(self) -> int:
        """The seed of every fit-time draw (subsamples, clustering, the bandwidth search), from ``random_state``:
        an int is used as it is, a generator gives one draw (taken once per fit), None gives 0 (a fit stays
        reproducible unless a generator asks otherwise)."""
        seed: int | None = getattr(self, "_fit_seed_value", None)
        if seed is None:
            rs = self.random_state
            if rs is None:
                seed = 0
            elif isinstance(rs, numbers.Integral):
                seed = int(rs)
            elif isinstance(rs, np.random.RandomState):
                seed = int(rs.randint(2**31 - 1))
            else:
                seed = int(np.random.default_rng(rs).integers(2**31 - 1))
            self._fit_seed_value = seed
        return seed

    def _client(self) -> Any:
        from inertial_diffusion.backends.dask import resolve_client

        if getattr(self, "client_", None) is None:
            self.client_ = resolve_client(self.client)
        return self.client_

    def _fit_backend(self, X: Any, standardizer: Standardizer) -> torch.Tensor | None:
        """Standardize ``X`` into the backend's working copy; returns the standardized rows (the backend's
        tensor, in ``dtype`` on ``device_``) when they are local, None for a Dask array (its rows stay on
        the cluster)."""
        self.device_ = resolve_device(self.device)
        check_dtype_for_device(self.dtype, self.device_)
        self.standardizer_ = standardizer
        self.n_samples_fit_, self.n_dims_ = (int(s) for s in X.shape)
        if getattr(self, "encoder_", None) is None:  # a table has n_features_in_ columns and n_dims_ codes
            self.n_features_in_ = self.n_dims_
        self.max_memory_ = resolve_max_memory(self.max_memory, self.device_)
        dask = is_dask_array(X)
        self.backend_ = make_backend(
            X, standardizer, dtype=self.dtype, device=self.device_, max_memory=self.max_memory_,
            chunk_size=self.chunk_size, prune_tol=self.prune_tol, client=self._client() if dask else None,
            random_state=self._fit_seed())
        self.data_resident_ = bool(getattr(self.backend_, "resident", True))
        return None if dask else self.backend_.rows

    # ---------------------------------------------------------- sampling
    def _final_map(self, z: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        raise NotImplementedError

    def _draw(self, n_samples: int, generator: torch.Generator, callback: Callback) -> torch.Tensor:
        """``z`` at the final time ``h_``: the exact one-shot draw, or a simulated reverse process."""
        backend, h = self.backend_, self.h_
        if self.sampler == "one_shot":
            return sample_one_shot(backend.rows, h, n_samples, generator)
        times = time_grid(max(self.t_max, 2 * h), h, self.n_steps)
        if self.prior == "mixture":  # the exact law at the grid's first time
            x = sample_one_shot(backend.rows, float(times[0]), n_samples, generator)
        else:
            x = sample_stationary(n_samples, self.n_dims_, dtype=backend.dtype, device=self.device_,
                                  generator=generator)
        return SIMULATORS[self.sampler](backend.denoiser, x, times, generator=generator, callback=callback)

    def _sample_standardized(self, n_samples: int, generator: torch.Generator, callback: Callback,
                             with_bound: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``n_samples`` final samples in standardized units (and the neglected-mass bound if asked)."""
        if n_samples == 0:
            empty = torch.empty((0, self.n_dims_), dtype=self.backend_.dtype, device=self.device_)
            return empty, torch.zeros(0, dtype=torch.float64)
        z = self._draw(n_samples, generator, callback)
        x_hat = self._final_map(z, generator)
        return x_hat, (self.backend_.neglected_mass(z, self.h_) if with_bound else None)

    @overload
    def sample(self, n_samples: int = ..., random_state: Any = ..., callback: Callback = ..., y: Any = ...,
               return_neglected_mass: Literal[False] = ...) -> np.ndarray: ...

    @overload
    def sample(self, n_samples: int = ..., random_state: Any = ..., callback: Callback = ..., y: Any = ..., *,
               return_neglected_mass: Literal[True]) -> tuple[np.ndarray, np.ndarray]: ...

    @overload
    def sample(self, n_samples: int = ..., random_state: Any = ..., callback: Callback = ..., y: Any = ...,
               return_neglected_mass: bool = ...) -> np.ndarray | tuple[np.ndarray, np.ndarray]: ...

    def sample(self, n_samples: int = 1, random_state: Any = None, callback: Callback = None, y: Any = None,
               return_neglected_mass: bool = False) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        """Draw ``n_samples`` new points, in float64 data units.

        Draws ``z`` at the final time ``h_`` (exactly with ``sampler="one_shot"``, else by simulating the
        reverse process from ``t_max``), applies the estimator's final map (IDM: the inertia step) in
        standardized units and maps the result back to data units. (σ-CFDM draws by its own flow-matching
        ODE instead: see :class:`~inertial_diffusion.estimators.baselines.SmoothedCFDM`.)

        Parameters
        ----------
        n_samples : int, default=1
            Number of samples (0 gives an empty ``(0, D)`` array).
        random_state : None, int, numpy RandomState or Generator, optional
            Overrides the estimator's ``random_state`` for this call. Same seed, same output.
        callback : callable, optional
            Called after every step of a simulated sampler with a dict ``{"i", "t", "x", "denoised"}``
            (step index, time reached, state and posterior mean there, as tensors in standardized units).
            Not called by ``sampler="one_shot"``.
        y : label, optional
            After ``fit(X, y)``: draw from the model of this class only. Without it, a model
            fitted with labels draws from every class in proportion to its size.
        return_neglected_mass : bool, default=False
            Also return, per sample, the certified bound on the softmax mass left out of its final
            posterior mean (nonzero only with ``prune_tol``).

        Returns
        -------
        samples : ndarray of shape (n_samples, D)
            The new points, float64, in the units of the training data.
        neglected_mass : ndarray of shape (n_samples,)
            Only with ``return_neglected_mass=True`` (then a tuple ``(samples, neglected_mass)`` is
            returned): per sample, the upper bound on the pruned softmax mass.

        Raises
        ------
        ValueError
            ``y`` given to a model fitted without labels, an unknown or too small class, or
            ``return_neglected_mass`` with class-conditional sampling.
        sklearn.exceptions.NotFittedError
            Before ``fit``.

        Examples
        --------
        >>> import numpy as np
        >>> from inertial_diffusion import InertialDiffusion
        >>> X = np.random.default_rng(0).normal(size=(100, 2))
        >>> model = InertialDiffusion(bandwidth=0.3).fit(X)
        >>> S = model.sample(4, random_state=1)
        >>> S.shape, bool(np.array_equal(S, model.sample(4, random_state=1)))  # same seed, same output
        ((4, 2), True)
        """
        check_is_fitted(self, "backend_")
        n_samples = check_n_samples(n_samples)
        rs = self.random_state if random_state is None else random_state
        with self._threads(n_samples):
            return self._decode(self._sample_array(n_samples, rs, callback, y, return_neglected_mass), rs)

    def _sample_array(self, n_samples: int, rs: Any, callback: Callback, y: Any,
                      return_neglected_mass: bool) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        """:meth:`sample` before a table's decoding: float64 samples in the (encoded) data units."""
        if self.class_models_ is not None:
            if return_neglected_mass:
                raise ValueError("return_neglected_mass is not available for class-conditional sampling")
            return self._sample_classes(n_samples, rs, callback, y)
        if y is not None:
            raise ValueError("y was given to sample() but the model was fitted without labels; "
                             "call fit(X, y) for class-conditional sampling")
        x_hat, bound = self._sample_standardized(n_samples, torch_generator(rs, self.device_), callback,
                                                 with_bound=return_neglected_mass)
        samples = self.standardizer_.inverse_transform(x_hat.cpu().numpy())
        if not np.isfinite(samples).all():  # never hand out NaN/inf: the checks at fit should make this unreachable
            raise FloatingPointError("the sampler produced non-finite values; please report this with the data's "
                                     "shape and the parameters")
        if not return_neglected_mass:
            return samples
        assert bound is not None, "with_bound=True gives the bound"
        return samples, bound.cpu().numpy()

    def _threads(self, queries: int, rows: int | None = None, dims: int | None = None) -> Any:
        """The thread scope of a call evaluating the posterior of ``queries`` queries (:mod:`~..backends.threads`)."""
        rows = self.n_samples_fit_ if rows is None else rows
        dims = self.n_dims_ if dims is None else dims
        return thread_scope(threads_for(getattr(self, "threads", None), float(queries) * rows * dims))

    def _decode(self, out: Any, random_state: Any) -> Any:
        """A table's samples as a DataFrame (:class:`~inertial_diffusion.tables.encoder.TableEncoder`); arrays as
        they are. The categories and missing values are drawn from a stream of their own, seeded from
        ``random_state`` (same seed, same table)."""
        encoder = getattr(self, "encoder_", None)
        if encoder is None:
            return out
        samples, rest = (out[0], out[1:]) if isinstance(out, tuple) else (out, ())
        table = encoder.inverse_transform(samples, decode_rng(random_state))
        return (table, *rest) if rest else table

    # ------------------------------------------------------------ queries
    def _queries(self, x: Any, t: Any) -> tuple[torch.Tensor, float]:
        check_is_fitted(self, "backend_")
        t = check_time(t)
        encoder = getattr(self, "encoder_", None)
        if encoder is not None and is_dataframe(x):
            x = encoder.transform(x)
        x = check_queries(x, self.n_dims_)
        z = self.standardizer_.transform(x)
        return torch.as_tensor(z, dtype=self.backend_.dtype, device=self.device_), t

    def posterior_mean(self, x: Any, t: float) -> np.ndarray:
        """Posterior mean :math:`m_t(x) = E[y \\mid X_t = x]` of the empirical model, in data units.

        With :math:`X_t \\mid y \\sim N(\\alpha_t y, v_t I)` and ``y`` uniform on the standardized training
        rows, :math:`m_t` is the softmax-weighted average
        :math:`\\sum_i w_i y_i`, :math:`w_i \\propto \\exp(-|x - \\alpha_t y_i|^2 / (2 v_t))` -- the map
        of IDM's inertia step at ``t = h_``. The OU process runs on the standardized data; ``x`` is
        mapped by the same affine map, and the result mapped back.

        Parameters
        ----------
        x : array-like of shape (m, D) or (D,)
            Query points in data units (a single point is read as one row).
        t : float
            Diffusion time, ``t > 0``.

        Returns
        -------
        ndarray of shape (m, D)
            :math:`m_t(x)`, float64, in data units; it lies in the convex hull of the training rows.

        Raises
        ------
        ValueError
            ``t <= 0``, queries with the wrong number of features or non-finite entries.

        See Also
        --------
        inertial_diffusion.core.posterior.posterior_mean : The formula on standardized rows.

        Examples
        --------
        >>> import numpy as np
        >>> from inertial_diffusion import EmpiricalDiffusion
        >>> X = np.array([[0.0, 0.0], [4.0, 0.0], [0.0, 4.0]])
        >>> model = EmpiricalDiffusion().fit(X)
        >>> np.round(model.posterior_mean(X, 1e-3), 6)  # at small t every point is its own posterior mean
        array([[0., 0.],
               [4., 0.],
               [0., 4.]])
        >>> np.round(model.posterior_mean([1.0, 1.0], 10.0), 3)  # at large t: the mean of the data
        array([[1.333, 1.333]])
        """
        z, t = self._queries(x, t)
        with self._threads(z.shape[0]):
            return self.standardizer_.inverse_transform(self.backend_.mean(z, t).cpu().numpy())

    def score_function(self, x: Any, t: float) -> np.ndarray:
        """Score :math:`\\nabla_x\\log\\hat p_t(x)` of the empirical law at time ``t``, in data units.

        By Tweedie's formula the score of the standardized law is :math:`(\\alpha_t m_t(z) - z)/v_t` at the
        standardized query ``z``; the chain rule through the affine map divides it by ``scale_``.

        Parameters
        ----------
        x : array-like of shape (m, D) or (D,)
            Query points in data units (a single point is read as one row).
        t : float
            Diffusion time, ``t > 0``.

        Returns
        -------
        ndarray of shape (m, D)
            The score, float64, in inverse data units.

        Raises
        ------
        ValueError
            ``t <= 0``, queries with the wrong number of features or non-finite entries.

        Examples
        --------
        >>> import numpy as np
        >>> from inertial_diffusion import EmpiricalDiffusion
        >>> from inertial_diffusion.core.process import alpha, variance
        >>> X = np.random.default_rng(0).normal(size=(20, 3))
        >>> model = EmpiricalDiffusion(standardize=False).fit(X)
        >>> x, t = np.ones((2, 3)), 0.5
        >>> tweedie = (alpha(t) * model.posterior_mean(x, t) - x) / variance(t)
        >>> bool(np.allclose(model.score_function(x, t), tweedie))
        True
        """
        z, t = self._queries(x, t)
        with self._threads(z.shape[0]):
            return self.backend_.score(z, t).cpu().double().numpy() / self.standardizer_.scale

    def log_density(self, x: Any, t: float) -> np.ndarray:
        """Log density :math:`\\log\\hat p_t(x)` of the empirical law at time ``t``, in data units.

        :math:`\\hat p_t` is the Gaussian mixture :math:`\\frac1n\\sum_i N(\\alpha_t y_i, v_t I)` over the
        standardized rows; in data units its log density is the standardized one minus
        :math:`\\log|\\det|` of the standardizing map (``D log scale_`` for one global scale).

        Parameters
        ----------
        x : array-like of shape (m, D) or (D,)
            Query points in data units (a single point is read as one row).
        t : float
            Diffusion time, ``t > 0``.

        Returns
        -------
        ndarray of shape (m,)
            :math:`\\log\\hat p_t(x)`, float64.

        Raises
        ------
        ValueError
            ``t <= 0``, queries with the wrong number of features or non-finite entries.

        Examples
        --------
        A density in data units integrates to 1:

        >>> import numpy as np
        >>> from inertial_diffusion import EmpiricalDiffusion
        >>> X = np.random.default_rng(0).normal(loc=5.0, scale=3.0, size=(30, 1))
        >>> model = EmpiricalDiffusion().fit(X)
        >>> grid = np.linspace(-20.0, 30.0, 4001)[:, None]
        >>> density = np.exp(model.log_density(grid, 0.5))
        >>> round(float(density.sum() * (grid[1, 0] - grid[0, 0])), 4)
        1.0
        """
        z, t = self._queries(x, t)
        with self._threads(z.shape[0]):
            logp = self.backend_.log_density(z, t).cpu().numpy()
        return logp - self.standardizer_.log_abs_det(self.n_dims_)


#: Salt of the decoding stream: a table's draws never reuse the sampler's random numbers.
_DECODE_SALT = 0x7AB1E5


def decode_rng(random_state: Any) -> np.random.Generator:
    """The numpy generator of a table's decoding draws, from the ``random_state`` of a ``sample`` call.

    An int gives a stream of its own (salted: not the sampler's), a numpy generator or ``RandomState`` is
    advanced, a ``torch.Generator`` gives a seed, None a fresh stream.

    Parameters
    ----------
    random_state : None, int, numpy Generator or RandomState, or torch.Generator
        The ``random_state`` of the ``sample`` call.

    Returns
    -------
    numpy.random.Generator

    Examples
    --------
    >>> a, b = decode_rng(3).random(), decode_rng(3).random()
    >>> a == b, a == np.random.default_rng(3).random()
    (True, False)
    """
    if random_state is None:
        return np.random.default_rng()
    if isinstance(random_state, np.random.Generator):
        return np.random.default_rng([int(random_state.integers(2**63 - 1)), _DECODE_SALT])
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng([int(random_state.randint(2**31 - 1)), _DECODE_SALT])
    if isinstance(random_state, torch.Generator):
        seed = int(torch.randint(0, 2**62, (1,), generator=random_state, device=random_state.device).item())
        return np.random.default_rng([seed, _DECODE_SALT])
    return np.random.default_rng([int(random_state), _DECODE_SALT])


def _pandas_to_float(X: Any) -> np.ndarray:
    """A DataFrame with nullable numeric columns (``Float64``, ``Int64``; NA -> NaN) as a float array;
    non-numeric columns are named in the error."""
    try:
        from pandas.api.types import is_bool_dtype, is_numeric_dtype
    except ImportError:  # pragma: no cover - a DataFrame without pandas cannot occur
        return np.asarray(X)
    bad = [str(c) for c, dt in X.dtypes.items() if not (is_numeric_dtype(dt) or is_bool_dtype(dt))]
    if bad:
        raise TypeError(f"X must be numeric; non-numeric column(s): {', '.join(bad[:5])}")
    return X.to_numpy(dtype=np.float64, na_value=np.nan)
