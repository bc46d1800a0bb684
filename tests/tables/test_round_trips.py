"""Round trips that a review broke before they were fixed: dates of any year, object columns, labels, writers."""

import datetime as dt
import warnings

import numpy as np
import pytest

pd = pytest.importorskip("pandas")

from inertial_diffusion import InertialDiffusion  # noqa: E402
from inertial_diffusion.tables.encoder import TableEncoder  # noqa: E402


def _round_trip(frame):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        enc = TableEncoder().fit(frame)
    return enc.inverse_transform(enc.transform(frame), np.random.default_rng(0))


def test_dates_of_any_year_and_datetime_objects_keep_their_time():
    frame = pd.DataFrame({
        "end": [dt.date(9999, 12, 31), dt.date(2020, 1, 1), dt.date(1500, 1, 1), None] * 3,  # open-end sentinels
        "at": [dt.datetime(2020, 1, 1, 10, 5), dt.datetime(2021, 3, 3, 1, 2, 3), None, dt.datetime(2019, 1, 1)] * 3,
        "s": pd.Series(pd.to_datetime(["2500-01-01", "1900-01-01", "2000-06-06", None] * 3)).astype("datetime64[s]")})
    back = _round_trip(frame)
    for col in frame.columns:
        assert back[col].equals(frame[col]), col


def test_object_columns_of_booleans_numbers_and_spellings():
    frame = pd.DataFrame({"b": pd.Series([True, False, None, True] * 3, dtype=object),
                          "tf": ["False", "TRUE", "False", "TRUE"] * 3, 0: np.arange(12.0)})
    back = _round_trip(frame)
    assert back["b"].tolist() == frame["b"].tolist()
    assert back["tf"].tolist() == frame["tf"].tolist()  # the column's own spellings
    assert list(back.columns) == ["b", "tf", 0]  # an integer label stays an integer


def test_large_nullable_integers_are_read_exactly(tmp_path):
    from inertial_diffusion.io import load_data

    p = tmp_path / "big.csv"
    p.write_text(f"a,b\n{2**53 + 1},1.5\n,2.5\n3,3.5\n")
    assert load_data(p).frame["a"].tolist()[0] == 2**53 + 1


def test_per_class_samples_of_a_table_are_a_table_and_parts_keep_the_encoders_weights():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": np.r_[rng.normal(size=60), rng.normal(size=60) + 40.0],
                          "c": rng.choice(["a", "b"], 120)})
    y = np.repeat([0, 1], 60)
    model = InertialDiffusion(standardize="per_feature", random_state=0).fit(frame, y)
    X, labels = model.sample_per_class(5)
    assert isinstance(X, pd.DataFrame) and list(X.columns) == ["x", "c"] and labels.shape == (10,)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parts = InertialDiffusion(standardize="per_feature", categorical_weight=0.05, random_state=0).fit(frame)
    assert parts.component_models_ is not None
    for part in parts.component_models_:  # one global scale in each part: the one-hot columns are not re-scaled
        assert np.ndim(part.scale_) == 0


def test_parquet_blocks_keep_the_input_types_when_a_column_is_missing_in_a_block(tmp_path):
    import pyarrow.parquet as pq

    from inertial_diffusion.io import Dataset, open_writer

    frame = pd.DataFrame({"d": [dt.date(2020, 1, k + 1) for k in range(4)], "x": np.arange(4.0)})
    like = Dataset(None, columns=["d", "x"], frame=frame)
    with open_writer(tmp_path / "o.parquet", 4, 2, like=like) as writer:
        writer.write(pd.DataFrame({"d": [None, None], "x": [1.0, 2.0]}))  # 'd' all missing in the first block
        writer.write(frame.iloc[:2])
    back = pq.read_table(tmp_path / "o.parquet").to_pandas()
    assert back["d"].tolist()[2:] == frame["d"].tolist()[:2] and back["d"].isna().tolist()[:2] == [True, True]


def test_mixed_unit_tables_are_warned_about_under_one_global_scale():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"metres": rng.random(30), "grams": 1e5 * rng.random(30), "c": ["a", "b", "c"] * 10})
    with pytest.warns(UserWarning, match="standardize='per_feature'"):
        InertialDiffusion().fit(frame)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        InertialDiffusion(standardize="per_feature").fit(frame)
