"""`inertial-diffusion reproduce --quick`: runs end to end, reports every section, and the pieces behind
the report (slope rule, lower-bound flags, local slopes, the convention's step) give known answers."""

import csv
import dataclasses
import json
import math
import re
import subprocess
import sys

import numpy as np
import pytest
from typer.testing import CliRunner

from inertial_diffusion.cli import app
from inertial_diffusion_studies import EXPERIMENTS, QUICK
from inertial_diffusion_studies.asymptote import local_slopes
from inertial_diffusion_studies.common import Table
from inertial_diffusion_studies.convention import printed_step
from inertial_diffusion_studies.rate import (LOWER_BOUND, RULE_FLOOR_MULTIPLE, fit_slopes,
                                             lower_bound_name, rule_ns)

SECTIONS = ("## Acceptance checks", "## Default inertia step", "## 1. Memorization", "## 2. Ambient dimension",
            "## 3. Rate",
            "### 3b. The lower bound to large n", "## 4. Inertia form", "## 5. The convention (our inference)",
            "## 6. Failure modes", "### 6.1 Ambient noise", "### 6.2 Separated components", "### 6.3 Curved manifolds",
            "### 6.4 Boundaries", "### 6.5 Non-uniform density", "### 6.6 Isolated points", "### 6.7 Small n",
            "## Where the method loses")
FIGURES = ("memorization", "ambient", "rate", "inertia", "asymptote", "convention", "noise", "components", "curved",
           "boundary", "density", "isolated", "small_n")


