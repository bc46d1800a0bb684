"""How IDM compares on real data (issue 11): train-on-synthetic/test-on-real and image fidelity vs novelty.

**Tabular** (breast cancer, wine, digits; scikit-learn's bundled copies). Per seed: a stratified
train/test split (25 % test), every feature standardized with the training split's mean and standard
deviation (scikit-learn's ``StandardScaler``, applied to every generator alike); each generator models
every class on its own rows and draws as many rows per class as the real training split has; a random
forest and a logistic regression trained on the synthetic rows are scored on the real test split
(TSTR). IDM runs with ``standardize=False`` on these per-feature standardized rows, so its σ is in
units of each feature's standard deviation (what ``standardize="per_feature"`` does); the row
"IDM (c=1, global scale)" keeps the package default (one global scale), for comparison. The IDM rows
run with the posterior-mean inertia step (the default) and, as ``"…, moment)"`` rows, with the
moment-matched step (``inertia="moment"``, family ``"IDM moment…"``).

**Images** (Fashion-MNIST per class, from Debian's ``dataset-fashion-mnist``; skipped without it).
Each class is modelled from ``image_train`` of its training images; a small seeded MLP trained on
other training images (:mod:`~inertial_diffusion_studies.feature_net`) gives fidelity
(share of samples it assigns to their class) and the features of the Fréchet distance and of the
improved precision/recall, both against the class's test images. Novelty: DupRate and the
nearest-neighbour distance ratio (sample -> train over held-out -> train, 1 for fresh data) in
pixel space; variance kept: total pixel variance of the samples over that of the training images.
Frontiers: IDM over ``c`` (each inertia step its own line: families ``"IDM"`` and ``"IDM moment"``),
KDE over multiples of its leave-one-out bandwidth.

Entry point for the ``reproduce`` runner: :func:`run_real_data`; figure: :func:`real_data_figure`;
Markdown: :func:`render_real_data`.
"""

from __future__ import annotations

import csv
import math
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from inertial_diffusion_studies import real_generators as gen
from inertial_diffusion_studies.common import Say, Table
from inertial_diffusion.evaluation.metrics import memorization_report

__all__ = ["RealDataPreset", "run_real_data", "run_tabular", "run_images",
           "tabular_generators", "image_generators", "render_real_data", "real_data_figure"]


@dataclass(frozen=True)
class RealDataPreset:
    """Sizes of the real-data comparison.

    Parameters
    ----------
    name : str
        ``"quick"`` or ``"full"``, matched to the ``reproduce`` preset of the same name.
    tabular_sets : tuple of str
        Tabular data sets, among ``"breast_cancer"``, ``"wine"`` and ``"digits"``.
    tabular_seeds : tuple of int
        Seeds of the train/test splits (and of the generators and forests).
    tabular_generators : tuple of str or None
        Names of :func:`tabular_generators` to run; None runs all.
    forest_trees : int
        Trees of the TSTR random forest.
    image_classes : tuple of int
        Fashion-MNIST classes compared; ``()`` skips the images.
    image_train : int
        Training images per class seen by the generators (also the samples drawn, and the fresh real
        images of the reference row).
    image_test : int
        Test images per class, the reference of the Fréchet distance and precision/recall.
    net_train : int
        Training images of the feature classifier, balanced over ``image_classes``, disjoint from the
        generators' images.
    net_epochs : int
        Epochs of the feature classifier.
    image_seed : int
        Seed of the image split, the classifier and the generators.
    idm_scales : tuple of float
        IDM's ``bandwidth_scale`` values c on images (its frontier).
    kde_factors : tuple of float
        Multiples of the KDE's leave-one-out bandwidth on images (its frontier).
    image_extras : bool
        Also run IDM with ``bandwidth="auto"`` and with ``max_dup_rate`` on images (their bandwidth
        search costs minutes).
    image_generators : tuple of str or None, default None
        Names of :func:`image_generators` to run; None runs all. The fresh real images always run.
    moment_scales : tuple of float, default ()
        ``bandwidth_scale`` values c of IDM with the moment-matched inertia step on images (rows
        ``"IDM moment (c=…)"``, family ``"IDM moment"``: its frontier); ``()`` runs none.
    moment_extras : bool, default False
        Also run the moment step with ``bandwidth="auto"`` and with each of :data:`MOMENT_MAX_DUP_RATES` on
        images (their bandwidth search costs minutes).
    """

    name: str
    tabular_sets: tuple[str, ...]
    tabular_seeds: tuple[int, ...]
    tabular_generators: tuple[str, ...] | None  # None: all
    forest_trees: int
    image_classes: tuple[int, ...]  # () skips the images
    image_train: int  # training images per class seen by the generators (also the samples drawn)
    image_test: int  # test images per class (the reference of FD and precision/recall)
    net_train: int  # training images of the feature classifier, balanced over image_classes, disjoint from the rest
    net_epochs: int
    image_seed: int
    idm_scales: tuple[float, ...]
    kde_factors: tuple[float, ...]
    image_extras: bool  # IDM auto / max_dup_rate on images (their bandwidth search costs minutes)
    image_generators: tuple[str, ...] | None = None  # None: all (the fresh real images always run)
    moment_scales: tuple[float, ...] = ()  # IDM with inertia="moment" on images, over c
    moment_extras: bool = False  # the moment step with bandwidth="auto" / max_dup_rate on images


