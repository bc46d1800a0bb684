import math

import pytest
import torch

from inertial_diffusion.backends.local import LocalBackend
from inertial_diffusion.evaluation.datasets import Sphere
from inertial_diffusion.core.inertia import inertia_step
from inertial_diffusion.evaluation.metrics import energy_test
from inertial_diffusion.core.posterior import posterior_mean
from inertial_diffusion.core.process import DEFAULT_T_MAX, alpha, time_grid, variance, ve_sigma
from inertial_diffusion.core.samplers import (DEFAULT_N_STEPS, SIMULATORS, sample_exponential, sample_heun,
                                         sample_one_shot, sample_stationary)


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    # small tensors, hundreds of steps: a second intra-op thread only adds contention (measured 45x slower
    # per posterior call on the shared 2-core machine under load)
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


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
    times = time_grid(1.0, 0.1, 5)
    for sampler in SIMULATORS.values():
        seen = []
        out = sampler(_denoiser(y), torch.zeros(3, 2, dtype=torch.float64), times,
                      generator=torch.Generator().manual_seed(0), callback=seen.append)
        assert [info["i"] for info in seen] == list(range(5))
        # t is the time of the state x handed out (the time reached), as in sample_cfdm_euler
        assert [info["t"] for info in seen] == [float(t) for t in times[1:]] and torch.equal(seen[-1]["x"], out)


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
    posterior = LocalBackend(data, torch.device("cpu"), max_memory=2**24)
    out = {}
    for seed, name in enumerate(["one_shot", "sde", "sde_euler", "ode"]):
        gen = torch.Generator().manual_seed(seed)
        if name == "one_shot":
            z = sample_one_shot(data, h, m, gen)
        else:
            x = sample_one_shot(data, 10.0, m, gen)
            z = SIMULATORS[name](den, x, time_grid(10.0, h, n_steps), generator=gen)
        out[name] = (z.numpy(), inertia_step(posterior, z, h).numpy())
    wrong_h = 4.0 * h  # sigma doubled
    wrong = sample_one_shot(data, wrong_h, m, torch.Generator().manual_seed(99))
    out["wrong_bandwidth"] = (wrong.numpy(), inertia_step(posterior, wrong, wrong_h).numpy())
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


# --- second moments at h against their exact values ---------------------------------------------
# Under p̂_h, z = alpha_h y_I + sqrt(v_h) xi, so E|P z|^2 = alpha_h^2 mean|P y|^2 + rank(P) v_h exactly for
# any orthogonal projection P. We test P = projection on the data's span (3-D, the sphere's) and on its
# orthogonal complement (D - 3 pure-noise directions, where Euler–Maruyama's bias lives), and P = I (E|z|^2,
# the trace of the second-moment matrix). Rule fixed before looking: pass iff |mean - exact| <= 4 standard
# errors (sample sd / sqrt(m)). Sizes are chosen so that 4 SE <= 1.5 % of the exact value for the total and
# the normal part (asserted), small enough to see Euler–Maruyama's +4 % at 100 plain steps at ~10 SE and
# fast enough for the suite (the 1 % claim itself was measured at SE 0.3 %, see EULER_SUBSTEPS); the span
# part's own spread is larger (SE ~1 %), so it is checked at 4 SE only. The denoiser is a dense softmax
# (the streaming posterior is checked against it elsewhere): this test is about the samplers.
MOMENT_D, MOMENT_N, MOMENT_M, MOMENT_H, MOMENT_DESIGN = 51, 8, 3000, 3000 ** (-1 / 3), 0.015


def _dense_denoiser(data):
    def denoise(x, t):
        logits = -torch.cdist(x, alpha(t) * data) ** 2 / (2 * variance(t))
        return torch.softmax(logits, dim=1) @ data

    return denoise


@pytest.fixture(scope="module")
def moment_data():
    data = torch.as_tensor(Sphere(2, MOMENT_D, random_state=3).sample(MOMENT_N, random_state=4))
    basis = torch.linalg.svd(data, full_matrices=True).Vh  # rows: 3 span directions, then the complement
    return data, basis[:3].T, basis[3:].T


@pytest.mark.slow
@pytest.mark.parametrize("sampler", ["one_shot", "sde", "sde_euler", "ode"])
def test_second_moments_at_h_match_the_exact_values(moment_data, sampler):
    data, span, normal = moment_data
    h, m = MOMENT_H, MOMENT_M
    gen = torch.Generator().manual_seed(11)
    if sampler == "one_shot":
        z = sample_one_shot(data, h, m, gen)
    else:
        x = sample_one_shot(data, DEFAULT_T_MAX, m, gen)
        z = SIMULATORS[sampler](_dense_denoiser(data), x, time_grid(DEFAULT_T_MAX, h, DEFAULT_N_STEPS),
                                generator=gen)
    eye = torch.eye(MOMENT_D, dtype=data.dtype)
    for name, basis in (("total", eye), ("span", span), ("normal", normal)):
        q = ((z @ basis) ** 2).sum(1)
        exact = alpha(h) ** 2 * ((data @ basis) ** 2).sum(1).mean().item() + basis.shape[1] * variance(h)
        se = q.std().item() / math.sqrt(m)
        if name != "span":
            assert 4 * se <= MOMENT_DESIGN * exact, (name, se / exact)  # the design can see the bias
        assert abs(q.mean().item() - exact) <= 4 * se, (sampler, name, q.mean().item() / exact - 1, se / exact)


def test_euler_maruyama_rejects_bad_substeps():
    from inertial_diffusion.core.samplers import sample_euler_maruyama

    with pytest.raises(ValueError, match="substeps"):
        sample_euler_maruyama(lambda x, t: x, torch.zeros(1, 1), [1.0, 0.5], substeps=0)
