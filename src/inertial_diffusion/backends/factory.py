"""Choose and build the posterior backend once, at ``fit``: local (resident or streamed), pruned, or Dask."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import torch

from inertial_diffusion.backends.base import PosteriorBackend
from inertial_diffusion.backends import device as device_module
from inertial_diffusion.backends.device import DTYPES, available_memory
from inertial_diffusion.core.standardize import Standardizer

__all__ = ["make_backend", "make_rows_backend", "standardized_tensor", "is_dask_array", "resolve_max_memory"]


def is_dask_array(X: Any) -> bool:
    """Whether ``X`` is a ``dask.array.Array``, checked without importing Dask.

    Parameters
    ----------
    X : object
        Any input of ``fit``.

    Returns
    -------
    bool
        True for a Dask array (its rows then stay on the cluster: :mod:`inertial_diffusion.backends.dask`).

    Examples
    --------
    >>> import numpy as np
    >>> is_dask_array(np.zeros((2, 2)))
    False
    """
    return type(X).__module__.startswith("dask.array") and hasattr(X, "chunks")


def resolve_max_memory(max_memory: int | None, device: torch.device) -> int:
    """The working-memory budget of one posterior evaluation, resolved once at ``fit``.

    Reading the free memory (a device sync on a GPU) on every posterior call would repeat it at every step
    of a simulated sampler, so the default is read here once and kept.

    Parameters
    ----------
    max_memory : int or None
        Budget in bytes; ``None`` for the default of
        :func:`~inertial_diffusion.core.posterior.default_max_memory` (a quarter of the free GPU memory; on the
        CPU an eighth of the available memory, at most 256 MiB).
    device : torch.device
        The device whose free memory sets the default.

    Returns
    -------
    int
        The budget in bytes.

    Examples
    --------
    >>> import torch
    >>> resolve_max_memory(2**20, torch.device("cpu"))
    1048576
    >>> 0 < resolve_max_memory(None, torch.device("cpu")) <= 256 * 2**20
    True
    """
    from inertial_diffusion.core.posterior import default_max_memory

    return int(max_memory) if max_memory is not None else int(default_max_memory(device))


def standardized_tensor(X: np.ndarray, standardizer: Standardizer, dtype: torch.dtype,
                        device: torch.device) -> tuple[torch.Tensor, bool]:
    """The one working copy of the standardized rows, filled block by block.

    Filling by blocks avoids a full-size float64 temporary for float32 work. On a GPU the copy moves to the
    device when it takes at most :data:`~inertial_diffusion.backends.device.RESIDENT_FRACTION` of the free
    memory (resident); otherwise it stays in pinned host memory, to be streamed chunk by chunk.

    Parameters
    ----------
    X : ndarray (n, D)
        Training rows in data units (float32, float64 or memory-mapped).
    standardizer : Standardizer
        The map to standardized coordinates, already fitted.
    dtype : torch.dtype
        ``torch.float32`` or ``torch.float64``: the storage dtype of the copy.
    device : torch.device
        Where the queries will run.

    Returns
    -------
    data : Tensor (n, D)
        The standardized rows, in ``dtype``.
    resident : bool
        True when ``data`` is on ``device`` (always on the CPU), False when it is pinned host memory.

    Examples
    --------
    >>> import numpy as np, torch
    >>> from inertial_diffusion.core.standardize import Standardizer
    >>> X = np.array([[1.0, 2.0], [3.0, 2.0], [5.0, 8.0]])
    >>> data, resident = standardized_tensor(X, Standardizer.fit(X), torch.float32, torch.device("cpu"))
    >>> data.dtype, tuple(data.shape), resident
    (torch.float32, (3, 2), True)
    """
    # torch's allocation, not numpy's: numpy advises huge pages for large arrays, and the kernel's compaction
    # on their first touch cost ~1.3 s for 627 MB here (0.3 s with 4 KiB pages; benchmarks/README.md, fit cost)
    tensor = torch.empty(tuple(X.shape), dtype=dtype)
    host = tensor.numpy()
    standardizer.transform_into(X, host)
    if device.type != "cuda":
        return tensor, True
    if host.nbytes <= device_module.RESIDENT_FRACTION * available_memory(device):
        return tensor.to(device), True
    return tensor.pin_memory(), False


def make_backend(X: Any, standardizer: Standardizer, *, dtype: str, device: torch.device, max_memory: int,
                 chunk_size: int | None = None, prune_tol: float | None = None, client: Any = None,
                 random_state: Any = 0) -> PosteriorBackend:
    """Choose and build the posterior backend for data ``X`` (data units) under ``standardizer``.

    A Dask array gets the sharded exact :class:`~inertial_diffusion.backends.dask.DaskBackend` (its rows stay
    on the cluster); local data get the exact :class:`~inertial_diffusion.backends.local.LocalBackend`, or the
    certified :class:`~inertial_diffusion.backends.pruned.PrunedBackend` when ``prune_tol`` is set. The choice
    is made once, here, so that samplers and query methods never branch on it.

    Parameters
    ----------
    X : ndarray (n, D) or dask.array.Array
        Training rows in data units, already validated.
    standardizer : Standardizer
        The fitted map to standardized coordinates (the backend holds standardized rows).
    dtype : {"float64", "float32", "tf32"}
        Computation dtype (:data:`~inertial_diffusion.backends.device.DTYPES`); ``"tf32"`` is float32 storage
        with TensorFloat-32 GEMMs (GPU only).
    device : torch.device
        Resolved device (:func:`~inertial_diffusion.backends.device.resolve_device`).
    max_memory : int
        Working-memory budget in bytes of one evaluation (:func:`resolve_max_memory`).
    chunk_size : int, optional
        Data rows per chunk of the posterior loop (default: planned from ``max_memory``).
    prune_tol : float, optional
        Certified neglected share of the softmax mass for the pruned backend; ``None`` for an exact backend.
    client : distributed.Client, optional
        The Dask client (used for a Dask array only).
    random_state : None, int or Generator, default 0
        Seeds the clustering of the pruned backend.

    Returns
    -------
    PosteriorBackend
        A :class:`~inertial_diffusion.backends.local.LocalBackend`,
        :class:`~inertial_diffusion.backends.pruned.PrunedBackend` or
        :class:`~inertial_diffusion.backends.dask.DaskBackend`.

    Raises
    ------
    ValueError
        For a Dask array: a device other than the CPU, ``prune_tol``, ``dtype="tf32"``, or the shape checks of
        :func:`~inertial_diffusion.backends.dask.check_dask_data`.
    TypeError
        A non-numeric Dask array.

    Warns
    -----
    UserWarning
        ``dtype="tf32"`` with ``prune_tol``: the pruned backend runs plain float32 GEMMs (it has no TF32 switch).

    Examples
    --------
    >>> import numpy as np, torch
    >>> from inertial_diffusion.core.standardize import Standardizer
    >>> X = np.random.default_rng(0).normal(size=(50, 5))
    >>> st = Standardizer.fit(X)
    >>> cpu = torch.device("cpu")
    >>> backend = make_backend(X, st, dtype="float64", device=cpu, max_memory=2**22)
    >>> type(backend).__name__, backend.n_samples, backend.n_features
    ('LocalBackend', 50, 5)
    >>> type(make_backend(X, st, dtype="float32", device=cpu, max_memory=2**22, prune_tol=1e-6)).__name__
    'PrunedBackend'
    """
    if is_dask_array(X):
        from inertial_diffusion.backends.dask import DaskBackend, check_dask_data

        if device.type != "cpu":
            raise ValueError("a Dask array is processed on the cluster's CPUs; use device='cpu'")
        if prune_tol is not None:
            raise ValueError("prune_tol is not available for a Dask array (the shards are reduced exactly)")
        if dtype not in ("float64", "float32"):
            raise ValueError(f"dtype={dtype!r} is not available for a Dask array; use 'float64' or 'float32'")
        check_dask_data(X)
        # a shard must hold whole rows: the partials reduce over rows, never over columns
        return DaskBackend(X.rechunk({1: -1}), standardizer, DTYPES[dtype], client, chunk_size, max_memory)
    data, _ = standardized_tensor(X, standardizer, DTYPES[dtype], device)
    if prune_tol is not None:
        from inertial_diffusion.backends.pruned import PrunedBackend

        if dtype == "tf32":
            warnings.warn("dtype='tf32' does not apply to the pruned backend (prune_tol is set): its GEMMs run in "
                          "plain float32; use dtype='float32' to silence this warning, or prune_tol=None for "
                          "TF32", UserWarning, stacklevel=2)
        return PrunedBackend(data, device, max_memory, chunk_size, tol=prune_tol, random_state=random_state)
    from inertial_diffusion.backends.local import LocalBackend

    return LocalBackend(data, device, max_memory, chunk_size, tf32=dtype == "tf32")


def make_rows_backend(rows: torch.Tensor, *, dtype: str, device: torch.device, max_memory: int,
                      chunk_size: int | None = None) -> PosteriorBackend:
    """The exact backend of a tensor of rows already in standardized coordinates, under a model's dtype policy.

    What ``bandwidth="auto"`` evaluates its candidate models with: the same dtype, device, memory budget and
    chunking as the model being fitted, on a subsample of its rows.

    Parameters
    ----------
    rows : Tensor (n, D)
        Standardized rows (any floating dtype, any device).
    dtype : {"float64", "float32", "tf32"}
        Computation dtype (:data:`~inertial_diffusion.backends.device.DTYPES`).
    device : torch.device
        Where the rows live and the GEMMs run.
    max_memory : int
        Working-memory budget in bytes of one evaluation.
    chunk_size : int, optional
        Data rows per chunk.

    Returns
    -------
    LocalBackend

    Examples
    --------
    >>> import torch
    >>> backend = make_rows_backend(torch.zeros(3, 2, dtype=torch.float64), dtype="float32",
    ...                             device=torch.device("cpu"), max_memory=2**20)
    >>> backend.dtype, backend.n_samples
    (torch.float32, 3)
    """
    from inertial_diffusion.backends.local import LocalBackend

    return LocalBackend(rows.to(device=device, dtype=DTYPES[dtype]), device, max_memory, chunk_size,
                        tf32=dtype == "tf32")
