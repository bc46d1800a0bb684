"""The exact empirical posterior mean, score and log-density: the one hot loop.

For the empirical density :math:`\\hat p_t = \\frac1n \\sum_i N(\\alpha_t y_i, v_t I)`,

.. math::

    m_t(x) = \\sum_i w_i y_i, \\qquad
    w = \\operatorname{softmax}_i\\Big(-\\frac{|x - \\alpha_t y_i|^2}{2 v_t}\\Big), \\qquad
    \\nabla \\log \\hat p_t(x) = \\frac{\\alpha_t m_t(x) - x}{v_t}.

The softmax is reduced over chunks of the data with a streaming log-sum-exp: every chunk
yields a :class:`Partial` ``(max logit, sum of exp, exp-weighted sum of y)`` per query, and
partials merge with the associative, exact :func:`combine`. The same combine serves local
chunks, truncated neighbour sets and distributed shards. Memory is
``O(query_block x data_chunk)``, never ``O(queries x n)``.

Logits drop the per-query constant :math:`|x|^2/(2v_t)` (softmax is shift invariant), so
one chunk costs a single GEMM plus a row bias (below); logits are kept in base 2
(:math:`\\ell_i \\log_2 e`, folded into the GEMM's scale) because ``exp2`` is twice as fast as
``exp`` on CPU and the exponential is the only non-GEMM cost that shows in a profile:
:math:`\\ell_i = (\\alpha_t\\, x\\cdot y_i - \\alpha_t^2 |y_i|^2/2) / v_t`.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import torch

from inertial_diffusion.core.process import alpha, variance

__all__ = [
    "Partial",
    "combine",
    "empty_partial",
    "absorb_",
    "posterior_partial",
    "posterior_mean",
    "score",
    "log_density",
    "compute_dtype",
    "plan_blocks",
    "available_memory",
    "default_max_memory",
    "working_bytes",
]

#: Cap of the default CPU budget: past it no block shape runs faster (blocks are capped below).
CPU_MEMORY_CAP = 256 * 2**20

# float32 GEMM logits carry an absolute error of about eps32 * alpha |x| |y| / v (Cauchy-Schwarz
# bounds the dot product's rounding); past this the weights lose float32-level accuracy and we
# compute in float64. Calibrated in tests/test_posterior.py::test_float32_guard_*.
_FLOAT32_LOGIT_ERROR_LIMIT = 2e-5
_EPS32 = float(torch.finfo(torch.float32).eps)
_LOG2E = 1.0 / math.log(2.0)
_LN2 = math.log(2.0)
_MIN_NORMAL_EXP2 = {dt: math.log2(torch.finfo(dt).tiny) for dt in (torch.float32, torch.float64, torch.float16,
                                                                    torch.bfloat16)}

#: Default data rows per chunk, by computation dtype, and the most query rows per block
#: (measured on 2 cores: these shapes run the two GEMMs at >= 95 % of a square GEMM's rate).
FLOAT32_CHUNK_ROWS = 256
FLOAT64_CHUNK_ROWS = 1024
MAX_QUERY_ROWS = 2048
#: On a GPU larger blocks keep the device busy (one launch per block): 8192-row chunks, 16384 queries.
CUDA_CHUNK_ROWS = 8192
CUDA_MAX_QUERY_ROWS = 16384


@dataclass(frozen=True)
class Partial:
    """Partial log-sum-exp reduction of the posterior over a subset of the data.

    For queries ``x_q`` and a subset ``S`` of the data, with logits in base 2
    (``b_qi = l_qi log2(e)``): ``max[q] = max_{i in S} b_qi``,
    ``sumexp[q] = sum_{i in S} 2^(b_qi - max[q])`` and ``weighted[q] = sum_{i in S} 2^(b_qi - max[q]) y_i``.
    """

    max: torch.Tensor  # (q,)
    sumexp: torch.Tensor  # (q,)
    weighted: torch.Tensor  # (q, D)

    def mean(self) -> torch.Tensor:
        """The posterior mean ``weighted / sumexp`` of this partial, in float64."""
        return self.weighted.double() / self.sumexp.double()[:, None]

    def log_normalizer(self) -> torch.Tensor:
        """``log sum_i exp(l_qi)`` (natural log) over the subset, in float64."""
        return (self.max.double() + torch.log2(self.sumexp.double())) * _LN2


def combine(a: Partial, b: Partial) -> Partial:
    """Merge two partials over disjoint data subsets; associative, commutative and exact.

    ``M = max(Ma, Mb)``, ``s = sa 2^(Ma-M) + sb 2^(Mb-M)``, ``w = wa 2^(Ma-M) + wb 2^(Mb-M)``.
    An empty partial has ``max = -inf`` and is the identity.
    """
    m = torch.maximum(a.max, b.max)
    # where both maxima are -inf (empty subsets) keep factors finite: 2^(-inf - -inf) is NaN
    safe_m = torch.where(torch.isfinite(m), m, torch.zeros_like(m))
    ea = torch.exp2(a.max - safe_m)
    eb = torch.exp2(b.max - safe_m)
    return Partial(
        max=m,
        sumexp=a.sumexp * ea + b.sumexp * eb,
        weighted=a.weighted * ea[:, None] + b.weighted * eb[:, None],
    )


def empty_partial(n_queries: int, n_features: int, like: torch.Tensor) -> Partial:
    """The identity of :func:`combine` (max = -inf), with the dtype and device of ``like``."""
    return Partial(max=like.new_full((n_queries,), -math.inf), sumexp=like.new_zeros(n_queries),
                   weighted=like.new_zeros((n_queries, n_features)))


def absorb_(state: Partial, logits: torch.Tensor, y: torch.Tensor, product: torch.Tensor) -> None:
    """Fold one chunk's base-2 logits (q, b) for data rows ``y`` (b, D) into ``state``, in place.

    This is :func:`combine` of ``state`` with the chunk's partial, fused to avoid allocations.
    ``logits`` is overwritten; ``product`` (q, D) is scratch space for ``exp(l - M) @ y``. The
    chunk's product is formed from zero and then added: accumulating it straight onto the running
    sum (``addmm_``) adds every term to a large accumulator and, measured in float32, costs a
    factor ~10 in accuracy. Exponents are clamped at the smallest normal number: subnormal results
    are far slower to compute on x86, and a weight of 2^-126 instead of 0 moves no sum by a
    representable amount.
    """
    new_max = torch.maximum(state.max, logits.amax(dim=1))
    rescale = torch.exp2(state.max - new_max)  # 2^-inf = 0 for the first chunk
    weights = logits.sub_(new_max[:, None]).clamp_(min=_MIN_NORMAL_EXP2[logits.dtype]).exp2_()
    torch.addcmul(weights.sum(dim=1), state.sumexp, rescale, out=state.sumexp)
    torch.mm(weights, y, out=product)
    torch.addcmul(product, state.weighted, rescale[:, None], out=state.weighted)  # one pass over (q, D)
    state.max.copy_(new_max)


def compute_dtype(dtype: torch.dtype, t: float, x_norm: float, y_norm: float) -> torch.dtype:
    """Dtype in which the logits must be computed to keep ~1e-6 relative accuracy.

    float64 stays float64. float32 is kept while the a-priori rounding bound
    ``eps32 * alpha_t |x| |y| / v_t`` on the logits stays below 2e-5; in the small-t regime
    (where ``|x|^2 - 2 x.y + |y|^2`` cancels catastrophically) the computation falls back to float64.
    """
    if dtype == torch.float64:
        return torch.float64
    a_t, v_t = alpha(t), variance(t)
    bound = _EPS32 * a_t * max(x_norm, 1.0) * max(y_norm, 1.0) / v_t
    return torch.float64 if bound > _FLOAT32_LOGIT_ERROR_LIMIT else dtype


def available_memory(device: torch.device | str = "cpu") -> int:
    """Free memory in bytes: ``torch.cuda.mem_get_info`` on a GPU, ``MemAvailable`` (Linux) on the CPU."""
    device = torch.device(device)
    if device.type == "cuda":
        return int(torch.cuda.mem_get_info(device)[0])
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return 4 * 2**30


def default_max_memory(device: torch.device | str = "cpu") -> int:
    """Default working-memory budget: a quarter of the free GPU memory; on the CPU an eighth of the
    available memory, capped at :data:`CPU_MEMORY_CAP`."""
    device = torch.device(device)
    free = available_memory(device)
    return free // 4 if device.type == "cuda" else min(CPU_MEMORY_CAP, free // 8)


def working_bytes(query_rows: int, data_rows: int, dim: int, itemsize: int) -> int:
    """Working memory of one block beyond the inputs and the returned array: logits (q x c), the
    chunk's product and the block's accumulator and mean (3 x q x D), a converted data chunk (c x D)."""
    return itemsize * (query_rows * data_rows + 3 * query_rows * dim + data_rows * dim + 2 * query_rows)


def plan_blocks(n: int, n_queries: int, dim: int, work: torch.dtype, device: torch.device | str = "cpu",
                chunk_size: int | None = None, max_memory: int | None = None) -> tuple[int, int]:
    """(data rows per chunk, query rows per block) whose :func:`working_bytes` fit ``max_memory``.

    Defaults: on the CPU 256-row float32 chunks (the float32 accumulation error of ``exp(l) @ y`` grows
    with the chunk length: measured on 4000 points of a circle, 7e-6 of the data scale at 4000 rows,
    5e-7 at 256) or 1024-row float64 chunks, and at most 2048 queries per block, shapes at which the
    GEMMs already run at the machine's rate; on a GPU 8192-row chunks and 16384 queries. A budget too
    small for those shrinks the query block first, then the chunk; one query row and one data row
    is the floor.
    """
    device = torch.device(device)
    itemsize = torch.finfo(work).bits // 8
    budget = default_max_memory(device) if max_memory is None else int(max_memory)
    if budget <= 0:
        raise ValueError(f"max_memory must be a positive number of bytes, got {max_memory!r}")
    if chunk_size is not None:
        data_rows = int(chunk_size)
    elif device.type == "cuda":
        data_rows = CUDA_CHUNK_ROWS
    else:
        data_rows = FLOAT32_CHUNK_ROWS if work == torch.float32 else FLOAT64_CHUNK_ROWS
    data_rows = max(1, min(data_rows, n))
    max_queries = CUDA_MAX_QUERY_ROWS if device.type == "cuda" else MAX_QUERY_ROWS
    # shrink the chunk until at least one query row fits, then fill the budget with query rows
    while data_rows > 1 and working_bytes(1, data_rows, dim, itemsize) > budget:
        data_rows //= 2
    per_query = itemsize * (data_rows + 3 * dim + 2)
    query_rows = (budget - itemsize * data_rows * dim) // per_query
    query_rows = max(1, min(max(n_queries, 1), max_queries, int(query_rows)))
    return data_rows, query_rows


def _block_partial(xq: torch.Tensor, data: torch.Tensor, t: float, bias: torch.Tensor, work: torch.dtype,
                   data_rows: int, logits_buffer: torch.Tensor, product_buffer: torch.Tensor) -> Partial:
    """Reduce one block of queries over all data chunks (the hot loop)."""
    n, dim = data.shape
    xq = xq.to(work)
    a_t, v_t = alpha(t), variance(t)
    state = empty_partial(xq.shape[0], dim, xq)
    for c0 in range(0, n, data_rows):
        # a no-op for resident data; data kept on the host is streamed to the queries' device chunk by chunk
        y = data[c0:c0 + data_rows].to(device=xq.device, dtype=work, non_blocking=True)
        logits = logits_buffer[:xq.shape[0], :y.shape[0]]
        torch.addmm(bias[None, c0:c0 + data_rows], xq, y.T, beta=1.0, alpha=_LOG2E * a_t / v_t, out=logits)
        absorb_(state, logits, y, product_buffer[:xq.shape[0]])
    return state


def _blocks(x: torch.Tensor, data: torch.Tensor, t: float, half_sq_norms: torch.Tensor | None,
            chunk_size: int | None, max_memory: int | None):
    """Yield ``(q0, Partial)`` for consecutive query blocks; working memory follows ``max_memory``."""
    n, dim = data.shape
    if half_sq_norms is None:
        half_sq_norms = 0.5 * (data.to(torch.float64) ** 2).sum(dim=1)
    if x.dtype == torch.float64:
        work = torch.float64
    else:  # the guard's norms cost a pass over x and a device sync: only float32 needs them
        x_norm = float(x.norm(dim=1).max()) if x.shape[0] else 0.0
        work = compute_dtype(x.dtype, t, x_norm, float(torch.sqrt(2.0 * half_sq_norms.max())))
    data_rows, query_rows = plan_blocks(n, x.shape[0], dim, work, x.device, chunk_size, max_memory)
    a_t, v_t = alpha(t), variance(t)
    bias = half_sq_norms.to(device=x.device, dtype=work) * (-_LOG2E * a_t * a_t / v_t)
    rows = min(query_rows, max(x.shape[0], 1))
    logits_buffer = torch.empty((rows, data_rows), dtype=work, device=x.device)
    product_buffer = torch.empty((rows, dim), dtype=work, device=x.device)
    for q0 in range(0, x.shape[0], query_rows):
        yield q0, _block_partial(x[q0:q0 + query_rows], data, t, bias, work, data_rows, logits_buffer,
                                 product_buffer)


def posterior_partial(
    x: torch.Tensor,
    data: torch.Tensor,
    t: float,
    *,
    half_sq_norms: torch.Tensor | None = None,
    chunk_size: int | None = None,
    max_memory: int | None = None,
) -> Partial:
    """Exact streaming reduction of the posterior of queries ``x`` over all of ``data``.

    Parameters
    ----------
    x : Tensor (m, D)
        Queries at time ``t``.
    data : Tensor (n, D)
        Training points (standardized coordinates), same device as ``x``.
    t : float
        Diffusion time, ``t > 0``.
    half_sq_norms : Tensor (n,), optional
        Precomputed ``|y_i|^2 / 2`` in float64 (computed if omitted).
    chunk_size : int, optional
        Data rows per chunk (default: see :func:`plan_blocks`).
    max_memory : int, optional
        Budget in bytes for the working memory beyond ``x``, ``data`` and the result
        (default :func:`default_max_memory`); sizes the query blocks and, if small, the chunks.

    Returns
    -------
    Partial
        In the computation dtype (:func:`compute_dtype`); its ``mean()`` is formed in float64.
    """
    parts = [p for _, p in _blocks(x, data, t, half_sq_norms, chunk_size, max_memory)]
    if not parts:
        return empty_partial(0, data.shape[1], x.to(torch.float64 if x.dtype == torch.float64 else x.dtype))
    return Partial(torch.cat([p.max for p in parts]), torch.cat([p.sumexp for p in parts]),
                   torch.cat([p.weighted for p in parts]))


def _assemble(x: torch.Tensor, data: torch.Tensor, t: float, finish, **kwargs) -> torch.Tensor:
    """Run the blocks and write ``finish(x_block, partial)`` into one output of ``x``'s dtype:
    the only allocation that grows with the number of queries."""
    out = torch.empty_like(x)
    for q0, part in _blocks(x, data, t, kwargs.get("half_sq_norms"), kwargs.get("chunk_size"),
                            kwargs.get("max_memory")):
        rows = part.max.shape[0]
        out[q0:q0 + rows] = finish(x[q0:q0 + rows], part)
    return out


def posterior_mean(x: torch.Tensor, data: torch.Tensor, t: float, **kwargs) -> torch.Tensor:
    """Posterior mean :math:`m_t(x) = E[y \\mid X_t = x]` under :math:`\\hat p_t`, in ``x.dtype``.

    Keyword arguments are those of :func:`posterior_partial`.
    """
    return _assemble(x, data, t, lambda xq, part: part.mean(), **kwargs)


def score(x: torch.Tensor, data: torch.Tensor, t: float, **kwargs) -> torch.Tensor:
    """Empirical score :math:`\\nabla\\log\\hat p_t(x) = (\\alpha_t m_t(x) - x)/v_t`, in ``x.dtype``.

    Assembled in float64 per block so that the small-t cancellation in
    :math:`\\alpha_t m - x` does not cost float32 its accuracy.
    """
    a_t, v_t = alpha(t), variance(t)
    return _assemble(x, data, t, lambda xq, part: (a_t * part.mean() - xq.double()) / v_t, **kwargs)


def log_density(x: torch.Tensor, data: torch.Tensor, t: float, **kwargs) -> torch.Tensor:
    """:math:`\\log \\hat p_t(x)`, shape (m,), computed in float64.

    :math:`\\log\\hat p_t(x) = \\operatorname{LSE}_i(\\ell_i) - |x|^2/(2v_t) - \\log n - \\tfrac D2\\log(2\\pi v_t)`.
    """
    n, dim = data.shape
    x64 = x.to(torch.float64)
    part = posterior_partial(x64, data.to(torch.float64), t, **kwargs)
    v_t = variance(t)
    return (part.log_normalizer() - (x64**2).sum(dim=1) / (2 * v_t) - math.log(n)
            - 0.5 * dim * math.log(2 * math.pi * v_t))
