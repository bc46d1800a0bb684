"""Device selection and the GPU paths. The CUDA tests skip cleanly on a machine without a GPU."""

import numpy as np
import pytest
import torch

from inertial_diffusion import InertialDiffusion
from inertial_diffusion.backends import device as device_module
from inertial_diffusion.evaluation.datasets import Sphere
from inertial_diffusion.backends.device import matmul_precision, resolve_device

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


def _switches() -> tuple[str, str]:
    return torch.backends.cuda.matmul.fp32_precision, torch.backends.mkldnn.matmul.fp32_precision


@pytest.fixture
def user_switches():
    """A user's process that turned TF32 on for CUDA and bf16 float32 GEMMs on for the CPU (restored after)."""
    before = _switches()
    torch.backends.cuda.matmul.fp32_precision = "tf32"
    torch.backends.mkldnn.matmul.fp32_precision = "bf16"
    yield _switches()
    torch.backends.cuda.matmul.fp32_precision, torch.backends.mkldnn.matmul.fp32_precision = before


def test_matmul_precision_sets_the_policy_inside_and_restores_the_users_switches(user_switches):
    with matmul_precision("exact"):  # the float32 contract assumes IEEE GEMMs, whatever the user turned on
        assert _switches() == ("ieee", "ieee")
    assert _switches() == user_switches
    with matmul_precision("tf32"):
        assert _switches() == ("tf32", "ieee")
    with pytest.raises(RuntimeError):
        with matmul_precision("exact"):
            raise RuntimeError("boom")
    assert _switches() == user_switches
    with pytest.raises(ValueError, match="precision must be one of"):
        with matmul_precision("fast"):
            pass


def test_the_core_reads_no_global_matmul_switch():
    """The precision policy is passed down (``precision=``); no core module reads torch's process-global flags."""
    import pathlib

    import inertial_diffusion.core as core

    for path in pathlib.Path(core.__file__).parent.glob("*.py"):
        text = path.read_text()
        for flag in ("allow_tf32", "fp32_precision", "float32_matmul_precision"):
            assert flag not in text, f"{path.name} reads {flag}"


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


def test_the_policy_is_passed_down_and_applied_inside_every_query_method(monkeypatch, user_switches):
    """Every query method of the backend hands its policy to the core (``precision=``) and runs with torch's
    switches set to it, also when the user's process turned TF32 and bf16 GEMMs on; the user's switches come
    back after each call. Checkable on a CPU: the switches are plain flags."""
    from inertial_diffusion.backends.local import LocalBackend
    from inertial_diffusion.core import posterior

    seen = []
    for name in ("posterior_partial", "posterior_mean", "score"):
        original = getattr(posterior, name)

        def spy(*args, _original=original, **kwargs):
            seen.append((kwargs["precision"], _switches()))
            return _original(*args, **kwargs)
        monkeypatch.setattr(posterior, name, spy)
    data = torch.as_tensor(X[:200], dtype=torch.float32)
    for tf32 in (True, False):
        seen.clear()
        backend = LocalBackend(data, torch.device("cpu"), max_memory=2**24, tf32=tf32)
        q = data[:5] + 0.05
        backend.mean(q, 0.1), backend.score(q, 0.1), backend.partial(q, 0.1), backend.log_density(q, 0.1)
        policy = "tf32" if tf32 else "exact"
        assert seen == [(policy, ("tf32" if tf32 else "ieee", "ieee"))] * 4
        assert _switches() == user_switches


def test_the_pruned_backend_runs_its_bound_under_the_exact_policy(monkeypatch, user_switches):
    from inertial_diffusion.backends.pruned import PrunedBackend
    from inertial_diffusion.core import pruning

    seen = []
    original = pruning.gemm_unit_roundoff

    def spy(work, device, precision="exact"):
        seen.append((precision, _switches()))
        return original(work, device, precision)
    monkeypatch.setattr(pruning, "gemm_unit_roundoff", spy)
    data = torch.as_tensor(X[:300], dtype=torch.float32)
    backend = PrunedBackend(data, torch.device("cpu"), max_memory=2**24, tol=1e-6, random_state=0, n_clusters=3)
    backend.mean(data[:4] + 0.01, 0.05)
    assert seen and all(s == ("exact", ("ieee", "ieee")) for s in seen)
    assert _switches() == user_switches


@cuda
def test_tf32_runs_on_request_only():
    before = _switches()
    model = InertialDiffusion(bandwidth=0.3, random_state=0, device="cuda", dtype="tf32").fit(X)
    ref = InertialDiffusion(bandwidth=0.3, random_state=0).fit(X)
    q = X[:200] + 0.05
    assert np.abs(model.posterior_mean(q, 0.09) - ref.posterior_mean(q, 0.09)).max() <= 1e-2 * ref.scale_
    assert _switches() == before


def test_matmul_precision_is_safe_across_threads(user_switches):
    """Blocks under one policy share the switches; a block under the other policy waits until they are done,
    so no GEMM runs under a policy it did not ask for, and the user's switches come back at the end."""
    import threading

    inside_a, release_a, seen = threading.Event(), threading.Event(), {}

    def exact_block():
        with matmul_precision("exact"):
            inside_a.set()
            release_a.wait(5)
            seen["a"] = _switches()

    def tf32_block():
        inside_a.wait(5)
        with matmul_precision("tf32"):
            seen["b"] = _switches()
            seen["b_after_a"] = "a" in seen

    a, b = threading.Thread(target=exact_block), threading.Thread(target=tf32_block)
    a.start(), b.start()
    inside_a.wait(5)
    b.join(0.3)
    assert b.is_alive()  # waits for the exact block
    release_a.set()
    a.join(5), b.join(5)
    assert seen == {"a": ("ieee", "ieee"), "b": ("tf32", "ieee"), "b_after_a": True}
    assert _switches() == user_switches
    with matmul_precision("exact"):
        with matmul_precision("exact"):  # the same policy nests
            assert _switches() == ("ieee", "ieee")
        with pytest.raises(RuntimeError, match="nested"):
            with matmul_precision("tf32"):
                pass
        assert _switches() == ("ieee", "ieee")
    assert _switches() == user_switches
