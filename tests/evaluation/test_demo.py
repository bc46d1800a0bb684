import subprocess
import sys

from inertial_diffusion.evaluation.demo import run_demo


def test_demo_shows_memorization_and_novelty():
    rows, info = run_demo(n_train=600, n_samples=200, ambient_dim=100)
    idm, edm = rows
    assert edm.copy_rate >= 0.99 and idm.copy_rate == 0.0
    # the empirical DM's samples are training points; IDM's are new points (~0.09 away on a unit sphere)
    assert edm.median_distance_to_train < 1e-9 and idm.median_distance_to_train > 0.02
    assert idm.mean_distance_to_sphere < 0.2
    assert abs(info["intrinsic_dim"] - 2) < 0.3


def test_python_dash_m_runs_the_demo(tmp_path):
    out = subprocess.run([sys.executable, "-m", "inertial_diffusion"], capture_output=True, text=True, timeout=300,
                         cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "IDM" in out.stdout and "empirical DM" in out.stdout
    assert (tmp_path / "inertial-diffusion-demo" / "summary.md").exists()
    # (a second run never overwrites: tested in-process in tests/test_cli.py, without a second subprocess)
