"""Options for the data users bring: per-feature scaling, isolated points, copies, extreme bandwidths,
labels with missing values, pandas nullable columns."""

import warnings

import numpy as np
import torch
import pytest

from inertial_diffusion import EmpiricalDiffusion, InertialDiffusion
from inertial_diffusion.core.process import alpha, variance
from inertial_diffusion.evaluation.datasets import Sphere

X3 = Sphere(2, 3, random_state=0).sample(400, random_state=1)


# ------------------------------------------------------------------ standardization modes
def test_per_feature_scaling_is_equivariant_column_by_column():
    """fit on X diag(s) + b gives samples diag(s) + b (same seed), for scales 1e-3 .. 1e3 per column."""
    s, b = np.array([1e-3, 1.0, 1e3]), np.array([5.0, -2.0, 1e4])
    kw = dict(standardize="per_feature", intrinsic_dim=2, random_state=0)
    S = InertialDiffusion(**kw).fit(X3).sample(200)
    S_scaled = InertialDiffusion(**kw).fit(X3 * s + b).sample(200)
    np.testing.assert_allclose(S_scaled, S * s + b, rtol=1e-9, atol=1e-9 * np.abs(b).max())


def test_per_feature_differs_from_global_where_units_differ_and_agrees_where_they_do_not():
    Y = X3 * np.array([1.0, 1.0, 100.0])
    g = InertialDiffusion(standardize="global", intrinsic_dim=2).fit(Y)
    p = InertialDiffusion(standardize="per_feature", intrinsic_dim=2).fit(Y)
    assert np.ndim(g.scale_) == 0 and p.scale_.shape == (3,)
    np.testing.assert_allclose(p.scale_, Y.std(axis=0), rtol=1e-12)
    # isotropic data: per-feature scales are all equal up to sampling noise, the global one is their rss
    iso = InertialDiffusion(standardize="per_feature", intrinsic_dim=2).fit(X3)
    assert np.ptp(iso.scale_) / iso.scale_.mean() < 0.1


@pytest.mark.parametrize("mode", [True, "global", False, "none"])
def test_boolean_and_named_modes_agree(mode):
    named = {True: "global", False: "none"}.get(mode, mode)
    a = InertialDiffusion(standardize=mode, bandwidth=0.2, random_state=0).fit(X3).sample(20)
    b = InertialDiffusion(standardize=named, bandwidth=0.2, random_state=0).fit(X3).sample(20)
    np.testing.assert_array_equal(a, b)


def test_constant_column_keeps_its_value_under_per_feature_scaling():
    Y = np.c_[X3, np.full(len(X3), 7.0)]
    S = InertialDiffusion(standardize="per_feature", intrinsic_dim=2, random_state=0).fit(Y).sample(50)
    np.testing.assert_allclose(S[:, 3], 7.0)


# ------------------------------------------------------------------ isolated points and copies
def _with_outliers(k=10):
    rng = np.random.default_rng(5)
    far = rng.normal(size=(k, 3))
    far = 8.0 * far / np.linalg.norm(far, axis=1, keepdims=True) * (1 + np.arange(k)[:, None])
    return np.r_[Sphere(2, 3, random_state=0).sample(2000, random_state=1), far]


def test_isolated_points_are_counted_and_warned_about():
    X = np.r_[_with_outliers()[:490], _with_outliers()[-10:]]
    with pytest.warns(UserWarning, match="isolated"):
        model = InertialDiffusion(intrinsic_dim=2, random_state=0).fit(X)
    Z = torch.as_tensor(model.standardizer_.transform(X))
    a, v = alpha(model.h_), variance(model.h_)
    own = torch.softmax(-torch.cdist(a * Z, a * Z) ** 2 / (2 * v), dim=1).diagonal()  # dense: each row's own weight
    assert model.n_isolated_ == int((own >= 0.99).sum()) >= 8  # every row probed (n <= 512): exact
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no outliers, no warning
        assert InertialDiffusion(intrinsic_dim=2).fit(X[:490]).n_isolated_ == 0
    # beyond 512 rows, an estimate from a 512-row probe (the log-sum-exp alone: a fit costs less than a sample)
    X = _with_outliers(100)
    with pytest.warns(UserWarning, match="about .* of 2100"):
        estimate = InertialDiffusion(intrinsic_dim=2, random_state=0).fit(X).n_isolated_
    p = 100 / 2100
    assert abs(estimate - 100) <= 4 * 2100 * np.sqrt(p * (1 - p) / 512)


