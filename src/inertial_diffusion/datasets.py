"""Manifolds with a known population law and exact distance, isometrically embedded in R^D.

Each manifold lives in its natural coordinates in R^k (k = ``native_dim``) and is placed in
R^D by ``x -> x Q^T`` with ``Q`` (D x k) having orthonormal columns drawn from ``random_state``:
distances, and so the manifold's geometry, do not depend on D.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .validation import check_n_samples, check_positive, check_positive_int

__all__ = ["Manifold", "Sphere", "make_sphere", "random_orthonormal"]


def random_orthonormal(ambient_dim: int, native_dim: int, random_state=None) -> np.ndarray:
    """A (ambient_dim, native_dim) matrix with orthonormal columns, uniform (Haar) in law."""
    if native_dim > ambient_dim:
        raise ValueError(f"ambient_dim ({ambient_dim}) must be >= the manifold's native dimension "
                         f"({native_dim})")
    rng = np.random.default_rng(random_state)
    q, r = np.linalg.qr(rng.standard_normal((ambient_dim, native_dim)))
    return q * np.sign(np.diag(r))


@dataclass
class Manifold:
    """Base class: subclasses define ``native_dim``, ``_sample_native`` and ``_distance_native``."""

    intrinsic_dim: int
    ambient_dim: int
    random_state: int | None = 0
    embedding: np.ndarray = field(init=False, repr=False)

    native_dim: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        check_positive_int(self.intrinsic_dim, "intrinsic_dim")
        check_positive_int(self.ambient_dim, "ambient_dim")
        self.native_dim = self._native_dim()
        self.embedding = random_orthonormal(self.ambient_dim, self.native_dim, self.random_state)

    def _native_dim(self) -> int:
        raise NotImplementedError

    def _sample_native(self, n: int, rng: np.random.Generator) -> np.ndarray:
        raise NotImplementedError

    def _distance_native(self, X: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def sample(self, n: int, random_state=None) -> np.ndarray:
        """``n`` points from the population law, shape (n, ambient_dim)."""
        n = check_n_samples(n, "n")
        return self._sample_native(n, np.random.default_rng(random_state)) @ self.embedding.T

    def distance(self, X: np.ndarray) -> np.ndarray:
        """Exact Euclidean distance of each row of ``X`` (n, ambient_dim) to the manifold."""
        X = np.asarray(X, dtype=np.float64)
        native = X @ self.embedding
        off = np.linalg.norm(X - native @ self.embedding.T, axis=1)
        return np.hypot(self._distance_native(native), off)


@dataclass
class Sphere(Manifold):
    """Round sphere S^d of radius ``radius`` in R^(d+1), uniform law."""

    radius: float = 1.0

    def _native_dim(self) -> int:
        check_positive(self.radius, "radius")
        return self.intrinsic_dim + 1

    def _sample_native(self, n: int, rng: np.random.Generator) -> np.ndarray:
        g = rng.standard_normal((n, self.native_dim))
        return self.radius * g / np.linalg.norm(g, axis=1, keepdims=True)

    def _distance_native(self, X: np.ndarray) -> np.ndarray:
        return np.abs(np.linalg.norm(X, axis=1) - self.radius)


def make_sphere(n: int, intrinsic_dim: int = 2, ambient_dim: int = 3, random_state=None,
                radius: float = 1.0) -> np.ndarray:
    """``n`` uniform points on S^d (radius ``radius``) randomly and isometrically embedded in R^D.

    The embedding and the points both come from ``random_state``.
    """
    rng = np.random.default_rng(random_state)
    manifold = Sphere(intrinsic_dim, ambient_dim, random_state=rng, radius=radius)
    return manifold.sample(n, rng)
