"""Exact posterior throughput against the machine's GEMM rate, measured side by side.

    python benchmarks/throughput.py                  # all sections, full sizes
    python benchmarks/throughput.py --quick          # all sections at reduced sizes (a few minutes)
    python benchmarks/throughput.py --only peaked,dm # some sections: idm, peaked, dm, bf16
    python benchmarks/throughput.py --small          # the idm section's smoke run (n = 6000)
    python benchmarks/throughput.py --only cases --busy 2   # every case against its plain computation, beside
                                                            # two busy processes started here (--niced 2: at nice 19)
    python benchmarks/throughput.py --only cases --cases middle --c 0.5   # the middle case at a 4x smaller h

Sections:

* ``cases`` (the engine issue's table): every case — ``rule`` (the idm section's manifold, n = 60000, D = 784, at
  the rule's h for d = 10), ``middle`` (low-rank data with a little noise: 16 latent directions, noise 0.02,
  n = 60000, D = 784, at the rule's h for d = 16; ``--c`` scales its bandwidth), ``peaked`` (the peaked section's
  case) and ``dm`` (the dm section's 20 reverse-SDE times, summed) — in float64 and float32, the posterior mean
  through ``LocalBackend`` against the same work done plainly in the same dtype (``softmax(q Y^T / v) Y``), with
  1 and 2 torch threads and the package's thread policy, alternated, best of 3. ``--busy k`` starts k busy
  processes beside the measurement.

* ``idm``: exact one-shot IDM through the estimator, float32 and float64, in child processes (their peak RSS).
* ``peaked``: n Gaussian points in R^784, unstandardized, bandwidth 0.3 (t = 0.09): a posterior with one
  point per query, where the a-priori float32 guard fails; float64 and float32 (certified rows).
* ``dm``: the empirical diffusion model's 20-step reverse SDE on n = 20000 points of a 10-dimensional manifold
  in R^256 (standardized): the posterior at each step's time, queries drawn from p̂_t.
* ``bf16``: the bfloat16 GEMM rate at the hot loop's block shape and a prototype with ``weights @ y`` in
  bf16, against float32 (n = 60000, D = 784).

Every posterior timing alternates with a GEMM of the same m x n x D in the same dtype (best of each);
"of bound" is the posterior's rate counted as 4 m n D flops (two such GEMMs) over that GEMM's rate.

For each dtype it prints: samples/s of the exact one-shot IDM, the effective GFLOP/s counting
4*m*n*D flops (two m x n x D products), that rate as a fraction of a square torch GEMM of the
same dtype (the two timed alternately, best of 3 each, in the same process), the per-sample speed-up of one-shot
over a 100-step reverse
SDE (exponential integrator), and the peak resident memory of a child process doing the run.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing as mp
import os
import resource
import subprocess
import sys
import time

import numpy as np
import torch

from inertial_diffusion.core import posterior as post
from inertial_diffusion.core.process import alpha, time_grid, variance


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


def main_idm(small: bool) -> None:
    n, dim, m, m_sde = (6000, 784, 1000, 50) if small else (60000, 784, 4000, 100)
    print(f"exact one-shot IDM, n={n}, D={dim}, m={m} samples; {torch.get_num_threads()} torch threads; "
          f"torch {torch.__version__}")
    header = (f"{'dtype':<8} {'samples/s':>10} {'GFLOP/s':>8} {'GEMM GFLOP/s':>13} {'of GEMM':>8} "
              f"{'one-shot vs 100-step SDE':>25} {'peak RSS':>9}")
    print(header)
    print("-" * len(header))
    for dtype in ("float32", "float64"):
        child = subprocess.run([sys.executable, __file__, "--one", dtype, "--threads", str(torch.get_num_threads())]
                               + (["--small"] if small else []),
                               capture_output=True, text=True, check=True)
        res = json.loads(child.stdout.strip().splitlines()[-1])
        gemm = res["gemm_flops"]  # measured alternately with the exact path, in the same child
        rate = 4 * n * dim / res["seconds_per_sample"]
        print(f"{dtype:<8} {1 / res['seconds_per_sample']:>10.0f} {rate / 1e9:>8.1f} {gemm / 1e9:>13.1f} "
              f"{rate / gemm:>8.0%} {res['sde_seconds_per_sample'] / res['seconds_per_sample']:>24.0f}x "
              f"{res['peak_bytes'] / 2**30:>8.2f}G")
    print("\npeak RSS is the whole child process: Python, torch, the float64 input array "
          f"({n * dim * 8 / 2**30:.2f} GiB) and the model's copy of the data.")




# ------------------------------------------------------------------ in-process posterior cases

def _gemm_seconds(x: torch.Tensor, data: torch.Tensor, block: int = 4096) -> float:
    """One m x n x D GEMM of x against the data (in blocks of 4096 data rows, as a loop would)."""
    out = torch.empty(x.shape[0], min(block, data.shape[0]), dtype=x.dtype)
    start = time.perf_counter()
    for c0 in range(0, data.shape[0], block):
        y = data[c0:c0 + block]
        torch.mm(x, y.T, out=out[:, :y.shape[0]])
    return time.perf_counter() - start


def _side_by_side(run, x: torch.Tensor, data: torch.Tensor, repeats: int) -> tuple[float, float, torch.Tensor]:
    """Best-of-``repeats`` seconds of ``run()`` and of the same-shape GEMM, timed alternately."""
    out = run()  # warm-up
    best_run = best_gemm = float("inf")
    for _ in range(repeats):
        best_gemm = min(best_gemm, _gemm_seconds(x, data))
        start = time.perf_counter()
        out = run()
        best_run = min(best_run, time.perf_counter() - start)
    return best_run, best_gemm, out


def _error(out: torch.Tensor, ref: torch.Tensor, scale: float) -> float:
    return float((out.double() - ref).norm(dim=1).max()) / scale


def _peaked_case(n: int, m: int, dim: int = 784, t: float = 0.09, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    data = torch.randn(n, dim, generator=g, dtype=torch.float64).float().double()  # float32-representable
    src = torch.randint(n, (m,), generator=g)
    x = alpha(t) * data[src] + math.sqrt(variance(t)) * torch.randn(m, dim, generator=g, dtype=torch.float64)
    return x.float().double(), data


def main_peaked(quick: bool) -> None:
    n, m, repeats = (20000, 1024, 2) if quick else (60000, 2048, 3)
    t = 0.09  # bandwidth 0.3
    x, data = _peaked_case(n, m)
    half = 0.5 * (data**2).sum(dim=1)
    scale = float(data.norm(dim=1).max())
    print(f"peaked: n={n} Gaussian points in R^784, unstandardized, t=0.09, m={m} queries x ~ p̂_t")
    print(f"{'dtype':<8} {'samples/s':>10} {'of own GEMM bound':>18} {'of float64 bound':>17} {'max err / max|y|':>17}")
    ref = None
    rates = {}
    for dtype in (torch.float64, torch.float32):
        xd, dd = x.to(dtype), data.to(dtype)
        sec, gemm, out = _side_by_side(lambda: post.posterior_mean(xd, dd, t, half_sq_norms=half), xd, dd, repeats)
        ref = out.double() if dtype == torch.float64 else ref
        rates[dtype] = 2 * gemm / sec
        vs64 = (4 * m * n * 784 / sec) / rates.get("gemm64", 4 * m * n * 784 / (2 * gemm))
        if dtype == torch.float64:
            rates["gemm64"] = 2 * m * n * 784 / gemm
            vs64 = rates[dtype]
        print(f"{str(dtype).split('.')[1]:<8} {m / sec:>10.1f} {rates[dtype]:>18.2f} {vs64:>17.2f} "
              f"{_error(out, ref, scale):>17.1e}")


def _manifold(n: int, dim: int, seed: int = 0) -> torch.Tensor:
    """The idm section's manifold, standardized (centred, divided by the RMS distance to the mean)."""
    X = torch.as_tensor(synthetic_data(n, dim))
    X = X - X.mean(dim=0)
    return (X / X.pow(2).sum(dim=1).mean().sqrt()).float().double()


