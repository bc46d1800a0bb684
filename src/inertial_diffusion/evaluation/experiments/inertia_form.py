"""Experiment 4 — the inertia step's two forms against the ambient dimension.

Paper form :math:`\\hat x = \\alpha_h^{-1}(z + h\\nabla\\log\\hat p_h(z))` and posterior-mean form
:math:`\\hat x = m_h(z)` agree to first order in h; the paper form keeps a residual
:math:`(h - v_h)/v_h\\,(z - \\alpha_h m_h)/\\alpha_h` whose normal part grows like
:math:`\\sqrt{v_h (D - d)}`.
"""

from __future__ import annotations

from inertial_diffusion.evaluation.datasets import Sphere
from inertial_diffusion.evaluation.experiments.common import (Say, Table, below_lower_bound, corrected_w1, models,
                                                             timed, w1_floor)
from inertial_diffusion.evaluation.experiments.presets import Preset

__all__ = ["run_inertia_form"]

FORMS = ("IDM (posterior mean)", "IDM (paper form)")


def run_inertia_form(preset: Preset, say: Say, seed: int = 0) -> Table:
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
