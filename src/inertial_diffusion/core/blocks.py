"""The memory plan of the posterior loop: how many queries and data rows one block holds.

Working memory is ``O(query block x data chunk)``, never ``O(queries x n)``; the block shape is the
largest that fits a byte budget, capped at shapes where the two GEMMs already run at the machine's rate.
The names are re-exported by :mod:`inertial_diffusion.core.posterior`.
"""

from __future__ import annotations

import os

import torch

__all__ = ["CPU_MEMORY_CAP", "FLOAT32_CHUNK_ROWS", "FLOAT64_CHUNK_ROWS", "MAX_QUERY_ROWS", "CUDA_CHUNK_ROWS",
           "CUDA_MAX_QUERY_ROWS", "available_memory", "default_max_memory", "working_bytes", "plan_blocks"]

#: Cap of the default CPU budget: past it no block shape runs faster (blocks are capped below).
CPU_MEMORY_CAP = 256 * 2**20

#: Default data rows per chunk, by computation dtype, and the most query rows per block
#: (measured on 2 cores: these shapes run the two GEMMs at >= 95 % of a square GEMM's rate).
FLOAT32_CHUNK_ROWS = 256
FLOAT64_CHUNK_ROWS = 1024
MAX_QUERY_ROWS = 2048
#: On a GPU larger blocks keep the device busy (one launch per block): 8192-row chunks, 16384 queries.
CUDA_CHUNK_ROWS = 8192
CUDA_MAX_QUERY_ROWS = 16384


def available_memory(device: torch.device | str = "cpu") -> int:
    """Free memory in bytes on ``device``.

    On a GPU, the free memory from ``torch.cuda.mem_get_info``; on the CPU, ``MemAvailable`` of
    ``/proc/meminfo`` (Linux), else the available physical pages from ``os.sysconf``, else 4 GiB.

    Parameters
    ----------
    device : torch.device or str
        The device whose memory is asked for (default ``"cpu"``).

    Returns
    -------
    int
        Bytes free now (a snapshot: other processes change it).
    """
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
    """Default working-memory budget of the posterior loop, in bytes.

    A quarter of the free GPU memory; on the CPU an eighth of the available memory, capped at
    :data:`CPU_MEMORY_CAP` (past it no block shape runs faster, and the rest of the memory stays free for
    the data and the caller).

    Parameters
    ----------
    device : torch.device or str
        The device the blocks run on (default ``"cpu"``).

    Returns
    -------
    int
        The budget, from :func:`available_memory` at the time of the call.

    Examples
    --------
    >>> 0 < default_max_memory("cpu") <= CPU_MEMORY_CAP
    True
    """
    device = torch.device(device)
    free = available_memory(device)
    return free // 4 if device.type == "cuda" else min(CPU_MEMORY_CAP, free // 8)


def working_bytes(query_rows: int, data_rows: int, dim: int, itemsize: int, moment: bool = False) -> int:
    """Working memory, in bytes, of one block beyond the inputs and the returned array.

    ``itemsize * (q c + 3 q D + c D + 2 q)``: the logits (q x c); the chunk's product, the block's
    accumulator and its mean (3 x q x D); a data chunk converted to the computation dtype (c x D); the
    running maximum and sum of each query (2 x q). A moment-matched draw (``moment``) adds the chunk's noise,
    its float32 tiles and the square roots of the weights (about 3 x q x c), the noise product, accumulator and
    draw (3 x q x D) and the noise sum (q).

    Parameters
    ----------
    query_rows : int
        Queries per block ``q``.
    data_rows : int
        Data rows per chunk ``c``.
    dim : int
        Number of features ``D``.
    itemsize : int
        Bytes per element of the computation dtype (4 for float32, 8 for float64).
    moment : bool, default False
        Count the moment-matched draw's extra buffers.

    Returns
    -------
    int
        Bytes.

    Examples
    --------
    >>> working_bytes(2048, 256, 10, 4)  # float32, the default CPU block for D = 10: ~2.3 MiB
    2369536
    """
    per_query = data_rows + 3 * dim + 2 + ((3 * data_rows + 3 * dim + 1) if moment else 0)
    return itemsize * (query_rows * per_query + data_rows * dim)


def plan_blocks(n: int, n_queries: int, dim: int, work: torch.dtype, device: torch.device | str = "cpu",
                chunk_size: int | None = None, max_memory: int | None = None,
                moment: bool = False) -> tuple[int, int]:
    """Block shape of the posterior loop: data rows per chunk and query rows per block.

    Defaults: on the CPU 256-row float32 chunks (the float32 accumulation error of ``exp(l) @ y`` grows
    with the chunk length: measured on 4000 points of a circle, 7e-6 of the data scale at 4000 rows,
    5e-7 at 256) or 1024-row float64 chunks, and at most 2048 queries per block, shapes at which the
    GEMMs already run at the machine's rate; on a GPU 8192-row chunks and 16384 queries. A budget too
    small for those shrinks the query block first, then the chunk (halved until one query row fits);
    one query row and one data row is the floor, even if it exceeds the budget.

    Parameters
    ----------
    n : int
        Number of data rows (the chunk is at most ``n`` rows).
    n_queries : int
        Number of queries (the block is at most ``n_queries`` rows).
    dim : int
        Number of features ``D``.
    work : torch.dtype
        Computation dtype (float32 or float64): sets the item size and the default chunk.
    device : torch.device or str
        Device the blocks run on (default ``"cpu"``).
    chunk_size : int, optional
        Data rows per chunk, instead of the default (still capped at ``n`` and shrunk to fit the budget).
    max_memory : int, optional
        Budget in bytes for :func:`working_bytes` (default :func:`default_max_memory` of ``device``).
    moment : bool, default False
        Plan for the moment-matched draw's extra buffers (:func:`working_bytes`).

    Returns
    -------
    data_rows : int
        Data rows per chunk, ``1 <= data_rows <= max(n, 1)``.
    query_rows : int
        Query rows per block, ``1 <= query_rows <= max(n_queries, 1)``.

    Raises
    ------
    ValueError
        ``max_memory`` is not a positive number of bytes.

    Examples
    --------
    >>> import torch
    >>> plan_blocks(10_000, 5000, 10, torch.float32, max_memory=2**30)  # the CPU defaults
    (256, 2048)
    >>> plan_blocks(10_000, 5000, 10, torch.float64, max_memory=2**20)  # a 1 MiB budget: fewer queries
    (1024, 114)
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
        data_rows = FLOAT64_CHUNK_ROWS if work == torch.float64 else FLOAT32_CHUNK_ROWS
    data_rows = max(1, min(data_rows, n))
    max_queries = CUDA_MAX_QUERY_ROWS if device.type == "cuda" else MAX_QUERY_ROWS
    # shrink the chunk until at least one query row fits, then fill the budget with query rows
    while data_rows > 1 and working_bytes(1, data_rows, dim, itemsize, moment) > budget:
        data_rows //= 2
    per_query = working_bytes(1, data_rows, dim, itemsize, moment) - itemsize * data_rows * dim
    query_rows = (budget - itemsize * data_rows * dim) // per_query
    query_rows = max(1, min(max(n_queries, 1), max_queries, int(query_rows)))
    return data_rows, query_rows
