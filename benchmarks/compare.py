"""Ours against a plain numpy implementation and scikit-learn's KernelDensity.sample; memory against budget.

    python benchmarks/compare.py            # n=60000, D=784, 2000 samples (~3 min on 2 cores)
    python benchmarks/compare.py --small    # n=6000

All rows are measured in one run on the same machine; the ratios are what to read.
* plain numpy: the exact posterior mean written directly (chunks of 500 training rows, a running
  log-sum-exp, float32 and float64), as a user would without this package (the anchor in
  ``shared/anchors.md`` is this kind of code: ~200 samples/s float32 on this machine class);
* scikit-learn ``KernelDensity(bandwidth=sigma).sample``: an *ambient* Gaussian KDE, a training point
  plus noise in all D directions. It skips the posterior mean entirely (O(m D) work instead of
  O(m n D)), so it is much faster; its samples are the ambient KDE of experiment 2, off the manifold;
* peak memory against ``max_memory``: a child process per budget, the growth of its peak RSS during
  ``sample`` beyond what it held before (input data, model), next to the budget and the output size.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from throughput import synthetic_data  # noqa: E402


def numpy_posterior_mean(x: np.ndarray, data: np.ndarray, t: float, chunk: int = 500) -> np.ndarray:
    """Plain exact posterior mean: streaming log-sum-exp over chunks of 500 rows, no tricks."""
    a, v = np.exp(-t), -np.expm1(-2 * t) / 2
    m_run = np.full(len(x), -np.inf, dtype=x.dtype)
    s_run = np.zeros(len(x), dtype=x.dtype)
    w_run = np.zeros_like(x)
    for c0 in range(0, len(data), chunk):
        y = data[c0:c0 + chunk]
        logits = (a * x @ y.T - 0.5 * a * a * (y * y).sum(1)) / v
        new = np.maximum(m_run, logits.max(1))
        scale = np.exp(m_run - new)
        e = np.exp(logits - new[:, None])
        s_run = s_run * scale + e.sum(1)
        w_run = w_run * scale[:, None] + e @ y
        m_run = new
    return w_run / s_run[:, None]


def best_time(fn, repeats: int = 2) -> float:
    fn()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def memory_child(budget: int, n: int, dim: int, m: int) -> dict:
    """Peak RSS growth during ``sample`` alone: the kernel's high-water mark is reset first
    (``echo 5 > /proc/self/clear_refs``, Linux), so the fit's own peak does not hide it."""
    from inertial_diffusion import InertialDiffusion

    X = synthetic_data(n, dim)
    model = InertialDiffusion(intrinsic_dim=10, max_memory=budget, random_state=0).fit(X)
    model.sample(16)
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")
    before = _status_kib("VmRSS") * 1024
    start = time.perf_counter()
    model.sample(m)
    seconds = time.perf_counter() - start
    peak = _status_kib("VmHWM") * 1024
    return {"budget": budget, "growth": peak - before, "seconds": seconds, "output": 8 * m * dim}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small", action="store_true")
    parser.add_argument("--memory-child", nargs=4, type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        print(json.dumps(memory_child(*args.memory_child)))
        return
    import torch
    from sklearn.neighbors import KernelDensity

    from inertial_diffusion import InertialDiffusion

    n, dim, m = (6000, 784, 500) if args.small else (60000, 784, 2000)
    # memory first, while this process is idle: children timed beside a busy parent ran 2-4x slower
    output_mib = 8 * m * dim / 2**20
    print(f"peak memory against max_memory (child processes, float64, {m} samples; output {output_mib:.1f} MiB)")
    print(f"{'max_memory':>11} {'peak RSS growth':>16} {'seconds':>8}")
    for budget in (4 * 2**20, 16 * 2**20, 64 * 2**20, 256 * 2**20):
        child = subprocess.run([sys.executable, __file__, "--memory-child", str(budget), str(n), str(dim), str(m)],
                               capture_output=True, text=True, check=True)
        res = json.loads(child.stdout.strip().splitlines()[-1])
        print(f"{budget / 2**20:>9.0f}Mi {res['growth'] / 2**20:>14.1f}Mi {res['seconds']:>8.2f}")

    X = synthetic_data(n, dim)
    print(f"\nn={n}, D={dim}, m={m}; {torch.get_num_threads()} torch threads; torch {torch.__version__}")
    print(f"{'method':<52} {'samples/s':>10} {'time / ours (same dtype)':>25}")
    for dtype, np_dtype in (("float32", np.float32), ("float64", np.float64)):
        model = InertialDiffusion(intrinsic_dim=10, dtype=dtype, random_state=0).fit(X)
        ours = best_time(lambda: model.sample(m))
        Z = model.standardizer_.transform(X).astype(np_dtype)
        q = model.standardizer_.transform(model.sample(m)).astype(np_dtype)
        plain = best_time(lambda: numpy_posterior_mean(q, Z, model.h_), repeats=1)
        check = np.abs(numpy_posterior_mean(q[:50], Z, model.h_)
                       - model.standardizer_.transform(model.posterior_mean(model.standardizer_.inverse_transform(
                           q[:50].astype(np.float64)), model.h_))).max()
        print(f"{'ours, exact one-shot IDM, ' + dtype:<52} {m / ours:>10.0f} {'1':>25}")
        print(f"{'plain numpy exact posterior mean, ' + dtype:<52} {m / plain:>10.0f} "
              f"{plain / ours:>24.2f}x   (max |diff| {check:.1e})")
    model = InertialDiffusion(intrinsic_dim=10, random_state=0).fit(X)
    kde = KernelDensity(bandwidth=model.bandwidth_ * model.scale_).fit(X)
    sk = best_time(lambda: kde.sample(m, random_state=0))
    ours = best_time(lambda: model.sample(m))
    print(f"{'scikit-learn KernelDensity.sample (ambient KDE)':<52} {m / sk:>10.0f} {sk / ours:>24.3f}x")


if __name__ == "__main__":
    main()
