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

Weights below the sum's resolution (:func:`~inertial_diffusion.core.precision.cutoff_bits`) are exactly
zero, and on the CPU the ``weights @ y`` product of a chunk only covers the query rows and data
columns with a nonzero weight: a peaked posterior (small ``t``, or a bandwidth small against the data
spacing) costs one GEMM per chunk, not two. In float32, queries past the a-priori accuracy guard keep
float32 when their posterior is peaked enough to be certified
(:func:`~inertial_diffusion.core.precision.certified_rows`); the others are redone in float64.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple, cast

import torch
import torch.nn.functional as F

from inertial_diffusion.core import precision as prec
from inertial_diffusion.core.blocks import (CPU_MEMORY_CAP, CUDA_CHUNK_ROWS, CUDA_MAX_QUERY_ROWS, FLOAT32_CHUNK_ROWS,
                                            FLOAT64_CHUNK_ROWS, MAX_QUERY_ROWS, available_memory,
                                            default_max_memory, plan_blocks, working_bytes)
from inertial_diffusion.core.noise import KeyedNoise
from inertial_diffusion.core.precision import PRECISIONS, bf16_supported, compute_dtype
from inertial_diffusion.core.process import alpha, variance

__all__ = [
    "Partial",
    "combine",
    "empty_partial",
    "absorb_",
    "posterior_partial",
    "posterior_mean",
    "posterior_moment",
    "Moment",
    "concat",
    "score",
    "log_density",
    "compute_dtype",
    "bf16_supported",
    "PRECISIONS",
    "plan_blocks",
    "available_memory",
    "default_max_memory",
    "working_bytes",
    "CPU_MEMORY_CAP",
    "FLOAT32_CHUNK_ROWS",
    "FLOAT64_CHUNK_ROWS",
    "MAX_QUERY_ROWS",
    "CUDA_CHUNK_ROWS",
    "CUDA_MAX_QUERY_ROWS",
]

_LOG2E = 1.0 / math.log(2.0)
_LN2 = math.log(2.0)
#: The gathered ``weights @ y`` of a chunk runs when at most this fraction of its query rows has a
#: nonzero weight; above it the dense GEMM over all rows is cheaper than the gathers.
SPARSE_ROW_FRACTION = 0.5
SPARSE_MIN_ROWS = 32
#: Certified float32: the first PROBE_ROWS queries run alone; past PROBE_FAIL_FRACTION of them redone,
#: the rest of the batch goes straight to float64.
PROBE_ROWS = 64
PROBE_FAIL_FRACTION = 0.5


