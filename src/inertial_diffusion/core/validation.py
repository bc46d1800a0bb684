"""Input checks whose messages name the problem, raised before any computation starts."""

from __future__ import annotations

import math
import numbers
from typing import Any, Iterable

import numpy as np

__all__ = [
    "check_data",
    "check_queries",
    "check_positive",
    "check_time",
    "check_choice",
    "check_n_samples",
    "check_positive_int",
    "plain_label",
]


def plain_label(label: Any) -> Any:
    """A class label as a plain Python value (``np.str_('a')`` -> ``'a'``), for dict keys and messages."""
    return label.item() if isinstance(label, np.generic) else label


def _as_float_array(X: Any, name: str) -> np.ndarray:
    if hasattr(X, "detach") and hasattr(X, "cpu"):  # torch tensor
        X = X.detach().cpu().numpy()
    try:
        arr = np.asarray(X)
    except Exception as exc:  # ragged nested lists and the like
        raise ValueError(f"{name} could not be read as a numeric array: {exc}") from None
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        try:  # an object array of numbers is numeric data
            arr = arr.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"{name} must be numeric, got an array of dtype {arr.dtype} ({exc})") from None
    if np.iscomplexobj(arr):
        raise ValueError(f"Complex data not supported: {name} must be real-valued, got dtype {arr.dtype}")
    # float32 stays float32 (no full-size float64 copy of large data); everything else becomes float64
    return arr if arr.dtype in (np.float32, np.float64) else arr.astype(np.float64)


def check_data(X: Any, *, name: str = "X", min_rows: int = 2) -> np.ndarray:
    """Return ``X`` as a finite float array (float32 kept, anything else float64) of shape (n, D) with
    ``n >= min_rows``.

    Raises
    ------
    ValueError
        Wrong number of dimensions, too few rows, no columns, NaN or infinite entries.
    TypeError
        Non-numeric or complex input.
    """
    arr = _as_float_array(X, name)
    if arr.ndim != 2:
        hint = " (reshape a single feature with X.reshape(-1, 1))" if arr.ndim == 1 else ""
        raise ValueError(f"{name} must be a 2-D array of shape (n_samples, n_features), "
                         f"got {arr.ndim}-D array of shape {arr.shape}{hint}")
    n, dim = arr.shape
    if dim == 0:
        raise ValueError(f"{name} has no features: 0 feature(s) (shape={arr.shape}) while a minimum of 1 is required.")
    if n == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape}): at least {min_rows} rows are needed")
    if n < min_rows:
        raise ValueError(f"{name} has {n} row(s) (n_samples = {n}); at least {min_rows} are needed")
    _check_finite(arr, name)
    return arr


def check_queries(x: Any, n_features: int, *, name: str = "x") -> np.ndarray:
    """Return query points as a finite (m, D) float64 array; a single point (D,) becomes (1, D)."""
    arr = _as_float_array(x, name)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 1-D point or 2-D array of points, got shape {arr.shape}")
    if arr.shape[1] != n_features:
        raise ValueError(f"{name} has {arr.shape[1]} features, but the model was fitted on "
                         f"{n_features} features")
    _check_finite(arr, name)
    return arr


def _check_finite(arr: np.ndarray, name: str, block_rows: int = 8192) -> None:
    """Raise naming the first NaN/inf entry; checked in row blocks (no full-size boolean temporary)."""
    for r0 in range(0, arr.shape[0], block_rows):
        block = arr[r0:r0 + block_rows]
        if not np.isfinite(block).all():
            bad = np.argwhere(~np.isfinite(block))[0]
            kind = "NaN" if np.isnan(block[tuple(bad)]) else "infinite"
            index = (int(bad[0]) + r0, *(int(i) for i in bad[1:]))
            raise ValueError(f"{name} contains {kind} values (first at index {index}); remove or impute them first")


def check_positive(value: Any, name: str) -> float:
    """A finite real number > 0."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a positive number, got {value!r}")
    value = float(value)
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return value


def check_time(t: Any) -> float:
    """A diffusion time ``t > 0``."""
    return check_positive(t, "t")


def check_positive_int(value: Any, name: str) -> int:
    """An integer >= 1."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be a positive integer, got {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value!r}")
    return int(value)


def check_n_samples(value: Any, name: str = "n_samples") -> int:
    """An integer >= 0."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be a non-negative integer, got {value!r}")
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {value!r}")
    return int(value)


def check_choice(value: Any, name: str, choices: Iterable[str]) -> str:
    """One of a fixed set of option strings."""
    choices = tuple(choices)
    if value not in choices:
        raise ValueError(f"unknown {name} {value!r}; expected one of {', '.join(map(repr, choices))}")
    return value
