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
import numbers
from typing import Any, Callable

import numpy as np
import torch

from inertial_diffusion.core.samplers import Callback, Denoiser
from inertial_diffusion.core.validation import check_positive, check_positive_int

__all__ = ["flow_matching_time", "flow_matching_denoiser", "cfdm_times", "sample_cfdm_euler"]

#: r = tau/(1 - tau) below this is treated as tau = 0 (uniform weights: the data mean).
_MIN_RATIO = 1e-12

FlowMatchingDenoiser = Callable[[torch.Tensor, float], torch.Tensor]


def _check_start_time(value: Any) -> float:
    """A flow-matching start time: a finite real number in [0, 1), as a float."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"start_time must be a number in [0, 1), got {value!r}")
    if not 0.0 <= float(value) < 1.0:
        raise ValueError(f"start_time must lie in [0, 1) (0: pure noise; 1 would be the data), got {value!r}")
    return float(value)


def _check_taus(taus: Any) -> np.ndarray:
    """Euler step times: a non-empty 1-D array, strictly increasing, in [0, 1), as float64."""
    try:
        arr = np.asarray(taus, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"taus must be a 1-D array of step times in [0, 1), got {taus!r} ({exc})") from None
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"taus must be a non-empty 1-D array of step times (cfdm_times(n_steps)), got shape "
                         f"{arr.shape}")
    if not (np.all(arr >= 0.0) and np.all(arr < 1.0)):  # NaN fails both
        raise ValueError(f"taus must lie in [0, 1), got values from {arr.min()!r} to {arr.max()!r}")
    if not np.all(np.diff(arr) > 0):
        raise ValueError("taus must be strictly increasing (step k runs from taus[k] to taus[k+1], the last to 1)")
    return arr


def flow_matching_time(tau: float) -> tuple[float, float]:
    """OU time ``t`` and query scale ``alpha_t / tau`` that reproduce the flow-matching posterior at ``tau``.

    With ``r = tau/(1 - tau)``, matching the softmax weights of the two posteriors needs
    :math:`\\alpha_t^2/v_t = r^2`, i.e. :math:`t = \\tfrac12\\log(1 + 2/r^2)`, and the query scaled by
    :math:`\\alpha_t/\\tau = 1/((1-\\tau)\\sqrt{2 + r^2})` (see the module docstring). ``tau = 0`` (pure
    noise) is approached by clamping ``r`` at 1e-12: a very large ``t`` whose weights are uniform, so the
    posterior is the data mean.

    Parameters
    ----------
    tau : float
        Flow-matching time in [0, 1): 0 is noise, 1 would be the data.

    Returns
    -------
    t : float
        OU diffusion time, > 0.
    scale : float
        Factor on the query: :math:`m^{FM}_\\tau(z) = m_t(\\mathrm{scale}\\cdot z)`.

    Raises
    ------
    ValueError
        ``tau`` outside [0, 1).

    Examples
    --------
    >>> t, scale = flow_matching_time(0.5)  # r = 1: t = log(3)/2, scale = 2/sqrt(3)
    >>> round(t, 4), round(scale, 4)
    (0.5493, 1.1547)
    """
    if not 0.0 <= tau < 1.0:
        raise ValueError(f"flow-matching time tau must lie in [0, 1), got {tau!r}")
    r = max(tau / (1.0 - tau), _MIN_RATIO)
    t = 0.5 * math.log1p(2.0 / (r * r))
    # alpha_t / tau = r / (tau sqrt(2 + r^2)) = 1 / ((1 - tau) sqrt(2 + r^2))
    scale = 1.0 / ((1.0 - tau) * math.sqrt(2.0 + r * r))
    return t, scale


def flow_matching_denoiser(denoiser: Denoiser) -> FlowMatchingDenoiser:
    """Wrap an OU denoiser ``m_t(x)`` into the flow-matching posterior mean ``m^FM_tau(z)``.

    This lets σ-CFDM reuse the exact streaming posterior of IDM instead of a second implementation; the
    change of time and scale is :func:`flow_matching_time`.

    Parameters
    ----------
    denoiser : callable
        ``denoiser(x, t) -> m_t(x)``, the OU posterior mean (e.g. a closure over
        :func:`~inertial_diffusion.core.posterior.posterior_mean`).

    Returns
    -------
    callable
        ``fm_denoiser(z, tau) -> m^FM_tau(z)``, for :func:`sample_cfdm_euler`.

    Examples
    --------
    >>> import torch
    >>> from inertial_diffusion.core.posterior import posterior_mean
    >>> data = torch.tensor([[-1.0, 0.0], [1.0, 0.0]], dtype=torch.float64)
    >>> fm = flow_matching_denoiser(lambda x, t: posterior_mean(x, data, t))
    >>> z = torch.tensor([[0.45, 0.0]], dtype=torch.float64)
    >>> fm(z, 0.5).round(decimals=4).tolist()
    [[0.7163, 0.0]]
    >>> w = torch.softmax(-((z - 0.5 * data) ** 2).sum(dim=1) / (2 * 0.5**2), dim=0)  # the FM softmax directly
    >>> (w @ data).round(decimals=4).tolist()
    [0.7163, 0.0]
    """

    def fm_denoiser(z: torch.Tensor, tau: float) -> torch.Tensor:
        t, scale = flow_matching_time(tau)
        return denoiser(z * scale, t)

    return fm_denoiser


def cfdm_times(n_steps: int, start_time: float = 0.0) -> np.ndarray:
    """Uniform Euler grid ``tau_k = tau_0 + k (1 - tau_0)/S``, ``k = 0..S-1`` (the last step ends at 1).

    Parameters
    ----------
    n_steps : int
        Number of Euler steps ``S``.
    start_time : float
        ``tau_0`` in [0, 1) (default 0: start from pure noise).

    Returns
    -------
    ndarray (n_steps,)
        The start times of the steps, increasing, float64; 1 itself is not included.

    Raises
    ------
    TypeError
        ``n_steps`` not an integer, or ``start_time`` not a number.
    ValueError
        ``n_steps < 1``, or ``start_time`` outside [0, 1).

    Examples
    --------
    >>> cfdm_times(4).tolist()
    [0.0, 0.25, 0.5, 0.75]
    >>> cfdm_times(4, start_time=0.2).round(3).tolist()
    [0.2, 0.4, 0.6, 0.8]
    """
    n_steps = check_positive_int(n_steps, "n_steps")
    start_time = _check_start_time(start_time)
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
        Step times (non-empty, strictly increasing); step ``k`` has size ``taus[k+1] - taus[k]`` and the last
        one ends at 1.
    sigma : float
        Smoothing scale of the query perturbations, >= 0 (σ = 0: the unsmoothed closed-form model,
        which returns training points).
    n_noise : int
        Monte-Carlo draws ``M`` >= 1 of the perturbation per step (each step calls ``fm_denoiser`` once on
        ``M m`` rows; unused when ``sigma = 0``).
    generator : torch.Generator, optional
        Source of the perturbations; on the device of ``z``.
    callback : callable, optional
        Called after every step with ``{"i", "t", "x", "denoised"}``: ``t`` is the time reached, that of the
        new state ``x`` (as in the OU samplers); ``denoised`` was evaluated at the step's start.

    Returns
    -------
    Tensor (m, D)
        The samples at ``tau = 1``: the smoothed posterior mean of the last step, a barycenter of
        training points.

    Raises
    ------
    TypeError
        ``taus`` not numeric, ``sigma`` not a number, or ``n_noise`` not an integer.
    ValueError
        ``taus`` empty, not 1-D, outside [0, 1) or not strictly increasing; ``sigma`` negative or not finite;
        ``n_noise < 1``.

    Examples
    --------
    >>> import torch
    >>> from inertial_diffusion.core.posterior import posterior_mean
    >>> data = torch.tensor([[-1.0, 0.0], [1.0, 0.0]], dtype=torch.float64)
    >>> fm = flow_matching_denoiser(lambda x, t: posterior_mean(x, data, t))
    >>> g = torch.Generator().manual_seed(0)
    >>> z = torch.randn(50, 2, generator=g, dtype=torch.float64)
    >>> out = sample_cfdm_euler(fm, z, cfdm_times(10), sigma=0.0, n_noise=1)
    >>> sorted({tuple(row) for row in out.round(decimals=6).abs().tolist()})  # sigma = 0: training points
    [(1.0, 0.0)]
    >>> out = sample_cfdm_euler(fm, z, cfdm_times(5), sigma=0.1, n_noise=4, generator=g)
    >>> out.shape
    torch.Size([50, 2])
    """
    taus = _check_taus(taus)
    sigma = check_positive(sigma, "sigma", allow_zero=True)  # 0: no smoothing
    n_noise = check_positive_int(n_noise, "n_noise")
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
            callback({"i": i, "t": float(end), "x": z, "denoised": denoised})
    return z
