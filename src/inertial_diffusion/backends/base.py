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
* :meth:`~PosteriorBackend.moment` — the posterior mean and the moment-matched draw
  :math:`m_t(x) + \\sum_i \\sqrt{w_i}\\,\\varepsilon_i (y_i - m_t(x))` of the inertia step
  (:mod:`~inertial_diffusion.core.inertia`), from the same reduction with two more accumulators and keyed noise
  (:class:`~inertial_diffusion.core.noise.KeyedNoise`);
* :meth:`~PosteriorBackend.neglected_mass` — a certified upper bound on the share of the softmax mass
  a backend left out (zero for the exact backends).

Because mean, score, log-density and the moment-matched draw of one backend come from the same reduction, they
always agree.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from typing import Any

import torch

from inertial_diffusion.core.noise import KeyedNoise
from inertial_diffusion.core.posterior import Moment, Partial
from inertial_diffusion.core.process import alpha, variance

__all__ = ["PosteriorBackend"]


class PosteriorBackend(ABC):
    """Posterior of the empirical diffusion model of ``n_samples`` standardized training points.

    The empirical density at time ``t`` is the Gaussian mixture
    :math:`\\hat p_t = \\frac1n \\sum_i N(\\alpha_t y_i, v_t I)`; a backend answers questions about its
    posterior :math:`P(y_i \\mid X_t = x)`. Subclasses implement :meth:`partial` (and may override the others
    with blocked versions that keep memory bounded); ``rows`` is what the one-shot sampler indexes to draw
    ``y_I``. Backends are built by :func:`~inertial_diffusion.backends.factory.make_backend`.

    Attributes
    ----------
    n_samples : int
        Number of training rows ``n``.
    n_features : int
        Number of features ``D``.
    dtype : torch.dtype
        Dtype of the queries the backend expects and of the results it returns.
    device : torch.device
        Device of the queries and results.
    rows : Tensor (n, D) or tensor-like
        The standardized training rows: ``rows[index]`` gathers a tensor of rows (a
        :class:`~inertial_diffusion.backends.dask.DaskRows` for data on a Dask cluster).

    See Also
    --------
    inertial_diffusion.backends.local.LocalBackend : Exact, data in this process.
    inertial_diffusion.backends.pruned.PrunedBackend : Certified cluster pruning at level ``tol``.
    inertial_diffusion.backends.dask.DaskBackend : Exact, data sharded on a Dask cluster.

    Examples
    --------
    Every backend gives the same answers through this contract (here the exact local one):

    >>> import torch
    >>> from inertial_diffusion.backends.local import LocalBackend
    >>> data = torch.tensor([[-1.0, 0.0], [1.0, 0.0]], dtype=torch.float64)
    >>> backend = LocalBackend(data, torch.device("cpu"), max_memory=2**20)
    >>> x = torch.tensor([[0.9, 0.1]], dtype=torch.float64)
    >>> backend.mean(x, 0.01).tolist()  # small t: the posterior sits on the nearest point
    [[1.0, 0.0]]
    >>> backend.score(x, 0.5).round(decimals=4).tolist()
    [[-1.0461, -0.3164]]
    >>> backend.log_density(x, 0.5).round(decimals=4).tolist()
    [-1.5001]
    >>> backend.neglected_mass(x, 0.5).tolist()  # an exact backend leaves nothing out
    [0.0]
    """

    n_samples: int
    n_features: int
    dtype: torch.dtype
    device: torch.device
    rows: Any

    @abstractmethod
    def partial(self, x: torch.Tensor, t: float, noise: KeyedNoise | None = None) -> Partial:
        """Log-sum-exp reduction of the posterior of queries ``x`` at time ``t`` over the data.

        The one method a backend must implement: mean, score, log-density and the moment-matched draw are all
        read off its result, which is why they agree with each other.

        Parameters
        ----------
        x : Tensor (m, D)
            Queries at time ``t``, in standardized coordinates, on :attr:`device`.
        t : float
            Diffusion time, ``t > 0``.
        noise : KeyedNoise, optional
            Also reduce the accumulators of the moment-matched draw, query ``i`` drawing the noise keyed by
            ``i`` and the training row.

        Returns
        -------
        Partial
            ``(max logit, sum of exp, exp-weighted sum of y)`` per query, over every training row the
            backend keeps (all of them for an exact backend), with the noise accumulators when ``noise`` is
            given; see :class:`~inertial_diffusion.core.posterior.Partial`.
        """

    def mean(self, x: torch.Tensor, t: float) -> torch.Tensor:
        """Posterior mean :math:`m_t(x) = E[y \\mid X_t = x] = \\sum_i w_i y_i`, the denoiser of IDM.

        Parameters
        ----------
        x : Tensor (m, D)
            Queries at time ``t``, in standardized coordinates.
        t : float
            Diffusion time, ``t > 0``.

        Returns
        -------
        Tensor (m, D)
            :math:`m_t(x)`, a convex combination of the training rows, in ``x.dtype``.
        """
        return self.partial(x, t).mean().to(x.dtype)

    def moment(self, x: torch.Tensor, t: float, noise: KeyedNoise) -> Moment:
        """Posterior mean and moment-matched draw :math:`m + \\sum_i \\sqrt{w_i}\\,\\varepsilon_i (y_i - m)`.

        Given ``x``, the draw has the posterior's mean :math:`m_t(x)` and covariance
        :math:`\\operatorname{Cov}_t(y \\mid x) = \\sum_i w_i (y_i - m)(y_i - m)^T`, and is Gaussian (the
        :math:`\\varepsilon_i` are standard normals). The noise of query ``i`` against training row ``j`` is
        keyed by ``(noise.key, i, j)``: an exact backend gives the same draws for every block plan. With
        ``noise.choose`` it also draws one training row per query from the posterior (Gumbel-max on the same noise).

        Parameters
        ----------
        x : Tensor (m, D)
            Queries at time ``t``, in standardized coordinates, on :attr:`device`.
        t : float
            Diffusion time, ``t > 0``.
        noise : KeyedNoise
            The keyed noise (:meth:`~inertial_diffusion.core.noise.KeyedNoise.from_generator`).

        Returns
        -------
        Moment
            ``mean`` and ``draw`` in ``x.dtype``; ``choice``, the chosen rows (indices into :attr:`rows`), or None.
        """
        part = self.partial(x, t, noise=noise)
        return Moment(part.mean().to(x.dtype), part.moment_draw().to(x.dtype), part.choice)

    def score(self, x: torch.Tensor, t: float) -> torch.Tensor:
        """Score of the empirical density, :math:`\\nabla\\log\\hat p_t(x) = (\\alpha_t m_t(x) - x)/v_t`.

        Assembled in float64: the small-t cancellation in :math:`\\alpha_t m - x` would otherwise cost
        float32 its accuracy.

        Parameters
        ----------
        x : Tensor (m, D)
            Queries at time ``t``, in standardized coordinates.
        t : float
            Diffusion time, ``t > 0``.

        Returns
        -------
        Tensor (m, D)
            The score at ``x``, in ``x.dtype``.
        """
        m = self.partial(x, t).mean()
        return ((alpha(t) * m - x.double()) / variance(t)).to(x.dtype)

    def log_density(self, x: torch.Tensor, t: float) -> torch.Tensor:
        """Log-density of the empirical mixture :math:`\\hat p_t = \\frac1n\\sum_i N(\\alpha_t y_i, v_t I)`.

        .. math::

            \\log\\hat p_t(x) = \\operatorname{LSE}_i(\\ell_i) - \\frac{|x|^2}{2v_t} - \\log n
            - \\frac D2\\log(2\\pi v_t),

        with :math:`\\ell_i` the logits of :meth:`partial` (which drop the per-query :math:`|x|^2/(2v_t)`).
        The queries are promoted to float64 before the reduction: the terms cancel to a small difference.

        Parameters
        ----------
        x : Tensor (m, D)
            Queries at time ``t``, in standardized coordinates.
        t : float
            Diffusion time, ``t > 0``.

        Returns
        -------
        Tensor (m,)
            :math:`\\log\\hat p_t(x)` per query, float64, in standardized units (subtract
            :meth:`~inertial_diffusion.core.standardize.Standardizer.log_abs_det` for data units).
        """
        x64 = x.double()
        v_t = variance(t)
        part = self.partial(x64, t)
        return (part.log_normalizer() - (x64**2).sum(dim=1) / (2 * v_t) - math.log(self.n_samples)
                - 0.5 * self.n_features * math.log(2 * math.pi * v_t))

    def log_normalizer(self, x: torch.Tensor, t: float) -> torch.Tensor:
        """The log-sum-exp :math:`\\log\\sum_i e^{\\ell_i}` of the logits of :meth:`partial`.

        The logits are :math:`\\ell_i = (\\alpha_t x\\cdot y_i - \\alpha_t^2|y_i|^2/2)/v_t`.

        What a training point's own posterior weight is read from (the estimators' isolated-point count): the
        weight of row ``j`` at ``x`` is :math:`e^{\\ell_j - \\log\\sum_i e^{\\ell_i}}`. An exact local backend
        reduces the log-sum-exp alone (half the work of :meth:`partial`).

        Parameters
        ----------
        x : Tensor (m, D)
            Queries at time ``t``, in standardized coordinates, on :attr:`device`.
        t : float
            Diffusion time, ``t > 0``.

        Returns
        -------
        Tensor (m,), float64
        """
        return self.partial(x, t).log_normalizer()

    def neglected_mass(self, x: torch.Tensor, t: float) -> torch.Tensor:
        """Certified upper bound, per query, on the share of the softmax mass left out of :meth:`partial`.

        Exact backends leave nothing out and return zeros; a pruning backend returns its certificate.

        Parameters
        ----------
        x : Tensor (m, D)
            Queries at time ``t``, in standardized coordinates.
        t : float
            Diffusion time, ``t > 0``.

        Returns
        -------
        Tensor (m,)
            Float64 bound in ``[0, 1]`` per query (zeros here).
        """
        return torch.zeros(x.shape[0], dtype=torch.float64, device=x.device)

    def denoiser(self, x: torch.Tensor, t: float) -> torch.Tensor:
        """The ``denoiser(x, t)`` callable the reverse-process samplers take: :meth:`mean`.

        Parameters
        ----------
        x : Tensor (m, D)
            Current states of the sampler at time ``t``.
        t : float
            Diffusion time, ``t > 0``.

        Returns
        -------
        Tensor (m, D)
            The posterior mean :math:`m_t(x)`, in ``x.dtype``.
        """
        return self.mean(x, t)
