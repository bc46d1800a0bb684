"""Experiment 1 — memorization: copy rate and DupRate of every model on a sphere, a torus and digits."""

from __future__ import annotations

import numpy as np

from inertial_diffusion.evaluation.datasets import Manifold, Sphere, Torus, load_digits
from inertial_diffusion.evaluation.metrics import memorization_report
from inertial_diffusion_studies.common import Say, Table, models, timed
from inertial_diffusion_studies.presets import Preset

__all__ = ["run_memorization"]

#: (name, train, held_out, manifold or None, intrinsic_dim or None)
_DataSet = tuple[str, np.ndarray, np.ndarray, Manifold | None, int | None]


def _data_sets(preset: Preset, seed: int) -> list[_DataSet]:
    """(name, train, held_out, manifold or None, intrinsic_dim or None)."""
    n = preset.memorization_n
    out: list[_DataSet] = []
    for name, manifold in (("sphere S^2 in R^10", Sphere(2, 10, random_state=seed)),
                           ("flat torus T^2 in R^10", Torus(2, 10, random_state=seed))):
        out.append((name, manifold.sample(n, random_state=seed + 1), manifold.sample(n, random_state=seed + 2),
                    manifold, 2))
    X, _ = load_digits()
    perm = np.random.default_rng(seed).permutation(len(X))
    k = preset.digits_train
    out.append((f"digits 8x8 ({k} train)", X[perm[:k]], X[perm[k:]], None, None))
    return out


def run_memorization(preset: Preset, say: Say, seed: int = 0) -> Table:
    """Copy rate (within 1e-6 of the scale), DupRate (closer than the 1st percentile of training
    nearest-neighbour distances), NN-distance ratio to held-out data, distance to the manifold.

    The paper's central claim: the empirical diffusion model returns training points, IDM returns new
    ones. Data: S^2 and the flat torus T^2 in R^10 (d = 2 given) and scikit-learn's 8x8 digits (d
    estimated), every model of :func:`~inertial_diffusion_studies.common.models`.

    Parameters
    ----------
    preset : Preset
        Sizes: ``memorization_n``, ``memorization_samples``, ``digits_train`` and ``cfdm_*``.
    say : callable
        Progress callback, one line per (data set, model).
    seed : int, default 0
        Seed of the data, the digits' split and the models.

    Returns
    -------
    Table
        ``"memorization"``, one row per (data set, model): ``data_set``, ``model``, ``n_train``,
        ``n_samples``, ``sigma`` (NaN for a model without ``bandwidth_``), ``copy_rate``, ``dup_rate``,
        ``nn_ratio``, ``mean_distance_to_manifold`` (NaN for the digits), ``seconds``.

    See Also
    --------
    inertial_diffusion.evaluation.metrics.memorization_report : The three novelty measures.
    """
    table = Table("memorization")
    for data_name, train, held_out, manifold, d in _data_sets(preset, seed):
        for model_name, model in models(d, seed, preset.cfdm_steps, preset.cfdm_noise).items():
            say(f"  memorization: {data_name}, {model_name}")
            samples, seconds = timed(lambda: model.fit(train).sample(preset.memorization_samples))
            rep = memorization_report(samples, train, held_out=held_out)
            table.add(data_set=data_name, model=model_name, n_train=len(train), n_samples=len(samples),
                      sigma=getattr(model, "bandwidth_", float("nan")),
                      copy_rate=rep.copy_rate, dup_rate=rep.dup_rate, nn_ratio=rep.nn_ratio,
                      mean_distance_to_manifold=(float(manifold.distance(samples).mean()) if manifold is not None
                                                 else float("nan")),
                      seconds=seconds)
    return table