@dataclass(frozen=True)
class Partial:
    """Partial log-sum-exp reduction of the posterior over a subset of the data.

    For queries ``x_q`` and a subset ``S`` of the data, with logits in base 2
    (``b_qi = l_qi log2(e)``): ``max[q] = max_{i in S} b_qi``,
    ``sumexp[q] = sum_{i in S} 2^(b_qi - max[q])`` and ``weighted[q] = sum_{i in S} 2^(b_qi - max[q]) y_i``.
    Partials over disjoint subsets merge exactly with :func:`combine`, which is what lets the posterior
    stream over chunks, clusters (:mod:`inertial_diffusion.core.pruning`) and shards.

    Parameters
    ----------
    max : Tensor (q,)
        Largest base-2 logit of each query over the subset (-inf for an empty subset).
    sumexp : Tensor (q,)
        Sum of the weights relative to that maximum (>= 1 for a non-empty subset).
    weighted : Tensor (q, D)
        The same weights times the data rows, summed.
    noise_weighted : Tensor (q, D), optional
        Only for a moment-matched draw (:func:`posterior_moment`): ``sum_{i in S} 2^((b_qi - max[q])/2) eps_qi y_i``,
        the square roots of the same weights times keyed standard normals ``eps``
        (:mod:`~inertial_diffusion.core.noise`) times the data rows.
    noise_sum : Tensor (q,), optional
        With ``noise_weighted``: ``sum_{i in S} 2^((b_qi - max[q])/2) eps_qi``.
    choice_score : Tensor (q,), optional
        Only when the noise also chooses a row (``KeyedNoise(choose=True)``): ``max_{i in S} (l_qi + G_qi)`` minus
        ``max[q] ln 2``, with the Gumbel variables ``G_qi = -log(-log Phi(eps_qi))`` of the same noise (natural log).
    choice : Tensor (q,) of int64, optional
        The row attaining ``choice_score`` (a global row index): by the Gumbel-max trick a draw of the posterior,
        ``P(choice = i) = w_i``.

    Examples
    --------
    >>> import torch
    >>> data = torch.tensor([[-1.0, 0.0], [1.0, 0.0]], dtype=torch.float64)
    >>> part = posterior_partial(torch.zeros(1, 2, dtype=torch.float64), data, 1.0)  # equidistant query
    >>> part.sumexp.tolist(), part.weighted.tolist()  # two equal weights of 1 (relative to the maximum)
    ([2.0], [[0.0, 0.0]])
    """

    max: torch.Tensor  # (q,)
    sumexp: torch.Tensor  # (q,)
    weighted: torch.Tensor  # (q, D)
    noise_weighted: torch.Tensor | None = None  # (q, D), moment-matched draws only
    noise_sum: torch.Tensor | None = None  # (q,)
    choice_score: torch.Tensor | None = None  # (q,), a posterior-drawn row (Gumbel-max), on request
    choice: torch.Tensor | None = None  # (q,) int64

    @property
    def has_noise(self) -> bool:
        """Whether the partial carries the accumulators of a moment-matched draw."""
        return self.noise_weighted is not None

    def mean(self) -> torch.Tensor:
        """The posterior mean ``weighted / sumexp`` of this partial, in float64.

        Returns
        -------
        Tensor (q, D), float64
            :math:`m_t(x_q)` restricted to the subset (the exact posterior mean when the subset is all
            the data).
        """
        return self.weighted.double() / self.sumexp.double()[:, None]

    def log_normalizer(self) -> torch.Tensor:
        """``log sum_i exp(l_qi)`` (natural log) over the subset, in float64.

        The logits ``l_qi`` omit the per-query constant :math:`-|x_q|^2/(2 v_t)`;
        :func:`log_density` adds it back with the Gaussian normalization.

        Returns
        -------
        Tensor (q,), float64
            ``(max + log2(sumexp)) * ln 2``.
        """
        return (self.max.double() + torch.log2(self.sumexp.double())) * _LN2

    def moment_draw(self) -> torch.Tensor:
        """The moment-matched draw :math:`m + \\sum_i \\sqrt{w_i}\\,\\varepsilon_i (y_i - m)`, in float64.

        With :math:`w_i = 2^{b_i - M}/S` the normalized weights,
        :math:`\\sqrt{w_i} = 2^{(b_i - M)/2}/\\sqrt S`, so the draw is
        ``m + (noise_weighted - m * noise_sum) / sqrt(sumexp)``: given the query, a draw of
        :math:`N(m, \\operatorname{Cov}(y \\mid x))` under the posterior restricted to the subset.

        Returns
        -------
        Tensor (q, D), float64

        Raises
        ------
        ValueError
            The partial was reduced without noise.
        """
        if self.noise_weighted is None or self.noise_sum is None:
            raise ValueError("this partial carries no noise accumulators: reduce it with a KeyedNoise")
        mean = self.mean()
        root = self.sumexp.double().sqrt()[:, None]
        return mean + (self.noise_weighted.double() - mean * self.noise_sum.double()[:, None]) / root

    def select(self, index: torch.Tensor) -> "Partial":
        """The partial of the queries ``index`` (a gather of every field).

        Parameters
        ----------
        index : Tensor (k,) of int64
            Query rows to keep.

        Returns
        -------
        Partial
        """
        return Partial.from_fields(None if f is None else f.index_select(0, index) for f in self.fields())

    @classmethod
    def from_fields(cls, fields: Iterable[torch.Tensor | None]) -> "Partial":
        """The partial of :meth:`fields`.

        Parameters
        ----------
        fields : iterable
            Seven tensors, as :meth:`fields` gives them (None for the absent optional ones).

        Returns
        -------
        Partial
        """
        m, s, w, nw, ns, cs, c = fields
        return cls(cast(torch.Tensor, m), cast(torch.Tensor, s), cast(torch.Tensor, w), nw, ns, cs, c)

    def fields(self) -> tuple:
        """The tensors of the partial in constructor order.

        Returns
        -------
        tuple
            ``(max, sumexp, weighted, noise_weighted, noise_sum, choice_score, choice)``, None for the absent ones.
        """
        return (self.max, self.sumexp, self.weighted, self.noise_weighted, self.noise_sum, self.choice_score,
                self.choice)

    def to_float64(self) -> "Partial":
        """The partial with its floating-point fields in float64 (the row choice stays int64).

        Returns
        -------
        Partial
        """
        return Partial.from_fields(None if f is None else (f if not f.is_floating_point() else f.double())
                                   for f in self.fields())

    def assign_(self, index: torch.Tensor, other: "Partial") -> None:
        """Overwrite the queries ``index`` of this partial with ``other`` (in place, field by field).

        Parameters
        ----------
        index : Tensor (k,) of int64
            Query rows to overwrite.
        other : Partial
            A partial of ``k`` queries with the same fields.
        """
        for mine, theirs in zip(self.fields(), other.fields()):
            if mine is not None:
                mine.index_copy_(0, index, theirs.to(mine.dtype))


def concat(parts: list[Partial]) -> Partial:
    """The partials of consecutive query blocks, as one partial (fields concatenated).

    Parameters
    ----------
    parts : list of Partial
        At least one partial; all with or all without noise accumulators.

    Returns
    -------
    Partial
    """
    columns = list(zip(*(p.fields() for p in parts)))
    return Partial.from_fields(None if col[0] is None else torch.cat(col) for col in columns)


def combine(a: Partial, b: Partial) -> Partial:
    """Merge two partials over disjoint data subsets; associative, commutative and exact.

    ``M = max(Ma, Mb)``, ``s = sa 2^(Ma-M) + sb 2^(Mb-M)``, ``w = wa 2^(Ma-M) + wb 2^(Mb-M)``.
    An empty partial has ``max = -inf`` and is the identity.

    Parameters
    ----------
    a, b : Partial
        Partials of the same queries over disjoint subsets of the data.

    Returns
    -------
    Partial
        The partial over the union of the two subsets.

    Examples
    --------
    >>> import torch
    >>> data = torch.tensor([[-1.0, 0.0], [1.0, 0.0]], dtype=torch.float64)
    >>> x = torch.tensor([[0.9, 0.1]], dtype=torch.float64)
    >>> left = posterior_partial(x, data[:1], 0.5)
    >>> right = posterior_partial(x, data[1:], 0.5)
    >>> whole = posterior_partial(x, data, 0.5)
    >>> bool(torch.allclose(combine(left, right).mean(), whole.mean()))
    True
    >>> combine(left, empty_partial(1, 2, x)).mean().tolist()  # the empty partial is the identity
    [[-1.0, 0.0]]
    """
    m = torch.maximum(a.max, b.max)
    # where both maxima are -inf (empty subsets) keep factors finite: 2^(-inf - -inf) is NaN
    safe_m = torch.where(torch.isfinite(m), m, torch.zeros_like(m))
    ea = torch.exp2(a.max - safe_m)
    eb = torch.exp2(b.max - safe_m)
    if a.has_noise != b.has_noise:
        raise ValueError("cannot combine a partial with noise accumulators and one without")
    noise_weighted = noise_sum = choice_score = choice = None
    if a.noise_weighted is not None and b.noise_weighted is not None:  # the square roots of the weights rescale
        ha, hb = torch.exp2(0.5 * (a.max - safe_m)), torch.exp2(0.5 * (b.max - safe_m))
        noise_weighted = a.noise_weighted * ha[:, None] + b.noise_weighted * hb[:, None]
        noise_sum = a.noise_sum * ha + b.noise_sum * hb  # type: ignore[operator]
    if a.choice is not None and b.choice is not None:  # the larger Gumbel-perturbed logit, relative to the new max
        sa = a.choice_score + _LN2 * (a.max - safe_m)  # type: ignore[operator]
        sb = b.choice_score + _LN2 * (b.max - safe_m)  # type: ignore[operator]
        take_b = sb > sa
        choice_score, choice = torch.where(take_b, sb, sa), torch.where(take_b, b.choice, a.choice)
    return Partial(
        max=m,
        sumexp=a.sumexp * ea + b.sumexp * eb,
        weighted=a.weighted * ea[:, None] + b.weighted * eb[:, None],
        noise_weighted=noise_weighted,
        noise_sum=noise_sum,
        choice_score=choice_score,
        choice=choice,
    )


