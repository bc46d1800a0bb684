"""Failure modes of geometry: separated components, curved manifolds (swiss roll, trefoil), boundaries.

All run against the public estimator API. Distances are in data units unless a column says otherwise. Every
IDM row is measured with both inertia steps (``model`` ``"IDM"``, the posterior mean, and ``"IDM (moment)"``,
:data:`~inertial_diffusion_studies.common.IDM_STEPS`), on the same data and seeds.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from inertial_diffusion import InertialDiffusion
from inertial_diffusion.estimators.baselines import AmbientKDE
from inertial_diffusion.evaluation.datasets import SwissRoll, TrefoilKnot
from inertial_diffusion_studies.common import IDM_STEPS, Say, Table, sigma_in_data_units, timed
from inertial_diffusion_studies.presets import Preset

__all__ = ["run_components", "run_curved", "run_boundary", "rms_scale", "unit_sphere"]


def rms_scale(X: np.ndarray) -> float:
    """The estimators' one global scale: RMS distance to the mean.

    :math:`\\sqrt{\\frac1n\\sum_i |x_i - \\bar x|^2}`, the scale of ``standardize="global"``
    (:mod:`inertial_diffusion.core.standardize`); σ in data units is ``bandwidth_`` times it.

    Parameters
    ----------
    X : ndarray of shape (n, D)
        Points.

    Returns
    -------
    float
        The scale, in the units of ``X``.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.0, 0.0], [2.0, 0.0], [0.0, 2.0], [2.0, 2.0]])
    >>> round(rms_scale(X), 4), round(rms_scale(3 * X + 5), 4)  # sqrt(2), then 3 sqrt(2)
    (1.4142, 4.2426)
    """
    return float(np.sqrt(((X - X.mean(0)) ** 2).sum(1).mean()))


def unit_sphere(n: int, rng: np.random.Generator) -> np.ndarray:
    """Uniform points on the unit sphere S^2 in R^3 (normalized standard Gaussian draws).

    Parameters
    ----------
    n : int
        Number of points.
    rng : numpy.random.Generator
        Source of the draws.

    Returns
    -------
    ndarray of shape (n, 3)
        Rows of norm 1.

    Examples
    --------
    >>> import numpy as np
    >>> X = unit_sphere(1000, np.random.default_rng(0))
    >>> X.shape, bool(np.allclose(np.linalg.norm(X, axis=1), 1.0)), round(rms_scale(X), 2)
    ((1000, 3), True, 1.0)
    """
    g = rng.standard_normal((n, 3))
    return g / np.linalg.norm(g, axis=1, keepdims=True)


def run_components(preset: Preset, say: Say, seed: int = 0) -> Table:
    """Two unit spheres S^2 in R^3, centres ``separation`` radii apart (0: one sphere, the reference).

    The rule's σ is in units of ONE global scale, the RMS distance to the mean, which the gap inflates
    (sqrt(1 + L²/4) for centres L apart): in data units σ grows with L and the posterior mean averages
    across each component, pulling samples inside. ``bandwidth=`` set to one component's σ (the rule at
    its own n, rescaled by the scale ratio) is the remedy measured beside the default. The package's
    default, ``components='auto'``, looks for separated parts and models each on its own.

    Every separation uses the same sphere points (the same seed, shifted), so the rows differ by the gap
    only.

    Parameters
    ----------
    preset : Preset
        Sizes: ``components_n`` (per sphere), ``components_separations`` and ``components_samples``.
    say : callable
        Progress callback, one line per (separation, variant, step).
    seed : int, default 0
        Offset of the seeds of the data and the models.

    Returns
    -------
    Table
        ``"components"``, per separation ``L`` and inertia step the variants ``one global scale
        (components='none')``, ``default (components='auto')`` and ``σ of one component`` (only the first at
        ``L = 0``). Columns: ``model`` (``"IDM"`` or ``"IDM (moment)"``), ``variant``, ``separation``,
        ``components`` (spheres), ``n_train``, ``parts_found`` (the estimator's ``components_``, 1 when
        none), ``sigma_data_units``, ``mean_distance_to_manifold`` (to the nearer sphere),
        ``share_first_component`` (samples nearer the first centre; 1.0 at ``L = 0``), ``seconds``.
    """
    table = Table("components")
    nc, m = preset.components_n, preset.components_samples
    for L in preset.components_separations:
        rng = np.random.default_rng(9300 + seed)
        centres = [np.zeros(3)] if L == 0 else [np.array([-L / 2, 0, 0]), np.array([L / 2, 0, 0])]
        train = np.vstack([c + unit_sphere(nc, rng) for c in centres])
        per_component = nc ** (-1 / 6) / rms_scale(train)  # one component's rule σ, in global standardized units
        variants: tuple[tuple[str, dict[str, Any]], ...] = (
            ("one global scale (components='none')", {"components": "none"}),
            ("default (components='auto')", {}),
            ("σ of one component", {"bandwidth": per_component, "components": "none"}))
        for (name, kwargs), (label, step) in ((v, s) for v in variants for s in IDM_STEPS.items()):
            if L == 0 and name != variants[0][0]:
                continue
            say(f"  separated components: separation {L:g}, {name}, {label}")
            model = InertialDiffusion(intrinsic_dim=2, inertia=step, random_state=seed, **kwargs)
            samples, seconds = timed(lambda: model.fit(train).sample(m))
            dist = np.min([np.abs(np.linalg.norm(samples - c, axis=1) - 1.0) for c in centres], axis=0)
            share = float(np.mean(np.linalg.norm(samples - centres[0], axis=1) <
                                  np.linalg.norm(samples - centres[-1], axis=1))) if L else 1.0
            table.add(model=label, variant=name, separation=L, components=len(centres), n_train=len(train),
                      parts_found=len(getattr(model, "components_", None) or [None]),
                      sigma_data_units=sigma_in_data_units(model),
                      mean_distance_to_manifold=float(dist.mean()), share_first_component=share, seconds=seconds)
    return table


def run_curved(preset: Preset, say: Say, seed: int = 0) -> Table:
    """Swiss roll (d = 2) and trefoil knot (d = 1) in R^3: distance to the manifold against ``bandwidth_scale`` c.

    Mechanism: the posterior mean averages the kernel's neighbourhood, a chord of a curved manifold,
    which lies inside it (~ κσ²/2 for curvature κ); once σ reaches the gap between the roll's arms (2π)
    it averages across arms and the samples fall between the sheets.

    Parameters
    ----------
    preset : Preset
        Sizes: ``curved_n``, ``curved_scales`` (the values of c) and ``curved_samples``.
    say : callable
        Progress callback, one line per (manifold, c, step).
    seed : int, default 0
        Offset of the seeds of the data and the models.

    Returns
    -------
    Table
        ``"curved"``, one row per (manifold, c, step): ``model`` (``"IDM"`` or ``"IDM (moment)"``),
        ``data_set``, ``c``, ``d``, ``n_train``, ``rms_scale``,
        ``parts_found``, ``sigma_data_units``, ``mean_distance_to_manifold`` and
        ``p90_distance_to_manifold`` (data units), ``relative_mean_distance`` (mean distance / RMS scale),
        ``seconds``.
    """
    table = Table("curved")
    m = preset.curved_samples
    for name, manifold in (("swiss roll", SwissRoll(2, 3, random_state=seed)),
                           ("trefoil knot", TrefoilKnot(1, 3, random_state=seed))):
        train = manifold.sample(preset.curved_n, random_state=9400 + seed)
        scale = rms_scale(train)
        for c, (label, step) in ((c, s) for c in preset.curved_scales for s in IDM_STEPS.items()):
            say(f"  curved manifolds: {name}, c = {c:g}, {label}")
            model = InertialDiffusion(intrinsic_dim=manifold.intrinsic_dim, bandwidth_scale=c, inertia=step,
                                      random_state=seed)
            samples, seconds = timed(lambda: model.fit(train).sample(m))
            dist = manifold.distance(samples)
            table.add(model=label, data_set=name, c=c, d=manifold.intrinsic_dim, n_train=len(train), rms_scale=scale,
                      parts_found=len(getattr(model, "components_", None) or [None]),
                      sigma_data_units=sigma_in_data_units(model), mean_distance_to_manifold=float(dist.mean()),
                      p90_distance_to_manifold=float(np.quantile(dist, 0.9)),
                      relative_mean_distance=float(dist.mean() / scale), seconds=seconds)
    return table


def run_boundary(preset: Preset, say: Say, seed: int = 0) -> Table:
    """Uniform unit square in R^2: share of samples in the band within σ/2 (data units) of the edge.

    The population's share is exact, 1 - (1 - σ)²; the training set's own share is its sampling
    estimate. Mechanism: near an edge the posterior mean averages neighbours on one side only, so
    IDM pushes samples inwards; the ambient KDE (same σ) leaks half of the band's mass outside instead. The
    moment step spreads its draws around that mean with the posterior's covariance (inside the convex hull
    of the data only on average).

    Parameters
    ----------
    preset : Preset
        Sizes: ``boundary_n`` and ``boundary_samples``.
    say : callable
        Progress callback, one line per model.
    seed : int, default 0
        Offset of the seeds of the data and the models.

    Returns
    -------
    Table
        ``"boundary"``, rows ``IDM``, ``IDM (moment)`` and ``ambient KDE``, each with the band at its own σ:
        ``model``, ``n_train``, ``sigma_data_units``, ``band_width`` (σ/2), ``band_share`` (samples inside
        the square and within the band), ``population_band_share`` (exact), ``training_band_share``,
        ``share_inside_square``, ``seconds``.
    """
    table = Table("boundary")
    rng = np.random.default_rng(9500 + seed)
    train = rng.uniform(size=(preset.boundary_n, 2))
    sigma = None

    def band(X: np.ndarray, width: float) -> float:
        edge = np.minimum(X, 1 - X).min(axis=1)
        return float(np.mean((edge >= 0) & (edge < width)))  # inside the square only

    idm: list[tuple[str, Any]] = [(label, InertialDiffusion(intrinsic_dim=2, inertia=step, random_state=seed))
                                  for label, step in IDM_STEPS.items()]
    for name, model in idm + [("ambient KDE", AmbientKDE(intrinsic_dim=2, random_state=seed))]:
        say(f"  boundary: {name}")
        samples, seconds = timed(lambda: model.fit(train).sample(preset.boundary_samples))
        sigma = sigma_in_data_units(model)
        inside = float(np.mean(np.all((samples >= 0) & (samples <= 1), axis=1)))
        table.add(model=name, n_train=len(train), sigma_data_units=sigma, band_width=sigma / 2,
                  band_share=band(samples, sigma / 2), population_band_share=1 - (1 - sigma) ** 2,
                  training_band_share=band(train, sigma / 2), share_inside_square=inside, seconds=seconds)
    return table
