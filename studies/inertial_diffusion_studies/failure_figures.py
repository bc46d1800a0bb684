"""Figures of the lower bound to large n, the convention and the failure modes (object API, no pyplot).

The drawing functions are private; :data:`FIGURES` maps each table name to its figure. Where a figure
compares models, the moment inertia step (``"IDM (moment)"``) is drawn beside the posterior mean when the table
has it: its own row of panels (noise), dashed lines with open markers (components, curved, small n), its own
bar (boundary, density, isolated points).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from inertial_diffusion_studies.asymptote import local_slopes
from inertial_diffusion_studies.common import Table
from inertial_diffusion_studies.density import TAIL_RADII
from inertial_diffusion_studies.figures import new_figure, save_figure

__all__ = ["FIGURES"]


def _asymptote_figure(table: Table, path: Path) -> None:
    """IDM's mean distance to S^d against n (± 2 SE) and its local slopes against the theory -2/(d+4)."""
    fig, (left, right) = new_figure(2)
    for d in sorted({r["d"] for r in table.rows}):
        rows = sorted(table.select(d=d), key=lambda r: r["n"])
        left.errorbar([r["n"] for r in rows], [r["mean_distance_to_manifold"] for r in rows],
                      yerr=[2 * r["standard_error"] for r in rows], marker="o", capsize=3, label=f"S^{d}")
        slopes = [s for s in local_slopes(table) if s["d"] == d]
        line = right.errorbar([s["n_mid"] for s in slopes], [s["local_slope"] for s in slopes],
                              yerr=[2 * s["standard_error"] for s in slopes], marker="o", capsize=3, label=f"S^{d}")
        right.axhline(-2 / (d + 4), color=line[0].get_color(), ls="--", lw=0.8,
                      label=f"-2/(d+4) = {-2 / (d + 4):.3f}")
    left.set(xscale="log", yscale="log", xlabel="n", title="IDM mean distance to S^d (W1 lower bound), ± 2 SE")
    right.set(xscale="log", xlabel="n (geometric midpoint)", title="local slope d log / d log n, ± 2 SE")
    left.legend(fontsize=8)
    right.legend(fontsize=7)
    save_figure(fig, path)


def _convention_figure(table: Table, path: Path) -> None:
    """Distance to S^2 after the inertia step against D, one line per (reading, step)."""
    fig, (ax,) = new_figure(1, width=6.5)
    for key in dict.fromkeys((r["reading"], r["step"]) for r in table.rows):
        rows = table.select(reading=key[0], step=key[1])
        ax.plot([r["D"] for r in rows], [r["mean_distance_to_manifold"] for r in rows], "o-",
                label=f"{key[0]}: {key[1]}")
    ax.set(xscale="log", yscale="log", xlabel="ambient dimension D", title="distance to S^2 after the inertia step")
    ax.legend(fontsize=7)
    save_figure(fig, path)


def _step(row: dict) -> str:
    return row.get("model", "IDM")  # runs before the moment step have one step and no column


def _noise_figure(table: Table, path: Path) -> None:
    """Corrected W1, intrinsic dimension used and distance to the sphere against D, per variant and noise level;
    one row of panels per inertia step (shared y axes per column)."""
    from matplotlib.figure import Figure

    levels = sorted({r["noise"] for r in table.rows})
    steps = list(dict.fromkeys(_step(r) for r in table.rows))
    fig = Figure(figsize=(16.5, 4.0 * len(steps)))
    grid = fig.subplots(len(steps), 3, squeeze=False, sharey="col")
    for axes, step in zip(grid, steps):
        for variant in dict.fromkeys(r["variant"] for r in table.rows):
            for level, style in zip(levels, ("-", "--", "-.", ":", "-")):
                rows = [r for r in table.select(variant=variant, noise=level) if _step(r) == step]
                D = [r["D"] for r in rows]
                label = f"{variant}, noise {level:g}"
                axes[0].plot(D, [max(r["w1"], 1e-3) for r in rows], "o" + style, label=label)
                axes[1].plot(D, [r["intrinsic_dim"] for r in rows], "o" + style, label=label)
                axes[2].plot(D, [r["mean_distance_to_manifold"] for r in rows], "o" + style, label=label)
        for ax, title in zip(axes, ("W1 to the clean population (floor-corrected)", "intrinsic dimension used",
                                    "mean distance to the sphere")):
            name = "IDM (posterior mean)" if step == "IDM" else step
            ax.set(xscale="log", xlabel="ambient dimension D", title=f"{name}: {title}" if len(steps) > 1 else title)
        axes[0].set_yscale("log")
    grid[0][0].legend(fontsize=6)
    save_figure(fig, path)


