"""Separated components inside InertialDiffusion: each part gets its own sigma, parts are sampled in
proportion to their size, and data of one part are modelled exactly as before."""

import warnings

import numpy as np
import pytest

from inertial_diffusion import InertialDiffusion
from inertial_diffusion.evaluation.datasets import Sphere

D = 20
CIRCLE, SPHERE4 = Sphere(1, D, random_state=0), Sphere(4, D, random_state=1)
SHIFT = np.r_[6.0, np.zeros(D - 1)]


@pytest.fixture(scope="module")
def two_parts():
    A, B = CIRCLE.sample(500, random_state=2), SPHERE4.sample(700, random_state=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        model = InertialDiffusion(random_state=0).fit(np.r_[A, B + SHIFT])
        alone = [InertialDiffusion(random_state=0, components="none").fit(P) for P in (A, B)]
    return A, B, model, alone


def _split(S):
    in_b = np.linalg.norm(S - SHIFT, axis=1) < np.linalg.norm(S, axis=1)
    return S[~in_b], S[in_b] - SHIFT


def test_each_part_is_as_close_to_its_manifold_as_when_fitted_alone(two_parts):
    A, B, model, alone = two_parts
    assert [c["size"] for c in model.components_] == [700, 500]
    on_a, on_b = _split(model.sample(3000))
    ref_a = CIRCLE.distance(alone[0].sample(2000, random_state=1)).mean()
    ref_b = SPHERE4.distance(alone[1].sample(2000, random_state=1)).mean()
    assert CIRCLE.distance(on_a).mean() <= 1.5 * ref_a
    assert SPHERE4.distance(on_b).mean() <= 1.5 * ref_b
    # one global sigma (components="none") is what the components fix: the circle's samples sit far off it
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        one = InertialDiffusion(random_state=0, components="none").fit(np.r_[A, B + SHIFT])
    assert CIRCLE.distance(_split(one.sample(3000))[0]).mean() > 3 * ref_a


def test_parts_are_sampled_in_proportion_to_their_size(two_parts):
    _, _, model, _ = two_parts
    on_a, on_b = _split(model.sample(4000, random_state=5))
    assert abs(len(on_b) / 4000 - 700 / 1200) < 0.05
    np.testing.assert_array_equal(model.sample(50, random_state=9), model.sample(50, random_state=9))


def test_one_part_changes_nothing():
    X = Sphere(2, 10, random_state=0).sample(1000, random_state=1)
    auto = InertialDiffusion(random_state=0).fit(X)
    assert auto.components_ is None
    np.testing.assert_array_equal(auto.sample(100), InertialDiffusion(random_state=0, components="none")
                                  .fit(X).sample(100))


def test_queries_answer_for_the_mixture_that_sample_draws(two_parts):
    """log p = LSE_c(log pi_c + log p_c), the posterior mean and score weighted by P(c | x) (engine issue)."""
    A, B, model, alone = two_parts
    parts = model.component_models_
    weights = np.array([c["size"] for c in model.components_], float)
    weights /= weights.sum()
    x = np.r_[A[:3] + 0.01, B[:3] + SHIFT + 0.01]
    t = 0.05
    logp = np.stack([p.log_density(x, t) for p in parts], axis=1) + np.log(weights)
    expected = np.logaddexp(logp[:, 0], logp[:, 1])
    np.testing.assert_allclose(model.log_density(x, t), expected, rtol=1e-12)
    resp = np.exp(logp - expected[:, None])
    mean = sum(resp[:, [c]] * p.posterior_mean(x, t) for c, p in enumerate(parts))
    np.testing.assert_allclose(model.posterior_mean(x, t), mean, rtol=1e-10, atol=1e-12)
    # the score is the gradient of the log-density (central differences along the first coordinate)
    e = np.zeros(D)
    e[0] = 1e-5
    numeric = (model.log_density(x + e, t) - model.log_density(x - e, t)) / 2e-5
    np.testing.assert_allclose(model.score_function(x, t)[:, 0], numeric, rtol=1e-4, atol=1e-4)


def test_a_part_too_small_to_search_takes_the_rule():
    """bandwidth='auto' on data with a separated part of fewer than 20 rows: that part takes the rule's sigma
    (the fit used to fail: 'needs at least 20 rows to search, got 12')."""
    A = CIRCLE.sample(400, random_state=2)
    tiny = SPHERE4.sample(12, random_state=3) + 40 * SHIFT
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        model = InertialDiffusion(bandwidth="auto", random_state=0).fit(np.r_[A, tiny])
    assert sorted(c["size"] for c in model.components_) == [12, 400]
    small = next(m for m in model.component_models_ if m.n_samples_fit_ == 12)
    assert small.bandwidth_search_ is None and model.sample(50).shape == (50, D)
