"""The thread policy: an explicit count is used, small or contended calls take one thread, the setting is restored."""

import os
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

from inertial_diffusion import InertialDiffusion
from inertial_diffusion.backends import threads as policy


def test_threads_for_rules(monkeypatch):
    monkeypatch.setattr(policy, "_busy", lambda: False)
    assert policy.threads_for(3, 1.0) == 3
    assert policy.threads_for(None, policy.SMALL_WORK / 2) == 1
    assert policy.threads_for(None, policy.SMALL_WORK * 10) is None  # torch's own setting
    monkeypatch.setattr(policy, "_busy", lambda: True)
    assert policy.threads_for(None, policy.SMALL_WORK * 10) == 1  # a busy machine: one thread


def test_estimator_calls_run_in_their_thread_scope_and_restore_it(monkeypatch):
    seen = []
    real = torch.set_num_threads
    monkeypatch.setattr(torch, "set_num_threads", lambda k: (seen.append(k), real(k)))
    before = torch.get_num_threads()
    X = np.random.default_rng(0).normal(size=(200, 3))
    target = 2 if before != 2 else 3
    model = InertialDiffusion(bandwidth=0.3, threads=target, random_state=0).fit(X)
    model.sample(10)
    model.posterior_mean(X[:3], 0.1)
    assert seen and seen[0] == target and seen[-1] == before and torch.get_num_threads() == before
    assert np.array_equal(model.sample(10, random_state=1),
                          InertialDiffusion(bandwidth=0.3, random_state=0).fit(X).sample(10, random_state=1))


def test_niced_load_does_not_count_as_busy_and_new_load_does(monkeypatch):
    """The load average counts niced processes, which yield their cores to ours: they must not make the machine
    look busy (measured: one thread beside a niced job ran at 414 samples/s where two ran at 749). Work started
    a moment ago counts before the 1-minute average sees it."""
    monkeypatch.setattr(policy.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(policy.os, "getloadavg", lambda: (3.0, 3.0, 3.0))  # us + two other runnable threads
    monkeypatch.setattr(policy, "running_threads", lambda: (2, 0))  # both niced
    assert not policy._busy()
    monkeypatch.setattr(policy, "running_threads", lambda: (0, 2))
    assert policy._busy()
    monkeypatch.setattr(policy.os, "getloadavg", lambda: (1.0, 1.0, 1.0))  # quiet for the last minute ...
    monkeypatch.setattr(policy, "_runnable_now", lambda: 3)
    assert policy._busy()  # ... but two other threads run now


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="needs Linux /proc")
@pytest.mark.parametrize("nice", [19, 0])
def test_running_threads_sees_a_busy_process_and_its_niceness(nice):
    spin = subprocess.Popen(["nice", "-n", str(nice), sys.executable, "-c", "while True: pass"])
    try:
        expected = (1, 0) if nice else (0, 1)
        seen = None
        for _ in range(50):  # runnable (R) nearly all the time once started, also while it waits for a core
            time.sleep(0.05)
            seen = policy.running_threads([spin.pid])
            if seen == expected:
                break
        assert seen == expected
    finally:
        spin.kill()
        spin.wait()


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="needs Linux /proc")
def test_running_threads_reads_names_that_are_not_utf8():
    """A thread's name is raw bytes (prctl PR_SET_NAME): the scan must not fail on it."""
    code = ("import ctypes; ctypes.CDLL(None).prctl(15, b'bad\\xff\\xfe)name', 0, 0, 0)\n"
            "while True: pass")
    spin = subprocess.Popen([sys.executable, "-c", code])
    try:
        seen = None
        for _ in range(50):
            time.sleep(0.05)
            seen = policy.running_threads([spin.pid])
            if seen == (0, 1):
                break
        assert seen == (0, 1)
        with open(f"/proc/{spin.pid}/stat", "rb") as fh:
            assert b"\xff" in fh.read()  # the name really is not UTF-8
    finally:
        spin.kill()
        spin.wait()