def empty_partial(n_queries: int, n_features: int, like: torch.Tensor, noise: bool = False,
                  choose: bool = False) -> Partial:
    """The identity of :func:`combine` (max = -inf), with the dtype and device of ``like``.

    Parameters
    ----------
    n_queries, n_features : int
        Number of queries ``q`` and of features ``D``.
    like : Tensor
        Gives the dtype and device.
    noise : bool, default False
        Also carry the (zero) accumulators of a moment-matched draw.
    choose : bool, default False
        Also carry a row choice (score -inf, row -1).

    Returns
    -------
    Partial
        ``max`` = -inf (q,), ``sumexp`` = 0 (q,), ``weighted`` = 0 (q, D).

    Examples
    --------
    >>> import torch
    >>> p = empty_partial(3, 2, torch.zeros(1, dtype=torch.float64))
    >>> p.max.tolist(), p.weighted.shape, p.sumexp.dtype
    ([-inf, -inf, -inf], torch.Size([3, 2]), torch.float64)
    """
    return Partial(max=like.new_full((n_queries,), -math.inf), sumexp=like.new_zeros(n_queries),
                   weighted=like.new_zeros((n_queries, n_features)),
                   noise_weighted=like.new_zeros((n_queries, n_features)) if noise else None,
                   noise_sum=like.new_zeros(n_queries) if noise else None,
                   choice_score=like.new_full((n_queries,), -math.inf, dtype=torch.float64) if choose else None,
                   choice=torch.full((n_queries,), -1, dtype=torch.int64, device=like.device) if choose else None)


