"""Which inertia step is the default: the rule of ``docs/decisions/default-inertia-step.md``, applied to a run.

The rule was written before the full run: ``inertia="moment"`` becomes the default of
:class:`~inertial_diffusion.InertialDiffusion` iff both hold:

1. **No loss on the manifolds.** On every manifold case where both steps are measured (the rate experiment
   per (d, n), averaged over its seeds; the ambient-dimension experiment per D; the inertia-form experiment
   per D) the moment step's W1 to the population is at most :data:`MAX_W1_RATIO` times the posterior-mean
   step's.
2. **On the real-image frontier.** On Fashion-MNIST at least one moment-step row is on the FD–novelty
   frontier: no other generator's row has both a lower class-mean Fréchet distance and a lower class-mean
   DupRate.

:func:`default_step_decision` reads the tables as the ``reproduce`` runner writes them (columns ``model``,
``w1`` and the case columns of :data:`MANIFOLD_CASES`; ``generator``, ``family``, ``status``, ``fd`` and
``dup_rate`` of ``real_data_images``) and prints the numbers behind each rule and the verdict.
"""

from __future__ import annotations

import math

import numpy as np

from inertial_diffusion_studies.common import Table

__all__ = ["default_step_decision", "w1_ratios", "fd_dup_frontier", "MAX_W1_RATIO", "MANIFOLD_CASES"]

#: Rule 1's bound on W1(moment) / W1(posterior mean), per manifold case.
MAX_W1_RATIO = 1.10

#: Rule 1's cases: (table, columns of a case, the posterior-mean model, the moment model). A case's W1 is the
#: mean of the floor-corrected ``w1`` over its rows (the seeds). The rate table is read per (d, n) at each of
#: its ambient dimensions D (D = d + 1 and, in the full preset, a high D): every such case must hold.
MANIFOLD_CASES = (("rate", ("d", "D", "n"), "IDM", "IDM (moment)"),
                  ("ambient", ("D",), "IDM (posterior mean)", "IDM (moment)"),
                  ("inertia_form", ("D",), "IDM (posterior mean)", "IDM (moment)"))

#: Rule 2's table (Fashion-MNIST per class, :func:`~inertial_diffusion_studies.real_data.run_images`).
IMAGES = "real_data_images"

#: Families of the moment-step generators start so ("IDM moment", "IDM moment auto", "IDM moment dup").
MOMENT_FAMILY = "IDM moment"

#: Family of the fresh real images: the reference the generators are measured against, not a generator.
REFERENCE_FAMILY = "real"

#: The sizes the rule names for Fashion-MNIST: the full real-data preset's classes and training images each.
FULL_IMAGES = (10, 1000)


def _ratio(moment: float, posterior_mean: float) -> float:
    if posterior_mean > 0:
        return moment / posterior_mean
    return 1.0 if moment <= 0 else math.inf  # a corrected W1 of 0 is at the floor: equal when both are


def w1_ratios(table: Table, keys: tuple[str, ...], base: str, moment: str) -> list[tuple[dict, float]]:
    """W1(moment) / W1(posterior mean) per case where both models are measured (seed means of ``w1``).

    Parameters
    ----------
    table : Table
        Rows with ``model``, ``w1`` and the ``keys`` columns.
    keys : tuple of str
        The columns that make a case (e.g. ``("d", "D", "n")``).
    base, moment : str
        The ``model`` of the posterior-mean step and of the moment step.

    Returns
    -------
    list of (dict, float)
        ``(case, ratio)`` in order of the moment rows' first appearance; a case only one model has is left
        out. A posterior-mean W1 of 0 (at the floor) gives 1 when the moment's is 0 too, else infinity.

    Examples
    --------
    >>> t = Table("ambient")
    >>> for seed, (pm, mo) in enumerate(((0.10, 0.12), (0.10, 0.10))):
    ...     t.add(model="IDM (posterior mean)", D=3, seed=seed, w1=pm)
    ...     t.add(model="IDM (moment)", D=3, seed=seed, w1=mo)
    >>> [(case, round(r, 3)) for case, r in w1_ratios(t, ("D",), "IDM (posterior mean)", "IDM (moment)")]
    [({'D': 3}, 1.1)]
    """
    out = []
    for combo in dict.fromkeys(tuple(r[k] for k in keys) for r in table.select(model=moment)):
        case = dict(zip(keys, combo))
        ours, theirs = table.select(model=moment, **case), table.select(model=base, **case)
        if theirs:
            out.append((case, _ratio(float(np.mean([r["w1"] for r in ours])),
                                     float(np.mean([r["w1"] for r in theirs])))))
    return out