QUICK_REAL = RealDataPreset(
    name="quick", tabular_sets=("wine", "breast_cancer"), tabular_seeds=(0,),
    tabular_generators=("real (train split)", "noise", "IDM (c=1)", "IDM (c=1, moment)", "empirical DM", "KDE (CV)",
                        "SMOTE"),
    forest_trees=50, image_classes=(0, 7), image_train=150, image_test=150, net_train=2000, net_epochs=3,
    image_seed=0, idm_scales=(0.3, 1.0), kde_factors=(1.0,), image_extras=False, moment_scales=(0.5,),
    moment_extras=False)

FULL_REAL = RealDataPreset(
    name="full", tabular_sets=("breast_cancer", "wine", "digits"), tabular_seeds=(0, 1, 2),
    tabular_generators=None, forest_trees=200, image_classes=tuple(range(10)), image_train=1000,
    image_test=1000, net_train=10000, net_epochs=5, image_seed=0, idm_scales=(0.2, 0.3, 0.5, 1.0),
    kde_factors=(0.25, 0.5, 1.0), image_extras=False, moment_scales=(0.4, 0.5, 0.7, 1.0), moment_extras=True)

#: Novelty target of the "IDM (max_dup_rate)" variant: at most 5 % near-duplicates.
MAX_DUP_RATE = 0.05

#: Novelty targets of the moment step's max_dup_rate variants: the posterior mean's, and a stricter one (the
#: moment step's draws spread around the posterior mean, so it may meet it at a c with a lower FD).
MOMENT_MAX_DUP_RATES = (MAX_DUP_RATE, 0.02)


