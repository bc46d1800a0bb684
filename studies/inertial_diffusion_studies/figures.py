"""Figures of the ``reproduce`` report (PNG).

Drawn with matplotlib's object API (``matplotlib.figure.Figure``, rendered by Agg on ``savefig``), never
``pyplot``: no global state, no GUI backend, safe in threads and headless runs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from inertial_diffusion_studies.common import Table
from inertial_diffusion_studies.rate import IDM_STEPS, lower_bound_name, theory_slope

__all__ = ["memorization_figure", "ambient_figure", "rate_figure", "inertia_figure", "new_figure", "save_figure",
           "mean_by"]


def new_figure(ncols: int, width: float = 5.5, height: float = 4.0):
    """A figure with ``ncols`` axes in one row (object API, no pyplot).

    Parameters
    ----------
    ncols : int
        Number of axes.
    width : float, default 5.5
        Width of each axes' column, in inches.
    height : float, default 4.0
        Figure height, in inches.

    Returns
    -------
    fig : matplotlib.figure.Figure
        The figure (not registered with pyplot; nothing to close).
    axes : ndarray of matplotlib.axes.Axes, shape (ncols,)
        Its axes, left to right.
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width * ncols, height))
    return fig, fig.subplots(1, ncols, squeeze=False)[0]


def save_figure(fig, path: Path) -> None:
    """Lay ``fig`` out tightly and write it as a PNG at 120 dpi.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        A figure from :func:`new_figure`.
    path : Path
        The PNG file to write.
    """
    fig.tight_layout()
    fig.savefig(path, dpi=120, format="png")


def memorization_figure(table: Table, path: Path) -> None:
    """Bars of the exact-copy rate and the DupRate (% of samples) per data set and model.

    Parameters
    ----------
    table : Table
        The ``"memorization"`` table (rows as written by the experiment or read back by ``load_tables``).
    path : Path
        The PNG file to write.
    """
    data_sets = list(dict.fromkeys(r["data_set"] for r in table.rows))
    names = list(dict.fromkeys(r["model"] for r in table.rows))
    fig, axes = new_figure(2)
    width = 0.8 / len(names)
    for ax, key, title in zip(axes, ("copy_rate", "dup_rate"), ("exact copies", "DupRate (p1 of train NN)")):
        for k, name in enumerate(names):
            vals = [100 * table.select(data_set=ds, model=name)[0][key] for ds in data_sets]
            ax.bar(np.arange(len(data_sets)) + k * width, vals, width, label=name)
        ax.set_xticks(np.arange(len(data_sets)) + 0.4 - width / 2, data_sets, fontsize=8)
        ax.set_title(title)
        ax.set_ylabel("% of samples")
    axes[0].legend(fontsize=7)
    save_figure(fig, path)


