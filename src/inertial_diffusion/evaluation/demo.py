"""The demo: IDM vs the empirical diffusion model on a 2-sphere in R^100 and on the bundled digits."""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np

from inertial_diffusion.evaluation.datasets import Sphere, load_digits
from inertial_diffusion import EmpiricalDiffusion, InertialDiffusion
from inertial_diffusion.evaluation.metrics import memorization_report, nearest_distances

__all__ = ["DemoRow", "run_demo", "run_digits_demo", "run_full_demo", "DEFAULT_OUT"]

DEFAULT_OUT = Path("inertial-diffusion-demo")


@dataclass(frozen=True)
class DemoRow:
    """One model's line of the sphere demo's table.

    Parameters
    ----------
    model : str
        The model's name ("IDM (inertial)" or "empirical DM").
    mean_distance_to_sphere : float
        Mean exact distance of the samples to the sphere: how far they left the data manifold.
    median_distance_to_train : float
        Median distance of a sample to its nearest training point (0 for copies).
    copy_rate : float
        Fraction of samples within ``1e-6`` times the data's scale of a training point (see
        :class:`~inertial_diffusion.evaluation.metrics.MemorizationReport`).
    seconds : float
        Wall-clock time of fit and sample.
    """

    model: str
    mean_distance_to_sphere: float
    median_distance_to_train: float
    copy_rate: float  # fraction of samples within 1e-6 (relative to data scale) of a training point
    seconds: float


def _models(random_state: int):
    return [("IDM (posterior mean)", InertialDiffusion(inertia="posterior_mean", random_state=random_state)),
            ("IDM (moment)", InertialDiffusion(inertia="moment", random_state=random_state)),
            ("empirical DM", EmpiricalDiffusion(random_state=random_state))]


def _tag(name: str) -> str:
    return {"IDM (posterior mean)": "idm", "IDM (moment)": "idm_moment"}.get(name, "empirical")


def run_demo(n_train: int = 2000, n_samples: int = 1000, ambient_dim: int = 100,
             random_state: int = 0, return_samples: bool = False):
    """Fit both models on ``n_train`` uniform points of the unit 2-sphere in R^``ambient_dim``.

    The demo's claim in numbers: the empirical diffusion model returns training points (copy rate
    1), IDM returns new points (copy rate 0) that stay close to the sphere, with the intrinsic
    dimension and the bandwidth estimated from the data (all defaults).

    Parameters
    ----------
    n_train : int, default=2000
        Training points.
    n_samples : int, default=1000
        Samples drawn from each model.
    ambient_dim : int, default=100
        Dimension ``D`` the sphere is randomly embedded in.
    random_state : int, default=0
        Seeds the embedding (``random_state``), the training points (``random_state + 1``) and both
        models.
    return_samples : bool, default=False
        Also return the training points and the samples.

    Returns
    -------
    rows : list of DemoRow
        One row per model: IDM with the posterior-mean step, IDM with the moment step, the empirical model.
    info : dict
        IDM's fitted ``intrinsic_dim``, ``bandwidth`` (σ, standardized units) and ``h`` (σ²).
    train : ndarray of shape (n_train, ambient_dim)
        Only with ``return_samples=True``: the training points.
    samples : dict of str to ndarray of shape (n_samples, ambient_dim)
        Only with ``return_samples=True``: each model's samples, by model name.

    Examples
    --------
    >>> rows, info = run_demo(n_train=300, n_samples=100, ambient_dim=20)
    >>> [(row.model, row.copy_rate) for row in rows]
    [('IDM (posterior mean)', 0.0), ('IDM (moment)', 0.0), ('empirical DM', 1.0)]
    >>> round(info["intrinsic_dim"]), rows[0].mean_distance_to_sphere < 0.2
    (2, True)
    """
    sphere = Sphere(intrinsic_dim=2, ambient_dim=ambient_dim, random_state=random_state)
    train = sphere.sample(n_train, random_state=random_state + 1)
    rows: list[DemoRow] = []
    info: dict[str, float | None] = {}
    samples: dict[str, np.ndarray] = {}
    for name, model in _models(random_state):
        start = time.perf_counter()
        S = model.fit(train).sample(n_samples)
        seconds = time.perf_counter() - start
        rep = memorization_report(S, train)
        rows.append(DemoRow(name, float(sphere.distance(S).mean()), rep.median_nn_distance, rep.copy_rate, seconds))
        samples[name] = S
        if isinstance(model, InertialDiffusion) and not info:
            info = {"intrinsic_dim": model.intrinsic_dim_, "bandwidth": model.bandwidth_, "h": model.h_}
    return (rows, info, train, samples) if return_samples else (rows, info)


def run_digits_demo(n_samples: int = 400, random_state: int = 0):
    """Both models on scikit-learn's bundled 8x8 digits (1797 images, pixels scaled to [0, 1]).

    The images are those of :func:`~inertial_diffusion.evaluation.datasets.load_digits`, the package's one
    loader of this data set.

    Parameters
    ----------
    n_samples : int, default=400
        Samples drawn from each model.
    random_state : int, default=0
        Seeds both models.

    Returns
    -------
    X : ndarray of shape (1797, 64)
        The training images, as rows.
    results : dict of str to (ndarray, MemorizationReport)
        Per model name: its samples, shape (n_samples, 64), and their memorization report against ``X``.
    """
    X, _ = load_digits()
    out = {}
    for name, model in _models(random_state):
        S = model.fit(X).sample(n_samples)
        out[name] = (S, memorization_report(S, X))
    return X, out