@pytest.fixture(scope="module")
def quick_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("reproduce") / "quick"
    result = CliRunner().invoke(app, ["reproduce", "--quick", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out, result


def _csv(out, name):
    with open(out / f"{name}.csv") as fh:
        return list(csv.DictReader(fh))


def test_quick_report_has_every_section_and_its_files(quick_report):
    out, result = quick_report
    text = (out / "report.md").read_text()
    for heading in SECTIONS:
        assert heading in text, heading
    for name in [name for name, _, _ in EXPERIMENTS] + ["rate_fit"]:
        assert _csv(out, name), name
    for name in FIGURES:
        assert (out / f"{name}.png").stat().st_size > 10_000, name
    assert re.search(r"\[1/\d+\] memorization", result.output)  # progress (stderr is mixed in by the runner)
    assert "dX = -X dt + sqrt(2) dW" in text and "our inference" in text


def test_quick_report_numbers_show_the_claims(quick_report):
    out, _ = quick_report
    for row in _csv(out, "memorization"):
        if row["model"] == "EmpiricalDiffusion":
            assert float(row["copy_rate"]) >= 0.99
        elif row["model"].startswith("IDM"):
            assert float(row["copy_rate"]) == 0.0
    dist = {(r["model"], int(r["D"])): float(r["mean_distance_to_manifold"]) for r in _csv(out, "ambient")}
    lo, hi = min(QUICK.ambient_dims), max(QUICK.ambient_dims)
    assert dist[("ambient KDE", hi)] > 10 * dist[("ambient KDE", lo)]
    assert dist[("IDM (posterior mean)", hi)] == pytest.approx(dist[("IDM (posterior mean)", lo)], rel=0.2)
    # law of total variance: a posterior mean has less variance than the data; a KDE adds sigma^2
    var = {r["model"]: float(r["variance"]) for r in _csv(out, "density")}
    assert var["IDM"] < var["training set"] < var["ambient KDE"]
    # law of total covariance: the moment step adds E Var(y | z) back, keeping the data's variance in expectation
    assert var["IDM"] < var["IDM (moment)"] and var["IDM (moment)"] == pytest.approx(var["training set"], rel=0.1)


def test_corrected_w1_below_its_lower_bound_is_flagged_in_every_csv(quick_report):
    out, _ = quick_report
    for name in ("rate", "ambient", "inertia_form", "noise"):
        for r in _csv(out, name):
            expected = float(r["w1"]) < float(r["mean_distance_to_manifold"])
            assert r["below_lower_bound"] == str(expected), (name, r)
    text = (out / "report.md").read_text()
    flagged = sum(r["below_lower_bound"] == "True" for name in ("rate", "ambient") for r in _csv(out, name)
                  if r.get("model") != "empirical measure")
    assert f"{flagged} of " in text


#: Tables whose ``model`` column has a moment-step row beside the posterior mean's.
MOMENT_TABLES = ("memorization", "ambient", "rate", "inertia_form", "noise", "components", "curved", "boundary",
                 "density", "isolated")


def test_quick_run_measures_the_moment_step_beside_the_posterior_mean(quick_report):
    out, _ = quick_report
    for name in MOMENT_TABLES:
        assert "IDM (moment)" in {r["model"] for r in _csv(out, name)}, name
    for name, case in (("rate", ("d", "D", "n", "seed")), ("noise", ("variant", "D", "noise")),
                       ("components", ("variant", "separation")), ("curved", ("data_set", "c"))):
        rows = _csv(out, name)  # the same cases (data, seeds) for both steps
        cases = {m: sorted(tuple(r[k] for k in case) for r in rows if r["model"] == m) for m in ("IDM", "IDM (moment)")}
        assert cases["IDM"] == cases["IDM (moment)"] and cases["IDM"], name
    assert {"IDM (moment)", "IDM (moment, exclude_copies=True)"} <= {r["model"] for r in _csv(out, "isolated")}
    assert all(float(r["w1_idm_moment"]) >= 0 for r in _csv(out, "small_n"))
    assert "IDM (c=1, moment)" in {r["generator"] for r in _csv(out, "real_data_tabular")}
    images = _csv(out, "real_data_images")  # empty without Fashion-MNIST
    assert not images or {("IDM moment (c=0.5)", "IDM moment")} <= {(r["generator"], r["family"]) for r in images}
    text = (out / "report.md").read_text()
    assert "| IDM (moment) W1 at D = 300 within 10 % of D = 3 |" in text
    assert re.search(r"\| IDM \(moment\) W1 rate slope, d = 1, D = 2: ", text)
    decision = text.split("## Default inertia step")[1].split("## 1. Memorization")[0]
    assert "rate, per (d, D, n): max " in decision and "inertia_form, per D: max " in decision
    assert re.search(r"- Verdict: (\*\*moment becomes the default\*\*|\*\*posterior_mean stays the default\*\*"
                     r"|undecided: )", decision)


def test_report_of_a_run_before_the_moment_step_still_renders(quick_report, tmp_path):
    """A run folder written before the moment step (no moment rows, no step column, no ``w1_idm_moment``)."""
    from inertial_diffusion_studies import write_report

    out, _ = quick_report
    old = tmp_path / "old"
    old.mkdir()
    info = json.loads((out / "run.json").read_text())
    (old / "run.json").write_text(json.dumps(info))
    for name in info["tables"]:
        rows = [r for r in _csv(out, name) if "moment" not in r.get("model", "") + r.get("generator", "")]
        drop = {"w1_idm_moment"} | ({"model"} if name in ("noise", "components", "curved") else set())
        fields = [k for k in (rows[0] if rows else {}) if k not in drop]
        with open(old / f"{name}.csv", "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=fields, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(rows)
    write_report(old)
    text = (old / "report.md").read_text()
    assert "IDM (moment)" not in text.split("## Default inertia step")[0]  # no moment acceptance lines
    assert "undecided: no 'IDM (moment)' rows in rate (a run before the moment step)" in text
    assert "w1_idm_moment" not in text and "### 6.7 Small n" in text
    for name in FIGURES:
        assert (old / f"{name}.png").stat().st_size > 10_000, name


def test_reproduce_refuses_a_non_empty_folder(tmp_path):
    (tmp_path / "keep.txt").write_text("mine")
    result = CliRunner().invoke(app, ["reproduce", "--quick", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "not empty" in result.output
    assert (tmp_path / "keep.txt").read_text() == "mine"
    both = CliRunner().invoke(app, ["reproduce", "--quick", "--full", "--out", str(tmp_path / "new")])
    assert both.exit_code == 2 and "one of" in both.output


def test_reproduce_calls_the_studies_entry_function(monkeypatch, tmp_path):
    import inertial_diffusion_studies as studies

    calls = []
    fake = lambda preset, out, **kw: calls.append((preset, str(out), kw["seed"]))  # noqa: E731
    monkeypatch.setattr(studies, "run_experiments", fake)
    assert CliRunner().invoke(app, ["reproduce", "--full", "--out", str(tmp_path / "b"), "--seed", "3"]).exit_code == 0
    assert calls == [("full", str(tmp_path / "b"), 3)]


def test_reproduce_without_the_studies_package_says_how_to_install_it(monkeypatch, tmp_path):
    """The library does not carry its studies: without them, reproduce names the package, never a traceback."""
    monkeypatch.setitem(sys.modules, "inertial_diffusion_studies", None)  # import fails as if not installed
    result = CliRunner().invoke(app, ["reproduce", "--quick", "--out", str(tmp_path / "r")])
    assert result.exit_code == 2 and "pip install -e studies" in result.output
    assert not (tmp_path / "r").exists()


def test_the_library_does_not_import_its_studies():
    """The installed library stands alone: importing it and its command line loads no study module."""
    code = ("import sys, inertial_diffusion, inertial_diffusion.cli, inertial_diffusion.evaluation; "
            "print(sorted(m for m in sys.modules if m.startswith('inertial_diffusion_studies')))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and result.stdout.strip() == "[]", result.stdout + result.stderr


def _power_law_table(floor: float) -> Table:
    table = Table("rate")
    for seed, wiggle in enumerate((0.97, 1.03)):
        for n in (100, 200, 400, 800, 1600):
            table.add(model="IDM", d=2, D=3, n=n, seed=seed, w1=wiggle * 3.0 * n ** (-1 / 3), w1_floor=floor,
                      mean_distance_to_manifold=0.5 * n ** (-1 / 3), below_lower_bound=False)
    return table


def test_slope_fit_recovers_a_known_power_law_with_its_interval():
    fits = fit_slopes(_power_law_table(floor=0.0))
    fit = fits.select(model="IDM")[0]
    assert fits.select(model=LOWER_BOUND)[0]["slope"] == pytest.approx(-1 / 3, abs=1e-9)
    assert fit["slope"] == pytest.approx(-1 / 3, abs=1e-9)
    assert fit["ci_low"] < -1 / 3 < fit["ci_high"] and fit["within_0_06"] and fit["slope_rule"] == fit["slope"]
    assert math.isclose(fit["theory"], -1 / 3) and fit["reason"] == ""


def test_slope_rule_keeps_whole_ns_by_the_seed_mean_lower_bound():
    # the bound 0.5 n^(-1/3) crosses 1.5 F between n = 400 (0.0679) and 800 (0.0539) for F = 0.04
    table = _power_law_table(floor=0.04)
    assert 0.5 * 400 ** (-1 / 3) >= RULE_FLOOR_MULTIPLE * 0.04 > 0.5 * 800 ** (-1 / 3)
    assert rule_ns(table.select(model="IDM")) == [100, 200, 400]
    table.rows[-1]["w1"] = 10.0  # one seed at n = 1600 fluctuates far upwards: the rule ignores the response
    table.rows[-1]["below_lower_bound"] = True
    fit = fit_slopes(table).select(model="IDM")[0]
    assert fit["ns_rule"] == "100 200 400" and fit["points_rule"] == 6 and fit["flagged_in_fit"] == 0
    assert fit["slope_rule"] == pytest.approx(-1 / 3, abs=1e-9)
    few = _power_law_table(floor=0.08)  # only n = 100 passes: no fit, and the check says no with the reason
    fit = fit_slopes(few).select(model="IDM")[0]
    assert math.isnan(fit["slope_rule"]) and not fit["within_0_06"] and "need 3" in fit["reason"]


def test_local_slopes_of_a_power_law():
    table = Table("asymptote")
    for n in (100, 1000, 10000):
        table.add(d=4, n=n, mean_distance_to_manifold=2.0 * n ** -0.25, standard_error=0.0)
    slopes = local_slopes(table)
    assert [s["local_slope"] for s in slopes] == pytest.approx([-0.25, -0.25], abs=1e-12)
    assert slopes[0]["theory"] == -0.25 and slopes[0]["n_mid"] == pytest.approx(math.sqrt(1e5))


def test_printed_step_is_a_full_tweedie_step_only_when_the_noise_variance_is_h():
    y = np.array([[0.3, -1.2, 0.5]])  # one training point: the posterior mean is y exactly
    h = 0.05
    full, mean = printed_step(y, h, h, 200, np.random.default_rng(0))
    np.testing.assert_allclose(full, np.repeat(y, 200, axis=0), atol=1e-12)
    np.testing.assert_allclose(mean, np.repeat(y, 200, axis=0), atol=1e-12)
    half, _ = printed_step(y, h, 2 * h, 200, np.random.default_rng(0))
    z = math.exp(-h) * y + math.sqrt(2 * h) * np.random.default_rng(0).standard_normal((200, 3))  # same draws
    np.testing.assert_allclose(half - y, 0.5 * (z / math.exp(-h) - y), atol=1e-12)


def test_noise_sweep_takes_the_dimension_methods_from_the_preset():
    from inertial_diffusion_studies.noise import run_noise

    tiny = dataclasses.replace(QUICK, noise_n=120, noise_levels=(0.0,), noise_dims=(3,), noise_samples=60,
                               noise_dim_methods=("mle", "twonn"), floor_reps=1)
    table = run_noise(tiny, lambda message: None, 0)
    variants = ["d given (2)", "d estimated (mle)", "d estimated (twonn)"]
    assert [(r["variant"], r["model"]) for r in table.rows] == [(v, m) for v in variants
                                                                  for m in ("IDM", "IDM (moment)")]
    assert table.rows[0]["intrinsic_dim"] == 2.0 and table.meta["floor"] > 0
    assert table.rows[1]["intrinsic_dim"] == 2.0 and table.rows[1]["sigma"] == table.rows[0]["sigma"]


def test_report_is_rebuilt_from_the_csv_files(quick_report):
    from inertial_diffusion_studies import load_tables, write_report

    out, _ = quick_report
    first = (out / "report.md").read_text()
    write_report(out)
    assert (out / "report.md").read_text() == first
    tables = load_tables(out)
    assert {r["model"] for r in tables["rate_fit"].rows} == {"IDM", "IDM (moment)", "empirical measure", LOWER_BOUND,
                                                             lower_bound_name("IDM (moment)")}


def test_seed_changes_every_draw_of_the_small_n_experiment():
    """``--seed`` reaches the training sets and populations too (they were fixed by the repetition alone):
    the raw training-set W1 (rotation-invariant, so the seeded embedding alone cannot move it) changes with the
    seed and not without it."""
    from inertial_diffusion_studies.density import run_small_n

    preset = dataclasses.replace(QUICK, small_ns=(8,), small_seeds=1, small_samples=100, floor_reps=1)

    def raw_training_w1(seed):
        row = run_small_n(preset, lambda line: None, seed).rows[0]
        return math.hypot(row["w1_training_set"], row["w1_floor"] / math.sqrt(2))  # its floor: F / sqrt(2)

    assert raw_training_w1(0) == pytest.approx(raw_training_w1(0), rel=1e-12)
    assert raw_training_w1(0) != pytest.approx(raw_training_w1(1), rel=1e-3)
