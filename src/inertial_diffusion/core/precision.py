"""How exact the float32 posterior is, and what can be dropped from a sum without changing it.

Three a-priori facts the hot loop of :mod:`inertial_diffusion.core.posterior` rests on.

* **Resolution cutoff.** In a sum whose largest term is 1, a term below
  ``2^-(p + ceil(log2 n) + margin)`` (``p`` = significand bits of the dtype) cannot move the result: all
  ``n`` of them together stay below ``2^-(p + margin)``, under the sum's rounding unit. The loop sets
  those weights to exactly 0 (never a subnormal, whose products are slow on some x86 cores) and skips
  the ``weights @ y`` work of rows and columns that are all zero.
* **Logit error.** A float32 GEMM logit :math:`(\\alpha x\\cdot y - \\alpha^2|y|^2/2)/v` is off by about
  :math:`\\epsilon_{32}\\,\\alpha |x||y|/v` (Cauchy-Schwarz bounds the dot product's rounding). Below
  ``E = 2e-5`` the batch stays float32 (:func:`compute_dtype`). What that proves: the mean moves by at most
  :math:`E e^{2E}` times the posterior's spread :math:`\\sqrt{\\sum_i w_i |y_i - m|^2} \\le \\max|y|`, i.e.
  **float32 is within ~2e-5 of the data scale**, not 1e-6. Measured: ~1e-7 on Gaussian data and on posteriors
  with many neighbours, but 2.7e-6 on S^8 in R^256 at t = 0.03 (few neighbours, ``tests/core/test_posterior.py``).
  Checking every row a posteriori with that spread bound was tried and reverted: it redoes nearly every row of
  a rule-bandwidth posterior in float64, so float32 ran at 0.91-0.99x float64 instead of 2.1-2.3x. Use
  float64 (the default) when 1e-6 matters.
* **Peaked rows.** Past that limit a row is still exact to the contract when its posterior is peaked: if
  every logit is off by at most :math:`E` and the weight outside the largest term is :math:`R` times the
  largest, the posterior mean moves by at most :math:`2 E e^{2E} R\\,\\mathrm{diam}` (the derivative of the
  mean along the perturbation is the weighted covariance :math:`\\sum_i w_i\\delta_i(y_i - m)`, whose norm
  is at most :math:`E \\sum_i w_i |y_i - m| \\le 2 E R\\, \\mathrm{diam}`, and :math:`R` grows at most by
  :math:`e^{2E}` along the way). :func:`certified_rows` checks that bound per query; the others are redone
  in float64.
"""

from __future__ import annotations

import math

import torch

from inertial_diffusion.core.process import alpha, variance

__all__ = ["PRECISIONS", "check_precision", "gemm_unit_roundoff", "compute_dtype", "within_guard", "cutoff_bits",
           "logit_error_bound", "certified_rows", "bf16_supported"]

#: The precision policy, passed down as the ``precision`` keyword of every core function (the core never reads
#: torch's process-global matmul switches; the backends set them to what the policy says around each call,
#: :func:`inertial_diffusion.backends.device.matmul_precision`). "exact": float32 GEMMs in full IEEE float32
#: (the accuracy contract of this module holds); "tf32": float32 GEMMs on a GPU may run in TensorFloat-32
#: (10-bit significand, ~1e-3 relative): the float32 certificate is skipped, the pruning bound uses TF32's
#: unit roundoff. A core function called directly (not through a backend) runs under whatever switches torch has:
#: wrap it in :func:`inertial_diffusion.backends.device.matmul_precision` for the policy's GEMMs. "bf16" is
#: reserved: CPU torch bf16 GEMMs return bf16, and the bf16 posterior measured 1.1-1.2x float32
#: (benchmarks/README.md), under the 1.8x that would justify its error.
PRECISIONS = ("exact", "tf32")

