"""How far can an exact-truncation (kNN) posterior go at the rule's bandwidth? A measured upper bound.

    python benchmarks/knn_limit.py             # n = 10^6, D = 128, S^1, S^2, S^4; 100 queries (~4 min)
    python benchmarks/knn_limit.py --small     # n = 10^5

Any method that keeps k of the n training points per query and drops the rest (kNN, IVF, trees)
neglects at least the mass of the n - k smallest weights. For one-shot IDM queries z ~ p̂_h at the
rule's h = n^(-2/(d+4)) we compute every weight exactly, sort them, and report the smallest k whose
neglected mass is below 1e-6 (the issue's certificate level): n / k bounds the speed-up of *any*
such method from above (search cost ignored), before any certificate's own looseness. The bound
(n - k) w_k / total (the retired per-query kNN mode's) needs a larger k still; we report it too.
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
import torch

from inertial_diffusion import InertialDiffusion
from inertial_diffusion.evaluation.datasets import Sphere
from inertial_diffusion.core.process import alpha, variance


def needed_k(logits: torch.Tensor, tol: float) -> tuple[np.ndarray, np.ndarray]:
    """Per query: smallest k with true neglected mass < tol, and smallest k whose certificate
    (n - k) w_k / sum_{top k} w is < tol."""
    w = torch.softmax(logits, dim=1)
    ws, _ = torch.sort(w, dim=1, descending=True)
    tail = ws.flip(1).cumsum(1).flip(1)  # tail[:, j] = mass of ranks >= j (0-based)
    n = ws.shape[1]
    ranks = torch.arange(n, dtype=ws.dtype)
    true_k = (tail >= tol).sum(1)  # ranks j with tail >= tol must be kept: k = #{j : tail_j >= tol}
    head = ws.cumsum(1)  # mass of the top j+1
    cert = (n - (ranks + 1)) * ws / head  # keep k = j + 1: bound uses w_k = ws[:, j]
    cert_k = torch.argmax((cert < tol).to(torch.int8), dim=1) + 1
    return true_k.numpy(), cert_k.numpy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small", action="store_true")
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--tol", type=float, default=1e-6, help="neglected-mass level (default 1e-6)")
    args = parser.parse_args()
    n, dim, tol = (100_000 if args.small else 1_000_000), 128, args.tol
    print(f"n = {n}, D = {dim}, tol = {tol:g}, {args.queries} one-shot queries per manifold, rule bandwidth")
    print(f"{'manifold':<10} {'h':>8} {'median k (true)':>16} {'p90 k (true)':>13} {'max speed-up n/k':>17} "
          f"{'median k (certificate)':>23} {'seconds':>8}")
    for d in (1, 2, 4):
        start = time.perf_counter()
        X = Sphere(d, dim, random_state=0).sample(n, random_state=1)
        model = InertialDiffusion(intrinsic_dim=d, random_state=0).fit(X)
        data = model.backend_.rows
        h = model.h_
        # the inertia step's queries: one-shot z ~ p̂_h (standardized units)
        gen = torch.Generator().manual_seed(3)
        idx = torch.randint(n, (args.queries,), generator=gen)
        z = alpha(h) * data[idx] + math.sqrt(variance(h)) * torch.randn(args.queries, dim, generator=gen,
                                                                            dtype=data.dtype)
        ks, cs = [], []
        for q0 in range(0, args.queries, 10):
            zq = z[q0:q0 + 10]
            d2 = torch.cdist(zq, alpha(h) * data) ** 2
            k_true, k_cert = needed_k(-d2 / (2 * variance(h)), tol)
            ks.append(k_true)
            cs.append(k_cert)
        k = np.concatenate(ks)
        c = np.concatenate(cs)
        print(f"S^{d:<8} {h:>8.4f} {np.median(k):>16.0f} {np.percentile(k, 90):>13.0f} {n / np.median(k):>17.1f} "
              f"{np.median(c):>23.0f} {time.perf_counter() - start:>8.1f}")
        del X, model, data


if __name__ == "__main__":
    main()
