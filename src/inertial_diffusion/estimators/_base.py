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

from inertial_diffusion.core import posterior
from inertial_diffusion.core.bandwidth import MAX_ESTIMATION_ROWS
from inertial_diffusion.estimators.conditional import ClassConditionalMixin
from inertial_diffusion.backends.device import DTYPES, check_dtype_for_device, place_data, resolve_device, tf32_matmul, torch_generator
from inertial_diffusion.backends.dask import is_dask_array
from inertial_diffusion.core.inertia import INERTIA_FORMS
from inertial_diffusion.core.process import alpha, time_grid, variance
from inertial_diffusion.core.samplers import SIMULATORS, Callback, sample_one_shot, sample_stationary
from inertial_diffusion.core.standardize import Standardizer
from inertial_diffusion.core.validation import (check_choice, check_data, check_n_samples, check_positive, check_positive_int,
                         check_queries, check_time)

__all__ = ["SAMPLERS", "PRIORS"]

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
        from inertial_diffusion.backends.dask import DaskRows, check_dask_data, dask_statistics, resolve_client

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
            from inertial_diffusion.backends.knn import knn_posterior_mean

            res = knn_posterior_mean(x, self.data_, t, neighbors, tol=self.neighbor_tol,
                                     backend=self.neighbor_backend)
            self._last_neglected_mass = res.neglected_mass
            return res.mean
        if self.dask_data_ is not None:
            from inertial_diffusion.backends.dask import sharded_posterior_mean

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
            left out of its final posterior mean (see :mod:`inertial_diffusion.backends.knn`); zeros otherwise.

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