# a-priori logit error limit of float32 batches: bounds the mean's error by ~2e-5 of the data scale (typically
# ~1e-7, 2.7e-6 measured on a few-neighbour manifold posterior); tests/core/test_posterior.py::test_float32_*
_FLOAT32_LOGIT_ERROR_LIMIT = 2e-5
_EPS32 = float(torch.finfo(torch.float32).eps)
#: Per-row a-priori limit under which a row of a batch past the guard stays float32 uncertified.
ROW_GUARD_LIMIT = 4e-6
#: Safety factor of :func:`logit_error_bound` over eps*alpha|x||y|/v: covers the rounding of the bias,
#: of the sum and of the blocked dot product (measured worst case on Gaussian data in R^784: ~0.3).
LOGIT_ERROR_FACTOR = 8.0
#: Extra bits of the resolution cutoff: the dropped mass stays below the rounding unit even when
#: up to 2^8 shards, each cut against its own (smaller) maximum, are combined.
CUTOFF_MARGIN_BITS = 8
#: Posterior-mean error (relative to the data's RMS norm) that a certified float32 row may carry;
#: the rest of a certified row's 1e-6 budget is left to the rounding of the float32 sums.
CERTIFIED_TOLERANCE = 2.5e-7


def check_precision(precision: str) -> None:
    """Refuse a ``precision`` outside :data:`PRECISIONS`, naming why ``"bf16"`` is not offered.

    Parameters
    ----------
    precision : str
        The policy to check.

    Raises
    ------
    ValueError
        ``precision`` is not one of :data:`PRECISIONS`.

    Examples
    --------
    >>> check_precision("exact")
    >>> check_precision("fast")
    Traceback (most recent call last):
        ...
    ValueError: precision must be one of ('exact', 'tf32'), got 'fast'
    """
    if precision == "bf16":
        raise ValueError("precision='bf16' is not available: CPU torch bf16 GEMMs return bf16 and the bf16 "
                         "posterior measured 1.1-1.2x float32 (benchmarks/README.md); use float32")
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")


def gemm_unit_roundoff(work: torch.dtype, device: torch.device, precision: str = "exact") -> float:
    """Unit roundoff of a GEMM in ``work`` under the policy: TF32's ``2^-11`` for float32 on a GPU with
    ``precision="tf32"``, else the dtype's ``eps / 2``.

    Parameters
    ----------
    work : torch.dtype
        The GEMM's dtype.
    device : torch.device
        Where it runs (TF32 exists on CUDA devices only).
    precision : {"exact", "tf32"}
        The policy (:data:`PRECISIONS`).

    Returns
    -------
    float

    Examples
    --------
    >>> import torch
    >>> gemm_unit_roundoff(torch.float32, torch.device("cuda"), "tf32") == 2.0**-11
    True
    >>> gemm_unit_roundoff(torch.float32, torch.device("cuda"), "exact") == 2.0**-24
    True
    """
    if work == torch.float32 and device.type == "cuda" and precision == "tf32":
        return 2.0**-11
    return float(torch.finfo(work).eps) / 2


def compute_dtype(dtype: torch.dtype, t: float, x_norm: float, y_norm: float) -> torch.dtype:
    """Dtype in which the logits must be computed: float32 while its logit error stays below 2e-5.

    float64 stays float64. float32 is kept while the a-priori rounding bound
    :math:`\\epsilon_{32}\\,\\alpha_t \\max(|x|, 1) \\max(|y|, 1) / v_t` on the logits stays below 2e-5
    (the mean is then within ~2e-5 of the data scale; see the module docstring); in the small-t regime (where
    :math:`|x|^2 - 2 x\\cdot y + |y|^2` cancels catastrophically) it returns float64, and the posterior
    mean then certifies peaked rows in float32 instead (:func:`certified_rows`).

    Parameters
    ----------
    dtype : torch.dtype
        The queries' dtype (float32 or float64).
    t : float
        Diffusion time, ``t > 0``.
    x_norm : float
        Largest query norm :math:`|x|` (standardized units).
    y_norm : float
        Largest training-point norm :math:`|y|`.

    Returns
    -------
    torch.dtype
        ``dtype``, or float64 where float32 could miss the accuracy contract.

    Examples
    --------
    >>> import torch
    >>> compute_dtype(torch.float32, 0.1, 3.0, 3.0)  # bound ~1e-5: float32 suffices
    torch.float32
    >>> compute_dtype(torch.float32, 0.01, 3.0, 3.0)  # bound ~1e-4: small t needs float64
    torch.float64
    """
    if dtype == torch.float64:
        return torch.float64
    a_t, v_t = alpha(t), variance(t)
    bound = _EPS32 * a_t * max(x_norm, 1.0) * max(y_norm, 1.0) / v_t
    return torch.float64 if bound > _FLOAT32_LOGIT_ERROR_LIMIT else dtype