def absorb_(state: Partial, logits: torch.Tensor, y: torch.Tensor, product: torch.Tensor,
            cutoff: float | None = None, sparse: bool | None = None, counts: torch.Tensor | None = None,
            noise: torch.Tensor | None = None, row_ids: torch.Tensor | None = None) -> None:
    """Fold one chunk's base-2 logits (q, b) for data rows ``y`` (b, D) into ``state``, in place.

    This is :func:`combine` of ``state`` with the chunk's partial, fused to avoid allocations.
    ``logits`` is overwritten; ``product`` (q, D) is scratch space for ``exp(l - M) @ y``. The
    chunk's product is formed from zero and then added: accumulating it straight onto the running
    sum (``addmm_``) adds every term to a large accumulator and, measured in float32, costs a
    factor ~10 in accuracy.

    A weight more than ``cutoff`` bits below the new running maximum ``M`` is set to exactly 0, and
    so is the rescale factor of an accumulated state that far below (default cutoff:
    :func:`~inertial_diffusion.core.precision.cutoff_bits` for 2^32 terms). The maximum only grows, so
    what is dropped stays negligible against the final maximum. With ``sparse`` (default: on the
    CPU) a chunk whose weights are nonzero in few query rows multiplies only those rows and the
    data columns they touch; rows the chunk does not reach are left untouched (their maximum did
    not move, so their rescale factor is exactly 1). ``counts`` (q,), if given, keeps the number of
    nonzero weights in each row's sum (what the float32 certificate needs to bound its rounding).

    Parameters
    ----------
    state : Partial
        The running partial of the ``q`` queries, updated in place (its three tensors are written).
    logits : Tensor (q, b)
        The chunk's base-2 logits :math:`\\ell_{qi} \\log_2 e`, in the computation dtype; overwritten
        with the weights.
    y : Tensor (b, D)
        The chunk's data rows, in the computation dtype.
    product : Tensor (q, D)
        Scratch space of the computation dtype.
    cutoff : float, optional
        Bits below the running maximum at which a weight is dropped (default
        :func:`~inertial_diffusion.core.precision.cutoff_bits` for 2^32 terms).
    sparse : bool, optional
        Multiply only the rows and columns with a nonzero weight when few rows have one (default: on
        the CPU, for blocks of at least ``SPARSE_MIN_ROWS`` queries).
    counts : Tensor (q,), optional
        Running number of nonzero weights per query, updated in place.
    noise : Tensor (q, b), optional
        Keyed standard normals of the chunk's (query, row) pairs, for a ``state`` with noise accumulators;
        overwritten. The square roots of the kept weights times the noise fold into ``noise_weighted`` and
        ``noise_sum``, rescaled by the square root of the weights' rescale factor. A weight dropped below the
        cutoff drops its noise term too: together those terms carry a variance below ``n 2^-cutoff`` of the
        posterior's spread, under the rounding unit.
    row_ids : Tensor (b,) of int64, optional
        Global indices of the chunk's rows, for a ``state`` that chooses a row: the Gumbel-perturbed logits
        ``l + G``, ``G = -log(-log Phi(eps))`` from the same noise, update the running argmax (a row whose weight is
        below the roots' cutoff cannot win it: ``G`` of a float32 normal is below 20 nats).

    Examples
    --------
    Folding the exact logits of a whole data set into an empty partial gives the posterior:

    >>> import math, torch
    >>> from inertial_diffusion.core.process import alpha, variance
    >>> data = torch.tensor([[-1.0, 0.0], [1.0, 0.0]], dtype=torch.float64)
    >>> x = torch.tensor([[0.9, 0.1]], dtype=torch.float64)
    >>> a, v = alpha(0.5), variance(0.5)
    >>> logits = (a * x @ data.T - a**2 * (data**2).sum(dim=1) / 2) / v / math.log(2)
    >>> state = empty_partial(1, 2, x)
    >>> absorb_(state, logits, data, torch.empty(1, 2, dtype=torch.float64))
    >>> bool(torch.allclose(state.mean(), posterior_partial(x, data, 0.5).mean()))
    True
    """
    if cutoff is None:
        cutoff = prec.cutoff_bits(logits.dtype, 2**32)
    if sparse is None:  # gathers pay off on the CPU, for blocks large enough to amortize them
        sparse = logits.device.type == "cpu" and logits.shape[0] >= SPARSE_MIN_ROWS
    chunk_max = logits.amax(dim=1)
    new_max = torch.maximum(state.max, chunk_max)
    # gaps to the new maximum, not "below new_max - cutoff": at tiny t the logits reach 1e80 and
    # new_max - cutoff rounds back to new_max, which would drop the maximum itself
    state_gap = state.max - new_max
    # 2^-inf = 0 for the first chunk; a state below the cutoff is dropped, never scaled to a subnormal
    rescale = torch.exp2(state_gap).masked_fill_(state_gap < -cutoff, 0.0)
    gaps = logits.sub_(new_max[:, None])
    roots = half_rescale = None
    if noise is not None:
        if state.noise_weighted is None:
            raise ValueError("noise was given for a partial without noise accumulators "
                             "(empty_partial(..., noise=True))")
        if state.choice is not None:
            if row_ids is None:
                raise ValueError("a partial that chooses a row needs the chunk's row_ids")
            _absorb_choice_(state, gaps, noise, row_ids, new_max)
        # square roots of the weights, kept down to 2^-cutoff themselves: a draw moves by sqrt(w), so the
        # noise terms need twice the weights' range for the same resolution
        roots = F.threshold(gaps, -2.0 * cutoff, -math.inf).mul_(0.5).exp2_()
        half_rescale = torch.exp2(0.5 * state_gap).masked_fill_(state_gap < -2.0 * cutoff, 0.0)
    # exact zeros below the sum's resolution: a subnormal product can cost x100 in the GEMM on some cores
    weights = F.threshold_(gaps, -cutoff, -math.inf).exp2_()  # type: ignore[attr-defined]
    if sparse:
        reach = -2.0 * cutoff if noise is not None else -cutoff
        rows = (chunk_max - new_max > reach).nonzero().squeeze(1)  # the rows with a weight (or a root) left
        if rows.numel() == 0:
            return  # no row reached: every maximum is unchanged and no weight survives
        if rows.numel() <= SPARSE_ROW_FRACTION * logits.shape[0]:
            pick = functools.partial(torch.index_select, dim=0, index=rows)
            noise_rows = None
            if noise is not None and roots is not None and half_rescale is not None:
                noise_rows = (pick(noise).mul_(pick(roots)), pick(half_rescale))
            _absorb_rows_(state, pick(weights), y, rows, pick(rescale), pick(new_max), counts, noise_rows)
            return
    if counts is not None:  # a dropped state takes its nonzero weights with it
        counts.mul_(rescale > 0).add_((weights > 0).sum(dim=1))
    if noise is not None and roots is not None and half_rescale is not None:
        _absorb_noise_(state, noise.mul_(roots), y, half_rescale, None)
    torch.addcmul(weights.sum(dim=1, dtype=state.sumexp.dtype), state.sumexp, rescale.to(state.sumexp.dtype),
                  out=state.sumexp)
    torch.mm(weights, y, out=product)
    torch.addcmul(product, state.weighted, rescale[:, None], out=state.weighted)  # one pass over (q, D)
    state.max.copy_(new_max)


def _absorb_choice_(state: Partial, gaps: torch.Tensor, noise: torch.Tensor, row_ids: torch.Tensor,
                    new_max: torch.Tensor) -> None:
    """The Gumbel-max row choice over one more chunk: ``gaps`` (q, b) base-2 logits minus the new maximum."""
    assert state.choice is not None and state.choice_score is not None, "checked by absorb_"
    gumbel = torch.special.log_ndtr(noise.double()).neg_().log_().neg_()  # -log(-log Phi(eps))
    scores = torch.addcmul(gumbel, gaps.double(), gumbel.new_tensor(_LN2))
    best, where = scores.max(dim=1)
    shifted = state.choice_score + _LN2 * (state.max.double() - new_max.double())  # relative to the new max
    take = best > shifted
    state.choice_score.copy_(torch.where(take, best, shifted))
    state.choice.copy_(torch.where(take, row_ids.to(where.device)[where], state.choice))


def _absorb_noise_(state: Partial, root_noise: torch.Tensor, y: torch.Tensor, half_rescale: torch.Tensor,
                   rows: torch.Tensor | None) -> None:
    """Fold ``sqrt(weights) * eps`` (k, b) into the noise accumulators of ``rows`` (all rows when None);
    the accumulated square roots rescale by ``half_rescale`` (the square root of the weights' factor)."""
    assert state.noise_weighted is not None and state.noise_sum is not None, "checked by absorb_"
    sums = torch.addcmul(root_noise.sum(dim=1, dtype=state.noise_sum.dtype),
                         state.noise_sum if rows is None else state.noise_sum.index_select(0, rows),
                         half_rescale.to(state.noise_sum.dtype))
    previous = state.noise_weighted if rows is None else state.noise_weighted.index_select(0, rows)
    weighted = torch.addcmul(root_noise @ y, previous, half_rescale[:, None])
    if rows is None:
        state.noise_sum.copy_(sums)
        state.noise_weighted.copy_(weighted)
    else:
        state.noise_sum.index_copy_(0, rows, sums)
        state.noise_weighted.index_copy_(0, rows, weighted)


