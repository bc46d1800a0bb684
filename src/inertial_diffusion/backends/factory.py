"""Choose and build the posterior backend once, at ``fit``: local (resident or streamed), pruned, or Dask."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from inertial_diffusion.backends.base import PosteriorBackend
from inertial_diffusion.backends import device as device_module
from inertial_diffusion.backends.device import DTYPES, available_memory
from inertial_diffusion.core.standardize import Standardizer

__all__ = ["make_backend", "standardized_tensor", "is_dask_array", "resolve_max_memory"]


def is_dask_array(X: Any) -> bool:
    """True for a ``dask.array.Array`` (checked without importing Dask when it is absent)."""
    return type(X).__module__.startswith("dask.array") and hasattr(X, "chunks")


def resolve_max_memory(max_memory: int | None, device: torch.device) -> int:
    """The working-memory budget, resolved once: reading the free memory (a device sync on a GPU) on
    every posterior call would repeat it at every step of a simulated sampler."""
    from inertial_diffusion.core.posterior import default_max_memory

    return int(max_memory) if max_memory is not None else int(default_max_memory(device))


def standardized_tensor(X: np.ndarray, standardizer: Standardizer, dtype: torch.dtype,
                        device: torch.device) -> tuple[torch.Tensor, bool]:
    """The one working copy of the standardized rows, filled block by block (no full-size float64
    temporary for float32 work): on ``device`` when it fits (resident), else in pinned host memory
    to be streamed chunk by chunk."""
    host = np.empty(X.shape, dtype=np.float32 if dtype == torch.float32 else np.float64)
    standardizer.transform_into(X, host)
    tensor = torch.from_numpy(host)
    if device.type != "cuda":
        return tensor, True
    if host.nbytes <= device_module.RESIDENT_FRACTION * available_memory(device):
        return tensor.to(device), True
    return tensor.pin_memory(), False


def make_backend(X: Any, standardizer: Standardizer, *, dtype: str, device: torch.device, max_memory: int,
                 chunk_size: int | None = None, prune_tol: float | None = None, client: Any = None,
                 random_state: Any = 0) -> PosteriorBackend:
    """The backend for data ``X`` (raw units) under ``standardizer``.

    A Dask array gets the sharded exact backend (its rows stay on the cluster); local data get the
    exact :class:`~inertial_diffusion.backends.local.LocalBackend`, or the certified
    :class:`~inertial_diffusion.backends.pruned.PrunedBackend` when ``prune_tol`` is set.
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
        return DaskBackend(X.rechunk({1: -1}), standardizer, DTYPES[dtype], client, chunk_size)
    data, _ = standardized_tensor(X, standardizer, DTYPES[dtype], device)
    if prune_tol is not None:
        from inertial_diffusion.backends.pruned import PrunedBackend

        return PrunedBackend(data, device, max_memory, chunk_size, tol=prune_tol, random_state=random_state)
    from inertial_diffusion.backends.local import LocalBackend

    return LocalBackend(data, device, max_memory, chunk_size, tf32=dtype == "tf32")