def test_exclude_copies_removes_the_copies_of_isolated_points():
    X = _with_outliers()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        model = InertialDiffusion(intrinsic_dim=2, random_state=0).fit(X)

    def copies(S):
        d = np.sqrt(((S[:, None, :] - X[None]) ** 2).sum(-1)).min(axis=1)
        return int((d < 1e-6 * model.scale_).sum())
    plain = model.sample(4000, random_state=1)
    assert copies(plain) > 0  # the outliers are returned as copies
    cleaned = model.sample(4000, random_state=1, exclude_copies=True)
    assert copies(cleaned) == 0 and cleaned.shape == plain.shape
    with pytest.raises(ValueError, match="memorizes"):
        EmpiricalDiffusion  # the empirical model has no exclude_copies; a memorizing IDM bandwidth says so:
        InertialDiffusion(bandwidth=1e-4).fit(X[:50]).sample(10, exclude_copies=True)


# ------------------------------------------------------------------ extreme bandwidths: finite or refused
@pytest.mark.parametrize("params", [dict(bandwidth=30.0, inertia="paper"), dict(bandwidth=5.0, inertia="paper"),
                                    dict(bandwidth=1e-155), dict(bandwidth=1e-300), dict(bandwidth_scale=1e-200)])
def test_extreme_bandwidths_are_refused_with_one_line(params):
    with pytest.raises(ValueError, match="sigma") as info:
        InertialDiffusion(**params).fit(X3)
    assert "\n" not in str(info.value)


def test_limits_of_the_bandwidth_are_computed_correctly():
    tiny = InertialDiffusion(bandwidth=1e-40, random_state=0).fit(X3).sample(50)
    d = np.abs(tiny[:, None, :] - X3[None]).max(-1).min(1)
    assert d.max() < 1e-12  # tiny sigma returns training points
    huge = InertialDiffusion(bandwidth=40.0, random_state=0).fit(X3).sample(50)  # h = 1600: alpha_h = 0
    np.testing.assert_allclose(huge, np.broadcast_to(X3.mean(0), huge.shape), atol=1e-12)


# ------------------------------------------------------------------ labels and pandas
@pytest.mark.parametrize("y", [np.r_[np.nan, np.zeros(399)], np.array([None] + ["a"] * 399, dtype=object)])
def test_missing_labels_are_named(y):
    with pytest.raises(ValueError, match="missing label"):
        InertialDiffusion(bandwidth=0.3).fit(X3, y)