def _absorb_rows_(state: Partial, weights: torch.Tensor, y: torch.Tensor, rows: torch.Tensor,
                  rescale: torch.Tensor, new_max: torch.Tensor, counts: torch.Tensor | None,
                  noise: tuple[torch.Tensor, torch.Tensor] | None = None) -> None:
    """:func:`absorb_` restricted to query ``rows`` (their weights (k, b)) and the data columns they touch;
    ``noise``: the rows' ``sqrt(weights) * eps`` and the square roots of their rescale factors."""
    if counts is not None:
        counts.index_copy_(0, rows, counts.index_select(0, rows).mul_(rescale > 0).add_((weights > 0).sum(dim=1)))
    if noise is not None:  # the roots reach further than the weights: their own columns
        root_noise, half_rescale = noise
        root_cols = (root_noise != 0).any(dim=0).nonzero().squeeze(1)
        if root_cols.numel() < root_noise.shape[1]:
            _absorb_noise_(state, root_noise.index_select(1, root_cols), y.index_select(0, root_cols), half_rescale,
                           rows)
        else:
            _absorb_noise_(state, root_noise, y, half_rescale, rows)
    cols = (weights > 0).any(dim=0).nonzero().squeeze(1)
    if cols.numel() < weights.shape[1]:
        weights, y = weights.index_select(1, cols), y.index_select(0, cols)
    sums = torch.addcmul(weights.sum(dim=1, dtype=state.sumexp.dtype), state.sumexp.index_select(0, rows),
                         rescale.to(state.sumexp.dtype))
    state.sumexp.index_copy_(0, rows, sums)
    state.weighted.index_copy_(0, rows, torch.addcmul(weights @ y, state.weighted.index_select(0, rows),
                                                      rescale[:, None]))
    state.max.index_copy_(0, rows, new_max)


def _block_partial(xq: torch.Tensor, data: torch.Tensor, t: float, bias: torch.Tensor, work: torch.dtype,
                   data_rows: int, logits_buffer: torch.Tensor, product_buffer: torch.Tensor,
                   cutoff: float, sum_dtype: torch.dtype | None = None,
                   counts: torch.Tensor | None = None, noise: KeyedNoise | None = None,
                   query_ids: torch.Tensor | None = None, weighted: bool = True) -> Partial:
    """Reduce one block of queries over all data chunks (the hot loop); ``sum_dtype``: of ``sumexp``;
    ``counts``: filled with each row's number of nonzero weights; ``noise``: the keyed noise of the queries
    ``query_ids`` (the moment-matched draw's accumulators); without ``weighted`` only the log-sum-exp is reduced
    (``weighted`` has no columns: the chunk's second GEMM is skipped)."""
    n, dim = data.shape
    xq = xq.to(work)
    a_t, v_t = alpha(t), variance(t)
    state = empty_partial(xq.shape[0], dim if weighted else 0, xq, noise=noise is not None,
                          choose=noise is not None and noise.choose)
    if sum_dtype is not None:
        state = Partial(state.max, state.sumexp.to(sum_dtype), *state.fields()[2:])
    for c0 in range(0, n, data_rows):
        # a no-op for resident data; data kept on the host is streamed to the queries' device chunk by chunk
        y = data[c0:c0 + data_rows].to(device=xq.device, dtype=work, non_blocking=True)
        logits = logits_buffer[:xq.shape[0], :y.shape[0]]
        torch.addmm(bias[None, c0:c0 + data_rows], xq, y.T, beta=1.0, alpha=_LOG2E * a_t / v_t, out=logits)
        eps = row_ids = None
        if noise is not None:
            assert query_ids is not None, "keyed noise needs the queries' indices"
            eps = noise.block(query_ids, c0, c0 + y.shape[0], work, xq.device)
            if noise.choose:
                row_ids = torch.arange(c0, c0 + y.shape[0], device=xq.device) + noise.row_offset
        absorb_(state, logits, y if weighted else y[:, :0], product_buffer[:xq.shape[0], :state.weighted.shape[1]],
                cutoff, counts=counts, noise=eps, row_ids=row_ids)
    return state


class _Plan:
    """One dtype's block shape, bias row and scratch buffers."""

    def __init__(self, work: torch.dtype, data: torch.Tensor, x: torch.Tensor, t: float,
                 half_sq_norms: torch.Tensor, chunk_size: int | None, max_memory: int | None,
                 cutoff_slack: float = 0.0, sum_dtype: torch.dtype | None = None, moment: bool = False) -> None:
        n, dim = data.shape
        self.work = work
        self.data_rows, self.query_rows = plan_blocks(n, x.shape[0], dim, work, x.device, chunk_size, max_memory,
                                                      moment=moment)
        a_t, v_t = alpha(t), variance(t)
        self.bias = half_sq_norms.to(device=x.device, dtype=work) * (-_LOG2E * a_t * a_t / v_t)
        # the slack keeps a weight that logit errors could lift above the cutoff; capped far above
        # the smallest normal exponent (2^-126 in float32), so that no weight is ever subnormal
        self.cutoff = min(prec.cutoff_bits(work, n) + cutoff_slack, 100.0 if work != torch.float64 else 900.0)
        self.sum_dtype = sum_dtype
        self._buffers: tuple[torch.Tensor, torch.Tensor] | None = None
        self._device = x.device

    def run(self, xq: torch.Tensor, data: torch.Tensor, t: float, counts: torch.Tensor | None = None,
            noise: KeyedNoise | None = None, query_ids: torch.Tensor | None = None, weighted: bool = True) -> Partial:
        rows = xq.shape[0]
        if self._buffers is None or self._buffers[0].shape[0] < rows:
            self._buffers = (torch.empty((rows, self.data_rows), dtype=self.work, device=self._device),
                             torch.empty((rows, data.shape[1]), dtype=self.work, device=self._device))
        return _block_partial(xq, data, t, self.bias, self.work, self.data_rows, *self._buffers, self.cutoff,
                              self.sum_dtype, counts, noise, query_ids, weighted)


