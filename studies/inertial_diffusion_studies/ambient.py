"""Experiment 2 — ambient dimension: a d = 2 sphere, n fixed, embedded isometrically in R^D."""

from __future__ import annotations

from inertial_diffusion.evaluation.datasets import Sphere
from inertial_diffusion_studies.common import (Say, Table, below_lower_bound, corrected_w1, models,
                                               timed, w1_floor)
from inertial_diffusion_studies.presets import Preset

__all__ = ["run_ambient", "AMBIENT_MODELS"]

#: Models compared (keys of :func:`~inertial_diffusion_studies.common.models`).
AMBIENT_MODELS = ("IDM (posterior mean)", "IDM (moment)", "ambient KDE", "σ-CFDM")


def run_ambient(preset: Preset, say: Say, seed: int = 0) -> Table:
    """W1 to the population (floor-corrected) and mean distance to the sphere, for every D.

    The paper's claim under test: IDM's error does not grow with the ambient dimension D, since the
    bandwidth rule and the inertia step only see distances, which an isometric embedding keeps. Both
    D-free inertia steps run (the posterior mean and the moment-matched draw). The same training set (up to
    the embedding) is used at every D, so the rows differ by D alone; the ambient KDE (noise in all D
    directions) is the contrast.

    Parameters
    ----------
    preset : Preset
        Sizes: ``ambient_n``, ``ambient_dims``, ``ambient_samples`` (``m``), ``ambient_seeds``,
        ``floor_reps`` and ``cfdm_*``.
    say : callable
        Progress callback, one line per (seed, D, model).
    seed : int, default 0
        Offset of every seed (data, embedding, models).

    Returns
    -------
    Table
        ``"ambient"``, one row per (seed, D, model of :data:`AMBIENT_MODELS`): ``model``, ``D``, ``seed``,
        ``n_train``, ``n_samples``, ``sigma`` (standardized units), ``w1_raw``, ``w1`` (floor-corrected),
        ``w1_floor``, ``mean_distance_to_manifold`` (a lower bound of the true W1), ``below_lower_bound``,
        ``seconds``. ``meta["floor"]``: the W1 floor at ``m = ambient_samples``.

    See Also
    --------
    inertial_diffusion_studies.common.corrected_w1 : The W1 estimator and its floor.
    inertial_diffusion_studies.asymptote.run_asymptote : An example run on a small preset.
    """
    table = Table("ambient")
    m = preset.ambient_samples
    floor = w1_floor(2, m, preset.floor_reps, seed)
    for s in range(preset.ambient_seeds):
        for D in preset.ambient_dims:
            sphere = Sphere(2, D, random_state=seed + s)
            train = sphere.sample(preset.ambient_n, random_state=1000 + seed + s)
            population = sphere.sample(m, random_state=2000 + seed + s)
            for name, model in models(2, seed + s, preset.cfdm_steps, preset.cfdm_noise, AMBIENT_MODELS).items():
                say(f"  ambient dimension: D = {D}, seed {s}, {name}")
                samples, seconds = timed(lambda: model.fit(train).sample(m))
                raw, w1 = corrected_w1(samples, population, floor)
                bound = float(sphere.distance(samples).mean())
                table.add(model=name, D=D, seed=s, n_train=preset.ambient_n, n_samples=m, sigma=model.bandwidth_,
                          w1_raw=raw, w1=w1, w1_floor=floor, mean_distance_to_manifold=bound,
                          below_lower_bound=below_lower_bound(w1, bound), seconds=seconds)
    table.meta["floor"] = floor
    return table
