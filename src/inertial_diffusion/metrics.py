"""Sample-quality and memorization metrics (plain functions)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from sklearn.neighbors import NearestNeighbors

from .validation import check_data, check_positive_int

__all__ = ["energy_distance", "energy_test", "TestResult", "nearest_distances"]


def _pairwise_mean_distance(A: torch.Tensor, B: torch.Tensor) -> torch.Tensor:
    return torch.cdist(A, B).mean()


def _energy_from_distances(dist: torch.Tensor, first: torch.Tensor) -> torch.Tensor:
    """Energy statistic of a pooled distance matrix split by the boolean mask ``first``."""
    second = ~first
    dxy = dist[first][:, second].mean()
    dxx = dist[first][:, first].mean()
    dyy = dist[second][:, second].mean()
    return 2 * dxy - dxx - dyy


def energy_distance(A, B) -> float:
    """Energy distance :math:`2E|X-Y| - E|X-X'| - E|Y-Y'|` (Székely & Rizzo), V-statistic form.

    Zero iff the two laws agree (for finite first moments); a metric on laws after a square root.
    """
    A = torch.as_tensor(check_data(A, name="A", min_rows=1))
    B = torch.as_tensor(check_data(B, name="B", min_rows=1))
    if A.shape[1] != B.shape[1]:
        raise ValueError(f"A and B have different numbers of features: {A.shape[1]} vs {B.shape[1]}")
    return float(2 * _pairwise_mean_distance(A, B) - _pairwise_mean_distance(A, A) - _pairwise_mean_distance(B, B))


@dataclass(frozen=True)
class TestResult:
    """A statistic with its permutation p-value."""

    statistic: float
    pvalue: float
    n_permutations: int


def energy_test(A, B, n_permutations: int = 500, random_state=None) -> TestResult:
    """Two-sample permutation test of equal laws with the energy distance.

    The p-value is ``(1 + #{perm stat >= observed}) / (1 + n_permutations)``, exact in level.
    """
    A = check_data(A, name="A", min_rows=1)
    B = check_data(B, name="B", min_rows=1)
    if A.shape[1] != B.shape[1]:
        raise ValueError(f"A and B have different numbers of features: {A.shape[1]} vs {B.shape[1]}")
    n_permutations = check_positive_int(n_permutations, "n_permutations")
    pooled = torch.as_tensor(np.vstack([A, B]))
    dist = torch.cdist(pooled, pooled)
    first = torch.zeros(pooled.shape[0], dtype=torch.bool)
    first[: A.shape[0]] = True
    observed = float(_energy_from_distances(dist, first))
    rng = np.random.default_rng(random_state)
    exceed = 0
    for _ in range(n_permutations):
        perm = torch.as_tensor(rng.permutation(pooled.shape[0]))
        exceed += float(_energy_from_distances(dist, first[perm])) >= observed
    return TestResult(observed, (1 + exceed) / (1 + n_permutations), n_permutations)


def nearest_distances(samples, train) -> np.ndarray:
    """Euclidean distance from each sample to its nearest training point."""
    train = check_data(train, name="train", min_rows=1)
    if np.shape(samples)[:1] == (0,):
        return np.empty(0)
    samples = check_data(samples, name="samples", min_rows=1)
    if samples.shape[1] != train.shape[1]:
        raise ValueError(f"samples have {samples.shape[1]} features but train has {train.shape[1]}")
    dist, _ = NearestNeighbors(n_neighbors=1).fit(train).kneighbors(samples)
    return dist[:, 0]