def fd_dup_frontier(images: Table) -> list[dict]:
    """Class-mean FD and DupRate per generator of the image table, and whether it is on their frontier.

    A generator is on the frontier when no other generator has both a lower class-mean ``fd`` and a lower
    class-mean ``dup_rate``. Rows that did not run (``status`` other than ``"ok"``), non-finite means and
    the fresh real images (family :data:`REFERENCE_FAMILY`, the reference) are left out.

    Parameters
    ----------
    images : Table
        The ``"real_data_images"`` table: ``generator``, ``family``, ``status``, ``fd``, ``dup_rate``, one
        row per class.

    Returns
    -------
    list of dict
        ``generator``, ``family``, ``fd``, ``dup_rate``, ``on_frontier`` and ``beaten_by`` (a generator
        lower on both, ``""`` on the frontier), in table order.

    Examples
    --------
    >>> t = Table("real_data_images")
    >>> for name, fd, dup in (("A", 10.0, 0.05), ("B", 20.0, 0.01), ("C", 25.0, 0.02)):
    ...     t.add(generator=name, family=name, status="ok", cls=0, fd=fd, dup_rate=dup)
    >>> [(p["generator"], p["on_frontier"], p["beaten_by"]) for p in fd_dup_frontier(t)]
    [('A', True, ''), ('B', True, ''), ('C', False, 'B')]
    """
    rows = [r for r in images.rows if r.get("status") == "ok" and r.get("family") != REFERENCE_FAMILY]
    points = []
    for name in dict.fromkeys(r["generator"] for r in rows):
        at = [r for r in rows if r["generator"] == name]
        fd, dup = float(np.mean([r["fd"] for r in at])), float(np.mean([r["dup_rate"] for r in at]))
        if math.isfinite(fd) and math.isfinite(dup):
            points.append(dict(generator=name, family=str(at[0]["family"]), fd=fd, dup_rate=dup))
    for p in points:
        better = [q["generator"] for q in points if q["fd"] < p["fd"] and q["dup_rate"] < p["dup_rate"]]
        p["on_frontier"], p["beaten_by"] = not better, better[0] if better else ""
    return points


def _where(case: dict) -> str:
    return ", ".join(f"{k} = {v}" for k, v in case.items())


def _rule_1(tables: dict[str, Table]) -> tuple[bool | None, list[str], list[str]]:
    """(met, one line per table, what is missing)."""
    lines, missing, worst = [], [], (-math.inf, "")
    for name, keys, base, moment in MANIFOLD_CASES:
        table = tables.get(name)
        if table is None or not table.rows:
            missing.append(f"{name} not in this run")
            lines.append(f"  - {name}: undecided: {name} not in this run")
            continue
        ratios = w1_ratios(table, keys, base, moment)
        if not ratios:
            missing.append(f"no {moment!r} rows in {name} (a run before the moment step)")
            lines.append(f"  - {name}: undecided: no {moment!r} rows beside {base!r}")
            continue
        case, top = max(ratios, key=lambda cr: cr[1])
        over = sum(r > MAX_W1_RATIO for _, r in ratios)
        per = keys[0] if len(keys) == 1 else f"({', '.join(keys)})"
        lines.append(f"  - {name}, per {per}: max {top:.3f} at {_where(case)} ({over} of "
                     f"{len(ratios)} cases above {MAX_W1_RATIO:.2f})")
        if top > worst[0]:
            worst = (top, f"{name}, {_where(case)}")
    if worst[0] > MAX_W1_RATIO:
        return False, [f"  - largest: {worst[0]:.3f} ({worst[1]})"] + lines, missing
    head = [f"  - largest: {worst[0]:.3f} ({worst[1]})"] if math.isfinite(worst[0]) else []
    return (None if missing else True), head + lines, missing