def test_pandas_nullable_columns_are_numeric_and_na_is_a_missing_value():
    """A DataFrame is a table (inertial_diffusion.tables): nullable columns keep their dtype, NA is a missing value
    sampled at its rate, and text is a categorical column (no longer refused)."""
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(X3, columns=list("abc")).astype("Float64")
    df["d"] = pd.array(np.arange(len(df)) % 3, dtype="Int64")
    model = InertialDiffusion(bandwidth=0.3, random_state=0).fit(df)
    S = model.sample(5)
    assert S.shape == (5, 4) and list(S.dtypes.astype(str)) == ["Float64"] * 3 + ["Int64"]
    df.loc[3, "a"] = pd.NA
    S = InertialDiffusion(bandwidth=0.3, random_state=0).fit(df).sample(4000)
    assert 0 < S["a"].isna().sum() < 0.05 * len(S)  # one row of 60 missing: about 1.7 %
    text = InertialDiffusion(bandwidth=0.3).fit(pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": ["x", "y", "x"]}))
    assert set(text.sample(20).b) <= {"x", "y"}


# ------------------------------------------------------------------ ambient noise: the default dimension
def test_noisy_sphere_keeps_its_error_free_of_the_ambient_dimension():
    """S^2 with noise 0.005 per coordinate: at the nearest-neighbour scale (TwoNN) the noise reads as
    dimensions as D grows; the default estimate at the kernel's scale keeps d and the error flat in D."""
    from inertial_diffusion.evaluation.metrics import wasserstein1

    rows = []
    for D in (3, 300):
        sphere = Sphere(2, D, random_state=0)
        X = sphere.sample(1000, random_state=1) + 0.005 * np.random.default_rng(2).normal(size=(1000, D))
        model = InertialDiffusion(random_state=0).fit(X)
        assert 1.5 <= model.intrinsic_dim_ <= 3.0 and model.components_ is None
        rows.append(wasserstein1(model.sample(1000), sphere.sample(1000, random_state=3)))
        if D == 300:  # the old default, for contrast: TwoNN reads the noise as dimensions
            assert InertialDiffusion(dim_method="twonn").fit(X).intrinsic_dim_ > 5
    assert rows[1] <= 1.2 * rows[0], rows


# ------------------------------------------------------------------ found in review
def test_a_separated_clump_of_identical_rows_does_not_break_fit():
    rng = np.random.default_rng(0)
    X = np.r_[rng.normal(size=(300, 3)), np.full((40, 3), 50.0)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        model = InertialDiffusion(random_state=0).fit(X)
    assert model.components_ is None and np.isfinite(model.sample(20)).all()


def test_exclude_copies_keeps_the_checks_of_sample():
    model = InertialDiffusion(bandwidth=0.3, random_state=0).fit(X3)
    with pytest.raises(ValueError, match="fitted without labels"):
        model.sample(3, y=1, exclude_copies=True)
    with pytest.raises(TypeError, match="n_samples"):
        model.sample(2.5, exclude_copies=True)


def test_per_feature_constant_column_has_scale_one_on_every_path():
    from inertial_diffusion.core.standardize import Standardizer

    Y = np.c_[X3, np.full(len(X3), 5.0)]
    fitted = Standardizer.fit(Y, "per_feature")
    moments = Standardizer.from_moments(Y.mean(0), Y.var(0), "per_feature")
    assert fitted.scale[-1] == moments.scale[-1] == 1.0
    np.testing.assert_allclose(fitted.scale, moments.scale, rtol=1e-12)
    with pytest.raises(ValueError, match="standardize must be"):
        Standardizer.from_moments(Y.mean(0), Y.var(0), "bogus")


def test_baselines_refuse_dask_arrays_with_a_clear_message():
    da = pytest.importorskip("dask.array")
    from inertial_diffusion import AmbientKDE, SmoothedCFDM

    for model in (AmbientKDE(bandwidth=0.3), SmoothedCFDM(bandwidth=0.3)):
        with pytest.raises(ValueError, match="in-memory"):
            model.fit(da.from_array(X3, chunks=(100, 3)))


def test_data_of_extreme_magnitude_are_standardized_or_refused_never_inf():
    """1e+-300 data standardize exactly (the squares are taken after dividing by max|x|); a spread beyond
    float64 is refused with a message, never an infinite scale that maps every row to 0."""
    from inertial_diffusion.core.standardize import Standardizer

    X = np.random.default_rng(0).normal(size=(50, 3))
    for factor in (1e-300, 1e300):
        fitted = Standardizer.fit(X * factor)
        assert fitted.scale / factor == pytest.approx(Standardizer.fit(X).scale, rel=1e-12)
    with pytest.raises(ValueError, match="overflows float64"):
        Standardizer.fit(np.array([[-1.5e308, -1.5e308], [1.5e308, 1.5e308]]))


@pytest.mark.parametrize("mode", ["global", "per_feature"])
def test_streamed_standardization_spans_many_cache_sized_blocks_exactly(mode):
    """Wide rows make blocks of 64 rows: the three streamed passes, the blocked transform and the blocked
    half squared norms equal the one-shot float64 computation on every row, the last partial block included."""
    import torch

    from inertial_diffusion.backends.local import half_sq_norms
    from inertial_diffusion.core.standardize import Standardizer, block_rows_for

    rng = np.random.default_rng(3)
    dim = 9000
    X = (rng.normal(size=(203, dim)) * rng.uniform(0.5, 2, dim) + 7).astype(np.float32)
    assert block_rows_for(dim) == 64 and X.shape[0] % 64  # several blocks and a partial last one
    fitted = Standardizer.fit(X, mode)
    X64 = X.astype(np.float64)
    np.testing.assert_allclose(fitted.mean, X64.mean(0), rtol=1e-12)
    spread = X64.std(0) if mode == "per_feature" else np.sqrt(((X64 - X64.mean(0)) ** 2).sum(1).mean())
    np.testing.assert_allclose(fitted.scale, spread, rtol=1e-10)
    out = fitted.transform_into(X, np.empty(X.shape, dtype=np.float32))
    np.testing.assert_array_equal(out, fitted.transform(X).astype(np.float32))
    norms = half_sq_norms(torch.from_numpy(out), torch.device("cpu"))
    np.testing.assert_allclose(norms.numpy(), 0.5 * (out.astype(np.float64) ** 2).sum(1), rtol=1e-13)


def test_constant_columns_of_inexact_values_have_exactly_no_spread():
    """0.1 is not exact in binary: block means of 0.1s round, and that rounding must not become a spread. Identical
    rows are refused as such (never a 1e-15 scale), and a constant 0.1 column keeps per-feature scale 1."""
    from inertial_diffusion.core.standardize import Standardizer

    with pytest.raises(ValueError, match="identical"):
        Standardizer.fit(np.tile([0.1, 0.7], (10000, 1)))
    X = np.c_[np.random.default_rng(0).normal(size=(10000, 2)), np.full(10000, 0.1)]
    assert Standardizer.fit(X, "per_feature").scale[-1] == 1.0
    with pytest.raises(ValueError, match="identical"):
        InertialDiffusion().fit(np.tile([0.3, 0.7, 1.1], (500, 1)))
