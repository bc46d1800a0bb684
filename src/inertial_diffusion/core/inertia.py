"""The inertia step of IDM (arXiv 2505.02508): from :math:`z \\sim \\hat p_h` at ``t = h = sigma^2``
to a new sample :math:`\\hat x` near the data manifold.

Two forms:

``"paper"``
    :math:`\\hat x = \\alpha_h^{-1}\\,(z + h\\,\\nabla\\log\\hat p_h(z))`, as printed in the paper.
``"posterior_mean"`` (default)
    :math:`\\hat x = \\alpha_h^{-1}\\,(z + v_h\\,\\nabla\\log\\hat p_h(z)) = m_h(z)`: the posterior mean, a
    softmax-weighted local average of training points (Tweedie's formula).

Since :math:`v_h = h - h^2 + O(h^3)`, the two agree to first order in ``h``; their difference is
:math:`\\alpha_h^{-1}(h - v_h)\\,\\nabla\\log\\hat p_h(z) \\approx h^2\\,\\nabla\\log\\hat p_h(z)`, and the
score's noise part has norm :math:`\\approx\\sqrt{D/v_h}`, so the paper form carries a residual
:math:`\\approx h^{3/2}\\sqrt D` that grows with the ambient dimension. The posterior-mean form is
exact, D-free, and lies in the convex hull of the data: it is the default.
"""

from __future__ import annotations

import torch

from inertial_diffusion import choices
from inertial_diffusion.core.process import alpha, variance
from inertial_diffusion.core.samplers import Denoiser

__all__ = ["INERTIA_FORMS", "inertia_step"]

INERTIA_FORMS = choices.INERTIA_FORMS


def inertia_step(denoiser: Denoiser, z: torch.Tensor, h: float, form: str = "posterior_mean") -> torch.Tensor:
    """Apply the inertia step at time ``h`` to points ``z`` (standardized coordinates).

    IDM (Lyu, Nguyen, Qian & Tong, arXiv 2505.02508) stops the reverse process at ``h = sigma^2`` and
    maps :math:`z \\sim \\hat p_h` to :math:`\\hat x = m_h(z)` (``"posterior_mean"``) or
    :math:`\\hat x = \\alpha_h^{-1}(z + h\\,\\nabla\\log\\hat p_h(z))` (``"paper"``); see the module docstring.

    Parameters
    ----------
    denoiser : callable
        ``denoiser(x, t) -> m_t(x)``, the posterior mean.
    z : Tensor (m, D)
        Points at time ``h``.
    h : float
        Stopping time, ``h = sigma^2``.
    form : {"posterior_mean", "paper"}
        Which form of the step (default: the posterior mean).

    Returns
    -------
    Tensor (m, D)
        The new samples :math:`\\hat x`, in standardized coordinates.

    Raises
    ------
    ValueError
        Unknown ``form``.

    Examples
    --------
    >>> import torch
    >>> from inertial_diffusion.core.posterior import posterior_mean
    >>> data = torch.tensor([[-1.0, 0.0], [1.0, 0.0]], dtype=torch.float64)
    >>> denoiser = lambda x, t: posterior_mean(x, data, t)
    >>> z = torch.tensor([[0.8, 0.05]], dtype=torch.float64)
    >>> inertia_step(denoiser, z, 0.01).tolist()
    [[1.0, 0.0]]
    >>> inertia_step(denoiser, z, 0.01, form="paper").round(decimals=3).tolist()
    [[1.002, -0.001]]
    """
    m = denoiser(z, h)
    if form == "posterior_mean":
        return m
    if form == "paper":
        # (z + h s)/alpha = m + (h/v - 1)(alpha m - z)/alpha: no z - alpha m cancellation amplified by 1/v
        a_h, v_h = alpha(h), variance(h)
        return m + ((h - v_h) / v_h) * (a_h * m - z) / a_h
    raise ValueError(f"unknown inertia form {form!r}; expected one of {INERTIA_FORMS}")
