"""The engine on a shared machine: the posterior against the same work done plainly, quiet and under load.

    python benchmarks/contention.py                # as the machine is now (note uptime beside the table)
    python benchmarks/contention.py --busy 2       # beside two busy processes started here (loops in Python)
    python benchmarks/contention.py --c 0.5        # a smaller bandwidth (h 4x smaller): float32's guard fails

The middle case of the engine issue: low-rank data with a little noise (n = 60000, D = 784, 16 latent directions,
noise 0.02), 400 one-shot queries at the rule's h = (c n^(-1/(d+4)))^2 with d = 16 (``--c``, default 1); the
posterior mean through ``LocalBackend`` against ``softmax(q X^T / v) X`` in the same dtype (the plain
computation), each with 1 and 2 torch threads and with the package's thread policy (``threads=None``),
alternated, best of 3. Ratios are plain time over ours (above 1: ours is faster).
"""

from __future__ import annotations

import argparse
import math
import multiprocessing as mp
import subprocess
import time

import numpy as np
import torch

from inertial_diffusion.backends.local import LocalBackend
from inertial_diffusion.backends.threads import thread_scope, threads_for
from inertial_diffusion.core.process import alpha, variance
from inertial_diffusion.core.samplers import sample_one_shot


def _spin() -> None:  # a busy process
    while True:
        pass


def plain(q: torch.Tensor, Y: torch.Tensor, t: float) -> torch.Tensor:
    a, v = alpha(t), variance(t)
    logits = (a * q @ Y.T - a * a * 0.5 * (Y * Y).sum(1)) / v
    return torch.softmax(logits, dim=1) @ Y


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--busy", type=int, default=0, help="busy processes to start beside the measurement")
    parser.add_argument("--n", type=int, default=60000)
    parser.add_argument("--m", type=int, default=400)
    parser.add_argument("--c", type=float, default=1.0, help="the rule's constant (bandwidth_scale)")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((args.n, 16)) @ rng.standard_normal((16, 784)) / 4 + 0.02 * rng.standard_normal((args.n,
                                                                                                            784))
    X = (X - X.mean(0)) / math.sqrt(((X - X.mean(0)) ** 2).sum(1).mean())
    busy = [mp.Process(target=_spin, daemon=True) for _ in range(args.busy)]
    for p in busy:
        p.start()
    try:
        h = (args.c * args.n ** (-1 / 20)) ** 2
        for dtype in (torch.float64, torch.float32):
            Y = torch.as_tensor(X, dtype=dtype)
            backend = LocalBackend(Y, torch.device("cpu"), 256 * 2**20)
            q = sample_one_shot(Y, h, args.m, torch.Generator().manual_seed(0))
            times: dict[str, float] = {}
            for _ in range(3):
                for label, threads in (("1", 1), ("2", 2), ("auto", threads_for(None, args.m * args.n * 784.0))):
                    for what, fn in (("plain", lambda: plain(q, Y, h)), ("ours", lambda: backend.mean(q, h))):
                        with thread_scope(threads):
                            start = time.perf_counter()
                            fn()
                            elapsed = time.perf_counter() - start
                        key = f"{what} {label}"
                        times[key] = min(times.get(key, math.inf), elapsed)
            name = str(dtype).removeprefix("torch.")
            for label in ("1", "2", "auto"):
                ours, reference = times["ours " + label], times["plain " + label]
                print(f"{name:8s} threads {label:4s}: ours {args.m / ours:7.0f} samples/s, plain "
                      f"{args.m / reference:7.0f}, ours/plain speed {reference / ours:.2f}")
        print(subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip(), f"(busy processes started: "
              f"{args.busy}; c = {args.c:g}, h = {h:.4g})")
    finally:
        for p in busy:
            p.terminate()


if __name__ == "__main__":
    main()
