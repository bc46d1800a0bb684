"""A table's columns as numbers for the posterior, and samples back as a table: :class:`TableEncoder`.

The encoding (fitted once, a pure and invertible description of the columns):

* **Numeric** columns (continuous, integer, datetime as days) are one coordinate each, centred on the column's
  mean; with ``scale_numeric`` (the estimator's ``standardize="per_feature"``) also divided by its standard
  deviation. The estimator then standardizes the whole encoded table with one global scale, as for any array.
* **Categorical and boolean** columns are one-hot blocks with entries ``0`` or ``u``, where
  :math:`u = \\text{weight}\\cdot s/\\sqrt2` and ``s`` is the RMS standard deviation of the numeric coordinates
  (1 when they are scaled, or when there are none): two rows that differ in one category are ``weight * s``
  apart, as far as rows one typical standard deviation apart in one numeric column.
* **Missing values**: a categorical column with missing values gets one more state in its block ("missing"); a
  numeric one gets an indicator coordinate ``0``/``u`` beside its value (imputed with the mean).

Decoding a sample (:meth:`TableEncoder.inverse_transform`):

* a numeric coordinate is mapped back, **clipped to the column's training range** (as ForestDiffusion and SDV do by
  default: a sample never leaves the range of what was seen), rounded for integer columns, to days for date columns
  and to the training values' resolution (a second, or a microsecond) for datetimes, and cast to the column's dtype;
* a one-hot block read off a sample sums to 1 (every training row's block does, and both the posterior-mean and the
  moment-matched steps are affine combinations of training rows with weights summing to 1): its entries over ``u``,
  clipped at 0 and renormalized, are the probabilities of a **draw of the category**. For the posterior-mean step
  they are exactly the posterior's category probabilities :math:`P(\\text{category} \\mid z)`. A draw, not the most
  probable category: the argmax would give every region its majority category and erase the rare ones;
* an indicator's value over ``u`` (clipped to [0, 1]) is the probability that the sample's value is missing.

The draws take the caller's ``numpy.random.Generator``: same seed, same table.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from inertial_diffusion.tables.columns import ColumnSpec, datetime_days, infer_columns

__all__ = ["TableEncoder", "DEFAULT_CATEGORICAL_WEIGHT", "is_dataframe"]

#: Distance between two categories of a column, in typical standard deviations of the numeric columns.
DEFAULT_CATEGORICAL_WEIGHT = 1.0
_MISSING = object()


def is_dataframe(X: Any) -> bool:
    """Whether ``X`` is a pandas DataFrame (checked without importing pandas).

    Parameters
    ----------
    X : object
        Any input of ``fit``.

    Returns
    -------
    bool

    Examples
    --------
    >>> is_dataframe([[1.0]])
    False
    """
    return type(X).__name__ == "DataFrame" and type(X).__module__.startswith("pandas")


class TableEncoder:
    """Encode a typed table into a float matrix for the posterior, and decode samples into a table alike.

    Parameters
    ----------
    column_types : dict, optional
        Column name -> type (see :mod:`~inertial_diffusion.tables.columns`), overriding the inferred types.
    categorical_weight : float, default 1.0
        Distance between two categories, in typical standard deviations of the numeric columns.
    scale_numeric : bool, default False
        Divide each numeric column by its standard deviation (the estimator's ``standardize="per_feature"``).

    Attributes
    ----------
    columns_ : list of ColumnSpec
        The columns, in order.
    feature_names_out_ : list of str
        Names of the encoded coordinates (``"city=Oslo"``, ``"income"``, ``"income (missing)"``, ...).
    unit_ : float
        The value ``u`` of a one-hot entry.
    spread_ratio_ : float
        Largest over smallest standard deviation of the numeric columns (a table of mixed units when large: the
        estimator warns under one global scale).
    discrete_mask_ : ndarray of bool
        The encoded coordinates that are codes (one-hot entries and missing-value indicators): the estimator draws
        them from one posterior row (:func:`~inertial_diffusion.core.inertia.inertia_step`'s ``discrete``), so a
        sample's codes are always those of a real row.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> frame = pd.DataFrame({"n": [1, 2, 4, 3], "ok": [True, False, True, False],
    ...                       "city": ["Oslo", "Rome", "Oslo", "Rome"]})
    >>> enc = TableEncoder().fit(frame)
    >>> enc.feature_names_out_
    ['n', 'ok=False', 'ok=True', 'city=Oslo', 'city=Rome']
    >>> back = enc.inverse_transform(enc.transform(frame), np.random.default_rng(0))
    >>> back.equals(frame), (back.dtypes == frame.dtypes).all()  # encoded rows decode to themselves, dtypes kept
    (True, np.True_)
    """

    def __init__(self, column_types: dict[str, str] | None = None,
                 categorical_weight: float = DEFAULT_CATEGORICAL_WEIGHT, scale_numeric: bool = False) -> None:
        self.column_types = column_types
        self.categorical_weight = categorical_weight
        self.scale_numeric = scale_numeric

    # ------------------------------------------------------------------------------------------------ fit
    def fit(self, frame: Any) -> "TableEncoder":
        """Read the columns' types, ranges, categories and missing rates.

        Parameters
        ----------
        frame : pandas.DataFrame
            The training table.

        Returns
        -------
        self : TableEncoder

        Raises
        ------
        ValueError
            A column that cannot be modelled (:func:`~inertial_diffusion.tables.columns.infer_columns`), or a bad
            ``categorical_weight``.
        """
        if not (isinstance(self.categorical_weight, (int, float)) and 0 < self.categorical_weight < math.inf):
            raise ValueError(f"categorical_weight must be a positive number, got {self.categorical_weight!r}")
        self.columns_ = infer_columns(frame, self.column_types)
        self.labels_ = list(frame.columns)
        self.dtypes_ = {spec.name: frame[col].dtype for spec, col in zip(self.columns_, frame.columns)}
        self.centre_: dict[str, float] = {}
        self.spread_: dict[str, float] = {}
        for spec, col in zip(self.columns_, frame.columns):
            if spec.numeric:
                values = self._numbers(spec, frame[col])
                self.centre_[spec.name] = float(np.nanmean(values))
                sd = float(np.nanstd(values))
                self.spread_[spec.name] = sd if (self.scale_numeric and sd > 0) else 1.0
        numeric = [s for s in self.columns_ if s.numeric]
        if numeric and not self.scale_numeric:
            sds = [float(np.nanstd(self._numbers(s, frame[c]))) for s, c in zip(self.columns_, frame.columns)
                   if s.numeric]
            reference = math.sqrt(float(np.mean(np.square(sds))))
        else:
            reference = 1.0
        self.unit_ = float(self.categorical_weight) * (reference if reference > 0 else 1.0) / math.sqrt(2.0)
        spreads = [float(np.nanstd(self._numbers(s, frame[c]))) for s, c in zip(self.columns_, frame.columns)
                   if s.numeric]
        spreads = [v for v in spreads if v > 0]
        self.spread_ratio_ = max(spreads) / min(spreads) if len(spreads) > 1 else 1.0
        self.feature_names_out_ = [name for spec in self.columns_ for name in self._names(spec)]
        self.discrete_mask_ = np.array([not spec.numeric or k > 0 for spec in self.columns_
                                        for k in range(len(self._names(spec)))], dtype=bool)
        return self

    @staticmethod
    def _numbers(spec: ColumnSpec, series: Any) -> np.ndarray:
        if spec.kind == "datetime":
            return datetime_days(series)
        return series.to_numpy(dtype=np.float64, na_value=np.nan)

    @staticmethod
    def _states(spec: ColumnSpec) -> list:
        return list(spec.categories) + ([_MISSING] if spec.has_missing else [])

    def _names(self, spec: ColumnSpec) -> list[str]:
        if spec.numeric:
            return [spec.name] + ([f"{spec.name} (missing)"] if spec.has_missing else [])
        return [f"{spec.name}=missing" if s is _MISSING else f"{spec.name}={s}" for s in self._states(spec)]

    # ------------------------------------------------------------------------------------------------ encode
    def transform(self, frame: Any) -> np.ndarray:
        """The encoded matrix of a table with the fitted columns.

        Parameters
        ----------
        frame : pandas.DataFrame
            Rows with the training table's columns, in any order.

        Returns
        -------
        ndarray of shape (n, len(feature_names_out_)), float64

        Raises
        ------
        ValueError
            A missing column, a category not seen at ``fit``, or a missing value where the training column had none.
        """
        names = [str(c) for c in frame.columns]
        absent = [s.name for s in self.columns_ if s.name not in names]
        if absent:
            raise ValueError(f"the table lacks column(s) {', '.join(map(repr, absent))} seen at fit")
        blocks = []
        for spec in self.columns_:
            series = frame[frame.columns[names.index(spec.name)]]
            missing = series.isna().to_numpy()
            if missing.any() and not spec.has_missing:
                raise ValueError(f"column {spec.name!r} has a missing value (row {int(np.argmax(missing))}) but had "
                                 "none at fit")
            if spec.numeric:
                values = (self._numbers(spec, series) - self.centre_[spec.name]) / self.spread_[spec.name]
                block = [np.where(missing, 0.0, values)]
                if spec.has_missing:
                    block.append(self.unit_ * missing)
                blocks.append(np.column_stack(block))
                continue
            states = self._states(spec)
            index = np.full(len(series), len(states) - 1)  # the missing state, where there is one
            values = series.to_numpy(dtype=object)
            lookup = {self._key(spec, s): k for k, s in enumerate(states) if s is not _MISSING}
            for r in np.flatnonzero(~missing):
                key = self._key(spec, values[r])
                if key not in lookup:
                    raise ValueError(f"column {spec.name!r} has the value {values[r]!r} (row {r}), not seen at fit")
                index[r] = lookup[key]
            onehot = np.zeros((len(series), len(states)))
            onehot[np.arange(len(series)), index] = self.unit_
            blocks.append(onehot)
        return np.hstack(blocks) if blocks else np.empty((len(frame), 0))

    @staticmethod
    def _key(spec: ColumnSpec, value: Any) -> Any:
        if spec.kind == "boolean":
            if spec.bool_text:  # any spelling of a value is that value: the states are its two spellings
                return spec.categories[int(str(value).strip().lower() == "true")]
            return bool(value)
        return value

    # ------------------------------------------------------------------------------------------------ decode
    def inverse_transform(self, Z: np.ndarray, rng: np.random.Generator) -> Any:
        """Decode encoded samples into a table with the training columns, order, dtypes and categories.

        Parameters
        ----------
        Z : ndarray of shape (m, len(feature_names_out_))
            Samples in the encoded coordinates (data units, after the estimator's un-standardization).
        rng : numpy.random.Generator
            Draws the categories and the missing values (see the module docstring).

        Returns
        -------
        pandas.DataFrame
        """
        import pandas as pd

        Z = np.asarray(Z, dtype=np.float64)
        out: dict[str, Any] = {}
        j = 0
        for spec in self.columns_:
            width = len(self._names(spec))
            block, j = Z[:, j:j + width], j + width
            out[spec.name] = (self._decode_numeric(spec, block, rng) if spec.numeric
                              else self._decode_states(spec, block, rng))
        frame = pd.DataFrame(out, columns=[s.name for s in self.columns_])
        frame.columns = self.labels_  # the training table's own labels (integers stay integers)
        return frame

    def _draw_missing(self, probability: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return rng.random(probability.shape[0]) < np.clip(probability, 0.0, 1.0)

    def _decode_numeric(self, spec: ColumnSpec, block: np.ndarray, rng: np.random.Generator) -> Any:
        import pandas as pd

        values = np.clip(block[:, 0] * self.spread_[spec.name] + self.centre_[spec.name], spec.low, spec.high)
        missing = (self._draw_missing(block[:, 1] / self.unit_, rng) if spec.has_missing
                   else np.zeros(len(values), bool))
        dtype = self.dtypes_[spec.name]
        if spec.kind == "datetime":
            # whole units of the column's resolution (days, seconds or microseconds): exact, and any year
            unit = "D" if spec.resolution >= 86400.0 else ("s" if spec.resolution >= 1.0 else "us")
            ticks = np.round(values * (86400.0 / {"D": 86400.0, "s": 1.0, "us": 1e-6}[unit])).astype(np.int64)
            stamps = ticks.astype(f"datetime64[{unit}]")
            if str(dtype) == "object":  # datetime.date (or datetime.datetime) objects
                objects = stamps.astype(object)
                return pd.Series([None if m else v for v, m in zip(objects, missing)], dtype=object)
            series = pd.Series(stamps.astype("datetime64[s]" if unit == "D" else stamps.dtype))
            series[missing] = pd.NaT
            tz = getattr(dtype, "tz", None)
            if tz is not None:
                return series.dt.tz_localize("UTC").dt.tz_convert(tz).astype(dtype)
            return series.astype(dtype)
        if spec.kind == "integer":
            series = pd.Series(np.round(values)).astype("Int64")
            series[missing] = pd.NA
            return series.astype(object if str(dtype) == "object" else dtype)  # an object column: Python ints
        series = pd.Series(values)
        if missing.any():
            series = series.astype("Float64" if str(dtype)[0] == "F" else "float64")
            series[missing] = np.nan
        return series.astype(dtype)

    def _decode_states(self, spec: ColumnSpec, block: np.ndarray, rng: np.random.Generator) -> Any:
        import pandas as pd

        states = self._states(spec)
        p = np.clip(block / self.unit_, 0.0, None)
        total = p.sum(axis=1)
        flat = total <= 0  # cannot happen for affine combinations of training rows; the argmax then
        p[flat] = np.eye(len(states))[np.argmax(block[flat], axis=1)]
        p /= np.where(flat, 1.0, total)[:, None]
        uniform = np.asarray(rng.random(size=(p.shape[0], 1)))
        choice = (uniform > np.cumsum(p, axis=1)).sum(axis=1).clip(max=len(states) - 1)
        values = np.array([states[int(k)] for k in choice], dtype=object)
        missing = np.array([v is _MISSING for v in values])
        values[missing] = None
        dtype = self.dtypes_[spec.name]
        if spec.kind == "boolean":
            if spec.bool_text:  # the states are the column's own spellings
                series = pd.Series(values, dtype=object)
                try:
                    return series.astype(dtype)
                except (TypeError, ValueError):
                    return series
            return pd.Series(values, dtype=dtype if not missing.any() or str(dtype) != "bool" else "boolean")
        series = pd.Series(values, dtype=object)
        if isinstance(dtype, pd.CategoricalDtype):
            return pd.Series(pd.Categorical(series, dtype=dtype))
        try:
            return series.astype(dtype)
        except (TypeError, ValueError):  # e.g. an integer code column typed categorical, with a missing value
            return series
