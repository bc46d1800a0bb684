import warnings

import numpy as np
import pytest
from imblearn.over_sampling import RandomOverSampler
from imblearn.pipeline import make_pipeline
from sklearn.linear_model import LogisticRegression

from inertial_diffusion import InertialDiffusion
from inertial_diffusion.estimators.oversampling import InertialOversampler


def _clusters(sizes=(200, 40, 15), seed=0):
    rng = np.random.default_rng(seed)
    X = np.vstack([rng.normal(size=(k, 4)) * 0.5 + 10.0 * i for i, k in enumerate(sizes)])
    y = np.repeat(np.array(["a", "b", "c"])[: len(sizes)], sizes)
    return X, y


def test_class_conditional_sampling_stays_in_its_class():
    X, y = _clusters()
    model = InertialDiffusion(random_state=0).fit(X, y)
    assert set(model.class_models_) == {"a", "b", "c"}
    for i, label in enumerate(["a", "b", "c"]):
        S = model.sample(100, y=label)
        assert np.abs(S.mean(axis=1) - 10.0 * i).max() < 3.0
        # each class has its own bandwidth from its own size
        assert model.class_models_[label].bandwidth_ == pytest.approx(
            (y == label).sum() ** (-1 / (model.intrinsic_dim_ + 4)))
    Xs, ys = model.sample_per_class(10)
    assert Xs.shape == (30, 4) and sorted(set(ys)) == ["a", "b", "c"]
    S = model.sample(300, random_state=1)  # mixture over classes by size
    assert (np.abs(S.mean(axis=1)) < 3).mean() > 0.6
    np.testing.assert_array_equal(model.sample(20, random_state=4, y="b"), model.sample(20, random_state=4, y="b"))


def test_class_conditional_errors():
    X, y = _clusters()
    model = InertialDiffusion().fit(X, y)
    with pytest.raises(ValueError, match="unknown class 'z'"):
        model.sample(3, y="z")
    y1 = y.astype(object)
    y1[0] = "lonely"
    with pytest.warns(UserWarning, match="'lonely' \\(1 row\\)"):
        lonely = InertialDiffusion(random_state=0).fit(X, y1)  # only a request for the one-row class fails
    with pytest.raises(ValueError, match="class 'lonely' has 1 row only"):
        lonely.sample(2, y="lonely")
    assert lonely.sample(3, y="a").shape == (3, 4) and set(lonely.sample_per_class(2)[1]) == {"a", "b", "c"}
    with pytest.raises(ValueError, match="every class has fewer than 2 rows"):
        InertialDiffusion(bandwidth=0.3).fit(X[:3], ["u", "v", "w"])
    with pytest.raises(ValueError, match="one label per row"):
        InertialDiffusion().fit(X, y[:-1])
    with pytest.raises(ValueError, match="fitted without labels"):
        InertialDiffusion().fit(X).sample(3, y="a")


@pytest.mark.parametrize("strategy", ["auto", "minority", "all", {"b": 120, "c": 60}])
def test_oversampler_counts_follow_imbalanced_learn(strategy):
    X, y = _clusters()
    Xr, yr = InertialOversampler(sampling_strategy=strategy, random_state=0).fit_resample(X, y)
    _, yref = RandomOverSampler(sampling_strategy=strategy, random_state=0).fit_resample(X, y)
    assert sorted(zip(*np.unique(yr, return_counts=True))) == sorted(zip(*np.unique(yref, return_counts=True)))
    np.testing.assert_array_equal(Xr[: len(X)], X)  # originals kept, new rows appended
    new = Xr[len(X):]
    assert not any(np.any(np.all(np.isclose(new[:, None], X[None]), axis=2), axis=1))  # no copies


def test_oversampler_in_a_pipeline_raises_minority_recall():
    """Overlapping classes, 600 vs 20 rows: a plain logistic regression almost never predicts the minority;
    rebalancing with IDM samples inside an imblearn Pipeline raises its held-out recall."""
    from sklearn.metrics import recall_score

    def draw(n_major, n_minor, seed):
        rng = np.random.default_rng(seed)
        X = np.vstack([rng.normal(size=(n_major, 2)), rng.normal(size=(n_minor, 2)) + [1.5, 1.5]])
        return X, np.repeat(["major", "minor"], [n_major, n_minor])
    X, y = draw(600, 20, 0)
    X_test, y_test = draw(3000, 3000, 1)
    plain = LogisticRegression().fit(X, y)
    pipe = make_pipeline(InertialOversampler(random_state=0), LogisticRegression()).fit(X, y)
    recall = [recall_score(y_test, m.predict(X_test), pos_label="minor") for m in (plain, pipe)]
    assert recall[0] < 0.3 and recall[1] > recall[0] + 0.3, recall


def test_oversampler_small_classes():
    X, y = _clusters(sizes=(100, 3))
    with pytest.warns(UserWarning, match="'b' \\(3 rows\\).*k_min=5"):
        InertialOversampler(random_state=0).fit_resample(X, y)
    X1, y1 = _clusters(sizes=(100, 1))
    with pytest.raises(ValueError, match="'b' \\(1 row\\)"):
        InertialOversampler().fit_resample(X1, y1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        InertialOversampler(k_min=3, random_state=0).fit_resample(X, y)


def test_sample_mixture_mixes_any_generator_and_passes_the_callback_when_given():
    """Counts follow the sizes; a model whose ``sample`` has no ``callback`` (AmbientKDE) can be mixed."""
    from inertial_diffusion import AmbientKDE
    from inertial_diffusion.estimators.conditional import sample_mixture

    rng = np.random.default_rng(0)
    near = AmbientKDE(bandwidth=0.1).fit(rng.normal(size=(30, 2)))
    far = InertialDiffusion(bandwidth=0.1).fit(rng.normal(size=(30, 2)) + 100.0)
    S = sample_mixture([near, far], [1, 3], 2000, random_state=0)
    assert S.shape == (2000, 2) and abs(np.mean(S[:, 0] > 50) - 0.75) < 0.05
    np.testing.assert_array_equal(S, sample_mixture([near, far], [1, 3], 2000, random_state=0))
    seen = []
    simulated = InertialDiffusion(bandwidth=0.1, sampler="sde", n_steps=3).fit(rng.normal(size=(30, 2)))
    sample_mixture([simulated, simulated], [1, 1], 10, random_state=0, callback=seen.append)
    assert seen  # the callback reached the models' samplers
