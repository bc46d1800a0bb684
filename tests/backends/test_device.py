"""Device selection and the GPU paths. The CUDA tests skip cleanly on a machine without a GPU."""

import numpy as np
import pytest
import torch

from inertial_diffusion import InertialDiffusion
from inertial_diffusion.backends import device as device_module
from inertial_diffusion.evaluation.datasets import Sphere
from inertial_diffusion.backends.device import resolve_device, tf32_matmul

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
X = Sphere(2, 16, random_state=0).sample(3000, random_state=1)


def test_auto_picks_cuda_only_when_available(monkeypatch):
    for available, expected in ((True, "cuda"), (False, "cpu")):
        monkeypatch.setattr(torch.cuda, "is_available", lambda: available)
        assert resolve_device("auto").type == expected
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match="no CUDA device"):
        resolve_device("cuda")
    assert resolve_device("cpu").type == "cpu"
    for bad in ("gpu", "cuda0", 3):
        with pytest.raises((ValueError, TypeError), match="device"):
            resolve_device(bad)


def test_cuda_index_is_checked_against_the_gpus_there(monkeypatch):
    """'cuda:N' names an existing GPU: a malformed index or one past device_count() is a ValueError naming the
    problem (a malformed string used to reach torch.device, whose RuntimeError named nothing; a missing GPU
    used to pass and fail later, at the first transfer). Checkable on a CPU: the CUDA queries are patched."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert resolve_device("cuda:1") == torch.device("cuda", 1)
    assert resolve_device("cuda") == torch.device("cuda")
    for bad in ("cuda:x", "cuda:", "cuda:-1", "cuda:1.0", "cuda:0,1"):
        with pytest.raises(ValueError, match="malformed device .*non-negative integer"):
            resolve_device(bad)
    for missing in ("cuda:2", "cuda:7"):
        with pytest.raises(ValueError, match=r"2 CUDA device\(s\)"):
            resolve_device(missing)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match="malformed device"):  # the string is wrong whatever the machine
        resolve_device("cuda:x")
    with pytest.raises(ValueError, match="no CUDA device"):
        resolve_device("cuda:0")


def test_cpu_data_are_resident_and_tf32_is_a_gpu_mode():
    model = InertialDiffusion(bandwidth=0.3, device="cpu").fit(X)
    assert model.data_resident_ and model.backend_.rows.device.type == "cpu"
    with pytest.raises(ValueError, match="GPU mode"):
        InertialDiffusion(dtype="tf32", device="cpu").fit(X)


def test_tf32_with_pruning_warns_that_float32_is_used():
    """make_backend used to drop dtype='tf32' silently when prune_tol is set (PrunedBackend has no TF32 switch):
    now it says so. Other dtypes, and tf32 without pruning, stay silent. make_backend itself does not check the
    device (the estimators do), so this runs on a CPU."""
    import warnings

    from inertial_diffusion.backends.factory import make_backend
    from inertial_diffusion.backends.local import LocalBackend
    from inertial_diffusion.backends.pruned import PrunedBackend
    from inertial_diffusion.core.standardize import Standardizer

    rows = X[:300]
    st, cpu = Standardizer.fit(rows), torch.device("cpu")
    with pytest.warns(UserWarning, match="tf32.*does not apply to the pruned backend.*float32"):
        backend = make_backend(rows, st, dtype="tf32", device=cpu, max_memory=2**22, prune_tol=1e-6)
    assert isinstance(backend, PrunedBackend) and backend.dtype == torch.float32
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert isinstance(make_backend(rows, st, dtype="float32", device=cpu, max_memory=2**22, prune_tol=1e-6),
                          PrunedBackend)
        local = make_backend(rows, st, dtype="tf32", device=cpu, max_memory=2**22)
        assert isinstance(local, LocalBackend) and local.tf32


def test_tf32_switch_is_scoped():
    before = torch.backends.cuda.matmul.allow_tf32
    with tf32_matmul(True):
        assert torch.backends.cuda.matmul.allow_tf32
    assert torch.backends.cuda.matmul.allow_tf32 == before
    with pytest.raises(RuntimeError):
        with tf32_matmul(True):
            raise RuntimeError("boom")
    assert torch.backends.cuda.matmul.allow_tf32 == before


@cuda
def test_gpu_float32_matches_cpu_float64():
    ref = InertialDiffusion(bandwidth=0.3, random_state=0).fit(X)
    gpu = InertialDiffusion(bandwidth=0.3, random_state=0, device="cuda", dtype="float32").fit(X)
    q = X[:500] + 0.05
    err = np.abs(gpu.posterior_mean(q, 0.09) - ref.posterior_mean(q, 0.09)).max()
    assert err <= 1e-6 * ref.scale_
    assert gpu.sample(100).shape == (100, 16) and gpu.data_resident_


@cuda
def test_gpu_streamed_data_equal_resident(monkeypatch):
    resident = InertialDiffusion(bandwidth=0.3, random_state=0, device="cuda").fit(X)
    monkeypatch.setattr(device_module, "RESIDENT_FRACTION", 0.0)
    streamed = InertialDiffusion(bandwidth=0.3, random_state=0, device="cuda").fit(X)
    assert not streamed.data_resident_ and streamed.backend_.rows.is_pinned()
    np.testing.assert_allclose(streamed.sample(200), resident.sample(200), atol=1e-12)


def test_tf32_is_on_inside_every_query_method_of_the_backend_and_off_outside(monkeypatch):
    """The TF32 switch is scoped to the backend's calls, and applies to mean, score, partial and log-density
    alike (it used to apply to the posterior mean only). The flag is a plain switch: checkable on a CPU."""
    from inertial_diffusion.backends.local import LocalBackend
    from inertial_diffusion.core import posterior

    seen = []
    for name in ("posterior_partial", "posterior_mean", "score"):
        original = getattr(posterior, name)

        def spy(*args, _original=original, **kwargs):
            seen.append(torch.backends.cuda.matmul.allow_tf32)
            return _original(*args, **kwargs)
        monkeypatch.setattr(posterior, name, spy)
    data = torch.as_tensor(X[:200], dtype=torch.float32)
    before = torch.backends.cuda.matmul.allow_tf32
    for tf32 in (True, False):
        seen.clear()
        backend = LocalBackend(data, torch.device("cpu"), max_memory=2**24, tf32=tf32)
        q = data[:5] + 0.05
        backend.mean(q, 0.1), backend.score(q, 0.1), backend.partial(q, 0.1), backend.log_density(q, 0.1)
        assert seen == [tf32] * 4
        assert torch.backends.cuda.matmul.allow_tf32 == before


@cuda
def test_tf32_runs_on_request_only():
    before = torch.backends.cuda.matmul.allow_tf32
    model = InertialDiffusion(bandwidth=0.3, random_state=0, device="cuda", dtype="tf32").fit(X)
    ref = InertialDiffusion(bandwidth=0.3, random_state=0).fit(X)
    q = X[:200] + 0.05
    assert np.abs(model.posterior_mean(q, 0.09) - ref.posterior_mean(q, 0.09)).max() <= 1e-2 * ref.scale_
    assert torch.backends.cuda.matmul.allow_tf32 == before
