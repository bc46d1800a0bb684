"""Posterior mean restricted to the k nearest training points, with a certified neglected mass.

At time t the logits :math:`\\ell_i = -|x - \\alpha_t y_i|^2/(2v_t) = -\\alpha_t^2 |x/\\alpha_t - y_i|^2/(2v_t)`
decrease with the distance of :math:`y_i` to :math:`x/\\alpha_t`. Keeping the k nearest points
:math:`N_k`, every excluded point has a logit at most :math:`\\ell_{(k)}` (the k-th largest), so the
neglected share of the softmax mass is bounded by

.. math::

    \\frac{\\sum_{i \\notin N_k} e^{\\ell_i}}{\\sum_i e^{\\ell_i}}
    \\le \\frac{(n - k)\\, e^{\\ell_{(k)}}}{\\sum_{j \\in N_k} e^{\\ell_j}},

reported per query. The logits of the kept points are recomputed from direct differences (no
cancellation), and the k-th distance used in the bound is lowered by a rounding slack of the
search, so that the certificate holds even where the search's float32/GEMM distances misorder
near-ties. With ``k="auto"``, k doubles for the queries whose bound is above ``tol``.
"""

from __future__ import annotations

import importlib.util
import math
from dataclasses import dataclass

import torch

from inertial_diffusion.core.process import alpha, variance

_EPS32 = float(torch.finfo(torch.float32).eps)

__all__ = ["KnnResult", "knn_search", "knn_posterior_mean", "faiss_available"]


def faiss_available() -> bool:
    """True when faiss (``pip install faiss-cpu``) can be imported."""
    return importlib.util.find_spec("faiss") is not None


@dataclass(frozen=True)
class KnnResult:
    """Posterior means over the kept neighbours, the certified neglected mass, and the k used."""

    mean: torch.Tensor  # (m, D)
    neglected_mass: torch.Tensor  # (m,) upper bound on the excluded share of the softmax mass
    k: torch.Tensor  # (m,) neighbours kept per query


def _torch_knn(queries: torch.Tensor, data: torch.Tensor, k: int, chunk: int = 4096) -> torch.Tensor:
    """Exact k nearest neighbours by chunked GEMM distances and a running top-k merge."""
    sq = (data**2).sum(dim=1)
    best_d = queries.new_full((queries.shape[0], 0), math.inf)
    best_i = torch.empty((queries.shape[0], 0), dtype=torch.long, device=queries.device)
    for c0 in range(0, data.shape[0], chunk):
        d2 = torch.addmm(sq[None, c0:c0 + chunk], queries, data[c0:c0 + chunk].T, alpha=-2.0)
        idx = torch.arange(c0, c0 + d2.shape[1], device=queries.device).expand_as(d2)
        cand_d, cand_i = torch.cat([best_d, d2], dim=1), torch.cat([best_i, idx], dim=1)
        top = torch.topk(cand_d, min(k, cand_d.shape[1]), dim=1, largest=False)
        best_d, best_i = top.values, torch.gather(cand_i, 1, top.indices)
    return best_i


def knn_search(queries: torch.Tensor, data: torch.Tensor, k: int, backend: str = "auto") -> torch.Tensor:
    """Indices (m, k) of the k nearest rows of ``data`` to each query, nearest first (exact search).

    ``backend``: "faiss" (``IndexFlatL2``, needs faiss-cpu), "torch" (chunked GEMM top-k), or "auto".
    """
    if backend == "auto":
        backend = "faiss" if faiss_available() and queries.device.type == "cpu" else "torch"
    if backend == "torch":
        return _torch_knn(queries, data, k)
    if backend == "faiss":
        import faiss

        index = faiss.IndexFlatL2(data.shape[1])
        index.add(data.detach().cpu().numpy().astype("float32"))
        _, idx = index.search(queries.detach().cpu().numpy().astype("float32"), k)
        return torch.as_tensor(idx, dtype=torch.long, device=queries.device)
    raise ValueError(f"unknown neighbour backend {backend!r}; expected 'auto', 'faiss' or 'torch'")


