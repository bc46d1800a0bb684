"""Input checks whose messages name the problem, raised before any computation starts.

Every estimator and public function validates its arguments here first, so a bad input fails with one line that
names the argument and what is wrong with it (``TypeError`` for the wrong kind of value, ``ValueError`` for a
value out of range), never with a traceback from deep inside the posterior loop.
"""

from __future__ import annotations

import math
import sys
import numbers
from typing import Any, Iterable

import numpy as np

from inertial_diffusion.core.streamed import torch_view

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
    """A class label as a plain Python value, for dict keys and messages.

    NumPy scalars (``np.str_('a')``, ``np.int64(3)``) become their Python equivalents, so that a key or a
    message reads ``'a'`` rather than ``np.str_('a')``; anything else is returned unchanged.

    Parameters
    ----------
    label : Any
        A class label, e.g. an element of ``np.unique(y)``.

    Returns
    -------
    Any
        ``label.item()`` for a NumPy scalar, else ``label`` itself.

    Examples
    --------
    >>> import numpy as np
    >>> plain_label(np.str_("a")), plain_label(np.int64(3)), plain_label("b")
    ('a', 3, 'b')
    """
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
    """Return ``X`` as a finite 2-D float array of shape (n, D) with ``n >= min_rows``.

    float32 input stays float32 (large data get no full-size float64 copy); every other real dtype
    (integers, booleans, object arrays of numbers) becomes float64. A torch tensor is read through NumPy.

    Parameters
    ----------
    X : array-like (n, D)
        The data: a NumPy array, nested lists, a torch tensor, anything ``np.asarray`` reads.
    name : str
        How the messages call the argument (default ``"X"``).
    min_rows : int
        Fewest rows accepted (default 2).

    Returns
    -------
    ndarray (n, D)
        The data as float32 or float64, all entries finite.

    Raises
    ------
    ValueError
        Unreadable (e.g. ragged) input, complex values, not 2-D, no columns, fewer than ``min_rows`` rows,
        NaN or infinite entries.
    TypeError
        Non-numeric input.

    Examples
    --------
    >>> check_data([[1, 2], [3, 4]]).dtype
    dtype('float64')
    >>> check_data([[1.0, float("nan")], [0.0, 0.0]])
    Traceback (most recent call last):
    ...
    ValueError: X contains NaN values (first at index (0, 1)); remove or impute them first
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
    """Return query points as a finite (m, D) float array; a single point (D,) becomes (1, D).

    As :func:`check_data`, float32 stays float32 and any other numeric dtype becomes float64.

    Parameters
    ----------
    x : array-like (m, D) or (D,)
        The query points, or one point.
    n_features : int
        ``D``, the number of features the model was fitted on.
    name : str
        How the messages call the argument (default ``"x"``).

    Returns
    -------
    ndarray (m, D)
        The queries as float32 or float64, all entries finite.

    Raises
    ------
    ValueError
        Unreadable input, complex values, more than 2 dimensions, a feature count other than
        ``n_features``, NaN or infinite entries.
    TypeError
        Non-numeric input.

    Examples
    --------
    >>> check_queries([1.0, 2.0], 2).shape
    (1, 2)
    >>> check_queries([[1.0, 2.0, 3.0]], 2)
    Traceback (most recent call last):
    ...
    ValueError: x has 3 features, but the model was fitted on 2 features
    """
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
    """Raise naming the first NaN/inf entry; checked in row blocks (no full-size boolean temporary).

    A block whose sum is finite has only finite entries (NaN and inf propagate through a sum, inf - inf is
    NaN): torch sums the blocks of a float array on its threads (~3x faster than ``np.isfinite`` on 2 cores),
    and only a block whose sum is not finite (a non-finite entry, or finite ones that overflow) is checked entry
    by entry.
    """
    view = torch_view(arr) if arr.dtype in (np.float32, np.float64) else None
    for r0 in range(0, arr.shape[0], block_rows):
        block = arr[r0:r0 + block_rows]
        if view is not None and math.isfinite(float(view[r0:r0 + block_rows].sum())):
            continue
        if not np.isfinite(block).all():
            bad = np.argwhere(~np.isfinite(block))[0]
            kind = "NaN" if np.isnan(block[tuple(bad)]) else "infinite"
            index = (int(bad[0]) + r0, *(int(i) for i in bad[1:]))
            raise ValueError(f"{name} contains {kind} values (first at index {index}); remove or impute them first")


def check_positive(value: Any, name: str, *, allow_zero: bool = False) -> float:
    """Check that ``value`` is a finite real number > 0 (>= 0 with ``allow_zero``) and return it as a float.

    Parameters
    ----------
    value : Any
        The value to check; ``bool`` is refused although it is an ``int``.
    name : str
        The argument's name, for the messages.
    allow_zero : bool, default=False
        Accept 0 too (e.g. a smoothing scale where 0 means none).

    Returns
    -------
    float
        ``float(value)``.

    Raises
    ------
    TypeError
        Not a real number (or a bool).
    ValueError
        Zero (unless ``allow_zero``), negative, NaN or infinite.

    Examples
    --------
    >>> check_positive(2, "scale")
    2.0
    >>> check_positive(0.0, "scale")
    Traceback (most recent call last):
    ...
    ValueError: scale must be a finite number > 0, got 0.0
    >>> check_positive(0, "sigma", allow_zero=True)
    0.0
    >>> check_positive(-0.1, "sigma", allow_zero=True)
    Traceback (most recent call last):
    ...
    ValueError: sigma must be a finite number >= 0, got -0.1
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a positive number, got {value!r}")
    value = float(value)
    if not (math.isfinite(value) and (value >= 0 if allow_zero else value > 0)):
        raise ValueError(f"{name} must be a finite number {'>=' if allow_zero else '>'} 0, got {value!r}")
    return value


