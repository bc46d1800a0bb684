"""The default-step rule of docs/decisions/default-inertia-step.md on small synthetic tables: both verdicts, the
undecided cases, seed means per case, and the frontier's reading of the image table."""

import math

import pytest

from inertial_diffusion_studies.common import Table
from inertial_diffusion_studies.default_step import fd_dup_frontier, w1_ratios
from inertial_diffusion_studies.report import default_step_decision

NAN = float("nan")


def _manifolds(ratio: float = 1.05, rate_steps: tuple[str, ...] = ("IDM", "IDM (moment)")) -> dict[str, Table]:
    """rate (2 seeds per (d, D, n)), ambient (2 seeds per D) and inertia_form (one row per D), the moment step's W1
    ``ratio`` times the posterior mean's everywhere."""
    rate, ambient, inertia = Table("rate"), Table("ambient"), Table("inertia_form")
    for d in (1, 2):
        for n in (100, 400):
            for seed in (0, 1):
                w = n ** -0.4
                for model in rate_steps:
                    rate.add(model=model, d=d, D=d + 1, n=n, seed=seed, w1=w * (ratio if "moment" in model else 1))
                rate.add(model="empirical measure", d=d, D=d + 1, n=n, seed=seed, w1=0.5 * w)
    for D in (3, 30):
        for seed in (0, 1):
            for model, w in (("IDM (posterior mean)", 0.2), ("IDM (moment)", 0.2 * ratio), ("ambient KDE", 0.3 * D)):
                ambient.add(model=model, D=D, seed=seed, w1=w)
        for model, w in (("IDM (posterior mean)", 0.2), ("IDM (paper form)", 0.01 * D), ("IDM (moment)", 0.2 * ratio)):
            inertia.add(model=model, D=D, w1=w)
    return {"rate": rate, "ambient": ambient, "inertia_form": inertia}


def _images(moment_fd: float) -> Table:
    """Two classes; class means (FD, DupRate): fresh images (1, 0.3 %), IDM c=0.3 (4, 60 %), KDE (5, 0 %),
    empirical DM (2, 100 %), IDM moment c=0.5 (moment_fd, 2 %), and a moment row that did not run."""
    table = Table("real_data_images")
    generators = (("real (fresh images)", "real", 1.0, 0.003), ("IDM (c=0.3)", "IDM", 4.0, 0.6),
                  ("KDE (CV)", "KDE", 5.0, 0.0), ("empirical DM", "empirical DM", 2.0, 1.0),
                  ("IDM moment (c=0.5)", "IDM moment", moment_fd, 0.02))
    for name, family, fd, dup in generators:
        for cls, spread in ((0, -0.5), (7, 0.5)):  # the class means decide, not one class
            table.add(generator=name, family=family, cls=cls, n_train=1000, status="ok", fd=fd + spread,
                      dup_rate=dup)
    for cls in (0, 7):
        table.add(generator="IDM moment (auto)", family="IDM moment auto", cls=cls, n_train=1000,
                  status="skipped: not accepted yet", fd=NAN, dup_rate=NAN)
    return table


def _verdict(lines: list[str]) -> str:
    assert lines[-1].startswith("- Verdict: ")
    return lines[-1]


def test_moment_becomes_the_default_when_both_rules_hold():
    lines = default_step_decision({**_manifolds(1.05), "real_data_images": _images(moment_fd=3.0)})
    assert "moment becomes the default" in _verdict(lines)
    text = "\n".join(lines)
    assert "**met**" in lines[0] and "rate, per (d, D, n): max 1.050" in text and "ambient, per D: max 1.050" in text
    assert "IDM moment (c=0.5): FD 3, DupRate 2.00 % — **on the frontier**" in text
    assert "this run has 2 classes of 1000 training images; the rule reads the full real-data preset's 10" in text


