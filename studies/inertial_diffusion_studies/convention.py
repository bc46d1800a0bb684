"""Experiment 4b — the OU convention is our inference; what the other reading would give.

The paper's text is not available to us. We use :math:`dX = -X\\,dt + dW` (``v_t = (1 - e^{-2t})/2 ≈ t``)
with ``h = σ²``: the reading under which the printed inertia step
:math:`\\hat x = \\alpha_h^{-1}(z + h\\nabla\\log\\hat p_h(z))` is a full Tweedie step to first order in ``h``;
even so only its posterior-mean form (:math:`h \\to v_h`) stays near the manifold for every D: the printed form
drifts off it as D grows (section 4 measures it). Under :math:`dX = -X\\,dt + \\sqrt2\\,dW`
(``v'_t = 1 - e^{-2t} ≈ 2t``) the same printed step covers only :math:`h/v'_h ≈ 1/2` of the way to the
posterior mean, leaving the normal noise :math:`\\approx \\tfrac12\\sqrt{v'_h (D - 3)}` (D - 3 normal
directions leave the R^3 that holds the sphere): the distance to the manifold grows with D.
This experiment draws ``z`` and takes the printed step under both readings (dense, exact posterior).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import softmax

from inertial_diffusion.evaluation.datasets import Sphere
from inertial_diffusion_studies.common import Say, Table
from inertial_diffusion_studies.presets import Preset

__all__ = ["run_convention", "printed_step"]


def printed_step(data: np.ndarray, h: float, noise_variance: float, m: int,
                 rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``z = α_h y_I + sqrt(noise_variance) ξ``; return the printed step
    :math:`\\alpha_h^{-1}(z + h\\nabla\\log\\hat p(z))` (the score taken under that noise variance) and
    the posterior mean :math:`E[y \\mid z]` (the full Tweedie step, our default inertia form).

    ``y_I`` is a uniformly drawn data row and ``ξ`` standard normal; :math:`\\hat p` is the exact mixture
    :math:`\\frac1n\\sum_i N(\\alpha_h y_i, v I)` with ``v = noise_variance``, whose score is
    :math:`(\\alpha_h E[y \\mid z] - z)/v`. So the printed step equals
    :math:`E[y\\mid z] + (1 - h/v)(z/\\alpha_h - E[y\\mid z])`: the full step when ``v = h`` and the
    fraction ``h / v`` of the way otherwise. Dense: memory ``O(m n)``.

    Parameters
    ----------
    data : ndarray of shape (n, D)
        The training points ``y_i``.
    h : float
        Stopping time of the OU process, ``h = σ²``; ``α_h = exp(-h)``.
    noise_variance : float
        Variance ``v`` of the noise in ``z`` under the reading tested: ``(1 - e^(-2h))/2`` for
        dX = -X dt + dW, ``1 - e^(-2h)`` for dX = -X dt + sqrt(2) dW.
    m : int
        Number of draws of ``z``.
    rng : numpy.random.Generator
        Source of the indices ``I`` and of ``ξ``.

    Returns
    -------
    printed : ndarray of shape (m, D)
        The printed inertia step applied to each ``z``.
    posterior_mean : ndarray of shape (m, D)
        :math:`E[y \\mid z]` for each ``z``.

    See Also
    --------
    inertial_diffusion.core.inertia.inertia_step : The package's inertia forms.

    Examples
    --------
    S^2 in R^50 at n = 300: the printed step under each reading, and the posterior mean.

    >>> import math
    >>> import numpy as np
    >>> from inertial_diffusion.evaluation.datasets import Sphere
    >>> sphere = Sphere(2, 50, random_state=0)
    >>> data = sphere.sample(300, random_state=1)
    >>> h = 300 ** (-1 / 3)
    >>> for v in (-math.expm1(-2 * h) / 2, -math.expm1(-2 * h)):  # ours, then the sqrt(2) reading
    ...     x, mean = printed_step(data, h, v, 300, np.random.default_rng(0))
    ...     print(round(h / v, 2), [round(float(sphere.distance(p).mean()), 1) for p in (x, mean)])
    1.16 [0.5, 0.2]
    0.58 [1.7, 0.3]
    """
    a = math.exp(-h)
    z = a * data[rng.integers(len(data), size=m)] + math.sqrt(noise_variance) * rng.standard_normal((m, data.shape[1]))
    sq = (z * z).sum(1)[:, None] - 2 * a * z @ data.T + a * a * (data * data).sum(1)[None, :]
    mean = softmax(-sq / (2 * noise_variance), axis=1) @ data
    score = (a * mean - z) / noise_variance
    return (z + h * score) / a, mean


def run_convention(preset: Preset, say: Say, seed: int = 0) -> Table:
    """Mean distance to S^2 after the printed step, under dX = -X dt + dW and under dX = -X dt + sqrt(2) dW.

    ``h = n^(-1/3)`` (σ = n^(-1/(d+4)) with d = 2; the unit sphere needs no standardization), ``z`` drawn
    from the training points themselves, the exact dense posterior (:func:`printed_step`).

    Parameters
    ----------
    preset : Preset
        Sizes: ``convention_n`` (points and draws) and ``convention_dims``.
    say : callable
        Progress callback, one line per D.
    seed : int, default 0
        Seed of the embedding, the data and the draws.

    Returns
    -------
    Table
        ``"convention"``, per D: for each reading a row of the printed step and, under ours, a row of the
        posterior-mean form. Columns ``reading``, ``step``, ``D``, ``n``, ``h``, ``noise_variance``,
        ``step_fraction`` (``h / noise_variance``; 1 for the posterior mean), ``mean_distance_to_manifold``
        and ``predicted_normal_residual``, the normal noise left by a partial step,
        ``|1 - h/v| sqrt(v (D - 3)) / α_h``.
    """
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
