import math

import numpy as np
import pytest

from inertial_diffusion.core.process import alpha, time_grid, variance, ve_sigma


@pytest.mark.parametrize("t", [1e-12, 1e-6, 0.01, 0.5, 3.0, 40.0])
def test_ou_coefficients_match_the_convention(t):
    assert alpha(t) == pytest.approx(math.exp(-t), rel=1e-15)
    # v_t = (1 - e^{-2t})/2, with full relative precision even where 1 - e^{-2t} cancels
    assert variance(t) == pytest.approx(float(np.float128(1 - np.exp(-2 * np.float128(t))) / 2)
                                        if hasattr(np, "float128") else (1 - math.exp(-2 * t)) / 2, rel=1e-12)
    # variance of X_t = alpha_t y + N(0, v_t): v_t = alpha_t^2 * ve_sigma^2
    assert alpha(t) ** 2 * ve_sigma(t) ** 2 == pytest.approx(variance(t), rel=1e-12)


def test_variance_small_t_limit():
    t = 1e-10
    assert variance(t) == pytest.approx(t - t**2, rel=1e-14)


def test_marginal_variance_of_the_sde_solves_the_ode():
    # d v/dt = -2 v + 1 for dX = -X dt + dW
    for t in [0.01, 0.3, 2.0]:
        eps = 1e-6
        dv = (variance(t + eps) - variance(t - eps)) / (2 * eps)
        assert dv == pytest.approx(1 - 2 * variance(t), rel=1e-7)


def test_time_grid_is_log_spaced_and_exact_at_the_ends():
    g = time_grid(10.0, 1e-4, 50)
    assert g.shape == (51,)
    assert g[0] == 10.0 and g[-1] == 1e-4
    assert np.all(np.diff(g) < 0)
    ratios = g[1:] / g[:-1]
    assert np.allclose(ratios, ratios[0])


@pytest.mark.parametrize("args", [(1.0, 2.0, 10), (1.0, 0.0, 10), (1.0, 0.1, 0), (np.inf, 0.1, 3)])
def test_time_grid_rejects_bad_arguments(args):
    with pytest.raises(ValueError):
        time_grid(*args)