def _blocks(x: torch.Tensor, data: torch.Tensor, t: float, half_sq_norms: torch.Tensor | None,
            chunk_size: int | None, max_memory: int | None, certify: bool = False,
            noise: KeyedNoise | None = None, weighted: bool = True, precision: str = "exact"):
    """Yield ``(q0, Partial)`` for consecutive query blocks; working memory follows ``max_memory``.

    With ``certify`` (posterior means), float32 queries past the accuracy guard are computed in
    float32, and only the rows :func:`~inertial_diffusion.core.precision.certified_rows` rejects are
    redone in float64 (with the same keyed ``noise``); the partials are then float64, their maxima carry the
    float32 logit error. Query ``i`` of ``x`` draws the noise of index ``i``, whatever the block plan.
    """
    n, dim = data.shape
    if half_sq_norms is None:
        half_sq_norms = 0.5 * (data.to(torch.float64) ** 2).sum(dim=1)
    if x.dtype == torch.float64:
        work = torch.float64
    else:  # the guard's norms cost a pass over x and a device sync: only float32 needs them
        x_norms = x.double().norm(dim=1) if x.shape[0] else x.new_zeros(1, dtype=torch.float64)
        y_max = float(torch.sqrt(2.0 * half_sq_norms.max())) if n else 0.0  # an empty shard of a Dask array
        work = compute_dtype(x.dtype, t, float(x_norms.max()), y_max)
        tf32 = x.device.type == "cuda" and precision == "tf32"  # the policy passed down, not torch's global switch
        if work == torch.float64 and certify and not tf32 and x.shape[0]:
            yield from _certified_blocks(x, data, t, half_sq_norms, chunk_size, max_memory, x_norms, y_max, noise)
            return
    plan = _Plan(work, data, x, t, half_sq_norms, chunk_size, max_memory, moment=noise is not None)
    for q0 in range(0, x.shape[0], plan.query_rows):
        xq = x[q0:q0 + plan.query_rows]
        yield q0, plan.run(xq, data, t, noise=noise, query_ids=torch.arange(q0, q0 + xq.shape[0]), weighted=weighted)