def check_time(t: Any) -> float:
    """Check a diffusion time ``t > 0`` (finite) and return it as a float.

    Parameters
    ----------
    t : Any
        The time.

    Returns
    -------
    float
        ``float(t)``.

    Raises
    ------
    TypeError
        Not a real number.
    ValueError
        ``t <= 0``, NaN or infinite, or below the smallest normal float64 (2.2e-308), where the variance
        :math:`v_t \\approx t` is subnormal and its inverse overflows (every result would be NaN).

    See Also
    --------
    check_positive : The same check with another name in the messages.

    Examples
    --------
    >>> check_time(0.5)
    0.5
    >>> check_time(1e-310)
    Traceback (most recent call last):
    ...
    ValueError: t = 1e-310 is below 2.2e-308 (the smallest normal float64): v_t = t underflows; use t >= 2.2e-308
    """
    t = check_positive(t, "t")
    if t < sys.float_info.min:
        raise ValueError(f"t = {t:.3g} is below 2.2e-308 (the smallest normal float64): v_t = t underflows; "
                         "use t >= 2.2e-308")
    return t


def check_positive_int(value: Any, name: str) -> int:
    """Check that ``value`` is an integer >= 1 and return it as a Python ``int``.

    Parameters
    ----------
    value : Any
        The value to check; any ``numbers.Integral`` (``np.int64`` too) but ``bool``. Floats such as
        ``3.0`` are refused.
    name : str
        The argument's name, for the messages.

    Returns
    -------
    int
        ``int(value)``.

    Raises
    ------
    TypeError
        Not an integer (or a bool).
    ValueError
        ``value < 1``.

    Examples
    --------
    >>> import numpy as np
    >>> check_positive_int(np.int64(5), "k")
    5
    >>> check_positive_int(2.0, "k")
    Traceback (most recent call last):
    ...
    TypeError: k must be a positive integer, got 2.0
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be a positive integer, got {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value!r}")
    return int(value)


def check_n_samples(value: Any, name: str = "n_samples") -> int:
    """Check a sample count: an integer >= 0, returned as a Python ``int`` (0 asks for an empty sample).

    Parameters
    ----------
    value : Any
        The count; any ``numbers.Integral`` but ``bool``.
    name : str
        The argument's name, for the messages (default ``"n_samples"``).

    Returns
    -------
    int
        ``int(value)``.

    Raises
    ------
    TypeError
        Not an integer (or a bool).
    ValueError
        ``value < 0``.

    Examples
    --------
    >>> check_n_samples(0)
    0
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be a non-negative integer, got {value!r}")
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {value!r}")
    return int(value)


def check_choice(value: Any, name: str, choices: Iterable[str]) -> str:
    """Check that ``value`` is one of a fixed set of option strings, and return it.

    Parameters
    ----------
    value : Any
        The option given.
    name : str
        The option's name, for the message.
    choices : iterable of str
        The accepted values.

    Returns
    -------
    str
        ``value``, unchanged.

    Raises
    ------
    ValueError
        ``value`` is not among ``choices``; the message lists them.

    Examples
    --------
    >>> check_choice("mle", "method", ("twonn", "mle"))
    'mle'
    >>> check_choice("pca", "method", ("twonn", "mle"))
    Traceback (most recent call last):
    ...
    ValueError: unknown method 'pca'; expected one of 'twonn', 'mle'
    """
    choices = tuple(choices)
    if value not in choices:
        raise ValueError(f"unknown {name} {value!r}; expected one of {', '.join(map(repr, choices))}")
    return value
