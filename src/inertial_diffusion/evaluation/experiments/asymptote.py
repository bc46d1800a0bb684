"""Experiment 3b — IDM's floor-free W1 lower bound (mean distance to S^d) out to large n.

Every population point lies on the sphere, so :math:`W_1(\\mu_n, p) \\ge E_{\\mu_n}\\mathrm{dist}(x, S^d)`.
The bound needs no optimal transport and has no sampling floor (its error is that of a mean), so it
can follow n far beyond what exact W1 allows and show whether the local slope
:math:`\\Delta\\log(\\cdot)/\\Delta\\log n` approaches the theory :math:`-2/(d+4)` (pre-asymptotic regime).
"""

from __future__ import annotations

import math

import numpy as np

from inertial_diffusion import InertialDiffusion
from inertial_diffusion.evaluation.datasets import Sphere
from inertial_diffusion.evaluation.experiments.common import Say, Table, timed
from inertial_diffusion.evaluation.experiments.presets import Preset

__all__ = ["run_asymptote", "local_slopes"]


def run_asymptote(preset: Preset, say: Say, seed: int = 0) -> Table:
    """Per (d, n): mean distance of ``asymptote_samples`` IDM samples to S^d (D = d + 1) and its standard error."""
    table = Table("asymptote")
    m = preset.asymptote_samples
    for d in preset.asymptote_intrinsic_dims:
        sphere = Sphere(d, d + 1, random_state=seed)
        for n in preset.asymptote_ns:
            say(f"  lower bound to large n: d = {d}, n = {n}")
            train = sphere.sample(n, random_state=7000 + seed + n)
            model = InertialDiffusion(intrinsic_dim=d, random_state=seed)
            samples, seconds = timed(lambda: model.fit(train).sample(m))
            dist = sphere.distance(samples)
            table.add(d=d, D=d + 1, n=n, sigma=model.bandwidth_, mean_distance_to_manifold=float(dist.mean()),
                      standard_error=float(dist.std(ddof=1) / math.sqrt(m)), seconds=seconds)
    return table


def local_slopes(table: Table) -> list[dict]:
    """Slope of log(mean distance) between consecutive n's, with its standard error (delta method)."""
    out = []
    for d in sorted({r["d"] for r in table.rows}):
        rows = sorted(table.select(d=d), key=lambda r: r["n"])
        for a, b in zip(rows, rows[1:]):
            span = math.log(b["n"] / a["n"])
            slope = math.log(b["mean_distance_to_manifold"] / a["mean_distance_to_manifold"]) / span
            se = math.hypot(a["standard_error"] / a["mean_distance_to_manifold"],
                            b["standard_error"] / b["mean_distance_to_manifold"]) / span
            out.append({"d": d, "n_from": a["n"], "n_to": b["n"], "local_slope": slope, "standard_error": se,
                        "theory": -2.0 / (d + 4.0), "n_mid": float(np.sqrt(a["n"] * b["n"]))})
    return out