def _rule_2(tables: dict[str, Table]) -> tuple[bool | None, list[str], list[str]]:
    """(met, lines, what is missing)."""
    images = tables.get(IMAGES)
    if images is None or not images.rows:
        return None, [], [f"{IMAGES} not in this run"]
    points = fd_dup_frontier(images)
    moment = [p for p in points if p["family"].startswith(MOMENT_FAMILY)]
    if not moment:
        return None, [], [f"no moment-step rows in {IMAGES} (a run before the moment step)"]
    lines = [f"  - {p['generator']}: FD {p['fd']:.4g}, DupRate {100 * p['dup_rate']:.2f} % — "
             + ("**on the frontier**" if p["on_frontier"] else f"beaten on both by {p['beaten_by']}") for p in moment]
    frontier = [p["generator"] for p in points if p["on_frontier"]]
    lines.append(f"  - the frontier ({len(frontier)} of {len(points)} generators): {', '.join(frontier)}")
    classes, n_train = len({r["cls"] for r in images.rows}), images.rows[0].get("n_train")
    if (classes, n_train) != FULL_IMAGES:
        lines.append(f"  - this run has {classes} classes of {n_train} training images; the rule reads the full "
                     f"real-data preset's {FULL_IMAGES[0]} classes of {FULL_IMAGES[1]}")
    return any(p["on_frontier"] for p in moment), lines, []


def _met(ok: bool | None, missing: list[str]) -> str:
    return "**met**" if ok else "**not met**" if ok is False else "undecided: " + "; ".join(missing)


def default_step_decision(tables: dict[str, Table]) -> list[str]:
    """The default-step rule of ``docs/decisions/default-inertia-step.md`` applied to a run's tables.

    Rule 1 reads ``"rate"``, ``"ambient"`` and ``"inertia_form"`` (:data:`MANIFOLD_CASES`): the largest
    W1(moment) / W1(posterior mean) per table, where it occurs, against :data:`MAX_W1_RATIO`. Rule 2 reads
    ``"real_data_images"`` (:func:`fd_dup_frontier`): which moment-step rows (family starting with
    ``"IDM moment"``) are on the FD–DupRate frontier. A rule whose table is missing (or empty, or from a run
    before the moment step) is undecided, unless a present case already breaks it.

    Parameters
    ----------
    tables : dict of str to Table
        The run's tables by name; any may be absent.

    Returns
    -------
    list of str
        Markdown lines: each rule with its numbers and whether it is met, then the verdict, one of
        ``"moment becomes the default"``, ``"posterior_mean stays the default"`` (a rule is not met) or
        ``"undecided: <table> not in this run"`` (a rule is undecided and none fails).

    Examples
    --------
    >>> lines = default_step_decision({})
    >>> lines[-1]  # doctest: +NORMALIZE_WHITESPACE
    '- Verdict: undecided: rate not in this run; ambient not in this run; inertia_form not in this run;
    real_data_images not in this run.'
    """
    ok_1, lines_1, missing_1 = _rule_1(tables)
    ok_2, lines_2, missing_2 = _rule_2(tables)
    if ok_1 is False or ok_2 is False:
        failed = " and ".join(f"rule {k} not met" for k, ok in ((1, ok_1), (2, ok_2)) if ok is False)
        verdict = f"**posterior_mean stays the default** ({failed})"
    elif ok_1 and ok_2:
        verdict = "**moment becomes the default**"
    else:
        verdict = "undecided: " + "; ".join(missing_1 + missing_2)
    return [f"- Rule 1, no loss on the manifolds (W1(moment) / W1(posterior mean) <= {MAX_W1_RATIO:.2f} in every "
            f"case, seed means of the floor-corrected W1): {_met(ok_1, missing_1)}.", *lines_1,
            "- Rule 2, on the Fashion-MNIST FD–DupRate frontier (a moment-step row that no other generator beats "
            "on both class-mean FD and class-mean DupRate; the fresh real images are the reference, not a "
            f"generator): {_met(ok_2, missing_2)}.", *lines_2,
            f"- Verdict: {verdict}."]