def test_posterior_mean_stays_when_one_manifold_case_loses_more_than_ten_percent():
    tables = {**_manifolds(1.0), "real_data_images": _images(moment_fd=3.0)}
    rate = tables["rate"]
    for r in rate.select(model="IDM (moment)", d=2, n=400):  # seeds at 1.24 and 1.00: the seed means' ratio 1.12
        r["w1"] *= 1.24 if r["seed"] == 0 else 1.0
    lines = default_step_decision(tables)
    assert "posterior_mean stays the default" in _verdict(lines) and "rule 1 not met" in _verdict(lines)
    assert "max 1.120 at d = 2, D = 3, n = 400 (1 of 4 cases above 1.10)" in "\n".join(lines)
    for r in rate.select(model="IDM (moment)", d=2, n=400):  # one seed 28 % above, the seed means' ratio 1.09
        r["w1"] = 400 ** -0.4 * (1.28 if r["seed"] == 0 else 0.90)
    assert "moment becomes the default" in _verdict(default_step_decision(tables))


def test_posterior_mean_stays_when_no_moment_row_is_on_the_frontier():
    lines = default_step_decision({**_manifolds(0.9), "real_data_images": _images(moment_fd=6.0)})
    assert "posterior_mean stays the default" in _verdict(lines) and "rule 2 not met" in _verdict(lines)
    assert "IDM moment (c=0.5): FD 6, DupRate 2.00 % — beaten on both by KDE (CV)" in "\n".join(lines)


def test_a_missing_table_leaves_the_rule_undecided_unless_another_rule_fails():
    lines = default_step_decision(_manifolds(1.0))
    assert _verdict(lines) == "- Verdict: undecided: real_data_images not in this run."
    empty = default_step_decision({**_manifolds(1.0), "real_data_images": Table("real_data_images")})  # no images
    assert _verdict(empty) == _verdict(lines)
    assert "posterior_mean stays the default" in _verdict(default_step_decision(_manifolds(1.5)))
    tables = {**_manifolds(1.0), "real_data_images": _images(3.0)}
    del tables["ambient"]
    assert _verdict(default_step_decision(tables)) == "- Verdict: undecided: ambient not in this run."
    before = default_step_decision({**_manifolds(rate_steps=("IDM",)), "real_data_images": _images(3.0)})
    assert "undecided: no 'IDM (moment)' rows in rate (a run before the moment step)" in _verdict(before)


def test_one_ratio_per_case_both_measure_and_a_zero_posterior_mean_w1():
    t = Table("ambient")
    for seed, (pm, mo) in enumerate(((0.1, 0.3), (0.3, 0.1), (0.0, 0.0))):
        t.add(model="IDM (posterior mean)", D=seed, seed=seed, w1=pm)
        t.add(model="IDM (moment)", D=seed, seed=seed, w1=mo)
    t.add(model="IDM (moment)", D=9, seed=0, w1=0.5)  # no posterior-mean row at D = 9: not a case
    ratios = dict((case["D"], r) for case, r in w1_ratios(t, ("D",), "IDM (posterior mean)", "IDM (moment)"))
    assert ratios == {0: pytest.approx(3.0), 1: pytest.approx(1 / 3), 2: 1.0}
    t.rows[5]["w1"] = 0.01  # moment above a posterior mean at the floor
    assert math.isinf(dict((c["D"], r) for c, r in w1_ratios(t, ("D",), "IDM (posterior mean)", "IDM (moment)"))[2])


def test_frontier_leaves_out_the_reference_and_rows_that_did_not_run():
    points = {p["generator"]: p for p in fd_dup_frontier(_images(moment_fd=3.0))}
    assert "real (fresh images)" not in points and "IDM moment (auto)" not in points
    assert {name for name, p in points.items() if p["on_frontier"]} == {"KDE (CV)", "empirical DM",
                                                                        "IDM moment (c=0.5)"}
    assert points["IDM (c=0.3)"]["beaten_by"] == "IDM moment (c=0.5)" and points["KDE (CV)"]["beaten_by"] == ""
    assert points["IDM moment (c=0.5)"]["fd"] == pytest.approx(3.0)
