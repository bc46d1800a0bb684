"""The one posterior contract every backend implements, chosen once at ``fit``.

In the spirit of k-diffusion's ``external.py`` (every model behind one denoiser call) and EDM's
``*Precond`` classes (one ``forward(x, sigma)``): samplers, inertia step and the estimators' query
methods talk to a :class:`PosteriorBackend` and never branch on where or how the posterior is computed.
All quantities are in the standardized coordinates of the OU process :math:`dX = -X\\,dt + dW`,
:math:`\\alpha_t = e^{-t}`, :math:`v_t = (1 - e^{-2t})/2`:

* :meth:`~PosteriorBackend.partial` — the log-sum-exp reduction
  (:class:`~inertial_diffusion.core.posterior.Partial`) of the posterior of queries ``x`` at time ``t``;
* :meth:`~PosteriorBackend.mean` — :math:`m_t(x) = \\sum_i w_i y_i`,
  :math:`w = \\operatorname{softmax}_i(-|x - \\alpha_t y_i|^2 / (2 v_t))`;
* :meth:`~PosteriorBackend.score` — :math:`\\nabla\\log\\hat p_t(x) = (\\alpha_t m_t(x) - x)/v_t`;
* :meth:`~PosteriorBackend.log_density` — :math:`\\log\\hat p_t(x)`;
* :meth:`~PosteriorBackend.neglected_mass` — a certified upper bound on the share of the softmax mass
  a backend left out (zero for the exact backends).

Because mean, score and log-density of one backend come from the same reduction, they always agree.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from typing import Any

import torch

from inertial_diffusion.core.posterior import Partial
from inertial_diffusion.core.process import alpha, variance

__all__ = ["PosteriorBackend"]


class PosteriorBackend(ABC):
    """Posterior of the empirical diffusion model of ``n_samples`` standardized training points.

    Subclasses implement :meth:`partial` (and may override the others with blocked versions that
    keep memory bounded); ``rows`` is what the one-shot sampler indexes to draw ``y_I``.

    Attributes
    ----------
    n_samples, n_features : int
    dtype : torch.dtype
        Dtype of the queries the backend expects and of the results it returns.
    device : torch.device
        Device of the queries and results.
    rows : indexable (n, D)
        The standardized training rows: ``rows[index]`` gathers a tensor of rows.
    """

    n_samples: int
    n_features: int
    dtype: torch.dtype
    device: torch.device
    rows: Any

    @abstractmethod
    def partial(self, x: torch.Tensor, t: float) -> Partial:
        """Log-sum-exp reduction of the posterior of queries ``x`` (m, D) at time ``t`` over the data."""

    def mean(self, x: torch.Tensor, t: float) -> torch.Tensor:
        """Posterior mean :math:`m_t(x) = E[y \\mid X_t = x]`, in ``x.dtype``."""
        return self.partial(x, t).mean().to(x.dtype)

    def score(self, x: torch.Tensor, t: float) -> torch.Tensor:
        """Score :math:`(\\alpha_t m_t(x) - x)/v_t`, assembled in float64 (the small-t cancellation
        in :math:`\\alpha_t m - x` would cost float32 its accuracy), returned in ``x.dtype``."""
        m = self.partial(x, t).mean()
        return ((alpha(t) * m - x.double()) / variance(t)).to(x.dtype)

    def log_density(self, x: torch.Tensor, t: float) -> torch.Tensor:
        """:math:`\\log\\hat p_t(x) = \\operatorname{LSE}_i(\\ell_i) - |x|^2/(2v_t) - \\log n
        - \\tfrac D2\\log(2\\pi v_t)`,
        shape (m,), in float64 (queries promoted to float64 before the reduction)."""
        x64 = x.double()
        v_t = variance(t)
        part = self.partial(x64, t)
        return (part.log_normalizer() - (x64**2).sum(dim=1) / (2 * v_t) - math.log(self.n_samples)
                - 0.5 * self.n_features * math.log(2 * math.pi * v_t))

    def neglected_mass(self, x: torch.Tensor, t: float) -> torch.Tensor:
        """Certified upper bound, per query, on the share of the softmax mass left out of :meth:`partial`
        (float64, shape (m,)). Exact backends leave nothing out: zeros."""
        return torch.zeros(x.shape[0], dtype=torch.float64, device=x.device)

    def denoiser(self, x: torch.Tensor, t: float) -> torch.Tensor:
        """The samplers' ``denoiser(x, t)`` callable: :meth:`mean`."""
        return self.mean(x, t)
