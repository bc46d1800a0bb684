"""Fit memory: float32 data are validated and standardized in blocks into the one working copy."""

import json
import subprocess
import sys

CHILD = r"""
import json, resource, sys
import numpy as np

def rss():
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * resource.getpagesize()

from inertial_diffusion import InertialDiffusion
import torch, sklearn.neighbors, scipy.sparse.csgraph  # imports before the baseline
rng = np.random.default_rng(0)
X = np.empty((240_000, 48), dtype=np.float32)  # 44 MB: allocator noise (~10 MB) stays small beside it
for r0 in range(0, X.shape[0], 10_000):  # filled in place: no float64 temporary of the data's size
    X[r0:r0 + 10_000] = rng.standard_normal((10_000, 48), dtype=np.float32)
X[:, :2] *= 5.0
kw = dict(dtype="float32", bandwidth=0.5, max_memory=8 * 2**20, random_state=0)
InertialDiffusion(**kw).fit(X[:3000]).sample(1000)  # warm-up: thread pools, first-use allocations
base = rss()
model = InertialDiffusion(dtype="float32", bandwidth=0.5, max_memory=8 * 2**20, random_state=0).fit(X)
model.sample(200)
# VmHWM: this process's own peak (ru_maxrss would start at the forking pytest's peak after exec)
peak = int(next(l for l in open('/proc/self/status') if l.startswith('VmHWM:')).split()[1]) * 1024
print(json.dumps({"data": X.nbytes, "growth": peak - base}))
"""


def test_fit_and_sample_of_float32_data_grow_memory_by_less_than_2_5_times_the_data():
    out = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    # the working copy is 1x; a float64 copy anywhere (validation, X - mean, |y|^2) would add 2x. Measured 1.24x
    # (twice); with 22 MB of data it read 1.40-1.76x, the rest being allocator noise of ~10 MB
    assert result["growth"] <= 2.5 * result["data"], result
