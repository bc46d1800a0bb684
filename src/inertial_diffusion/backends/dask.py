"""Exact sharded IDM on Dask: the training set stays on the workers.

The posterior mean is a reduction over training points. Each row-chunk (shard) of a Dask array
computes, on its worker, the :class:`~inertial_diffusion.core.posterior.Partial` ``(max logit, sum of
exp, exp-weighted sum)`` of every query against its rows; partials merge with the same exact,
associative :func:`~inertial_diffusion.core.posterior.combine` that the local chunked loop stands on, in a
tree on the cluster. The driver only ever holds: the D-vector mean and the scale (Dask
reductions), the rows picked by the one-shot draw (a gather of those rows), a row sample for the
intrinsic dimension, and the (m, D) query results.

Needs ``dask[distributed]`` (``pip install inertial-diffusion[dist]``).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch

from inertial_diffusion.backends.base import PosteriorBackend
from inertial_diffusion.backends.device import matmul_precision
from inertial_diffusion.backends.factory import is_dask_array  # noqa: F401  (re-exported)
from inertial_diffusion.core.noise import KeyedNoise
from inertial_diffusion.core.posterior import Partial, combine, empty_partial, posterior_partial
from inertial_diffusion.core.standardize import Standardizer

__all__ = ["is_dask_array", "dask_statistics", "check_dask_data", "DaskRows", "DaskBackend",
           "sharded_partial", "resolve_client"]


def resolve_client(client: Any = None):
    """The Dask client to use for a Dask array.

    Parameters
    ----------
    client : distributed.Client, str or None, optional
        A client (used as is), a scheduler address such as ``"tcp://host:8786"`` (connected to), or ``None``:
        the current default client, or else a new two-worker ``LocalCluster`` (one thread per worker).

    Returns
    -------
    distributed.Client
        The client.

    Raises
    ------
    ImportError
        ``dask[distributed]`` is not installed (``pip install 'inertial-diffusion[dist]'``).
    """
    try:
        from distributed import Client, LocalCluster, default_client
    except ImportError:
        raise ImportError("a Dask array needs dask[distributed]: pip install 'inertial-diffusion[dist]'") from None
    if client is None:
        try:
            return default_client()
        except ValueError:
            return Client(LocalCluster(processes=True, n_workers=2, threads_per_worker=1))
    if isinstance(client, str):
        return Client(client)
    return client


def check_dask_data(X) -> None:
    """The shape and dtype checks of :func:`~inertial_diffusion.core.validation.check_data`, without reading data.

    Only metadata are inspected; finiteness needs a pass over the chunks, and is checked in
    :func:`dask_statistics`, in the same pass as the mean.

    Parameters
    ----------
    X : dask.array.Array
        The training data, expected of shape ``(n, D)`` with ``n >= 2`` and ``D >= 1``.

    Raises
    ------
    ValueError
        ``X`` is not 2-D, has fewer than 2 rows or no columns.
    TypeError
        ``X`` is not numeric.
    """
    if X.ndim != 2:
        raise ValueError(f"X must be a 2-D array of shape (n_samples, n_features), got {X.ndim}-D array "
                         f"of shape {X.shape}")
    if X.shape[0] < 2:
        raise ValueError(f"X has {X.shape[0]} row(s); at least 2 are needed")
    if X.shape[1] == 0:
        raise ValueError(f"X has no features (shape {X.shape})")
    if not np.issubdtype(X.dtype, np.number):
        raise TypeError(f"X must be numeric, got a Dask array of dtype {X.dtype}")


def dask_statistics(X, client, mode: str = "global") -> Standardizer:
    """Finiteness check and the standardization of ``mode``, as cluster reductions.

    Pass 1 computes "all finite" and the column means together (one read of every chunk); pass 2 the
    column variances about those means (two passes, not the cancellation-prone E|x|^2 - |E x|^2); the
    map itself is :meth:`~inertial_diffusion.core.standardize.Standardizer.from_moments`, the same as for
    in-memory data. Only D-vectors come back to the driver.

    Parameters
    ----------
    X : dask.array.Array (n, D)
        Training data in data units.
    client : distributed.Client
        Runs the reductions.
    mode : {"global", "per_feature", "none"}, default "global"
        The standardization (see :mod:`inertial_diffusion.core.standardize`).

    Returns
    -------
    Standardizer
        The fitted map to standardized coordinates.

    Raises
    ------
    ValueError
        ``X`` holds a NaN or an infinite value, or its spread is zero.
    """
    import dask.array as da

    finite, mean = client.compute([da.isfinite(X).all(), X.mean(axis=0, dtype=np.float64)], sync=True)
    if not bool(finite):
        raise ValueError("X contains NaN or infinite values; remove or impute them first")
    mean = np.asarray(mean)
    variances = np.asarray(client.compute(((X - mean) ** 2).mean(axis=0)).result())
    return Standardizer.from_moments(mean, variances, mode)


class DaskRows:
    """The standardized training rows of a Dask array, gathered on demand by index.

    Quacks like the (n, D) tensor that :func:`~inertial_diffusion.core.samplers.sample_one_shot` indexes:
    ``shape``, ``device``, ``dtype`` and ``rows[index]``, so that the one-shot draw makes the same
    random calls, and so gives the same samples, as on a local tensor. ``rows[index]`` computes only the
    distinct rows asked for (one gather), standardizes them in float64 and returns an (len(index), D) tensor.

    Parameters
    ----------
    X : dask.array.Array (n, D)
        Training rows in data units.
    standardizer : Standardizer
        The map applied to the gathered rows.
    dtype : torch.dtype
        Dtype of the returned rows.
    client : distributed.Client
        Gathers the rows.

    Attributes
    ----------
    shape : tuple of int
        ``(n, D)``.
    device : torch.device
        Always the CPU.
    """

    def __init__(self, X, standardizer: Standardizer, dtype: torch.dtype, client) -> None:
        self.X, self.standardizer, self.dtype, self.client = X, standardizer, dtype, client
        self.shape = tuple(X.shape)
        self.device = torch.device("cpu")

    def __getitem__(self, index: torch.Tensor) -> torch.Tensor:
        idx = np.asarray(index.cpu().numpy() if isinstance(index, torch.Tensor) else index)
        unique, inverse = np.unique(idx, return_inverse=True)
        rows = np.asarray(self.client.compute(self.X[unique]).result(), dtype=np.float64)
        return torch.as_tensor(self.standardizer.transform(rows)[inverse], dtype=self.dtype)


def _shard_partial(block: np.ndarray, x: np.ndarray, t: float, mean: np.ndarray, scale: float,
                   dtype: str, chunk_size: int | None, noise: KeyedNoise | None = None,
                   max_memory: int | None = None) -> tuple:
    """On a worker: the partial of queries ``x`` (standardized) against one shard of raw rows, as arrays
    (``noise`` already shifted to the shard's first row; the loop's working memory within ``max_memory``)."""
    data = torch.as_tensor((np.asarray(block, dtype=np.float64) - mean) / scale)
    with matmul_precision("exact"):  # IEEE GEMMs whatever the worker's process switched on (CPU bf16 included)
        part = posterior_partial(torch.as_tensor(x).to(getattr(torch, dtype)), data.to(getattr(torch, dtype)), t,
                                 half_sq_norms=0.5 * (data**2).sum(dim=1), chunk_size=chunk_size, noise=noise,
                                 max_memory=max_memory)
    return tuple(None if f is None else f.numpy() for f in part.to_float64().fields())


def _combine_arrays(a: tuple, b: tuple) -> tuple:
    to_t = lambda p: Partial.from_fields(None if v is None else torch.as_tensor(v) for v in p)  # noqa: E731
    return tuple(None if f is None else f.numpy() for f in combine(to_t(a), to_t(b)).fields())


#: broadcasts tried before a failure is passed on (a worker can leave the cluster in the middle of one)
BROADCAST_ATTEMPTS = 3


def _broadcast(client, queries: np.ndarray):
    """Scatter ``queries`` to every worker; retried when a worker leaves the cluster during the broadcast.

    A worker that dies while the scheduler replicates the data made ``scatter(broadcast=True)`` fail with the
    scheduler's ``KeyError`` for the departed worker (or a closed-comm ``OSError``): measured in 3 of 12 runs of
    a kill just before a step. The copies already sent are harmless; a new scatter reaches the workers alive.
    Keys are not content-hashed: a hashed key reused across steps races its own release.
    """
    for attempt in range(BROADCAST_ATTEMPTS - 1):
        try:
            return client.scatter([queries], broadcast=True, hash=False)[0]
        except (KeyError, OSError):
            time.sleep(0.1 * 2**attempt)  # let the scheduler finish removing the departed worker
    return client.scatter([queries], broadcast=True, hash=False)[0]


def sharded_partial(x: torch.Tensor, X, t: float, standardizer: Standardizer, client,
                    chunk_size: int | None = None, noise: KeyedNoise | None = None,
                    max_memory: int | None = None) -> Partial:
    """Exact posterior :class:`Partial` of standardized queries ``x`` against the Dask array ``X`` (data units).

    One task per row-chunk of ``X`` standardizes its rows and computes their partial next to the data;
    partials are merged pairwise in a tree of :func:`~inertial_diffusion.core.posterior.combine` tasks, which
    is exact because ``combine`` is associative; only the (m, D) reduction comes back, in float64.

    Parameters
    ----------
    x : Tensor (m, D)
        Queries at time ``t``, in standardized coordinates; their dtype is the shards' computation dtype.
    X : dask.array.Array (n, D)
        Training rows in data units, chunked by rows only (every chunk holds whole rows).
    t : float
        Diffusion time, ``t > 0``.
    standardizer : Standardizer
        The map to standardized coordinates, applied on the workers.
    client : distributed.Client
        Runs the tasks; the queries are scattered to every worker once.
    chunk_size : int, optional
        Data rows per chunk of the posterior loop inside a shard.
    noise : KeyedNoise, optional
        Also reduce the moment-matched draw's accumulators; each shard keys its rows by their global index,
        so the draws equal the local backend's to rounding.
    max_memory : int, optional
        Budget in bytes of each shard task's working memory beyond its rows and queries, as for the local
        backend (the estimator passes its resolved ``max_memory``; None: the default of the worker's machine).
        Per task: a worker running several tasks at once uses a multiple of it.

    Returns
    -------
    Partial
        Over all ``n`` rows, float64, on the CPU.
    """
    import dask

    if x.shape[0] == 0:
        return empty_partial(0, x.shape[1], x.double(), noise=noise is not None,
                             choose=noise is not None and noise.choose)
    blocks = X.to_delayed().ravel()
    queries = x.detach().cpu().numpy()
    dtype = str(x.dtype).removeprefix("torch.")
    queries_future = _broadcast(client, queries)
    shard = dask.delayed(_shard_partial, pure=True)
    merge = dask.delayed(_combine_arrays, pure=True)
    starts = np.concatenate([[0], np.cumsum(X.chunks[0])[:-1]]).tolist()
    level = [shard(b, queries_future, t, standardizer.mean, standardizer.scale, dtype, chunk_size,
                   None if noise is None else noise.shifted(int(r0)), max_memory) for b, r0 in zip(blocks, starts)]
    while len(level) > 1:
        level = [merge(level[i], level[i + 1]) if i + 1 < len(level) else level[i] for i in range(0, len(level), 2)]
    return Partial.from_fields(None if f is None else torch.as_tensor(f) for f in client.compute(level[0]).result())


class DaskBackend(PosteriorBackend):
    """Exact sharded posterior: the training rows stay on the cluster's workers.

    Every query is one :func:`sharded_partial`; mean, score and log-density come from it through the
    :class:`~inertial_diffusion.backends.base.PosteriorBackend` defaults, and ``rows`` gathers only the rows
    a one-shot draw picks (:class:`DaskRows`). Results equal the local backend's to rounding
    (``tests/backends/test_dask.py``).

    Parameters
    ----------
    X : dask.array.Array (n, D)
        Training rows in data units, chunked by rows only
        (:func:`~inertial_diffusion.backends.factory.make_backend` rechunks the columns into one).
    standardizer : Standardizer
        The fitted map to standardized coordinates (:func:`dask_statistics`).
    dtype : torch.dtype
        ``torch.float64`` or ``torch.float32``: dtype of the queries and of the shards' computation.
    client : distributed.Client
        Runs the shard tasks (:func:`resolve_client`).
    chunk_size : int, optional
        Data rows per chunk of the posterior loop inside a shard.
    max_memory : int, optional
        Working-memory budget of each shard task, in bytes.

    Attributes
    ----------
    rows : DaskRows
        The training rows, gathered on demand.
    """

    def __init__(self, X, standardizer: Standardizer, dtype: torch.dtype, client, chunk_size: int | None = None,
                 max_memory: int | None = None):
        self.X, self.standardizer, self.client, self.chunk_size = X, standardizer, client, chunk_size
        self.max_memory = max_memory
        self.n_samples, self.n_features = (int(s) for s in X.shape)
        self.dtype = dtype
        self.device = torch.device("cpu")
        self.resident = True
        self.rows = DaskRows(X, standardizer, dtype, client)

    def partial(self, x: torch.Tensor, t: float, noise: KeyedNoise | None = None) -> Partial:
        """Exact reduction of the posterior of ``x`` over all shards (:func:`sharded_partial`).

        Parameters
        ----------
        x : Tensor (m, D)
            Queries at time ``t``, in standardized coordinates, on the CPU.
        t : float
            Diffusion time, ``t > 0``.
        noise : KeyedNoise, optional
            Also reduce the moment-matched draw's accumulators (keyed by global row index).

        Returns
        -------
        Partial
            Over all ``n`` rows, float64.
        """
        return sharded_partial(x, self.X, t, self.standardizer, self.client, self.chunk_size, noise,
                               self.max_memory)
