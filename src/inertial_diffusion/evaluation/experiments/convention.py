"""Experiment 4b — the OU convention is our inference; what the other reading would give.

The paper's text is not available to us. We use :math:`dX = -X\\,dt + dW` (``v_t = (1 - e^{-2t})/2 ≈ t``)
with ``h = σ²``: the only reading under which the printed inertia step
:math:`\\hat x = \\alpha_h^{-1}(z + h\\nabla\\log\\hat p_h(z))` is a full Tweedie step, and the samples stay
near the manifold for every D. Under :math:`dX = -X\\,dt + \\sqrt2\\,dW` (``v'_t = 1 - e^{-2t} ≈ 2t``) the
same printed step covers only :math:`h/v'_h ≈ 1/2` of the way to the posterior mean, leaving the
normal noise :math:`\\approx \\tfrac12\\sqrt{v'_h (D - d)}`: the distance to the manifold grows with D.
This experiment draws ``z`` and takes the printed step under both readings (dense, exact posterior).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import softmax

from inertial_diffusion.evaluation.datasets import Sphere
from inertial_diffusion.evaluation.experiments.common import Say, Table
from inertial_diffusion.evaluation.experiments.presets import Preset

__all__ = ["run_convention", "printed_step"]


def printed_step(data: np.ndarray, h: float, noise_variance: float, m: int,
                 rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``z = α_h y_I + sqrt(noise_variance) ξ``; return the printed step
    :math:`\\alpha_h^{-1}(z + h\\nabla\\log\\hat p(z))` (the score taken under that noise variance) and
    the posterior mean :math:`E[y \\mid z]` (the full Tweedie step, our default inertia form)."""
    a = math.exp(-h)
    z = a * data[rng.integers(len(data), size=m)] + math.sqrt(noise_variance) * rng.standard_normal((m, data.shape[1]))
    sq = (z * z).sum(1)[:, None] - 2 * a * z @ data.T + a * a * (data * data).sum(1)[None, :]
    mean = softmax(-sq / (2 * noise_variance), axis=1) @ data
    score = (a * mean - z) / noise_variance
    return (z + h * score) / a, mean


def run_convention(preset: Preset, say: Say, seed: int = 0) -> Table:
    """Mean distance to S^2 after the printed step, under dX = -X dt + dW and under dX = -X dt + sqrt(2) dW."""
    table = Table("convention")
    n = preset.convention_n
    h = n ** (-2.0 / 6.0)  # sigma = n^(-1/(d+4)), d = 2; the unit sphere is already standardized
    readings = (("dX = -X dt + dW (ours)", -math.expm1(-2 * h) / 2),
                ("dX = -X dt + sqrt(2) dW", -math.expm1(-2 * h)))
    for D in preset.convention_dims:
        say(f"  convention: D = {D}")
        sphere = Sphere(2, D, random_state=seed)
        data = sphere.sample(n, random_state=8000 + seed)
        for name, var in readings:
            x, mean = printed_step(data, h, var, n, np.random.default_rng(seed))
            # the normal noise left by a step of fraction h/var: |1 - h/var| sqrt(var (D - 3)) / alpha_h
            residual = abs(1 - h / var) * math.sqrt(var * max(D - 3, 0)) / math.exp(-h)
            table.add(reading=name, step="printed: (z + h score)/alpha_h", D=D, n=n, h=h, noise_variance=var,
                      step_fraction=h / var, mean_distance_to_manifold=float(sphere.distance(x).mean()),
                      predicted_normal_residual=residual)
            if var < h:  # our reading: the posterior-mean form beside the printed one
                table.add(reading=name, step="posterior mean E[y | z]", D=D, n=n, h=h, noise_variance=var,
                          step_fraction=1.0, mean_distance_to_manifold=float(sphere.distance(mean).mean()),
                          predicted_normal_residual=0.0)
    return table
