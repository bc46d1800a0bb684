"""The moment-matched inertia step: its cost over the posterior mean, and the cheaper K-draw variant it beat.

    python benchmarks/moment.py            # cost table (all cases) and the K-draw comparison
    python benchmarks/moment.py --quick    # smaller cases, no Fashion-MNIST
    python benchmarks/moment.py --only cost
    python benchmarks/moment.py --only grid    # docs/figures/fashion_*_neighbours.png (the README's picture)

Sections:

* ``cost``: per case, the time of ``inertia_step(..., "moment")`` over ``"posterior_mean"`` on the same one-shot
  ``z`` and the same backend (exact, default memory budget), alternated and best of 3 each; beside it the share of
  the moment step spent drawing its keyed noise (``KeyedNoise.block`` over all (query, row) pairs, timed alone).
  The step adds one GEMM (``sqrt(w) eps @ y``) to the mean's two and one standard normal per (query, row) pair
  (~3 ns each from torch's CPU generator): about 1.5x where the GEMMs dominate, more where D is small.
* ``kdraw``: the variant ``x = m + K^(-1/2) sum_k xi_k (y_{J_k} - m)``, ``J_k ~ w`` i.i.d., ``xi_k ~ N(0, 1)``: the
  same conditional mean and covariance with K rows per query instead of n noise terms. Computed densely here
  (it is not in the library: see the README for why), against the Gaussian step on the same ``z``: the radial
  bias and W1 on a 2-sphere, and on Fashion-MNIST classes 0/1/7 (1000 training images each, the real-data
  benchmark's feature network) the Fréchet distance, DupRate and variance kept.

* ``search``: breast cancer (scikit-learn's, 569 rows, 30 standardized columns, then the package's default global
  scale):
  ``bandwidth="auto", max_dup_rate=0.05`` with each step, against the rule's default ``c = 1``: the chosen ``c``,
  DupRate and variance kept of 2000 samples (the posterior-mean step meets the target only by collapsing).
* ``grid``: Fashion-MNIST classes 0 (T-shirt), 7 (sneaker) and 8 (bag), 1000 training images each, the rule's σ
  at c = 0.5 (d estimated on the three classes): 8 samples per class from each step beside their nearest training
  images (pixel distance), written to ``docs/figures/``.

Every table is printed with ``uptime``: absolute times here move with other jobs' load; the ratios are measured
side by side in one process.
"""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import time

import numpy as np
import torch

from inertial_diffusion.backends.local import LocalBackend
from inertial_diffusion.core.inertia import inertia_step
from inertial_diffusion.core.noise import KeyedNoise
from inertial_diffusion.core.process import alpha, variance
from inertial_diffusion.core.samplers import sample_one_shot

CPU = torch.device("cpu")


