"""Input checks of the σ-CFDM grid and sampler (core/cfdm.py); its numerics are tested in
tests/estimators/test_baselines.py."""

import math

import numpy as np
import pytest
import torch

from inertial_diffusion.core.cfdm import cfdm_times, flow_matching_denoiser, sample_cfdm_euler
from inertial_diffusion.core.posterior import posterior_mean

DATA = torch.tensor([[-1.0, 0.0], [1.0, 0.0]], dtype=torch.float64)
FM = flow_matching_denoiser(lambda x, t: posterior_mean(x, DATA, t))
Z = torch.randn(6, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)


def test_cfdm_times_refuses_a_bad_grid():
    """n_steps = 0 used to give an empty grid, on which the sampler returned the noise unchanged as samples."""
    for n_steps, exc in ((0, ValueError), (-3, ValueError), (2.0, TypeError), (True, TypeError), ("4", TypeError)):
        with pytest.raises(exc, match="n_steps"):
            cfdm_times(n_steps)
    for start, exc in ((1.0, ValueError), (-0.1, ValueError), (math.nan, ValueError), ("0", TypeError)):
        with pytest.raises(exc, match="start_time"):
            cfdm_times(4, start_time=start)
    assert cfdm_times(np.int64(2), start_time=np.float64(0.5)).tolist() == [0.5, 0.75]


def test_sample_cfdm_euler_refuses_bad_steps_noise_and_smoothing():
    """An empty or ill-ordered time grid, a negative or non-finite sigma and n_noise < 1 used to run (an empty
    grid returned z itself; n_noise = 0 averaged zero draws into NaN samples). Each is a named error now."""
    for taus in (np.array([]), np.array([0.5, 0.25]), np.array([0.2, 0.2]), np.array([0.0, 1.0]),
                 np.array([-0.1, 0.5]), np.array([0.0, math.nan]), np.zeros((2, 2))):
        with pytest.raises(ValueError, match="taus"):
            sample_cfdm_euler(FM, Z, taus, 0.1, 2)
    with pytest.raises(TypeError, match="taus"):
        sample_cfdm_euler(FM, Z, ["a", "b"], 0.1, 2)
    for sigma, exc in ((-0.1, ValueError), (math.inf, ValueError), (math.nan, ValueError), (None, TypeError)):
        with pytest.raises(exc, match="sigma"):
            sample_cfdm_euler(FM, Z, cfdm_times(3), sigma, 2)
    for n_noise, exc in ((0, ValueError), (-1, ValueError), (2.5, TypeError)):
        with pytest.raises(exc, match="n_noise"):
            sample_cfdm_euler(FM, Z, cfdm_times(3), 0.1, n_noise)
    # valid calls keep working: sigma = 0 (and an int 0) gives training points; a plain list of times is accepted
    for sigma in (0.0, 0):
        out = sample_cfdm_euler(FM, Z, cfdm_times(20), sigma, 1)
        np.testing.assert_allclose(out.abs().numpy(), np.tile([1.0, 0.0], (6, 1)), atol=1e-6)
    gen = torch.Generator().manual_seed(1)
    assert sample_cfdm_euler(FM, Z, [0.0, 0.5], 0.1, 3, generator=gen).shape == Z.shape
