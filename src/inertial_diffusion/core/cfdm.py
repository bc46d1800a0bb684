"""The smoothed closed-form diffusion model (σ-CFDM) of Scarvelis, Sáez de Ocáriz Borde & Solomon.

"Closed-Form Diffusion Models", TMLR 2025 (arXiv 2310.12395): a training-free baseline that, like
IDM, generalizes by modifying the closed-form (empirical) score. It works in flow-matching time
``tau`` in [0, 1]: :math:`z_\\tau = \\tau y + (1-\\tau)\\,\\varepsilon` (``tau = 0`` noise, ``tau = 1``
data). The closed-form posterior mean is a softmax average of the training points,

.. math:: m^{FM}_\\tau(z) = \\sum_i w_i y_i,\\quad
          w = \\mathrm{softmax}_i\\big(-|z - \\tau y_i|^2 / (2(1-\\tau)^2)\\big),

and σ-CFDM smooths it over Gaussian perturbations of the query,
:math:`m^{\\sigma}_\\tau(z) = E_{\\varepsilon \\sim N(0, I)}\\, m^{FM}_\\tau(z + \\sigma\\varepsilon)`, estimated with
``n_noise`` fresh draws at every step. Samples follow the velocity
:math:`v_\\tau(z) = (m^{\\sigma}_\\tau(z) - z)/(1 - \\tau)` with Euler steps of size ``(1 - tau_0)/S``;
the last step lands exactly on :math:`m^{\\sigma}`, a barycenter of training points.

The flow-matching posterior is our OU posterior at another time and scale: with
``r = tau/(1 - tau)``, :math:`\\alpha_t^2/v_t = r^2` gives :math:`t = \\tfrac12\\log(1 + 2/r^2)`, and
:math:`m^{FM}_\\tau(z) = m_t(z\\,\\alpha_t/\\tau)`. So σ-CFDM runs on the same exact streaming
posterior as IDM (:mod:`inertial_diffusion.core.posterior`).
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np
import torch

from inertial_diffusion.core.samplers import Callback, Denoiser

__all__ = ["flow_matching_time", "flow_matching_denoiser", "cfdm_times", "sample_cfdm_euler"]

#: r = tau/(1 - tau) below this is treated as tau = 0 (uniform weights: the data mean).
_MIN_RATIO = 1e-12

FlowMatchingDenoiser = Callable[[torch.Tensor, float], torch.Tensor]


def flow_matching_time(tau: float) -> tuple[float, float]:
    """OU time ``t`` and query scale ``alpha_t / tau`` that reproduce the flow-matching posterior at ``tau``.

    Returns ``(t, scale)`` such that :math:`m^{FM}_\\tau(z) = m_t(\\mathrm{scale}\\cdot z)`.
    """
    if not 0.0 <= tau < 1.0:
        raise ValueError(f"flow-matching time tau must lie in [0, 1), got {tau!r}")
    r = max(tau / (1.0 - tau), _MIN_RATIO)
    t = 0.5 * math.log1p(2.0 / (r * r))
    # alpha_t / tau = r / (tau sqrt(2 + r^2)) = 1 / ((1 - tau) sqrt(2 + r^2))
    scale = 1.0 / ((1.0 - tau) * math.sqrt(2.0 + r * r))
    return t, scale


def flow_matching_denoiser(denoiser: Denoiser) -> FlowMatchingDenoiser:
    """Wrap an OU denoiser ``m_t(x)`` into the flow-matching posterior mean ``m^FM_tau(z)``."""

    def fm_denoiser(z: torch.Tensor, tau: float) -> torch.Tensor:
        t, scale = flow_matching_time(tau)
        return denoiser(z * scale, t)

    return fm_denoiser


def cfdm_times(n_steps: int, start_time: float = 0.0) -> np.ndarray:
    """Uniform Euler grid ``tau_k = tau_0 + k (1 - tau_0)/S``, ``k = 0..S-1`` (the last step ends at 1)."""
    return start_time + (1.0 - start_time) * np.arange(n_steps) / n_steps


def sample_cfdm_euler(fm_denoiser: FlowMatchingDenoiser, z: torch.Tensor, taus: np.ndarray, sigma: float,
                      n_noise: int, generator: torch.Generator | None = None,
                      callback: Callback = None) -> torch.Tensor:
    """Euler integration of the σ-CFDM flow from ``taus[0]`` to 1 (Scarvelis et al., TMLR 2025).

    Parameters
    ----------
    fm_denoiser : callable ``(z, tau) -> m^FM_tau(z)``
        Closed-form flow-matching posterior mean (see :func:`flow_matching_denoiser`).
    z : Tensor (m, D)
        State at ``taus[0]``.
    taus : increasing array in [0, 1)
        Step times; step ``k`` has size ``taus[k+1] - taus[k]`` and the last one ends at 1.
    sigma : float
        Smoothing scale of the query perturbations (σ = 0: the unsmoothed closed-form model,
        which returns training points).
    n_noise : int
        Monte-Carlo draws ``M`` of the perturbation per step.
    """
    m, dim = z.shape
    ends = np.append(taus[1:], 1.0)
    for i, (tau, end) in enumerate(zip(taus, ends)):
        tau = float(tau)
        if sigma > 0:
            eps = torch.randn((n_noise, m, dim), generator=generator, dtype=z.dtype, device=z.device)
            perturbed = (z.unsqueeze(0) + sigma * eps).reshape(n_noise * m, dim)
            denoised = fm_denoiser(perturbed, tau).reshape(n_noise, m, dim).mean(dim=0)
        else:
            denoised = fm_denoiser(z, tau)
        z = z + (float(end) - tau) * (denoised - z) / (1.0 - tau)
        if callback is not None:
            callback({"i": i, "t": tau, "x": z, "denoised": denoised})
    return z
