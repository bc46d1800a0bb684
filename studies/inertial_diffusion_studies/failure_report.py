"""Report sections: the lower bound to large n, the convention, the failure modes, real data.

Each section names the mechanism and states the measured headline; a section whose table is absent
(an older run folder) is left out. The failure modes show the moment inertia step (``"IDM (moment)"``) beside
the posterior mean (``"IDM"``) where the table has it; tables of runs before the moment step render as before.
"""

from __future__ import annotations

import numpy as np

from inertial_diffusion_studies.asymptote import local_slopes
from inertial_diffusion_studies.common import Table
from inertial_diffusion_studies.density import TAIL_RADII
from inertial_diffusion_studies.presets import Preset
from inertial_diffusion_studies.report import markdown

__all__ = ["render_more"]


def _section(title: str, text: str, table_md: str, figure: str) -> list[str]:
    return [title, "", text, "", table_md, "", f"![{figure}]({figure}.png)", ""]


#: Row label of the moment inertia step in the failure-mode tables.
MOMENT = "IDM (moment)"


def _step(t: Table) -> list[str]:
    """``["model"]`` when the table has the inertia step's column (noise, components, curved), else ``[]``:
    runs before the moment step wrote one step and no such column."""
    return ["model"] if any("model" in r for r in t.rows) else []


def _label(r: dict, steps: list[str]) -> str:
    return f"{r['variant']}, {r['model']}" if steps else r["variant"]


def _asymptote(preset: Preset, t: Table) -> list[str]:
    slopes = local_slopes(t)
    last = {}
    for s in slopes:
        last[s["d"]] = s
    summary = "; ".join(f"S^{d}: local slope {s['local_slope']:.3f} ± {s['standard_error']:.3f} between n = "
                        f"{s['n_from']} and {s['n_to']} (theory {s['theory']:.3f})" for d, s in last.items())
    text = (f"IDM's mean distance to S^d (D = d + 1), a floor-free lower bound of its W1, for n up to "
            f"{max(preset.asymptote_ns)}; m = {preset.asymptote_samples} samples per n, standard errors of the mean. "
            "No optimal transport is needed, so n can go far beyond the W1 experiment. The local slope between "
            "consecutive n's shows the pre-asymptotic regime: the rate n^(-2/(d+4)) is an asymptote, approached "
            f"slowly from above (shallower slopes at small n). Last local slopes: {summary}.")
    return _section("### 3b. The lower bound to large n (pre-asymptotic regime)", text,
                    markdown(t.rows, ["d", "n", "sigma", "mean_distance_to_manifold", "standard_error"]) + "\n\n" +
                    markdown(slopes, ["d", "n_from", "n_to", "local_slope", "standard_error", "theory"]),
                    "asymptote")


def _convention(preset: Preset, t: Table) -> list[str]:
    D = max(r["D"] for r in t.rows)
    ours = t.select(reading=t.rows[0]["reading"], step="posterior mean E[y | z]", D=D)
    other = [r for r in t.rows if r["D"] == D and "sqrt(2)" in r["reading"]]
    printed = t.select(reading=t.rows[0]["reading"], D=D)[0]
    text = (f"S^2 in R^D, n = {preset.convention_n}, h = n^(-1/3), the exact dense posterior. The printed step "
            "alpha_h^-1 (z + h grad log p_h(z)) moves the fraction h / v of the way to the posterior mean, v the "
            "noise variance of the reading, and leaves the normal noise |1 - h/v| sqrt(v (D - 3)) / alpha_h "
            "(`predicted_normal_residual`): ≈ 1 under ours (exactly h / v_h = "
            f"{printed['step_fraction']:.3f}), ≈ 1/2 under dX = -X dt + sqrt(2) dW, which leaves half the normal "
            f"noise. At D = {D}: mean distance to the sphere {other[0]['mean_distance_to_manifold']:.3f} under the "
            f"sqrt(2) reading, {printed['mean_distance_to_manifold']:.3f} for the printed step under ours, "
            f"{ours[0]['mean_distance_to_manifold']:.3f} for the posterior-mean form (our default). Only our reading "
            "is consistent with the paper's D-free claim; it remains an inference.")
    return _section("## 5. The convention (our inference)", text,
                    markdown(t.rows, ["reading", "step", "D", "h", "noise_variance", "step_fraction",
                                      "predicted_normal_residual", "mean_distance_to_manifold"]), "convention")


