"""The tabular benchmark's tables and figure: means, mean ranks across tables, per-table TSTR, TSTR against DCR."""

from __future__ import annotations

import math

import numpy as np

from inertial_diffusion_studies.common import Table

__all__ = ["mean_ranks", "render_tabular", "tabular_figure"]


def mean_ranks(rows: list[dict], metric: str, higher_is_better: bool = True,
               target: float | None = None) -> dict[str, float]:
    """Mean rank of each generator over the tables on ``metric`` (1 = best; ties share ranks).

    Parameters
    ----------
    rows : list of dict
        Rows of :func:`run_tabular_benchmark` (status ``"ok"``), real rows included or not.
    metric : str
        Column to rank.
    higher_is_better : bool, default True
        The direction of the metric.
    target : float, optional
        Rank by the distance to this value instead (e.g. 0.5 for the DCR share).

    Returns
    -------
    dict
        Generator -> mean rank over the tables where it ran.
    """
    from scipy.stats import rankdata

    by_table: dict[str, dict[str, list[float]]] = {}
    for r in rows:
        value = r.get(metric)
        if r.get("status") == "ok" and value is not None and np.isfinite(value):
            by_table.setdefault(r["table"], {}).setdefault(r["generator"], []).append(float(value))
    ranks: dict[str, list[float]] = {}
    for scores in by_table.values():
        names = list(scores)
        values = np.array([np.mean(scores[g]) for g in names])
        key = -np.abs(values - target) if target is not None else (values if higher_is_better else -values)
        for g, rank in zip(names, rankdata(-key)):
            ranks.setdefault(g, []).append(float(rank))
    return {g: float(np.mean(v)) for g, v in ranks.items()}


def render_tabular(table: Table) -> str:
    """Markdown: per-generator means over the tables, mean ranks, and the per-table TSTR.

    Parameters
    ----------
    table : Table
        From :func:`run_tabular_benchmark` (or its CSV).

    Returns
    -------
    str
    """
    rows = [r for r in table.rows if r.get("status") == "ok"]
    if not rows:
        return "_no tabular rows_\n"
    gens = list(dict.fromkeys(r["generator"] for r in table.rows))
    metrics = [("rf", True, None), ("linear", True, None), ("shapes", True, None), ("pairs", True, None),
               ("dcr_share", True, 0.5), ("copies", False, None)]
    ranks = {m: mean_ranks([r for r in rows if r["generator"] != "real (train split)"], m, hi, tgt)
             for m, hi, tgt in metrics}
    lines = ["| generator | licence | tables | RF (TSTR) | linear | shapes | pairs | DCR share | copies | seconds |"
             " rank RF | rank shapes | rank pairs | rank DCR (to 0.5) |", "|" + "---|" * 14]
    for g in gens:
        mine = [r for r in rows if r["generator"] == g]
        if not mine:
            status = next(r["status"] for r in table.rows if r["generator"] == g)
            lines.append(f"| {g} | | 0 | {status} |" + " |" * 10)
            continue
        mean = {k: float(np.nanmean([float(r[k]) for r in mine])) for k in ("rf", "linear", "shapes", "pairs",
                                                                           "dcr_share", "copies", "seconds")}
        rk = [ranks[m].get(g, math.nan) for m in ("rf", "shapes", "pairs", "dcr_share")]
        lines.append(f"| {g} | {mine[0].get('licence', '')} | {len({r['table'] for r in mine})} | {mean['rf']:.3f} | "
                     f"{mean['linear']:.3f} | {mean['shapes']:.3f} | {mean['pairs']:.3f} | {mean['dcr_share']:.3f} | "
                     f"{mean['copies']:.3f} | {mean['seconds']:.1f} | " + " | ".join(f"{v:.2f}" for v in rk) + " |")
    tables = list(dict.fromkeys(r["table"] for r in rows))
    lines += ["", "Random-forest TSTR per table (accuracy, or R² for a numeric target):", "",
              "| generator | " + " | ".join(tables) + " |", "|" + "---|" * (len(tables) + 1)]
    for g in gens:
        cells = []
        for t in tables:
            v = [float(r["rf"]) for r in rows if r["generator"] == g and r["table"] == t]
            cells.append(f"{np.mean(v):.3f}" if v else "–")
        lines.append(f"| {g} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def tabular_figure(table: Table, path) -> None:
    """TSTR (random forest, relative to the real training rows) against the DCR share, per generator.

    Parameters
    ----------
    table : Table
        From :func:`run_tabular_benchmark`.
    path : str or Path
        The PNG to write.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in table.rows if r.get("status") == "ok"]
    real = {(r["table"], r["seed"]): float(r["rf"]) for r in rows if r["generator"] == "real (train split)"}
    fig, ax = plt.subplots(figsize=(9, 5))
    markers = "osD^v<>pPX*h"
    for i, g in enumerate(dict.fromkeys(r["generator"] for r in rows)):
        mine = [r for r in rows if r["generator"] == g and (r["table"], r["seed"]) in real]
        if not mine:
            continue
        rel = np.nanmean([float(r["rf"]) - real[(r["table"], r["seed"])] for r in mine])
        dcr = np.nanmean([float(r["dcr_share"]) for r in mine])
        # a legend, not labels beside the points: several generators land on the same spot
        ax.scatter(dcr, rel, s=55, marker=markers[i % len(markers)], label=g, alpha=0.85)
    ax.axvline(0.5, color="grey", lw=0.8, ls=":")
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    ax.set_xlabel("DCR share (closer to a training row than to any held-out row; fresh data: 0.5)")
    ax.set_ylabel("random-forest TSTR minus the real rows' (mean over tables)")
    ax.set_title("Tabular generators: utility against privacy")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
