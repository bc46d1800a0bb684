"""Class-conditional generation: one empirical model per class, sharing one standardization.

Used by :class:`~inertial_diffusion.InertialDiffusion` and :class:`~inertial_diffusion.EmpiricalDiffusion`
through ``fit(X, y)``, ``sample(m, y=label)`` and ``sample_per_class(n)``.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from sklearn.base import clone
from sklearn.utils.validation import check_is_fitted

from inertial_diffusion.backends.factory import is_dask_array
from inertial_diffusion.core.samplers import Callback
from inertial_diffusion.core.validation import check_n_samples, plain_label

__all__ = ["ClassConditionalMixin", "check_labels", "sample_mixture"]


def check_labels(y: Any, n_rows: int) -> np.ndarray:
    """One label per row, none missing: NaN and None are named as such (not as an empty or unsortable ``y``)."""
    labels = np.asarray(y)
    if labels.ndim != 1 or labels.shape[0] != n_rows:
        raise ValueError(f"y must be a 1-D array with one label per row of X ({n_rows}), got shape {labels.shape}")
    if labels.dtype.kind == "f":
        missing = np.flatnonzero(np.isnan(labels))
    elif labels.dtype == object:
        missing = np.flatnonzero([v is None or (isinstance(v, float) and v != v) for v in labels])
    else:
        missing = np.array([], dtype=int)
    if missing.size:
        raise ValueError(f"y has {missing.size} missing label(s) (NaN/None), first at row {int(missing[0])}; "
                         "drop those rows or give them a class")
    return labels


def _describe(counts: dict) -> str:
    """``'a' (1 row), 'b' (0 rows)``."""
    return ", ".join(f"{label!r} ({k} row{'s' if k != 1 else ''})" for label, k in counts.items())


def sample_mixture(models: list, sizes: list[int], n_samples: int, random_state: Any,
                   callback: Callback = None, **sample_options: Any) -> np.ndarray:
    """``n_samples`` draws from a mixture of fitted models weighted by their sizes: multinomial counts,
    each model's share drawn with one shared numpy Generator, then the rows shuffled (same seed, same output)."""
    rng = np.random.default_rng(random_state) if not isinstance(random_state, np.random.RandomState) \
        else np.random.default_rng(random_state.randint(2**31))
    weights = np.asarray(sizes, dtype=float)
    counts = rng.multinomial(n_samples, weights / weights.sum())
    out = np.concatenate([m.sample(int(k), rng, callback, **sample_options) for m, k in zip(models, counts)], axis=0)
    return out[rng.permutation(n_samples)]


class ClassConditionalMixin:
    """Per-class models (``class_models_``) on top of an estimator's ``_fit_one`` and ``sample``."""

    def _fit_classes(self, X: Any, y: Any, **overrides: Any) -> None:
        """One empirical model per class, sharing this model's standardization and parameters."""
        if is_dask_array(X):
            raise ValueError("class-conditional fitting (y) is not supported for Dask arrays")
        labels = check_labels(y, self.n_samples_fit_)
        self.classes_, counts = np.unique(labels, return_counts=True)
        # a one-row class has no model (it would only return its point): only a request for it is an error
        self.small_classes_ = {plain_label(c): int(k) for c, k in zip(self.classes_, counts) if k < 2}
        if len(self.small_classes_) == len(self.classes_):
            raise ValueError(f"every class has fewer than 2 rows ({_describe(self.small_classes_)}): an empirical "
                             "diffusion model of one point only returns that point")
        if self.small_classes_:
            warnings.warn(f"class(es) {_describe(self.small_classes_)} have fewer than 2 rows and get no model: "
                          "sample(y=...) refuses them, and samples without y come from the other classes",
                          UserWarning, stacklevel=4)
        self.class_counts_ = {plain_label(c): int(k) for c, k in zip(self.classes_, counts) if k >= 2}
        self.class_models_ = {}
        for label in self.classes_[counts >= 2]:
            model = clone(self).set_params(**overrides)
            model.class_models_ = None
            model._fit_one(X[labels == label], self.standardizer_)
            self.class_models_[plain_label(label)] = model

    def _sample_classes(self, n_samples: int, random_state: Any, callback: Callback, y: Any,
                        **sample_options: Any) -> np.ndarray:
        if y is not None:
            key = plain_label(y)
            if key in self.small_classes_:
                k = self.small_classes_[key]
                raise ValueError(f"class {y!r} has {k} row{'s' if k != 1 else ''} only: a model of one point "
                                 "only returns that point; drop or merge it")
            if key not in self.class_models_:
                raise ValueError(f"unknown class {y!r}; the model was fitted on classes "
                                 f"{list(self.class_models_)}")
            return self.class_models_[key].sample(n_samples, random_state, callback, **sample_options)
        sizes = [self.class_counts_[k] for k in self.class_models_]
        return sample_mixture(list(self.class_models_.values()), sizes, n_samples, random_state, callback,
                              **sample_options)

    def sample_per_class(self, n_per_class: int, random_state: Any = None) -> tuple[np.ndarray, np.ndarray]:
        """``n_per_class`` samples from every class of a model fitted with labels; returns (X, y)."""
        check_is_fitted(self, "class_models_")
        if self.class_models_ is None:
            raise ValueError("sample_per_class needs a model fitted with labels: fit(X, y)")
        n_per_class = check_n_samples(n_per_class, "n_per_class")
        rng = np.random.default_rng(self.random_state if random_state is None else random_state)
        X = [m.sample(n_per_class, rng) for m in self.class_models_.values()]
        y = np.repeat(np.array(list(self.class_models_), dtype=self.classes_.dtype), n_per_class)
        return np.concatenate(X, axis=0), y
