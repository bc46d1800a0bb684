"""``inertial-diffusion reproduce``: the paper's claims checked on data whose truth is known.

Four experiments (memorization, ambient dimension, rate, inertia form), each a function returning a
:class:`~inertial_diffusion.evaluation.experiments.common.Table`; :func:`run_experiments` runs them all and
writes ``report.md``, one CSV per table and PNG figures to a folder. Presets: ``quick`` (about two
minutes on 2 cores; run by the test suite) and ``full`` (the report in the README).

Command line: ``inertial-diffusion reproduce --full --out DIR`` or
``python -m inertial_diffusion.evaluation.experiments --quick --out DIR``.
"""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path

from inertial_diffusion.io import atomic_write
from inertial_diffusion.evaluation.experiments.ambient import run_ambient
from inertial_diffusion.evaluation.experiments.common import Say, Table
from inertial_diffusion.evaluation.experiments.figures import ambient_figure, inertia_figure, memorization_figure, rate_figure
from inertial_diffusion.evaluation.experiments.inertia_form import run_inertia_form
from inertial_diffusion.evaluation.experiments.memorization import run_memorization
from inertial_diffusion.evaluation.experiments.presets import FULL, PRESETS, QUICK, Preset
from inertial_diffusion.evaluation.experiments.rate import fit_slopes, run_rate
from inertial_diffusion.evaluation.experiments.report import render_report, write_csv

__all__ = ["run_experiments", "write_report", "load_tables", "Preset", "QUICK", "FULL", "PRESETS", "Table"]


def _prepare(out: Path, force: bool) -> Path:
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"{out}: exists and is not a folder")
    if out.exists() and any(out.iterdir()) and not force:
        raise ValueError(f"{out}: already exists and is not empty; use --force or another --out")
    out.mkdir(parents=True, exist_ok=True)
    return out


def run_experiments(preset: Preset | str, out: str | Path, *, force: bool = False, say: Say | None = None,
                    seed: int = 0) -> dict[str, Table]:
    """Run the four experiments and write ``report.md``, CSVs and PNGs to ``out``; return the tables."""
    preset = PRESETS[preset] if isinstance(preset, str) else preset
    say = say or (lambda message: None)
    folder = _prepare(out, force)
    start = time.perf_counter()
    tables: dict[str, Table] = {}
    floors: dict = {}
    steps = [("memorization", lambda: run_memorization(preset, say, seed)),
             ("ambient", lambda: run_ambient(preset, say, seed)),
             ("rate", lambda: run_rate(preset, say, seed)),
             ("inertia_form", lambda: run_inertia_form(preset, say, seed))]
    for k, (name, step) in enumerate(steps, 1):
        say(f"[{k}/4] {name.replace('_', ' ')}")
        t0 = time.perf_counter()
        result = step()
        if name == "ambient":
            result, floors["ambient"] = result
        elif name == "rate":
            result, floors["rate"] = result
        result.seconds = time.perf_counter() - t0
        tables[name] = result
    tables["rate_fit"] = fit_slopes(tables["rate"])
    for table in tables.values():
        write_csv(table, folder)
    atomic_write(folder / "run.json", lambda p: p.write_text(json.dumps(
        {"preset": preset.name, "seed": seed, "seconds": time.perf_counter() - start,
         "floors": {"ambient": floors["ambient"], "rate": floors["rate"]}})))
    write_report(folder)
    say(f"wrote report.md, {len(tables)} CSV files and 4 figures to {folder}/")
    return tables


def _number(text: str):
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return {"True": True, "False": False}.get(text, text)


def load_tables(folder: str | Path) -> dict[str, Table]:
    """Read the CSV files of a ``reproduce`` run back into tables (numbers parsed)."""
    folder = Path(folder)
    tables = {}
    for name in ("memorization", "ambient", "rate", "inertia_form"):
        with open(folder / f"{name}.csv", newline="") as fh:
            tables[name] = Table(name, [{k: _number(v) for k, v in row.items()} for row in csv.DictReader(fh)])
    tables["rate_fit"] = fit_slopes(tables["rate"])
    return tables


def write_report(folder: str | Path) -> Path:
    """(Re)write ``report.md`` and the figures of a run folder from its CSV files and ``run.json``."""
    folder = Path(folder)
    info = json.loads((folder / "run.json").read_text())
    tables = load_tables(folder)
    floors = {"ambient": info["floors"]["ambient"], "rate": {int(k): v for k, v in info["floors"]["rate"].items()}}
    atomic_write(folder / "memorization.png", lambda p: memorization_figure(tables["memorization"], p))
    atomic_write(folder / "ambient.png", lambda p: ambient_figure(tables["ambient"], p))
    atomic_write(folder / "rate.png", lambda p: rate_figure(tables["rate"], tables["rate_fit"], p))
    atomic_write(folder / "inertia.png", lambda p: inertia_figure(tables["inertia_form"], p))
    report = render_report(PRESETS[info["preset"]], tables, floors, info["seconds"])
    atomic_write(folder / "report.md", lambda p: p.write_text(report))
    return folder / "report.md"
