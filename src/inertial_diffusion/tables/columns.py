"""Column types of a table: what each column is, read once at ``fit`` from a pandas DataFrame.

Types, and how a column gets one (a user's ``column_types`` override wins):

``continuous``
    Floating-point columns.
``integer``
    Integer columns (numpy or pandas nullable ``Int*``): samples are rounded.
``boolean``
    ``bool`` and pandas ``boolean`` columns; text columns of exactly the values ``true``/``false`` (any case).
``categorical``
    pandas ``category`` columns (categories and order kept), and text columns. Integer columns only when the
    user says so (``column_types={"zip": "categorical"}``): a count and a code look the same.
``datetime``
    ``datetime64`` columns (timezone kept) and columns of ``datetime.date`` values; modelled as a number of days.

Missing values (``NaN``, ``None``, ``pd.NA``, ``NaT``) are allowed in every column but the label: each column
with any keeps a missing-value indicator, and samples are missing at the column's rate (see
:mod:`~inertial_diffusion.tables.encoder`).

What is refused, by name: a column with no values at all; a text column that looks like an identifier (more
than half of its rows distinct, and more than :data:`ID_MIN_DISTINCT` values) unless typed ``categorical``; a
text column holding numbers beside text (``"3"``, ``"n/a"``, ``"4.5"``: usually a numeric column with a stray
marker for missing values), unless typed ``categorical``; a column of other Python objects. A text column of
numbers only (zip codes read as text) is categorical. Categories seen in only one row are kept, with a warning
(a sample that draws one copies that row's value).
"""

from __future__ import annotations

import datetime as _dt
import decimal
import math
import re
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["COLUMN_TYPES", "ColumnSpec", "infer_columns", "ID_MIN_DISTINCT", "MAX_CATEGORIES"]

#: The column types a column can be given.
COLUMN_TYPES = ("continuous", "integer", "boolean", "categorical", "datetime")
#: A text column with more distinct values than this and than half its rows is refused as an identifier.
ID_MIN_DISTINCT = 50
#: Most categories of one column (each is an encoded dimension).
MAX_CATEGORIES = 1000

_NUMERIC = ("continuous", "integer", "datetime")
_BOOL_TEXT = {"true": True, "false": False}


@dataclass(frozen=True)
class ColumnSpec:
    """One column of a table: its type and what is needed to encode it and give samples back alike.

    Parameters
    ----------
    name : str
        The column's name.
    kind : {"continuous", "integer", "boolean", "categorical", "datetime"}
        Its type (:data:`COLUMN_TYPES`).
    dtype : str
        The pandas dtype of the column, as ``str(dtype)`` (``"int64"``, ``"Int64"``, ``"category"``, ``"object"``,
        ``"datetime64[ns, UTC]"``...): samples are cast back to it.
    missing_rate : float
        Share of missing values in the training rows.
    low, high : float
        Training range of a numeric column (days for datetimes); samples are clipped to it.
    categories : tuple
        The categories of a categorical column (in the pandas order for a ``category`` dtype, sorted otherwise),
        ``(False, True)`` for a boolean one (the spellings of false and true for a boolean read from text).
    ordered : bool
        A pandas ``category`` column's ``ordered`` flag.
    date_only : bool
        A datetime column whose values are all dates (midnight): samples are rounded to days and, for a column of
        ``datetime.date`` objects, given back as dates.
    bool_text : bool
        A boolean read from ``true``/``false`` text: given back as text.
    resolution : float
        Seconds to which a datetime column's samples are rounded: a day for dates, a second when every training
        value is a whole second, else a microsecond.
    """

    name: str
    kind: str
    dtype: str
    missing_rate: float = 0.0
    low: float = math.nan
    high: float = math.nan
    categories: tuple = field(default_factory=tuple)
    ordered: bool = False
    date_only: bool = False
    bool_text: bool = False
    resolution: float = 1.0

    @property
    def has_missing(self) -> bool:
        """Whether the training column had missing values (it then keeps an indicator)."""
        return self.missing_rate > 0

    @property
    def numeric(self) -> bool:
        """Whether the column is modelled as one number (continuous, integer, datetime)."""
        return self.kind in _NUMERIC


def _is_text(values: np.ndarray) -> bool:
    return all(isinstance(v, str) for v in values)


def _bool_text(values: np.ndarray) -> bool:
    return _is_text(values) and {v.strip().lower() for v in values} <= set(_BOOL_TEXT)


_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")


def _is_number_text(value: str) -> bool:
    """A number written as digits ("3", "-4.5", "1e3"); "nan", "inf" and "1_234" are text here."""
    return _NUMBER.fullmatch(value.strip()) is not None


