"""Isolated training points: certified cheaply from a subsample, exactly from the full posterior.

A training point :math:`y_i` is *isolated at the kernel's scale* when its own posterior weight at
:math:`h`, queried at :math:`x = \\alpha_h y_i`, is at least :math:`w^*` (0.99): its samples are then
near-copies of it. With :math:`l_j = -\\alpha_h^2 |y_i - y_j|^2 / (2 v_h)` the own weight is

.. math:: w_{ii} = \\frac{1}{1 + S_i}, \\qquad S_i = \\sum_{j \\ne i} e^{l_j},

so :math:`y_i` is isolated iff :math:`S_i \\le (1 - w^*)/w^*`. Every term of :math:`S_i` is positive: the sum
over any subset of the other rows is a lower bound on :math:`S_i`. When that partial sum already exceeds the
threshold the point is certainly *not* isolated, whatever the other rows are. On data with neighbours at the
kernel's scale a few thousand reference rows decide nearly every probe this way (a GEMM of probes × reference
rows instead of probes × all n); the undecided probes take the full log-sum-exp over all the data.
"""

from __future__ import annotations

import math

import torch

from inertial_diffusion.core.process import alpha, variance

__all__ = ["isolation_threshold", "certainly_not_isolated", "isolated_probes"]

#: Absolute squared-distance slack (standardized units), added to the relative one below: the partial sums are
#: taken slightly too small, so a certificate never rests on a rounding error.
DISTANCE_SLACK = 1e-9
_EPS64 = float(torch.finfo(torch.float64).eps)


def isolation_threshold(self_weight: float) -> float:
    """The largest :math:`S_i = \\sum_{j \\ne i} e^{l_j}` of an isolated point: :math:`(1 - w^*)/w^*`.

    Parameters
    ----------
    self_weight : float
        :math:`w^*` in (0, 1): a point is isolated when its own weight is at least this.

    Returns
    -------
    float
        The threshold on the sum of the other rows' relative weights.

    Examples
    --------
    >>> round(isolation_threshold(0.99), 6)  # 1/99
    0.010101
    """
    if not 0.0 < self_weight < 1.0:
        raise ValueError(f"self_weight must be in (0, 1), got {self_weight!r}")
    return (1.0 - self_weight) / self_weight


