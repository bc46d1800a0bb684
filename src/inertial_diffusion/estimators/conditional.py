"""Class-conditional generation: one empirical model per class, sharing one standardization.

Used by :class:`~inertial_diffusion.InertialDiffusion` and :class:`~inertial_diffusion.EmpiricalDiffusion`
through ``fit(X, y)``, ``sample(m, y=label)`` and ``sample_per_class(n)``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
from sklearn.base import clone
from sklearn.utils.validation import check_is_fitted

from inertial_diffusion.backends.factory import is_dask_array
from inertial_diffusion.core.samplers import Callback
from inertial_diffusion.core.validation import check_n_samples, plain_label

if TYPE_CHECKING:  # the estimators import this mixin: their types are only needed by the type checker
    from inertial_diffusion.core.standardize import Standardizer
    from inertial_diffusion.estimators._base import DiffusionBase

__all__ = ["ClassConditionalMixin", "check_labels", "sample_mixture"]


def check_labels(y: Any, n_rows: int) -> np.ndarray:
    """Check class labels: one per row, none missing.

    NaN and None are reported as missing labels with their first row, rather than surfacing later
    as an empty class or an unsortable ``y`` in ``np.unique``.

    Parameters
    ----------
    y : array-like of shape (n_rows,)
        Class labels (numbers, strings or other hashable objects).
    n_rows : int
        Number of rows of ``X`` the labels belong to.

    Returns
    -------
    ndarray of shape (n_rows,)
        ``y`` as a numpy array (dtype unchanged).

    Raises
    ------
    ValueError
        ``y`` not 1-D, of the wrong length, with NaN/None entries, or mixing numbers and text.

    Examples
    --------
    >>> check_labels(["a", "b", "a"], 3)
    array(['a', 'b', 'a'], dtype='<U1')
    >>> check_labels([0.0, float("nan"), 1.0], 3)
    Traceback (most recent call last):
    ...
    ValueError: y has 1 missing label(s) (NaN/None), first at row 1; drop those rows or give them a class
    """
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
    if labels.dtype == object:  # np.unique sorts the labels: numbers beside text cannot be ordered
        kinds = {"number" if isinstance(v, (int, float, np.number)) and not isinstance(v, bool) else
                 type(v).__name__ for v in labels}
        if len(kinds) > 1:
            raise ValueError(f"y mixes label types ({', '.join(sorted(kinds))}), e.g. 1 and '1'; give every label "
                             "the same type (all text or all numbers)")
    return labels


def _describe(counts: dict, shown: int = 5) -> str:
    """``'a' (1 row), 'b' (0 rows)``, the first ``shown`` of them and how many more (a message stays one line)."""
    items = [f"{label!r} ({k} row{'s' if k != 1 else ''})" for label, k in counts.items()]
    more = f" and {len(items) - shown} more" if len(items) > shown else ""
    return ", ".join(items[:shown]) + more


def sample_mixture(models: list, sizes: list[int], n_samples: int, random_state: Any,
                   callback: Callback = None, **sample_options: Any) -> np.ndarray:
    """``n_samples`` draws from a mixture of fitted models, weighted by their sizes.

    The counts per model are multinomial with probabilities ``sizes / sum(sizes)``; each model draws
    its share with one shared numpy Generator (passed as its ``random_state``), and the rows are then
    shuffled so that their order carries no model information. Same seed, same output. This is how a
    model fitted with labels, or with several separated components, samples without ``y``.

    Parameters
    ----------
    models : list of fitted estimators
        Each with ``sample(n, random_state=..., **options)`` (and ``callback=`` when one is given).
    sizes : list of int
        Mixture weights (training rows of each model), same length as ``models``.
    n_samples : int
        Total number of samples.
    random_state : None, int, numpy RandomState or Generator
        Seeds the counts, every model's draws and the shuffle.
    callback : callable, optional
        Passed to each model's ``sample``.
    **sample_options
        Further keyword arguments of each model's ``sample`` (e.g. ``exclude_copies=True``).

    Returns
    -------
    ndarray of shape (n_samples, D)
        The samples, in random order.

    Examples
    --------
    >>> import numpy as np
    >>> from inertial_diffusion import EmpiricalDiffusion
    >>> rng = np.random.default_rng(0)
    >>> near = EmpiricalDiffusion().fit(rng.normal(size=(20, 1)))
    >>> far = EmpiricalDiffusion().fit(rng.normal(size=(20, 1)) + 100.0)
    >>> S = sample_mixture([near, far], [1, 3], 1000, random_state=0)
    >>> S.shape, round(float(np.mean(S[:, 0] > 50)), 1)  # about 3/4 from the second model
    ((1000, 1), 0.7)
    """
    rng = np.random.default_rng(random_state) if not isinstance(random_state, np.random.RandomState) \
        else np.random.default_rng(random_state.randint(2**31))
    weights = np.asarray(sizes, dtype=float)
    counts = rng.multinomial(n_samples, weights / weights.sum())
    if callback is not None:  # only then: a model without a callback (AmbientKDE) can be mixed too
        sample_options = {**sample_options, "callback": callback}
    out = np.concatenate([m.sample(int(k), random_state=rng, **sample_options) for m, k in zip(models, counts)],
                         axis=0)
    return out[rng.permutation(n_samples)]


class ClassConditionalMixin:
    """Per-class models (``class_models_``) on top of an estimator's ``_fit_one`` and ``sample``.

    ``fit(X, y)`` keeps, besides the model of all rows, one clone per class with at least 2 rows,
    fitted on that class's rows with the common standardization (so all classes share one coordinate
    system). Classes with one row get no model and are recorded in ``small_classes_``.
    ``sample(m)`` then draws from the classes in proportion to their sizes, ``sample(m, y=label)``
    from one class, and :meth:`sample_per_class` from each.
    """

    # of the estimator this is mixed into: its parameter and what its ``fit`` sets before ``_fit_classes``
    random_state: Any
    n_samples_fit_: int
    standardizer_: Standardizer
    # fitted here (``class_models_`` is None after a fit without labels)
    classes_: np.ndarray
    small_classes_: dict[Any, int]
    class_counts_: dict[Any, int]
    class_models_: dict[Any, DiffusionBase] | None

    def _fit_classes(self, X: Any, y: Any, callback: Callable[[dict], None] | None = None, **overrides: Any) -> None:
        """One empirical model per class, sharing this model's standardization and parameters; ``callback``
        (progress of a class's own search) gets the class's ``"label"`` added."""
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
            model.discrete_dims_ = getattr(self, "discrete_dims_", None)  # a table's codes, drawn from one row
            if callback is None:
                model._fit_one(X[labels == label], self.standardizer_)
            else:
                model._fit_one(X[labels == label], self.standardizer_,
                               callback=lambda info, _label=plain_label(label): callback({**info, "label": _label}))
            self.class_models_[plain_label(label)] = model

    def _sample_classes(self, n_samples: int, random_state: Any, callback: Callback, y: Any,
                        **sample_options: Any) -> np.ndarray:
        assert self.class_models_ is not None, "called only on a model fitted with labels"
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
        """``n_per_class`` samples from every class of a model fitted with labels.

        Parameters
        ----------
        n_per_class : int
            Samples drawn from each class's model.
        random_state : None, int, numpy RandomState or Generator, optional
            Overrides the estimator's ``random_state`` for this call; one Generator seeds every class.

        Returns
        -------
        X : ndarray of shape (n_classes * n_per_class, D)
            The samples, grouped by class in the order of ``class_models_`` (sorted labels).
        y : ndarray of shape (n_classes * n_per_class,)
            Their labels, with the dtype of ``classes_``. Classes with fewer than 2 rows are left out.

        Raises
        ------
        ValueError
            A model fitted without labels, or ``n_per_class`` negative.

        Examples
        --------
        >>> import numpy as np
        >>> from inertial_diffusion import InertialDiffusion
        >>> rng = np.random.default_rng(0)
        >>> X = rng.normal(size=(80, 2))
        >>> model = InertialDiffusion(intrinsic_dim=2).fit(X, np.repeat([0, 1], 40))
        >>> Xs, ys = model.sample_per_class(3, random_state=0)
        >>> Xs.shape, ys.tolist()
        ((6, 2), [0, 0, 0, 1, 1, 1])
        """
        check_is_fitted(self, "class_models_")
        if self.class_models_ is None:
            raise ValueError("sample_per_class needs a model fitted with labels: fit(X, y)")
        n_per_class = check_n_samples(n_per_class, "n_per_class")
        rng = np.random.default_rng(self.random_state if random_state is None else random_state)
        X = [m.sample(n_per_class, rng) for m in self.class_models_.values()]
        y = np.repeat(np.array(list(self.class_models_), dtype=self.classes_.dtype), n_per_class)
        decode = getattr(self, "_decode", None)  # a table's samples come back as a table
        return (decode(np.concatenate(X, axis=0), rng) if decode is not None else np.concatenate(X, axis=0)), y