# ----------------------------------------------------------------------------- generators
def tabular_generators() -> list[gen.Generator]:
    """The generators of the TSTR table, in display order.

    The IDM rows run with ``standardize=False`` on per-feature standardized rows, except
    ``"IDM (c=1, global scale)"`` (the package default); ``"IDM (auto)"`` and ``"IDM (max_dup_rate=…)"``
    search the bandwidth. The ``"…, moment)"`` rows run the same with ``inertia="moment"`` (families
    ``"IDM moment"``, ``"IDM moment auto"``, ``"IDM moment dup"``), with a second novelty target of
    :data:`MOMENT_MAX_DUP_RATES`.

    Returns
    -------
    list of Generator
        References (real rows, noise), IDM variants, the empirical DM and the baselines.

    Examples
    --------
    >>> [g.name for g in tabular_generators()]  # doctest: +NORMALIZE_WHITESPACE
    ['real (train split)', 'noise', 'IDM (c=1)', 'IDM (c=1, global scale)', 'IDM (auto)',
     'IDM (max_dup_rate=0.05)', 'IDM (c=1, moment)', 'IDM (auto, moment)', 'IDM (max_dup_rate=0.05, moment)',
     'IDM (max_dup_rate=0.02, moment)', 'empirical DM', 'KDE (CV)', 'GMM (BIC)', 'SMOTE']
    """
    G = gen.Generator
    return [G("real (train split)", "real", gen.real_copies),
            G("noise", "noise", gen.noise),
            G("IDM (c=1)", "IDM", gen.idm(standardize=False), 1.0),
            G("IDM (c=1, global scale)", "IDM global", gen.idm(), 1.0),
            G("IDM (auto)", "IDM auto", gen.idm(standardize=False, bandwidth="auto")),
            G(f"IDM (max_dup_rate={MAX_DUP_RATE:g})", "IDM dup",
              gen.idm(standardize=False, bandwidth="auto", max_dup_rate=MAX_DUP_RATE)),
            G("IDM (c=1, moment)", "IDM moment", gen.idm(standardize=False, inertia="moment"), 1.0),
            G("IDM (auto, moment)", "IDM moment auto", gen.idm(standardize=False, bandwidth="auto", inertia="moment")),
            *[G(f"IDM (max_dup_rate={rate:g}, moment)", "IDM moment dup",
                gen.idm(standardize=False, bandwidth="auto", max_dup_rate=rate, inertia="moment"))
              for rate in MOMENT_MAX_DUP_RATES],
            G("empirical DM", "empirical DM", gen.empirical_dm),
            G("KDE (CV)", "KDE", gen.kde_cv(), 1.0),
            G("GMM (BIC)", "GMM", gen.gmm_bic()),
            G("SMOTE", "SMOTE", gen.smote())]


def image_generators(preset: RealDataPreset, intrinsic_dim: float) -> list[gen.Generator]:
    """The generators of the image table: IDM over c (d shared) with each inertia step, KDE over bandwidth
    factors, the rest.

    Parameters
    ----------
    preset : RealDataPreset
        Reads ``idm_scales``, ``kde_factors``, ``image_extras``, ``moment_scales`` and ``moment_extras``.
    intrinsic_dim : float
        ``d`` given to every IDM variant (estimated once on the generators' images), so that the
        frontier over c compares one σ rule.

    Returns
    -------
    list of Generator
        IDM per c (``param`` c), optionally IDM auto / max_dup_rate, IDM with ``inertia="moment"`` per c
        (``"IDM moment (c=…)"``, family ``"IDM moment"``), optionally its auto / max_dup_rate rows (one per
        :data:`MOMENT_MAX_DUP_RATES`), the empirical DM, the KDE per factor (``param`` the factor), PCA(50) +
        GMM and SMOTE.

    Examples
    --------
    >>> [g.name for g in image_generators(QUICK_REAL, intrinsic_dim=10.0)]  # doctest: +NORMALIZE_WHITESPACE
    ['IDM (c=0.3)', 'IDM (c=1)', 'IDM moment (c=0.5)', 'empirical DM', 'KDE (CV)', 'PCA(50) + GMM', 'SMOTE']
    >>> moment = [g.name for g in image_generators(FULL_REAL, 10.0) if g.family.startswith("IDM moment")]
    >>> moment  # doctest: +NORMALIZE_WHITESPACE
    ['IDM moment (c=0.4)', 'IDM moment (c=0.5)', 'IDM moment (c=0.7)', 'IDM moment (c=1)', 'IDM moment (auto)',
     'IDM moment (max_dup_rate=0.05)', 'IDM moment (max_dup_rate=0.02)']
    """
    G = gen.Generator
    out = [G(f"IDM (c={c:g})", "IDM", gen.idm(bandwidth_scale=c, intrinsic_dim=intrinsic_dim), c)
           for c in preset.idm_scales]
    if preset.image_extras:
        out += [G("IDM (auto)", "IDM auto", gen.idm(bandwidth="auto", intrinsic_dim=intrinsic_dim)),
                G(f"IDM (max_dup_rate={MAX_DUP_RATE:g})", "IDM dup",
                  gen.idm(bandwidth="auto", max_dup_rate=MAX_DUP_RATE, intrinsic_dim=intrinsic_dim))]
    out += [G(f"IDM moment (c={c:g})", "IDM moment",
              gen.idm(bandwidth_scale=c, inertia="moment", intrinsic_dim=intrinsic_dim), c)
            for c in preset.moment_scales]
    if preset.moment_extras:
        out += [G("IDM moment (auto)", "IDM moment auto",
                  gen.idm(bandwidth="auto", inertia="moment", intrinsic_dim=intrinsic_dim))]
        out += [G(f"IDM moment (max_dup_rate={rate:g})", "IDM moment dup",
                  gen.idm(bandwidth="auto", max_dup_rate=rate, inertia="moment", intrinsic_dim=intrinsic_dim))
                for rate in MOMENT_MAX_DUP_RATES]
    out += [G("empirical DM", "empirical DM", gen.empirical_dm)]
    out += [G("KDE (CV)" if f == 1 else f"KDE ({f:g} x CV)", "KDE", gen.kde_cv(f), f) for f in preset.kde_factors]
    out += [G("PCA(50) + GMM", "PCA+GMM", gen.pca_gmm(50, max_components=3)), G("SMOTE", "SMOTE", gen.smote())]
    return out