def within_guard(t: float, x_norms: torch.Tensor, y_norm: float) -> torch.Tensor:
    """Per query, whether the a-priori bound of :func:`compute_dtype` is below :data:`ROW_GUARD_LIMIT`.

    Stricter than the batch guard: at its 2e-5 a non-peaked posterior can lose the contract
    (measured on a 10-dimensional manifold in R^256, standardized, n = 20000: 2.7e-6 to 3.5e-6 of the
    data scale at t = 0.02, rows at 1.7e-5 to 2.2e-5; 8e-7 at t = 0.056, rows at 0.9e-5 to 1.2e-5;
    2.8e-7 at t = 0.2, rows at 4.4e-6 to 5.6e-6).

    Parameters
    ----------
    t : float
        Diffusion time, ``t > 0``.
    x_norms : Tensor (m,)
        Norm of each query.
    y_norm : float
        Largest training-point norm.

    Returns
    -------
    Tensor (m,), bool
        True where the query's float32 logits are accurate enough without a certificate.

    Examples
    --------
    >>> import torch
    >>> within_guard(0.1, torch.tensor([0.5, 3.0, 30.0]), 1.0).tolist()
    [True, True, False]
    """
    a_t, v_t = alpha(t), variance(t)
    bound = _EPS32 * a_t * x_norms.double().clamp(min=1.0) * max(y_norm, 1.0) / v_t
    return bound <= ROW_GUARD_LIMIT


def cutoff_bits(dtype: torch.dtype, n: int) -> float:
    """Resolution cutoff ``p + ceil(log2 n) + margin``: base-2 logits this far below the maximum are dropped.

    ``p`` is the significand length (24 for float32, 53 for float64, 8 for bfloat16) and ``margin`` is
    :data:`CUTOFF_MARGIN_BITS`. All ``n`` dropped terms together stay below the rounding unit of a sum
    whose largest term is 1, so dropping them cannot change it. The cutoff is far above the exponent of
    the smallest normal number, so an exponential that survives it is never subnormal.

    Parameters
    ----------
    dtype : torch.dtype
        Dtype of the weights.
    n : int
        Number of terms of the sum (values below 2 count as 2).

    Returns
    -------
    float
        The cutoff in bits (base-2 logit units).

    Examples
    --------
    >>> import torch
    >>> cutoff_bits(torch.float32, 1000), cutoff_bits(torch.float64, 2**32)  # 24 + 10 + 8, 53 + 32 + 8
    (42.0, 93.0)
    """
    p = 1 - round(math.log2(torch.finfo(dtype).eps))
    return float(p + math.ceil(math.log2(max(int(n), 2))) + CUTOFF_MARGIN_BITS)


def logit_error_bound(t: float, x_norms: torch.Tensor, y_max: float) -> torch.Tensor:
    """A-priori bound, in natural-log units, on the error of each query's float32 logits.

    :math:`E_q = \\kappa\\,\\epsilon_{32}\\,(\\alpha_t |x_q| Y + \\alpha_t^2 Y^2/2) / v_t`, ``Y = max_i |y_i|``,
    :math:`\\kappa` = :data:`LOGIT_ERROR_FACTOR`: the dot product, the bias and their sum, each rounded once.

    Parameters
    ----------
    t : float
        Diffusion time, ``t > 0``.
    x_norms : Tensor (m,)
        Norm of each query.
    y_max : float
        ``Y``, the largest training-point norm.

    Returns
    -------
    Tensor (m,), float64
        :math:`E_q` per query, the ``error`` input of :func:`certified_rows`.

    Examples
    --------
    >>> import torch
    >>> [f"{e:.2e}" for e in logit_error_bound(0.1, torch.tensor([3.0]), 3.0).tolist()]
    ['1.24e-04']
    """
    a_t, v_t = alpha(t), variance(t)
    return LOGIT_ERROR_FACTOR * _EPS32 * (a_t * x_norms.double() * y_max + 0.5 * a_t * a_t * y_max * y_max) / v_t


