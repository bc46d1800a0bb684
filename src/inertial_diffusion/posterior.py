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
one chunk costs a single GEMM plus a row bias:
:math:`\\ell_i = (\\alpha_t\\, x\\cdot y_i - \\alpha_t^2 |y_i|^2/2) / v_t`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from .process import alpha, variance

__all__ = [
    "Partial",
    "combine",
    "chunk_partial",
    "posterior_partial",
    "posterior_mean",
    "score",
    "log_density",
    "compute_dtype",
    "DEFAULT_BLOCK_BYTES",
]

#: Default size of one logits block (query_block x data_chunk entries), in bytes.
DEFAULT_BLOCK_BYTES = 32 * 2**20

# float32 GEMM logits carry an absolute error of about eps32 * alpha |x| |y| / v (Cauchy-Schwarz
# bounds the dot product's rounding); past this the weights lose float32-level accuracy and we
# compute in float64. Calibrated in tests/test_posterior.py::test_float32_guard_*.
_FLOAT32_LOGIT_ERROR_LIMIT = 1e-5
_EPS32 = float(torch.finfo(torch.float32).eps)

#: Default data rows per chunk, by computation dtype.
FLOAT32_CHUNK_ROWS = 256
FLOAT64_CHUNK_ROWS = 2048


@dataclass(frozen=True)
class Partial:
    """Partial log-sum-exp reduction of the posterior over a subset of the data.

    For queries ``x_q`` and a subset ``S`` of the data: ``max[q] = max_{i in S} l_qi``,
    ``sumexp[q] = sum_{i in S} exp(l_qi - max[q])`` and
    ``weighted[q] = sum_{i in S} exp(l_qi - max[q]) y_i``.
    """

    max: torch.Tensor  # (q,)
    sumexp: torch.Tensor  # (q,)
    weighted: torch.Tensor  # (q, D)

    def mean(self) -> torch.Tensor:
        """The posterior mean ``weighted / sumexp`` of this partial."""
        return self.weighted / self.sumexp[:, None]

    def log_normalizer(self) -> torch.Tensor:
        """``log sum_i exp(l_qi)`` over the subset."""
        return self.max + torch.log(self.sumexp)


def combine(a: Partial, b: Partial) -> Partial:
    """Merge two partials over disjoint data subsets; associative, commutative and exact.

    ``M = max(Ma, Mb)``, ``s = sa e^(Ma-M) + sb e^(Mb-M)``, ``w = wa e^(Ma-M) + wb e^(Mb-M)``.
    An empty partial has ``max = -inf`` and is the identity.
    """
    m = torch.maximum(a.max, b.max)
    # where both maxima are -inf (empty subsets) keep factors finite: exp(-inf - -inf) is NaN
    safe_m = torch.where(torch.isfinite(m), m, torch.zeros_like(m))
    ea = torch.exp(a.max - safe_m)
    eb = torch.exp(b.max - safe_m)
    return Partial(
        max=m,
        sumexp=a.sumexp * ea + b.sumexp * eb,
        weighted=a.weighted * ea[:, None] + b.weighted * eb[:, None],
    )


def chunk_partial(
    x: torch.Tensor, y: torch.Tensor, half_sq_norms: torch.Tensor, t: float
) -> Partial:
    """Partial of queries ``x`` (q, D) against one data chunk ``y`` (b, D).

    ``half_sq_norms`` holds ``|y_i|^2 / 2`` for the chunk. All tensors share dtype and device.
    """
    a_t, v_t = alpha(t), variance(t)
    bias = half_sq_norms * (-a_t * a_t / v_t)
    logits = torch.addmm(bias[None, :], x, y.T, beta=1.0, alpha=a_t / v_t)
    row_max = logits.amax(dim=1)
    weights = logits.sub_(row_max[:, None]).exp_()
    return Partial(max=row_max, sumexp=weights.sum(dim=1), weighted=weights @ y)


def compute_dtype(dtype: torch.dtype, t: float, x_norm: float, y_norm: float) -> torch.dtype:
    """Dtype in which the logits must be computed to keep ~1e-6 relative accuracy.

    float64 stays float64. float32 is kept while the a-priori rounding bound
    ``eps32 * alpha_t |x| |y| / v_t`` on the logits stays below 1e-5; in the small-t regime
    (where ``|x|^2 - 2 x.y + |y|^2`` cancels catastrophically) the computation falls back to float64.
    """
    if dtype == torch.float64:
        return torch.float64
    a_t, v_t = alpha(t), variance(t)
    bound = _EPS32 * a_t * max(x_norm, 1.0) * max(y_norm, 1.0) / v_t
    return torch.float64 if bound > _FLOAT32_LOGIT_ERROR_LIMIT else dtype


