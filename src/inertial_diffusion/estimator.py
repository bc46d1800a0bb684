"""scikit-learn style estimators: validate, standardize, delegate to the functional core.

Data flow: validate -> standardize (centre, divide by one global scale) -> empirical score ->
sampler -> inertia step -> un-standardize. No math lives here beyond the affine map.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from . import posterior
from .bandwidth import MAX_ESTIMATION_ROWS, bandwidth_rule, resolve_intrinsic_dim
from .bandwidth_search import search_bandwidth_scale
from .conditional import ClassConditionalMixin
from .device import DTYPES, check_dtype_for_device, place_data, resolve_device, tf32_matmul, torch_generator
from .distributed import is_dask_array
from .inertia import INERTIA_FORMS, inertia_step
from .process import DEFAULT_T_MAX, alpha, time_grid, variance
from .sampling import SIMULATORS, Callback, sample_one_shot, sample_stationary
from .standardize import Standardizer
from .validation import (check_choice, check_data, check_n_samples, check_positive, check_positive_int,
                         check_queries, check_time)

__all__ = ["InertialDiffusion", "EmpiricalDiffusion", "resolve_device", "torch_generator", "DTYPES"]

SAMPLERS = ("one_shot",) + tuple(SIMULATORS)
PRIORS = ("mixture", "stationary")
class _EmpiricalDiffusionBase(ClassConditionalMixin, BaseEstimator):
    """Shared fit/sample machinery; subclasses choose the stopping time ``h_`` and the final map."""

    _final_forms: tuple[str, ...] = INERTIA_FORMS

    # ----------------------------------------------------------------- fitting
    def _check_common_params(self) -> None:
        check_choice(self.sampler, "sampler", SAMPLERS)
        check_choice(self.prior, "prior", PRIORS)
        check_choice(self.dtype, "dtype", tuple(DTYPES))
        check_positive_int(self.n_steps, "n_steps")
        check_positive(self.t_max, "t_max")
        if self.chunk_size is not None:
            check_positive_int(self.chunk_size, "chunk_size")
        if self.max_memory is not None:
            check_positive_int(self.max_memory, "max_memory")
        if not isinstance(self.standardize, (bool, np.bool_)):
            raise TypeError(f"standardize must be True or False, got {self.standardize!r}")

    def _fit_data(self, X: Any, standardizer: Standardizer | None = None) -> np.ndarray | None:
        """Validate and standardize ``X``; store the torch copy of the standardized data.

        Returns the standardized rows (None for a Dask array, whose rows stay on the cluster).
        """
        self._check_common_params()
        self.dask_data_ = None
        if is_dask_array(X):
            return self._fit_dask(X, standardizer)
        X = check_data(X, min_rows=2)
        self.device_ = resolve_device(self.device)
        check_dtype_for_device(self.dtype, self.device_)
        if standardizer is None:
            standardizer = Standardizer.fit(X) if self.standardize else Standardizer.identity(X.shape[1])
        self.standardizer_ = standardizer
        Z = self.standardizer_.transform(X)
        self.n_features_in_ = X.shape[1]
        self.n_samples_fit_ = X.shape[0]
        self.data_, self.data_resident_ = place_data(Z, DTYPES[self.dtype], self.device_)
        # resolved once: reading the free memory (a device sync on a GPU) on every posterior call would
        # repeat it at every step of a simulated sampler
        self.max_memory_ = (self.max_memory if self.max_memory is not None
                            else posterior.default_max_memory(self.device_))
        self.half_sq_norms_ = 0.5 * (torch.as_tensor(Z, device=self.device_) ** 2).sum(dim=1)
        return Z

    def _fit_dask(self, X: Any, standardizer: Standardizer | None) -> None:
        """Keep a Dask array on its cluster: statistics by reductions, rows gathered on demand."""
        from .distributed import DaskRows, check_dask_data, dask_statistics, resolve_client

        if self.device != "cpu":
            raise ValueError("a Dask array is processed on the cluster's CPUs; use device='cpu'")
        self.device_ = torch.device("cpu")
        check_dask_data(X)
        self.client_ = resolve_client(self.client)
        # a given standardizer (a class model) still needs the finiteness pass
        fitted = dask_statistics(X, self.client_, self.standardize and standardizer is None)
        self.standardizer_ = standardizer if standardizer is not None else fitted
        self.n_samples_fit_, self.n_features_in_ = (int(v) for v in X.shape)
        self.dask_data_ = X
        self.data_ = DaskRows(X, self.standardizer_, DTYPES[self.dtype], self.client_)
        self.max_memory_ = self.max_memory  # each worker sizes its own blocks
        self.half_sq_norms_ = None
        return None

    def _estimation_rows(self, Z: np.ndarray | None) -> np.ndarray:
        """Standardized rows for the intrinsic-dimension estimate: all local rows, or a seeded
        sample of at most MAX_ESTIMATION_ROWS gathered from a Dask cluster."""
        if Z is not None:
            return Z
        rows = np.random.default_rng(0).choice(self.n_samples_fit_, size=min(self.n_samples_fit_, MAX_ESTIMATION_ROWS),
                                               replace=False)
        return self.data_[torch.as_tensor(np.sort(rows))].double().numpy()

    # ---------------------------------------------------------- core hooks
    def _denoise(self, x: torch.Tensor, t: float) -> torch.Tensor:
        neighbors = getattr(self, "neighbors", None)
        if neighbors is not None and self.dask_data_ is None:
            from .knn import knn_posterior_mean

            res = knn_posterior_mean(x, self.data_, t, neighbors, tol=self.neighbor_tol,
                                     backend=self.neighbor_backend)
            self._last_neglected_mass = res.neglected_mass
            return res.mean
        if self.dask_data_ is not None:
            from .distributed import sharded_posterior_mean

            return sharded_posterior_mean(x, self.dask_data_, t, self.standardizer_, self.client_, self.chunk_size)
        with tf32_matmul(self.dtype == "tf32"):
            return posterior.posterior_mean(x, self.data_, t, half_sq_norms=self.half_sq_norms_,
                                            chunk_size=self.chunk_size, max_memory=self.max_memory_)

    def _final_map(self, z: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def _queries(self, x: Any, t: Any) -> tuple[torch.Tensor, float]:
        check_is_fitted(self, "data_")
        t = check_time(t)
        x = check_queries(x, self.n_features_in_)
        z = self.standardizer_.transform(x)
        return torch.as_tensor(z, dtype=self.data_.dtype, device=self.device_), t

    # ------------------------------------------------------------ public API
    def sample(self, n_samples: int = 1, random_state: Any = None, callback: Callback = None,
               y: Any = None, return_neglected_mass: bool = False) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        """Draw ``n_samples`` new points, in data units.

        Parameters
        ----------
        n_samples : int
            Number of samples (0 gives an empty ``(0, D)`` array).
        random_state : None, int or numpy Generator
            Overrides the estimator's ``random_state`` for this call. Same seed, same output.
        callback : callable, optional
            Called after every step of a simulated sampler with ``{"i", "t", "x", "denoised"}``.
        y : label, optional
            After ``fit(X, y)``: draw from the model of this class only. Without it, a model
            fitted with labels draws from every class in proportion to its size.
        return_neglected_mass : bool
            With ``neighbors`` set: also return, per sample, the certified bound on the softmax mass
            left out of its final posterior mean (see :mod:`inertial_diffusion.knn`); zeros otherwise.

        Returns
        -------
        ndarray (n_samples, D), in the estimator's dtype; with ``return_neglected_mass``, a tuple
        ``(samples, neglected_mass)``.
        """
        check_is_fitted(self, "data_")
        n_samples = check_n_samples(n_samples)
        rs = self.random_state if random_state is None else random_state
        if getattr(self, "class_models_", None) is not None:
            if return_neglected_mass:
                raise ValueError("return_neglected_mass is not available for class-conditional sampling")
            return self._sample_classes(n_samples, rs, callback, y)
        if y is not None:
            raise ValueError("y was given to sample() but the model was fitted without labels; "
                             "call fit(X, y) for class-conditional sampling")
        gen = torch_generator(rs, self.device_)
        h = self.h_
        if n_samples == 0:
            z = torch.empty((0, self.n_features_in_), dtype=DTYPES[self.dtype], device=self.device_)
        elif self.sampler == "one_shot":
            z = sample_one_shot(self.data_, h, n_samples, gen)
        else:
            if self.prior == "mixture":
                x = sample_one_shot(self.data_, self.t_max, n_samples, gen)
            else:
                x = sample_stationary(n_samples, self.n_features_in_, dtype=self.data_.dtype,
                                      device=self.device_, generator=gen)
            times = time_grid(max(self.t_max, 2 * h), h, self.n_steps)
            z = SIMULATORS[self.sampler](self._denoise, x, times, generator=gen, callback=callback)
        self._last_neglected_mass = None
        x_hat = self._final_map(z) if n_samples else z
        samples = self.standardizer_.inverse_transform(x_hat.cpu().numpy())
        if not return_neglected_mass:
            return samples
        mass = self._last_neglected_mass
        return samples, (np.zeros(n_samples) if mass is None else mass.cpu().numpy())

    def posterior_mean(self, x: Any, t: float) -> np.ndarray:
        """Posterior mean :math:`E[y \\mid X_t = x]` in data units.

        The OU process runs on the standardized data ``(X - mean_) / scale_``; ``x`` is mapped by
        the same affine map, and the result mapped back.
        """
        z, t = self._queries(x, t)
        return self.standardizer_.inverse_transform(self._denoise(z, t).cpu().numpy())

    def score_function(self, x: Any, t: float) -> np.ndarray:
        """Score :math:`\\nabla_x\\log\\hat p_t(x)` in data units: ``(alpha_t m_t(z) - z)/v_t / scale_``
        with ``z`` the standardized query."""
        z, t = self._queries(x, t)
        if self.dask_data_ is not None:
            s = (alpha(t) * self._denoise(z, t) - z) / variance(t)
        else:
            s = posterior.score(z, self.data_, t, half_sq_norms=self.half_sq_norms_, chunk_size=self.chunk_size,
                                max_memory=self.max_memory_)
        return s.cpu().numpy() / self.standardizer_.scale

    def log_density(self, x: Any, t: float) -> np.ndarray:
        """:math:`\\log\\hat p_t(x)` in data units (the standardized density minus ``D log scale_``)."""
        z, t = self._queries(x, t)
        if self.dask_data_ is not None:
            raise ValueError("log_density is not available for a model fitted on a Dask array")
        logp = posterior.log_density(z, self.data_, t, half_sq_norms=self.half_sq_norms_,
                                     chunk_size=self.chunk_size, max_memory=self.max_memory_)
        return logp.cpu().numpy() - self.n_features_in_ * math.log(self.standardizer_.scale)

    @property
    def mean_(self) -> np.ndarray:
        """Mean subtracted before the process runs (zeros if ``standardize=False``)."""
        check_is_fitted(self, "standardizer_")
        return self.standardizer_.mean

    @property
    def scale_(self) -> float:
        """Global scale: RMS distance of the rows to their mean (1 if ``standardize=False``)."""
        check_is_fitted(self, "standardizer_")
        return self.standardizer_.scale


class InertialDiffusion(_EmpiricalDiffusionBase):
    """Inertial diffusion model (IDM) of Lyu, Nguyen, Qian & Tong, arXiv 2505.02508.

    Runs the empirical diffusion model of the (standardized) training set from ``T`` down to
    ``h = sigma^2`` (or draws :math:`z \\sim \\hat p_h` exactly in one shot), then takes one inertia
    step. Samples are close to a Gaussian KDE *on* the data manifold, with
    :math:`W_1 = O(n^{-2/(d+4)})` for :math:`\\sigma = n^{-1/(d+4)}`, independently of the ambient D.

    Parameters
    ----------
    bandwidth : float, "auto" or None
        :math:`\\sigma` in standardized units; overrides the rule :math:`\\sigma = c\\,n^{-1/(d+4)}`.
        "auto" chooses ``c`` by held-out W1 on a grid (:mod:`inertial_diffusion.bandwidth_search`),
        ignoring ``bandwidth_scale``, and records the search in ``bandwidth_search_``.
    intrinsic_dim : float, optional
        Manifold dimension ``d``; estimated with ``dim_method`` when omitted.
    bandwidth_scale : float
        The constant ``c`` of the rule.
    inertia : {"posterior_mean", "paper"}
        Form of the inertia step (see :mod:`inertial_diffusion.inertia`).
    sampler : {"one_shot", "sde", "sde_euler", "ode"}
        Exact draw of ``z ~ p̂_h``; reverse SDE by the exponential integrator or Euler–Maruyama;
        probability-flow ODE by Heun. All have the law :math:`\\hat p_h` up to discretization error.
    n_steps : int
        Steps of the simulated samplers (log-spaced times from ``t_max`` to ``h``).
    standardize : bool
        Centre and divide by one global scale (RMS distance to the mean) before fitting.
    dtype : {"float64", "float32", "tf32"}
        Storage and computation dtype. float32 keeps ~1e-6 relative accuracy through a guard that
        computes logits in float64 where float32 rounding would exceed it (small t). "tf32" (GPU
        only, opt-in) lets the float32 GEMMs use TensorFloat-32: several times faster on recent GPUs,
        ~1e-3 relative accuracy.
    device : {"cpu", "cuda", "cuda:N", "auto"}
        "auto": CUDA when available. On a GPU the data stay resident when they take at most half of
        the free GPU memory, else they stay in pinned host memory and are streamed chunk by chunk.
    chunk_size : int, optional
        Training rows per streamed chunk (default: 256 float32 / 1024 float64 rows on the CPU,
        8192 on a GPU; see :func:`inertial_diffusion.posterior.plan_blocks`).
    max_memory : int, optional
        Working-memory budget in bytes of every posterior evaluation, beyond the data and the
        returned arrays; sizes the query blocks (and the chunks if small). Default: an eighth of
        the available memory capped at 256 MiB on the CPU, a quarter of the free GPU memory.
    random_state : None, int or numpy Generator
    prior : {"mixture", "stationary"}
        Start of the simulated samplers: the exact :math:`\\hat p_T` or :math:`N(0, \\tfrac12 I)`.
    t_max : float
        Start time ``T`` of the simulated samplers.
    dim_method : {"twonn", "mle"}
        Intrinsic-dimension estimator used when ``intrinsic_dim`` is None.
    neighbors : int, "auto" or None
        Restrict every posterior mean to the k nearest training points (None: exact, all n).
        "auto" grows k per query until the certified neglected softmax mass is below
        ``neighbor_tol`` (see :mod:`inertial_diffusion.knn`); ``sample(..., return_neglected_mass=True)``
        reports the bound per sample.
    neighbor_tol : float
    neighbor_backend : {"auto", "faiss", "torch"}
        Exact nearest-neighbour search: FAISS ``IndexFlatL2`` (``pip install faiss-cpu``) or a
        chunked torch top-k; "auto" takes FAISS when installed.
    client : dask.distributed.Client, address string or None
        Only for a Dask-array ``X``: the cluster that holds the data (default: the current client,
        or a new 2-worker ``LocalCluster``). The data stay distributed (see
        :mod:`inertial_diffusion.distributed`).

    Attributes
    ----------
    bandwidth_ : float
        :math:`\\sigma` used, in standardized units.
    h_ : float
        Stopping time :math:`h = \\sigma^2`.
    intrinsic_dim_ : float or None
        ``d`` used by the rule (None when ``bandwidth`` was given and ``intrinsic_dim`` was not).
    data_resident_ : bool
        Whether the training data live on ``device_`` (False: streamed from the host).
    bandwidth_search_ : BandwidthSearch or None
        The held-out search (grid, scores, chosen ``c``) when ``bandwidth="auto"``, else None.
    n_features_in_, n_samples_fit_ : int
    mean_ : ndarray, scale_ : float
        The standardization.
    """

    def __init__(self, bandwidth: float | str | None = None, intrinsic_dim: float | None = None,
                 bandwidth_scale: float = 1.0, inertia: str = "posterior_mean", sampler: str = "one_shot",
                 n_steps: int = 100, standardize: bool = True, dtype: str = "float64", device: str = "cpu",
                 chunk_size: int | None = None, random_state: Any = None, prior: str = "mixture",
                 t_max: float = DEFAULT_T_MAX, dim_method: str = "twonn", client: Any = None,
                 neighbors: int | str | None = None, neighbor_tol: float = 1e-6,
                 neighbor_backend: str = "auto", max_memory: int | None = None) -> None:
        self.bandwidth = bandwidth
        self.intrinsic_dim = intrinsic_dim
        self.bandwidth_scale = bandwidth_scale
        self.inertia = inertia
        self.sampler = sampler
        self.n_steps = n_steps
        self.standardize = standardize
        self.dtype = dtype
        self.device = device
        self.chunk_size = chunk_size
        self.random_state = random_state
        self.prior = prior
        self.t_max = t_max
        self.dim_method = dim_method
        self.client = client
        self.neighbors = neighbors
        self.neighbor_tol = neighbor_tol
        self.neighbor_backend = neighbor_backend
        self.max_memory = max_memory

    def fit(self, X: Any, y: Any = None) -> "InertialDiffusion":
        """Fit to training data ``X`` of shape (n, D).

        With labels ``y``, also keep one model per class (``class_models_``), each with its own
        bandwidth from the class size ``n_c`` (σ = c n_c^(-1/(d+4)), d shared, estimated on all
        of X) and the common standardization; then ``sample(m, y=label)`` and ``sample_per_class``.
        """
        self._fit_one(X, None)
        self.class_models_ = None
        if y is not None:
            if self.bandwidth_search_ is not None:  # one search on all rows; each class keeps the rule with that c
                overrides = {"bandwidth": None, "bandwidth_scale": self.bandwidth_search_.best_scale,
                             "intrinsic_dim": self.intrinsic_dim_}
            else:
                overrides = {} if self.bandwidth is not None else {"intrinsic_dim": self.intrinsic_dim_}
            self._fit_classes(X, y, **overrides)
        return self

    def _fit_one(self, X: Any, standardizer: Standardizer | None) -> None:
        check_choice(self.inertia, "inertia", INERTIA_FORMS)
        check_choice(self.dim_method, "dim_method", ("twonn", "mle"))
        check_choice(self.neighbor_backend, "neighbor_backend", ("auto", "faiss", "torch"))
        check_positive(self.neighbor_tol, "neighbor_tol")
        if self.neighbors is not None and self.neighbors != "auto":
            check_positive_int(self.neighbors, "neighbors")
        check_positive(self.bandwidth_scale, "bandwidth_scale")
        if self.intrinsic_dim is not None:
            check_positive(self.intrinsic_dim, "intrinsic_dim")
        auto = isinstance(self.bandwidth, str)
        if auto and self.bandwidth != "auto":
            raise ValueError(f"bandwidth must be a positive number, 'auto' or None, got {self.bandwidth!r}")
        if self.bandwidth is not None and not auto:
            check_positive(self.bandwidth, "bandwidth")
        Z = self._fit_data(X, standardizer)
        n = self.n_samples_fit_
        # a Dask fit gathers its estimation rows once, for the dimension and the search alike
        rows = self._estimation_rows(Z) if (self.intrinsic_dim is None and self.bandwidth is None) or auto else None
        self.intrinsic_dim_ = resolve_intrinsic_dim(self.intrinsic_dim, rows, self.dim_method,
                                                    self.bandwidth is None or auto)
        self.bandwidth_search_ = None
        if auto:
            self.bandwidth_search_ = search_bandwidth_scale(rows, self.intrinsic_dim_, inertia=self.inertia,
                                                            random_state=0)
            self.bandwidth_ = bandwidth_rule(n, self.intrinsic_dim_, self.bandwidth_search_.best_scale)
        elif self.bandwidth is not None:
            self.bandwidth_ = float(self.bandwidth)
        else:
            self.bandwidth_ = bandwidth_rule(n, self.intrinsic_dim_, self.bandwidth_scale)
        self.h_ = self.bandwidth_**2

    def _final_map(self, z: torch.Tensor) -> torch.Tensor:
        return inertia_step(self._denoise, z, self.h_, self.inertia)


class EmpiricalDiffusion(_EmpiricalDiffusionBase):
    """The empirical diffusion model: the same process run to ``t_min ≈ 0``. It memorizes.

    Its samples converge to training points as ``t_min -> 0``; it is the baseline IDM improves on.

    Parameters
    ----------
    sampler : {"one_shot", "sde", "sde_euler", "ode"}
    n_steps : int
    t_min : float
        Final time of the reverse process.
    denoise : bool
        Return the posterior mean :math:`m_{t_{min}}(z)` at the final time (Tweedie's denoised
        output, as diffusion samplers do at their last step); if False return :math:`z/\\alpha_{t_{min}}`.
    standardize, dtype, device, chunk_size, random_state, prior, t_max, client, max_memory
        As in :class:`InertialDiffusion`.

    Attributes
    ----------
    h_ : float
        The final time ``t_min``.
    """

    def __init__(self, sampler: str = "one_shot", n_steps: int = 100, t_min: float = 1e-8, denoise: bool = True,
                 standardize: bool = True, dtype: str = "float64", device: str = "cpu",
                 chunk_size: int | None = None, random_state: Any = None, prior: str = "mixture",
                 t_max: float = DEFAULT_T_MAX, client: Any = None, max_memory: int | None = None) -> None:
        self.sampler = sampler
        self.n_steps = n_steps
        self.t_min = t_min
        self.denoise = denoise
        self.standardize = standardize
        self.dtype = dtype
        self.device = device
        self.chunk_size = chunk_size
        self.random_state = random_state
        self.prior = prior
        self.t_max = t_max
        self.client = client
        self.max_memory = max_memory

    def fit(self, X: Any, y: Any = None) -> "EmpiricalDiffusion":
        """Fit to training data ``X`` of shape (n, D); with labels ``y``, also one model per class."""
        self._fit_one(X, None)
        self.class_models_ = None
        if y is not None:
            self._fit_classes(X, y)
        return self

    def _fit_one(self, X: Any, standardizer: Standardizer | None) -> None:
        self.h_ = check_positive(self.t_min, "t_min")
        self._fit_data(X, standardizer)

    def _final_map(self, z: torch.Tensor) -> torch.Tensor:
        return self._denoise(z, self.h_) if self.denoise else z / alpha(self.h_)