def main_dm(quick: bool) -> None:
    n, dim, m, repeats = (20000, 256, 256, 1) if quick else (20000, 256, 1024, 2)
    data = _manifold(n, dim)
    half = 0.5 * (data**2).sum(dim=1)
    times = time_grid(10.0, 1e-8, 20)[:-1]  # the 20 times at which the reverse SDE evaluates the score
    g = torch.Generator().manual_seed(1)
    print(f"empirical DM: 20-step reverse SDE (t_max=10, t_min=1e-8, log grid), n={n}, D={dim} manifold "
          f"(standardized), m={m} queries x ~ p̂_t per step")
    print(f"{'t':>9} {'f32 of bound':>13} {'f64 of bound':>13} {'f32 rows in f64':>16} {'f32 err':>9}")
    total = {torch.float32: [0.0, 0.0], torch.float64: [0.0, 0.0]}
    for t in times:
        src = torch.randint(n, (m,), generator=g)
        x = (alpha(t) * data[src] + math.sqrt(variance(t)) * torch.randn(m, dim, generator=g,
                                                                         dtype=torch.float64)).float().double()
        row = {}
        for dtype in (torch.float64, torch.float32):
            xd, dd = x.to(dtype), data.to(dtype)
            redone = []
            original = post._Plan.run

            def run(self, xq, d, tt, *args, _orig=original, _redone=redone, **kwargs):
                if self.work == torch.float64 and xq.dtype != torch.float64:
                    _redone.append(xq.shape[0])
                return _orig(self, xq, d, tt, *args, **kwargs)

            post._Plan.run = run
            try:
                sec, gemm, out = _side_by_side(lambda: post.posterior_mean(xd, dd, float(t), half_sq_norms=half),
                                               xd, dd, repeats)
            finally:
                post._Plan.run = original
            total[dtype][0] += sec
            total[dtype][1] += 2 * gemm
            row[dtype] = (2 * gemm / sec, out, sum(redone) / (repeats + 1))
        err = _error(row[torch.float32][1], row[torch.float64][1].double(), 1.0)
        print(f"{t:>9.2e} {row[torch.float32][0]:>13.2f} {row[torch.float64][0]:>13.2f} "
              f"{row[torch.float32][2] / m:>16.0%} {err:>9.1e}")
    for dtype, (sec, bound) in total.items():
        print(f"all 20 steps, {str(dtype).split('.')[1]}: {bound / sec:.2f} of the GEMM bound "
              f"({20 * m / sec:.0f} query-steps/s)")


