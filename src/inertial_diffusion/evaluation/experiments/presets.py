"""Sizes of the ``reproduce`` presets. ``quick`` runs in the test suite; ``full`` is the report's run."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Preset", "QUICK", "FULL", "PRESETS"]


@dataclass(frozen=True)
class Preset:
    """Every size the four experiments use.

    ``*_samples`` is ``m``, the number of generated samples and of population points each W1 uses;
    ``floor_reps`` the number of population-vs-population W1 draws averaged into the floor.
    """

    name: str
    # 1. memorization
    memorization_n: int
    memorization_samples: int
    digits_train: int
    # 2. ambient dimension (d = 2 sphere)
    ambient_n: int
    ambient_dims: tuple[int, ...]
    ambient_samples: int
    ambient_seeds: int
    # 3. rate
    rate_intrinsic_dims: tuple[int, ...]
    rate_ns: tuple[int, ...]
    rate_high_ambient_dim: int | None  # besides D = d + 1; None: only D = d + 1
    rate_samples: int
    rate_seeds: int
    # 4. inertia form
    inertia_n: int
    inertia_dims: tuple[int, ...]
    inertia_samples: int
    # shared
    cfdm_steps: int
    cfdm_noise: int
    floor_reps: int


QUICK = Preset(
    name="quick",
    memorization_n=300, memorization_samples=300, digits_train=600,
    ambient_n=500, ambient_dims=(3, 30, 300), ambient_samples=500, ambient_seeds=1,
    rate_intrinsic_dims=(1, 2, 4), rate_ns=(100, 300, 1000), rate_high_ambient_dim=None, rate_samples=800,
    rate_seeds=1,
    inertia_n=500, inertia_dims=(3, 30, 300), inertia_samples=500,
    cfdm_steps=20, cfdm_noise=4, floor_reps=2,
)

FULL = Preset(
    name="full",
    memorization_n=1000, memorization_samples=1000, digits_train=1000,
    ambient_n=2000, ambient_dims=(3, 30, 300, 1000), ambient_samples=2000, ambient_seeds=3,
    rate_intrinsic_dims=(1, 2, 4), rate_ns=(200, 400, 800, 1600, 3200, 6400, 12800), rate_high_ambient_dim=100,
    rate_samples=4000, rate_seeds=3,
    inertia_n=2000, inertia_dims=(3, 30, 300, 1000), inertia_samples=2000,
    cfdm_steps=100, cfdm_noise=8, floor_reps=4,
)

PRESETS = {"quick": QUICK, "full": FULL}
