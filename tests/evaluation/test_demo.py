import subprocess
import sys

import numpy as np

from inertial_diffusion.evaluation.demo import run_demo
from inertial_diffusion.evaluation.metrics import nearest_distances


def test_demo_shows_memorization_and_novelty():
    rows, info = run_demo(n_train=600, n_samples=200, ambient_dim=100)
    idm, moment, edm = rows
    assert edm.copy_rate >= 0.99 and idm.copy_rate == 0.0 and moment.copy_rate == 0.0
    # the empirical DM's samples are training points; IDM's are new points (~0.09 away on a unit sphere)
    assert edm.median_distance_to_train < 1e-9 and idm.median_distance_to_train > 0.02
    assert idm.mean_distance_to_sphere < 0.2 and moment.mean_distance_to_sphere < 0.2
    assert abs(info["intrinsic_dim"] - 2) < 0.3


def test_python_dash_m_runs_the_demo(tmp_path):
    out = subprocess.run([sys.executable, "-m", "inertial_diffusion"], capture_output=True, text=True, timeout=300,
                         cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "IDM" in out.stdout and "empirical DM" in out.stdout
    assert (tmp_path / "inertial-diffusion-demo" / "summary.md").exists()
    # (a second run never overwrites: tested in-process in tests/test_cli.py, without a second subprocess)


def test_digits_demo_reads_the_package_loader(monkeypatch):
    """run_digits_demo takes its images from evaluation.datasets.load_digits (it used to read scikit-learn's
    file itself, a second loader to keep in step): a stand-in loader's rows are what both models are fitted on.
    The loader's data are the demo's old ones, sklearn's pixels / 16, bit for bit."""
    from sklearn.datasets import load_digits as sk_load_digits

    from inertial_diffusion.evaluation import demo
    from inertial_diffusion.evaluation.datasets import Sphere, load_digits

    X, y = load_digits()
    assert np.array_equal(X, sk_load_digits().data / 16.0) and y.shape == (1797,)
    stand_in = Sphere(2, 64, random_state=0).sample(120, random_state=1)
    calls = []
    monkeypatch.setattr(demo, "load_digits", lambda: calls.append(1) or (stand_in, np.zeros(120, dtype=int)))
    train, results = demo.run_digits_demo(n_samples=30)
    assert calls == [1] and train is stand_in
    assert all(samples.shape == (30, 64) and report.n_samples == 30 for samples, report in results.values())
    copies, copy_report = results["empirical DM"]  # the empirical model returns its training rows: the stand-in's
    assert nearest_distances(copies, stand_in).max() < 1e-6 and copy_report.copy_rate == 1.0
