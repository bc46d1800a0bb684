"""The estimator options reach the command line: mixed units, the novelty target, copies, components."""

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from inertial_diffusion.cli import app, main
from inertial_diffusion.io import load_data

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture
def mixed_csv(tmp_path):
    rng = np.random.default_rng(0)
    X = np.c_[rng.normal(size=(300, 2)), 1000.0 * rng.normal(size=(300, 1))]
    path = tmp_path / "mixed.csv"
    np.savetxt(path, X, delimiter=",", header="a,b,c", comments="")
    return path


def test_mixed_units_get_a_note_that_names_the_option(mixed_csv, tmp_path):
    result = invoke("sample", mixed_csv, "-n", 20, "-o", tmp_path / "g.csv", "--seed", 0)
    assert result.exit_code == 0, result.output
    assert "--standardize per_feature" in result.stderr
    result = invoke("sample", mixed_csv, "-n", 20, "-o", tmp_path / "p.csv", "--seed", 0,
                    "--standardize", "per_feature")
    assert result.exit_code == 0 and "per_feature" not in result.stderr
    # per-feature samples keep each column's own spread (the global scale would flatten columns a and b)
    S = load_data(tmp_path / "p.csv").X
    assert 0.2 < S[:, 0].std() < 2 and 200 < S[:, 2].std() < 2000


def test_max_dup_rate_reaches_the_search(mixed_csv, tmp_path):
    result = invoke("sample", mixed_csv, "-n", 20, "-o", tmp_path / "a.csv", "--bandwidth", "auto",
                    "--max-dup-rate", 0.05, "--standardize", "per_feature", "--seed", 0)
    assert result.exit_code == 0, result.output
    assert "DupRate <= 0.05" in result.stdout


def test_exclude_copies_redraws_copies_of_isolated_points(tmp_path):
    rng = np.random.default_rng(1)
    X = np.r_[rng.normal(size=(300, 3)), [[40.0, 40.0, 40.0]]]  # one far outlier
    np.save(tmp_path / "x.npy", X)
    kw = ("-n", 3000, "--seed", 0, "--bandwidth", 0.05, "--components", "none")
    plain = invoke("sample", tmp_path / "x.npy", "-o", tmp_path / "plain.npy", *kw)
    clean = invoke("sample", tmp_path / "x.npy", "-o", tmp_path / "clean.npy", "--exclude-copies", *kw)
    assert plain.exit_code == 0 and clean.exit_code == 0, clean.output

    def copies(path):
        S = np.load(path)
        return int((np.abs(S[:, None, :] - X[None]).max(axis=2).min(axis=1) < 1e-6).sum())
    assert copies(tmp_path / "plain.npy") > 0 and copies(tmp_path / "clean.npy") == 0


def test_library_warnings_are_one_line(tmp_path, capsys):
    rng = np.random.default_rng(1)
    np.save(tmp_path / "x.npy", np.r_[rng.normal(size=(300, 3)), [[40.0, 40.0, 40.0]]])
    with pytest.raises(SystemExit) as done:
        main(["sample", str(tmp_path / "x.npy"), "-n", "5", "-o", str(tmp_path / "o.npy"), "--bandwidth", "0.05",
              "-q"])
    assert done.value.code == 0
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines and all(line.startswith("warning: ") for line in lines), err
    assert "isolated" in err and "--exclude-copies" in err


def test_fit_shows_a_status_line_on_a_terminal_only(tmp_path):
    """A long fit is not silent on a terminal (a transient 'fitting N rows' line on stderr), and prints nothing
    when stderr is redirected or with --quiet."""
    import os
    import subprocess
    import sys

    data = tmp_path / "d.npy"
    np.save(data, np.random.default_rng(0).normal(size=(600, 4)))
    cmd = [sys.executable, "-m", "inertial_diffusion", "sample", str(data), "-n", "5", "--seed", "0"]
    terminal = {**os.environ, "TTY_INTERACTIVE": "1", "TTY_COMPATIBLE": "1"}  # rich: behave as on a terminal
    shown = subprocess.run(cmd + ["-o", str(tmp_path / "a.npy")], capture_output=True, text=True, env=terminal,
                           timeout=300)
    assert shown.returncode == 0 and "fitting 600 rows" in shown.stderr
    quiet = subprocess.run(cmd + ["-o", str(tmp_path / "b.npy"), "--quiet"], capture_output=True, text=True,
                           env=terminal, timeout=300)
    assert quiet.returncode == 0 and "fitting" not in quiet.stderr
    redirected = subprocess.run(cmd + ["-o", str(tmp_path / "c.npy")], capture_output=True, text=True, timeout=300)
    assert redirected.returncode == 0 and redirected.stderr.strip() == ""


def test_the_fit_status_line_follows_the_bandwidth_search(monkeypatch):
    """The CLI hands the model a progress callback while its status line is shown (not with --quiet), and the
    line names the search's step and c."""
    from inertial_diffusion.cli import sampling

    seen = []
    with sampling.fit_status(False, 600) as report:
        assert callable(report)
        report({"stage": "bandwidth search", "i": 1, "total": 12, "c": 3.0})
    with sampling.fit_status(True, 600) as report:
        assert report is None
    assert sampling.fit_description(600) == "fitting 600 rows"
    line = sampling.fit_description(600, {"stage": "bandwidth search", "i": 5, "total": 12, "c": 0.4217})
    assert line == "fitting 600 rows: bandwidth search 5/12 (c = 0.422)"

    class Model:
        def fit(self, X, y=None, callback=None):
            seen.append(callback)

    data = type("Data", (), {"training": np.zeros((3, 2)), "y": None})()
    sampling.fit(Model(), data, None, Path("d.npy"), callback=print)
    assert seen == [print]