def certified_rows(sumexp: torch.Tensor, error: torch.Tensor, cutoff: float, n: int, y_max: float,
                   scale: float, tol: float = CERTIFIED_TOLERANCE, counts: torch.Tensor | None = None) -> torch.Tensor:
    """Certify the rows whose float32 posterior mean is within ``tol * scale`` of the exact one.

    ``sumexp`` is the row's sum of weights relative to its largest (which contributes exactly 1),
    accumulated in float64; ``error`` the bound :math:`E` of :func:`logit_error_bound`. The relative mass
    outside the largest term is at most :math:`R = (S - 1)(1 + 2^{-16}) + 4 (K - 1) 2^{-53} S + n 2^{-c}`:
    the float32 rounding of each weight and rescale factor; the float64 summation, whose at most 4
    roundings per nonzero weight beyond the largest (adding a zero is exact) are counted by ``counts``
    (``K``; ``n`` when not given); what the cutoff ``c`` dropped. A one-point posterior (``K = 1``) thus
    certifies even when :math:`E` is several nats. The mean is off by at most
    :math:`2 E e^{2E} R\\,\\mathrm{diam}`, ``diam = 2 y_max`` (see the module docstring for the derivation).

    Parameters
    ----------
    sumexp : Tensor (m,)
        ``S``, each row's float32-computed sum of weights relative to its largest, accumulated in float64.
    error : Tensor (m,)
        ``E``, the per-row logit error bound (:func:`logit_error_bound`), natural-log units.
    cutoff : float
        ``c``, the resolution cutoff in bits used by the loop (:func:`cutoff_bits` plus its slack).
    n : int
        Number of training points.
    y_max : float
        Largest training-point norm (half the diameter bound).
    scale : float
        The data scale the tolerance is relative to (the RMS norm of the training points).
    tol : float
        Allowed error of the mean relative to ``scale`` (default :data:`CERTIFIED_TOLERANCE`).
    counts : Tensor (m,), optional
        ``K``, each row's number of nonzero weights; ``n`` for every row when omitted (looser).

    Returns
    -------
    Tensor (m,), bool
        True where the float32 mean is certified; the others must be recomputed in float64.

    Examples
    --------
    >>> import torch
    >>> error = logit_error_bound(0.01, torch.tensor([1.0, 1.0]), 3.0)  # ~7e-4 nats
    >>> sumexp = torch.tensor([1.0, 1.5], dtype=torch.float64)  # one dominant point; a split posterior
    >>> certified_rows(sumexp, error, 40.0, 1000, 3.0, 1.0, counts=torch.tensor([1.0, 2.0])).tolist()
    [True, False]
    """
    s = sumexp.double()
    k = torch.full_like(s, float(n)) if counts is None else counts.double()
    rest = ((s - 1.0).clamp_(min=0.0) * (1.0 + 2.0**-16) + 4 * (k - 1.0).clamp_(min=0.0) * 2.0**-53 * s
            + n * 2.0 ** (-cutoff))
    bound = 2.0 * error * torch.exp(2.0 * error) * rest * (2.0 * y_max)
    return bound <= tol * scale


def bf16_supported() -> bool:
    """Whether this CPU has native bfloat16 dot products (``amx_bf16`` or ``avx512_bf16`` in /proc/cpuinfo).

    Only informative: the ``"bf16"`` precision is refused (see :data:`PRECISIONS`).

    Returns
    -------
    bool
        False where ``/proc/cpuinfo`` cannot be read (non-Linux systems).
    """
    try:
        with open("/proc/cpuinfo") as fh:
            flags = fh.read()
    except OSError:
        return False
    return any(flag in flags.split() for flag in ("amx_bf16", "avx512_bf16"))
