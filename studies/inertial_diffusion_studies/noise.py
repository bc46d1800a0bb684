"""Failure mode — ambient noise: a d = 2 sphere whose training points carry isotropic noise in R^D.

Measured against the *clean* population, for the intrinsic dimension given (d = 2) and estimated by each
of ``noise_dim_methods`` (the estimators' ``dim_method``). Two mechanisms, both measured here: (1) IDM
samples are convex combinations of the noisy training points, so their off-manifold offset is the noise
averaged over the kernel's effective neighbours, not removed — it grows like ``noise * sqrt(D / k)``;
(2) at small scales the noise is D-dimensional, so a nearest-neighbour dimension estimate can jump
towards D, and ``σ = n^(-1/(d+4))`` with it. Every variant runs with both inertia steps (``model``
``"IDM"``, the posterior mean, and ``"IDM (moment)"``): the moment step keeps the training points'
covariance by design, the noise's included, where the posterior mean averages the noise down.
"""

from __future__ import annotations

import numpy as np

from inertial_diffusion import InertialDiffusion
from inertial_diffusion.evaluation.datasets import Sphere
from inertial_diffusion_studies.common import (IDM_STEPS, Say, Table, below_lower_bound, corrected_w1,
                                               timed, w1_floor)
from inertial_diffusion_studies.presets import Preset

__all__ = ["run_noise"]


def _variants(methods: tuple[str, ...]) -> list[tuple[str, dict]]:
    return [("d given (2)", {"intrinsic_dim": 2})] + [(f"d estimated ({m})", {"dim_method": m}) for m in methods]


def run_noise(preset: Preset, say: Say, seed: int = 0) -> Table:
    """Per (noise level, D, variant, inertia step): estimated d, σ, floor-corrected W1 to the clean population
    and the mean distance to the sphere (of the samples and of the noisy training points).

    At each D the clean points are the same and each level adds the same standard normal draw, scaled;
    the variants are ``d given (2)`` and ``d estimated (<method>)`` per ``noise_dim_methods``, each with
    every inertia step of :data:`~inertial_diffusion_studies.common.IDM_STEPS`.

    Parameters
    ----------
    preset : Preset
        Sizes: ``noise_n``, ``noise_dims``, ``noise_levels``, ``noise_samples`` (``m``),
        ``noise_dim_methods`` and ``floor_reps``.
    say : callable
        Progress callback, one line per (D, level, variant, step).
    seed : int, default 0
        Offset of the seeds of the data, the noise and the models.

    Returns
    -------
    Table
        ``"noise"``, one row per (D, level, variant, step): ``model`` (``"IDM"`` or ``"IDM (moment)"``),
        ``variant``, ``D``, ``noise``, ``n_train``,
        ``intrinsic_dim`` (used by the fit: given or estimated), ``sigma`` (standardized units), ``w1_raw``,
        ``w1``, ``w1_floor``, ``mean_distance_to_manifold``, ``train_distance_to_manifold``,
        ``below_lower_bound``, ``seconds``. ``meta["floor"]``: the W1 floor at ``m = noise_samples``.
    """
    table = Table("noise")
    m = preset.noise_samples
    floor = w1_floor(2, m, preset.floor_reps, seed)
    for D in preset.noise_dims:
        sphere = Sphere(2, D, random_state=seed)
        clean = sphere.sample(preset.noise_n, random_state=9000 + seed)
        population = sphere.sample(m, random_state=9100 + seed)
        for level in preset.noise_levels:
            rng = np.random.default_rng(9200 + seed)
            train = clean + level * rng.standard_normal(clean.shape)
            train_distance = float(sphere.distance(train).mean())
            for name, kwargs in _variants(preset.noise_dim_methods):
                for label, step in IDM_STEPS.items():
                    say(f"  ambient noise: D = {D}, noise {level:g}, {name}, {label}")
                    model = InertialDiffusion(inertia=step, random_state=seed, **kwargs)
                    samples, seconds = timed(lambda: model.fit(train).sample(m))
                    raw, w1 = corrected_w1(samples, population, floor)
                    bound = float(sphere.distance(samples).mean())
                    table.add(model=label, variant=name, D=D, noise=level, n_train=preset.noise_n,
                              intrinsic_dim=model.intrinsic_dim_, sigma=model.bandwidth_, w1_raw=raw, w1=w1,
                              w1_floor=floor, mean_distance_to_manifold=bound,
                              train_distance_to_manifold=train_distance,
                              below_lower_bound=below_lower_bound(w1, bound), seconds=seconds)
    table.meta["floor"] = floor
    return table
