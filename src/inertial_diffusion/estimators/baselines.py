"""Baselines with the estimator interface ``fit(X).sample(m, random_state)``.

* :class:`AmbientKDE` — a Gaussian kernel density estimate in the ambient space: a training point
  plus :math:`\\sigma` noise in all D directions. Its samples sit :math:`\\approx\\sigma\\sqrt{D-d}` off
  the data manifold, the failure IDM's inertia step avoids.
* :class:`SmoothedCFDM` — the smoothed closed-form diffusion model (σ-CFDM) of Scarvelis, Sáez de
  Ocáriz Borde & Solomon (TMLR 2025); see :mod:`inertial_diffusion.core.cfdm`.

Both standardize like :class:`~inertial_diffusion.InertialDiffusion` (centre, one global scale) and
default to the same bandwidth :math:`\\sigma = c\\,n^{-1/(d+4)}`, so comparisons are at equal σ.
(:class:`~inertial_diffusion.EmpiricalDiffusion`, the memorizing baseline, lives with the estimators.)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from inertial_diffusion.core import posterior
from inertial_diffusion.core.bandwidth import bandwidth_rule, resolve_intrinsic_dim
from inertial_diffusion.core.cfdm import cfdm_times, flow_matching_denoiser, flow_matching_time, sample_cfdm_euler
from inertial_diffusion.backends.device import DTYPES, place_data, resolve_device, torch_generator
from inertial_diffusion.core.samplers import sample_one_shot
from inertial_diffusion.core.standardize import Standardizer
from inertial_diffusion.core.validation import check_choice, check_data, check_n_samples, check_positive, check_positive_int

__all__ = ["AmbientKDE", "SmoothedCFDM"]


class _BandwidthBaseline(BaseEstimator):
    """Validation, standardization and the σ rule shared by the baselines."""

    def _fit_bandwidth(self, X: Any) -> np.ndarray:
        check_positive(self.bandwidth_scale, "bandwidth_scale")
        check_choice(self.dim_method, "dim_method", ("twonn", "mle"))
        if not isinstance(self.standardize, (bool, np.bool_)):
            raise TypeError(f"standardize must be True or False, got {self.standardize!r}")
        X = check_data(X, min_rows=2)
        self.standardizer_ = Standardizer.fit(X) if self.standardize else Standardizer.identity(X.shape[1])
        Z = self.standardizer_.transform(X)
        self.n_samples_fit_, self.n_features_in_ = X.shape
        self.intrinsic_dim_ = resolve_intrinsic_dim(self.intrinsic_dim, Z, self.dim_method, self.bandwidth is None)
        if self.bandwidth is not None:
            self.bandwidth_ = float(check_positive(self.bandwidth, "bandwidth"))
        else:
            self.bandwidth_ = bandwidth_rule(self.n_samples_fit_, self.intrinsic_dim_, self.bandwidth_scale)
        return Z


class AmbientKDE(_BandwidthBaseline):
    """Gaussian KDE in the ambient space: :math:`x = y_I + \\sigma\\,\\xi`, ``I`` uniform, :math:`\\xi \\sim N(0, I_D)`.

    Parameters
    ----------
    bandwidth : float, optional
        :math:`\\sigma` in standardized units (default: the rule :math:`c\\,n^{-1/(d+4)}`).
    intrinsic_dim, bandwidth_scale, dim_method, standardize, random_state
        As in :class:`~inertial_diffusion.InertialDiffusion`.

    Attributes
    ----------
    bandwidth_, intrinsic_dim_, n_features_in_, n_samples_fit_
    """

    def __init__(self, bandwidth: float | None = None, intrinsic_dim: float | None = None,
                 bandwidth_scale: float = 1.0, dim_method: str = "twonn", standardize: bool = True,
                 random_state: Any = None) -> None:
        self.bandwidth = bandwidth
        self.intrinsic_dim = intrinsic_dim
        self.bandwidth_scale = bandwidth_scale
        self.dim_method = dim_method
        self.standardize = standardize
        self.random_state = random_state

    def fit(self, X: Any, y: Any = None) -> "AmbientKDE":
        """Store the standardized training set and the bandwidth."""
        self.data_ = self._fit_bandwidth(X)
        return self

    def sample(self, n_samples: int = 1, random_state: Any = None) -> np.ndarray:
        """Draw ``n_samples`` points in data units."""
        check_is_fitted(self, "data_")
        n_samples = check_n_samples(n_samples)
        rng = np.random.default_rng(self.random_state if random_state is None else random_state)
        index = rng.integers(self.n_samples_fit_, size=n_samples)
        z = self.data_[index] + self.bandwidth_ * rng.standard_normal((n_samples, self.n_features_in_))
        return self.standardizer_.inverse_transform(z)


class SmoothedCFDM(_BandwidthBaseline):
    """Smoothed closed-form diffusion model (σ-CFDM), Scarvelis, Sáez de Ocáriz Borde & Solomon, TMLR 2025.

    Euler integration, in flow-matching time, of the closed-form velocity whose posterior mean is
    averaged over ``n_noise`` Gaussian perturbations :math:`z + \\sigma\\varepsilon` of the query
    (see :mod:`inertial_diffusion.core.cfdm` for the formulas and the map to our OU convention). Samples
    are barycenters of nearby training points.

    Parameters
    ----------
    bandwidth : float, optional
        Smoothing scale :math:`\\sigma` in standardized units (default: the IDM rule
        :math:`c\\,n^{-1/(d+4)}`, so that both models are compared at the same σ).
    n_steps : int
        Euler steps ``S`` from ``start_time`` to 1.
    n_noise : int
        Perturbation draws ``M`` per step (the cost is ``M`` posterior means per step).
    start_time : float in [0, 1)
        ``tau_0``. At 0 the start is :math:`N(0, I)`; above 0 it is an exact draw from the
        perturbed empirical law :math:`\\tau_0 y_I + (1 - \\tau_0)\\varepsilon` (the paper's shortcut).
    intrinsic_dim, bandwidth_scale, dim_method, standardize, dtype, device, chunk_size, random_state, max_memory
        As in :class:`~inertial_diffusion.InertialDiffusion`.

    Attributes
    ----------
    bandwidth_, intrinsic_dim_, n_features_in_, n_samples_fit_
    """

    def __init__(self, bandwidth: float | None = None, n_steps: int = 100, n_noise: int = 8,
                 start_time: float = 0.0, intrinsic_dim: float | None = None, bandwidth_scale: float = 1.0,
                 dim_method: str = "twonn", standardize: bool = True, dtype: str = "float64",
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

    def fit(self, X: Any, y: Any = None) -> "SmoothedCFDM":
        """Store the standardized training set (on ``device``) and the smoothing scale."""
        check_positive_int(self.n_steps, "n_steps")
        check_positive_int(self.n_noise, "n_noise")
        check_choice(self.dtype, "dtype", ("float64", "float32"))
        if self.max_memory is not None:
            check_positive_int(self.max_memory, "max_memory")
        if not (isinstance(self.start_time, (int, float)) and 0.0 <= self.start_time < 1.0):
            raise ValueError(f"start_time must lie in [0, 1), got {self.start_time!r}")
        Z = self._fit_bandwidth(X)
        self.device_ = resolve_device(self.device)
        self.data_, _ = place_data(Z, DTYPES[self.dtype], self.device_)
        self.max_memory_ = (self.max_memory if self.max_memory is not None
                            else posterior.default_max_memory(self.device_))
        self.half_sq_norms_ = 0.5 * (torch.as_tensor(Z, device=self.device_) ** 2).sum(dim=1)
        return self

    def _denoise(self, x: torch.Tensor, t: float) -> torch.Tensor:
        return posterior.posterior_mean(x, self.data_, t, half_sq_norms=self.half_sq_norms_,
                                        chunk_size=self.chunk_size, max_memory=self.max_memory_)

    def sample(self, n_samples: int = 1, random_state: Any = None, callback=None) -> np.ndarray:
        """Draw ``n_samples`` points in data units."""
        check_is_fitted(self, "data_")
        n_samples = check_n_samples(n_samples)
        gen = torch_generator(self.random_state if random_state is None else random_state, self.device_)
        tau0 = float(self.start_time)
        if tau0 > 0:
            # tau0 y_I + (1 - tau0) eps is the OU mixture at t(tau0), rescaled by tau0 / alpha_t
            t0, scale = flow_matching_time(tau0)
            z = sample_one_shot(self.data_, t0, n_samples, gen) / scale
        else:
            z = torch.randn((n_samples, self.n_features_in_), generator=gen, dtype=self.data_.dtype,
                            device=self.device_)
        if n_samples:
            z = sample_cfdm_euler(flow_matching_denoiser(self._denoise), z, cfdm_times(self.n_steps, tau0),
                                  self.bandwidth_, self.n_noise, generator=gen, callback=callback)
        return self.standardizer_.inverse_transform(z.cpu().numpy())
