"""Streamed passes over the rows: cache-sized float64 blocks, and the column moments and extremes read from them.

The standardization (:mod:`inertial_diffusion.core.standardize`) and the backends' norms read the data through
these, so that float32 or memory-mapped data never get a full-size float64 copy, and the element-wise work runs on
torch's intra-op threads (2-3x numpy's single-threaded passes on 2 cores; benchmarks/README.md, fit cost).
"""

from __future__ import annotations

import math
import warnings
from typing import Iterator

import numpy as np
import torch

__all__ = ["BLOCK_ROWS", "BLOCK_BYTES", "block_rows_for", "row_blocks", "torch_view", "Float64Blocks",
           "column_moments", "column_extremes", "SAFE_MAGNITUDE"]

#: Largest number of rows per block of the streamed passes.
BLOCK_ROWS = 8192
#: Bytes of one block's float64 temporary: a block that stays in the cache makes a pass over 200 000 x 784
#: float32 rows 2-5x faster than 8192-row blocks (51 MB each; benchmarks/fit_cost.py).
BLOCK_BYTES = 4 * 2**20


def block_rows_for(dim: int) -> int:
    """Rows per block whose float64 temporary of ``dim`` columns takes about :data:`BLOCK_BYTES`.

    Parameters
    ----------
    dim : int
        Columns of the data.

    Returns
    -------
    int
        Between 64 and :data:`BLOCK_ROWS`.

    Examples
    --------
    >>> block_rows_for(3), block_rows_for(784), block_rows_for(10**6)
    (8192, 668, 64)
    """
    return int(min(BLOCK_ROWS, max(64, BLOCK_BYTES // (8 * max(int(dim), 1)))))


#: Largest magnitude whose square, summed over 1e9 rows, stays finite in float64 (and the reciprocal: the
#: smallest whose square stays normal): the moments pass divides by the largest |x_ij| only beyond.
SAFE_MAGNITUDE = 1e100


def column_moments(X: np.ndarray, block_rows: int, divisor: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Column mean and sum of squared deviations of ``X / divisor`` in one streamed pass.

    Each block's own mean and deviations are merged into the running ones exactly (Chan, Golub & LeVeque's
    pairwise update; no cancellation-prone :math:`E|x|^2 - |E x|^2`).

    Parameters
    ----------
    X : ndarray (n, D)
        The rows (any real dtype, any layout, memory-mapped included).
    block_rows : int
        Rows per float64 block (:func:`block_rows_for`).
    divisor : ndarray (D,), optional
        Divide each column by it first (for magnitudes whose squares would leave float64).

    Returns
    -------
    mean, sq : ndarray (D,), float64
        Column means and sums of squared deviations from them.

    Examples
    --------
    >>> import numpy as np
    >>> mean, sq = column_moments(np.array([[1.0, 2.0], [3.0, 2.0], [5.0, 8.0]]), 2)
    >>> mean.tolist(), sq.tolist()
    ([3.0, 4.0], [8.0, 24.0])
    """
    dim = X.shape[1]
    mean, sq, count = torch.zeros(dim, dtype=torch.float64), torch.zeros(dim, dtype=torch.float64), 0
    scale = None if divisor is None else torch.as_tensor(divisor, dtype=torch.float64)
    for _, block in Float64Blocks(X, block_rows):
        if scale is not None:
            block.div_(scale)
        k = block.shape[0]
        block_mean = block.mean(dim=0)
        delta = block_mean - mean
        total = count + k
        mean += delta * (k / total)
        block.sub_(block_mean)
        sq += block.square_().sum(dim=0) + delta.square() * (count * k / total)
        count = total
    return mean.numpy(), sq.numpy()


def column_extremes(X: np.ndarray, block_rows: int, columns: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Column minima and maxima (of ``columns`` only, when given) in one streamed pass.

    Parameters
    ----------
    X : ndarray (n, D)
        The rows.
    block_rows : int
        Rows per block.
    columns : ndarray of int, optional
        Only these columns (read through numpy: for a few columns).

    Returns
    -------
    lo, hi : ndarray, float64
        Per column (of ``columns``).

    Examples
    --------
    >>> import numpy as np
    >>> lo, hi = column_extremes(np.array([[1.0, 2.0], [3.0, -2.0]]), 1)
    >>> lo.tolist(), hi.tolist()
    ([1.0, -2.0], [3.0, 2.0])
    """
    if columns is not None:
        lo, hi = np.full(columns.size, np.inf), np.full(columns.size, -np.inf)
        for rows in row_blocks(X.shape[0], block_rows):
            part = np.asarray(X[rows][:, columns], dtype=np.float64)
            lo, hi = np.minimum(lo, part.min(axis=0)), np.maximum(hi, part.max(axis=0))
        return lo, hi
    low = torch.full((X.shape[1],), math.inf, dtype=torch.float64)
    high = torch.full((X.shape[1],), -math.inf, dtype=torch.float64)
    for _, block in Float64Blocks(X, block_rows):
        block_low, block_high = torch.aminmax(block, dim=0)
        torch.minimum(low, block_low, out=low)
        torch.maximum(high, block_high, out=high)
    return low.numpy(), high.numpy()


#: numpy dtypes that torch.from_numpy views and copies to float64 without surprises.
TORCH_VIEWABLE = tuple(np.dtype(t) for t in ("float16", "float32", "float64", "int8", "int16", "int32", "int64",
                                              "uint8", "bool"))


def torch_view(X: np.ndarray) -> torch.Tensor | None:
    """A zero-copy torch view of ``X`` when it is a C-contiguous ndarray of a dtype in :data:`TORCH_VIEWABLE`,
    else None. Read-only and memory-mapped arrays are viewed too: the callers never write through the view.

    Parameters
    ----------
    X : array-like
        The rows.

    Returns
    -------
    Tensor or None
        Sharing ``X``'s memory.

    Examples
    --------
    >>> import numpy as np
    >>> torch_view(np.ones((2, 2), dtype=np.float32)).dtype, torch_view(np.ones((2, 2), dtype=">f8"))
    (torch.float32, None)
    """
    if not (isinstance(X, np.ndarray) and X.flags.c_contiguous and X.dtype in TORCH_VIEWABLE):
        return None
    with warnings.catch_warnings():  # a read-only array: torch warns that writes would be undefined
        warnings.simplefilter("ignore", UserWarning)
        return torch.from_numpy(X)


class Float64Blocks:
    """Rows of ``X`` in float64, one cache-sized block at a time, in one reused torch buffer.

    The element-wise work of the standardization passes runs in torch (on its intra-op threads: 2-3x numpy's
    single-threaded passes on 2 cores, benchmarks/README.md, fit cost). ``X`` is read through a zero-copy torch
    view when it is a C-contiguous array of a dtype torch knows (read-only and memory-mapped arrays included:
    nothing writes to it), else block by block through numpy.

    Parameters
    ----------
    X : ndarray (n, D)
        The rows (any real dtype and layout).
    block_rows : int
        Rows per block.

    Examples
    --------
    >>> import numpy as np
    >>> [(rows.start, block.sum().item()) for rows, block in Float64Blocks(np.ones((5, 2), dtype=np.float32), 2)]
    [(0, 4.0), (2, 4.0), (4, 2.0)]
    """

    def __init__(self, X: np.ndarray, block_rows: int) -> None:
        self.X = X
        self.block_rows = block_rows
        self.buffer = torch.empty((min(block_rows, X.shape[0]), X.shape[1]), dtype=torch.float64)
        self.view = torch_view(X)

    def __iter__(self) -> Iterator[tuple[slice, torch.Tensor]]:
        for rows in row_blocks(self.X.shape[0], self.block_rows):
            block = self.buffer[:rows.stop - rows.start]
            if self.view is not None:
                block.copy_(self.view[rows])
            else:
                np.copyto(block.numpy(), self.X[rows], casting="unsafe")
            yield rows, block


def row_blocks(n: int, block_rows: int = BLOCK_ROWS) -> Iterator[slice]:
    """Consecutive row slices of at most ``block_rows`` rows, covering ``range(n)``.

    The streamed passes of :meth:`Standardizer.fit` and :meth:`Standardizer.transform_into` read the data
    through these, so their float64 temporaries are ``block_rows x D``, never ``n x D``
    (:func:`block_rows_for` sizes them to stay in the cache).

    Parameters
    ----------
    n : int
        Number of rows.
    block_rows : int
        Largest block (default :data:`BLOCK_ROWS`).

    Yields
    ------
    slice
        ``slice(r0, min(n, r0 + block_rows))`` for ``r0 = 0, block_rows, ...``.

    Examples
    --------
    >>> list(row_blocks(5, 2))
    [slice(0, 2, None), slice(2, 4, None), slice(4, 5, None)]
    """
    for r0 in range(0, n, block_rows):
        yield slice(r0, min(n, r0 + block_rows))
