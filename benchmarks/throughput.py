"""Exact one-shot IDM throughput against the machine's GEMM rate, measured side by side.

    python benchmarks/throughput.py            # n=60000, D=784, 3 x 4000 samples (~4 min on 2 cores)
    python benchmarks/throughput.py --small    # a quick smoke run

For each dtype it prints: samples/s of the exact one-shot IDM, the effective GFLOP/s counting
4*m*n*D flops (two m x n x D products), that rate as a fraction of a square torch GEMM of the
same dtype (the two timed alternately, best of 3 each, in the same process), the per-sample speed-up of one-shot over a 100-step reverse
SDE (exponential integrator), and the peak resident memory of a child process doing the run.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import numpy as np
import torch


def gemm_rate(dtype: torch.dtype, size: int = 4096, repeats: int = 3) -> float:
    """Best-of-``repeats`` FLOP/s of a square torch GEMM."""
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(size, size, generator=gen, dtype=dtype)
    b = torch.randn(size, size, generator=gen, dtype=dtype)
    torch.mm(a, b)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best


def synthetic_data(n: int, dim: int) -> np.ndarray:
    """Points near a 10-dimensional nonlinear manifold in R^dim (an image-like setting)."""
    rng = np.random.default_rng(0)
    latent = rng.uniform(-1, 1, size=(n, 10))
    basis = rng.standard_normal((10, dim)) / np.sqrt(10)
    return np.tanh(latent @ basis) + 0.01 * rng.standard_normal((n, dim))


def run_one(dtype: str, n: int, dim: int, m: int, m_sde: int, repeats: int = 3) -> dict:
    """One configuration, in this process (called in a child so that peak memory is its own).

    The exact path and the GEMM reference are timed alternately, best of ``repeats`` each, so that
    the machine's speed drifts (shared hosts) hit both sides of the ratio alike.
    """
    from inertial_diffusion import InertialDiffusion

    X = synthetic_data(n, dim)
    model = InertialDiffusion(intrinsic_dim=10, dtype=dtype, random_state=0).fit(X)
    model.sample(64)  # warm-up
    one_shot = gemm = float("inf")
    for _ in range(repeats):
        gemm = min(gemm, 1.0 / gemm_rate(getattr(torch, dtype), repeats=1))
        start = time.perf_counter()
        model.sample(m)
        one_shot = min(one_shot, (time.perf_counter() - start) / m)
    sde = model.set_params(sampler="sde", n_steps=100)
    start = time.perf_counter()
    sde.sample(m_sde)
    simulated = (time.perf_counter() - start) / m_sde
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {"dtype": dtype, "h": model.h_, "seconds_per_sample": one_shot, "gemm_flops": 1.0 / gemm,
            "sde_seconds_per_sample": simulated, "peak_bytes": peak, "data_bytes": X.nbytes}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small", action="store_true", help="n=6000, D=784, 1000 samples")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    n, dim, m, m_sde = (6000, 784, 1000, 50) if args.small else (60000, 784, 4000, 100)
    if args.one:
        print(json.dumps(run_one(args.one, n, dim, m, m_sde)))
        return
    print(f"exact one-shot IDM, n={n}, D={dim}, m={m} samples; {torch.get_num_threads()} torch threads; "
          f"torch {torch.__version__}")
    header = (f"{'dtype':<8} {'samples/s':>10} {'GFLOP/s':>8} {'GEMM GFLOP/s':>13} {'of GEMM':>8} "
              f"{'one-shot vs 100-step SDE':>25} {'peak RSS':>9}")
    print(header)
    print("-" * len(header))
    for dtype in ("float32", "float64"):
        child = subprocess.run([sys.executable, __file__, "--one", dtype] + (["--small"] if args.small else []),
                               capture_output=True, text=True, check=True)
        res = json.loads(child.stdout.strip().splitlines()[-1])
        gemm = res["gemm_flops"]  # measured alternately with the exact path, in the same child
        rate = 4 * n * dim / res["seconds_per_sample"]
        print(f"{dtype:<8} {1 / res['seconds_per_sample']:>10.0f} {rate / 1e9:>8.1f} {gemm / 1e9:>13.1f} "
              f"{rate / gemm:>8.0%} {res['sde_seconds_per_sample'] / res['seconds_per_sample']:>24.0f}x "
              f"{res['peak_bytes'] / 2**30:>8.2f}G")
    print("\npeak RSS is the whole child process: Python, torch, the float64 input array "
          f"({n * dim * 8 / 2**30:.2f} GiB) and the model's copy of the data.")


if __name__ == "__main__":
    main()