def _table(rows: list[DemoRow]) -> str:
    header = f"{'model':<21} {'mean dist to sphere':>20} {'median dist to train':>21} {'copies':>8} {'time':>7}"
    lines = [header, "-" * len(header)]
    lines += [f"{r.model:<21} {r.mean_distance_to_sphere:>20.4f} {r.median_distance_to_train:>21.4f} "
              f"{100 * r.copy_rate:>7.1f}% {r.seconds:>6.2f}s" for r in rows]
    return "\n".join(lines)


def _fresh_folder(out: Path | None, force: bool) -> Path:
    if out is None:  # the default never overwrites: demo, demo-2, demo-3, ...
        out, k = DEFAULT_OUT, 1
        while out.exists():
            k += 1
            out = DEFAULT_OUT.with_name(f"{DEFAULT_OUT.name}-{k}")
    elif out.exists() and any(out.iterdir()) and not force:
        raise ValueError(f"{out}: already exists and is not empty; use --force or another --out")
    out.mkdir(parents=True, exist_ok=True)
    return out


def run_full_demo(out: Path | None = None, quiet: bool = False, force: bool = False) -> Path:
    """Sphere and digits; write samples, ``summary.md`` and figures to ``out``; return the folder.

    Runs :func:`run_demo` and :func:`run_digits_demo` with their defaults and writes, atomically, each
    model's samples (``.npy``), a PCA scatter of the sphere samples, a grid of digit samples beside
    their nearest training images, and ``summary.md`` with the tables. It is what
    ``python -m inertial_diffusion`` and ``inertial-diffusion demo`` run.

    Parameters
    ----------
    out : pathlib.Path, optional
        Output folder. Default: ``inertial-diffusion-demo`` in the working directory, or
        ``inertial-diffusion-demo-2``, ``-3``, ... when it exists (the default never overwrites).
    quiet : bool, default=False
        Do not print the progress and the tables.
    force : bool, default=False
        Allow writing into an existing non-empty ``out``.

    Returns
    -------
    pathlib.Path
        The folder written.

    Raises
    ------
    ValueError
        ``out`` exists, is not empty, and ``force`` is False.
    """
    from inertial_diffusion.io import atomic_write, to_images
    from inertial_diffusion.evaluation.plots import nearest_neighbour_grid, scatter_samples

    say = (lambda *a: None) if quiet else print
    out = _fresh_folder(out, force)
    say("1. 2000 points on the unit 2-sphere in R^100; 1000 samples from each model.")
    rows, info, train, samples = run_demo(return_samples=True)
    sphere_text = (f"IDM: estimated intrinsic dimension d = {info['intrinsic_dim']:.2f}, sigma = n^(-1/(d+4)) = "
                   f"{info['bandwidth']:.3f} (standardized units), h = sigma^2 = {info['h']:.4f}\n\n{_table(rows)}")
    say(sphere_text)
    say("\n2. scikit-learn's 8x8 digits (1797 images); 400 samples from each model.")
    digits, digit_results = run_digits_demo()
    digit_text = "\n\n".join(f"{name}\n{rep}" for name, (_, rep) in digit_results.items())
    say(digit_text)
    for name, S in samples.items():
        tag = _tag(name)
        # partial binds this iteration's arrays (the writer runs inside atomic_write, at once)
        atomic_write(out / f"sphere_{tag}_samples.npy", partial(np.save, arr=S))
        atomic_write(out / f"sphere_{tag}.png", partial(scatter_samples, train, S,
                                                        title=f"{name}: unit 2-sphere in R^100 (PCA view)"))
    for name, (S, _) in digit_results.items():
        tag = _tag(name)
        atomic_write(out / f"digits_{tag}_samples.npy", partial(np.save, arr=S))
        k = 16
        nn = nearest_distances(S[:k], digits)
        idx = [int(np.argmin(np.linalg.norm(digits - s, axis=1))) for s in S[:k]]
        atomic_write(out / f"digits_{tag}_neighbours.png", partial(
            nearest_neighbour_grid, to_images(S[:k], (8, 8)), to_images(digits[idx], (8, 8)), nn))
    summary = ("# inertial-diffusion demo\n\n## Unit 2-sphere in R^100 (n = 2000)\n\n```\n" + sphere_text +
               "\n```\n\n![IDM](sphere_idm.png) ![IDM, moment step](sphere_idm_moment.png) "
               "![empirical](sphere_empirical.png)\n\n"
               "## Digits (8x8, n = 1797)\n\n```\n" + digit_text + "\n```\n\n"
               "Each sample beside its nearest training image (d = distance):\n\n"
               "![IDM](digits_idm_neighbours.png) ![IDM, moment step](digits_idm_moment_neighbours.png) "
               "![empirical](digits_empirical_neighbours.png)\n")
    atomic_write(out / "summary.md", lambda p: p.write_text(summary))
    say(f"\nwrote samples (.npy), figures (.png) and summary.md to {out}/")
    return out
