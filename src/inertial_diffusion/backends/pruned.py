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
from inertial_diffusion.core.posterior import Partial
from inertial_diffusion.core.pruning import build_cluster_index, pruned_reduction

__all__ = ["PrunedBackend"]


class PrunedBackend(PosteriorBackend):
    """Posterior with certified cluster pruning at level ``tol``.

    Parameters
    ----------
    data : Tensor (n, D)
        Standardized training rows, on ``device``.
    device : torch.device
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

    def _reduce(self, x: torch.Tensor, t: float):
        return pruned_reduction(x, self.index, t, tol=self.tol, chunk_size=self.chunk_size, max_memory=self.max_memory)

    def partial(self, x: torch.Tensor, t: float) -> Partial:
        return self._reduce(x, t).partial

    def neglected_mass(self, x: torch.Tensor, t: float) -> torch.Tensor:
        """The certified share per query (a second pass: asked for only with ``return_neglected_mass``)."""
        return self._reduce(x, t).bound