def _draw(generator: gen.Generator, X, y, counts, seed) -> tuple[np.ndarray | None, np.ndarray | None, str, float]:
    start = time.perf_counter()
    try:
        with warnings.catch_warnings():
            # IDM's fit-time note on isolated training points is a property measured by DupRate here
            warnings.filterwarnings("ignore", message=".*isolated at the kernel's scale")
            Xs, ys = generator.fit_sample(X, y, counts, seed)
    except gen.GeneratorUnavailable as exc:
        return None, None, f"skipped: {exc}", 0.0
    return Xs, ys, "ok", time.perf_counter() - start


# ----------------------------------------------------------------------------- tabular TSTR
def _tabular_set(name: str) -> tuple[np.ndarray, np.ndarray]:
    from sklearn import datasets

    if name == "digits":
        from inertial_diffusion.evaluation.datasets import load_digits

        return load_digits()
    loaders = {"breast_cancer": datasets.load_breast_cancer, "wine": datasets.load_wine}
    if name not in loaders:
        raise ValueError(f"unknown tabular data set {name!r}; expected breast_cancer, wine or digits")
    return loaders[name](return_X_y=True)


def run_tabular(preset: RealDataPreset, say: Say = print) -> Table:
    """TSTR accuracy (random forest, logistic regression) of every generator on every tabular set and seed.

    Parameters
    ----------
    preset : RealDataPreset
        Reads ``tabular_sets``, ``tabular_seeds``, ``tabular_generators`` and ``forest_trees``.
    say : callable, default print
        Progress callback, one line per step.

    Returns
    -------
    Table
        ``"real_data_tabular"``, one row per (data set, seed, generator): ``data_set``, ``seed``,
        ``generator``, ``family``, ``n_train``, ``n_test``, ``status`` (``"ok"`` or ``"skipped: …"``),
        ``rf_accuracy``, ``lr_accuracy`` (on the real test split), ``dup_rate``, ``nn_ratio`` (against the
        training split, held-out = test split), ``seconds``; the scores are NaN for a skipped generator.

    Raises
    ------
    ValueError
        An unknown name in ``tabular_sets``.
    """
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    table = Table("real_data_tabular")
    chosen = [g for g in tabular_generators()
              if preset.tabular_generators is None or g.name in preset.tabular_generators]
    for data_name in preset.tabular_sets:
        X, y = _tabular_set(data_name)
        for seed in preset.tabular_seeds:
            Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, stratify=y, random_state=seed)
            scaler = StandardScaler().fit(Xtr)
            Xtr, Xte = scaler.transform(Xtr), scaler.transform(Xte)
            labels, sizes = np.unique(ytr, return_counts=True)
            counts = dict(zip(labels.tolist(), sizes.tolist()))
            for g in chosen:
                say(f"  real data: {data_name}, seed {seed}, {g.name}")
                Xs, ys, status, seconds = _draw(g, Xtr, ytr, counts, seed)
                row = dict(data_set=data_name, seed=seed, generator=g.name, family=g.family, n_train=len(Xtr),
                           n_test=len(Xte), status=status, rf_accuracy=math.nan, lr_accuracy=math.nan,
                           dup_rate=math.nan, nn_ratio=math.nan, seconds=seconds)
                if Xs is not None:
                    rf = RandomForestClassifier(preset.forest_trees, random_state=seed, n_jobs=1).fit(Xs, ys)
                    lr = LogisticRegression(max_iter=5000).fit(Xs, ys)
                    rep = memorization_report(Xs, Xtr, held_out=Xte)
                    row.update(rf_accuracy=float(rf.score(Xte, yte)), lr_accuracy=float(lr.score(Xte, yte)),
                               dup_rate=rep.dup_rate, nn_ratio=rep.nn_ratio)
                table.add(**row)
    return table


