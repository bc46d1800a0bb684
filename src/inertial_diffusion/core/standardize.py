"""Standardization: the affine map from data units to the coordinates the OU process runs in.

``"global"`` (the default): ``Z = (X - mean) / scale`` with ``scale`` the root-mean-square distance of the
rows to their mean, :math:`\\sqrt{\\operatorname{tr}\\operatorname{Cov}(X)}`. One scale commutes with
rotations, isometric embeddings and ``X -> a X + b`` (for ``a > 0`` the same seed gives ``a S + b``; for
``a < 0`` the samples are ``a S + b`` in law only): it keeps IDM's independence of the ambient dimension D.
``"per_feature"``: each column divided by its own standard deviation, for tables whose columns have
different units (scale-equivariant column by column, but no longer invariant under rotations or
embeddings; constant columns keep scale 1). ``"none"``: identity.

Statistics are accumulated in float64 over blocks of rows, so that fitting float32 (or memory-mapped)
data makes no full-size float64 copy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from inertial_diffusion import choices
from inertial_diffusion.core.streamed import (SAFE_MAGNITUDE, Float64Blocks, block_rows_for,
                                              column_extremes, column_moments, row_blocks)

__all__ = ["STANDARDIZE_MODES", "Standardizer", "block_rows_for", "resolve_mode", "row_blocks"]

#: The standardization modes; ``True``/``False`` are accepted as "global"/"none".
STANDARDIZE_MODES = choices.STANDARDIZE_MODES


def resolve_mode(standardize: bool | str) -> str:
    """Normalize the ``standardize`` option to a mode name.

    Parameters
    ----------
    standardize : bool or {"global", "per_feature", "none"}
        ``True`` means "global", ``False`` means "none" (NumPy booleans too).

    Returns
    -------
    str
        One of :data:`STANDARDIZE_MODES`.

    Raises
    ------
    ValueError
        Any other value.

    Examples
    --------
    >>> resolve_mode(True), resolve_mode(False), resolve_mode("per_feature")
    ('global', 'none', 'per_feature')
    """
    if isinstance(standardize, (bool, np.bool_)):
        return "global" if standardize else "none"
    if standardize not in STANDARDIZE_MODES:
        raise ValueError(f"standardize must be True, False or one of {STANDARDIZE_MODES}, got {standardize!r}")
    return str(standardize)


@dataclass(frozen=True)
class Standardizer:
    """Affine map ``x -> (x - mean) / scale`` and its inverse.

    ``scale`` is a float (one global scale) or an array of shape (D,) (one scale per feature).

    Parameters
    ----------
    mean : ndarray (D,)
        Subtracted from every row.
    scale : float or ndarray (D,)
        Divides the centred rows.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[1.0, 2.0], [3.0, 2.0], [5.0, 8.0]])
    >>> st = Standardizer.fit(X)
    >>> st.mean.tolist(), round(float(st.scale), 4)
    ([3.0, 4.0], 3.266)
    >>> Z = st.transform(X)
    >>> round(float(np.mean(np.sum(Z**2, axis=1))), 6)  # unit RMS distance to the mean
    1.0
    >>> np.allclose(st.inverse_transform(Z), X)
    True
    """

    mean: np.ndarray
    scale: float | np.ndarray

    @classmethod
    def fit(cls, X: np.ndarray, mode: bool | str = "global") -> "Standardizer":
        """Fit the map of ``mode`` (see :data:`STANDARDIZE_MODES`) to the rows of ``X``.

        One streamed pass for the mean and the squared deviations, each block's merged into the running ones
        exactly (no cancellation-prone ``E|x|^2 - |E x|^2``; :func:`~inertial_diffusion.core.streamed.column_moments`).
        Magnitudes beyond 1e+-100 (whose squares could leave float64) take a pass for the largest ``|x_ij|`` (per
        column for "per_feature") and the moments again on the data divided by it; a column whose spread could be
        rounding only has its extremes read, to tell a constant column exactly.

        Parameters
        ----------
        X : ndarray (n, D)
            The data (float32, float64 or memory-mapped), read in blocks of rows.
        mode : bool or {"global", "per_feature", "none"}
            ``True`` is "global", ``False`` is "none".

        Returns
        -------
        Standardizer
            The fitted map; ``mean`` and ``scale`` are float64.

        Raises
        ------
        ValueError
            Unknown ``mode``, all rows identical (zero spread), or a spread that overflows float64.

        Examples
        --------
        >>> import numpy as np
        >>> X = np.array([[1.0, 2.0], [3.0, 2.0], [5.0, 8.0]])
        >>> round(float(Standardizer.fit(X).scale), 4)  # RMS distance of the rows to their mean
        3.266
        >>> Standardizer.fit(X, "per_feature").scale.round(4).tolist()  # column standard deviations
        [1.633, 2.8284]
        >>> Standardizer.fit(X, False).scale
        1.0
        """
        mode = resolve_mode(mode)
        n, dim = X.shape
        if mode == "none":
            return cls.identity(dim)
        # one pass: the mean and squared deviations of each block merged exactly into the running ones (Chan, Golub &
        # LeVeque's pairwise update; no cancellation-prone E|x|^2 - |E x|^2). Squares of |x| within [1e-100, 1e100]
        # neither overflow nor underflow in float64 (float32 data always are); |mean| + sqrt(sq) bounds max|x| from
        # above, max(|mean|, sqrt(sq / n) / 2) from below. Beyond, the extremes are read and the data divided by
        # m = max |x_ij| (per column for per-feature) in a second pass
        size = block_rows_for(dim)
        mean, sq = column_moments(X, size)
        with np.errstate(over="ignore", invalid="ignore"):
            upper = np.abs(mean) + np.sqrt(sq)
            lower = np.maximum(np.abs(mean), np.sqrt(sq / n) / 2)
        live = upper > 0
        rescale = not (np.all(np.isfinite(mean)) and np.all(np.isfinite(sq))) or bool(np.any(
            live & ((upper > SAFE_MAGNITUDE) | (lower < 1.0 / SAFE_MAGNITUDE))))
        if not rescale:
            # sq == 0 with a mean of at least 1e-100: every deviation is exactly 0 (one of at least an ulp of the
            # mean, >= 1e-116, has a normal square). A constant column's block means may round (a mean of 0.1s is
            # not exactly 0.1): its sq is then tiny but not 0, and identical rows would get a scale of ~1e-15 instead
            # of the "identical rows" refusal: far below any resolvable spread (relative 1e-12 against ~1e-15 from
            # rounding) the extremes decide, as they do for sq == 0 with a mean of exactly 0 (all zeros, or values
            # below 1e-154 whose squares underflowed: then the rescaled pass below)
            constant = sq == 0
            suspect = np.flatnonzero(((sq > 0) & (sq <= n * (1e-12 * mean) ** 2)) | ((sq == 0) & (mean == 0)))
            if suspect.size:
                lo, hi = column_extremes(X, size, suspect)
                constant[suspect] = lo == hi
                rescale = bool(np.any(~constant & (sq == 0)))
            m = np.ones(dim)
        if rescale:
            lo, hi = column_extremes(X, size)
            m = np.maximum(np.abs(lo), np.abs(hi))  # the largest |x_ij| per column
            m = np.where(m > 0, m, 1.0) if mode == "per_feature" else np.full(dim, m.max() if m.max() > 0 else 1.0)
            mean, sq = column_moments(X, size, m)
            constant = lo == hi
        sq[constant] = 0.0
        unit = cls.from_moments(mean, sq / n, mode)
        if mode == "per_feature":  # constant columns keep scale 1, as from_moments gives them
            return cls(mean=unit.mean * m, scale=np.where(sq > 0, unit.scale * m, 1.0))
        with np.errstate(over="ignore"):
            scale = float(unit.scale * m[0])
        if not math.isfinite(scale):
            raise ValueError("the data's spread overflows float64 (RMS distance to the mean above "
                             f"{np.finfo(float).max:.3g}): divide the data by a constant first")
        return cls(mean=unit.mean * m, scale=scale)

    @classmethod
    def from_moments(cls, mean: np.ndarray, variances: np.ndarray, mode: str = "global") -> "Standardizer":
        """The map from the column means and (population) variances, however they were reduced.

        In-memory blocks here (:meth:`fit`), cluster reductions for a Dask array.

        Parameters
        ----------
        mean, variances : array-like (D,)
            Column means and population variances.
        mode : {"global", "per_feature", "none"}
            "global": ``scale = sqrt(sum(variances))``; "per_feature": ``scale = sqrt(variances)``
            (1 where a variance is 0).

        Returns
        -------
        Standardizer
            The map of ``mode`` for these moments.

        Raises
        ------
        ValueError
            Zero total spread, or a global scale that is not finite.

        Examples
        --------
        >>> Standardizer.from_moments([0.0, 0.0], [1.0, 3.0]).scale
        2.0
        >>> Standardizer.from_moments([0.0, 0.0], [4.0, 0.0], "per_feature").scale.tolist()
        [2.0, 1.0]
        """
        mode = resolve_mode(mode)
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
        """The identity map on ``n_features`` features (mean 0, scale 1): the ``"none"`` mode.

        Parameters
        ----------
        n_features : int
            ``D``, the length of ``mean``.

        Returns
        -------
        Standardizer
            ``mean = zeros(D)``, ``scale = 1.0``.

        Examples
        --------
        >>> st = Standardizer.identity(3)
        >>> st.mean.tolist(), st.scale
        ([0.0, 0.0, 0.0], 1.0)
        """
        return cls(mean=np.zeros(n_features), scale=1.0)

    @property
    def per_feature(self) -> bool:
        """Whether ``scale`` is one value per feature (an array) rather than one global float.

        Examples
        --------
        >>> Standardizer.identity(2).per_feature
        False
        """
        return np.ndim(self.scale) == 1

    def log_abs_det(self, n_features: int) -> float:
        """:math:`\\log|\\det|` of the map back to data units: ``D log scale`` or ``sum_j log scale_j``.

        Parameters
        ----------
        n_features : int
            ``D`` (used by a global scale).

        Returns
        -------
        float
            What to subtract from a log-density in standardized units to get it in data units.

        Examples
        --------
        >>> import numpy as np
        >>> round(Standardizer(mean=np.zeros(2), scale=np.e).log_abs_det(2), 6)
        2.0
        """
        return float(np.sum(np.log(self.scale))) if self.per_feature else n_features * float(np.log(self.scale))

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Standardized rows ``(X - mean) / scale`` in float64.

        Parameters
        ----------
        X : array-like (n, D)
            Rows in data units.

        Returns
        -------
        ndarray (n, D)
            The standardized rows, float64.

        Examples
        --------
        >>> import numpy as np
        >>> st = Standardizer(mean=np.array([1.0, 2.0]), scale=2.0)
        >>> st.transform([[3.0, 2.0]]).tolist()
        [[1.0, 0.0]]
        """
        return (np.asarray(X, dtype=np.float64) - self.mean) / self.scale

    def transform_into(self, X: np.ndarray, out: np.ndarray) -> np.ndarray:
        """Standardize ``X`` block by block into ``out`` (any float dtype), without a full float64 copy.

        Parameters
        ----------
        X : ndarray (n, D)
            Rows in data units (e.g. float32 or memory-mapped), read in blocks of :func:`block_rows_for` rows.
        out : ndarray (n, D)
            Written in place; each block is cast to its dtype.

        Returns
        -------
        ndarray
            ``out``.

        Examples
        --------
        >>> import numpy as np
        >>> st = Standardizer(mean=np.array([1.0, 2.0]), scale=2.0)
        >>> out = st.transform_into(np.array([[3.0, 2.0]]), np.empty((1, 2), dtype=np.float32))
        >>> out.dtype, out.tolist()
        (dtype('float32'), [[1.0, 0.0]])
        """
        mean = torch.from_numpy(np.array(np.broadcast_to(self.mean, (X.shape[1],)), dtype=np.float64))
        scale = torch.from_numpy(np.array(np.broadcast_to(self.scale, (X.shape[1],)), dtype=np.float64))
        native = out.dtype in (np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64))
        target = torch.from_numpy(out) if native and out.flags.writeable and out.flags.c_contiguous else None
        for rows, block in Float64Blocks(X, block_rows_for(X.shape[1])):
            block.sub_(mean).div_(scale)  # as transform(): (X - mean) / scale in float64, then cast
            if target is not None:
                target[rows].copy_(block)
            else:
                out[rows] = block.numpy()
        return out

    def inverse_transform(self, Z: np.ndarray) -> np.ndarray:
        """Back to data units, ``Z * scale + mean``, in float64 whatever ``Z``'s dtype.

        float32 work is done in standardized units, and data units may carry offsets (e.g. 1e8) that
        float32 cannot resolve.

        Parameters
        ----------
        Z : array-like (n, D)
            Rows in standardized units (any float dtype).

        Returns
        -------
        ndarray (n, D)
            The rows in data units, float64.

        Examples
        --------
        >>> import numpy as np
        >>> st = Standardizer(mean=np.array([1.0, 2.0]), scale=2.0)
        >>> st.inverse_transform(np.array([[1.0, 0.0]], dtype=np.float32)).tolist()
        [[3.0, 2.0]]
        """
        return np.asarray(Z, dtype=np.float64) * self.scale + self.mean
