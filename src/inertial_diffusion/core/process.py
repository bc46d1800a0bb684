"""The forward Ornstein–Uhlenbeck process and its time grids.

Convention (used everywhere in the package, and in arXiv 2505.02508):

.. math::

    dX_t = -X_t\\,dt + dW_t, \\qquad X_t \\mid y \\sim N(\\alpha_t y, v_t I),
    \\qquad \\alpha_t = e^{-t}, \\quad v_t = \\tfrac{1}{2}(1 - e^{-2t}).

The stationary law is :math:`N(0, \\tfrac12 I)`.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["alpha", "variance", "time_grid", "ve_sigma", "DEFAULT_T_MAX"]

#: Default start time of the reverse simulations: alpha_T^2 = e^{-20} ~ 2e-9, so
#: p̂_T and the stationary N(0, ½ I) are indistinguishable at any sample size we use.
DEFAULT_T_MAX = 10.0


def alpha(t: float) -> float:
    """Signal coefficient :math:`\\alpha_t = e^{-t}` of the OU process :math:`dX = -X\\,dt + dW`.

    Parameters
    ----------
    t : float
        Diffusion time.

    Returns
    -------
    float
        :math:`e^{-t}`.

    Examples
    --------
    >>> round(alpha(1.0), 4)
    0.3679
    >>> alpha(0.0)
    1.0
    """
    return math.exp(-t)


def variance(t: float) -> float:
    """Noise variance :math:`v_t = (1 - e^{-2t})/2` of :math:`X_t \\mid y \\sim N(\\alpha_t y, v_t I)`.

    Computed with ``expm1`` so that :math:`v_t \\approx t` keeps full relative precision for tiny ``t``.

    Parameters
    ----------
    t : float
        Diffusion time.

    Returns
    -------
    float
        :math:`v_t`, increasing from 0 at ``t = 0`` to the stationary 1/2.

    Examples
    --------
    >>> round(variance(1.0), 4)
    0.4323
    >>> round(variance(1e-12) / 1e-12, 9)  # v_t ~ t for tiny t, at full precision
    1.0
    """
    return -math.expm1(-2.0 * t) / 2.0


def ve_sigma(t: float) -> float:
    """Noise-to-signal ratio :math:`\\tilde\\sigma_t = \\sqrt{v_t}/\\alpha_t = \\sqrt{(e^{2t}-1)/2}`.

    In the rescaled variable :math:`\\tilde x = x/\\alpha_t` the OU process is the
    variance-exploding process :math:`\\tilde x = y + \\tilde\\sigma_t \\xi` (Karras et al. 2022),
    whose probability-flow ODE is the mildly stiff :math:`d\\tilde x/d\\tilde\\sigma = (\\tilde x - m)/\\tilde\\sigma`.

    Parameters
    ----------
    t : float
        Diffusion time.

    Returns
    -------
    float
        :math:`\\tilde\\sigma_t`.

    Examples
    --------
    >>> round(ve_sigma(1.0), 4)
    1.7873
    >>> round(ve_sigma(1.0), 12) == round(math.sqrt(variance(1.0)) / alpha(1.0), 12)
    True
    """
    return math.sqrt(math.expm1(2.0 * t) / 2.0)


def time_grid(t_max: float, t_min: float, n_steps: int) -> np.ndarray:
    """Decreasing, log-spaced times from ``t_max`` down to ``t_min``, ``n_steps + 1`` of them.

    ``t_max = t_0 > t_1 > ... > t_{n_steps} = t_min``.

    Log spacing puts most steps near 0, where the empirical score varies on the scale
    :math:`\\sqrt{v_t}` and the reverse dynamics are stiff (rate :math:`\\approx 1/v_t`).

    Parameters
    ----------
    t_max, t_min : float
        End points, ``t_max > t_min > 0``.
    n_steps : int
        Number of steps (the grid has ``n_steps + 1`` points).

    Returns
    -------
    ndarray (n_steps + 1,)
        The times, float64, with the end points exactly ``t_max`` and ``t_min``.

    Raises
    ------
    ValueError
        ``n_steps`` is not a positive integer, or not ``0 < t_min < t_max`` (finite).

    Examples
    --------
    >>> time_grid(10.0, 0.01, 3).round(4).tolist()
    [10.0, 1.0, 0.1, 0.01]
    """
    if not (isinstance(n_steps, (int, np.integer)) and n_steps >= 1):
        raise ValueError(f"n_steps must be a positive integer, got {n_steps!r}")
    if not (math.isfinite(t_min) and math.isfinite(t_max) and 0 < t_min < t_max):
        raise ValueError(f"time grid needs 0 < t_min < t_max, got t_min={t_min!r}, t_max={t_max!r}")
    grid = np.geomspace(t_max, t_min, int(n_steps) + 1)
    grid[0], grid[-1] = t_max, t_min  # exact end points despite rounding in geomspace
    return grid
