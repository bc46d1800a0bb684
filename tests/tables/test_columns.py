"""Column types read off a DataFrame, and the tables that are refused by name."""

import datetime as dt
import warnings

import numpy as np
import pytest

pd = pytest.importorskip("pandas")

from inertial_diffusion.tables.columns import ID_MIN_DISTINCT, infer_columns  # noqa: E402


def _kinds(frame, **overrides):
    return {c.name: c.kind for c in infer_columns(frame, overrides or None)}


def test_each_dtype_gets_its_type():
    frame = pd.DataFrame({
        "f": [0.5, 1.5, 2.0, 3.0], "i": [1, 2, 3, 4], "ni": pd.array([1, None, 3, 4], dtype="Int64"),
        "b": [True, False, True, False], "nb": pd.array([True, None, False, True], dtype="boolean"),
        "t": ["x", "y", "x", "y"], "c": pd.Categorical(["a", "b", "a", "b"], categories=["b", "a", "z"]),
        "d": pd.to_datetime(["2020-01-01", "2020-02-01", "2020-03-01", "2020-04-01"]),
        "dates": [dt.date(2020, 1, k) for k in (1, 2, 3, 4)], "tf": ["true", "False", "TRUE", "false"]})
    specs = {c.name: c for c in infer_columns(frame)}
    assert {k: v.kind for k, v in specs.items()} == {
        "f": "continuous", "i": "integer", "ni": "integer", "b": "boolean", "nb": "boolean", "t": "categorical",
        "c": "categorical", "d": "datetime", "dates": "datetime", "tf": "boolean"}
    assert specs["ni"].missing_rate == 0.25 and specs["f"].missing_rate == 0
    assert specs["c"].categories == ("b", "a") and specs["d"].date_only and specs["dates"].date_only
    assert (specs["i"].low, specs["i"].high) == (1.0, 4.0)


def test_overrides_and_their_errors():
    frame = pd.DataFrame({"zip": [1000, 2000, 1000, 3000], "x": [0.1, 0.2, 0.3, 0.4]})
    assert _kinds(frame, zip="categorical")["zip"] == "categorical"
    with pytest.raises(ValueError, match="names no column.*'nope'"):
        infer_columns(frame, {"nope": "categorical"})
    with pytest.raises(ValueError, match="expected one of"):
        infer_columns(frame, {"zip": "text"})
    with pytest.raises(ValueError, match="'x' is typed 'integer' but holds fractions"):
        infer_columns(frame, {"x": "integer"})


@pytest.mark.parametrize("column,match", [
    ([None, None, None, None], "'c' has no values"),
    (["1.5", "abc", "2", "x"], "'c' mixes numbers .* and text"),
    ([{"a": 1}, {"b": 2}, {"a": 1}, {"b": 2}], "'c' holds dict values"),
])
def test_columns_that_cannot_be_modelled_are_refused_by_name(column, match):
    with pytest.raises(ValueError, match=match):
        infer_columns(pd.DataFrame({"c": column, "y": [1.0, 2.0, 3.0, 4.0]}))


def test_an_identifier_column_is_refused_unless_typed():
    n = 4 * ID_MIN_DISTINCT
    frame = pd.DataFrame({"id": [f"row{k}" for k in range(n)], "x": np.arange(n, dtype=float)})
    with pytest.raises(ValueError, match="'id' looks like an identifier .* drop it, or type it"):
        infer_columns(frame)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # every category is seen once
        assert _kinds(frame, id="categorical")["id"] == "categorical"
    mixed = pd.DataFrame({"c": ["1.5", "abc", "2", "x"]})
    assert _kinds(mixed, c="categorical")["c"] == "categorical"  # typed: mixed values are categories


def test_a_category_seen_once_is_kept_with_a_warning():
    frame = pd.DataFrame({"c": ["a", "a", "b", "a"], "x": [1.0, 2.0, 3.0, 4.0]})
    with pytest.warns(UserWarning, match="'c': 1 category seen in one row only \\('b'\\)"):
        assert infer_columns(frame)[0].categories == ("a", "b")