# ----------------------------------------------------------------------------- images
def _image_split(preset: RealDataPreset) -> dict[str, np.ndarray]:
    """Generator rows, fresh real rows and classifier rows (disjoint, from the training split) and test rows."""
    from inertial_diffusion.evaluation.datasets import load_fashion_mnist

    X, y = load_fashion_mnist("train")
    Xt, yt = load_fashion_mnist("test")
    rng = np.random.default_rng(preset.image_seed)
    perm = rng.permutation(len(X))
    y = y[perm]  # rows are gathered from X through perm at the end: no full permuted copy of the images
    k = preset.image_train
    per_class_net = preset.net_train // len(preset.image_classes)
    gen_idx, fresh_idx, net_idx = [], [], []
    for c in preset.image_classes:  # the classifier learns the compared classes, balanced
        rows = np.flatnonzero(y == c)
        if len(rows) < 2 * k + per_class_net:
            raise ValueError(f"class {c} has {len(rows)} training images; the preset needs {2 * k + per_class_net}")
        gen_idx.append(rows[:k])
        fresh_idx.append(rows[k:2 * k])
        net_idx.append(rows[2 * k:2 * k + per_class_net])
    rest = np.concatenate(net_idx)
    test_idx = np.concatenate([np.flatnonzero(yt == c)[: preset.image_test] for c in preset.image_classes])
    gi, fi = np.concatenate(gen_idx), np.concatenate(fresh_idx)
    return dict(X=X[perm[gi]], y=y[gi], X_fresh=X[perm[fi]], y_fresh=y[fi], X_net=X[perm[rest]], y_net=y[rest],
                X_test=Xt[test_idx], y_test=yt[test_idx])


def _image_row(net, c, samples, train, test, test_feats) -> dict:
    from inertial_diffusion.evaluation.fidelity import frechet_distance, precision_recall

    feats = net.features(samples)
    pr = precision_recall(test_feats, feats, k=3)
    rep = memorization_report(samples, train, held_out=test)
    return dict(fidelity=float(np.mean(net.predict(samples) == c)), fd=frechet_distance(feats, test_feats),
                precision=pr.precision, recall=pr.recall, dup_rate=rep.dup_rate, nn_ratio=rep.nn_ratio,
                variance_kept=float(samples.var(0).sum() / train.var(0).sum()))


