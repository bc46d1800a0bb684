"""The real-data comparison: generators' contracts, the TSTR table and the image table on tiny presets."""

import dataclasses
import math

import numpy as np
import pytest

from inertial_diffusion_studies import real_generators as gen
from inertial_diffusion_studies.real_data import (QUICK_REAL, real_data_figure,
                                                  render_real_data, run_real_data, run_tabular)

TINY = dataclasses.replace(
    QUICK_REAL, name="tiny", tabular_sets=("wine",), tabular_seeds=(0,),
    tabular_generators=("real (train split)", "noise", "IDM (c=1)", "IDM (c=1, moment)", "empirical DM", "SMOTE"),
    forest_trees=30, image_classes=())


def _fashion_available() -> bool:
    from inertial_diffusion.evaluation.datasets import FASHION_MNIST_DIR
    from pathlib import Path

    return (Path(FASHION_MNIST_DIR) / "train-images-idx3-ubyte.gz").exists() or \
        (Path(FASHION_MNIST_DIR) / "train-images-idx3-ubyte").exists()


# ----------------------------------------------------------------------------- generators
def _two_blobs(seed=0):
    rng = np.random.default_rng(seed)
    X = np.vstack([rng.normal(size=(40, 3)), rng.normal(size=(30, 3)) + 6.0])
    y = np.array([0] * 40 + [1] * 30)
    return X, y


@pytest.mark.parametrize("name", ["noise", "idm", "empirical_dm", "kde", "gmm", "pca_gmm", "smote"])
def test_generators_draw_the_asked_counts_and_are_seeded(name):
    fit_sample = {"noise": gen.noise, "idm": gen.idm(), "empirical_dm": gen.empirical_dm, "kde": gen.kde_cv(),
                  "gmm": gen.gmm_bic(2), "pca_gmm": gen.pca_gmm(2, 2), "smote": gen.smote()}[name]
    X, y = _two_blobs()
    counts = {0: 7, 1: 11}
    Xs, ys = fit_sample(X, y, counts, 3)
    assert Xs.shape == (18, 3) and np.bincount(ys).tolist() == [7, 11]
    again, _ = fit_sample(X, y, counts, 3)
    np.testing.assert_array_equal(Xs, again)
    assert not np.array_equal(Xs, fit_sample(X, y, counts, 4)[0])
    if name != "noise":  # class-conditional: each class's samples stay near its own blob (6 apart)
        assert np.linalg.norm(Xs[ys == 1].mean(0) - X[y == 1].mean(0)) < 1.5
        assert np.linalg.norm(Xs[ys == 0].mean(0) - X[y == 0].mean(0)) < 1.5


def test_smote_samples_lie_on_segments_to_a_neighbour():
    X = np.array([[0.0, 0.0], [1.0, 0.0], [10.0, 10.0], [10.0, 12.0]])
    y = np.array([0, 0, 1, 1])
    Xs, ys = gen.smote(k=1)(X, y, {0: 50, 1: 50}, 0)
    zero, one = Xs[ys == 0], Xs[ys == 1]
    assert np.all(zero[:, 1] == 0) and np.all((zero[:, 0] >= 0) & (zero[:, 0] <= 1))
    assert np.all(one[:, 0] == 10) and np.all((one[:, 1] >= 10) & (one[:, 1] <= 12))
    assert np.unique(zero[:, 0]).size > 40  # interpolates, does not copy


def test_kde_loo_bandwidth_is_scale_equivariant_and_near_silverman():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 1))
    h, on_edge = gen.kde_loo_bandwidth(x)
    silverman = 1.06 * x.std() * 400 ** (-1 / 5)  # the normal-reference optimum; LOO-ML lands near it
    assert not on_edge and 0.5 * silverman < h < 2 * silverman
    h5, _ = gen.kde_loo_bandwidth(5 * x)
    assert h5 == pytest.approx(5 * h, rel=1e-12)


def test_a_variant_with_a_parameter_not_accepted_yet_is_skipped():
    from inertial_diffusion_studies.real_data import _draw

    X, y = _two_blobs()
    g = gen.Generator("IDM (future)", "IDM", gen.idm(no_such_parameter=1))
    Xs, ys, status, _ = _draw(g, X, y, {0: 3, 1: 3}, 0)
    assert Xs is None and status.startswith("skipped") and "no_such_parameter" in status


# ----------------------------------------------------------------------------- tables
@pytest.fixture(scope="module")
def tiny_tabular():
    return run_tabular(TINY, say=lambda m: None)


