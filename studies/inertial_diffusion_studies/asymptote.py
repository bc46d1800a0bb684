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
from inertial_diffusion_studies.common import Say, Table, timed
from inertial_diffusion_studies.presets import Preset

__all__ = ["run_asymptote", "local_slopes"]


def run_asymptote(preset: Preset, say: Say, seed: int = 0) -> Table:
    """Per (d, n): mean distance of ``asymptote_samples`` IDM samples to S^d (D = d + 1) and its standard error.

    Like every experiment, a function ``run(preset, say, seed) -> Table`` (see the example).

    Parameters
    ----------
    preset : Preset
        Sizes: ``asymptote_intrinsic_dims``, ``asymptote_ns`` and ``asymptote_samples`` (``m``).
    say : callable
        Progress callback, one line per (d, n).
    seed : int, default 0
        Offset of the seeds of the training sets and of the models.

    Returns
    -------
    Table
        ``"asymptote"``, one row per (d, n): ``d``, ``D``, ``n``, ``sigma`` (standardized units),
        ``mean_distance_to_manifold``, ``standard_error`` (of that mean, ``sd / sqrt(m)``), ``seconds``.

    See Also
    --------
    local_slopes : The slopes between consecutive n's.

    Examples
    --------
    A small preset for a quick look (:func:`dataclasses.replace` of a preset):

    >>> from dataclasses import replace
    >>> from inertial_diffusion_studies.presets import QUICK
    >>> tiny = replace(QUICK, asymptote_intrinsic_dims=(1,), asymptote_ns=(100, 400), asymptote_samples=200)
    >>> table = run_asymptote(tiny, say=print)
      lower bound to large n: d = 1, n = 100
      lower bound to large n: d = 1, n = 400
    >>> [(r["n"], round(r["sigma"], 3)) for r in table.rows]  # the rule's sigma = n^(-1/(d+4))
    [(100, 0.398), (400, 0.302)]
    >>> near, far = (r["mean_distance_to_manifold"] for r in table.rows)
    >>> bool(far < near)
    True
    """
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
    """Slope of log(mean distance) between consecutive n's, with its standard error (delta method).

    For n_a < n_b the slope is :math:`\\log(\\bar r_b/\\bar r_a)/\\log(n_b/n_a)`, with standard error
    :math:`\\sqrt{(s_a/\\bar r_a)^2 + (s_b/\\bar r_b)^2}/\\log(n_b/n_a)` (independent means :math:`\\bar r`
    with standard errors :math:`s`).

    Parameters
    ----------
    table : Table
        Rows with ``d``, ``n``, ``mean_distance_to_manifold`` and ``standard_error``, as written by
        :func:`run_asymptote`.

    Returns
    -------
    list of dict
        One dict per consecutive pair of n's of each d (d ascending, n ascending): ``d``, ``n_from``,
        ``n_to``, ``local_slope``, ``standard_error``, ``theory`` (:math:`-2/(d+4)`) and ``n_mid`` (the
        geometric mean of the two n's, where the slope is plotted).

    Examples
    --------
    >>> from inertial_diffusion_studies.common import Table
    >>> t = Table("asymptote")
    >>> t.add(d=1, n=100, mean_distance_to_manifold=0.1, standard_error=0.001)
    >>> t.add(d=1, n=400, mean_distance_to_manifold=0.05, standard_error=0.001)
    >>> s = local_slopes(t)[0]
    >>> round(s["local_slope"], 3), round(s["standard_error"], 4), s["theory"], s["n_mid"]
    (-0.5, 0.0161, -0.4, 200.0)
    """
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