def _restricted(x: torch.Tensor, data: torch.Tensor, t: float, idx: torch.Tensor, max_sq_norm: float,
                 block_bytes: int = 64 * 2**20) -> tuple[torch.Tensor, torch.Tensor]:
    """Posterior mean over rows ``idx`` (m, k) and the certified neglected-mass bound, in query
    blocks so that the gathered (block, k, D) neighbours fit ``block_bytes``."""
    n, dim = data.shape
    a_t, v_t = alpha(t), variance(t)
    k = idx.shape[1]
    rows = max(1, block_bytes // (8 * k * dim))
    means, bounds = [], []
    for q0 in range(0, x.shape[0], rows):
        y = data[idx[q0:q0 + rows]].to(torch.float64)  # (b, k, D)
        x64 = x[q0:q0 + rows].to(torch.float64)
        d2 = ((x64[:, None, :] - a_t * y) ** 2).sum(dim=2)  # direct differences: exact logits
        logits = -d2 / (2 * v_t)
        top = logits.amax(dim=1, keepdim=True)
        w = torch.exp(logits - top)
        total = w.sum(dim=1)
        means.append((w[:, :, None] * y).sum(dim=1) / total[:, None])
        if k >= n:
            bounds.append(torch.zeros_like(total))
            continue
        # rounding slack of the search's float32 |q|^2 - 2 q.y + |y|^2 distances: an excluded point may
        # be nearer than the k-th kept one by at most this much (in units of |x - alpha y|^2)
        slack = 8 * _EPS32 * ((x64 / a_t).pow(2).sum(dim=1) + max_sq_norm) * a_t * a_t
        kth = (d2.amax(dim=1) - slack).clamp_min(0.0)
        bounds.append(((n - k) * torch.exp(-kth / (2 * v_t) - top[:, 0]) / total).clamp(max=1.0))
    return torch.cat(means), torch.cat(bounds)


def knn_posterior_mean(x: torch.Tensor, data: torch.Tensor, t: float, k: int | str = "auto", *,
                       tol: float = 1e-6, backend: str = "auto", k_start: int = 32) -> KnnResult:
    """Posterior mean at time ``t`` from the ``k`` nearest training points of ``x / alpha_t``.

    Parameters
    ----------
    k : int or "auto"
        Neighbours kept; "auto" starts at ``k_start`` and doubles for the queries whose certified
        neglected mass exceeds ``tol`` (up to n, where the result is exact).
    """
    n = data.shape[0]
    queries = (x / alpha(t)).to(torch.float32)
    base = data.to(torch.float32)
    max_sq = float(data.to(torch.float64).pow(2).sum(dim=1).max())
    if k != "auto":
        kk = max(1, min(int(k), n))
        mean, bound = _restricted(x, data, t, knn_search(queries, base, kk, backend), max_sq)
        return KnnResult(mean.to(x.dtype), bound, torch.full((x.shape[0],), kk, device=x.device))
    mean = torch.empty(x.shape, dtype=torch.float64, device=x.device)
    bound = torch.empty(x.shape[0], dtype=torch.float64, device=x.device)
    used = torch.empty(x.shape[0], dtype=torch.long, device=x.device)
    todo = torch.arange(x.shape[0], device=x.device)
    kk = max(1, min(k_start, n))
    while todo.numel():
        m_k, b_k = _restricted(x[todo], data, t, knn_search(queries[todo], base, kk, backend), max_sq)
        done = (b_k <= tol) | (kk >= n)
        mean[todo[done]], bound[todo[done]], used[todo[done]] = m_k[done], b_k[done], kk
        todo = todo[~done]
        kk = min(2 * kk, n)
    return KnnResult(mean.to(x.dtype), bound, used)
