"""Standardization: the affine map from data units to the coordinates the OU process runs in.

``"global"`` (the default): ``Z = (X - mean) / scale`` with ``scale`` the root-mean-square distance of the
rows to their mean, :math:`\\sqrt{\\operatorname{tr}\\operatorname{Cov}(X)}`. One scale commutes with
rotations, isometric embeddings and ``X -> a X + b`` (samples map to ``a S + b``): it keeps IDM's
independence of the ambient dimension D. ``"per_feature"``: each column divided by its own standard
deviation, for tables whose columns have different units (scale-equivariant column by column, but no
longer invariant under rotations or embeddings; constant columns keep scale 1). ``"none"``: identity.

Statistics are accumulated in float64 over blocks of rows, so that fitting float32 (or memory-mapped)
data makes no full-size float64 copy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np

from inertial_diffusion import choices

__all__ = ["STANDARDIZE_MODES", "Standardizer", "resolve_mode", "row_blocks"]

#: The standardization modes; ``True``/``False`` are accepted as "global"/"none".
STANDARDIZE_MODES = choices.STANDARDIZE_MODES
#: Rows per block of the streamed passes (float64 temporaries of BLOCK_ROWS x D).
BLOCK_ROWS = 8192


def resolve_mode(standardize: bool | str) -> str:
    """``True`` -> "global", ``False`` -> "none", a mode name -> itself."""
    if isinstance(standardize, (bool, np.bool_)):
        return "global" if standardize else "none"
    if standardize not in STANDARDIZE_MODES:
        raise ValueError(f"standardize must be True, False or one of {STANDARDIZE_MODES}, got {standardize!r}")
    return str(standardize)


def row_blocks(n: int, block_rows: int = BLOCK_ROWS) -> Iterator[slice]:
    """Consecutive row slices of at most ``block_rows`` rows."""
    for r0 in range(0, n, block_rows):
        yield slice(r0, min(n, r0 + block_rows))


@dataclass(frozen=True)
class Standardizer:
    """Affine map ``x -> (x - mean) / scale`` and its inverse.

    ``scale`` is a float (one global scale) or an array of shape (D,) (one scale per feature).
    """

    mean: np.ndarray
    scale: float | np.ndarray

    @classmethod
    def fit(cls, X: np.ndarray, mode: bool | str = "global") -> "Standardizer":
        """Fit the map of ``mode`` (see :data:`STANDARDIZE_MODES`) to the rows of ``X`` in two streamed
        passes (mean, then squared deviations: no cancellation-prone ``E|x|^2 - |E x|^2``)."""
        mode = resolve_mode(mode)
        n, dim = X.shape
        if mode == "none":
            return cls.identity(dim)
        # work on X / m, m = max |x_ij| (per column for per-feature), so that data of size 1e+-300 neither
        # overflow nor underflow in the squares
        m = np.zeros(dim)
        for rows in row_blocks(n):
            m = np.maximum(m, np.abs(X[rows]).max(axis=0))
        m = np.where(m > 0, m, 1.0) if mode == "per_feature" else np.full(dim, m.max() if m.max() > 0 else 1.0)
        total = np.zeros(dim)
        for rows in row_blocks(n):
            total += (X[rows] / m).sum(axis=0, dtype=np.float64)
        mean = total / n
        sq = np.zeros(dim)
        for rows in row_blocks(n):
            sq += ((X[rows] / m - mean) ** 2).sum(axis=0)
        unit = cls.from_moments(mean, sq / n, mode)
        if mode == "per_feature":  # constant columns keep scale 1, as from_moments gives them
            return cls(mean=unit.mean * m, scale=np.where(sq > 0, unit.scale * m, 1.0))
        return cls(mean=unit.mean * m, scale=unit.scale * m[0])

    @classmethod
    def from_moments(cls, mean: np.ndarray, variances: np.ndarray, mode: str = "global") -> "Standardizer":
        """The map from the column means and (population) variances, however they were reduced
        (in-memory blocks here, cluster reductions for a Dask array)."""
        mean = np.asarray(mean, dtype=np.float64)
        variances = np.asarray(variances, dtype=np.float64)
        if mode == "none":
            return cls.identity(mean.shape[0])
        if mode == "per_feature":
            std = np.sqrt(variances)
            if not np.any(std > 0):
                raise ValueError("all rows of X are identical: the data have zero spread, nothing to "
                                 "standardize or sample around")
            return cls(mean=mean, scale=np.where(std > 0, std, 1.0))
        scale = float(np.sqrt(variances.sum()))
        if not (scale > 0 and np.isfinite(scale)):
            raise ValueError("all rows of X are identical: the data have zero spread, nothing to "
                             "standardize or sample around" if scale == 0 else
                             f"the spread of X overflows float64 (RMS distance to the mean = {scale}); "
                             "rescale the data")
        return cls(mean=mean, scale=scale)

    @classmethod
    def identity(cls, n_features: int) -> "Standardizer":
        return cls(mean=np.zeros(n_features), scale=1.0)

    @property
    def per_feature(self) -> bool:
        return np.ndim(self.scale) == 1

    def log_abs_det(self, n_features: int) -> float:
        """:math:`\\log|\\det|` of the map back to data units: ``D log scale`` or ``sum_j log scale_j``."""
        return float(np.sum(np.log(self.scale))) if self.per_feature else n_features * float(np.log(self.scale))

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Standardized rows in float64."""
        return (np.asarray(X, dtype=np.float64) - self.mean) / self.scale

    def transform_into(self, X: np.ndarray, out: np.ndarray) -> np.ndarray:
        """Standardize ``X`` block by block into ``out`` (any float dtype), without a full float64 copy."""
        for rows in row_blocks(X.shape[0]):
            out[rows] = self.transform(X[rows])
        return out

    def inverse_transform(self, Z: np.ndarray) -> np.ndarray:
        """Back to data units, in float64 whatever ``Z``'s dtype: float32 work is done in standardized
        units, and data units may carry offsets (e.g. 1e8) that float32 cannot resolve."""
        return np.asarray(Z, dtype=np.float64) * self.scale + self.mean
