"""Baselines with the estimator interface ``fit(X).sample(m, random_state)``.

* :class:`AmbientKDE` — a Gaussian kernel density estimate in the ambient space: a training point
  plus :math:`\\sigma` noise in all D directions. Its samples sit :math:`\\approx\\sigma\\sqrt{D-d}` off
  the data manifold, the failure IDM's inertia step avoids.
* :class:`SmoothedCFDM` — the smoothed closed-form diffusion model (σ-CFDM) of Scarvelis, Sáez de
  Ocáriz Borde & Solomon (TMLR 2025); see :mod:`inertial_diffusion.core.cfdm`.

Both standardize like :class:`~inertial_diffusion.InertialDiffusion` (``standardize``, one global scale by
default) and default to the same bandwidth :math:`\\sigma = c\\,n^{-1/(d+4)}`, so comparisons are at equal σ.
(:class:`~inertial_diffusion.EmpiricalDiffusion`, the memorizing baseline, lives with the estimators.)
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from inertial_diffusion.backends.factory import is_dask_array
from inertial_diffusion.core.bandwidth import bandwidth_rule, resolve_intrinsic_dim
from inertial_diffusion.core.cfdm import cfdm_times, flow_matching_denoiser, flow_matching_time, sample_cfdm_euler
from inertial_diffusion.core.samplers import Callback, sample_one_shot
from inertial_diffusion.core.standardize import Standardizer, resolve_mode
from inertial_diffusion.core.validation import check_n_samples
from inertial_diffusion.estimators._base import (
    COMMON_CONSTRAINTS,
    DiffusionBase,
    GeneratorMixin,
    parameters_doc,
    validate_fit_input,
)
from inertial_diffusion.estimators.inertial import DIM_METHODS

__all__ = ["AmbientKDE", "SmoothedCFDM"]

_POSITIVE = Interval(numbers.Real, 0, None, closed="neither")

#: The rule's parameters, shared by the baselines (compared with IDM at equal sigma).
RULE_CONSTRAINTS: dict[str, list] = {
    "bandwidth": [_POSITIVE, None],
    "intrinsic_dim": [_POSITIVE, None],
    "bandwidth_scale": [_POSITIVE],
    "dim_method": [StrOptions(set(DIM_METHODS))],
}


def _local(X: Any, name: str) -> np.ndarray:
    """The baselines run on in-memory data only: refuse a Dask array with a message that says so."""
    if is_dask_array(X):
        raise ValueError(f"{name} needs in-memory data; compute the Dask array first (X.compute()) or use "
                         "InertialDiffusion, which keeps it on the cluster")
    return X


def _rule_bandwidth(estimator: AmbientKDE | SmoothedCFDM, Z: np.ndarray) -> None:
    """Set ``intrinsic_dim_`` and ``bandwidth_`` from the given bandwidth or the rule c n^(-1/(d+4))."""
    d = resolve_intrinsic_dim(estimator.intrinsic_dim, Z, estimator.dim_method, estimator.bandwidth is None,
                              n_samples=estimator.n_samples_fit_, bandwidth_scale=estimator.bandwidth_scale)
    estimator.intrinsic_dim_ = d
    if estimator.bandwidth is not None:
        estimator.bandwidth_ = float(estimator.bandwidth)
    else:
        assert d is not None, "the rule needs d"  # resolve_intrinsic_dim estimates it when needed
        estimator.bandwidth_ = bandwidth_rule(estimator.n_samples_fit_, d, estimator.bandwidth_scale)


class AmbientKDE(GeneratorMixin, BaseEstimator):
    __doc__ = """Gaussian KDE in the ambient space: :math:`x = y_I + \\sigma\\,\\xi`, ``I`` uniform,
    :math:`\\xi \\sim N(0, I_D)`.

    The baseline that IDM's inertia step improves on: at the same σ its samples are spread over all D
    directions, so they sit :math:`\\approx\\sigma\\sqrt{{D-d}}` off a d-dimensional data manifold.

    Parameters
    ----------
    bandwidth : float, optional
        :math:`\\sigma` in standardized units (default: the rule :math:`c\\,n^{{-1/(d+4)}}`).
{PARAMS}
    Attributes
    ----------
    bandwidth_ : float
        :math:`\\sigma` used, in standardized units.
    intrinsic_dim_ : float or None
        ``d`` used by the rule (None when ``bandwidth`` was given and ``intrinsic_dim`` was not).
    data_ : ndarray of shape (n, D)
        The standardized training rows.
    n_features_in_, n_samples_fit_ : int
        ``D`` and ``n``.

    See Also
    --------
    InertialDiffusion : The same kernel, with the noise mapped back onto the data by the inertia step.

    Examples
    --------
    >>> import numpy as np
    >>> from inertial_diffusion import AmbientKDE
    >>> X = np.random.default_rng(0).normal(size=(100, 3))
    >>> kde = AmbientKDE(bandwidth=0.5, random_state=0).fit(X)
    >>> kde.sample(4).shape
    (4, 3)
    """.format(PARAMS=parameters_doc("intrinsic_dim", "bandwidth_scale", "dim_method", "standardize", "random_state"))

    _parameter_constraints: dict = {**RULE_CONSTRAINTS, "standardize": COMMON_CONSTRAINTS["standardize"],
                                    "random_state": COMMON_CONSTRAINTS["random_state"]}

    # fitted attributes (set by ``fit``)
    n_features_in_: int
    n_samples_fit_: int
    data_: np.ndarray
    intrinsic_dim_: float | None
    bandwidth_: float

    def __init__(self, *, bandwidth: float | None = None, intrinsic_dim: float | None = None,
                 bandwidth_scale: float = 1.0, dim_method: str = "scale", standardize: bool | str = True,
                 random_state: Any = None) -> None:
        self.bandwidth = bandwidth
        self.intrinsic_dim = intrinsic_dim
        self.bandwidth_scale = bandwidth_scale
        self.dim_method = dim_method
        self.standardize = standardize
        self.random_state = random_state

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: Any, y: Any = None) -> "AmbientKDE":
        """Store the standardized training set and the bandwidth.

        Parameters
        ----------
        X : array-like of shape (n, D)
            Training data, finite, at least 2 rows, in memory (not a Dask array).
        y : None
            Ignored; accepted for scikit-learn compatibility.

        Returns
        -------
        self : AmbientKDE
            The fitted estimator.

        Raises
        ------
        ValueError
            Invalid data or parameters, or a Dask array.
        """
        X = _local(validate_fit_input(self, X), "AmbientKDE")
        self.standardizer_ = Standardizer.fit(X, resolve_mode(self.standardize))
        self.n_samples_fit_ = X.shape[0]
        self.data_ = self.standardizer_.transform(X)
        _rule_bandwidth(self, self.data_)
        return self

    def sample(self, n_samples: int = 1, random_state: Any = None) -> np.ndarray:
        """Draw ``n_samples`` points in float64 data units.

        Parameters
        ----------
        n_samples : int, default=1
            Number of samples (0 gives an empty ``(0, D)`` array).
        random_state : None, int, numpy RandomState or Generator, optional
            Overrides the estimator's ``random_state`` for this call. Same seed, same output.

        Returns
        -------
        ndarray of shape (n_samples, D)
            A uniformly chosen training row plus :math:`\\sigma`-scaled Gaussian noise (in standardized
            units), mapped back to data units.
        """
        check_is_fitted(self, "data_")
        n_samples = check_n_samples(n_samples)
        rng = np.random.default_rng(self.random_state if random_state is None else random_state)
        index = rng.integers(self.n_samples_fit_, size=n_samples)
        z = self.data_[index] + self.bandwidth_ * rng.standard_normal((n_samples, self.data_.shape[1]))
        return self.standardizer_.inverse_transform(z)


class SmoothedCFDM(DiffusionBase):
    __doc__ = """Smoothed closed-form diffusion model (σ-CFDM), Scarvelis, Sáez de Ocáriz Borde & Solomon, TMLR 2025.

    Euler integration, in flow-matching time, of the closed-form velocity whose posterior mean is
    averaged over ``n_noise`` Gaussian perturbations :math:`z + \\sigma\\varepsilon` of the query
    (see :mod:`inertial_diffusion.core.cfdm` for the formulas and the map to our OU convention). Samples
    are barycenters of nearby training points. ``sample`` is the shared one (same seed, same output); it refuses
    a label ``y`` (no class-conditional mode), returns zeros as the neglected mass (exact backend) and calls
    ``callback`` after every Euler step with ``t`` the flow-matching time reached (that of ``x``, as the OU
    samplers do) and ``denoised`` the smoothed posterior mean evaluated at the step's start.

    Parameters
    ----------
    bandwidth : float, optional
        Smoothing scale :math:`\\sigma` in standardized units (default: the IDM rule
        :math:`c\\,n^{{-1/(d+4)}}`, so that both models are compared at the same σ).
    n_steps : int, default=100
        Euler steps ``S`` from ``start_time`` to 1.
    n_noise : int, default=8
        Perturbation draws ``M`` per step (the cost is ``M`` posterior means per step).
    start_time : float in [0, 1), default=0.0
        ``tau_0``. At 0 the start is :math:`N(0, I)`; above 0 it is an exact draw from the
        perturbed empirical law :math:`\\tau_0 y_I + (1 - \\tau_0)\\varepsilon` (the paper's shortcut).
{PARAMS}
    Attributes
    ----------
    bandwidth_ : float
        :math:`\\sigma` used, in standardized units.
    intrinsic_dim_ : float or None
        ``d`` used by the rule (None when ``bandwidth`` was given and ``intrinsic_dim`` was not).
    backend_ : PosteriorBackend
        The exact posterior of the standardized training rows.
    n_features_in_, n_samples_fit_ : int
        ``D`` and ``n``.

    Examples
    --------
    >>> import numpy as np
    >>> from inertial_diffusion import SmoothedCFDM
    >>> X = np.random.default_rng(0).normal(size=(100, 2))
    >>> model = SmoothedCFDM(bandwidth=0.3, n_steps=10, n_noise=4, random_state=0).fit(X)
    >>> model.sample(5).shape
    (5, 2)
    """.format(PARAMS=parameters_doc("intrinsic_dim", "bandwidth_scale", "dim_method", "standardize", "dtype", "device",
                                     "chunk_size", "max_memory", "random_state"))

    _parameter_constraints: dict = {
        **{k: v for k, v in COMMON_CONSTRAINTS.items()
           if k not in ("sampler", "prior", "t_max", "client", "prune_tol")},
        **RULE_CONSTRAINTS,
        "dtype": [StrOptions({"float64", "float32"})],
        "n_noise": [Interval(numbers.Integral, 1, None, closed="left")],
        "start_time": [Interval(numbers.Real, 0, 1, closed="left")],
    }
    # the shared fit machinery reads these; sigma-CFDM has no simulated OU sampler, pruning or cluster
    sampler, prior, t_max, client, prune_tol = "one_shot", "mixture", 1.0, None, None

    # fitted attributes (set by ``fit``, besides those of DiffusionBase)
    intrinsic_dim_: float | None
    bandwidth_: float

    def __init__(self, *, bandwidth: float | None = None, n_steps: int = 100, n_noise: int = 8,
                 start_time: float = 0.0, intrinsic_dim: float | None = None, bandwidth_scale: float = 1.0,
                 dim_method: str = "scale", standardize: bool | str = True, dtype: str = "float64",
                 device: str = "cpu", chunk_size: int | None = None, random_state: Any = None,
                 max_memory: int | None = None) -> None:
        self.bandwidth = bandwidth
        self.n_steps = n_steps
        self.n_noise = n_noise
        self.start_time = start_time
        self.intrinsic_dim = intrinsic_dim
        self.bandwidth_scale = bandwidth_scale
        self.dim_method = dim_method
        self.standardize = standardize
        self.dtype = dtype
        self.device = device
        self.chunk_size = chunk_size
        self.random_state = random_state
        self.max_memory = max_memory

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: Any, y: Any = None) -> "SmoothedCFDM":
        """Store the standardized training set (on ``device``, behind the exact backend) and the smoothing scale.

        Parameters
        ----------
        X : array-like of shape (n, D)
            Training data, finite, at least 2 rows, in memory (not a Dask array).
        y : None
            Ignored; accepted for scikit-learn compatibility (σ-CFDM has no class-conditional mode).

        Returns
        -------
        self : SmoothedCFDM
            The fitted estimator.

        Raises
        ------
        ValueError
            Invalid data or parameters, or a Dask array.
        """
        X = _local(self._validate_fit_input(X), "SmoothedCFDM")
        Z = self._fit_backend(X, self._fit_standardizer(X))
        assert Z is not None, "local data give local rows"  # _local refused a Dask array
        _rule_bandwidth(self, Z.cpu().double().numpy())
        self.class_models_ = None
        return self

    def _sample_standardized(self, n_samples: int, generator: torch.Generator, callback: Callback,
                             with_bound: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
        """σ-CFDM's samples in standardized units; the exact backend leaves no mass out (zeros)."""
        tau0 = float(self.start_time)
        if tau0 > 0:
            # tau0 y_I + (1 - tau0) eps is the OU mixture at t(tau0), rescaled by tau0 / alpha_t
            t0, scale = flow_matching_time(tau0)
            z = sample_one_shot(self.backend_.rows, t0, n_samples, generator) / scale
        else:
            z = torch.randn((n_samples, self.n_dims_), generator=generator, dtype=self.backend_.dtype,
                            device=self.device_)
        if n_samples:
            z = sample_cfdm_euler(flow_matching_denoiser(self.backend_.denoiser), z, cfdm_times(self.n_steps, tau0),
                                  self.bandwidth_, self.n_noise, generator=generator, callback=callback)
        return z, (torch.zeros(n_samples, dtype=torch.float64) if with_bound else None)