def test_tstr_table_structure_and_known_properties(tiny_tabular):
    table = tiny_tabular
    assert [r["generator"] for r in table.rows] == list(TINY.tabular_generators)
    for r in table.rows:
        assert r["status"] == "ok" and 0 <= r["rf_accuracy"] <= 1 and 0 <= r["lr_accuracy"] <= 1
    real, noise = table.select(generator="real (train split)")[0], table.select(generator="noise")[0]
    # wine has three classes of similar size: label-free noise is near chance, real data near perfect
    assert real["rf_accuracy"] > 0.9 and noise["rf_accuracy"] < 0.6
    assert real["rf_accuracy"] - noise["rf_accuracy"] > 0.3
    # the empirical DM returns training rows: every sample is a near-duplicate
    assert table.select(generator="empirical DM")[0]["dup_rate"] > 0.99
    assert real["dup_rate"] == 1.0 and real["nn_ratio"] == 0.0
    # the moment step draws around the posterior mean: further from the training rows than the posterior mean
    idm, moment = table.select(generator="IDM (c=1)")[0], table.select(generator="IDM (c=1, moment)")[0]
    assert moment["family"] == "IDM moment" and moment["nn_ratio"] > idm["nn_ratio"]
    assert noise["dup_rate"] < 0.05 and noise["nn_ratio"] > 1.0


def test_run_real_data_writes_its_files_and_renders(tmp_path, tiny_tabular):
    tables = run_real_data(TINY, tmp_path, say=lambda m: None)
    assert (tmp_path / "real_data_tabular.csv").read_text().count("\n") == len(TINY.tabular_generators) + 1
    text = (tmp_path / "real_data.md").read_text()
    assert "TSTR" in text and "| empirical DM |" in text and "wine RF / LR" in text
    assert tables["real_data_images"].rows == []  # no image classes in this preset
    with pytest.raises(ValueError, match="preset"):
        run_real_data("medium", tmp_path)


@pytest.mark.slow  # reads all 60000 Fashion-MNIST training images
@pytest.mark.skipif(not _fashion_available(), reason="dataset-fashion-mnist is not installed")
def test_image_table_on_two_tiny_classes(tmp_path):
    from inertial_diffusion_studies.real_data import run_images

    preset = dataclasses.replace(TINY, tabular_sets=(), image_classes=(1, 9), image_train=60, image_test=60,
                                 net_train=400, net_epochs=2, idm_scales=(1.0,), kde_factors=(1.0,))
    table = run_images(preset, say=lambda m: None)
    names = list(dict.fromkeys(r["generator"] for r in table.rows))
    assert names[0] == "real (fresh images)" and "IDM (c=1)" in names and "SMOTE" in names
    assert "IDM moment (c=0.5)" in names and table.select(generator="IDM moment (c=0.5)")[0]["family"] == "IDM moment"
    row = {n: table.select(generator=n, cls=1)[0] for n in names}
    # trousers (1) and ankle boots (9) are easy: fresh real images are recognised
    assert row["real (fresh images)"]["fidelity"] > 0.8
    assert row["empirical DM"]["dup_rate"] > 0.99 and row["real (fresh images)"]["dup_rate"] < 0.2
    for r in table.rows:
        assert not math.isnan(r["fd"]) and 0 <= r["precision"] <= 1 and 0 <= r["recall"] <= 1
    real_data_figure(table, tmp_path / "frontier.png")
    assert (tmp_path / "frontier.png").stat().st_size > 10_000
    assert "Fashion-MNIST per class" in render_real_data({"real_data_images": table})


def test_frontier_figure_draws_the_moment_step_as_its_own_line(tmp_path):
    from inertial_diffusion_studies.common import Table

    table = Table("real_data_images")
    rows = (("IDM (c=0.3)", "IDM", 0.3, 0.5), ("IDM (c=1)", "IDM", 1.0, 0.7),
            ("IDM moment (c=0.5)", "IDM moment", 0.5, 0.9), ("IDM moment (c=1)", "IDM moment", 1.0, 1.0),
            ("IDM moment (auto)", "IDM moment auto", math.nan, 0.95), ("KDE (CV)", "KDE", 1.0, 1.1))
    for name, family, param, nn in rows:
        for cls in (0, 7):
            table.add(generator=name, family=family, param=param, cls=cls, status="ok", fd=10 * nn, precision=0.9,
                      recall=nn / 2, dup_rate=0.1, nn_ratio=nn)
    real_data_figure(table, tmp_path / "frontier.png")
    assert (tmp_path / "frontier.png").stat().st_size > 10_000
