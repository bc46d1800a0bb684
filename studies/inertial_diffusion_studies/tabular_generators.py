"""The generators of the tabular benchmark (:mod:`~inertial_diffusion_studies.tabular`): IDM's
steps, the empirical DM, KDE and a Gaussian mixture on the encoded columns, SMOTE-NC, ForestDiffusion and SDV."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

__all__ = ["GeneratorUnavailable", "TabularGenerator", "tabular_generators", "safe_transform"]


class GeneratorUnavailable(RuntimeError):
    """A peer that is not installed: its row is reported as skipped."""


#: ``fit_sample(train, m, seed) -> synthetic frame with train's columns``
FitSample = Callable[[Any, int, int], Any]


@dataclass(frozen=True)
class TabularGenerator:
    """A named generator of tables: ``fit_sample(train, m, seed)``.

    Parameters
    ----------
    name : str
        Row label.
    family : str
        Line of the figure.
    fit_sample : callable
        ``(train frame, rows, seed) -> frame`` with the training table's columns.
    licence : str
        The peer's licence.
    """

    name: str
    family: str
    fit_sample: FitSample
    licence: str = "MIT"


def _idm(**params: Any) -> FitSample:
    def fit_sample(train, m, seed):
        from inertial_diffusion import InertialDiffusion

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # isolated points and rare categories are measured, not failures
            model = InertialDiffusion(standardize="per_feature", random_state=seed, **params).fit(train)
            return model.sample(m)
    return fit_sample


def _empirical(train, m, seed):
    from inertial_diffusion import EmpiricalDiffusion

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return EmpiricalDiffusion(standardize="per_feature", random_state=seed).fit(train).sample(m)


def _encoded_model(make: Callable[[np.ndarray, int], Callable[[int], np.ndarray]]) -> FitSample:
    """A generator of encoded rows (numbers per feature standardized, categories one-hot), decoded like IDM's."""
    def fit_sample(train, m, seed):
        from inertial_diffusion.tables.encoder import TableEncoder

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            encoder = TableEncoder(scale_numeric=True).fit(train)
        E = encoder.transform(train)
        draw = make(E, seed)
        return encoder.inverse_transform(draw(m), np.random.default_rng(seed + 1))
    return fit_sample


def _kde(E: np.ndarray, seed: int) -> Callable[[int], np.ndarray]:
    from sklearn.model_selection import GridSearchCV
    from sklearn.neighbors import KernelDensity

    search = GridSearchCV(KernelDensity(), {"bandwidth": np.geomspace(0.05, 2.0, 15)}, cv=5).fit(E)
    kde = search.best_estimator_
    return lambda m: kde.sample(m, random_state=seed)