def _noise(preset: Preset, t: Table) -> list[str]:
    D, level = max(r["D"] for r in t.rows), max(r["noise"] for r in t.rows)
    worst, steps = t.select(D=D, noise=level), _step(t)
    text = (f"Uniform S^2, n = {preset.noise_n}, isotropic Gaussian noise of per-coordinate sd `noise` (sphere "
            f"radius 1) added to the training points in R^D; W1 to the clean population (m = {preset.noise_samples}, "
            f"floor {t.meta['floor']:.4f}). Variants: d given, and d estimated by each `dim_method` in "
            f"{list(preset.noise_dim_methods)}" + (", each with both inertia steps (`model`)" if steps else "") +
            ". Mechanisms: (1) samples are convex combinations of noisy points, so the noise is averaged over the "
            "kernel's neighbours by the posterior mean, not removed" +
            (" (the moment step keeps the noisy points' covariance)" if steps else "") +
            "; (2) at small scales the noise is "
            "D-dimensional, so a nearest-neighbour dimension estimate rises towards D and sigma = n^(-1/(d+4)) "
            f"with it. At D = {D}, noise {level:g}: " +
            "; ".join(f"{_label(r, steps)}: d = {r['intrinsic_dim']:.2f}, W1 {r['w1']:.3f}, distance "
                      f"{r['mean_distance_to_manifold']:.3f}" for r in worst) +
            f" (noisy training points: {worst[0]['train_distance_to_manifold']:.3f} from the sphere).")
    return _section("### 6.1 Ambient noise", text,
                    markdown(t.rows, steps + ["variant", "D", "noise", "intrinsic_dim", "sigma", "w1", "w1_raw",
                                      "mean_distance_to_manifold", "train_distance_to_manifold",
                                      "below_lower_bound"]), "noise")


def _components(preset: Preset, t: Table) -> list[str]:
    L = max(r["separation"] for r in t.rows)
    far, steps = t.select(separation=L), _step(t)
    single = [r for r in t.rows if r["separation"] == 0 and r.get("model", "IDM") == "IDM"]
    text = (f"Two unit spheres S^2 in R^3, {preset.components_n} points each, centres `separation` radii apart. "
            "Mechanism: with one global scale (RMS distance to the mean, inflated by the gap to sqrt(1 + L²/4)) "
            "sigma outgrows each component in data units and the posterior mean averages across it, pulling "
            "samples inside; the estimator's default (components='auto') finds the separated parts and models "
            f"each on its own. At separation {L:g}: " +
            "; ".join(f"{_label(r, steps)}: {r['parts_found']} part(s), sigma {r['sigma_data_units']:.3f} (data "
                      f"units), mean distance {r['mean_distance_to_manifold']:.3f}" for r in far) +
            (f"; one sphere alone: {single[0]['mean_distance_to_manifold']:.3f}." if single else "."))
    return _section("### 6.2 Separated components", text,
                    markdown(t.rows, steps + ["variant", "separation", "parts_found", "sigma_data_units",
                                              "mean_distance_to_manifold", "share_first_component"]), "components")


def _curved(preset: Preset, t: Table) -> list[str]:
    parts, steps = [], _step(t)
    for name, step in ((n, m) for n in dict.fromkeys(r["data_set"] for r in t.rows) for m in ("IDM", MOMENT)):
        rows = [r for r in t.select(data_set=name) if r.get("model", "IDM") == step]
        if rows:
            parts.append(f"{name}{f' ({step})' if steps else ''}: mean distance / RMS scale "
                         f"{rows[0]['relative_mean_distance']:.3f} at c = {rows[0]['c']:g} to "
                         f"{rows[-1]['relative_mean_distance']:.3f} at c = {rows[-1]['c']:g}")
    text = (f"Swiss roll (d = 2; arms 2π apart) and trefoil knot (d = 1) in R^3, n = {preset.curved_n}, "
            f"m = {preset.curved_samples}, against bandwidth_scale c. Mechanism: the posterior mean averages a "
            "kernel-sized neighbourhood, a chord inside a curved manifold (~ curvature x sigma² / 2); once sigma "
            "reaches the gap between the roll's arms it averages across them and samples fall between the "
            "sheets. " + ("Both inertia steps (`model`); the moment step draws around the posterior mean. " if steps
                          else "") + "; ".join(parts) + ".")
    return _section("### 6.3 Curved manifolds", text,
                    markdown(t.rows, steps + ["data_set", "c", "parts_found", "sigma_data_units",
                                              "mean_distance_to_manifold", "p90_distance_to_manifold",
                                              "relative_mean_distance"]), "curved")


