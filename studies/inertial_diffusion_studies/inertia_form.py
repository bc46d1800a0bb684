"""Experiment 4 — the inertia step's three forms against the ambient dimension.

Paper form :math:`\\hat x = \\alpha_h^{-1}(z + h\\nabla\\log\\hat p_h(z))` and posterior-mean form
:math:`\\hat x = m_h(z)` agree to first order in h; the paper form keeps a residual
:math:`(v_h - h)/v_h\\,(z - \\alpha_h m_h)/\\alpha_h` whose normal part grows like
:math:`\\sqrt{v_h (D - d)}`. The moment-matched form, a draw of :math:`N(m_h(z), \\operatorname{Cov}_h(y \\mid z))`,
is a combination of training points like the posterior mean, so it should be as free of D as the posterior
mean (:mod:`inertial_diffusion.core.inertia`).
"""

from __future__ import annotations

from inertial_diffusion.evaluation.datasets import Sphere
from inertial_diffusion_studies.common import (Say, Table, below_lower_bound, corrected_w1, models,
                                               timed, w1_floor)
from inertial_diffusion_studies.presets import Preset

__all__ = ["run_inertia_form"]

#: The inertia forms compared (keys of :func:`~inertial_diffusion_studies.common.models`).
FORMS = ("IDM (posterior mean)", "IDM (paper form)", "IDM (moment)")


def run_inertia_form(preset: Preset, say: Say, seed: int = 0) -> Table:
    """W1 to the population and mean distance to the sphere of every inertia form of :data:`FORMS`, for every D.

    Uniform S^2 embedded in R^D, the same training set at every D; see the module docstring for why the
    paper form's distance should grow with D while the posterior-mean and moment forms' do not.

    Parameters
    ----------
    preset : Preset
        Sizes: ``inertia_n``, ``inertia_dims``, ``inertia_samples`` (``m``) and ``floor_reps``.
    say : callable
        Progress callback, one line per (D, form).
    seed : int, default 0
        Offset of the seeds of the data, the embedding and the models.

    Returns
    -------
    Table
        ``"inertia_form"``, one row per (D, form): the columns of
        :func:`~inertial_diffusion_studies.ambient.run_ambient` but ``seed`` (``model``,
        ``D``, ``n_train``, ``n_samples``, ``sigma``, ``w1_raw``, ``w1``, ``w1_floor``,
        ``mean_distance_to_manifold``, ``below_lower_bound``, ``seconds``). ``meta["floor"]``: the W1
        floor at ``m = inertia_samples``.
    """
    table = Table("inertia_form")
    m = preset.inertia_samples
    floor = w1_floor(2, m, preset.floor_reps, seed)
    for D in preset.inertia_dims:
        sphere = Sphere(2, D, random_state=seed)
        train = sphere.sample(preset.inertia_n, random_state=3000 + seed)
        population = sphere.sample(m, random_state=4000 + seed)
        for name, model in models(2, seed, preset.cfdm_steps, preset.cfdm_noise, FORMS).items():
            say(f"  inertia form: D = {D}, {name}")
            samples, seconds = timed(lambda: model.fit(train).sample(m))
            raw, w1 = corrected_w1(samples, population, floor)
            bound = float(sphere.distance(samples).mean())
            table.add(model=name, D=D, n_train=preset.inertia_n, n_samples=m, sigma=model.bandwidth_,
                      w1_raw=raw, w1=w1, w1_floor=floor, mean_distance_to_manifold=bound,
                      below_lower_bound=below_lower_bound(w1, bound), seconds=seconds)
    table.meta["floor"] = floor
    return table