def run_images(preset: RealDataPreset, say: Say = print) -> Table:
    """Fashion-MNIST per class: fidelity, FD, precision/recall, DupRate, NN ratio, variance kept (empty
    table, with a note in ``say``, when the Debian files are not installed).

    Parameters
    ----------
    preset : RealDataPreset
        Reads the ``image_*``, ``net_*``, ``idm_scales``, ``kde_factors`` and ``moment_*`` fields; an empty
        ``image_classes`` gives an empty table.
    say : callable, default print
        Progress callback, one line per step.

    Returns
    -------
    Table
        ``"real_data_images"``, one row per (generator, class), the fresh real images first:
        ``generator``, ``family``, ``param``, ``cls``, ``n_train``, ``status``, ``seconds`` (the
        generator's, all classes), ``intrinsic_dim``, ``net_test_accuracy``, and when it ran
        ``fidelity``, ``fd``, ``precision``, ``recall`` (k = 3), ``dup_rate``, ``nn_ratio`` and
        ``variance_kept``.

    Raises
    ------
    ValueError
        A class has fewer training images than the preset needs (``2 * image_train`` plus its share of
        ``net_train``).
    """
    from inertial_diffusion import estimate_intrinsic_dim
    from inertial_diffusion_studies.feature_net import train_feature_net

    table = Table("real_data_images")
    if not preset.image_classes:
        return table
    try:
        data = _image_split(preset)
    except FileNotFoundError as exc:
        say(f"  real data: Fashion-MNIST skipped ({exc})")
        return table
    say(f"  real data: training the feature classifier on {len(data['X_net'])} images")
    net = train_feature_net(data["X_net"], data["y_net"], epochs=preset.net_epochs, seed=preset.image_seed)
    net_test_accuracy = net.accuracy(data["X_test"], data["y_test"])
    d = estimate_intrinsic_dim(data["X"], random_state=preset.image_seed)
    counts = {c: preset.image_train for c in preset.image_classes}
    fresh = gen.Generator("real (fresh images)", "real", lambda *a: (data["X_fresh"], data["y_fresh"]))
    by_class = {c: (data["X"][data["y"] == c], data["X_test"][data["y_test"] == c]) for c in preset.image_classes}
    test_feats = {c: net.features(by_class[c][1]) for c in preset.image_classes}
    chosen = [g for g in image_generators(preset, d)
              if preset.image_generators is None or g.name in preset.image_generators]
    for g in [fresh] + chosen:
        say(f"  real data: Fashion-MNIST, {g.name}")
        Xs, ys, status, seconds = _draw(g, data["X"], data["y"], counts, preset.image_seed)
        for c in preset.image_classes:
            row = dict(generator=g.name, family=g.family, param=g.param, cls=c, n_train=preset.image_train,
                       status=status, seconds=seconds, intrinsic_dim=d, net_test_accuracy=net_test_accuracy)
            if Xs is not None:
                row.update(_image_row(net, c, Xs[ys == c], *by_class[c], test_feats[c]))
            table.add(**row)
    return table


