"""How many torch threads a call uses: a policy that does not collapse when the machine is shared.

Measured on the 2-core dev machine beside two busy processes (``benchmarks/README.md``): the exact posterior with
2 intra-op threads ran at 0.57-0.95x the speed of 1 thread for every size from 4e5 to 1e10 multiply-adds (each
parallel region waits on a descheduled sibling), and the simulated samplers' small calls were up to 60x slower.
On a quiet machine 2 threads run the large GEMMs about 1.9x faster. So:

* ``threads=k`` uses ``k`` threads for the call (``--threads k``);
* ``threads=None`` (the default) uses 1 thread when the call is small (below :data:`SMALL_WORK` multiply-adds
  per posterior evaluation) or when the machine is busy (the 1-minute load average, less this process, leaves
  less than one core free), and torch's own setting otherwise.

The setting is restored when the call returns; nothing global is left changed.
"""

from __future__ import annotations

import contextlib
import os
from typing import Iterator

import torch

__all__ = ["threads_for", "thread_scope", "SMALL_WORK"]

#: Below this many multiply-adds per posterior evaluation, one thread: the parallel region costs more than it saves.
SMALL_WORK = 2e7


def _busy() -> bool:
    """Whether other processes already use (nearly) every core: the load average, less this process."""
    try:
        load = os.getloadavg()[0]
    except (OSError, AttributeError):  # not available on this platform
        return False
    cores = os.cpu_count() or 1
    return load - 1.0 > cores - 1.0


def threads_for(threads: int | None, work: float) -> int | None:
    """The thread count of a call: ``threads`` if given, else 1 for small or contended work, else None (torch's).

    Parameters
    ----------
    threads : int or None
        The user's choice (``threads=`` / ``--threads``).
    work : float
        Multiply-adds of one posterior evaluation of the call (queries x rows x features).

    Returns
    -------
    int or None
        None leaves torch's setting as it is.

    Examples
    --------
    >>> threads_for(3, 1e12), threads_for(None, 1e3)
    (3, 1)
    """
    if threads is not None:
        return int(threads)
    if work < SMALL_WORK or _busy():
        return 1
    return None


@contextlib.contextmanager
def thread_scope(threads: int | None) -> Iterator[None]:
    """Run the block with ``threads`` torch threads (None: as it is), and restore the setting after.

    Parameters
    ----------
    threads : int or None
        From :func:`threads_for`.

    Yields
    ------
    None
    """
    if threads is None or threads == torch.get_num_threads():
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)
