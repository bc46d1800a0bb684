"""The exact backend: data in this process, resident on the device or streamed from pinned host memory.

Every query goes through the streaming log-sum-exp of :mod:`inertial_diffusion.core.posterior`
(memory O(query block x data chunk), sized by ``max_memory``), under one dtype policy: float64,
float32 (with its a-priori accuracy guard), or TF32 GEMMs on a GPU, applied alike to mean, score
and log-density.
"""

from __future__ import annotations

from typing import Any

import torch

from inertial_diffusion.backends.base import PosteriorBackend
from inertial_diffusion.backends.device import tf32_matmul
from inertial_diffusion.core import posterior
from inertial_diffusion.core.posterior import Partial

__all__ = ["LocalBackend", "half_sq_norms"]


def half_sq_norms(data: torch.Tensor, device: torch.device, block_rows: int = 8192) -> torch.Tensor:
    """``|y_i|^2 / 2`` in float64, by blocks of rows (no full-size float64 copy of float32 data)."""
    out = torch.empty(data.shape[0], dtype=torch.float64, device=device)
    for r0 in range(0, data.shape[0], block_rows):
        block = data[r0:r0 + block_rows].to(device=device, dtype=torch.float64)
        out[r0:r0 + block_rows] = 0.5 * (block * block).sum(dim=1)
    return out


class LocalBackend(PosteriorBackend):
    """Exact posterior over a tensor of standardized rows.

    Parameters
    ----------
    data : Tensor (n, D)
        Standardized training rows, on ``device`` (resident) or in pinned host memory (streamed).
    device : torch.device
        Where queries live and the GEMMs run.
    max_memory : int
        Working-memory budget in bytes of one evaluation (see :func:`~inertial_diffusion.core.posterior.plan_blocks`).
    chunk_size : int, optional
        Data rows per streamed chunk.
    tf32 : bool
        Let float32 GEMMs use TensorFloat-32 (GPU only), for every query method.
    core_options : dict, optional
        Extra keywords of the core posterior functions (a precision mode).
    """

    def __init__(self, data: torch.Tensor, device: torch.device, max_memory: int, chunk_size: int | None = None,
                 tf32: bool = False, core_options: dict[str, Any] | None = None) -> None:
        self.rows = data
        self.n_samples, self.n_features = (int(s) for s in data.shape)
        self.dtype = data.dtype
        self.device = torch.device(device)
        self.resident = data.device == self.device or self.device.type == "cpu"
        self.max_memory = int(max_memory)
        self.chunk_size = chunk_size
        self.tf32 = bool(tf32)
        # |y|^2 / 2 in float64 once: every logit GEMM adds it as a row bias
        self.half_sq_norms = half_sq_norms(data, self.device)
        self._kwargs = dict(half_sq_norms=self.half_sq_norms, chunk_size=chunk_size, max_memory=self.max_memory,
                            **(core_options or {}))

    def partial(self, x: torch.Tensor, t: float) -> Partial:
        with tf32_matmul(self.tf32):
            return posterior.posterior_partial(x, self.rows, t, **self._kwargs)

    def mean(self, x: torch.Tensor, t: float) -> torch.Tensor:
        with tf32_matmul(self.tf32):
            return posterior.posterior_mean(x, self.rows, t, **self._kwargs)

    def score(self, x: torch.Tensor, t: float) -> torch.Tensor:
        with tf32_matmul(self.tf32):
            return posterior.score(x, self.rows, t, **self._kwargs)
