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
from inertial_diffusion.backends.device import matmul_precision
from inertial_diffusion.core import posterior
from inertial_diffusion.core.noise import KeyedNoise
from inertial_diffusion.core.posterior import Partial
from inertial_diffusion.core.streamed import BLOCK_ROWS, block_rows_for

__all__ = ["LocalBackend", "half_sq_norms"]


def half_sq_norms(data: torch.Tensor, device: torch.device, block_rows: int | None = None) -> torch.Tensor:
    """Half squared norms ``|y_i|^2 / 2`` of the rows, in float64, computed by blocks of rows.

    Every logit GEMM of the posterior adds them as a row bias (:mod:`inertial_diffusion.core.posterior`), so
    they are computed once per fit; the blocks avoid a full-size float64 copy of float32 data.

    Parameters
    ----------
    data : Tensor (n, D)
        Rows, on any device and in any floating dtype (pinned host memory included).
    device : torch.device
        Where the result lives (and each block is converted).
    block_rows : int, optional
        Rows converted to float64 at a time (default: a cache-sized block on the CPU,
        :func:`~inertial_diffusion.core.standardize.block_rows_for`; 8192 rows on a GPU).

    Returns
    -------
    Tensor (n,)
        ``0.5 * (data**2).sum(dim=1)`` in float64 on ``device``.

    Examples
    --------
    >>> import torch
    >>> data = torch.tensor([[3.0, 4.0], [1.0, 0.0]])
    >>> half_sq_norms(data, torch.device("cpu")).tolist()
    [12.5, 0.5]
    """
    out = torch.empty(data.shape[0], dtype=torch.float64, device=device)
    if block_rows is None:  # cache-sized blocks on the CPU; a GPU wants few large launches
        cpu = data.device.type == "cpu" and device.type == "cpu"
        block_rows = block_rows_for(data.shape[1]) if cpu and data.dim() == 2 else BLOCK_ROWS
    buffer = torch.empty((min(block_rows, data.shape[0]), data.shape[1]), dtype=torch.float64, device=device)
    for r0 in range(0, data.shape[0], block_rows):
        chunk = data[r0:r0 + block_rows]
        block = buffer[:chunk.shape[0]]
        block.copy_(chunk)  # one reused float64 block: no temporaries per block
        torch.sum(block.square_(), dim=1, out=out[r0:r0 + chunk.shape[0]])
    return out.mul_(0.5)