def _components_figure(table: Table, path: Path) -> None:
    """Distance to the two spheres and σ in data units against the separation, per variant (the moment step
    dashed, in the variant's colour; σ is the same for both steps)."""
    fig, axes = new_figure(2)
    for variant in dict.fromkeys(r["variant"] for r in table.rows):
        colour = None
        for step in dict.fromkeys(_step(r) for r in table.rows):
            rows = [r for r in table.select(variant=variant) if r["separation"] > 0 and _step(r) == step]
            x = [r["separation"] for r in rows]
            label = variant if step == "IDM" else f"{variant}, {step}"
            style = dict(marker="o", ls="-") if step == "IDM" else dict(marker="D", ls="--", mfc="none")
            line, = axes[0].plot(x, [r["mean_distance_to_manifold"] for r in rows], color=colour, label=label, **style)
            colour = line.get_color()
            if step == "IDM":
                axes[1].plot(x, [r["sigma_data_units"] for r in rows], "o-", color=colour, label=variant)
    single = [r for r in table.rows if r["separation"] == 0 and _step(r) == "IDM"]
    if single:
        axes[0].axhline(single[0]["mean_distance_to_manifold"], color="grey", ls=":", label="one sphere alone")
    axes[0].set(xscale="log", xlabel="centre distance / radius", title="mean distance to the two spheres")
    axes[1].set(xscale="log", yscale="log", xlabel="centre distance / radius", title="σ in data units")
    axes[0].legend(fontsize=8)
    save_figure(fig, path)


def _curved_figure(table: Table, path: Path) -> None:
    """Mean and 90 % distance to the manifold, and the distance relative to the RMS scale, against c (the moment
    step's means dashed, in the manifold's colour)."""
    fig, axes = new_figure(2)
    for name in dict.fromkeys(r["data_set"] for r in table.rows):
        rows = [r for r in table.select(data_set=name) if _step(r) == "IDM"]
        c = [r["c"] for r in rows]
        line, = axes[0].plot(c, [r["mean_distance_to_manifold"] for r in rows], "o-", label=f"{name}: mean")
        axes[0].plot(c, [r["p90_distance_to_manifold"] for r in rows], "^:", color=line.get_color(),
                     label=f"{name}: 90 %")
        axes[1].plot(c, [r["relative_mean_distance"] for r in rows], "o-", color=line.get_color(), label=name)
        moment = [r for r in table.select(data_set=name) if _step(r) != "IDM"]
        if moment:
            style = dict(marker="D", ls="--", mfc="none", color=line.get_color())
            axes[0].plot([r["c"] for r in moment], [r["mean_distance_to_manifold"] for r in moment],
                         label=f"{name}: mean, {_step(moment[0])}", **style)
            axes[1].plot([r["c"] for r in moment], [r["relative_mean_distance"] for r in moment],
                         label=f"{name}, {_step(moment[0])}", **style)
    axes[0].set(xscale="log", yscale="log", xlabel="bandwidth_scale c", title="distance to the manifold (data units)")
    axes[1].set(xscale="log", yscale="log", xlabel="bandwidth_scale c", title="mean distance / RMS scale of the data")
    axes[0].legend(fontsize=7)
    axes[1].legend(fontsize=7)
    save_figure(fig, path)