def _boundary(preset: Preset, t: Table) -> list[str]:
    idm = t.select(model="IDM")[0]
    text = (f"Uniform unit square, n = {preset.boundary_n}, m = {preset.boundary_samples}; share of the mass within "
            f"sigma/2 = {idm['band_width']:.3f} of the edge. Mechanism: near an edge the posterior mean averages "
            "neighbours on one side only and pushes samples inwards (the KDE instead leaks mass outside). "
            f"Population {100 * idm['population_band_share']:.1f} %, training set "
            f"{100 * idm['training_band_share']:.1f} %, IDM {100 * idm['band_share']:.1f} %" +
            "".join(f", IDM (moment) {100 * r['band_share']:.1f} %" for r in t.select(model=MOMENT)) + ".")
    return _section("### 6.4 Boundaries", text,
                    markdown(t.rows, ["model", "sigma_data_units", "band_width", "band_share",
                                      "population_band_share", "training_band_share", "share_inside_square"]),
                    "boundary")


def _density(preset: Preset, t: Table) -> list[str]:
    idm, kde = t.select(model="IDM")[0], t.select(model="ambient KDE")[0]
    r = TAIL_RADII[0]
    text = (f"Standard 2-D Gaussian, n = {preset.density_n}, m = {preset.density_samples}. Mechanism: IDM's "
            "sample is a posterior mean; by the law of total variance Var E[y|z] = Var y - E Var(y|z) < Var y, "
            "largest in the sparse tails; the KDE adds sigma² instead. Variance: truth 1, IDM "
            f"{idm['variance']:.3f}, KDE {kde['variance']:.3f}; mass beyond |x| = {r:g}: truth "
            f"{100 * np.exp(-r * r / 2):.1f} %, IDM {100 * idm[f'tail_mass_r{r:g}']:.1f} %, KDE "
            f"{100 * kde[f'tail_mass_r{r:g}']:.1f} %." +
            "".join(f" The moment step draws around the posterior mean with the posterior's covariance, adding "
                    f"E Var(y|z) back: variance {m['variance']:.3f} (training set "
                    f"{t.select(model='training set')[0]['variance']:.3f}), mass beyond |x| = {r:g} "
                    f"{100 * m[f'tail_mass_r{r:g}']:.1f} %." for m in t.select(model=MOMENT)))
    return _section("### 6.5 Non-uniform density", text,
                    markdown(t.rows, ["model", "sigma_data_units", "variance"] +
                             [f"tail_mass_r{x:g}" for x in TAIL_RADII]), "density")


def _isolated(preset: Preset, t: Table) -> list[str]:
    r = t.select(model="IDM")[0]
    text = (f"Unit S^2 in R^3, n = {preset.isolated_n}, plus {preset.isolated_outliers} points at radius 3; "
            f"m = {preset.isolated_samples}. Mechanism: an isolated point's Gaussian component overlaps no other, "
            "so the posterior weight is 1 and m_h(z) = y: IDM returns (near-)copies of outliers. Default sampling: "
            f"samples nearest an outlier {100 * r['outlier_share_of_samples']:.2f} % (outliers are "
            f"{100 * r['outlier_share_of_training']:.2f} % of the data); of those, "
            f"{100 * r['copy_rate_near_outliers']:.0f} % are copies within 1e-6 x scale, "
            f"{100 * r['near_copy_rate_near_outliers']:.0f} % near-copies within 0.01 sigma; their median distance "
            f"to the outlier is {r['median_distance_near_outliers_over_sigma']:.2g} sigma. The estimator warned: "
            f"{'yes' if r['estimator_warned'] else 'no'} (n_isolated_ = {r['n_isolated_reported']}). The second "
            "row redraws copies (sample(..., exclude_copies=True))." +
            "".join(f" The moment step draws with the posterior's covariance, near 0 at an outlier: "
                    f"{100 * m['outlier_share_of_samples']:.2f} % of its samples nearest an outlier, of those "
                    f"{100 * m['copy_rate_near_outliers']:.0f} % copies, {100 * m['near_copy_rate_near_outliers']:.0f} "
                    f"% near-copies, median distance {m['median_distance_near_outliers_over_sigma']:.2g} sigma."
                    for m in t.select(model=MOMENT)))
    return _section("### 6.6 Isolated points", text,
                    markdown(t.rows, ["model", "outliers", "outlier_share_of_training", "outlier_share_of_samples",
                                      "copy_rate_near_outliers", "near_copy_rate_near_outliers", "copy_rate_elsewhere",
                                      "median_distance_near_outliers_over_sigma", "n_isolated_reported",
                                      "estimator_warned"]), "isolated")


