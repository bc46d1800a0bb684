"""Samplers: pure functions in the spirit of k-diffusion's ``sample_euler(model, x, sigmas)``.

Every simulation takes a *denoiser* ``denoiser(x, t) -> m_t(x)`` (the posterior mean, from which
the score is :math:`(\\alpha_t m - x)/v_t`), a start ``x`` at ``times[0]``, a decreasing time grid
``times`` (see :func:`inertial_diffusion.core.process.time_grid`), an injected ``torch.Generator`` and an
optional ``callback({"i", "t", "x", "denoised"})`` called after every step. They return the state at
``times[-1]``. All work in the standardized coordinates of the OU process
:math:`dX = -X\\,dt + dW` (``alpha_t = e^{-t}``, ``v_t = (1-e^{-2t})/2``).

With the exact empirical score and a start from :math:`\\hat p_T`, the law at time ``h`` is exactly
:math:`\\hat p_h`, so :func:`sample_one_shot` draws it directly (pick ``y_I``, add noise).
"""

from __future__ import annotations

import math
from typing import Callable, Optional

import numpy as np
import torch

from inertial_diffusion.core.process import alpha, variance, ve_sigma

__all__ = [
    "Denoiser",
    "Callback",
    "sample_one_shot",
    "sample_stationary",
    "sample_euler_maruyama",
    "sample_exponential",
    "sample_heun",
    "SIMULATORS",
]

Denoiser = Callable[[torch.Tensor, float], torch.Tensor]
Callback = Optional[Callable[[dict], None]]


def _noise(like: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    return torch.randn(like.shape, generator=generator, dtype=like.dtype, device=like.device)


def sample_one_shot(data: torch.Tensor, t: float, n_samples: int,
                    generator: torch.Generator | None = None) -> torch.Tensor:
    """Exact draw from the empirical mixture :math:`\\hat p_t`: :math:`z = \\alpha_t y_I + \\sqrt{v_t}\\,\\xi`,
    ``I`` uniform on ``{1..n}``, :math:`\\xi \\sim N(0, I)`."""
    device = generator.device if generator is not None else data.device
    index = torch.randint(data.shape[0], (n_samples,), generator=generator, device=device)
    y = data[index.to(data.device)].to(device)  # data streamed from the host: gather there, then move
    return alpha(t) * y + math.sqrt(variance(t)) * _noise(y, generator)


def sample_stationary(n_samples: int, n_features: int, *, dtype: torch.dtype = torch.float64,
                      device: str | torch.device = "cpu",
                      generator: torch.Generator | None = None) -> torch.Tensor:
    """Draw from the stationary law :math:`N(0, \\tfrac12 I)` of the OU process."""
    return math.sqrt(0.5) * torch.randn((n_samples, n_features), generator=generator, dtype=dtype,
                                        device=device)


def _check_grid(times) -> np.ndarray:
    times = np.asarray(times, dtype=np.float64)
    if times.ndim != 1 or times.size < 2 or not np.all(np.diff(times) < 0) or times[-1] <= 0:
        raise ValueError("times must be a strictly decreasing 1-D grid of at least 2 positive times")
    return times


def sample_euler_maruyama(denoiser: Denoiser, x: torch.Tensor, times, *,
                          generator: torch.Generator | None = None, callback: Callback = None) -> torch.Tensor:
    """Reverse SDE :math:`dX = [X + \\nabla\\log\\hat p_t(X)]\\,d\\tau + d\\bar W` by Euler–Maruyama.

    Step from ``t`` to ``s < t``, :math:`\\Delta = t - s`:
    :math:`x \\leftarrow x + \\Delta\\,(x + (\\alpha_t m_t(x) - x)/v_t) + \\sqrt{\\Delta}\\,\\xi`.
    First-order weak accuracy; needs :math:`\\Delta \\ll v_t` (log-spaced grids provide it).
    """
    times = _check_grid(times)
    for i in range(times.size - 1):
        t, s = float(times[i]), float(times[i + 1])
        dt = t - s
        denoised = denoiser(x, t)
        drift = x + (alpha(t) * denoised - x) / variance(t)
        x = x + dt * drift + math.sqrt(dt) * _noise(x, generator)
        if callback is not None:
            callback({"i": i, "t": s, "x": x, "denoised": denoised})
    return x


def sample_exponential(denoiser: Denoiser, x: torch.Tensor, times, *,
                       generator: torch.Generator | None = None, callback: Callback = None) -> torch.Tensor:
    """Reverse SDE by the exponential integrator with the posterior mean frozen over each step.

    The linear part is integrated exactly: conditional on ``y = m_t(x)``, the reverse transition
    from ``t`` to ``s`` is the Gaussian bridge (DDPM posterior)

    .. math::

        X_s \\mid X_t, y \\sim N\\Big(\\frac{\\alpha_{t|s} v_s}{v_t} X_t + \\frac{\\alpha_s v_{t|s}}{v_t} y,\\;
        \\frac{v_s v_{t|s}}{v_t} I\\Big), \\quad \\alpha_{t|s} = e^{-(t-s)},\\ v_{t|s} = \\tfrac12(1-e^{-2(t-s)}).

    Exact for a single training point, and first-order consistent with the reverse SDE in general.
    """
    times = _check_grid(times)
    for i in range(times.size - 1):
        t, s = float(times[i]), float(times[i + 1])
        v_t, v_s = variance(t), variance(s)
        a_ts, v_ts = alpha(t - s), variance(t - s)
        denoised = denoiser(x, t)
        mean = (a_ts * v_s / v_t) * x + (alpha(s) * v_ts / v_t) * denoised
        x = mean + math.sqrt(v_s * v_ts / v_t) * _noise(x, generator)
        if callback is not None:
            callback({"i": i, "t": s, "x": x, "denoised": denoised})
    return x


def sample_heun(denoiser: Denoiser, x: torch.Tensor, times, *,
                generator: torch.Generator | None = None, callback: Callback = None) -> torch.Tensor:
    """Probability-flow ODE :math:`dx/dt = -x - \\tfrac12\\nabla\\log\\hat p_t(x)` by Heun's method.

    Integrated in the rescaled variables :math:`\\tilde x = x/\\alpha_t`,
    :math:`\\tilde\\sigma = \\sqrt{v_t}/\\alpha_t`, where the ODE reads
    :math:`d\\tilde x/d\\tilde\\sigma = (\\tilde x - m_t(x))/\\tilde\\sigma` (Karras et al. 2022, Alg. 1):
    the same flow, far less stiff. Deterministic; ``generator`` is accepted for a uniform signature.
    """
    del generator
    times = _check_grid(times)
    t0 = float(times[0])
    x_tilde = x / alpha(t0)
    for i in range(times.size - 1):
        t, s = float(times[i]), float(times[i + 1])
        sig_t, sig_s = ve_sigma(t), ve_sigma(s)
        denoised = denoiser(alpha(t) * x_tilde, t)
        d = (x_tilde - denoised) / sig_t
        x_euler = x_tilde + (sig_s - sig_t) * d
        d_next = (x_euler - denoiser(alpha(s) * x_euler, s)) / sig_s
        x_tilde = x_tilde + (sig_s - sig_t) * 0.5 * (d + d_next)
        if callback is not None:
            callback({"i": i, "t": s, "x": alpha(s) * x_tilde, "denoised": denoised})
    return alpha(float(times[-1])) * x_tilde


#: Simulators by name, as accepted by the estimators' ``sampler`` option.
SIMULATORS = {
    "sde": sample_exponential,
    "sde_euler": sample_euler_maruyama,
    "ode": sample_heun,
}
