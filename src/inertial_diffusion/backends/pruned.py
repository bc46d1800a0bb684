"""Certified cluster pruning: the posterior over the clusters that carry all but ``tol`` of the mass.

The training rows are clustered once, at ``fit`` (:func:`inertial_diffusion.core.pruning.build_cluster_index`);
each query then skips the clusters whose bound puts their total softmax share below the tolerance, and
:meth:`PrunedBackend.neglected_mass` returns that certified share per query. Mean, score and
log-density come from the same pruned :class:`~inertial_diffusion.core.posterior.Partial`, so they agree
with each other; each differs from the exact value by at most the certified share (times the data's
diameter for the mean).
"""

from __future__ import annotations

from typing import Any

import torch

from inertial_diffusion.backends.base import PosteriorBackend
from inertial_diffusion.backends.device import matmul_precision
from inertial_diffusion.core.noise import KeyedNoise
from inertial_diffusion.core.posterior import Partial
from inertial_diffusion.core.pruning import build_cluster_index, pruned_reduction

__all__ = ["PrunedBackend"]


class PrunedBackend(PosteriorBackend):
    """Posterior with certified cluster pruning at level ``tol``.

    For large ``n`` at small ``t`` a query's posterior lives on a few clusters near :math:`x/\\alpha_t`; the
    others are skipped when a bound certifies that together they carry at most ``tol`` of its softmax mass
    (:func:`~inertial_diffusion.core.pruning.pruned_reduction`). The results then differ from the exact ones
    by at most that share (times the data's diameter for the mean and score).

    Parameters
    ----------
    data : Tensor (n, D)
        Standardized training rows, on ``device``.
    device : torch.device
        Where the cluster index lives, the queries live and the GEMMs run.
    max_memory : int
        Working-memory budget in bytes of one evaluation.
    chunk_size : int, optional
        Data rows per chunk inside a cluster.
    tol : float in (0, 1)
        Certified bound on the neglected share of every query's softmax mass.
    random_state : None, int or Generator
        Seeds the clustering (the result is exact up to ``tol`` whatever the clusters).
    n_clusters : int, optional
        Clusters of the index (default ``round(n / 1000)``, measured best on 2 cores: below ~5e4 points
        that is a handful of clusters and the backend is close to exact).

    Attributes
    ----------
    rows : Tensor (n, D)
        ``data`` in its original order (the one-shot draw and the fit's row statistics index it).
    index : ClusterIndex
        The clustered copy of the data and the geometry of the bound
        (:func:`~inertial_diffusion.core.pruning.build_cluster_index`).
    tol : float
        The certified level.

    See Also
    --------
    inertial_diffusion.backends.base.PosteriorBackend : The contract and its formulas.
    inertial_diffusion.core.pruning : The bound, and why it holds.

    Examples
    --------
    Two well-separated blobs: a query in one of them never pays for the other.

    >>> import torch
    >>> from inertial_diffusion.backends.local import LocalBackend
    >>> g = torch.Generator().manual_seed(0)
    >>> data = torch.randn(200, 4, generator=g, dtype=torch.float64)
    >>> data[:100, 0] += 10.0
    >>> cpu = torch.device("cpu")
    >>> pruned = PrunedBackend(data, cpu, max_memory=2**22, tol=1e-6, random_state=0, n_clusters=4)
    >>> x = data[:3] + 0.1
    >>> bool((pruned.neglected_mass(x, 0.1) <= 1e-6).all())
    True
    >>> exact = LocalBackend(data, cpu, max_memory=2**22)
    >>> bool(torch.allclose(pruned.mean(x, 0.1), exact.mean(x, 0.1), atol=1e-6))
    True
    """

    def __init__(self, data: torch.Tensor, device: torch.device, max_memory: int, chunk_size: int | None = None,
                 tol: float = 1e-6, random_state: Any = 0, n_clusters: int | None = None) -> None:
        self.rows = data  # original order: the one-shot draw and the fit's row statistics index it
        self.n_samples, self.n_features = (int(s) for s in data.shape)
        self.dtype = data.dtype
        self.device = torch.device(device)
        self.resident = True
        self.max_memory, self.chunk_size, self.tol = int(max_memory), chunk_size, float(tol)
        self.index = build_cluster_index(data.to(self.device), n_clusters, random_state=random_state)

    def _reduce(self, x: torch.Tensor, t: float, noise: KeyedNoise | None = None):
        with matmul_precision("exact"):  # the certificate's rounding bound assumes IEEE float32 GEMMs
            return pruned_reduction(x, self.index, t, tol=self.tol, chunk_size=self.chunk_size,
                                    max_memory=self.max_memory, noise=noise, precision="exact")

    def partial(self, x: torch.Tensor, t: float, noise: KeyedNoise | None = None) -> Partial:
        """Log-sum-exp reduction of the posterior of ``x`` over the clusters it cannot skip.

        With ``noise``, the moment-matched draw's accumulators too. The noise is keyed by the rows' positions
        in the clustered order, so the draws differ from an exact backend's for the same seed (the same law up
        to the certificate: the skipped rows carry at most ``bound`` of the weights, hence at most ``bound``
        times the squared diameter of the draw's conditional variance).

        Parameters
        ----------
        x : Tensor (m, D)
            Queries at time ``t``, in standardized coordinates, on :attr:`device`.
        t : float
            Diffusion time, ``t > 0``.
        noise : KeyedNoise, optional
            Also reduce the moment-matched draw's accumulators.

        Returns
        -------
        Partial
            Over the kept rows of each query, in the computation dtype.
        """
        return self._reduce(x, t, noise).partial

    def neglected_mass(self, x: torch.Tensor, t: float) -> torch.Tensor:
        """The certified share of each query's softmax mass that :meth:`partial` skips.

        This is a second pruned pass over the data, so the estimators ask for it only with
        ``return_neglected_mass=True``.

        Parameters
        ----------
        x : Tensor (m, D)
            Queries at time ``t``, in standardized coordinates, on :attr:`device`.
        t : float
            Diffusion time, ``t > 0``.

        Returns
        -------
        Tensor (m,)
            Float64 upper bound on the true skipped share, at most ``tol`` (0 where nothing is skipped).
        """
        return self._reduce(x, t).bound
