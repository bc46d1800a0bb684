"""The empirical diffusion model: the memorizing baseline IDM improves on."""

from __future__ import annotations

from typing import Any

import torch

from inertial_diffusion.core.process import DEFAULT_T_MAX, alpha
from inertial_diffusion.core.standardize import Standardizer
from inertial_diffusion.core.validation import check_positive
from inertial_diffusion.estimators._base import _EmpiricalDiffusionBase

__all__ = ["EmpiricalDiffusion"]


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
