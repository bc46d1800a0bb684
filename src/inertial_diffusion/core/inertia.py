"""The inertia step of IDM (arXiv 2505.02508): from :math:`z \\sim \\hat p_h` at ``t = h = sigma^2``
to a new sample :math:`\\hat x` near the data manifold.

Three forms, side by side, all read off the one posterior of the backend
(:class:`~inertial_diffusion.backends.base.PosteriorBackend`):

``"posterior_mean"``
    :math:`\\hat x = \\alpha_h^{-1}\\,(z + v_h\\,\\nabla\\log\\hat p_h(z)) = m_h(z)`: the posterior mean, a
    softmax-weighted local average of training points (Tweedie's formula). Exact, free of D, inside the
    convex hull of the data; it can only remove variance, so on real data its samples are averages (blur) or
    near-copies.
``"paper"``
    :math:`\\hat x = \\alpha_h^{-1}\\,(z + h\\,\\nabla\\log\\hat p_h(z))`, as printed in the paper.
    Since :math:`v_h = h - h^2 + O(h^3)`, it agrees with the posterior mean to first order in ``h``; their
    difference is :math:`\\alpha_h^{-1}(h - v_h)\\,\\nabla\\log\\hat p_h(z) \\approx h^2\\,\\nabla\\log\\hat p_h(z)`,
    and the score's noise part has norm :math:`\\approx\\sqrt{D/v_h}`, so the paper form carries a residual
    :math:`\\approx h^{3/2}\\sqrt D` that grows with the ambient dimension.
``"moment"`` (ours, beyond the paper)
    :math:`\\hat x = m_h(z) + \\sum_i \\sqrt{w_i}\\,\\varepsilon_i\\,(y_i - m_h(z))`, :math:`\\varepsilon_i`
    i.i.d. :math:`N(0, 1)`, :math:`w` the posterior weights at :math:`(z, h)`: given ``z`` a draw of
    :math:`N(m_h(z), \\operatorname{Cov}_h(y \\mid z))`, the Gaussian with the posterior's mean *and*
    covariance (second-order Tweedie). Its conditional mean is IDM's map :math:`m_h(z)`, and by the law of
    total covariance the samples keep the data's mean and covariance exactly, for every ``h``:
    :math:`\\operatorname{Cov}(\\hat x) = \\operatorname{Cov}(m_h(z)) + E\\,\\operatorname{Cov}_h(y \\mid z) =
    \\operatorname{Cov}(y)`. On a sphere :math:`E|\\hat x|^2 = \\sum_i w_i |y_i|^2 = 1`: no radial shrinkage.
    It is free of D like the posterior mean (every term is a combination of training points). It is computed in
    the same streamed reduction as the mean, with two more accumulators and keyed noise
    (:func:`~inertial_diffusion.core.posterior.posterior_moment`); costs are in ``benchmarks/moment.py``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from inertial_diffusion import choices
from inertial_diffusion.core.noise import KeyedNoise
from inertial_diffusion.core.process import alpha, variance

if TYPE_CHECKING:  # the contract the step reads: annotations only, the core imports no backend
    from inertial_diffusion.backends.base import PosteriorBackend

__all__ = ["INERTIA_FORMS", "inertia_step", "paper_step"]

INERTIA_FORMS = choices.INERTIA_FORMS


def paper_step(m: torch.Tensor, z: torch.Tensor, h: float) -> torch.Tensor:
    """The paper's printed step :math:`\\alpha_h^{-1}(z + h\\,\\nabla\\log\\hat p_h(z))` from the posterior mean.

    Written as ``m + (h/v_h - 1)(alpha_h m - z)/alpha_h``: no ``z - alpha m`` cancellation amplified by ``1/v_h``.

    Parameters
    ----------
    m : Tensor (m, D)
        The posterior mean :math:`m_h(z)`.
    z : Tensor (m, D)
        Points at time ``h``.
    h : float
        Stopping time.

    Returns
    -------
    Tensor (m, D)

    Examples
    --------
    >>> import torch
    >>> z = torch.tensor([[0.5, 0.0]], dtype=torch.float64)
    >>> bool(torch.allclose(paper_step(z, z, 1e-12), z))  # h -> 0: the posterior mean
    True
    """
    a_h, v_h = alpha(h), variance(h)
    return m + ((h - v_h) / v_h) * (a_h * m - z) / a_h


def inertia_step(posterior: "PosteriorBackend", z: torch.Tensor, h: float, form: str = "posterior_mean",
                 generator: torch.Generator | None = None, discrete: torch.Tensor | None = None) -> torch.Tensor:
    """Apply the inertia step at time ``h`` to points ``z`` (standardized coordinates).

    IDM (Lyu, Nguyen, Qian & Tong, arXiv 2505.02508) stops the reverse process at ``h = sigma^2`` and
    maps :math:`z \\sim \\hat p_h` to :math:`\\hat x = m_h(z)` (``"posterior_mean"``),
    :math:`\\hat x = \\alpha_h^{-1}(z + h\\,\\nabla\\log\\hat p_h(z))` (``"paper"``) or a draw of
    :math:`N(m_h(z), \\operatorname{Cov}_h(y \\mid z))` (``"moment"``); see the module docstring.

    Parameters
    ----------
    posterior : PosteriorBackend
        The posterior (``mean(x, t)``, and ``moment(x, t, noise)`` for ``"moment"``).
    z : Tensor (m, D)
        Points at time ``h``.
    h : float
        Stopping time, ``h = sigma^2``.
    form : {"posterior_mean", "paper", "moment"}
        Which form of the step (default: the posterior mean).
    generator : torch.Generator, optional
        Source of the noise key (:meth:`KeyedNoise.from_generator`) of the moment-matched step and of the
        ``discrete`` coordinates; the other forms draw nothing.
    discrete : Tensor (D,) of bool, optional
        Coordinates that take the values of one training row drawn from the posterior, :math:`y_J`,
        :math:`P(J = i) = w_i` (the exact conditional law of those coordinates, jointly), whatever the form: a
        table's one-hot blocks and missing-value indicators, which must stay codes of a real row. With the moment
        step ``J`` is drawn from the same noise (Gumbel-max), so it leans towards the rows that the draw leans to.

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
    >>> from inertial_diffusion.backends.local import LocalBackend
    >>> data = torch.tensor([[-1.0, 0.0], [1.0, 0.0]], dtype=torch.float64)
    >>> posterior = LocalBackend(data, torch.device("cpu"), max_memory=2**20)
    >>> z = torch.tensor([[0.8, 0.05]], dtype=torch.float64)
    >>> inertia_step(posterior, z, 0.01).tolist()
    [[1.0, 0.0]]
    >>> inertia_step(posterior, z, 0.01, form="paper").round(decimals=3).tolist()
    [[1.002, -0.001]]
    >>> inertia_step(posterior, z, 0.01, form="moment", generator=torch.Generator().manual_seed(0)).tolist()
    [[1.0, 0.0]]
    """
    if form not in INERTIA_FORMS:
        raise ValueError(f"unknown inertia form {form!r}; expected one of {INERTIA_FORMS}")
    choose = discrete is not None and bool(discrete.any())
    if form == "moment" or choose:
        mean, draw, choice = posterior.moment(z, h, KeyedNoise.from_generator(generator, choose=choose))
        x = draw if form == "moment" else mean
    else:
        x = mean = posterior.mean(z, h)
    if form == "paper":
        x = paper_step(mean, z, h)
    if choose:
        assert discrete is not None and choice is not None, "the noise chose a row"
        rows = posterior.rows[choice].to(device=x.device, dtype=x.dtype)
        mask = discrete.to(x.device)
        x = torch.where(mask[None, :], rows, x)
    return x