def mean_by(table: Table, model: str, xkey: str, ykey: str, **match) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean and standard deviation of column ``ykey`` per distinct ``xkey``, over one model's rows.

    Parameters
    ----------
    table : Table
        Rows with a ``model`` column.
    model : str
        The model whose rows are summarized.
    xkey : str
        The grouping column (e.g. ``"n"`` or ``"D"``).
    ykey : str
        The summarized column.
    **match : Any
        Further column filters, as in :meth:`Table.select` (e.g. ``d=2``).

    Returns
    -------
    x : ndarray of shape (k,)
        The distinct values of ``xkey``, ascending.
    mean : ndarray of shape (k,)
        Mean of ``ykey`` at each x (over seeds).
    sd : ndarray of shape (k,)
        Population standard deviation (``ddof=0``) at each x; 0 for a single row.

    Examples
    --------
    >>> from inertial_diffusion_studies.common import Table
    >>> t = Table("rate")
    >>> for n, seed, w in ((100, 0, 0.3), (100, 1, 0.5), (400, 0, 0.2)):
    ...     t.add(model="IDM", d=1, n=n, seed=seed, w1=w)
    >>> x, y, e = mean_by(t, "IDM", "n", "w1", d=1)
    >>> x.tolist(), y.round(3).tolist(), e.round(3).tolist()
    ([100, 400], [0.4, 0.2], [0.1, 0.0])
    """
    rows = table.select(model=model, **match)
    xs = sorted({r[xkey] for r in rows})
    ys = [[r[ykey] for r in rows if r[xkey] == x] for x in xs]
    return np.array(xs), np.array([np.mean(y) for y in ys]), np.array([np.std(y) for y in ys])


def _versus_dimension(table: Table, path: Path, panels: tuple[tuple[str, str], ...], floor_panel: int | None) -> None:
    """One log-log panel per (column, title) against D, a line per model (mean ± sd over seeds)."""
    fig, axes = new_figure(len(panels))
    for name in dict.fromkeys(r["model"] for r in table.rows):
        for ax, (key, _) in zip(axes, panels):
            x, y, e = mean_by(table, name, "D", key)
            ax.errorbar(x, y, yerr=e, marker="o", capsize=3, label=name)
    if floor_panel is not None:
        floor = table.rows[0]["w1_floor"]
        axes[floor_panel].axhline(floor, color="grey", ls=":", label=f"W1 floor F = {floor:.3f}")
    for ax, (_, title) in zip(axes, panels):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("ambient dimension D")
        ax.set_title(title)
    axes[0].legend(fontsize=8)
    save_figure(fig, path)


_W1_TITLE = "W1 to the population (floor-corrected)"
_DIST_TITLE = "mean distance to the sphere"


def ambient_figure(table: Table, path: Path) -> None:
    """Corrected W1 (with the floor) and mean distance to the sphere against D, one line per model.

    Parameters
    ----------
    table : Table
        The ``"ambient"`` table (rows as written by the experiment or read back by ``load_tables``).
    path : Path
        The PNG file to write.
    """
    _versus_dimension(table, path, (("w1", _W1_TITLE), ("mean_distance_to_manifold", _DIST_TITLE)), floor_panel=0)


def _rule_label(fit: dict) -> str:
    slope = fit["slope_rule"]
    return f"slope {slope:.2f} by the rule" if np.isfinite(slope) else "no fit by the rule"


def rate_figure(table: Table, fits: Table, path: Path) -> None:
    """Log-log W1 against n, one panel per d: IDM per inertia step and D, the empirical measure, the theory slope.

    The posterior-mean step (``"IDM"``) is drawn with filled circles, the moment step (``"IDM (moment)"``,
    absent from older runs) with open diamonds and dashed lines. Each panel also shows each step's mean
    distance to the sphere (the floor-free lower bound), the floor F, the rule's threshold 1.5 F, and red
    crosses at corrected W1 values below their lower bound; the legend gives the rule fit's and the
    all-points slope. The theory line starts at the posterior-mean step's first point.

    Parameters
    ----------
    table : Table
        The ``"rate"`` table.
    fits : Table
        Its ``"rate_fit"`` table (:func:`~inertial_diffusion_studies.rate.fit_slopes`).
    path : Path
        The PNG file to write.
    """
    dims = sorted({r["d"] for r in table.rows})
    fig, axes = new_figure(len(dims), height=6.4)
    styles = {"IDM": (dict(marker="o"), "^:"), "IDM (moment)": (dict(marker="D", ls="--", mfc="none"), "v:")}
    for ax, d in zip(axes, dims):
        flagged = []
        for model in IDM_STEPS:
            line, bound = styles[model]
            colour = None  # each step's lower bound in the colour of its W1 at D = d + 1
            for D in sorted({r["D"] for r in table.rows if r["d"] == d and r["model"] == model}):
                x, y, e = mean_by(table, model, "n", "w1", d=d, D=D)
                fit = fits.select(model=model, d=d, D=D)[0]
                drawn = ax.errorbar(x, y, yerr=e, capsize=3, label=f"{model}, D = {D} ({_rule_label(fit)}, "
                                    f"{fit['slope']:.2f} all)", **line)
                colour = drawn[0].get_color() if D == d + 1 else colour
                flagged += [r for r in table.select(model=model, d=d, D=D) if r.get("below_lower_bound")]
            if table.select(model=model, d=d, D=d + 1):
                x, y, _ = mean_by(table, model, "n", "mean_distance_to_manifold", d=d, D=d + 1)
                fit = fits.select(model=lower_bound_name(model), d=d, D=d + 1)[0]
                ax.plot(x, y, bound, color=colour, label=f"{model} mean distance to S^{d}, a W1 lower bound "
                        f"(slope {fit['slope']:.2f})")
        if flagged:
            ax.plot([r["n"] for r in flagged], [max(r["w1"], 1e-4) for r in flagged], "rx", ms=8,
                    label=f"corrected W1 below its lower bound ({len(flagged)} points)")
        x, y, e = mean_by(table, "empirical measure", "n", "w1", d=d)
        fit = fits.select(model="empirical measure", d=d)[0]
        ax.errorbar(x, y, yerr=e, marker="s", capsize=3,
                    label=f"empirical measure ({_rule_label(fit)}, {fit['slope']:.2f} all)")
        x_idm, y_idm, _ = mean_by(table, "IDM", "n", "w1", d=d, D=d + 1)
        if y_idm.size and y_idm[0] > 0:
            ax.plot(x_idm, y_idm[0] * (x_idm / x_idm[0]) ** theory_slope(d), "k--",
                    label=f"n^(-2/(d+4)) = n^({theory_slope(d):.2f})")
        floor = table.select(model="IDM", d=d)[0]["w1_floor"]
        ax.axhline(floor, color="grey", ls=":", label=f"W1 floor F = {floor:.3f}")
        ax.axhline(1.5 * floor, color="grey", ls="-.", lw=0.8, label="1.5 F (the rule's threshold for the bound)")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("n")
        ax.set_title(f"S^{d}: W1 to the population")
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.14))
    save_figure(fig, path)


def inertia_figure(table: Table, path: Path) -> None:
    """Mean distance to the sphere and corrected W1 against D for the inertia forms (one line per form).

    Parameters
    ----------
    table : Table
        The ``"inertia_form"`` table (rows as written by the experiment or read back by ``load_tables``).
    path : Path
        The PNG file to write.
    """
    _versus_dimension(table, path, (("mean_distance_to_manifold", _DIST_TITLE), ("w1", _W1_TITLE)), floor_panel=None)
