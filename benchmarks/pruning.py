"""Certified cluster pruning against the exact posterior, side by side, at the rule's bandwidth.

    python benchmarks/pruning.py                    # n = 10^6, D = 128, S^2, m = 2000 one-shot queries
    python benchmarks/pruning.py --n 200000         # smaller, faster
    python benchmarks/pruning.py --clusters 1000 2000 4000   # several index sizes in one run

Data: S^2 embedded isometrically in R^D (``evaluation.datasets.Sphere``), standardized as the
estimators do (centred, divided by the RMS distance to the mean), h = sigma^2 with the rule
sigma = n^(-1/(d+4)), d = 2. Queries: IDM's one-shot z = alpha_h y_I + sqrt(v_h) xi. For each index
we time the exact ``posterior_partial`` and ``pruned_reduction`` in turn (one exact run, then every
index, ``--repeat`` rounds, best of each), and report the certified neglected mass (max over
queries), the largest distance of the pruned and of the exact posterior means to the float64 mean
(with the contract's bound x diameter beside it), the share of points reduced exactly, and the
index build time (reported apart). The best-possible
ratio is n over the mean number of points that the exact weights need to reach 1 - tol
(as benchmarks/knn_limit.py computes, on ``--best-queries`` of the queries): no method that drops
points can beat it, whatever its search costs.
"""

from __future__ import annotations

import argparse
import math
import os
import time

import numpy as np
import torch

from inertial_diffusion.core.bandwidth import bandwidth_rule
from inertial_diffusion.core.posterior import posterior_partial
from inertial_diffusion.core.process import alpha, variance
from inertial_diffusion.core.pruning import build_cluster_index, pruned_reduction
from inertial_diffusion.core.standardize import Standardizer
from inertial_diffusion.evaluation.datasets import Sphere
from knn_limit import needed_k


def exact_reference(z: torch.Tensor, data: torch.Tensor, h: float, tol: float) -> tuple[np.ndarray, torch.Tensor]:
    """Per query, in float64 from direct differences: the fewest points whose exact weights carry
    1 - tol of the mass (knn_limit.needed_k), and the posterior mean."""
    ks, means = [], []
    for q0 in range(0, z.shape[0], 10):
        d2 = torch.cdist(z[q0:q0 + 10].double(), alpha(h) * data.double(), compute_mode="donot_use_mm_for_euclid_dist")
        logits = -d2.square_() / (2 * variance(h))
        ks.append(needed_k(logits, tol)[0])
        means.append(torch.softmax(logits, dim=1) @ data.double())
    return np.concatenate(ks), torch.cat(means)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--clusters", type=int, nargs="+", default=[None], help="K (default 2 sqrt(n))")
    parser.add_argument("--components", type=int, default=4, help="principal directions per cluster")
    parser.add_argument("--tol", type=float, default=1e-6)
    parser.add_argument("--repeat", type=int, default=2, help="alternating timing rounds (best of each)")
    parser.add_argument("--best-queries", type=int, default=100, help="queries for the best-possible ratio")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    n, dim, m, tol = args.n, args.dim, args.queries, args.tol
    X = Sphere(2, dim, random_state=0).sample(n, random_state=1)
    data = torch.from_numpy(Standardizer.fit(X).transform(X).astype(np.float32))
    del X
    h = bandwidth_rule(n, 2) ** 2
    gen = torch.Generator().manual_seed(3)
    idx = torch.randint(n, (m,), generator=gen)
    z = alpha(h) * data[idx] + math.sqrt(variance(h)) * torch.randn(m, dim, generator=gen)
    diameter = 2.0  # the standardized S^2 is the unit sphere
    print(f"n = {n}, D = {dim}, S^2, h = {h:.5f} (rule, d = 2), m = {m} one-shot queries, tol = {tol:g}, "
          f"float32 data, torch threads = {torch.get_num_threads()}, cpu count = {os.cpu_count()}, "
          f"load average {os.getloadavg()[0]:.1f}")
    posterior_partial(z[:8], data, h)  # warm-up
    start = time.perf_counter()
    best, reference = exact_reference(z[:args.best_queries], data, h, tol)
    print(f"best possible (any method that drops points): n / mean k = {n / best.mean():.1f} "
          f"(mean k = {best.mean():.0f} = {100 * best.mean() / n:.1f} % of n, {args.best_queries} queries, "
          f"{time.perf_counter() - start:.0f} s)")
    print("times: wall seconds (process CPU seconds: comparable with --threads 1), best of --repeat alternating "
          "rounds; errors: max |mean - float64 mean| on the reference queries, exact path | pruned, and the "
          "contract's bound x diameter")
    print(f"{'K':>6} {'build s':>8} {'exact s':>14} {'pruned s':>14} {'speed-up':>14} {'kept %':>7} {'n/kept':>7} "
          f"{'max bound':>10} {'err exact':>10} {'err pruned':>11} {'bound*diam':>11}")
    indexes, builds = [], []
    for n_clusters in args.clusters:  # the index is built once, at fit: timed apart
        start = time.perf_counter()
        indexes.append(build_cluster_index(data, n_clusters, n_components=args.components, random_state=0))
        builds.append(time.perf_counter() - start)
        pruned_reduction(z[:8], indexes[-1], h, tol=tol)  # warm-up
    runs = {"exact": lambda: posterior_partial(z, data, h)}
    runs.update({i: (lambda index=index: pruned_reduction(z, index, h, tol=tol)) for i, index in enumerate(indexes)})
    wall, cpu, out = dict.fromkeys(runs, math.inf), dict.fromkeys(runs, math.inf), {}
    for _ in range(args.repeat):  # one exact run per round, then every index: side by side
        for name, run in runs.items():
            start, start_cpu = time.perf_counter(), time.process_time()
            out[name] = run()
            wall[name] = min(wall[name], time.perf_counter() - start)
            cpu[name] = min(cpu[name], time.process_time() - start_cpu)
    r = reference.shape[0]
    exact = out["exact"]
    err_exact = (exact.mean()[:r] - reference).norm(dim=1).max().item()
    for i, index in enumerate(indexes):
        result = out[i]
        err = (result.partial.mean()[:r] - reference).norm(dim=1)
        kept = result.kept_points.mean().item()
        print(f"{index.n_clusters:>6} {builds[i]:>8.1f} {wall['exact']:>6.2f} ({cpu['exact']:>5.1f}) "
              f"{wall[i]:>6.2f} ({cpu[i]:>5.1f}) {wall['exact'] / wall[i]:>6.2f} "
              f"({cpu['exact'] / cpu[i]:>5.2f}) {100 * kept / n:>7.1f} {n / kept:>7.1f} "
              f"{result.bound.max().item():>10.2e} {err_exact:>10.2e} {err.max().item():>11.2e} "
              f"{diameter * result.bound[:r].max().item():>11.2e}")
    print(f"computation dtype {out[0].partial.max.dtype} (exact: {exact.max.dtype}); load average "
          f"{os.getloadavg()[0]:.1f}")

if __name__ == "__main__":
    main()
