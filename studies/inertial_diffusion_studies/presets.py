"""Sizes of the ``reproduce`` presets, the one preset system of the studies: ``quick`` runs in the test suite
(every section, ~1 min on 2 cores); ``full`` is the report's run. Each preset carries the sizes of its
real-data section (:class:`~inertial_diffusion_studies.real_data.RealDataPreset`) and of its tabular
benchmark (:class:`~inertial_diffusion_studies.tabular.TabularPreset`); ``benchmarks/`` read the same ones."""

from __future__ import annotations

from dataclasses import dataclass

from inertial_diffusion_studies.real_data import FULL_REAL, QUICK_REAL, RealDataPreset
from inertial_diffusion_studies.tabular import FULL_TABULAR, QUICK_TABULAR, TabularPreset

__all__ = ["Preset", "QUICK", "FULL", "PRESETS"]


@dataclass(frozen=True)
class Preset:
    """Every size the experiments use.

    ``*_samples`` is ``m``, the number of generated samples (and of population points each W1 uses);
    ``floor_reps`` the number of population-vs-population W1 draws averaged into the floor. ``*_n`` is the
    number of training points, ``*_dims`` the ambient dimensions D, ``*_seeds`` the number of seeds
    (repetitions with different data and model seeds). Spheres are unit spheres, so lengths are in radii.

    Parameters
    ----------
    name : str
        Preset name, ``"quick"`` or ``"full"``.
    memorization_n, memorization_samples : int
        Experiment 1 (:func:`~inertial_diffusion_studies.memorization.run_memorization`):
        training points per manifold and samples per model.
    digits_train : int
        Training images of the 8x8 digits in experiment 1 (the rest are held out).
    ambient_n, ambient_samples, ambient_seeds : int
        Experiment 2 (S^2 embedded in R^D): training points, samples, seeds.
    ambient_dims : tuple of int
        Ambient dimensions D of experiment 2.
    rate_intrinsic_dims, rate_ns : tuple of int
        Experiment 3: sphere dimensions d and training sizes n of the rate fit.
    rate_high_ambient_dim : int or None
        A second, high ambient dimension of experiment 3 besides D = d + 1; None runs D = d + 1 only.
    rate_samples, rate_seeds : int
        Experiment 3: samples per W1 and seeds.
    asymptote_intrinsic_dims, asymptote_ns : tuple of int
        Experiment 3b (the floor-free lower bound to large n): d and n.
    asymptote_samples : int
        Samples per n in experiment 3b.
    inertia_n, inertia_samples : int
        Experiment 4 (inertia form): training points and samples.
    inertia_dims : tuple of int
        Ambient dimensions D of experiment 4.
    noise_n, noise_samples : int
        Ambient-noise failure mode: training points and samples.
    noise_levels : tuple of float
        Per-coordinate sd of the isotropic training noise, in units of the sphere's radius (0: clean).
    noise_dims : tuple of int
        Ambient dimensions D of the noise sweep.
    noise_dim_methods : tuple of str
        Estimators' ``dim_method`` values compared when d is estimated (e.g. ``"scale"``, ``"twonn"``).
    components_n : int
        Training points per component (two unit spheres).
    components_separations : tuple of float
        Centre distances in radii; 0 is one sphere alone, the reference.
    components_samples : int
        Samples per variant.
    curved_n, curved_samples : int
        Curved manifolds (swiss roll, trefoil knot): training points and samples.
    curved_scales : tuple of float
        ``bandwidth_scale`` values c swept.
    boundary_n, boundary_samples : int
        Unit square: training points and samples.
    density_n, density_samples : int
        Standard 2-D Gaussian: training points and samples.
    isolated_n, isolated_outliers, isolated_samples : int
        Points on the sphere, outliers at radius 3, and samples.
    small_ns : tuple of int
        Training sizes of the small-n failure mode.
    small_seeds, small_samples : int
        Seeds per n and samples.
    convention_n : int
        Points (and draws of ``z``) of the OU-convention check.
    convention_dims : tuple of int
        Ambient dimensions D of the convention check.
    cfdm_steps, cfdm_noise : int
        σ-CFDM's Euler steps and noise perturbations per step.
    floor_reps : int
        W1 draws averaged into each floor (:func:`~inertial_diffusion_studies.common.w1_floor`).
    real : RealDataPreset
        Sizes of the real-data section (Fashion-MNIST and the scikit-learn tables).
    tabular : TabularPreset
        Tables, split seeds and generators of the tabular benchmark (``reproduce`` leaves ForestDiffusion out).

    Examples
    --------
    A smaller variant for a quick look at one experiment (the presets are frozen; ``replace`` copies):

    >>> from dataclasses import replace
    >>> tiny = replace(QUICK, asymptote_intrinsic_dims=(1,), asymptote_ns=(100, 400), asymptote_samples=200)
    >>> tiny.name, tiny.asymptote_ns, FULL.rate_ns[-1]
    ('quick', (100, 400), 12800)
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
    # 3b. the floor-free lower bound (mean distance to S^d, no OT) to large n
    asymptote_intrinsic_dims: tuple[int, ...]
    asymptote_ns: tuple[int, ...]
    asymptote_samples: int
    # 4. inertia form
    inertia_n: int
    inertia_dims: tuple[int, ...]
    inertia_samples: int
    # 5. failure modes
    noise_n: int
    noise_levels: tuple[float, ...]  # per-coordinate sd of isotropic noise, in units of the sphere's radius
    noise_dims: tuple[int, ...]
    noise_samples: int
    noise_dim_methods: tuple[str, ...]  # estimators' ``dim_method`` values compared (d estimated)
    components_n: int  # per component
    components_separations: tuple[float, ...]  # centre distance / radius; 0 = one component
    components_samples: int
    curved_n: int
    curved_scales: tuple[float, ...]  # bandwidth_scale c
    curved_samples: int
    boundary_n: int
    boundary_samples: int
    density_n: int
    density_samples: int
    isolated_n: int
    isolated_outliers: int
    isolated_samples: int
    small_ns: tuple[int, ...]
    small_seeds: int
    small_samples: int
    convention_n: int
    convention_dims: tuple[int, ...]
    # shared
    cfdm_steps: int
    cfdm_noise: int
    floor_reps: int
    # the real-data section and the tabular benchmark
    real: RealDataPreset
    tabular: TabularPreset


QUICK = Preset(
    name="quick",
    memorization_n=300, memorization_samples=300, digits_train=600,
    ambient_n=500, ambient_dims=(3, 30, 300), ambient_samples=500, ambient_seeds=1,
    rate_intrinsic_dims=(1, 2, 4), rate_ns=(100, 300, 1000), rate_high_ambient_dim=None, rate_samples=800,
    rate_seeds=1,
    asymptote_intrinsic_dims=(4,), asymptote_ns=(300, 1000, 3000, 10000), asymptote_samples=500,
    inertia_n=500, inertia_dims=(3, 30, 300), inertia_samples=500,
    noise_n=400, noise_levels=(0.0, 0.005, 0.02), noise_dims=(3, 300), noise_samples=400,
    noise_dim_methods=("scale", "twonn"),
    components_n=300, components_separations=(0.0, 4.0, 16.0), components_samples=400,
    curved_n=400, curved_scales=(0.5, 1.0, 2.0), curved_samples=200,
    boundary_n=1000, boundary_samples=2000,
    density_n=1000, density_samples=4000,
    isolated_n=500, isolated_outliers=5, isolated_samples=2000,
    small_ns=(8, 32, 128), small_seeds=2, small_samples=500,
    convention_n=500, convention_dims=(3, 50),
    cfdm_steps=20, cfdm_noise=4, floor_reps=2,
    real=QUICK_REAL, tabular=QUICK_TABULAR,
)

FULL = Preset(
    name="full",
    memorization_n=1000, memorization_samples=1000, digits_train=1000,
    ambient_n=2000, ambient_dims=(3, 30, 300, 1000), ambient_samples=2000, ambient_seeds=3,
    rate_intrinsic_dims=(1, 2, 4), rate_ns=(200, 400, 800, 1600, 3200, 6400, 12800), rate_high_ambient_dim=100,
    rate_samples=4000, rate_seeds=3,
    asymptote_intrinsic_dims=(1, 2, 4), asymptote_ns=(200, 800, 3200, 12800, 25600, 51200, 100000),
    asymptote_samples=4000,
    inertia_n=2000, inertia_dims=(3, 30, 300, 1000), inertia_samples=2000,
    noise_n=2000, noise_levels=(0.0, 0.001, 0.005, 0.02), noise_dims=(3, 30, 300, 1000), noise_samples=2000,
    noise_dim_methods=("scale", "twonn", "mle"),
    components_n=1000, components_separations=(0.0, 2.0, 4.0, 16.0, 64.0), components_samples=2000,
    curved_n=2000, curved_scales=(0.25, 0.5, 1.0, 2.0, 4.0), curved_samples=1000,
    boundary_n=4000, boundary_samples=20000,
    density_n=4000, density_samples=20000,
    isolated_n=2000, isolated_outliers=10, isolated_samples=20000,
    small_ns=(8, 16, 32, 64, 128, 256), small_seeds=10, small_samples=2000,
    convention_n=2000, convention_dims=(3, 50, 300),
    cfdm_steps=100, cfdm_noise=8, floor_reps=4,
    real=FULL_REAL, tabular=FULL_TABULAR,
)

PRESETS = {"quick": QUICK, "full": FULL}
