"""The thread policy: an explicit count is used, small or contended calls take one thread, the setting is restored."""

import numpy as np
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
