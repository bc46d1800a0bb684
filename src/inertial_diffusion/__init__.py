"""inertial-diffusion: new samples from a finite data set, with no training.

Implements the inertial diffusion model (IDM) of Lyu, Nguyen, Qian & Tong, "Resolving Memorization
in Empirical Diffusion Model for Manifold Data in High-Dimensional Spaces" (arXiv 2505.02508),
with the empirical diffusion model beside it as the memorizing baseline.

Convention: forward OU process dX = -X dt + dW, alpha_t = e^{-t}, v_t = (1 - e^{-2t})/2.
"""

from .bandwidth import bandwidth_rule, estimate_intrinsic_dim
from .estimator import EmpiricalDiffusion, InertialDiffusion

__all__ = ["InertialDiffusion", "EmpiricalDiffusion", "estimate_intrinsic_dim", "bandwidth_rule"]
__version__ = "0.1.0"