def _chunk_rows(n: int, chunk_size: int | None, n_queries: int, work: torch.dtype,
                block_bytes: int) -> tuple[int, int]:
    """(data rows per chunk, query rows per block) so that one logits block fits ``block_bytes``.

    float32 chunks default to 256 rows: the in-GEMM float32 accumulation error grows with the
    chunk length (measured: 7e-6 at 4000 rows, 4e-7 at 256), while partials are combined in float64.
    """
    itemsize = torch.finfo(work).bits // 8
    budget = max(block_bytes // itemsize, 1)
    default = FLOAT32_CHUNK_ROWS if work == torch.float32 else FLOAT64_CHUNK_ROWS
    data_rows = max(1, min(int(chunk_size if chunk_size is not None else default), n))
    query_rows = max(1, min(n_queries, budget // data_rows))
    return data_rows, query_rows


def _to_float64(part: Partial) -> Partial:
    """Partials are combined in float64 (an O(q x D) cost per chunk, negligible next to the GEMMs)."""
    if part.weighted.dtype == torch.float64:
        return part
    return Partial(part.max.double(), part.sumexp.double(), part.weighted.double())


def posterior_partial(
    x: torch.Tensor,
    data: torch.Tensor,
    t: float,
    *,
    half_sq_norms: torch.Tensor | None = None,
    chunk_size: int | None = None,
    block_bytes: int = DEFAULT_BLOCK_BYTES,
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
        Data rows per chunk; default sized from ``block_bytes``.
    block_bytes : int
        Memory for one ``query_block x data_chunk`` logits block.

    Returns
    -------
    Partial
        In float64; logits were computed in :func:`compute_dtype`.
    """
    n, dim = data.shape
    if half_sq_norms is None:
        half_sq_norms = 0.5 * (data.to(torch.float64) ** 2).sum(dim=1)
    x_norm = float(x.norm(dim=1).max()) if x.shape[0] else 0.0
    y_norm = float(torch.sqrt(2.0 * half_sq_norms.max()))
    work = compute_dtype(x.dtype, t, x_norm, y_norm)
    xw = x.to(work)
    hsn = half_sq_norms.to(work)
    data_rows, query_rows = _chunk_rows(n, chunk_size, x.shape[0], work, block_bytes)
    out_max, out_sum, out_weighted = [], [], []
    for q0 in range(0, x.shape[0], query_rows):
        xq = xw[q0:q0 + query_rows]
        state: Partial | None = None
        for c0 in range(0, n, data_rows):
            part = _to_float64(chunk_partial(xq, data[c0:c0 + data_rows].to(work), hsn[c0:c0 + data_rows], t))
            state = part if state is None else combine(state, part)
        assert state is not None
        out_max.append(state.max)
        out_sum.append(state.sumexp)
        out_weighted.append(state.weighted)
    if not out_max:
        empty = data.new_empty((0,), dtype=torch.float64)
        return Partial(empty, empty.clone(), data.new_empty((0, dim), dtype=torch.float64))
    return Partial(torch.cat(out_max), torch.cat(out_sum), torch.cat(out_weighted))


def posterior_mean(x: torch.Tensor, data: torch.Tensor, t: float, **kwargs) -> torch.Tensor:
    """Posterior mean :math:`m_t(x) = E[y \\mid X_t = x]` under :math:`\\hat p_t`, in ``x.dtype``.

    Keyword arguments are those of :func:`posterior_partial`.
    """
    return posterior_partial(x, data, t, **kwargs).mean().to(x.dtype)


def score(x: torch.Tensor, data: torch.Tensor, t: float, **kwargs) -> torch.Tensor:
    """Empirical score :math:`\\nabla\\log\\hat p_t(x) = (\\alpha_t m_t(x) - x)/v_t`, in ``x.dtype``.

    Assembled in the computation dtype so that the small-t cancellation in
    :math:`\\alpha_t m - x` does not cost float32 its accuracy.
    """
    part = posterior_partial(x, data, t, **kwargs)
    xw = x.to(part.weighted.dtype)
    return ((alpha(t) * part.mean() - xw) / variance(t)).to(x.dtype)


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