# ------------------------------------------------------------------ every case against its plain computation

def plain_mean(q: torch.Tensor, data: torch.Tensor, t: float) -> torch.Tensor:
    """The posterior mean done plainly: ``softmax(logits) @ Y`` with all the logits in memory, in q's dtype."""
    a, v = alpha(t), variance(t)
    logits = (a * q @ data.T - a * a * 0.5 * (data * data).sum(1)) / v
    return torch.softmax(logits, dim=1) @ data


def _spin(niceness: int = 0) -> None:  # a busy process
    if niceness:
        os.nice(niceness)
    while True:
        pass


def _middle_data(n: int) -> torch.Tensor:
    """Low-rank data with a little noise (16 latent directions, noise 0.02, D = 784), standardized."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, 16)) @ rng.standard_normal((16, 784)) / 4 + 0.02 * rng.standard_normal((n, 784))
    X = X - X.mean(0)
    return torch.as_tensor(X / math.sqrt((X**2).sum(1).mean())).float().double()


def _case_queries(name: str, quick: bool, c: float) -> tuple[torch.Tensor, list[tuple[float, torch.Tensor]]]:
    """The data of a case and its (time, queries) list, in float64 (float32-representable)."""
    from inertial_diffusion.core.samplers import sample_one_shot

    n, m = (20000, 200) if quick else (60000, 400)
    g = torch.Generator().manual_seed(0)
    if name == "peaked":
        x, data = _peaked_case(n, m)
        return data, [(0.09, x)]
    if name == "dm":
        n_dm, dim, m_dm = (20000, 256, 128) if quick else (20000, 256, 256)
        data = _manifold(n_dm, dim)
        return data, [(float(t), sample_one_shot(data, float(t), m_dm, g).float().double())
                      for t in time_grid(10.0, 1e-8, 20)[:-1]]
    data, d = (_manifold(n, 784), 10) if name == "rule" else (_middle_data(n), 16)
    h = ((c if name == "middle" else 1.0) * n ** (-1 / (d + 4))) ** 2
    return data, [(h, sample_one_shot(data, h, m, g).float().double())]


def main_cases(quick: bool, busy: int, c: float, names: tuple[str, ...] = ("rule", "middle", "peaked", "dm"),
               niced: int = 0) -> None:
    from inertial_diffusion.backends.local import LocalBackend
    from inertial_diffusion.backends.threads import thread_scope, threads_for

    workers = [mp.Process(target=_spin, daemon=True) for _ in range(busy)]
    workers += [mp.Process(target=_spin, args=(19,), daemon=True) for _ in range(niced)]
    for p in workers:
        p.start()
    try:
        print(f"ours / plain speed (above 1: ours faster), samples/s (query-steps/s for dm) in brackets; "
              f"best of 3, alternated; busy processes started: {busy}, niced (19): {niced}; middle case c = {c:g}")
        header = f"{'case':<7} {'dtype':<8} {'1 thread':>16} {'2 threads':>16} {'policy':>16} {'policy threads':>15}"
        print(header)
        print("-" * len(header))
        for name in names:
            data64, steps = _case_queries(name, quick, c)
            ours_by_dtype = {}
            for dtype in (torch.float64, torch.float32):
                data = data64.to(dtype)
                backend = LocalBackend(data, torch.device("cpu"), 256 * 2**20)
                work = float(steps[0][1].shape[0]) * data.shape[0] * data.shape[1]
                settings = (("1", 1), ("2", 2), ("policy", threads_for(None, work)))
                qs = [(t, q.to(dtype)) for t, q in steps]
                times: dict[str, float] = {}
                for _ in range(3):
                    for label, threads in settings:
                        for what, fn in (("plain", plain_mean), ("ours", lambda q, d, t: backend.mean(q, t))):
                            with thread_scope(threads):
                                start = time.perf_counter()
                                for t, q in qs:
                                    fn(q, data, t)
                                elapsed = time.perf_counter() - start
                            times[f"{what} {label}"] = min(times.get(f"{what} {label}", math.inf), elapsed)
                queries = sum(q.shape[0] for _, q in qs)
                cells = [f"{times['plain ' + lab] / times['ours ' + lab]:.2f} ({queries / times['ours ' + lab]:.0f})"
                         for lab, _ in settings]
                ours_by_dtype[dtype] = times
                policy = settings[2][1] or torch.get_num_threads()
                print(f"{name:<7} {str(dtype).removeprefix('torch.'):<8} {cells[0]:>16} {cells[1]:>16} "
                      f"{cells[2]:>16} {policy:>15}")
            t64, t32 = ours_by_dtype[torch.float64], ours_by_dtype[torch.float32]
            print(f"{name:<7} float32 over float64 (ours): " + ", ".join(
                f"{lab} {t64['ours ' + lab] / t32['ours ' + lab]:.2f}" for lab in ("1", "2", "policy")))
        print(subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    finally:
        for p in workers:
            p.terminate()


def _bf16_second_gemm_mean(x: torch.Tensor, data: torch.Tensor, t: float, chunk: int = 256) -> torch.Tensor:
    """Prototype: float32 logits, ``weights @ y`` in bfloat16 (CPU torch returns bf16: the product is rounded)."""
    a_t, v_t = alpha(t), variance(t)
    log2e = 1 / math.log(2)
    bias = (0.5 * (data.double() ** 2).sum(dim=1) * (-log2e * a_t * a_t / v_t)).float()
    data16 = data.bfloat16()
    m_, s_, w_ = torch.full((x.shape[0],), -math.inf), torch.zeros(x.shape[0]), torch.zeros(x.shape[0], data.shape[1])
    for c0 in range(0, data.shape[0], chunk):
        logits = torch.addmm(bias[None, c0:c0 + chunk], x, data[c0:c0 + chunk].T, alpha=log2e * a_t / v_t)
        new = torch.maximum(m_, logits.amax(dim=1))
        r = torch.exp2(m_ - new)
        w = logits.sub_(new[:, None]).exp2_()
        s_ = s_ * r + w.sum(dim=1)
        w_ = w_ * r[:, None] + (w.bfloat16() @ data16[c0:c0 + chunk]).float()
        m_ = new
    return w_.double() / s_.double()[:, None]


def main_bf16(quick: bool) -> None:
    from inertial_diffusion.core.precision import bf16_supported

    n, m, repeats = (20000, 256, 2) if quick else (60000, 512, 3)
    dim = 784
    print(f"bf16: native bf16 dot products on this CPU: {bf16_supported()}")
    g = torch.Generator().manual_seed(0)
    a32 = torch.randn(2048, dim, generator=g)
    b32 = torch.randn(256, dim, generator=g)
    rates = {}
    for dtype in (torch.float32, torch.bfloat16):
        a, b = a32.to(dtype), b32.to(dtype)
        torch.mm(a, b.T)
        best = float("inf")
        for _ in range(20):
            start = time.perf_counter()
            for _ in range(10):
                torch.mm(a, b.T)
            best = min(best, (time.perf_counter() - start) / 10)
        rates[dtype] = 2 * 2048 * 256 * dim / best
    f32_rate, bf16_rate = rates[torch.float32], rates[torch.bfloat16]
    print(f"GEMM at the hot loop's block shape (2048 x 256 x {dim}): float32 {f32_rate / 1e9:.0f} GFLOP/s, "
          f"bf16 {bf16_rate / 1e9:.0f} GFLOP/s: bf16/float32 = {bf16_rate / f32_rate:.2f}")
    data = _manifold(n, dim).float()
    t = (n ** (-1 / 14)) ** 2  # the IDM rule's h for d = 10 (the idm section's setting)
    src = torch.randint(n, (m,), generator=g)
    x = (alpha(t) * data[src].double() + math.sqrt(variance(t)) * torch.randn(m, dim, generator=g,
                                                                              dtype=torch.float64)).float()
    ref = post.posterior_mean(x.double(), data.double(), t)
    f32, _, out32 = _side_by_side(lambda: post.posterior_mean(x, data, t), x, data, repeats)
    b16, _, out16 = _side_by_side(lambda: _bf16_second_gemm_mean(x, data, t), x, data, repeats)
    def rel(out: torch.Tensor) -> float:
        return float(((out.double() - ref).norm(dim=1) / ref.norm(dim=1)).max())
    print(f"posterior mean, n={n}, D={dim}, m={m}, t=h={t:.3f}: float32 {m / f32:.0f} samples/s "
          f"(max rel err {rel(out32):.1e}); bf16 weights @ y {m / b16:.0f} samples/s (max rel err {rel(out16):.1e}); "
          f"speed-up {f32 / b16:.2f}x")
    print("bf16 logits are not an option on this torch build: CPU bf16 GEMMs return bf16, so |logit| ~ "
          "alpha|x||y|/v is rounded to 8 bits (split hi/lo products cannot be accumulated in float32).")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small", action="store_true", help="the idm section at n=6000, D=784, 1000 samples")
    parser.add_argument("--quick", action="store_true", help="every section at reduced sizes")
    parser.add_argument("--only", default="idm,cases,peaked,dm,bf16", help="comma-separated sections")
    parser.add_argument("--busy", type=int, default=0, help="cases: busy processes to start beside the measurement")
    parser.add_argument("--niced", type=int, default=0, help="cases: busy processes at nice 19 to start beside")
    parser.add_argument("--c", type=float, default=1.0, help="cases: the middle case's rule constant")
    parser.add_argument("--cases", default="rule,middle,peaked,dm", help="cases: which of rule, middle, peaked, dm")
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's); 1 gives steadier ratios "
                        "on an oversubscribed host, where every parallel op waits for descheduled threads")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.one:
        n, dim, m, m_sde = (6000, 784, 1000, 50) if args.small else (60000, 784, 4000, 100)
        print(json.dumps(run_one(args.one, n, dim, m, m_sde)))
        return
    print(f"{torch.get_num_threads()} torch threads; torch {torch.__version__}")
    sections = {"idm": lambda: main_idm(args.small or args.quick),
                "cases": lambda: main_cases(args.quick, args.busy, args.c, tuple(args.cases.split(",")), args.niced),
                "peaked": lambda: main_peaked(args.quick),
                "dm": lambda: main_dm(args.quick), "bf16": lambda: main_bf16(args.quick)}
    for name in args.only.split(","):
        if name not in sections:
            raise SystemExit(f"unknown section {name!r}; expected some of {', '.join(sections)}")
        print(f"\n== {name} ==")
        sections[name]()


if __name__ == "__main__":
    main()
