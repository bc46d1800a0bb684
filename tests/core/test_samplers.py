import math

import pytest
import torch

from inertial_diffusion.evaluation.datasets import Sphere
from inertial_diffusion.core.inertia import inertia_step
from inertial_diffusion.evaluation.metrics import energy_test
from inertial_diffusion.core.posterior import posterior_mean
from inertial_diffusion.core.process import alpha, time_grid, variance, ve_sigma
from inertial_diffusion.core.samplers import (SIMULATORS, sample_exponential, sample_heun,
                                         sample_one_shot, sample_stationary)


def _denoiser(data):
    return lambda x, t: posterior_mean(x, data, t)


def test_exponential_integrator_is_exact_for_one_training_point():
    y = torch.tensor([[1.5, -2.0]], dtype=torch.float64)
    h, m = 0.05, 40_000
    gen = torch.Generator().manual_seed(0)
    x = sample_one_shot(y, 10.0, m, gen)
    z = sample_exponential(_denoiser(y), x, time_grid(10.0, h, 3), generator=gen)  # only 3 steps
    mean_err = (z.mean(0) - alpha(h) * y[0]).abs().max().item()
    var = z.var(0)
    assert mean_err < 5 * math.sqrt(variance(h) / m)
    assert torch.allclose(var, torch.full_like(var, variance(h)), rtol=5 * math.sqrt(2 / m))


def test_heun_flow_is_exact_for_one_training_point():
    # for one point the flow is x~ - y = (sigma~_h / sigma~_T)(x~_T - y): linear in sigma~, so Heun is exact
    y = torch.tensor([[0.3, 0.7, -1.0]], dtype=torch.float64)
    T, h = 5.0, 0.01
    x = torch.randn(10, 3, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    z = sample_heun(_denoiser(y), x, time_grid(T, h, 4))
    expected = alpha(h) * (y + (ve_sigma(h) / ve_sigma(T)) * (x / alpha(T) - y))
    torch.testing.assert_close(z, expected, rtol=1e-12, atol=1e-12)


def test_callback_sees_every_step():
    y = torch.zeros(2, 2, dtype=torch.float64)
    y[1] = 1.0
    for sampler in SIMULATORS.values():
        seen = []
        sampler(_denoiser(y), torch.zeros(3, 2, dtype=torch.float64), time_grid(1.0, 0.1, 5),
                generator=torch.Generator().manual_seed(0), callback=lambda info: seen.append(info["i"]))
        assert seen == list(range(5))


def test_stationary_law():
    x = sample_stationary(50_000, 2, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(x.var(0), torch.full((2,), 0.5, dtype=torch.float64), rtol=0.03)


@pytest.mark.parametrize("bad", [[1.0], [0.1, 0.5], [1.0, 0.0], [[1.0, 0.5]]])
def test_samplers_reject_bad_grids(bad):
    with pytest.raises(ValueError, match="decreasing"):
        sample_exponential(lambda x, t: x, torch.zeros(1, 1), bad)


@pytest.fixture(scope="module")
def equal_law_draws():
    """Draws at t = h and after the inertia step from every sampler, on a 2-sphere in R^5."""
    data = torch.as_tensor(Sphere(2, 5, random_state=0).sample(300, random_state=1))
    h, m, n_steps = 0.08, 700, 60
    den = _denoiser(data)
    out = {}
    for seed, name in enumerate(["one_shot", "sde", "sde_euler", "ode"]):
        gen = torch.Generator().manual_seed(seed)
        if name == "one_shot":
            z = sample_one_shot(data, h, m, gen)
        else:
            x = sample_one_shot(data, 10.0, m, gen)
            z = SIMULATORS[name](den, x, time_grid(10.0, h, n_steps), generator=gen)
        out[name] = (z.numpy(), inertia_step(den, z, h).numpy())
    wrong_h = 4.0 * h  # sigma doubled
    wrong = sample_one_shot(data, wrong_h, m, torch.Generator().manual_seed(99))
    out["wrong_bandwidth"] = (wrong.numpy(), inertia_step(den, wrong, wrong_h).numpy())
    return out


@pytest.mark.parametrize("sampler", ["sde", "sde_euler", "ode"])
def test_simulated_samplers_have_the_one_shot_law(equal_law_draws, sampler):
    for stage in (0, 1):  # at time h, and after the inertia step
        result = energy_test(equal_law_draws["one_shot"][stage], equal_law_draws[sampler][stage],
                             n_permutations=300, random_state=0)
        assert result.pvalue > 0.01, (sampler, stage, result)


def test_the_two_sample_test_detects_a_wrong_bandwidth(equal_law_draws):
    for stage in (0, 1):
        result = energy_test(equal_law_draws["sde"][stage], equal_law_draws["wrong_bandwidth"][stage],
                             n_permutations=300, random_state=0)
        assert result.pvalue <= 0.01, (stage, result)
