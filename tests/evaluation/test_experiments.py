"""`inertial-diffusion reproduce --quick`: runs end to end and reports the experiments it ran."""

import csv
import math
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from inertial_diffusion.cli import app
from inertial_diffusion.evaluation.experiments import QUICK
from inertial_diffusion.evaluation.experiments.common import Table
from inertial_diffusion.evaluation.experiments.rate import LOWER_BOUND, fit_slopes


@pytest.fixture(scope="module")
def quick_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("reproduce") / "quick"
    result = CliRunner().invoke(app, ["reproduce", "--quick", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out, result


def test_quick_report_has_every_experiment_and_its_files(quick_report):
    out, result = quick_report
    text = (out / "report.md").read_text()
    for heading in ("## 1. Memorization", "## 2. Ambient dimension", "## 3. Rate", "## 4. Inertia form",
                    "## Acceptance checks", "## Where the method loses"):
        assert heading in text
    for name in ("memorization", "ambient", "rate", "rate_fit", "inertia_form"):
        with open(out / f"{name}.csv") as fh:
            rows = list(csv.DictReader(fh))
        assert rows, name
    for name in ("memorization", "ambient", "rate", "inertia"):
        assert (out / f"{name}.png").stat().st_size > 10_000
    assert "[1/4] memorization" in result.output  # progress (stderr is mixed in by the runner)


def test_quick_report_numbers_show_the_claims(quick_report):
    out, _ = quick_report
    with open(out / "memorization.csv") as fh:
        mem = list(csv.DictReader(fh))
    for row in mem:
        if row["model"] == "EmpiricalDiffusion":
            assert float(row["copy_rate"]) >= 0.99
        elif row["model"].startswith("IDM"):
            assert float(row["copy_rate"]) == 0.0
    with open(out / "ambient.csv") as fh:
        amb = list(csv.DictReader(fh))
    dist = {(r["model"], int(r["D"])): float(r["mean_distance_to_manifold"]) for r in amb}
    lo, hi = min(QUICK.ambient_dims), max(QUICK.ambient_dims)
    assert dist[("ambient KDE", hi)] > 10 * dist[("ambient KDE", lo)]
    assert dist[("IDM (posterior mean)", hi)] == pytest.approx(dist[("IDM (posterior mean)", lo)], rel=0.2)


def test_reproduce_refuses_a_non_empty_folder(tmp_path):
    (tmp_path / "keep.txt").write_text("mine")
    result = CliRunner().invoke(app, ["reproduce", "--quick", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "not empty" in result.output
    assert (tmp_path / "keep.txt").read_text() == "mine"
    both = CliRunner().invoke(app, ["reproduce", "--quick", "--full", "--out", str(tmp_path / "new")])
    assert both.exit_code == 2 and "one of" in both.output


def test_module_entry_point_shows_the_reproduce_help():
    result = subprocess.run([sys.executable, "-m", "inertial_diffusion.evaluation.experiments", "--help"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "--full" in result.stdout


def test_slope_fit_recovers_a_known_power_law_with_its_interval():
    table = Table("rate")
    for seed, wiggle in enumerate((0.97, 1.03)):
        for n in (100, 200, 400, 800, 1600):
            table.add(model="IDM", d=2, D=3, n=n, seed=seed, w1=wiggle * 3.0 * n ** (-1 / 3), w1_floor=0.0,
                      mean_distance_to_manifold=0.5 * n ** (-0.5))
    fits = fit_slopes(table)
    fit = fits.select(model="IDM")[0]
    assert fits.select(model=LOWER_BOUND)[0]["slope"] == pytest.approx(-0.5, abs=1e-9)
    assert fit["slope"] == pytest.approx(-1 / 3, abs=1e-9)
    assert fit["ci_low"] < -1 / 3 < fit["ci_high"] and fit["within_0_06"] and fit["slope_reliable"] == fit["slope"]
    assert math.isclose(fit["theory"], -1 / 3)


def test_report_is_rebuilt_from_the_csv_files(quick_report):
    from inertial_diffusion.evaluation.experiments import load_tables, write_report

    out, _ = quick_report
    first = (out / "report.md").read_text()
    write_report(out)
    assert (out / "report.md").read_text() == first
    tables = load_tables(out)
    assert {r["model"] for r in tables["rate_fit"].rows} == {"IDM", "empirical measure", LOWER_BOUND}
