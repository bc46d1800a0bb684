"""``inertial-diffusion reproduce``: the paper's claims checked on data whose truth is known, and the
failure modes measured.

Experiments (each a function ``run(preset, say, seed) -> Table``, registered in :data:`EXPERIMENTS`):
memorization, ambient dimension, rate (with slope fits by a rule fixed in advance), the floor-free lower
bound to large n, inertia form, the OU convention, and the failure modes (ambient noise, separated
components, curved manifolds, boundaries, non-uniform density, isolated points, small n); then real data
(Fashion-MNIST, the scikit-learn tables) and the tabular benchmark. Where IDM is compared, the moment inertia
step (``inertia="moment"``) is measured beside the posterior mean, and the report applies the default-step rule
written before the full run (:mod:`~inertial_diffusion_studies.default_step`). :func:`run_experiments` runs them
all and writes ``report.md``, one CSV per table, ``run.json`` and PNG figures to a folder. Presets: ``quick`` (every
section, about a minute on 2 cores; run by the test suite) and ``full`` (the report in the README).

Command line: ``inertial-diffusion reproduce --full --out DIR`` (it calls :func:`run_experiments`). This
package is a study *of* the library, kept out of it: ``pip install -e studies`` in the repository.
:func:`write_report` redraws ``report.md`` and the figures of an existing run folder from its CSV files, e.g.
after a change of the report's text, without rerunning anything.

A new experiment is a function ``run(preset, say, seed)`` returning a
:class:`~inertial_diffusion_studies.common.Table` (the runner names it and times it) or a
dict of named tables, added to :data:`EXPERIMENTS` with any sizes it needs in
:class:`~inertial_diffusion_studies.presets.Preset`.
"""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path
from typing import Callable

from inertial_diffusion.io import atomic_write
from inertial_diffusion_studies.ambient import run_ambient
from inertial_diffusion_studies.asymptote import run_asymptote
from inertial_diffusion_studies.common import Say, Table
from inertial_diffusion_studies.convention import run_convention
from inertial_diffusion_studies.density import run_density, run_isolated, run_small_n
from inertial_diffusion_studies.geometry import run_boundary, run_components, run_curved
from inertial_diffusion_studies.inertia_form import run_inertia_form
from inertial_diffusion_studies.memorization import run_memorization
from inertial_diffusion_studies.noise import run_noise
from inertial_diffusion_studies.presets import FULL, PRESETS, QUICK, Preset
from inertial_diffusion_studies.rate import fit_slopes, run_rate
from inertial_diffusion_studies.report import render_report, write_csv

__all__ = ["run_experiments", "write_report", "load_tables", "EXPERIMENTS", "Preset", "QUICK", "FULL", "PRESETS",
           "Table"]

Run = Callable[[Preset, Say, int], "Table | dict[str, Table]"]

#: (table name, progress label, run) in report order.
EXPERIMENTS: tuple[tuple[str, str, Run], ...] = (
    ("memorization", "memorization", run_memorization),
    ("ambient", "ambient dimension", run_ambient),
    ("rate", "rate", run_rate),
    ("asymptote", "lower bound to large n", run_asymptote),
    ("inertia_form", "inertia form", run_inertia_form),
    ("convention", "convention", run_convention),
    ("noise", "failure mode: ambient noise", run_noise),
    ("components", "failure mode: separated components", run_components),
    ("curved", "failure mode: curved manifolds", run_curved),
    ("boundary", "failure mode: boundaries", run_boundary),
    ("density", "failure mode: non-uniform density", run_density),
    ("isolated", "failure mode: isolated points", run_isolated),
    ("small_n", "failure mode: small n", run_small_n),
)

def _experiments(folder: Path) -> list[tuple[str, str, Run]]:
    """:data:`EXPERIMENTS`, then the real-data section (:func:`~inertial_diffusion_studies.real_data.run_real_data`
    at the preset's ``real`` sizes, writing its own files to ``folder``) and the tabular benchmark."""
    from inertial_diffusion_studies.real_data import run_real_data

    steps = list(EXPERIMENTS)
    steps.append(("real_data", "real data", lambda preset, say, seed: run_real_data(preset.real, folder, say)))
    steps.append(("tabular", "tables: IDM against the generators tabular users pick", _run_tabular))
    return steps


def _run_tabular(preset: Preset, say: Say, seed: int) -> Table:
    """The tabular benchmark at the preset's size, without ForestDiffusion (hundreds of seconds per table:
    ``benchmarks/tabular.py`` runs it); peers and tables that are not installed are reported as skipped."""
    from dataclasses import replace

    from inertial_diffusion_studies.tabular import run_tabular_benchmark
    from inertial_diffusion_studies.tabular_generators import tabular_generators

    chosen = preset.tabular
    if chosen.generators is None:
        chosen = replace(chosen, generators=tuple(g.name for g in tabular_generators() if g.name != "ForestDiffusion"))
    return run_tabular_benchmark(chosen, say)


def _prepare(out: str | Path, force: bool) -> Path:
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"{out}: exists and is not a folder")
    if out.exists() and any(out.iterdir()) and not force:
        raise ValueError(f"{out}: already exists and is not empty; use --force or another --out")
    out.mkdir(parents=True, exist_ok=True)
    return out


