"""Where the data and the computation live: device choice, dtype, GPU residency, the matmul switches, generators.

On a GPU the standardized training data stay resident when they take at most
:data:`RESIDENT_FRACTION` of the free memory; larger data stay in pinned host memory and the
posterior loop copies each chunk to the GPU as it reaches it (:mod:`inertial_diffusion.core.posterior`).
"""

from __future__ import annotations

import contextlib
import threading

import torch

from inertial_diffusion import choices
from inertial_diffusion.core.generators import torch_generator  # noqa: F401  (re-exported)
from inertial_diffusion.core.posterior import available_memory
from inertial_diffusion.core.precision import check_precision

__all__ = ["DTYPES", "RESIDENT_FRACTION", "resolve_device", "torch_generator", "matmul_precision",
           "check_dtype_for_device", "available_memory"]

#: Storage dtype of the training data. "tf32": float32 data whose GEMMs may use TensorFloat-32 on a GPU.
#: (No "bf16": CPU torch's bf16 GEMMs return bf16, so only ``weights @ y`` could use them, and the prototype
#: measured 1.19x float32, under the 1.8x bar; see benchmarks/README.md.)
_STORAGE = {"float64": torch.float64, "float32": torch.float32, "tf32": torch.float32}
DTYPES = {name: _STORAGE[name] for name in choices.DTYPES}
#: Data larger than this fraction of the free GPU memory stay on the host and are streamed in chunks.
RESIDENT_FRACTION = 0.5


def _apply_switches(precision: str) -> tuple:
    """Set torch's matmul switches to ``precision``; return what they were."""
    tf32 = precision == "tf32"
    cuda_matmul = torch.backends.cuda.matmul
    if hasattr(cuda_matmul, "fp32_precision"):  # torch >= 2.9: per-backend switches ("none" = inherit)
        # the legacy setters map onto these, and reading the legacy flags after a new-API write raises
        mkldnn_matmul = torch.backends.mkldnn.matmul  # type: ignore[attr-defined]
        previous = ("new", cuda_matmul.fp32_precision, mkldnn_matmul.fp32_precision)
        cuda_matmul.fp32_precision = "tf32" if tf32 else "ieee"
        mkldnn_matmul.fp32_precision = "ieee"  # set_float32_matmul_precision("medium") makes CPU GEMMs bf16
        return previous
    previous = ("legacy", cuda_matmul.allow_tf32, torch.get_float32_matmul_precision())
    cuda_matmul.allow_tf32 = tf32
    torch.set_float32_matmul_precision("high" if tf32 else "highest")
    return previous


def _restore_switches(previous: tuple) -> None:
    api, first, second = previous
    if api == "new":
        torch.backends.cuda.matmul.fp32_precision = first
        torch.backends.mkldnn.matmul.fp32_precision = second  # type: ignore[attr-defined]
    else:
        torch.backends.cuda.matmul.allow_tf32 = first
        torch.set_float32_matmul_precision(second)


# The switches are process-global: calls under one policy share them (a count), a call under the other policy
# waits until they are done, and the user's switches come back when the last one leaves.
_switches = threading.Condition()
_state: dict = {"policy": None, "users": 0, "saved": None}
_local = threading.local()