def low_rank(n: int, dim: int, rank: int = 16, noise: float = 0.02, seed: int = 0) -> np.ndarray:
    """Low-rank data with a little noise (the engine issue's middle case)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, rank)) @ rng.standard_normal((rank, dim)) / math.sqrt(rank)
    return X + noise * rng.standard_normal((n, dim))


def sphere(n: int, dim: int, seed: int = 0) -> np.ndarray:
    from inertial_diffusion.evaluation.datasets import Sphere

    return Sphere(2, dim, random_state=seed).sample(n, random_state=seed + 1)


def _standardized(X: np.ndarray, dtype: torch.dtype) -> torch.Tensor:
    X = X - X.mean(0)
    return torch.as_tensor(X / np.sqrt((X**2).sum(1).mean()), dtype=dtype)


def _best(fn, repeats: int) -> float:
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def cost_case(name: str, X: np.ndarray, dtype: torch.dtype, m: int, sigma: float, repeats: int = 3) -> dict:
    """Moment step over posterior-mean step on the same z (alternated, best of ``repeats``)."""
    Z = _standardized(X, dtype)
    backend = LocalBackend(Z, CPU, max_memory=256 * 2**20)
    h = sigma**2
    z = sample_one_shot(Z, h, m, torch.Generator().manual_seed(0))
    inertia_step(backend, z[:8], h, "moment", torch.Generator().manual_seed(1))  # warm-up
    mean_t = moment_t = math.inf
    for _ in range(repeats):  # alternated: the machine's drifts hit both
        mean_t = min(mean_t, _best(lambda: inertia_step(backend, z, h, "posterior_mean"), 1))
        moment_t = min(moment_t, _best(lambda: inertia_step(backend, z, h, "moment", torch.Generator().manual_seed(1)),
                                       1))
    noise = KeyedNoise(1)
    noise_t = _best(lambda: [noise.block(torch.arange(q0, min(q0 + 512, m)), 0, Z.shape[0], dtype)
                             for q0 in range(0, m, 512)], 1)
    return dict(case=name, dtype=str(dtype).removeprefix("torch."), n=Z.shape[0], D=Z.shape[1], m=m,
                mean_s=mean_t, moment_s=moment_t, ratio=moment_t / mean_t, noise_share=noise_t / moment_t)


def run_cost(quick: bool) -> list[dict]:
    cases = [("S^2 in R^3", sphere(4000, 3), torch.float64, 4000, 0.25),
             ("S^2 in R^300", sphere(4000, 300), torch.float64, 4000, 0.25),
             ("S^2 in R^300", sphere(4000, 300), torch.float32, 4000, 0.25)]
    if quick:
        cases += [("low rank + noise", low_rank(10000, 784), torch.float32, 400, 0.3)]
    else:
        cases += [("low rank + noise", low_rank(60000, 784), torch.float64, 400, 0.3),
                  ("low rank + noise", low_rank(60000, 784), torch.float32, 400, 0.3)]
        fashion = _fashion_class(0)
        if fashion is not None:
            cases += [("Fashion-MNIST class 0", fashion, torch.float64, 1000, 0.4 * 1000 ** (-1 / 19.3)),
                      ("Fashion-MNIST class 0", fashion, torch.float32, 1000, 0.4 * 1000 ** (-1 / 19.3))]
    return [cost_case(*case) for case in cases]


def _fashion_class(label: int, k: int = 1000) -> np.ndarray | None:
    from inertial_diffusion.evaluation.datasets import load_fashion_mnist

    try:
        X, y = load_fashion_mnist("train")
    except FileNotFoundError:
        return None
    return X[y == label][:k].astype(np.float64)


# ------------------------------------------------------------------------------------------------ K draws
def dense_steps(Z: torch.Tensor, h: float, z: torch.Tensor, gen: torch.Generator, ks=(1, 4, 16)) -> dict:
    """Posterior mean, Gaussian moment step and K-draw steps of ``z``, densely (float64)."""
    a, v = alpha(h), variance(h)
    w = torch.softmax((a * z @ Z.T - a * a * (Z * Z).sum(1) / 2) / v, dim=1)
    m = w @ Z
    eps = torch.randn(w.shape, generator=gen, dtype=w.dtype)
    out = {"posterior mean": m, "Gaussian (library)": m + (w.sqrt() * eps) @ Z - m * (w.sqrt() * eps).sum(1, True)}
    for k in ks:
        J = torch.multinomial(w, k, replacement=True, generator=gen)
        xi = torch.randn(z.shape[0], k, 1, generator=gen, dtype=w.dtype)
        out[f"K = {k}"] = m + (xi * (Z[J] - m[:, None])).sum(1) / math.sqrt(k)
    return out


def run_kdraw(quick: bool) -> list[dict]:
    from inertial_diffusion.evaluation.metrics import wasserstein1

    rows = []
    n = 2000 if quick else 4000
    Z = torch.as_tensor(sphere(n, 3))
    population = sphere(2000, 3, seed=7)
    h = (n ** (-1 / 6)) ** 2
    gen = torch.Generator().manual_seed(0)
    z = sample_one_shot(Z, h, 2000, gen)
    for name, x in dense_steps(Z, h, z, gen).items():
        rows.append(dict(data="S^2, n = %d" % n, step=name, radial_bias=float(x.norm(dim=1).mean() - 1),
                         w1=wasserstein1(x.numpy(), population)))
    if quick:
        return rows
    rows += _fashion_rows()
    return rows


def _fashion_rows() -> list[dict]:
    from dataclasses import replace

    from inertial_diffusion import InertialDiffusion, estimate_intrinsic_dim
    from inertial_diffusion_studies import real_data as rd
    from inertial_diffusion_studies.feature_net import train_feature_net

    try:
        preset = replace(rd.FULL_REAL, image_classes=(0, 1, 7), net_train=6000)
        data = rd._image_split(preset)
    except FileNotFoundError:
        return []
    net = train_feature_net(data["X_net"], data["y_net"], epochs=preset.net_epochs, seed=0)
    d = estimate_intrinsic_dim(data["X"], random_state=0)
    results: dict[tuple[float, str], list[dict]] = {}
    for c in (0.4, 0.5, 1.0):
        for cls in (0, 1, 7):
            X, Xt = data["X"][data["y"] == cls], data["X_test"][data["y_test"] == cls]
            model = InertialDiffusion(bandwidth_scale=c, intrinsic_dim=d, random_state=0).fit(X)
            Z = model.backend_.rows.double()
            gen = torch.Generator().manual_seed(cls)
            z = sample_one_shot(Z, model.h_, 1000, gen)
            test_feats = net.features(Xt)
            for name, x in dense_steps(Z, model.h_, z, gen).items():
                S = model.standardizer_.inverse_transform(x.numpy())
                results.setdefault((c, name), []).append(rd._image_row(net, cls, S, X, Xt, test_feats))
    return [dict(data=f"Fashion-MNIST 0/1/7, c = {c:g}", step=name,
                 **{k: float(np.mean([r[k] for r in rs])) for k in ("fd", "dup_rate", "variance_kept", "precision",
                                                                     "recall")})
            for (c, name), rs in results.items()]


def run_search() -> list[dict]:
    """The novelty target with each step on breast cancer: c, DupRate, variance kept (see the module docstring)."""
    import warnings

    from sklearn.datasets import load_breast_cancer

    from inertial_diffusion import InertialDiffusion
    from inertial_diffusion.evaluation.metrics import memorization_report

    from sklearn.preprocessing import StandardScaler

    X = StandardScaler().fit_transform(load_breast_cancer(return_X_y=True)[0])  # standardized columns
    rows = []
    for step in ("posterior_mean", "moment"):
        for options in ({}, {"bandwidth": "auto", "max_dup_rate": 0.05}):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model = InertialDiffusion(inertia=step, random_state=0, **options).fit(X)
            S = model.sample(2000, random_state=1)
            search = model.bandwidth_search_
            rows.append(dict(step=step, bandwidth="max_dup_rate=0.05" if options else "rule, c = 1",
                             c=search.best_scale if search is not None else 1.0,
                             dup_rate=memorization_report(S, X).dup_rate,
                             variance_kept=float(S.var(0).sum() / X.var(0).sum())))
    return rows


def run_grid(out: str = "docs/figures") -> list[str]:
    """Fashion-MNIST samples of both steps beside their nearest training images (the README's picture)."""
    from pathlib import Path

    from inertial_diffusion import InertialDiffusion, estimate_intrinsic_dim
    from inertial_diffusion.evaluation.datasets import load_fashion_mnist
    from inertial_diffusion.evaluation.metrics import nearest_distances
    from inertial_diffusion.evaluation.plots import nearest_neighbour_grid
    from inertial_diffusion.io import atomic_write, to_images

    X, y = load_fashion_mnist("train")
    classes = (0, 7, 8)
    X = np.concatenate([X[y == c][:1000] for c in classes]).astype(np.float64)
    y = np.repeat(classes, 1000)
    d = estimate_intrinsic_dim(X, random_state=0)
    written = []
    for step in ("moment", "posterior_mean"):
        model = InertialDiffusion(inertia=step, bandwidth_scale=0.5, intrinsic_dim=d, random_state=0).fit(X, y)
        S = np.concatenate([model.sample(8, y=c, random_state=c) for c in classes])
        idx = [int(np.argmin(np.linalg.norm(X - s, axis=1))) for s in S]
        path = Path(out) / f"fashion_{step}_neighbours.png"
        atomic_write(path, lambda p: nearest_neighbour_grid(to_images(S, (28, 28)), to_images(X[idx], (28, 28)),
                                                            nearest_distances(S, X), p, ncols=4))
        written.append(f"{path}: d = {d:.2f}, sigma = {model.class_models_[0].bandwidth_:.3f}, variance kept "
                       f"{S.var(0).sum() / X.var(0).sum():.2f}")
    return written


def _table(rows: list[dict]) -> str:
    keys = list(dict.fromkeys(k for r in rows for k in r))
    fmt = lambda v: f"{v:.4g}" if isinstance(v, float) else str(v)  # noqa: E731
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    lines += ["| " + " | ".join(fmt(r.get(k, "")) for k in keys) + " |" for r in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", default="cost,kdraw,search")
    args = parser.parse_args(argv)
    only = set(args.only.split(","))
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} cores")
    if "cost" in only:
        print("\n## cost of the moment step over the posterior mean (same z, same backend)\n")
        print(_table(run_cost(args.quick)))
        print("\n" + subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    if "search" in only:
        print("\n## the novelty target without collapse (breast cancer)\n")
        print(_table(run_search()))
    if "grid" in only:
        print("\n".join(run_grid()))
    if "kdraw" in only:
        print("\n## the K-draw variant against the Gaussian step (dense, same z)\n")
        print(_table(run_kdraw(args.quick)))
        print("\n" + subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())


if __name__ == "__main__":
    main()
