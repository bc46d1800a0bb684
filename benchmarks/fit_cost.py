"""What a fit costs, in samples: ``fit`` time over the time of 500 one-shot samples from the fitted model.

    python benchmarks/fit_cost.py                 # n = 200 000, D = 784, float32 (about a minute)
    python benchmarks/fit_cost.py --n 1000000     # the 10^6 x 784 row of the README (about 3 GB of data)
    python benchmarks/fit_cost.py --dtype float64 # a float64 model (the default dtype)

Low-rank data with a little noise (16 latent directions, noise 0.02, as ``benchmarks/throughput.py``'s middle case).
Both timings in one process, alternated, best of ``--repeats``. For where a fit's time goes, profile one fit
(``python -m cProfile -s cumulative``); benchmarks/README.md has the latest breakdown.
"""

from __future__ import annotations

import argparse
import math
import subprocess
import time

import numpy as np
import torch


def low_rank(n: int, dim: int, rank: int = 16, noise: float = 0.02, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = np.empty((n, dim), dtype=np.float32)
    basis = (rng.standard_normal((rank, dim)) / math.sqrt(rank)).astype(np.float32)
    for r0 in range(0, n, 50_000):
        r1 = min(n, r0 + 50_000)
        out[r0:r1] = rng.standard_normal((r1 - r0, rank), dtype=np.float32) @ basis
        out[r0:r1] += noise * rng.standard_normal((r1 - r0, dim), dtype=np.float32)
    return out


def main(argv: list[str] | None = None) -> None:
    from inertial_diffusion import InertialDiffusion

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=200_000)
    parser.add_argument("--dim", type=int, default=784)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"], help="the model's dtype")
    args = parser.parse_args(argv)
    X = low_rank(args.n, args.dim)
    fit = sample = math.inf
    for _ in range(args.repeats):
        start = time.perf_counter()
        model = InertialDiffusion(dtype=args.dtype, random_state=0).fit(X)
        fit = min(fit, time.perf_counter() - start)
        start = time.perf_counter()
        model.sample(500)
        sample = min(sample, time.perf_counter() - start)
    print(f"n = {args.n}, D = {args.dim}, {args.dtype}, {torch.get_num_threads()} threads: fit {fit:.2f} s, "
          f"500 samples {sample:.2f} s, fit / 500 samples = {fit / sample:.2f} (d = {model.intrinsic_dim_:.2f}, "
          f"sigma = {model.bandwidth_:.3f}, isolated {model.n_isolated_})")
    print(subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())


if __name__ == "__main__":
    main()