@contextlib.contextmanager
def matmul_precision(precision: str):
    """Context manager that sets torch's matmul switches to what the precision policy says, inside the block only.

    The core takes the policy as its ``precision`` keyword and never reads torch's switches; this is where they
    are made to agree with it. torch's switches (``torch.backends.cuda.matmul.fp32_precision`` and
    ``torch.backends.mkldnn.matmul.fp32_precision``, or the legacy ``allow_tf32`` and
    ``set_float32_matmul_precision`` before torch 2.9) are process-global, so they are set on entry and restored on
    exit, also when the block raises. ``"exact"`` switches TF32 (and reduced-precision float32 GEMMs on the CPU) off
    even where the user's process turned them on: the float32 certificate assumes IEEE float32 GEMMs.

    Thread-safe: blocks under the same policy run concurrently (Dask's threads, two models); a block under the
    other policy waits for them to finish, so no GEMM ever runs under a policy it did not ask for, and the user's
    switches come back when the last block leaves. A block nested in another of the other policy, in the same
    thread, is refused (it would wait for itself).

    Parameters
    ----------
    precision : {"exact", "tf32"}
        The policy (:data:`~inertial_diffusion.core.precision.PRECISIONS`).

    Yields
    ------
    None
        Control to the block.

    Raises
    ------
    RuntimeError
        A nested block of the other policy in the same thread.

    Examples
    --------
    >>> import torch
    >>> before = torch.backends.cuda.matmul.fp32_precision
    >>> with matmul_precision("tf32"):
    ...     torch.backends.cuda.matmul.fp32_precision
    'tf32'
    >>> with matmul_precision("exact"):
    ...     torch.backends.cuda.matmul.fp32_precision, torch.backends.mkldnn.matmul.fp32_precision
    ('ieee', 'ieee')
    >>> torch.backends.cuda.matmul.fp32_precision == before
    True
    """
    check_precision(precision)
    held = getattr(_local, "held", [])
    if held and held[-1] != precision:
        raise RuntimeError(f"matmul_precision({precision!r}) nested in matmul_precision({held[-1]!r}) in one thread")
    with _switches:
        while _state["users"] and _state["policy"] != precision:
            _switches.wait()
        if not _state["users"]:
            _state["saved"] = _apply_switches(precision)
            _state["policy"] = precision
        _state["users"] += 1
    _local.held = held + [precision]
    try:
        yield
    finally:
        _local.held = held
        with _switches:
            _state["users"] -= 1
            if not _state["users"]:
                _restore_switches(_state["saved"])
                _state["policy"] = _state["saved"] = None
                _switches.notify_all()


def resolve_device(device: str) -> torch.device:
    """The ``torch.device`` a device name asks for, refusing a GPU that is not there.

    Parameters
    ----------
    device : {"cpu", "cuda", "cuda:N", "auto"}
        ``"auto"`` is CUDA when available, else the CPU.

    Returns
    -------
    torch.device
        The resolved device.

    Raises
    ------
    TypeError
        ``device`` is not a string.
    ValueError
        An unknown name, a malformed ``"cuda:N"`` (``N`` not a non-negative integer), a CUDA device requested
        where none is available, or a GPU index ``N`` >= ``torch.cuda.device_count()``.

    Examples
    --------
    >>> resolve_device("cpu")
    device(type='cpu')
    >>> resolve_device("auto").type in ("cpu", "cuda")
    True
    """
    if not isinstance(device, str):
        raise TypeError(f"device must be a string such as 'cpu', 'cuda' or 'auto', got {device!r}")
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cpu":
        return torch.device("cpu")
    if device == "cuda" or device.startswith("cuda:"):
        index = device[len("cuda:"):] if device != "cuda" else None
        if index is not None and not (index.isascii() and index.isdigit()):
            raise ValueError(f"malformed device {device!r}: the GPU index after 'cuda:' must be a non-negative "
                             "integer, e.g. 'cuda:0'")
        if not torch.cuda.is_available():
            raise ValueError(f"device={device!r} was requested but no CUDA device is available "
                             "(torch.cuda.is_available() is False); use device='cpu' or 'auto'")
        if index is None:
            return torch.device("cuda")
        count = torch.cuda.device_count()
        if int(index) >= count:
            raise ValueError(f"device={device!r} was requested but this machine has {count} CUDA device(s) "
                             f"(indices 0 to {count - 1}); use a smaller index or device='cuda'")
        return torch.device("cuda", int(index))
    raise ValueError(f"unknown device {device!r}; expected 'cpu', 'cuda', 'cuda:N' or 'auto'")


def check_dtype_for_device(dtype: str, device: torch.device) -> None:
    """Refuse ``dtype="tf32"`` off a GPU, with a message that says what to use instead.

    TensorFloat-32 is a mode of NVIDIA GPUs' float32 GEMMs; on the CPU it would silently mean plain float32.

    Parameters
    ----------
    dtype : {"float64", "float32", "tf32"}
        The computation dtype asked for (a key of :data:`DTYPES`).
    device : torch.device
        The resolved device (:func:`resolve_device`).

    Raises
    ------
    ValueError
        ``dtype="tf32"`` on a device that is not CUDA.

    Examples
    --------
    >>> import torch
    >>> check_dtype_for_device("float32", torch.device("cpu"))  # fine: returns None
    >>> check_dtype_for_device("tf32", torch.device("cpu"))
    Traceback (most recent call last):
    ...
    ValueError: dtype='tf32' (TensorFloat-32 GEMMs) is a GPU mode; use device='cuda' or dtype='float32'
    """
    if dtype == "tf32" and device.type != "cuda":
        raise ValueError("dtype='tf32' (TensorFloat-32 GEMMs) is a GPU mode; use device='cuda' or dtype='float32'")
