"""Memory budget: the posterior's working memory follows ``max_memory``, not the number of queries or data."""

import json
import subprocess
import sys
import textwrap

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from inertial_diffusion.core.posterior import default_max_memory, plan_blocks, posterior_mean, working_bytes

_PEAK_SCRIPT = textwrap.dedent("""
    import json, sys, torch

    def hwm():  # this process's own peak RSS, KiB
        return int(next(l for l in open('/proc/self/status') if l.startswith('VmHWM:')).split()[1])

    from inertial_diffusion.core.posterior import posterior_mean
    torch.set_num_threads(1)
    m, n, dim, budget = (int(v) for v in sys.argv[1:5])
    gen = torch.Generator().manual_seed(0)
    data = torch.randn(n, dim, generator=gen, dtype=torch.float64)
    x = torch.randn(m, dim, generator=gen, dtype=torch.float64)
    posterior_mean(x[:10], data[:10], 0.1, max_memory=budget)  # warm-up: libraries and thread pools
    before = hwm()
    out = posterior_mean(x, data, 0.1, max_memory=budget)
    after = hwm()
    print(json.dumps({"growth_bytes": (after - before) * 1024, "finite": bool(torch.isfinite(out).all())}))
""")


def _peak_growth(m: int, n: int, dim: int, budget: int) -> int:
    res = subprocess.run([sys.executable, "-c", _PEAK_SCRIPT, str(m), str(n), str(dim), str(budget)],
                         capture_output=True, text=True, timeout=300, check=True)
    info = json.loads(res.stdout.strip().splitlines()[-1])
    assert info["finite"]
    return info["growth_bytes"]


# VmHWM, not ru_maxrss: after fork + exec, ru_maxrss starts at the *parent's* peak (Linux keeps it in the
# signal struct), so a child of a large pytest process reads the parent's RSS and every growth looks like 0
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="VmHWM of /proc/self/status is Linux's")
def test_peak_memory_follows_the_budget_not_queries_or_data():
    dim, budget = 32, 8 * 2**20
    slack = 16 * 2**20  # allocator and thread-pool noise (measured: 2-3 MiB)
    m, n = 20_000, 40_000
    growth = _peak_growth(m, n, dim, budget)
    output = 8 * m * dim  # the returned array is the one allocation that grows with m
    # all logits at once would be 8 m n bytes = 6.4 GB; the budget is 8 MiB
    assert growth <= budget + output + slack, (m, n, growth / 2**20)


@settings(max_examples=200, deadline=None)
@given(n=st.integers(1, 10**7), m=st.integers(0, 10**6), dim=st.integers(1, 10**4),
       budget=st.integers(1, 2**32), f32=st.booleans(), chunk=st.one_of(st.none(), st.integers(1, 10**5)))
def test_planned_blocks_fit_the_budget_whenever_one_row_can(n, m, dim, budget, f32, chunk):
    work = torch.float32 if f32 else torch.float64
    data_rows, query_rows = plan_blocks(n, m, dim, work, "cpu", chunk, budget)
    assert 1 <= data_rows <= n and 1 <= query_rows
    itemsize = 4 if f32 else 8
    if working_bytes(1, 1, dim, itemsize) <= budget:
        assert working_bytes(query_rows, data_rows, dim, itemsize) <= budget


def test_budget_changes_blocks_not_results():
    gen = torch.Generator().manual_seed(1)
    data = torch.randn(3000, 20, generator=gen, dtype=torch.float64)
    x = torch.randn(200, 20, generator=gen, dtype=torch.float64)
    base = posterior_mean(x, data, 0.05)
    for budget in (4_000, 50_000, 2**20, 2**30):  # 4 kB: one query row and ~20 data rows per block
        torch.testing.assert_close(posterior_mean(x, data, 0.05, max_memory=budget), base, rtol=1e-12, atol=1e-13)
    with pytest.raises(ValueError, match="max_memory"):
        plan_blocks(10, 10, 3, torch.float64, "cpu", None, 0)
    assert 0 < default_max_memory("cpu") <= 256 * 2**20


def test_estimator_rejects_a_bad_budget():
    import numpy as np

    from inertial_diffusion import InertialDiffusion

    with pytest.raises(ValueError, match="max_memory"):
        InertialDiffusion(max_memory=-5).fit(np.random.default_rng(0).standard_normal((20, 3)))


def test_estimators_resolve_the_budget_once_at_fit():
    import numpy as np

    from inertial_diffusion import InertialDiffusion
    from inertial_diffusion.estimators.baselines import SmoothedCFDM

    X = np.random.default_rng(0).standard_normal((50, 3))
    assert InertialDiffusion(max_memory=2**20, bandwidth=0.3).fit(X).max_memory_ == 2**20
    assert 0 < InertialDiffusion(bandwidth=0.3).fit(X).max_memory_ <= 256 * 2**20
    assert SmoothedCFDM(max_memory=2**21, bandwidth=0.3, n_steps=2).fit(X).max_memory_ == 2**21
    with pytest.raises(ValueError, match="max_memory"):
        SmoothedCFDM(max_memory=0).fit(X)
