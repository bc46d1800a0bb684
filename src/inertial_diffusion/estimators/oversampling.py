"""Class rebalancing with IDM samples, under imbalanced-learn's ``fit_resample`` contract."""

from __future__ import annotations

import numbers
import warnings
from typing import Any

import numpy as np

try:
    from imblearn.over_sampling.base import BaseOverSampler
except ImportError:  # pragma: no cover - exercised only without the extra
    raise ImportError("InertialOversampler needs imbalanced-learn: "
                      "pip install 'inertial-diffusion[imbalanced]'") from None
from sklearn.utils._param_validation import Interval, StrOptions

from inertial_diffusion.core.validation import check_data, plain_label
from inertial_diffusion.estimators.inertial import InertialDiffusion

__all__ = ["InertialOversampler"]


class InertialOversampler(BaseOverSampler):
    """Oversample classes with new points from a per-class inertial diffusion model.

    Unlike SMOTE, which interpolates on segments between neighbours, the new points are
    softmax-weighted local averages of a class's training points at the bandwidth
    σ = c · n_c^(−1/(d+4)) (arXiv 2505.02508), so they stay near the class's data manifold.

    Parameters
    ----------
    sampling_strategy : float, str, dict or callable, default="auto"
        As in imbalanced-learn's oversamplers ("auto" = "not majority": every class but the
        majority is brought to the majority's size).
    k_min : int, default=5
        Classes to oversample with fewer rows than this get a warning: their bandwidth rests on
        very few points. Classes with fewer than 2 rows are an error (a one-point model returns
        copies of that point).
    bandwidth, intrinsic_dim, bandwidth_scale, inertia, max_dup_rate, standardize, dtype
        Passed to :class:`~inertial_diffusion.InertialDiffusion` ("auto": one W1 search on the rows of the
        classes to oversample, each class keeping its own ``n_c``; with ``max_dup_rate`` each class searches
        its own ``c``).
    random_state : None, int or numpy Generator
        Seeds the new samples (one Generator for all classes). Same seed, same output.

    Attributes
    ----------
    model_ : InertialDiffusion
        The class-conditional model fitted on the rows of the classes to oversample.
    sampling_strategy_ : dict
        Class label -> number of samples to add (imbalanced-learn's resolved ``sampling_strategy``).

    Examples
    --------
    >>> import numpy as np
    >>> from inertial_diffusion.estimators.oversampling import InertialOversampler
    >>> rng = np.random.default_rng(0)
    >>> X = np.vstack([rng.normal(size=(60, 2)), rng.normal(size=(20, 2)) + 3.0])
    >>> y = np.repeat([0, 1], [60, 20])
    >>> X_res, y_res = InertialOversampler(intrinsic_dim=2, random_state=0).fit_resample(X, y)
    >>> X_res.shape, np.bincount(y_res).tolist()
    ((120, 2), [60, 60])
    """

    _parameter_constraints: dict = {
        **BaseOverSampler._parameter_constraints,
        "k_min": [Interval(numbers.Integral, 2, None, closed="left")],
        "bandwidth": [Interval(numbers.Real, 0, None, closed="neither"), StrOptions({"auto"}), None],
        "max_dup_rate": [Interval(numbers.Real, 0, 1, closed="neither"), None],
        "standardize": InertialDiffusion._parameter_constraints["standardize"],
        "intrinsic_dim": [Interval(numbers.Real, 0, None, closed="neither"), None],
        "bandwidth_scale": [Interval(numbers.Real, 0, None, closed="neither")],
        "inertia": InertialDiffusion._parameter_constraints["inertia"],
        "dtype": [StrOptions({"float64", "float32"})],
    }

    def __init__(self, *, sampling_strategy: Any = "auto", k_min: int = 5, bandwidth: float | None = None,
                 intrinsic_dim: float | None = None, bandwidth_scale: float = 1.0, inertia: str = "posterior_mean",
                 max_dup_rate: float | None = None, standardize: bool | str = True, dtype: str = "float64",
                 random_state: Any = None) -> None:
        super().__init__(sampling_strategy=sampling_strategy)
        self.k_min = k_min
        self.bandwidth = bandwidth
        self.intrinsic_dim = intrinsic_dim
        self.bandwidth_scale = bandwidth_scale
        self.inertia = inertia
        self.max_dup_rate = max_dup_rate
        self.standardize = standardize
        self.dtype = dtype
        self.random_state = random_state

    def _fit_resample(self, X: Any, y: np.ndarray, **params: Any) -> tuple[Any, np.ndarray]:
        import scipy.sparse as sp

        sparse_format = X.format if sp.issparse(X) else None  # sparse in, sparse out (as SMOTE): the model is dense
        X_dense = check_data(X.toarray() if sparse_format else X, min_rows=2)
        targets = {c: k for c, k in self.sampling_strategy_.items() if k > 0}
        if not targets:  # already balanced: nothing to draw, nothing to fit
            self.model_ = None
            return X, y
        X_new, y_new = self._draw(X_dense, y, targets)
        if sparse_format:
            return sp.vstack([X, sp.csr_matrix(X_new)], format=sparse_format), np.concatenate([y, y_new])
        return np.concatenate([X_dense, X_new]), np.concatenate([y, y_new])

    def _draw(self, X: np.ndarray, y: np.ndarray, targets: dict) -> tuple[np.ndarray, np.ndarray]:
        """The new rows of every class to grow (dense), and their labels."""
        sizes = {c: int(np.sum(y == c)) for c in targets}
        too_small = [f"{plain_label(c)!r} ({k} row{'s' if k != 1 else ''})" for c, k in sizes.items() if k < 2]
        if too_small:
            raise ValueError(f"cannot oversample class(es) {', '.join(too_small)}: an inertial diffusion model "
                             "needs at least 2 rows of a class (one row would only be copied)")
        few = [f"{plain_label(c)!r} ({k} rows)" for c, k in sizes.items() if k < self.k_min]
        if few:
            warnings.warn(f"class(es) {', '.join(few)} have fewer than k_min={self.k_min} rows: their "
                          "samples rest on very few points", UserWarning, stacklevel=3)
        params: dict[str, Any] = dict(bandwidth=self.bandwidth, intrinsic_dim=self.intrinsic_dim,
                                      bandwidth_scale=self.bandwidth_scale,
                      inertia=self.inertia, max_dup_rate=self.max_dup_rate, standardize=self.standardize,
                      dtype=self.dtype)
        if self.bandwidth in (None, "auto") and self.intrinsic_dim is None:
            # d is a property of the data manifold: estimate it on all rows, not on a small class
            probe = InertialDiffusion(standardize=self.standardize, dtype=self.dtype, components="none")
            params["intrinsic_dim"] = probe.fit(X).intrinsic_dim_
        keep = np.isin(y, list(targets))
        model = InertialDiffusion(**params).fit(X[keep], y[keep])
        self.model_ = model
        rng = np.random.default_rng(self.random_state)
        X_new, y_new = [], []
        for c, k in targets.items():
            X_new.append(model.sample(k, random_state=rng, y=c).astype(X.dtype, copy=False))
            y_new.append(np.full(k, c, dtype=y.dtype))
        return np.concatenate(X_new), np.concatenate(y_new)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True  # densified for the model, given back in the input's sparse format
        return tags
