"""Where the data and the computation live: device choice, dtype, GPU residency, TF32, generators.

On a GPU the standardized training data stay resident when they take at most
:data:`RESIDENT_FRACTION` of the free memory; larger data stay in pinned host memory and the
posterior loop copies each chunk to the GPU as it reaches it (:mod:`inertial_diffusion.core.posterior`).
"""

from __future__ import annotations

import contextlib

import torch

from inertial_diffusion import choices
from inertial_diffusion.core.generators import torch_generator  # noqa: F401  (re-exported)
from inertial_diffusion.core.posterior import available_memory

__all__ = ["DTYPES", "RESIDENT_FRACTION", "resolve_device", "torch_generator", "tf32_matmul",
           "check_dtype_for_device", "available_memory"]

#: Storage dtype of the training data. "tf32": float32 data whose GEMMs may use TensorFloat-32 on a GPU.
#: (No "bf16": CPU torch's bf16 GEMMs return bf16, so only ``weights @ y`` could use them, and the prototype
#: measured 1.19x float32, under the 1.8x bar; see benchmarks/README.md.)
_STORAGE = {"float64": torch.float64, "float32": torch.float32, "tf32": torch.float32}
DTYPES = {name: _STORAGE[name] for name in choices.DTYPES}
#: Data larger than this fraction of the free GPU memory stay on the host and are streamed in chunks.
RESIDENT_FRACTION = 0.5


@contextlib.contextmanager
def tf32_matmul(enabled: bool):
    """Context manager that allows TensorFloat-32 GEMMs inside the block only.

    torch's switch (``torch.backends.cuda.matmul.allow_tf32``) is process-global, so it is set on entry and
    restored on exit, also when the block raises; outside the block other float32 work keeps full precision.

    Parameters
    ----------
    enabled : bool
        ``False`` leaves the switch untouched (a no-op context).

    Yields
    ------
    None
        Control to the block, with TF32 GEMMs allowed when ``enabled``.

    Examples
    --------
    >>> import torch
    >>> before = torch.backends.cuda.matmul.allow_tf32
    >>> with tf32_matmul(True):
    ...     torch.backends.cuda.matmul.allow_tf32
    True
    >>> torch.backends.cuda.matmul.allow_tf32 == before
    True
    """
    if not enabled:
        yield
        return
    previous = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = True
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32 = previous


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
