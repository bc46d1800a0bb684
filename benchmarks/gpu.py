"""GPU benchmark: one prepared script that checks correctness against float64 on the CPU and prints a table.

    python benchmarks/gpu.py                 # on a CUDA machine (~2-4 minutes on one H100)
    python benchmarks/gpu.py --dry-run       # the same code path on the CPU at tiny sizes (checks the script)

Rows, each measured in this run on the same device:
* a square float32 GEMM (8192^3), with and without TF32: the ceilings;
* exact one-shot IDM, n = 60000, D = 784, m = 16384 (float32, data resident), as samples/s, GFLOP/s
  (4 m n D per call) and fraction of the float32 GEMM; the same with ``dtype="tf32"``; the same with
  the data streamed from pinned host memory;
* n = 10^6, D = 128, m = 16384 (float32);
* correctness: max |posterior mean - float64 CPU reference| / data scale on 512 queries at t = h
  (float32 must stay below 1e-6; TF32 is reported, not bounded).
With ``$OUT`` set, the table is also written to ``$OUT/gpu.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from throughput import synthetic_data  # noqa: E402


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def gemm_rate(device: torch.device, size: int, tf32: bool, repeats: int = 5) -> float:
    from inertial_diffusion.backends.device import matmul_precision

    gen = torch.Generator(device=device).manual_seed(0)
    a = torch.randn(size, size, generator=gen, device=device)
    b = torch.randn(size, size, generator=gen, device=device)
    with matmul_precision("tf32" if tf32 and device.type == "cuda" else "exact"):
        torch.mm(a, b)
        _sync(device)
        best = float("inf")
        for _ in range(repeats):
            start = time.perf_counter()
            torch.mm(a, b)
            _sync(device)
            best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best


def idm_row(name: str, X: np.ndarray, m: int, device: torch.device, dtype: str, streamed: bool,
            reference: np.ndarray | None, queries: np.ndarray, repeats: int = 3) -> dict:
    from inertial_diffusion import InertialDiffusion
    from inertial_diffusion.backends import device as est

    saved = est.RESIDENT_FRACTION
    est.RESIDENT_FRACTION = 0.0 if streamed else saved
    try:
        model = InertialDiffusion(intrinsic_dim=10, dtype=dtype, device=str(device), random_state=0).fit(X)
    finally:
        est.RESIDENT_FRACTION = saved
    model.sample(min(m, 256))  # warm-up: kernels, allocator
    _sync(device)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        model.sample(m)
        _sync(device)
        best = min(best, time.perf_counter() - start)
    n, dim = X.shape
    row = {"row": name, "n": n, "D": dim, "m": m, "dtype": dtype, "resident": bool(model.data_resident_),
           "samples_per_s": m / best, "gflops": 4 * m * n * dim / best / 1e9}
    if reference is not None:
        mean = model.posterior_mean(queries, model.h_)
        row["max_error_over_scale"] = float(np.abs(mean - reference).max() / model.scale_)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dry-run", action="store_true", help="CPU, tiny sizes: check that the script runs")
    args = parser.parse_args()
    if args.dry_run:
        device = torch.device("cpu")
        sizes = {"gemm": 512, "small": (3000, 784, 512), "large": (20000, 128, 512)}
    else:
        if not torch.cuda.is_available():
            print("no CUDA device: run with --dry-run to check the script on the CPU")
            sys.exit(1)
        device = torch.device("cuda")
        sizes = {"gemm": 8192, "small": (60000, 784, 16384), "large": (1_000_000, 128, 16384)}
    from inertial_diffusion import InertialDiffusion

    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU (dry run)"
    print(f"device: {name}; torch {torch.__version__}")
    rows = []
    gemm32 = gemm_rate(device, sizes["gemm"], tf32=False)
    gemm_tf32 = gemm_rate(device, sizes["gemm"], tf32=True)
    rows.append({"row": f"GEMM {sizes['gemm']}^3 float32", "gflops": gemm32 / 1e9})
    rows.append({"row": f"GEMM {sizes['gemm']}^3 TF32", "gflops": gemm_tf32 / 1e9})

    for label, (n, dim, m) in (("n=60000, D=784", sizes["small"]), ("n=10^6, D=128", sizes["large"])):
        X = synthetic_data(n, dim).astype(np.float32)
        queries_model = InertialDiffusion(intrinsic_dim=10, random_state=0).fit(X)  # float64 CPU reference
        queries = queries_model.sample(512, random_state=1) + 0.01
        reference = queries_model.posterior_mean(queries, queries_model.h_)
        variants = [("float32", False), ("tf32", False), ("float32", True)] if label.startswith("n=60000") \
            else [("float32", False)]
        for dtype, streamed in variants:
            if dtype == "tf32" and device.type != "cuda":
                continue
            row = idm_row(f"IDM one-shot {label} {dtype}{' streamed' if streamed else ''}", X, m, device, dtype,
                          streamed, reference, queries)
            row["of_float32_gemm"] = row["gflops"] * 1e9 / gemm32
            rows.append(row)
        del X

    header = f"{'row':<48} {'samples/s':>11} {'GFLOP/s':>10} {'of fp32 GEMM':>13} {'max err/scale':>14}"
    print(header)
    print("-" * len(header))
    for r in rows:
        sps = f"{r['samples_per_s']:.0f}" if "samples_per_s" in r else ""
        frac = f"{r['of_float32_gemm']:.0%}" if "of_float32_gemm" in r else ""
        err = f"{r['max_error_over_scale']:.1e}" if "max_error_over_scale" in r else ""
        print(f"{r['row']:<48} {sps:>11} {r['gflops']:>10.1f} {frac:>13} {err:>14}")
    bad = [r for r in rows if r.get("dtype") == "float32" and r.get("max_error_over_scale", 0) > 1e-6]
    if bad:
        print("FAIL: float32 error above 1e-6 of the data scale in: " + ", ".join(r["row"] for r in bad))
    if os.environ.get("OUT"):
        Path(os.environ["OUT"], "gpu.json").write_text(json.dumps({"device": name, "rows": rows}, indent=1))
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