def datetime_days(series: Any) -> np.ndarray:
    """Days since 1970-01-01 (UTC for timezone-aware columns) of a datetime or date column; NaN where missing.

    Parameters
    ----------
    series : pandas.Series
        ``datetime64`` values or ``datetime.date`` objects.

    Returns
    -------
    ndarray of float64

    Examples
    --------
    >>> import pandas as pd
    >>> datetime_days(pd.Series(pd.to_datetime(["1970-01-02 00:00", None, "1970-01-01 12:00"]))).tolist()
    [1.0, nan, 0.5]
    """

    missing = series.isna().to_numpy()
    if series.dtype == object:  # date or datetime objects, of any year (numpy's ns range ends in 1677 and 2262)
        epoch = _dt.datetime(1970, 1, 1)
        out = np.full(len(series), np.nan)
        for k, v in enumerate(series.to_numpy(dtype=object)):
            if not missing[k]:
                if not isinstance(v, _dt.datetime):
                    v = _dt.datetime(v.year, v.month, v.day)
                elif v.tzinfo is not None:
                    v = v.astimezone(_dt.timezone.utc).replace(tzinfo=None)
                out[k] = (v - epoch).total_seconds() / 86400.0
        return out
    values = series
    if getattr(values.dtype, "tz", None) is not None:
        values = values.dt.tz_convert("UTC").dt.tz_localize(None)
    # seconds, not ns: a cast to ns wraps silently outside 1677-2262 (9999-12-31 is a common open-end date)
    seconds = values.to_numpy(dtype="datetime64[s]").astype(np.int64).astype(np.float64)
    seconds[missing] = np.nan
    return seconds / 86400.0


def _infer_one(name: str, series: Any, override: str | None) -> ColumnSpec:
    import pandas as pd
    from pandas.api import types as pdt

    n = len(series)
    missing = series.isna().to_numpy()
    if missing.all():
        raise ValueError(f"column {name!r} has no values (all {n} missing); drop it")
    present = series[~missing]
    dtype = str(series.dtype)
    rate = float(missing.mean())
    if override is not None and override not in COLUMN_TYPES:
        raise ValueError(f"column_types[{name!r}] = {override!r}; expected one of {COLUMN_TYPES}")
    objects = present.to_numpy(dtype=object) if series.dtype == object or pdt.is_string_dtype(series.dtype) else None
    if objects is not None and objects.size and all(isinstance(v, (bool, np.bool_)) for v in objects):
        if override in (None, "boolean"):  # True/False with missing values, as pandas reads them from a CSV
            return ColumnSpec(name, "boolean", dtype, rate, categories=(False, True))
    if objects is not None and objects.size and all(isinstance(v, (int, float, np.number, decimal.Decimal)) and
                                                   not isinstance(v, (bool, np.bool_)) for v in objects):
        # an object column of numbers (a frame built row by row, a decimal column): read as numbers
        numbers = pd.to_numeric(series, errors="coerce")
        kind_dtype = "Int64" if all(float(v).is_integer() for v in objects) and override != "continuous" else "float64"
        return _infer_one(name, numbers.astype(kind_dtype), override)
    if override is None and objects is not None and _is_text(objects):
        numbers = [v for v in objects if _is_number_text(v)]
        if numbers and len(numbers) < len(objects) and not _bool_text(objects):
            text = [v for v in objects if not _is_number_text(v)][:2]
            raise ValueError(f"column {name!r} mixes numbers ({', '.join(map(repr, numbers[:2]))}) and text "
                             f"({', '.join(map(repr, text))}); clean it (missing values as empty cells), or type it "
                             f"with column_types={{{name!r}: 'categorical'}} (CLI: --categorical)")
    if override == "categorical" or (override is None and (isinstance(series.dtype, pd.CategoricalDtype)
                                                            or (objects is not None and _is_text(objects)
                                                                and not _bool_text(objects)))):
        return _categorical(name, series, present, dtype, rate, forced=override == "categorical")
    if objects is not None and not (objects.size and all(isinstance(v, (_dt.date, str)) for v in objects)):
        kinds = sorted({type(v).__name__ for v in objects})
        raise ValueError(f"column {name!r} holds {', '.join(kinds)} values; expected numbers, text, booleans or "
                         "dates")
    if objects is not None and all(isinstance(v, _dt.date) for v in objects) or pdt.is_datetime64_any_dtype(series):
        if override not in (None, "datetime"):
            raise ValueError(f"column {name!r} holds dates; it can only be typed 'datetime' or 'categorical'")
        days = datetime_days(series)
        dates = objects is not None and not any(isinstance(v, _dt.datetime) for v in objects)  # datetime.date
        date_only = dates or bool(np.all(np.mod(days[~np.isnan(days)], 1.0) == 0))
        seconds = days[~np.isnan(days)] * 86400.0
        resolution = 86400.0 if date_only else (1.0 if np.all(np.abs(seconds - np.round(seconds)) < 1e-3) else 1e-6)
        return ColumnSpec(name, "datetime", dtype, rate, float(np.nanmin(days)), float(np.nanmax(days)),
                          date_only=date_only, resolution=resolution)
    if objects is not None:
        if _bool_text(objects) and override in (None, "boolean"):
            spelled = {flag: max((v for v in objects if _BOOL_TEXT[v.strip().lower()] == flag),
                                 key=list(objects).count, default=str(flag).lower()) for flag in (False, True)}
            # the categories are the spellings written back (the most frequent of each value)
            return ColumnSpec(name, "boolean", dtype, rate, categories=(spelled[False], spelled[True]),
                              bool_text=True)
        raise ValueError(f"column {name!r} holds text; it can only be typed 'categorical' (or 'boolean' for "
                         f"true/false), not {override!r}")
    if pdt.is_bool_dtype(series.dtype) or override == "boolean":
        if override == "boolean" and not set(present.unique().tolist()) <= {0, 1, True, False}:
            raise ValueError(f"column {name!r} is typed 'boolean' but holds values other than 0/1")
        return ColumnSpec(name, "boolean", dtype, rate, categories=(False, True))
    if not pdt.is_numeric_dtype(series.dtype) or pdt.is_complex_dtype(series.dtype):
        raise ValueError(f"column {name!r} has dtype {series.dtype}, which is not a table column type")
    values = present.to_numpy(dtype=np.float64)
    if not np.isfinite(values).all():
        raise ValueError(f"column {name!r} holds an infinite value; remove it first")
    kind = override or ("integer" if pdt.is_integer_dtype(series.dtype) else "continuous")
    if kind == "integer" and not np.all(values == np.round(values)):
        fraction = values[values != np.round(values)][0]
        raise ValueError(f"column {name!r} is typed 'integer' but holds fractions ({fraction})")
    if kind == "datetime":
        raise ValueError(f"column {name!r} holds numbers; type it 'continuous' or 'integer', not 'datetime'")
    return ColumnSpec(name, kind, dtype, rate, float(values.min()), float(values.max()))