def _certified_blocks(x, data, t, half_sq_norms, chunk_size, max_memory, x_norms, y_max, noise=None):
    """float32 blocks, with the uncertified rows recomputed in float64 (see :func:`_blocks`)."""
    n = data.shape[0]
    error = prec.logit_error_bound(t, x_norms, y_max)
    budget = None if max_memory is None else max(1, int(max_memory) // 2)  # both plans' buffers may coexist
    moment = noise is not None
    # a logit may be off by 2E relative to the row's maximum: keep what could reach the cutoff. The sum
    # of weights is kept in float64: the certificate reads the mass outside the maximum off S - 1
    plan32 = _Plan(torch.float32, data, x, t, half_sq_norms, chunk_size, budget,
                   cutoff_slack=2.0 * float(error.max()) * _LOG2E, sum_dtype=torch.float64, moment=moment)
    plan64 = _Plan(torch.float64, data, x, t, half_sq_norms, chunk_size, budget, moment=moment)
    scale = float(torch.sqrt(2.0 * half_sq_norms.mean()))
    step = min(plan32.query_rows, plan64.query_rows)
    # a probe of the first rows: when most of them fail, the batch's posteriors are not peaked and a
    # float32 pass over the rest would only be thrown away
    bounds = [0, min(PROBE_ROWS, step)] + list(range(min(PROBE_ROWS, step) + step, x.shape[0], step)) + [x.shape[0]]
    direct = False
    for q0, q1 in zip(bounds[:-1], bounds[1:]):
        if q1 <= q0:
            continue
        xq, ids = x[q0:q1], torch.arange(q0, q1)
        if direct:
            yield q0, plan64.run(xq, data, t, noise=noise, query_ids=ids)
            continue
        counts = torch.zeros(xq.shape[0], dtype=torch.float64, device=xq.device)
        p32 = plan32.run(xq, data, t, counts, noise=noise, query_ids=ids)
        ok = prec.certified_rows(p32.sumexp, error[q0:q1].to(p32.sumexp.device), plan32.cutoff, n,
                                 y_max, max(scale, 1e-300), counts=counts)
        # rows that the a-priori guard alone would have kept (the batch failed it through its largest |x|)
        ok |= prec.within_guard(t, x_norms[q0:q1], y_max).to(ok.device)
        part = p32.to_float64()
        redo = (~ok).nonzero().squeeze(1)
        direct = q0 == 0 and redo.numel() > PROBE_FAIL_FRACTION * xq.shape[0]
        if redo.numel():
            part.assign_(redo, plan64.run(xq.index_select(0, redo), data, t, noise=noise,
                                          query_ids=ids.index_select(0, redo.cpu())))
        yield q0, part


def posterior_partial(
    x: torch.Tensor,
    data: torch.Tensor,
    t: float,
    *,
    half_sq_norms: torch.Tensor | None = None,
    chunk_size: int | None = None,
    max_memory: int | None = None,
    precision: str = "exact",
    noise: KeyedNoise | None = None,
    weighted: bool = True,
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
    precision : {"exact", "tf32"}
        The precision policy (:data:`~inertial_diffusion.core.precision.PRECISIONS`): "exact" (float64; float32
        within ~2e-5 of the data scale, typically 1e-7, see :mod:`~inertial_diffusion.core.precision`); "tf32"
        (float32 GEMMs on a GPU may run in TensorFloat-32, which the caller switches on: no certificate).
        "bf16" is refused with a clear error. The core never reads torch's global matmul switches.
    noise : KeyedNoise, optional
        Also carry the accumulators of the moment-matched draw (:meth:`Partial.moment_draw`), with the noise
        of query ``i`` keyed by ``i`` and the data row (the same for every ``chunk_size`` and ``max_memory``).
    weighted : bool, default True
        Also reduce the weighted sum of the rows; False reduces the log-sum-exp alone (``weighted`` then has no
        columns), half the work: what :meth:`Partial.log_normalizer` needs.

    Returns
    -------
    Partial
        In the computation dtype (:func:`compute_dtype`); its ``mean()`` is formed in float64.

    Raises
    ------
    ValueError
        An unavailable ``precision``.

    Examples
    --------
    >>> import torch
    >>> data = torch.tensor([[-1.0, 0.0], [1.0, 0.0]], dtype=torch.float64)
    >>> x = torch.tensor([[0.9, 0.1]], dtype=torch.float64)
    >>> part = posterior_partial(x, data, 0.5, chunk_size=1)  # one data row per chunk: the same result
    >>> part.mean().round(decimals=4).tolist()
    [[0.9387, 0.0]]
    >>> part.max.shape, part.weighted.shape
    (torch.Size([1]), torch.Size([1, 2]))
    """
    prec.check_precision(precision)
    parts = [p for _, p in _blocks(x, data, t, half_sq_norms, chunk_size, max_memory, noise=noise,
                                   weighted=weighted or noise is not None, precision=precision)]
    if not parts:
        return empty_partial(0, data.shape[1], x.to(torch.float64 if x.dtype == torch.float64 else x.dtype),
                             noise=noise is not None, choose=noise is not None and noise.choose)
    return concat(parts)


def _certified_blocks_of(x: torch.Tensor, data: torch.Tensor, t: float, kwargs: dict,
                         noise: KeyedNoise | None = None):
    """The certified blocks of :func:`_blocks` under the keyword arguments of :func:`posterior_mean`."""
    unknown = set(kwargs) - {"half_sq_norms", "chunk_size", "max_memory", "precision"}
    if unknown:
        raise TypeError(f"unexpected keyword argument(s) {sorted(unknown)}")
    prec.check_precision(kwargs.get("precision", "exact"))
    return _blocks(x, data, t, kwargs.get("half_sq_norms"), kwargs.get("chunk_size"), kwargs.get("max_memory"),
                   certify=True, noise=noise, precision=kwargs.get("precision", "exact"))


def _assemble(x: torch.Tensor, data: torch.Tensor, t: float, finish, **kwargs) -> torch.Tensor:
    """Run the blocks and write ``finish(x_block, partial)`` into one output of ``x``'s dtype:
    the only allocation that grows with the number of queries."""
    out = torch.empty_like(x)
    for q0, part in _certified_blocks_of(x, data, t, kwargs):
        rows = part.max.shape[0]
        out[q0:q0 + rows] = finish(x[q0:q0 + rows], part)
    return out


class Moment(NamedTuple):
    """What the moment-matched reduction gives per query (:func:`posterior_moment`, ``PosteriorBackend.moment``).

    Parameters
    ----------
    mean : Tensor (m, D)
        The posterior mean :math:`m_t(x)`.
    draw : Tensor (m, D)
        The moment-matched draw :math:`m + \\sum_i \\sqrt{w_i}\\,\\varepsilon_i (y_i - m)`.
    choice : Tensor (m,) of int64 or None
        With ``KeyedNoise(choose=True)``: one training row drawn from the posterior (``P(i) = w_i``), else None.
    """

    mean: torch.Tensor
    draw: torch.Tensor
    choice: torch.Tensor | None


def posterior_moment(x: torch.Tensor, data: torch.Tensor, t: float, noise: KeyedNoise, **kwargs) -> Moment:
    """Posterior mean and moment-matched draw of queries ``x``, in ``x.dtype``, from one streamed reduction.

    The draw is :math:`m_t(x) + \\sum_i \\sqrt{w_i}\\,\\varepsilon_i (y_i - m_t(x))` with the posterior
    weights :math:`w` and keyed standard normals :math:`\\varepsilon_i` (``noise``): given ``x``, a draw of
    :math:`N(m_t(x), \\operatorname{Cov}_t(y \\mid x))`, the Gaussian with the posterior's mean and covariance
    (:mod:`~inertial_diffusion.core.inertia`). The reduction carries two more accumulators than the mean's
    (:meth:`Partial.moment_draw`): one more GEMM per chunk and the noise of every (query, row) pair.

    Parameters
    ----------
    x : Tensor (m, D)
        Queries at time ``t``.
    data : Tensor (n, D)
        Training points (standardized coordinates).
    t : float
        Diffusion time, ``t > 0``.
    noise : KeyedNoise
        The noise of query ``i`` against row ``j`` (the same for every block plan).
    **kwargs
        ``half_sq_norms``, ``chunk_size``, ``max_memory``, ``precision``: see :func:`posterior_partial`.

    Returns
    -------
    Moment
        ``mean`` (:math:`m_t(x)`, as :func:`posterior_mean` returns it), ``draw`` (the moment-matched draw), both in
        ``x.dtype``, and ``choice`` (a posterior-drawn row per query, with ``noise.choose``).

    Raises
    ------
    TypeError
        An unknown keyword argument.
    ValueError
        An unavailable ``precision``.

    Examples
    --------
    One training point: the posterior is a point mass, the draw is that point.

    >>> import torch
    >>> from inertial_diffusion.core.noise import KeyedNoise
    >>> data = torch.tensor([[1.0, 2.0]], dtype=torch.float64)
    >>> result = posterior_moment(torch.zeros(3, 2, dtype=torch.float64), data, 0.5, KeyedNoise(0, choose=True))
    >>> result.draw.tolist(), result.choice.tolist()
    ([[1.0, 2.0], [1.0, 2.0], [1.0, 2.0]], [0, 0, 0])
    """
    mean, draw = torch.empty_like(x), torch.empty_like(x)
    choice = torch.empty(x.shape[0], dtype=torch.int64, device=x.device) if noise.choose else None
    for q0, part in _certified_blocks_of(x, data, t, kwargs, noise):
        rows = part.max.shape[0]
        mean[q0:q0 + rows] = part.mean()
        draw[q0:q0 + rows] = part.moment_draw()
        if choice is not None and part.choice is not None:
            choice[q0:q0 + rows] = part.choice
    return Moment(mean, draw, choice)


def posterior_mean(x: torch.Tensor, data: torch.Tensor, t: float, **kwargs) -> torch.Tensor:
    """Posterior mean :math:`m_t(x) = E[y \\mid X_t = x]` under :math:`\\hat p_t`, in ``x.dtype``.

    :math:`m_t(x) = \\sum_i w_i y_i` with
    :math:`w = \\operatorname{softmax}_i(-|x - \\alpha_t y_i|^2/(2 v_t))`, computed exactly by a
    streaming log-sum-exp over chunks of the data. Keyword arguments are those of :func:`posterior_partial`.

    Parameters
    ----------
    x : Tensor (m, D)
        Queries at time ``t``.
    data : Tensor (n, D)
        Training points (standardized coordinates).
    t : float
        Diffusion time, ``t > 0``.
    **kwargs
        ``half_sq_norms``, ``chunk_size``, ``max_memory``, ``precision``: see :func:`posterior_partial`.

    Returns
    -------
    Tensor (m, D)
        :math:`m_t(x)`, a convex combination of the training points.

    Raises
    ------
    TypeError
        An unknown keyword argument.
    ValueError
        An unavailable ``precision``.

    Examples
    --------
    >>> import torch
    >>> data = torch.tensor([[-1.0, 0.0], [1.0, 0.0]], dtype=torch.float64)
    >>> x = torch.tensor([[0.9, 0.1]], dtype=torch.float64)
    >>> posterior_mean(x, data, 0.01).tolist()  # small t: the nearest training point
    [[1.0, 0.0]]
    >>> posterior_mean(torch.zeros(1, 2, dtype=torch.float64), data, 1.0).tolist()  # equidistant: the average
    [[0.0, 0.0]]
    """
    return _assemble(x, data, t, lambda xq, part: part.mean(), **kwargs)


def score(x: torch.Tensor, data: torch.Tensor, t: float, **kwargs) -> torch.Tensor:
    """Empirical score :math:`\\nabla\\log\\hat p_t(x) = (\\alpha_t m_t(x) - x)/v_t`, in ``x.dtype``.

    Assembled in float64 per block so that the small-t cancellation in
    :math:`\\alpha_t m - x` does not cost float32 its accuracy.

    Parameters
    ----------
    x : Tensor (m, D)
        Queries at time ``t``.
    data : Tensor (n, D)
        Training points (standardized coordinates).
    t : float
        Diffusion time, ``t > 0``.
    **kwargs
        ``half_sq_norms``, ``chunk_size``, ``max_memory``, ``precision``: see :func:`posterior_partial`.

    Returns
    -------
    Tensor (m, D)
        The score of the empirical mixture :math:`\\hat p_t` at ``x``.

    Raises
    ------
    TypeError
        An unknown keyword argument.
    ValueError
        An unavailable ``precision``.

    Examples
    --------
    >>> import torch
    >>> data = torch.tensor([[-1.0, 0.0], [1.0, 0.0]], dtype=torch.float64)
    >>> x = torch.tensor([[0.9, 0.1]], dtype=torch.float64)
    >>> score(x, data, 0.5).round(decimals=4).tolist()
    [[-1.0461, -0.3164]]
    """
    a_t, v_t = alpha(t), variance(t)
    return _assemble(x, data, t, lambda xq, part: (a_t * part.mean() - xq.double()) / v_t, **kwargs)


def log_density(x: torch.Tensor, data: torch.Tensor, t: float, **kwargs) -> torch.Tensor:
    """:math:`\\log \\hat p_t(x)`, shape (m,), computed in float64.

    :math:`\\log\\hat p_t(x) = \\operatorname{LSE}_i(\\ell_i) - |x|^2/(2v_t) - \\log n - \\tfrac D2\\log(2\\pi v_t)`.

    Here :math:`\\hat p_t = \\frac1n\\sum_i N(\\alpha_t y_i, v_t I)` and
    :math:`\\ell_i = (\\alpha_t\\, x\\cdot y_i - \\alpha_t^2 |y_i|^2/2)/v_t`.

    Parameters
    ----------
    x : Tensor (m, D)
        Queries at time ``t``.
    data : Tensor (n, D)
        Training points (standardized coordinates).
    t : float
        Diffusion time, ``t > 0``.
    **kwargs
        Passed to :func:`posterior_partial`.

    Returns
    -------
    Tensor (m,), float64
        The log-density of the empirical mixture at each query, in standardized units.

    Raises
    ------
    ValueError
        An unavailable ``precision``.

    Examples
    --------
    >>> import torch
    >>> data = torch.tensor([[-1.0, 0.0], [1.0, 0.0]], dtype=torch.float64)
    >>> x = torch.tensor([[0.9, 0.1]], dtype=torch.float64)
    >>> log_density(x, data, 0.5).round(decimals=4).tolist()
    [-1.5001]
    """
    n, dim = data.shape
    x64 = x.to(torch.float64)
    part = posterior_partial(x64, data.to(torch.float64), t, **kwargs)
    v_t = variance(t)
    return (part.log_normalizer() - (x64**2).sum(dim=1) / (2 * v_t) - math.log(n)
            - 0.5 * dim * math.log(2 * math.pi * v_t))
