"""Shared pieces of the experiments: models at equal sigma, the W1 floor, timing, summaries."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from inertial_diffusion.estimators.baselines import AmbientKDE, SmoothedCFDM
from inertial_diffusion.evaluation.datasets import Sphere
from inertial_diffusion import EmpiricalDiffusion, InertialDiffusion
from inertial_diffusion.evaluation.metrics import floor_corrected, wasserstein1

__all__ = ["Say", "Table", "models", "w1_floor", "corrected_w1", "timed", "mean_sd", "below_lower_bound",
           "sigma_in_data_units"]

Say = Callable[[str], None]


@dataclass
class Table:
    """Rows of one experiment (a CSV file), the seconds it took, and scalars the report needs
    besides the rows (``meta``: W1 floors, sizes), kept in ``run.json``."""

    name: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    meta: dict[str, Any] = field(default_factory=dict)

    def add(self, **row: Any) -> None:
        self.rows.append(row)

    def select(self, **match: Any) -> list[dict[str, Any]]:
        return [r for r in self.rows if all(r.get(k) == v for k, v in match.items())]


def models(intrinsic_dim: float | None, seed: int, cfdm_steps: int, cfdm_noise: int,
           names: tuple[str, ...] | None = None) -> dict[str, Any]:
    """The compared models, all at the rule's sigma = n^(-1/(d+4)) (d given, or estimated when None)."""
    every = {
        "EmpiricalDiffusion": lambda: EmpiricalDiffusion(random_state=seed),
        "IDM (posterior mean)": lambda: InertialDiffusion(intrinsic_dim=intrinsic_dim, random_state=seed),
        "IDM (paper form)": lambda: InertialDiffusion(intrinsic_dim=intrinsic_dim, inertia="paper", random_state=seed),
        "ambient KDE": lambda: AmbientKDE(intrinsic_dim=intrinsic_dim, random_state=seed),
        "σ-CFDM": lambda: SmoothedCFDM(intrinsic_dim=intrinsic_dim, n_steps=cfdm_steps, n_noise=cfdm_noise,
                                       random_state=seed),
    }
    return {k: f() for k, f in every.items() if names is None or k in names}


def w1_floor(intrinsic_dim: int, m: int, reps: int, seed: int = 0) -> float:
    """Mean exact W1 between two independent m-point samples of the uniform S^d: the estimator's floor.

    The floor does not depend on the ambient dimension (W1 is invariant under isometric embedding).
    """
    sphere = Sphere(intrinsic_dim, intrinsic_dim + 1, random_state=0)
    ref = sphere.sample(m, random_state=10_000 + seed)
    return float(np.mean([wasserstein1(sphere.sample(m, random_state=20_000 + seed + k), ref) for k in range(reps)]))


def corrected_w1(samples: np.ndarray, population: np.ndarray, floor: float) -> tuple[float, float]:
    """(raw plug-in W1, floor-corrected W1) of samples against population points."""
    raw = wasserstein1(samples, population)
    return raw, floor_corrected(raw, floor)


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def mean_sd(values) -> tuple[float, float]:
    values = np.asarray(values, dtype=float)
    return float(values.mean()), float(values.std(ddof=1)) if values.size > 1 else 0.0


def below_lower_bound(w1: float, lower_bound: float) -> bool:
    """True when a floor-corrected W1 lies below a strict lower bound of the true W1 (for samples
    against a law supported on M, :math:`W_1 \\ge E\\,\\mathrm{dist}(x, M)`): the quadrature correction
    removed too much there. Such values are flagged in the CSV files and the report, never used silently."""
    return bool(w1 < lower_bound)


def sigma_in_data_units(model: Any) -> float:
    """A fitted model's σ in data units: ``bandwidth_`` times its (mean) scale, or the mean over its
    separated components when it found several (``components_``)."""
    parts = getattr(model, "components_", None)
    if parts:
        return float(np.mean([p["bandwidth"] for p in parts]))
    scale = model.scale_ if hasattr(model, "scale_") else model.standardizer_.scale  # the baselines keep the map
    return float(model.bandwidth_ * np.mean(scale))