class LocalBackend(PosteriorBackend):
    """Exact posterior over a tensor of standardized rows held in this process.

    The data are resident on ``device`` or, on a GPU when they do not fit, kept in pinned host memory and
    streamed to the GPU chunk by chunk. Every query method runs the streaming log-sum-exp of
    :mod:`inertial_diffusion.core.posterior` under one memory budget and one dtype policy.

    Parameters
    ----------
    data : Tensor (n, D)
        Standardized training rows, on ``device`` (resident) or in pinned host memory (streamed).
    device : torch.device
        Where queries live and the GEMMs run.
    max_memory : int
        Working-memory budget in bytes of one evaluation (see :func:`~inertial_diffusion.core.posterior.plan_blocks`).
    chunk_size : int, optional
        Data rows per streamed chunk (default: chosen by :func:`~inertial_diffusion.core.posterior.plan_blocks`).
    tf32 : bool, default False
        Let float32 GEMMs use TensorFloat-32 (GPU only), for every query method: the precision policy
        ``"tf32"`` instead of ``"exact"``, passed down to the core and applied to torch's switches around each
        call (:func:`~inertial_diffusion.backends.device.matmul_precision`).
    core_options : dict, optional
        Extra keywords of the core posterior functions (a ``precision`` policy overrides ``tf32``).

    Attributes
    ----------
    rows : Tensor (n, D)
        ``data``, which the one-shot sampler indexes.
    resident : bool
        Whether the data live on ``device`` (always on the CPU) rather than being streamed from the host.
    half_sq_norms : Tensor (n,)
        ``|y_i|^2 / 2`` in float64 on ``device`` (see :func:`half_sq_norms`).

    See Also
    --------
    inertial_diffusion.backends.base.PosteriorBackend : The contract and its formulas.
    inertial_diffusion.backends.factory.make_backend : Builds this backend at ``fit``.

    Examples
    --------
    >>> import torch
    >>> data = torch.tensor([[-1.0, 0.0], [1.0, 0.0]], dtype=torch.float64)
    >>> backend = LocalBackend(data, torch.device("cpu"), max_memory=2**20)
    >>> backend.n_samples, backend.n_features, backend.resident
    (2, 2, True)
    >>> backend.mean(torch.zeros(1, 2, dtype=torch.float64), 1.0).tolist()  # equidistant: the average
    [[0.0, 0.0]]
    """

    #: The precision policy ("exact" or "tf32"); a class default for backends pickled before it existed.
    precision: str = "exact"

    def __init__(self, data: torch.Tensor, device: torch.device, max_memory: int, chunk_size: int | None = None,
                 tf32: bool = False, core_options: dict[str, Any] | None = None) -> None:
        self.rows = data
        self.n_samples, self.n_features = (int(s) for s in data.shape)
        self.dtype = data.dtype
        self.device = torch.device(device)
        self.resident = data.device == self.device or self.device.type == "cpu"
        self.max_memory = int(max_memory)
        self.chunk_size = chunk_size
        options = dict(core_options or {})
        # the precision policy passed down to the core (which never reads torch's global matmul switches)
        self.precision = options.pop("precision", "tf32" if tf32 else "exact")
        self.tf32 = self.precision == "tf32"
        # |y|^2 / 2 in float64 once: every logit GEMM adds it as a row bias
        self.half_sq_norms = half_sq_norms(data, self.device)
        self._kwargs = dict(half_sq_norms=self.half_sq_norms, chunk_size=chunk_size, max_memory=self.max_memory,
                            precision=self.precision, **options)

    def partial(self, x: torch.Tensor, t: float, noise: KeyedNoise | None = None) -> Partial:
        """Exact log-sum-exp reduction of the posterior of ``x`` over all rows.

        :func:`~inertial_diffusion.core.posterior.posterior_partial` under this backend's budget and dtype policy.

        Parameters
        ----------
        x : Tensor (m, D)
            Queries at time ``t``, in standardized coordinates, on :attr:`device`.
        t : float
            Diffusion time, ``t > 0``.
        noise : KeyedNoise, optional
            Also reduce the moment-matched draw's accumulators.

        Returns
        -------
        Partial
            Over all ``n`` rows, in the computation dtype.
        """
        with matmul_precision(self.precision):
            return posterior.posterior_partial(x, self.rows, t, noise=noise, **self._kwargs)

    def log_normalizer(self, x: torch.Tensor, t: float) -> torch.Tensor:
        """The log-sum-exp of the logits alone (no weighted sum: one GEMM per chunk instead of two).

        Parameters
        ----------
        x : Tensor (m, D)
            Queries at time ``t``, in standardized coordinates, on :attr:`device`.
        t : float
            Diffusion time, ``t > 0``.

        Returns
        -------
        Tensor (m,), float64
        """
        with matmul_precision(self.precision):
            return posterior.posterior_partial(x, self.rows, t, weighted=False, **self._kwargs).log_normalizer()

    def moment(self, x: torch.Tensor, t: float, noise: KeyedNoise) -> posterior.Moment:
        """Exact posterior mean and moment-matched draw (:func:`~inertial_diffusion.core.posterior.posterior_moment`).

        Under the same dtype policy as :meth:`mean` (certified float32 rows, the others redone in float64 with
        the same noise).

        Parameters
        ----------
        x : Tensor (m, D)
            Queries at time ``t``, in standardized coordinates, on :attr:`device`.
        t : float
            Diffusion time, ``t > 0``.
        noise : KeyedNoise
            The keyed noise of the draw.

        Returns
        -------
        Moment
            ``mean`` and ``draw`` in ``x.dtype``, and the chosen rows with ``noise.choose``.
        """
        with matmul_precision(self.precision):
            return posterior.posterior_moment(x, self.rows, t, noise, **self._kwargs)

    def mean(self, x: torch.Tensor, t: float) -> torch.Tensor:
        """Exact posterior mean :math:`m_t(x)` (:func:`~inertial_diffusion.core.posterior.posterior_mean`).

        Parameters
        ----------
        x : Tensor (m, D)
            Queries at time ``t``, in standardized coordinates, on :attr:`device`.
        t : float
            Diffusion time, ``t > 0``.

        Returns
        -------
        Tensor (m, D)
            :math:`m_t(x)`, in ``x.dtype``.
        """
        with matmul_precision(self.precision):
            return posterior.posterior_mean(x, self.rows, t, **self._kwargs)

    def score(self, x: torch.Tensor, t: float) -> torch.Tensor:
        """Exact score :math:`(\\alpha_t m_t(x) - x)/v_t` (:func:`~inertial_diffusion.core.posterior.score`).

        Parameters
        ----------
        x : Tensor (m, D)
            Queries at time ``t``, in standardized coordinates, on :attr:`device`.
        t : float
            Diffusion time, ``t > 0``.

        Returns
        -------
        Tensor (m, D)
            The score at ``x``, assembled in float64 per block, in ``x.dtype``.
        """
        with matmul_precision(self.precision):
            return posterior.score(x, self.rows, t, **self._kwargs)
