"""The cheap isolation certificate: never wrong, and decisive where points have neighbours."""

import math
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from inertial_diffusion import InertialDiffusion
from inertial_diffusion.core.isolation import certainly_not_isolated, isolation_threshold
from inertial_diffusion.core.process import alpha, variance


def _dense_other_mass(Y: torch.Tensor, h: float) -> torch.Tensor:
    """S_i = sum_{j != i} exp(-alpha^2 |y_i - y_j|^2 / (2 v)), from direct differences."""
    a, v = alpha(h), variance(h)
    d2 = torch.cdist(Y, Y, compute_mode="donot_use_mm_for_euclid_dist") ** 2
    terms = torch.exp(-a * a * d2 / (2 * v))
    return terms.sum(dim=1) - terms.diagonal()


@given(n=st.integers(2, 60), dim=st.integers(1, 5), log10_h=st.floats(-3, 0), spread=st.floats(0.05, 5.0),
       seed=st.integers(0, 2**16), dup=st.booleans())
def test_certificate_never_settles_an_isolated_point(n, dim, log10_h, spread, seed, dup):
    """Whatever the reference subset, a settled probe has S_i above the threshold on all the data."""
    rng = np.random.default_rng(seed)
    Y = torch.as_tensor(rng.normal(size=(n, dim)) * rng.uniform(0.01, spread, size=(n, 1)))
    if dup:
        Y[-1] = Y[0]  # an exact duplicate at another index is a neighbour at distance 0
    h = 10.0**log10_h
    index = torch.arange(n)
    ref = torch.as_tensor(np.sort(rng.choice(n, size=max(1, n // 2), replace=False)))
    settled = certainly_not_isolated(Y, index, Y[ref], ref, h, 0.99)
    S = _dense_other_mass(Y, h)
    assert bool((S[settled] > isolation_threshold(0.99)).all())
    if dup and 0 in ref.tolist() and n - 1 != 0:
        assert bool(settled[-1])  # the duplicate of a reference row is never isolated


def test_with_every_row_as_reference_the_certificate_is_the_dense_decision():
    rng = np.random.default_rng(0)
    Y = torch.as_tensor(np.r_[rng.normal(size=(300, 3)) * 0.3, rng.normal(size=(10, 3)) * 30])
    h = 0.02
    index = torch.arange(Y.shape[0])
    settled = certainly_not_isolated(Y, index, Y, index, h, 0.99)
    S = _dense_other_mass(Y, h)
    clear = (S - isolation_threshold(0.99)).abs() > 1e-6  # away from the threshold's rounding
    assert torch.equal(settled[clear], (S > isolation_threshold(0.99))[clear])
    assert int((~settled).sum()) >= 5  # the far points stay undecided (they are isolated)


def test_threshold_is_the_own_weight_bound():
    w = 0.99
    S = isolation_threshold(w)
    assert 1 / (1 + S) == pytest.approx(w, rel=1e-15)
    with pytest.raises(ValueError, match="self_weight"):
        isolation_threshold(1.0)


def test_fit_count_is_the_same_with_and_without_the_certificate(monkeypatch):
    """The certificate only skips work: the isolated-point estimate equals the full log-sum-exp's on every probe."""
    import inertial_diffusion.core.isolation as module
    from inertial_diffusion.datasets import Sphere

    rng = np.random.default_rng(1)
    far = rng.normal(size=(150, 3))
    far = 8.0 * far / np.linalg.norm(far, axis=1, keepdims=True) * (1 + np.arange(150)[:, None])
    X = np.r_[Sphere(2, 3, random_state=0).sample(3000, random_state=1), far]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fast = InertialDiffusion(intrinsic_dim=2, components="none", random_state=0).fit(X).n_isolated_
        calls = []

        def undecided(probes, *args, **kwargs):
            calls.append(probes.shape[0])
            return torch.zeros(probes.shape[0], dtype=torch.bool)

        monkeypatch.setattr(module, "certainly_not_isolated", undecided)
        full = InertialDiffusion(intrinsic_dim=2, components="none", random_state=0).fit(X).n_isolated_
    assert calls == [512] and fast == full > 0
    p = 150 / 3150
    assert abs(full - 150) <= 4 * 3150 * math.sqrt(p * (1 - p) / 512)
