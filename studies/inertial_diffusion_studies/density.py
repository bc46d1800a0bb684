"""Failure modes of the data law: non-uniform density, isolated points, small n.

All run against the public estimator API. Every IDM row is measured with both inertia steps (``"IDM"``, the
posterior mean, and ``"IDM (moment)"``, :data:`~inertial_diffusion_studies.common.IDM_STEPS`),
on the same data and seeds.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
from scipy.spatial import cKDTree

from inertial_diffusion import InertialDiffusion
from inertial_diffusion.estimators.baselines import AmbientKDE
from inertial_diffusion.evaluation.datasets import Sphere
from inertial_diffusion_studies.common import (IDM_STEPS, SEED_STRIDE, Say, Table, corrected_w1,
                                               sigma_in_data_units, timed, w1_floor)
from inertial_diffusion_studies.geometry import rms_scale, unit_sphere
from inertial_diffusion.evaluation.metrics import floor_corrected, wasserstein1
from inertial_diffusion_studies.presets import Preset

__all__ = ["run_density", "run_isolated", "run_small_n", "TAIL_RADII", "COPY_TOLERANCE", "NEAR_COPY_SIGMAS"]

#: Radii of the tail masses P(|x| > r) of the standard 2-D Gaussian; exact value exp(-r²/2).
TAIL_RADII = (2.0, 2.5)

#: A sample is a copy of a training point when closer than this times the data's RMS scale.
COPY_TOLERANCE = 1e-6

#: ... and a near-copy when closer than this many σ (data units): indistinguishable at the kernel's scale.
NEAR_COPY_SIGMAS = 0.01


def run_density(preset: Preset, say: Say, seed: int = 0) -> Table:
    """Standard 2-D Gaussian (d = D = 2): per-coordinate variance and tail masses of IDM, the ambient
    KDE at the same σ, the training set and the truth.

    Mechanism: IDM's sample is a posterior mean :math:`E[y \\mid z]`; by the law of total variance
    :math:`\\mathrm{Var}\\,E[y\\mid z] = \\mathrm{Var}\\,y - E\\,\\mathrm{Var}(y \\mid z) < \\mathrm{Var}\\,y`, and the
    shrinkage is largest where the data are sparse, the tails. The KDE adds σ² instead. The moment step adds
    back :math:`E\\,\\mathrm{Var}(y \\mid z)` by drawing from the posterior's covariance: its variance is the
    training set's in expectation.

    Parameters
    ----------
    preset : Preset
        Sizes: ``density_n`` and ``density_samples``.
    say : callable
        Progress callback, one line per model.
    seed : int, default 0
        Offset of the seeds of the data and the models.

    Returns
    -------
    Table
        ``"density"``, rows ``truth`` (exact values), ``training set``, ``IDM``, ``IDM (moment)`` and
        ``ambient KDE``:
        ``model``, ``n_train``, ``sigma_data_units``, ``variance`` (per coordinate, averaged over the two),
        ``tail_mass_r2`` and ``tail_mass_r2.5`` (share with ``|x| > r``, one column per :data:`TAIL_RADII`),
        ``seconds``.
    """
    table = Table("density")
    train = np.random.default_rng(9600 + seed).standard_normal((preset.density_n, 2))

    def row(name: str, X: np.ndarray, sigma: float, seconds: float) -> None:
        radius = np.linalg.norm(X, axis=1)
        table.add(model=name, n_train=len(train), sigma_data_units=sigma, variance=float(X.var(axis=0).mean()),
                  **{f"tail_mass_r{r:g}": float(np.mean(radius > r)) for r in TAIL_RADII}, seconds=seconds)

    table.add(model="truth", n_train=len(train), sigma_data_units=0.0, variance=1.0,
              **{f"tail_mass_r{r:g}": math.exp(-r * r / 2) for r in TAIL_RADII}, seconds=0.0)
    row("training set", train, 0.0, 0.0)
    idm: list[tuple[str, Any]] = [(label, InertialDiffusion(intrinsic_dim=2, inertia=step, random_state=seed))
                                  for label, step in IDM_STEPS.items()]
    for name, model in idm + [("ambient KDE", AmbientKDE(intrinsic_dim=2, random_state=seed))]:
        say(f"  non-uniform density: {name}")
        samples, seconds = timed(lambda: model.fit(train).sample(preset.density_samples))
        row(name, samples, sigma_in_data_units(model), seconds)
    return table


def run_isolated(preset: Preset, say: Say, seed: int = 0) -> Table:
    """Unit S^2 in R^3 plus ``isolated_outliers`` points at radius 3 (2 from the sphere, far beyond σ).

    Mechanism: an isolated point's Gaussian component does not overlap any other, so for a z drawn
    from it the posterior weight is 1 and :math:`m_h(z) = y` exactly: IDM returns the outlier itself. The
    moment step draws with the posterior's covariance, near 0 there, so its samples land near the outlier
    too. The ``exclude_copies=True`` rows sample with the estimator's remedy.

    Parameters
    ----------
    preset : Preset
        Sizes: ``isolated_n`` (points on the sphere), ``isolated_outliers`` and ``isolated_samples``.
    say : callable
        Progress callback, one line per model.
    seed : int, default 0
        Offset of the seeds of the data and the models.

    Returns
    -------
    Table
        ``"isolated"``, rows ``IDM``, ``IDM (exclude_copies=True)``, ``IDM (moment)`` and
        ``IDM (moment, exclude_copies=True)``. A sample is *near an outlier* when
        its nearest training point is one. Columns: ``model``, ``n_train``, ``outliers``,
        ``outlier_share_of_training``, ``outlier_share_of_samples``, ``copy_rate_near_outliers`` (within
        :data:`COPY_TOLERANCE` x RMS scale), ``copy_rate_elsewhere``, ``near_copy_rate_near_outliers``
        (within :data:`NEAR_COPY_SIGMAS` σ), ``median_distance_near_outliers_over_sigma`` (NaN when no
        sample is near an outlier), ``n_isolated_reported`` (the estimator's ``n_isolated_``, -1 if it has
        none), ``estimator_warned`` (a fit-time warning mentioning isolated points), ``seconds``.
    """
    table = Table("isolated")
    rng = np.random.default_rng(9700 + seed)
    outliers = 3.0 * unit_sphere(preset.isolated_outliers, rng)
    train = np.vstack([unit_sphere(preset.isolated_n, rng), outliers])
    is_outlier = np.arange(len(train)) >= preset.isolated_n
    tolerance = COPY_TOLERANCE * rms_scale(train)
    variants = (("IDM", "posterior_mean", False), ("IDM (exclude_copies=True)", "posterior_mean", True),
                ("IDM (moment)", "moment", False), ("IDM (moment, exclude_copies=True)", "moment", True))
    for name, step, exclude in variants:
        say(f"  isolated points: {name}")
        model = InertialDiffusion(intrinsic_dim=2, inertia=step, random_state=seed)
        with warnings.catch_warnings(record=True) as caught:  # the estimator may warn about isolated points
            warnings.simplefilter("always")
            model.fit(train)
        warned = any("isolated" in str(w.message) for w in caught)
        samples, seconds = timed(lambda: model.sample(preset.isolated_samples, exclude_copies=exclude))
        dist, nearest = cKDTree(train).query(samples)
        near_outlier = is_outlier[nearest]
        copies = dist < tolerance
        near_copies = dist < NEAR_COPY_SIGMAS * sigma_in_data_units(model)
        table.add(model=name, n_train=len(train), outliers=int(is_outlier.sum()),
                  outlier_share_of_training=float(is_outlier.mean()),
                  outlier_share_of_samples=float(near_outlier.mean()),
                  copy_rate_near_outliers=float(copies[near_outlier].mean()) if near_outlier.any() else float("nan"),
                  copy_rate_elsewhere=float(copies[~near_outlier].mean()),
                  near_copy_rate_near_outliers=(float(near_copies[near_outlier].mean()) if near_outlier.any()
                                                else float("nan")),
                  median_distance_near_outliers_over_sigma=(float(np.median(dist[near_outlier])) /
                                                            sigma_in_data_units(model)
                                                            if near_outlier.any() else float("nan")),
                  n_isolated_reported=int(getattr(model, "n_isolated_", -1)), estimator_warned=warned,
                  seconds=seconds)
    return table


def run_small_n(preset: Preset, say: Say, seed: int = 0) -> Table:
    """Uniform S^2 in R^3 with very few training points: IDM's W1 to the population (each inertia step)
    against the training set's own (all floor-corrected; the training set's floor taken as F/sqrt(2)).

    Mechanism: the rule's σ = n^(-1/6) is large at small n (0.71 at n = 8), and the inertia step pulls
    every sample into the convex hull of a few points, far inside the sphere; the moment step spreads its draws
    with the posterior's covariance around that mean instead.

    Parameters
    ----------
    preset : Preset
        Sizes: ``small_ns``, ``small_seeds``, ``small_samples`` (``m``) and ``floor_reps``.
    say : callable
        Progress callback, one line per (n, seed).
    seed : int, default 0
        Offset of the seeds of the models, the floor, the training sets and the populations (``seed = 0``
        reproduces the committed report).

    Returns
    -------
    Table
        ``"small_n"``, one row per (n, repetition): ``n``, ``seed`` (the repetition), ``sigma``
        (standardized units), ``w1_idm``, ``w1_idm_moment`` (the moment step's, same seed),
        ``w1_training_set`` (all floor-corrected), ``w1_floor``, ``idm_below_training`` (the posterior
        mean's), ``mean_distance_to_manifold`` (the posterior mean's samples), ``seconds`` (its fit and
        sampling).
        ``meta["floor"]``: the W1 floor at ``m = small_samples``.
    """
    table = Table("small_n")
    m = preset.small_samples
    floor = w1_floor(2, m, preset.floor_reps, seed)
    sphere = Sphere(2, 3, random_state=seed)
    for n in preset.small_ns:
        for s in range(preset.small_seeds):
            say(f"  small n: n = {n}, seed {s}")
            train = sphere.sample(n, random_state=9800 + 101 * s + n + SEED_STRIDE * seed)
            population = sphere.sample(m, random_state=9900 + s + SEED_STRIDE * seed)
            model = InertialDiffusion(intrinsic_dim=2, random_state=seed + s)
            samples, seconds = timed(lambda: model.fit(train).sample(m))
            _, w1 = corrected_w1(samples, population, floor)
            moment = InertialDiffusion(intrinsic_dim=2, inertia="moment", random_state=seed + s).fit(train).sample(m)
            _, w1_moment = corrected_w1(moment, population, floor)
            own = floor_corrected(wasserstein1(train, population), floor / math.sqrt(2))
            table.add(n=n, seed=s, sigma=model.bandwidth_, w1_idm=w1, w1_idm_moment=w1_moment,
                      w1_training_set=own, w1_floor=floor,
                      idm_below_training=bool(w1 < own),
                      mean_distance_to_manifold=float(sphere.distance(samples).mean()), seconds=seconds)
    table.meta["floor"] = floor
    return table
