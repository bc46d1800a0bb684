"""Overhead of the sharded Dask path against the local path, measured side by side.

    python benchmarks/dask.py            # n = 10^6, D = 128, 2000 samples, LocalCluster of 2 workers
    python benchmarks/dask.py --small    # n = 10^5

The training set is written to disk as a .npy stack (row chunks of 125000) and opened with
``dask.array.from_npy_stack``, so that the workers read their shards themselves, as they would on a
cluster. Both paths draw the same samples from the same seed; the
script prints both times, their ratio, and the largest difference between the two sample sets.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

# this file is named dask.py (as the issue asks): keep its folder off the path so `import dask` finds Dask
sys.path = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small", action="store_true")
    args = parser.parse_args()
    n, dim, m = (100_000, 128, 1000) if args.small else (1_000_000, 128, 2000)

    import dask.array as da
    from distributed import Client, LocalCluster

    from inertial_diffusion import InertialDiffusion
    from inertial_diffusion.evaluation.datasets import Sphere

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "train.npy"
        data = np.lib.format.open_memmap(path, mode="w+", dtype=np.float64, shape=(n, dim))
        sphere = Sphere(4, dim, random_state=0)
        for start in range(0, n, 100_000):
            stop = min(n, start + 100_000)
            data[start:stop] = sphere.sample(stop - start, random_state=start)
        data.flush()
        X_local = np.load(path, mmap_mode="r")
        stack = Path(tmp) / "stack"  # row chunks as files that the workers read themselves
        da.to_npy_stack(stack, da.from_array(X_local, chunks=(125_000, dim)), axis=0)
        X = da.from_npy_stack(stack)
        kw = dict(intrinsic_dim=4, random_state=0)

        start = time.perf_counter()
        local = InertialDiffusion(**kw).fit(np.asarray(X_local))
        S_local = local.sample(m)
        t_local = time.perf_counter() - start

        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
                Client(cluster) as client:
            start = time.perf_counter()
            sharded = InertialDiffusion(client=client, **kw).fit(X)
            S_dask = sharded.sample(m)
            t_dask = time.perf_counter() - start

    print(f"n={n}, D={dim}, {m} samples, float64; LocalCluster: 2 workers x 1 thread; local: torch threads as set")
    print(f"{'path':<8} {'fit+sample s':>13}")
    print(f"{'local':<8} {t_local:>13.1f}")
    print(f"{'dask':<8} {t_dask:>13.1f}")
    print(f"dask / local time ratio: {t_dask / t_local:.2f}")
    print(f"max |S_dask - S_local| / scale: {np.abs(S_dask - S_local).max() / local.scale_:.2e}")


if __name__ == "__main__":
    main()
