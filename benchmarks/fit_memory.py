"""Peak memory of ``fit`` + ``sample`` against the size of float32 data (issue 12, item 5).

    python benchmarks/fit_memory.py                  # n = 10^6, D = 784 float32 (2.9 GiB), 1000 samples
    python benchmarks/fit_memory.py --n 200000       # smaller

Runs in a child process and reads its own peak RSS (VmHWM; ``ru_maxrss`` would start at the parent's peak
after fork + exec). The data are filled in place in float32 blocks (no float64 temporary of their size),
then ``InertialDiffusion(dtype="float32")`` is fitted with its defaults (dimension at the kernel's scale,
components, isolated-point probe) and draws samples. Prints the growth over the data's own size.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

CHILD = r"""
import json, sys, time
import numpy as np

def rss():
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * 4096

def hwm():
    return int(next(l for l in open("/proc/self/status") if l.startswith("VmHWM:")).split()[1]) * 1024

from inertial_diffusion import InertialDiffusion
from inertial_diffusion.evaluation.datasets import Sphere
n, dim, m = (int(v) for v in sys.argv[1:4])
sphere = Sphere(4, dim, random_state=0)
X = np.empty((n, dim), dtype=np.float32)
for r0 in range(0, n, 50_000):
    X[r0:r0 + 50_000] = sphere.sample(min(50_000, n - r0), random_state=r0)
InertialDiffusion(dtype="float32", random_state=0).fit(X[:3000]).sample(100)  # warm-up
base, t0 = rss(), time.perf_counter()
model = InertialDiffusion(dtype="float32", random_state=0).fit(X)
t_fit = time.perf_counter() - t0
S = model.sample(m)
t_sample = time.perf_counter() - t0 - t_fit
print(json.dumps({"data": X.nbytes, "growth": hwm() - base, "fit_s": t_fit, "sample_s": t_sample,
                  "d": model.intrinsic_dim_, "sigma": model.bandwidth_, "finite": bool(np.isfinite(S).all())}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--dim", type=int, default=784)
    parser.add_argument("--samples", type=int, default=1000)
    args = parser.parse_args()
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", CHILD, str(args.n), str(args.dim), str(args.samples)],
                         capture_output=True, text=True, check=True)
    r = json.loads(out.stdout.strip().splitlines()[-1])
    with open("/proc/loadavg") as fh:
        load = fh.read().split()[:3]
    print(f"n = {args.n}, D = {args.dim}, float32 data {r['data'] / 2**30:.2f} GiB: peak growth during fit + "
          f"sample({args.samples}) {r['growth'] / 2**30:.2f} GiB = {r['growth'] / r['data']:.2f}x the data; "
          f"fit {r['fit_s']:.0f} s, sample {r['sample_s']:.0f} s; d = {r['d']:.2f}, sigma = {r['sigma']:.3f}; "
          f"samples finite: {r['finite']}; wall {time.perf_counter() - start:.0f} s; load average {' '.join(load)}")


if __name__ == "__main__":
    main()