def certainly_not_isolated(probes: torch.Tensor, probe_index: torch.Tensor, reference: torch.Tensor,
                           reference_index: torch.Tensor, h: float, self_weight: float,
                           block_rows: int = 256, max_memory: int | None = None) -> torch.Tensor:
    """Per probe row, whether the reference rows alone prove that it is not isolated at time ``h``.

    The partial sum :math:`\\sum_{j \\in R,\\, j \\ne i} e^{-\\alpha_h^2 |y_i - y_j|^2 / (2 v_h)}` over the
    reference rows ``R`` (the probe itself left out by its index, a duplicate at another index counted) is a
    lower bound on :math:`S_i`; True where it exceeds :func:`isolation_threshold` (computed in float64, with
    the squared distances raised by more than their rounding error). False means *undecided*, not isolated.

    Parameters
    ----------
    probes : Tensor (k, D)
        The probed training rows (standardized units).
    probe_index : Tensor (k,), int
        Their row indices in the training data.
    reference : Tensor (r, D)
        Reference training rows (e.g. a seeded subsample), same units.
    reference_index : Tensor (r,), int
        Their row indices in the training data.
    h : float
        The inertia time ``h = sigma^2 > 0``.
    self_weight : float
        :math:`w^*`, the own weight from which a point counts as isolated.
    block_rows : int, default 256
        Probes per block (memory ~17 ``block_rows x r`` bytes: two float64 blocks and a mask).
    max_memory : int, optional
        Budget in bytes for those blocks; fewer probes per block when it asks for it.

    Returns
    -------
    Tensor (k,), bool
        True: certainly not isolated. False: to be decided on all the data.

    Examples
    --------
    Three points on a line, two of them close at the kernel's scale:

    >>> import torch
    >>> Y = torch.tensor([[0.0], [0.05], [5.0]], dtype=torch.float64)
    >>> idx = torch.arange(3)
    >>> certainly_not_isolated(Y, idx, Y, idx, h=0.01, self_weight=0.99).tolist()
    [True, True, False]
    """
    threshold = isolation_threshold(self_weight)
    a, v = alpha(h), variance(h)
    scale = a * a / (2.0 * v)
    R = reference.to(torch.float64)
    r_sq = (R * R).sum(dim=1)
    reference_index = reference_index.to(R.device)
    out = torch.zeros(probes.shape[0], dtype=torch.bool)
    if max_memory is not None:
        block_rows = max(1, min(block_rows, int(max_memory) // (24 * max(R.shape[0], 1))))
    # in log space: a partial sum below the smallest normal number is not a certificate anyway
    log_threshold = math.log(threshold)
    for q0 in range(0, probes.shape[0], block_rows):
        P = probes[q0:q0 + block_rows].to(device=R.device, dtype=torch.float64)
        p_sq = (P * P).sum(dim=1, keepdim=True)
        logits = (P @ R.T).mul_(-2.0).add_(p_sq).add_(r_sq[None, :]).clamp_(min=0.0)  # squared distances
        # the rounding of |p|^2 + |r|^2 - 2 p.r grows with the norms: at most ~(D + 2) eps (|p|^2 + |r|^2)
        slack = (p_sq + r_sq[None, :]).mul_((P.shape[1] + 2) * _EPS64).add_(DISTANCE_SLACK)
        logits.add_(slack).mul_(-scale)
        del slack
        own = probe_index[q0:q0 + block_rows].to(R.device)[:, None] == reference_index[None, :]
        logits.masked_fill_(own, -math.inf)
        out[q0:q0 + P.shape[0]] = (torch.logsumexp(logits, dim=1) > log_threshold).cpu()
    return out


def isolated_probes(backend, probes: torch.Tensor, probe_index: torch.Tensor, reference: torch.Tensor,
                    reference_index: torch.Tensor, h: float, self_weight: float,
                    max_memory: int | None = None) -> torch.Tensor:
    """Per probe row, whether it is isolated at time ``h`` (own posterior weight at ``alpha_h y_i`` ≥ ``self_weight``).

    Probes that the reference rows settle (:func:`certainly_not_isolated`) are not isolated; the others are
    decided exactly through the backend's log-sum-exp over all rows (query ``log_normalizer``): with
    ``l_j = (alpha x.y_j - alpha^2 |y_j|^2/2)/v`` at ``x = alpha y_i`` the own logit is ``alpha^2 |y_i|^2/(2v)``
    and its weight ``exp(l_i - LSE_j l_j)``.

    Parameters
    ----------
    backend : PosteriorBackend
        The fitted model's backend (all training rows).
    probes, probe_index, reference, reference_index, h, self_weight, max_memory
        As in :func:`certainly_not_isolated`; ``probes`` and ``reference`` may be in the backend's dtype.

    Returns
    -------
    Tensor (k,), bool
        True where the probe is isolated.
    """
    settled = certainly_not_isolated(probes, probe_index, reference, reference_index, h, self_weight,
                                     max_memory=max_memory)
    isolated = torch.zeros(probes.shape[0], dtype=torch.bool)
    undecided = (~settled).nonzero().squeeze(1)
    if undecided.numel():
        y = probes[undecided.to(probes.device)].to(torch.float64)
        a, v = alpha(h), variance(h)
        log_normalizer = backend.log_normalizer((a * y).to(backend.dtype), h).to(y.device)
        own = torch.exp(a * a * (y * y).sum(dim=1) / (2 * v) - log_normalizer)
        isolated[undecided] = (own >= self_weight).cpu()
    return isolated