# ----------------------------------------------------------------------------- output
def _write_csv(table: Table, folder: Path) -> None:
    keys = list(dict.fromkeys(k for r in table.rows for k in r))
    with open(folder / f"{table.name}.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=keys)
        writer.writeheader()
        writer.writerows(table.rows)


def _mean_sd(values: list[float], scale: float = 1.0, digits: int = 3) -> str:
    v = np.asarray([x for x in values if not math.isnan(x)], float) * scale
    if v.size == 0:
        return "—"
    return f"{v.mean():.{digits}f}" + (f" ± {v.std(ddof=1):.{digits}f}" if v.size > 1 else "")


def render_real_data(tables: dict[str, Table]) -> str:
    """Markdown: the TSTR table (mean ± sd over seeds) and the image table (mean over classes).

    Parameters
    ----------
    tables : dict of str to Table
        May hold ``"real_data_tabular"`` and ``"real_data_images"``; an absent or empty one is left out.

    Returns
    -------
    str
        The Markdown text (empty when neither table has rows); a generator skipped everywhere shows
        ``skipped`` cells.

    Examples
    --------
    >>> from inertial_diffusion_studies.common import Table
    >>> tab = Table("real_data_tabular")
    >>> for seed, rf in ((0, 0.9), (1, 0.8)):
    ...     tab.add(data_set="wine", seed=seed, generator="SMOTE", status="ok", rf_accuracy=rf,
    ...             lr_accuracy=0.95, dup_rate=0.0, nn_ratio=0.5)
    >>> print(render_real_data({"real_data_tabular": tab}))
    TSTR accuracy on the real test split (mean ± sd over seeds [0, 1]; RF / LR).
    <BLANKLINE>
    | generator | wine RF / LR | DupRate % | NN ratio |
    |---|---|---|---|
    | SMOTE | 0.850 ± 0.071 / 0.950 ± 0.000 | 0.0 ± 0.0 | 0.50 ± 0.00 |
    <BLANKLINE>
    """
    out = []
    tab = tables.get("real_data_tabular")
    if tab is not None and tab.rows:
        sets = list(dict.fromkeys(r["data_set"] for r in tab.rows))
        seeds = sorted({r["seed"] for r in tab.rows})
        head = ["generator"] + [f"{s} RF / LR" for s in sets] + ["DupRate %", "NN ratio"]
        out += [f"TSTR accuracy on the real test split (mean ± sd over seeds {seeds}; RF / LR).", "",
                "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for name in dict.fromkeys(r["generator"] for r in tab.rows):
            rows = tab.select(generator=name)
            if all(r["status"] != "ok" for r in rows):
                out.append(f"| {name} | " + " | ".join(["skipped"] * (len(head) - 1)) + " |")
                continue
            cells = [f"{_mean_sd([r['rf_accuracy'] for r in tab.select(generator=name, data_set=s)])} / "
                     f"{_mean_sd([r['lr_accuracy'] for r in tab.select(generator=name, data_set=s)])}" for s in sets]
            cells += [_mean_sd([r["dup_rate"] for r in rows], 100, 1), _mean_sd([r["nn_ratio"] for r in rows], 1, 2)]
            out.append(f"| {name} | " + " | ".join(cells) + " |")
        out.append("")
    img = tables.get("real_data_images")
    if img is not None and img.rows:
        classes = sorted({r["cls"] for r in img.rows})
        cols = [("fidelity", 1, 3), ("fd", 1, 1), ("precision", 1, 3), ("recall", 1, 3), ("dup_rate", 100, 1),
                ("nn_ratio", 1, 2), ("variance_kept", 1, 2)]
        head = ["generator", "fidelity", "FD", "precision", "recall", "DupRate %", "NN ratio", "variance kept"]
        out += [f"Fashion-MNIST per class (mean over classes {classes}; classifier test accuracy "
                f"{img.rows[0]['net_test_accuracy']:.3f}).", "",
                "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for name in dict.fromkeys(r["generator"] for r in img.rows):
            rows = img.select(generator=name)
            if rows[0]["status"] != "ok":
                out.append(f"| {name} | " + " | ".join(["skipped"] * (len(head) - 1)) + " |")
                continue
            means = [np.mean([r[k] for r in rows]) * s for k, s, _ in cols]
            out.append(f"| {name} | " + " | ".join(f"{m:.{dg}f}" for m, (_, _, dg) in zip(means, cols)) + " |")
        out.append("")
    return "\n".join(out)


def real_data_figure(images: Table, path: Path) -> None:
    """Fidelity–novelty frontiers: FD, precision and recall against the NN distance ratio, one line
    per family (IDM over c, the moment step over c, KDE over its bandwidth factor; the moment step's
    families dashed with open diamonds). Precision alone flatters a generator that collapses onto the
    densest images; recall shows the collapse.

    Parameters
    ----------
    images : Table
        The ``"real_data_images"`` table of :func:`run_images` (rows with ``status`` other than ``"ok"``
        are left out).
    path : Path
        The PNG file to write.
    """
    from inertial_diffusion.evaluation.plots import pyplot

    plt = pyplot()
    rows = [r for r in images.rows if r["status"] == "ok"]
    keys = ("fd", "precision", "recall")
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.2))
    for family in dict.fromkeys(r["family"] for r in rows):
        names = list(dict.fromkeys(r["generator"] for r in rows if r["family"] == family))
        pts = np.array([[np.mean([r[k] for r in rows if r["generator"] == n]) for k in ("nn_ratio",) + keys]
                        for n in names])
        order = np.argsort(pts[:, 0])
        moment = family.startswith("IDM moment")  # the moment step: dashed, open diamonds
        style = dict(marker="D" if moment else "o" if len(names) > 1 else "s", ls=("--" if moment else "-")
                     if len(names) > 1 else "none", mfc="none" if moment else None)
        for ax, j in zip(axes, range(1, 4)):
            ax.plot(pts[order, 0], pts[order, j], label=family, **style)
            if len(names) > 1:
                for i in order:
                    ax.annotate(names[i].split("(")[-1].rstrip(")"), (pts[i, 0], pts[i, j]), fontsize=6,
                                textcoords="offset points", xytext=(3, 3))
    axes[0].set_yscale("log")
    for ax, label in zip(axes, ("Fréchet distance on classifier features (lower is better)",
                                "improved precision, k = 3 (fidelity)", "improved recall, k = 3 (coverage)")):
        ax.set_ylabel(label, fontsize=8)
        ax.set_xlabel("NN distance ratio (1 = as novel as fresh data)", fontsize=8)
        ax.axvline(1.0, color="grey", lw=0.5)
    axes[2].legend(fontsize=7)
    fig.suptitle("Fashion-MNIST per class (mean over classes): fidelity against novelty", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def run_real_data(preset_name: str | RealDataPreset, out_dir: Path, say: Say = print) -> dict[str, Table]:
    """Run both parts, write ``real_data_tabular.csv``, ``real_data_images.csv``, ``real_data.md`` and
    ``real_data_frontier.png`` (when images ran) to ``out_dir``; return the tables by name.

    ``preset_name``: "quick" or "full" (the ``real`` sizes of :data:`~inertial_diffusion_studies.presets.PRESETS`),
    or a :class:`RealDataPreset`.

    Parameters
    ----------
    preset_name : str or RealDataPreset
        The preset, by name or itself.
    out_dir : Path
        Output folder, created if missing.
    say : callable, default print
        Progress callback, one line per step.

    Returns
    -------
    dict of str to Table
        ``"real_data_tabular"`` and ``"real_data_images"`` (the latter empty when the images were
        skipped), each with its ``seconds``.

    Raises
    ------
    ValueError
        Unknown preset name, or as :func:`run_tabular` and :func:`run_images`.
    """
    from inertial_diffusion_studies.presets import PRESETS  # the one preset system (it imports this module)

    if isinstance(preset_name, RealDataPreset):
        preset = preset_name
    elif preset_name in PRESETS:
        preset = PRESETS[preset_name].real
    else:
        raise ValueError(f"unknown preset {preset_name!r}; expected one of {sorted(PRESETS)}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tables = {}
    for name, step in (("real_data_tabular", run_tabular), ("real_data_images", run_images)):
        start = time.perf_counter()
        tables[name] = step(preset, say)
        tables[name].seconds = time.perf_counter() - start
        _write_csv(tables[name], out_dir)
    if tables["real_data_images"].rows:
        real_data_figure(tables["real_data_images"], out_dir / "real_data_frontier.png")
    (out_dir / "real_data.md").write_text(render_real_data(tables))
    return tables