def _small_n(preset: Preset, t: Table) -> list[str]:
    rows = []
    for n in sorted({r["n"] for r in t.rows}):
        at = t.select(n=n)
        row = {"n": n, "sigma": at[0]["sigma"], "w1_idm": float(np.mean([r["w1_idm"] for r in at]))}
        if all("w1_idm_moment" in r for r in at):  # runs before the moment step have no such column
            row["w1_idm_moment"] = float(np.mean([r["w1_idm_moment"] for r in at]))
        rows.append({**row, "w1_training_set": float(np.mean([r["w1_training_set"] for r in at])),
                     "seeds_idm_below_training": f"{sum(r['idm_below_training'] for r in at)} of {len(at)}"})
    text = (f"Uniform S^2 in R^3, n in {list(preset.small_ns)}, {preset.small_seeds} seeds, "
            f"m = {preset.small_samples}; floor-corrected W1 of IDM (`w1_idm`, the posterior mean"
            + ("; `w1_idm_moment`, the moment step" if "w1_idm_moment" in rows[0] else "") +
            ") and of the training set itself. Mechanism: sigma = n^(-1/6) is large at small n and the posterior "
            "mean pulls every sample into the convex hull of a few points, inside the sphere: the W1 gain of "
            "smoothing does not pay for that shrinkage.")
    return _section("### 6.7 Small n", text, markdown(rows, list(rows[0])), "small_n")


def _real_data(tables: dict[str, Table]) -> list[str]:
    """REAL-DATA HOOK: the section is ``real_data.render_real_data`` (issue 11, another engineer's module)."""
    from inertial_diffusion_studies.real_data import render_real_data

    out = ["## 7. Real data", "", "Written by `real_data.py` (issue 11): train-on-synthetic/test-on-real on "
           "tabular sets and, when Fashion-MNIST is installed, image fidelity against novelty.", "",
           render_real_data(tables), ""]
    if tables.get("real_data_images") is not None and tables["real_data_images"].rows:
        out += ["![real data](real_data_frontier.png)", ""]
    return out


_REST = (("convention", _convention), ("noise", _noise), ("components", _components), ("curved", _curved),
         ("boundary", _boundary), ("density", _density), ("isolated", _isolated), ("small_n", _small_n))


def render_more(preset: Preset, tables: dict[str, Table], part: str) -> list[str]:
    """Sections of ``part``: "asymptote" (after the rate) or "rest" (convention, failure modes, real data).

    Parameters
    ----------
    preset : Preset
        The run's preset (sizes quoted in the text).
    tables : dict of str to Table
        The run's tables by name; a section whose table is absent is left out.
    part : {"asymptote", "rest"}
        Which sections; any value other than ``"asymptote"`` gives the rest.

    Returns
    -------
    list of str
        Markdown lines (to join with newlines), empty when none of the part's tables is present.
    """
    if part == "asymptote":
        return _asymptote(preset, tables["asymptote"]) if "asymptote" in tables else []
    out = []
    for name, render in _REST:
        if name == "noise" and name in tables:
            out += ["## 6. Failure modes", "", "Each against the public estimator API, with the mechanism named.", ""]
        if name in tables:
            out += render(preset, tables[name])
    if "real_data_tabular" in tables or "real_data_images" in tables:
        out += _real_data(tables)
    return out