def run_experiments(preset: Preset | str, out: str | Path, *, force: bool = False, say: Say | None = None,
                    seed: int = 0) -> dict[str, Table]:
    """Run every experiment and write ``report.md``, CSVs, ``run.json`` and PNGs to ``out``; return the tables.

    The one entry point of ``inertial-diffusion reproduce`` and ``python -m inertial_diffusion_studies``.
    The experiments run in the order of :data:`EXPERIMENTS` (then real data and the tables);
    the rate fits (table ``"rate_fit"``) are computed from the ``"rate"`` table; the report and figures are
    then drawn from the files just written, by :func:`write_report`, so a run and a redraw give the same
    report.

    Parameters
    ----------
    preset : Preset or {"quick", "full"}
        Sizes of every experiment (:data:`PRESETS` by name). ``"quick"`` takes about a minute on 2 cores.
    out : str or Path
        Output folder; created (with parents) if missing.
    force : bool, default False
        Write into an existing non-empty folder (files of the same name are replaced).
    say : callable, optional
        Progress callback ``say(line)``, one line per experiment and step; None (default) is silent.
    seed : int, default 0
        Seed of every random draw; the same seed gives the same tables (timings aside).

    Returns
    -------
    dict of str to Table
        The tables by name, ``"rate_fit"`` included.

    Raises
    ------
    ValueError
        Unknown preset name; ``out`` exists and is not a folder, or is a non-empty folder and ``force``
        is False.
    """
    if isinstance(preset, str):
        if preset not in PRESETS:
            raise ValueError(f"unknown preset {preset!r}; expected one of {sorted(PRESETS)}")
        preset = PRESETS[preset]
    say = say or (lambda message: None)
    folder = _prepare(out, force)
    start = time.perf_counter()
    tables: dict[str, Table] = {}
    steps = _experiments(folder)
    for k, (name, label, run) in enumerate(steps, 1):
        say(f"[{k}/{len(steps)}] {label}")
        t0 = time.perf_counter()
        result = run(preset, say, seed)
        if isinstance(result, Table):
            result.name, result.seconds = name, time.perf_counter() - t0
            result = {name: result}
        tables.update(result)
    names = list(tables)
    tables["rate_fit"] = fit_slopes(tables["rate"])
    for table in tables.values():
        write_csv(table, folder)
    atomic_write(folder / "run.json", lambda p: p.write_text(json.dumps(
        {"preset": preset.name, "seed": seed, "seconds": time.perf_counter() - start, "tables": names,
         "table_seconds": {n: tables[n].seconds for n in names}, "meta": {n: tables[n].meta for n in names}},
        indent=1)))
    write_report(folder)
    say(f"wrote report.md, {len(tables)} CSV files and the figures to {folder}/")
    return tables


def _number(text: str):
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return {"True": True, "False": False}.get(text, text)


def load_tables(folder: str | Path) -> dict[str, Table]:
    """Read the CSV files of a ``reproduce`` run back into tables (numbers parsed, ``meta`` from ``run.json``).

    CSV cells are parsed as int, then float, then ``True``/``False``, else kept as text; an empty cell (a
    column absent from that row) stays ``""``. The ``"rate_fit"`` table is recomputed from ``"rate"``.

    Parameters
    ----------
    folder : str or Path
        A run folder written by :func:`run_experiments` (with ``run.json``).

    Returns
    -------
    dict of str to Table
        The tables listed in ``run.json``, with their ``seconds`` and ``meta``, plus ``"rate_fit"``.
    """
    folder = Path(folder)
    info = json.loads((folder / "run.json").read_text())
    tables = {}
    for name in info["tables"]:
        with open(folder / f"{name}.csv", newline="") as fh:
            tables[name] = Table(name, [{k: _number(v) for k, v in row.items()} for row in csv.DictReader(fh)],
                                 seconds=info["table_seconds"][name], meta=info["meta"][name])
    tables["rate_fit"] = fit_slopes(tables["rate"])
    return tables


def write_report(folder: str | Path) -> Path:
    """(Re)write ``report.md`` and the figures of a run folder from its CSV files and ``run.json``.

    Each figure is drawn only when its table is in the folder; ``run.json``'s optional ``"note"`` is printed
    under the report's title. Files are replaced atomically.

    Parameters
    ----------
    folder : str or Path
        A run folder written by :func:`run_experiments`.

    Returns
    -------
    Path
        The path of ``report.md``.
    """
    from inertial_diffusion_studies.failure_figures import FIGURES
    from inertial_diffusion_studies.figures import (ambient_figure, inertia_figure,
                                                    memorization_figure, rate_figure)

    folder = Path(folder)
    info = json.loads((folder / "run.json").read_text())
    tables = load_tables(folder)
    figures = {"memorization": memorization_figure, "ambient": ambient_figure,
               "rate": lambda t, p: rate_figure(t, tables["rate_fit"], p),
               "inertia": lambda t, p: inertia_figure(tables["inertia_form"], p), **FIGURES}
    for name, draw in figures.items():
        source = "inertia_form" if name == "inertia" else name
        if source in tables:
            atomic_write(folder / f"{name}.png", lambda p: draw(tables[source], p))
    if tables.get("real_data_images") is not None and tables["real_data_images"].rows:  # REAL-DATA HOOK
        from inertial_diffusion_studies.real_data import real_data_figure

        atomic_write(folder / "real_data_frontier.png", lambda p: real_data_figure(tables["real_data_images"], p))
    report = render_report(PRESETS[info["preset"]], tables, info["seconds"], info.get("note", ""))
    if tables.get("tabular") is not None and tables["tabular"].rows:
        from inertial_diffusion_studies.tabular_report import render_tabular, tabular_figure

        atomic_write(folder / "tabular.png", lambda p: tabular_figure(tables["tabular"], p))
        report += ("\n## Tables: IDM against the generators tabular users pick\n\n"
                   "(`studies/inertial_diffusion_studies/tabular.py`: protocol and metrics; ForestDiffusion runs in "
                   "`benchmarks/tabular.py`.)\n\n" + render_tabular(tables["tabular"]) + "\n![tabular](tabular.png)\n")
    atomic_write(folder / "report.md", lambda p: p.write_text(report))
    return folder / "report.md"
