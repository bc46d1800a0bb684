"""How many torch threads a call uses: a policy that does not collapse when the machine is shared.

Measured on the 2-core dev machine beside two busy processes (``benchmarks/README.md``): the exact posterior with
2 intra-op threads ran at 0.57-0.95x the speed of 1 thread for every size from 4e5 to 1e10 multiply-adds (each
parallel region waits on a descheduled sibling), and the simulated samplers' small calls were up to 60x slower.
On a quiet machine 2 threads run the large GEMMs about 1.9x faster. So:

* ``threads=k`` uses ``k`` threads for the call (``--threads k``);
* ``threads=None`` (the default) uses 1 thread when the call is small (below :data:`SMALL_WORK` multiply-adds
  per posterior evaluation) or when the machine is busy (the 1-minute load average, less this process and less
  the runnable threads of niced processes, or the other processes' runnable threads now, leave less than one
  core free), and torch's own setting otherwise.

Niced work does not count: the scheduler gives a nice-19 thread ~1.5 % of a core beside a nice-0 one, so it
takes little from our threads, but the load average counts it like any other (measured before this rule: beside
one niced job the policy took 1 thread and ran at 414 samples/s where 2 threads gave 749).

The setting is restored when the call returns; nothing global is left changed.
"""

from __future__ import annotations

import contextlib
import os
import time
from typing import Iterator

import torch

__all__ = ["threads_for", "thread_scope", "running_threads", "SMALL_WORK"]

#: Below this many multiply-adds per posterior evaluation, one thread: the parallel region costs more than it saves.
SMALL_WORK = 2e7


#: Seconds a count of runnable threads is reused (a scan of /proc costs a few milliseconds).
_SCAN_TTL = 2.0
_scan_cache: tuple[float, tuple[int, int]] = (-1e9, (0, 0))
#: Above this many processes the scan is skipped (~15 us per thread read here) and the load average alone decides.
_SCAN_MAX_PROCESSES = 2000


def running_threads(pids: list[int] | None = None) -> tuple[int, int]:
    """Runnable threads (state R) of the other processes, from ``/proc``: ``(niced, not niced)`` ((0, 0) elsewhere).

    A thread is niced when its nice value is positive.

    Parameters
    ----------
    pids : list of int, optional
        Only these processes (default: every process but this one; that count is reused for
        :data:`_SCAN_TTL` seconds).

    Returns
    -------
    (int, int)
    """
    global _scan_cache
    now = time.monotonic()
    if pids is None and now - _scan_cache[0] < _SCAN_TTL:
        return _scan_cache[1]
    niced = others = 0
    if pids is None:
        own = str(os.getpid())
        try:
            names = [e.name for e in os.scandir("/proc") if e.name.isdigit() and e.name != own]
        except OSError:  # no procfs (macOS, Windows)
            names = []
    else:
        names = [str(p) for p in pids]
    if len(names) > _SCAN_MAX_PROCESSES:  # a large server: too many to read every call; the load average decides
        if pids is None:
            _scan_cache = (now, (0, 0))
        return 0, 0
    for pid in names:
        try:
            tids = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for tid in tids:
            try:  # bytes: a thread's name need not be UTF-8
                with open(f"/proc/{pid}/task/{tid}/stat", "rb") as fh:
                    fields = fh.read().rsplit(b")", 1)[1].split()  # after the command name, which may hold spaces
                if len(fields) <= 16 or fields[0] != b"R":  # state and nice: fields 3 and 19 of proc(5)
                    continue
                nice = int(fields[16])
            except (OSError, IndexError, ValueError):
                continue
            if nice > 0:
                niced += 1
            else:
                others += 1
    if pids is None:
        _scan_cache = (now, (niced, others))
    return niced, others


def _runnable_now() -> int:
    """Runnable threads on the machine now, this process's included (``/proc/loadavg``; 0 where unavailable)."""
    try:
        with open("/proc/loadavg") as fh:
            return int(fh.read().split()[3].split("/")[0])
    except (OSError, IndexError, ValueError):
        return 0


def _busy() -> bool:
    """Whether other processes already use (nearly) every core.

    The 1-minute load average, less this process and less the niced runnable threads (which yield their cores
    to ours), or the other processes' runnable threads now (the load average takes a minute to see new work),
    whichever is larger. /proc is only scanned when the load average or the instantaneous count of runnable
    threads (which includes ours) suggests contention.
    """
    try:
        load = os.getloadavg()[0]
    except (OSError, AttributeError):  # not available on this platform
        return False
    cores = os.cpu_count() or 1
    if max(load, _runnable_now()) - 1.0 <= cores - 1.0:
        return False
    niced, others = running_threads()
    return max(load - niced - 1.0, float(others)) > cores - 1.0


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