def _gmm(E: np.ndarray, seed: int) -> Callable[[int], np.ndarray]:
    from sklearn.mixture import GaussianMixture

    fits = [GaussianMixture(k, covariance_type="full", reg_covar=1e-4, random_state=seed).fit(E)
            for k in (1, 2, 4, 8, 16) if k <= len(E) // 10 or k == 1]
    best = min(fits, key=lambda g: g.bic(E))
    return lambda m: best.sample(m)[0][np.random.default_rng(seed).permutation(m)]


def _smote_nc(train, m, seed):
    """SMOTE-NC as a generator: numbers on the segment to a nearest neighbour, categories by majority of 5."""
    import pandas as pd
    from sklearn.neighbors import NearestNeighbors

    from inertial_diffusion.tables.encoder import TableEncoder

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        encoder = TableEncoder(scale_numeric=True).fit(train)
    E = encoder.transform(train)
    rng = np.random.default_rng(seed)
    k = min(5, len(E) - 1)
    _, nn = NearestNeighbors(n_neighbors=k + 1).fit(E).kneighbors(E)
    base = rng.integers(len(E), size=m)
    partner = nn[base, rng.integers(1, k + 1, size=m)]
    out = E[base] + rng.random((m, 1)) * (E[partner] - E[base])
    rows = train.reset_index(drop=True)
    synthetic = encoder.inverse_transform(out, rng)
    for spec in encoder.columns_:
        if not spec.numeric:  # the majority among the k neighbours (ties: the first)
            votes = rows[spec.name].to_numpy(dtype=object)[nn[base, 1:]]
            synthetic[spec.name] = pd.Series([pd.Series(v).mode(dropna=False).iloc[0] for v in votes],
                                             dtype=object).astype(synthetic[spec.name].dtype, errors="ignore")
    return synthetic


def _forest_diffusion(train, m, seed):
    try:
        from ForestDiffusion import ForestDiffusionModel
    except ImportError as exc:
        raise GeneratorUnavailable("pip install forestdiffusion") from exc
    import pandas as pd

    # ForestDiffusion takes a float matrix: categories (and booleans) as integer codes, NaN for missing
    codes, cat_idx, int_idx, bin_idx = {}, [], [], []
    columns = []
    for j, col in enumerate(train.columns):
        s = train[col]
        if s.dtype == object or str(s.dtype) in ("str", "string", "category") or s.dtype == bool:
            cats = sorted(s.dropna().unique().tolist(), key=str)
            codes[col] = cats
            columns.append(s.map({c: float(i) for i, c in enumerate(cats)}).astype(float))
            (bin_idx if len(cats) == 2 else cat_idx).append(j)
        else:
            columns.append(pd.to_numeric(s, errors="coerce").astype(float))
            if np.issubdtype(s.dtype, np.integer) or str(s.dtype).startswith("Int"):
                int_idx.append(j)
    X = np.column_stack(columns)
    model = ForestDiffusionModel(X, cat_indexes=cat_idx, bin_indexes=bin_idx, int_indexes=int_idx, n_jobs=2,
                                 seed=seed)
    S = model.generate(batch_size=m)
    out = {}
    for j, col in enumerate(train.columns):
        if col in codes:
            cats = codes[col]
            out[col] = pd.Series([cats[int(v)] if np.isfinite(v) and 0 <= int(v) < len(cats) else None
                                  for v in np.round(S[:, j])], dtype=object)
        else:
            out[col] = pd.Series(S[:, j])
    return pd.DataFrame(out)


def _gaussian_copula(train, m, seed):
    try:
        from sdv.metadata import Metadata
        from sdv.single_table import GaussianCopulaSynthesizer
    except ImportError as exc:
        raise GeneratorUnavailable("pip install sdv (BSL-1.1 licence: not free for commercial use)") from exc
    import random

    random.seed(seed)
    np.random.seed(seed)  # SDV draws from numpy's global generator; seeded here, in this benchmark only
    metadata = Metadata.detect_from_dataframes({"table": train})
    synth = GaussianCopulaSynthesizer(metadata)
    try:
        synth.fit(train)
    except Exception:  # SDV 2 takes {table name: frame} in some versions
        synth.fit({"table": train})
    out = synth.sample(m)
    return (out["table"] if isinstance(out, dict) else out).reset_index(drop=True)


def tabular_generators() -> list[TabularGenerator]:
    """The generators of the benchmark, in display order.

    Returns
    -------
    list of TabularGenerator

    Examples
    --------
    >>> [g.name for g in tabular_generators()][:4]
    ['real (train split)', 'IDM (posterior mean)', 'IDM (moment)', 'IDM (moment, auto)']
    """
    G = TabularGenerator
    return [
        G("real (train split)", "real", lambda train, m, seed: train.sample(m, replace=m > len(train),
                                                                            random_state=seed).reset_index(drop=True)),
        G("IDM (posterior mean)", "IDM", _idm()),
        G("IDM (moment)", "IDM moment", _idm(inertia="moment")),
        G("IDM (moment, auto)", "IDM moment", _idm(inertia="moment", bandwidth="auto")),
        G("IDM (moment, categorical_weight=0.5)", "IDM weight", _idm(inertia="moment", categorical_weight=0.5)),
        G("IDM (moment, categorical_weight=2)", "IDM weight", _idm(inertia="moment", categorical_weight=2.0)),
        G("IDM (moment, max_dup_rate=0.05)", "IDM moment", _idm(inertia="moment", bandwidth="auto",
                                                                 max_dup_rate=0.05)),
        G("empirical DM", "empirical DM", _empirical),
        G("KDE (CV)", "KDE", _encoded_model(_kde)),
        G("Gaussian mixture (BIC)", "GMM", _encoded_model(_gmm)),
        G("SMOTE-NC", "SMOTE", _smote_nc),
        G("ForestDiffusion", "ForestDiffusion", _forest_diffusion),
        G("SDV GaussianCopula", "SDV", _gaussian_copula, licence="BSL-1.1"),
    ]


def safe_transform(encoder: Any, frame: Any) -> np.ndarray:
    """``encoder.transform`` of a peer's rows: a category the real rows lack, or a missing value where they had
    none, becomes a neutral code (the first category, the median) instead of an error.

    Parameters
    ----------
    encoder : TableEncoder
        Fitted on real rows.
    frame : pandas.DataFrame
        Rows with the encoder's columns.

    Returns
    -------
    ndarray
    """
    import pandas as pd

    fixed = {}
    for spec in encoder.columns_:
        s = frame[spec.name]
        if not spec.numeric:
            allowed = set(spec.categories)
            s = s.where(s.isin(allowed) | s.isna(), None)
            if not spec.has_missing:
                s = s.fillna(spec.categories[0])
        elif not spec.has_missing and s.isna().any():
            s = s.fillna(s.median() if s.notna().any() else 0)
        fixed[spec.name] = s
    return encoder.transform(pd.DataFrame(fixed))