def _bars(ax, labels: list[str], values: list[float], title: str) -> None:
    ax.bar(np.arange(len(values)), values)
    ax.set_xticks(np.arange(len(values)), labels, fontsize=8)
    ax.set_title(title)


def _boundary_figure(table: Table, path: Path) -> None:
    """Bars of the mass within σ/2 of the square's edge: population, training set, each model."""
    fig, (ax,) = new_figure(1, width=6.5)
    first = table.rows[0]
    labels = ["population (exact)", "training set"] + [r["model"] for r in table.rows]
    values = [first["population_band_share"], first["training_band_share"]] + [r["band_share"] for r in table.rows]
    _bars(ax, labels, [100 * v for v in values], f"% of mass within σ/2 = {first['band_width']:.3f} of the edge")
    save_figure(fig, path)


def _density_figure(table: Table, path: Path) -> None:
    """Bars of the per-coordinate variance and of the tail masses beyond each radius, per model."""
    fig, axes = new_figure(1 + len(TAIL_RADII), width=4.5)
    labels = [r["model"].replace(" (", "\n(") for r in table.rows]
    _bars(axes[0], labels, [r["variance"] for r in table.rows], "per-coordinate variance")
    for ax, radius in zip(axes[1:], TAIL_RADII):
        _bars(ax, labels, [100 * r[f"tail_mass_r{radius:g}"] for r in table.rows], f"% of mass beyond |x| = {radius:g}")
    save_figure(fig, path)


def _isolated_figure(table: Table, path: Path) -> None:
    """Bars of the share of samples nearest an outlier, and of the copies and near-copies among them (the moment
    step's draws land near an outlier without copying it exactly)."""
    fig, axes = new_figure(3, width=4.5 + 0.6 * max(len(table.rows) - 2, 0))
    labels = [r["model"].replace(" (", "\n(").replace(", ", ",\n") for r in table.rows]
    _bars(axes[0], labels, [100 * r["outlier_share_of_samples"] for r in table.rows],
          f"% of samples nearest an outlier ({100 * table.rows[0]['outlier_share_of_training']:.2f} % of the data)")
    _bars(axes[1], labels, [100 * r["copy_rate_near_outliers"] for r in table.rows], "% copies among them")
    _bars(axes[2], labels, [100 * r["near_copy_rate_near_outliers"] for r in table.rows],
          "% near-copies among them (within 0.01 σ)")
    save_figure(fig, path)


def _small_n_figure(table: Table, path: Path) -> None:
    """Corrected W1 of IDM (each inertia step in the table) and of the training set itself against n (mean ± sd
    over seeds)."""
    fig, (ax,) = new_figure(1, width=6.5)
    ns = sorted({r["n"] for r in table.rows})
    keys = (("w1_idm", "IDM (posterior mean)"), ("w1_idm_moment", "IDM (moment)"),
            ("w1_training_set", "the training set itself"))
    for key, label in [(k, v) for k, v in keys if all(k in r for r in table.rows)]:  # older runs: no moment
        y = [np.mean([r[key] for r in table.select(n=n)]) for n in ns]
        e = [np.std([r[key] for r in table.select(n=n)]) for n in ns]
        ax.errorbar(ns, y, yerr=e, marker="o", capsize=3, label=label)
    ax.set(xscale="log", yscale="log", xlabel="n", title="W1 to S^2 (floor-corrected), mean ± sd over seeds")
    ax.legend(fontsize=8)
    save_figure(fig, path)


#: Figure per table name (the PNG is ``<name>.png``): ``draw(table, path)`` writes the PNG of that table, as
#: read back by :func:`~inertial_diffusion_studies.load_tables`; used by
#: :func:`~inertial_diffusion_studies.write_report`.
FIGURES = {"asymptote": _asymptote_figure, "convention": _convention_figure, "noise": _noise_figure,
           "components": _components_figure, "curved": _curved_figure, "boundary": _boundary_figure,
           "density": _density_figure, "isolated": _isolated_figure, "small_n": _small_n_figure}
