"""The empirical diffusion model: the memorizing baseline IDM improves on."""

from __future__ import annotations

import numbers
from typing import Any

import torch
from sklearn.base import _fit_context
from sklearn.utils._param_validation import Interval

from inertial_diffusion.core.process import DEFAULT_T_MAX, alpha
from inertial_diffusion.core.samplers import DEFAULT_N_STEPS
from inertial_diffusion.core.standardize import Standardizer
from inertial_diffusion.estimators._base import COMMON_PARAMETERS_DOC, THREADS_CONSTRAINT, DiffusionBase, parameters_doc

__all__ = ["EmpiricalDiffusion"]

#: Smallest final time accepted: below it v_t leaves float64's normal range.
MIN_T_MIN = 1e-100


class EmpiricalDiffusion(DiffusionBase):
    __doc__ = """The empirical diffusion model: the same process run to ``t_min ≈ 0``. It memorizes.

    Its samples converge to training points as ``t_min -> 0``; it is the baseline IDM improves on.

    Parameters
    ----------
    t_min : float, default=1e-8
        Final time of the reverse process.
    denoise : bool, default=True
        Return the posterior mean :math:`m_{{t_{{min}}}}(z)` at the final time (Tweedie's denoised
        output, as diffusion samplers do at their last step); if False return :math:`z/\\alpha_{{t_{{min}}}}`.
{COMMON_PARAMETERS_DOC}{THREADS_DOC}
    Attributes
    ----------
    h_ : float
        The final time ``t_min``.
    backend_ : PosteriorBackend
        The posterior every query method goes through.
    n_features_in_, n_samples_fit_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from inertial_diffusion import EmpiricalDiffusion
    >>> X = np.random.default_rng(0).normal(size=(50, 2))
    >>> S = EmpiricalDiffusion(random_state=0).fit(X).sample(3)
    >>> bool(np.isclose(S[:, None, :], X[None]).all(axis=2).any(axis=1).all())  # every sample is a training point
    True
    """.format(COMMON_PARAMETERS_DOC=COMMON_PARAMETERS_DOC, THREADS_DOC=parameters_doc("threads"))

    _parameter_constraints: dict = {
        **DiffusionBase._parameter_constraints,
        "t_min": [Interval(numbers.Real, MIN_T_MIN, None, closed="left")],
        "denoise": ["boolean"],
        "threads": THREADS_CONSTRAINT,
    }

    def __init__(self, *, t_min: float = 1e-8, denoise: bool = True, sampler: str = "one_shot",
                 n_steps: int = DEFAULT_N_STEPS,
                 standardize: bool | str = True, dtype: str = "float64", device: str = "cpu",
                 chunk_size: int | None = None, max_memory: int | None = None, random_state: Any = None,
                 prior: str = "mixture", t_max: float = DEFAULT_T_MAX, client: Any = None,
                 prune_tol: float | None = None, threads: int | None = None) -> None:
        self.t_min = t_min
        self.denoise = denoise
        self.sampler = sampler
        self.n_steps = n_steps
        self.standardize = standardize
        self.dtype = dtype
        self.device = device
        self.chunk_size = chunk_size
        self.max_memory = max_memory
        self.random_state = random_state
        self.prior = prior
        self.t_max = t_max
        self.client = client
        self.prune_tol = prune_tol
        self.threads = threads

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: Any, y: Any = None) -> "EmpiricalDiffusion":
        """Fit to training data ``X`` of shape (n, D); with labels ``y``, also one model per class.

        Fitting standardizes the rows and builds the posterior backend; the final time is ``t_min``
        (no bandwidth).

        Parameters
        ----------
        X : array-like of shape (n, D) or dask.array.Array
            Training data, finite, at least 2 rows. A Dask array stays on its cluster (see ``client``).
        y : array-like of shape (n,), optional
            Class labels for class-conditional sampling (``sample(m, y=label)``, ``sample_per_class``).

        Returns
        -------
        self : EmpiricalDiffusion
            The fitted estimator.

        Raises
        ------
        ValueError
            Invalid data or parameters, missing labels, labels for a Dask array, or every class with
            fewer than 2 rows.
        """
        X = self._validate_fit_input(X)
        self._fit_one(X, self._fit_standardizer(X))
        self.class_models_ = None
        if y is not None:
            self._fit_classes(X, y)
        return self

    def _fit_one(self, X: Any, standardizer: Standardizer) -> None:
        self._fit_backend(X, standardizer)
        self.h_ = float(self.t_min)

    def _final_map(self, z: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        return self.backend_.mean(z, self.h_) if self.denoise else z / alpha(self.h_)
