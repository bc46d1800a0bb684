"""The inertial diffusion model (IDM) estimator, arXiv 2505.02508."""

from __future__ import annotations

from typing import Any

import torch

from inertial_diffusion.core.bandwidth import bandwidth_rule, resolve_intrinsic_dim
from inertial_diffusion.core.inertia import INERTIA_FORMS, inertia_step
from inertial_diffusion.core.process import DEFAULT_T_MAX
from inertial_diffusion.core.standardize import Standardizer
from inertial_diffusion.core.validation import check_choice, check_positive, check_positive_int
from inertial_diffusion.estimators._base import _EmpiricalDiffusionBase
from inertial_diffusion.estimators.bandwidth_search import search_bandwidth_scale

__all__ = ["InertialDiffusion"]


class InertialDiffusion(_EmpiricalDiffusionBase):
    """Inertial diffusion model (IDM) of Lyu, Nguyen, Qian & Tong, arXiv 2505.02508.

    Runs the empirical diffusion model of the (standardized) training set from ``T`` down to
    ``h = sigma^2`` (or draws :math:`z \\sim \\hat p_h` exactly in one shot), then takes one inertia
    step. Samples are close to a Gaussian KDE *on* the data manifold, with
    :math:`W_1 = O(n^{-2/(d+4)})` for :math:`\\sigma = n^{-1/(d+4)}`, independently of the ambient D.

    Parameters
    ----------
    bandwidth : float, "auto" or None
        :math:`\\sigma` in standardized units; overrides the rule :math:`\\sigma = c\\,n^{-1/(d+4)}`.
        "auto" chooses ``c`` by held-out W1 on a grid (:mod:`inertial_diffusion.estimators.bandwidth_search`),
        ignoring ``bandwidth_scale``, and records the search in ``bandwidth_search_``.
    intrinsic_dim : float, optional
        Manifold dimension ``d``; estimated with ``dim_method`` when omitted.
    bandwidth_scale : float
        The constant ``c`` of the rule.
    inertia : {"posterior_mean", "paper"}
        Form of the inertia step (see :mod:`inertial_diffusion.core.inertia`).
    sampler : {"one_shot", "sde", "sde_euler", "ode"}
        Exact draw of ``z ~ p̂_h``; reverse SDE by the exponential integrator or Euler–Maruyama;
        probability-flow ODE by Heun. All have the law :math:`\\hat p_h` up to discretization error.
    n_steps : int
        Steps of the simulated samplers (log-spaced times from ``t_max`` to ``h``).
    standardize : bool
        Centre and divide by one global scale (RMS distance to the mean) before fitting.
    dtype : {"float64", "float32", "tf32"}
        Storage and computation dtype. float32 keeps ~1e-6 relative accuracy through a guard that
        computes logits in float64 where float32 rounding would exceed it (small t). "tf32" (GPU
        only, opt-in) lets the float32 GEMMs use TensorFloat-32: several times faster on recent GPUs,
        ~1e-3 relative accuracy.
    device : {"cpu", "cuda", "cuda:N", "auto"}
        "auto": CUDA when available. On a GPU the data stay resident when they take at most half of
        the free GPU memory, else they stay in pinned host memory and are streamed chunk by chunk.
    chunk_size : int, optional
        Training rows per streamed chunk (default: 256 float32 / 1024 float64 rows on the CPU,
        8192 on a GPU; see :func:`inertial_diffusion.core.posterior.plan_blocks`).
    max_memory : int, optional
        Working-memory budget in bytes of every posterior evaluation, beyond the data and the
        returned arrays; sizes the query blocks (and the chunks if small). Default: an eighth of
        the available memory capped at 256 MiB on the CPU, a quarter of the free GPU memory.
    random_state : None, int or numpy Generator
    prior : {"mixture", "stationary"}
        Start of the simulated samplers: the exact :math:`\\hat p_T` or :math:`N(0, \\tfrac12 I)`.
    t_max : float
        Start time ``T`` of the simulated samplers.
    dim_method : {"twonn", "mle"}
        Intrinsic-dimension estimator used when ``intrinsic_dim`` is None.
    neighbors : int, "auto" or None
        Restrict every posterior mean to the k nearest training points (None: exact, all n).
        "auto" grows k per query until the certified neglected softmax mass is below
        ``neighbor_tol`` (see :mod:`inertial_diffusion.backends.knn`); ``sample(..., return_neglected_mass=True)``
        reports the bound per sample.
    neighbor_tol : float
    neighbor_backend : {"auto", "faiss", "torch"}
        Exact nearest-neighbour search: FAISS ``IndexFlatL2`` (``pip install faiss-cpu``) or a
        chunked torch top-k; "auto" takes FAISS when installed.
    client : dask.distributed.Client, address string or None
        Only for a Dask-array ``X``: the cluster that holds the data (default: the current client,
        or a new 2-worker ``LocalCluster``). The data stay distributed (see
        :mod:`inertial_diffusion.backends.dask`).

    Attributes
    ----------
    bandwidth_ : float
        :math:`\\sigma` used, in standardized units.
    h_ : float
        Stopping time :math:`h = \\sigma^2`.
    intrinsic_dim_ : float or None
        ``d`` used by the rule (None when ``bandwidth`` was given and ``intrinsic_dim`` was not).
    data_resident_ : bool
        Whether the training data live on ``device_`` (False: streamed from the host).
    bandwidth_search_ : BandwidthSearch or None
        The held-out search (grid, scores, chosen ``c``) when ``bandwidth="auto"``, else None.
    n_features_in_, n_samples_fit_ : int
    mean_ : ndarray, scale_ : float
        The standardization.
    """

    def __init__(self, bandwidth: float | str | None = None, intrinsic_dim: float | None = None,
                 bandwidth_scale: float = 1.0, inertia: str = "posterior_mean", sampler: str = "one_shot",
                 n_steps: int = 100, standardize: bool = True, dtype: str = "float64", device: str = "cpu",
                 chunk_size: int | None = None, random_state: Any = None, prior: str = "mixture",
                 t_max: float = DEFAULT_T_MAX, dim_method: str = "twonn", client: Any = None,
                 neighbors: int | str | None = None, neighbor_tol: float = 1e-6,
                 neighbor_backend: str = "auto", max_memory: int | None = None) -> None:
        self.bandwidth = bandwidth
        self.intrinsic_dim = intrinsic_dim
        self.bandwidth_scale = bandwidth_scale
        self.inertia = inertia
        self.sampler = sampler
        self.n_steps = n_steps
        self.standardize = standardize
        self.dtype = dtype
        self.device = device
        self.chunk_size = chunk_size
        self.random_state = random_state
        self.prior = prior
        self.t_max = t_max
        self.dim_method = dim_method
        self.client = client
        self.neighbors = neighbors
        self.neighbor_tol = neighbor_tol
        self.neighbor_backend = neighbor_backend
        self.max_memory = max_memory

    def fit(self, X: Any, y: Any = None) -> "InertialDiffusion":
        """Fit to training data ``X`` of shape (n, D).

        With labels ``y``, also keep one model per class (``class_models_``), each with its own
        bandwidth from the class size ``n_c`` (σ = c n_c^(-1/(d+4)), d shared, estimated on all
        of X) and the common standardization; then ``sample(m, y=label)`` and ``sample_per_class``.
        """
        self._fit_one(X, None)
        self.class_models_ = None
        if y is not None:
            if self.bandwidth_search_ is not None:  # one search on all rows; each class keeps the rule with that c
                overrides = {"bandwidth": None, "bandwidth_scale": self.bandwidth_search_.best_scale,
                             "intrinsic_dim": self.intrinsic_dim_}
            else:
                overrides = {} if self.bandwidth is not None else {"intrinsic_dim": self.intrinsic_dim_}
            self._fit_classes(X, y, **overrides)
        return self

    def _fit_one(self, X: Any, standardizer: Standardizer | None) -> None:
        check_choice(self.inertia, "inertia", INERTIA_FORMS)
        check_choice(self.dim_method, "dim_method", ("twonn", "mle"))
        check_choice(self.neighbor_backend, "neighbor_backend", ("auto", "faiss", "torch"))
        check_positive(self.neighbor_tol, "neighbor_tol")
        if self.neighbors is not None and self.neighbors != "auto":
            check_positive_int(self.neighbors, "neighbors")
        check_positive(self.bandwidth_scale, "bandwidth_scale")
        if self.intrinsic_dim is not None:
            check_positive(self.intrinsic_dim, "intrinsic_dim")
        auto = isinstance(self.bandwidth, str)
        if auto and self.bandwidth != "auto":
            raise ValueError(f"bandwidth must be a positive number, 'auto' or None, got {self.bandwidth!r}")
        if self.bandwidth is not None and not auto:
            check_positive(self.bandwidth, "bandwidth")
        Z = self._fit_data(X, standardizer)
        n = self.n_samples_fit_
        # a Dask fit gathers its estimation rows once, for the dimension and the search alike
        rows = self._estimation_rows(Z) if (self.intrinsic_dim is None and self.bandwidth is None) or auto else None
        self.intrinsic_dim_ = resolve_intrinsic_dim(self.intrinsic_dim, rows, self.dim_method,
                                                    self.bandwidth is None or auto)
        self.bandwidth_search_ = None
        if auto:
            self.bandwidth_search_ = search_bandwidth_scale(rows, self.intrinsic_dim_, inertia=self.inertia,
                                                            random_state=0)
            self.bandwidth_ = bandwidth_rule(n, self.intrinsic_dim_, self.bandwidth_search_.best_scale)
        elif self.bandwidth is not None:
            self.bandwidth_ = float(self.bandwidth)
        else:
            self.bandwidth_ = bandwidth_rule(n, self.intrinsic_dim_, self.bandwidth_scale)
        self.h_ = self.bandwidth_**2

    def _final_map(self, z: torch.Tensor) -> torch.Tensor:
        return inertia_step(self._denoise, z, self.h_, self.inertia)
