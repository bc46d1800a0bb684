"""Standardization by one global scale.

``Z = (X - mean) / scale`` with ``scale`` the root-mean-square distance of the rows to their mean,
:math:`\\sqrt{\\operatorname{tr}\\operatorname{Cov}(X)}`. A per-coordinate scale would change
under isometric embedding into a higher dimension and destroy IDM's independence of D; a single
scale commutes with rotations and with ``X -> a X + b`` (so samples map to ``a S + b``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Standardizer"]


@dataclass(frozen=True)
class Standardizer:
    """Affine map ``x -> (x - mean) / scale`` and its inverse."""

    mean: np.ndarray
    scale: float

    @classmethod
    def fit(cls, X: np.ndarray) -> "Standardizer":
        mean = X.mean(axis=0)
        scale = float(np.sqrt(np.mean(np.sum((X - mean) ** 2, axis=1))))
        if not scale > 0:
            raise ValueError("all rows of X are identical: the data have zero spread, nothing to "
                             "standardize or sample around")
        return cls(mean=mean, scale=scale)

    @classmethod
    def identity(cls, n_features: int) -> "Standardizer":
        return cls(mean=np.zeros(n_features), scale=1.0)

    def transform(self, X: np.ndarray) -> np.ndarray:
        return (X - self.mean) / self.scale

    def inverse_transform(self, Z: np.ndarray) -> np.ndarray:
        return (Z * self.scale + self.mean).astype(Z.dtype, copy=False)