def _categorical(name: str, series: Any, present: Any, dtype: str, rate: float, forced: bool) -> ColumnSpec:
    import pandas as pd

    counts = present.value_counts(sort=False)
    counts = counts[counts > 0]
    if isinstance(series.dtype, pd.CategoricalDtype):
        categories = tuple(c for c in series.cat.categories if c in counts.index)
        ordered = bool(series.cat.ordered)
    else:
        categories = tuple(sorted(counts.index.tolist(), key=lambda v: (str(type(v)), v)))
        ordered = False
    n = len(present)
    if not forced and len(categories) > ID_MIN_DISTINCT and len(categories) > n / 2:
        raise ValueError(f"column {name!r} looks like an identifier ({len(categories)} distinct values in {n} rows); "
                         f"drop it, or type it with column_types={{{name!r}: 'categorical'}} (CLI: --categorical) "
                         "to model it anyway")
    if len(categories) > MAX_CATEGORIES:
        raise ValueError(f"column {name!r} has {len(categories)} categories; at most {MAX_CATEGORIES} are modelled "
                         "(each is one dimension): group the rare ones first")
    rare = [c for c in categories if counts[c] == 1]
    if rare:
        shown = ", ".join(map(repr, rare[:5])) + (" ..." if len(rare) > 5 else "")
        warnings.warn(f"column {name!r}: {len(rare)} categor{'y' if len(rare) == 1 else 'ies'} seen in one row only "
                      f"({shown}); a sample that draws one copies that row's value", UserWarning, stacklevel=4)
    return ColumnSpec(name, "categorical", dtype, rate, categories=categories, ordered=ordered)


def infer_columns(frame: Any, column_types: dict[str, str] | None = None) -> list[ColumnSpec]:
    """The :class:`ColumnSpec` of every column of ``frame``, in order.

    Parameters
    ----------
    frame : pandas.DataFrame
        The training table (at least one row).
    column_types : dict, optional
        Column name -> type (:data:`COLUMN_TYPES`), overriding the inferred type.

    Returns
    -------
    list of ColumnSpec

    Raises
    ------
    ValueError
        A column that cannot be modelled (see the module docstring), a ``column_types`` key that names no column,
        or an unknown type.

    Warns
    -----
    UserWarning
        Categories seen in one row only.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"age": [31, 45, 31, 45], "smoker": [True, False, False, True],
    ...                       "city": ["Oslo", "Rome", "Oslo", "Rome"], "income": [50.5, None, 70.0, 61.0]})
    >>> [(c.name, c.kind, c.missing_rate) for c in infer_columns(frame)]
    [('age', 'integer', 0.0), ('smoker', 'boolean', 0.0), ('city', 'categorical', 0.0), ('income', 'continuous', 0.25)]
    >>> infer_columns(frame, {"age": "categorical"})[0].categories
    (31, 45)
    """
    overrides = dict(column_types or {})
    unknown = sorted(set(overrides) - {str(c) for c in frame.columns})
    if unknown:
        raise ValueError(f"column_types names no column of the table: {', '.join(map(repr, unknown))}; columns are "
                         f"{[str(c) for c in frame.columns]}")
    names = [str(c) for c in frame.columns]
    if len(set(names)) != len(names):
        dup = next(c for c in names if names.count(c) > 1)
        raise ValueError(f"the table names column {dup!r} twice")
    return [_infer_one(name, frame[col], overrides.get(name)) for name, col in zip(names, frame.columns)]
