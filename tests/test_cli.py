import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from inertial_diffusion.cli import app
from inertial_diffusion.evaluation.datasets import Sphere

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture
def labelled_csv(tmp_path):
    rng = np.random.default_rng(0)
    a = rng.normal(size=(60, 3))
    b = rng.normal(size=(15, 3)) + 20.0
    path = tmp_path / "train.csv"
    lines = ["f1,f2,f3,species"] + [f"{r[0]},{r[1]},{r[2]},common" for r in a] + \
            [f"{r[0]},{r[1]},{r[2]},rare" for r in b]
    path.write_text("\n".join(lines) + "\n")
    return path


def _one_line_error(result):
    assert result.exit_code != 0
    assert result.exception is None or isinstance(result.exception, SystemExit)
    err = result.stderr if hasattr(result, "stderr") else result.output
    assert "Traceback" not in result.output
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


# ---------------------------------------------------------------- the commands work
def test_sample_npy_roundtrip_and_seed(sphere_npy, tmp_path):
    path, X = sphere_npy
    out1, out2 = tmp_path / "s1.npy", tmp_path / "s2.npy"
    assert invoke("sample", path, "-n", 50, "-o", out1, "--seed", 3, "-q").exit_code == 0
    assert invoke("sample", path, "-n", 50, "-o", out2, "--seed", 3, "-q").exit_code == 0
    S1, S2 = np.load(out1), np.load(out2)
    assert S1.shape == (50, 5)
    np.testing.assert_array_equal(S1, S2)
    assert np.abs(np.linalg.norm(S1 @ Sphere(2, 5, random_state=0).embedding, axis=1) - 1).mean() < 0.3


@pytest.mark.parametrize("opts", [["--bandwidth", "0.2"], ["--bandwidth-scale", "0.5", "--intrinsic-dim", "2"],
                                  ["--inertia", "paper"], ["--inertia", "moment"], ["--sampler", "ode"],
                                  ["--device", "cpu"],
                                  ["--bandwidth", "auto"]])
def test_sample_options(sphere_npy, tmp_path, opts):
    path, _ = sphere_npy
    result = invoke("sample", path, "-n", 20, "-o", tmp_path / "s.csv", *opts)
    assert result.exit_code == 0, result.output
    assert "wrote 20 samples" in result.output
    assert ("held-out exact W1" in result.output) == ("auto" in opts)
    assert len((tmp_path / "s.csv").read_text().strip().splitlines()) == 21  # header + rows


def test_bad_bandwidth_is_one_line(sphere_npy, tmp_path):
    path, _ = sphere_npy
    line = _one_line_error(invoke("sample", path, "-n", 5, "-o", tmp_path / "s.npy", "--bandwidth", "wide"))
    assert "--bandwidth" in line and not (tmp_path / "s.npy").exists()


def test_class_conditional_and_per_class(labelled_csv, tmp_path):
    out = tmp_path / "rare.csv"
    assert invoke("sample", labelled_csv, "--labels", "species", "--class", "rare", "-n", 30, "-o", out, "-q",
                  "--seed", 1).exit_code == 0
    lines = out.read_text().strip().splitlines()
    assert lines[0] == "f1,f2,f3,species" and len(lines) == 31
    values = np.array([[float(v) for v in line.split(",")[:3]] for line in lines[1:]])
    assert np.all(values.mean(axis=1) > 10)  # near the rare cluster at +20
    assert all(line.endswith(",rare") for line in lines[1:])
    out2 = tmp_path / "per.npz"
    assert invoke("sample", labelled_csv, "--labels", "species", "--per-class", "-n", 7, "-o", out2,
                  "-q").exit_code == 0
    archive = np.load(out2)
    assert archive["X"].shape == (14, 3) and sorted(set(archive["y"].tolist())) == ["common", "rare"]


def _png_folder(folder, count, shape):
    """A folder of random grayscale PNGs of one size."""
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(count):
        Image.fromarray((rng.uniform(size=shape) * 255).astype(np.uint8)).save(folder / f"im{i}.png")
    return folder


def test_images_in_images_out(tmp_path):
    folder = _png_folder(tmp_path / "imgs", 12, (6, 5))
    out = tmp_path / "gen"
    result = invoke("sample", folder, "-n", 5, "-o", out, "-q", "--bandwidth", "0.3")
    assert result.exit_code == 0, result.output
    pngs = sorted(p.name for p in out.iterdir())
    assert pngs == [f"sample_{i}.png" for i in range(5)]  # only samples: the folder reads back as data
    assert (tmp_path / "gen_grid.png").exists()  # the preview lies beside it
    assert np.asarray(Image.open(out / "sample_0.png")).shape == (6, 5)


def test_evaluate_reports_memorization_and_w1(sphere_npy, tmp_path):
    path, X = sphere_npy
    copies = tmp_path / "copies.npy"
    np.save(copies, X[:40])
    held = tmp_path / "held.npy"
    np.save(held, Sphere(2, 5, random_state=0).sample(100, random_state=9))
    report = tmp_path / "report.md"
    result = invoke("evaluate", copies, path, "--held-out", held, "--report", report)
    assert result.exit_code == 0, result.output
    assert "100.00 %" in result.output and "W1" in result.output
    assert report.exists() and report.with_suffix(".png").exists()
    assert "![figure](report.png)" in report.read_text()


def test_evaluate_image_figure_shows_neighbours(tmp_path, monkeypatch):
    """The figure pairs each sample with its nearest training image: samples that are training images are
    shown beside themselves at distance 0, and a shifted copy beside its source."""
    from inertial_diffusion.evaluation import plots

    shown = {}

    def spy(samples, neighbours, distances, path, ncols=4):
        shown.update(samples=samples, neighbours=neighbours, distances=distances)
        return real(samples, neighbours, distances, path, ncols)

    real = plots.nearest_neighbour_grid
    monkeypatch.setattr(plots, "nearest_neighbour_grid", spy)
    train = _png_folder(tmp_path / "imgs", 10, (4, 4))
    gen = tmp_path / "gen"
    gen.mkdir()
    for i, f in enumerate(sorted(train.iterdir())[::-1]):  # reversed order: neighbours must be searched
        Image.fromarray(np.asarray(Image.open(f))).save(gen / f"s{i}.png")
    result = invoke("evaluate", gen, train, "--report", tmp_path / "r.md", "-q")
    assert result.exit_code == 0, result.output
    np.testing.assert_array_equal(shown["samples"], shown["neighbours"])
    np.testing.assert_allclose(shown["distances"], 0.0, atol=1e-6)  # sklearn: |x|²-2xy+|y|²
    assert len(shown["samples"]) == 10 and Image.open(tmp_path / "r.png").size[0] > 100


def test_estimate_dim(sphere_npy):
    path, _ = sphere_npy
    result = invoke("estimate-dim", path, "--method", "mle")
    assert result.exit_code == 0
    assert abs(float(result.output.strip()) - 2) < 0.5


def test_help_lists_every_command_with_examples():
    result = invoke("--help")
    assert result.exit_code == 0
    for command in ["sample", "evaluate", "estimate-dim", "demo", "reproduce"]:
        assert command in result.output
    assert "Example" in invoke("sample", "--help").output


def test_demo_writes_files_and_never_overwrites(tmp_path):
    out = tmp_path / "demo"
    result = invoke("demo", "--out", out, "-q")
    assert result.exit_code == 0, result.output
    names = {p.name for p in out.iterdir()}
    assert {"summary.md", "sphere_idm.png", "digits_idm_neighbours.png", "digits_idm_samples.npy"} <= names
    before = (out / "summary.md").read_bytes()
    line = _one_line_error(invoke("demo", "--out", out, "-q"))
    assert "--force" in line
    assert (out / "summary.md").read_bytes() == before


# ---------------------------------------------------------------- every bad input: one line, non-zero exit
def test_bad_inputs_give_one_line_errors(tmp_path, sphere_npy, labelled_csv):
    good, _ = sphere_npy
    out = tmp_path / "o.npy"
    cases = {}
    cases["missing file"] = (["sample", tmp_path / "nope.npy", "-o", out], "no such file")
    (tmp_path / "data.xyz").write_text("1,2\n")
    cases["unknown extension"] = (["sample", tmp_path / "data.xyz", "-o", out], "unknown file type")
    (tmp_path / "ragged.csv").write_text("a,b\n1,2\n3\n")
    cases["ragged csv"] = (["sample", tmp_path / "ragged.csv", "-o", out], "ragged")
    (tmp_path / "binary.csv").write_bytes(b"\xff\xfe\x00\x81garbage")
    cases["unreadable csv"] = (["sample", tmp_path / "binary.csv", "-o", out], "binary.csv")
    (tmp_path / "text.csv").write_text("a,b\n1,x\n2,y\n")
    cases["text table to .npy"] = (["sample", tmp_path / "text.csv", "-o", out], "write its samples as .csv")
    np.save(tmp_path / "nan.npy", np.array([[1.0, np.nan], [2.0, 3.0]]))
    cases["NaN"] = (["sample", tmp_path / "nan.npy", "-o", out], "NaN")
    np.save(tmp_path / "inf.npy", np.array([[1.0, np.inf], [2.0, 3.0]]))
    cases["inf"] = (["sample", tmp_path / "inf.npy", "-o", out], "infinite")
    np.save(tmp_path / "empty.npy", np.empty((0, 3)))
    cases["empty"] = (["sample", tmp_path / "empty.npy", "-o", out], "no data")
    np.save(tmp_path / "one.npy", np.ones((1, 3)))
    cases["one row"] = (["sample", tmp_path / "one.npy", "-o", out], "at least 2")
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(mixed / "a.png")
    Image.fromarray(np.zeros((5, 4), np.uint8)).save(mixed / "b.png")
    cases["mixed image sizes"] = (["sample", mixed, "-o", tmp_path / "g"], "differ in size")
    cases["class not present"] = (["sample", labelled_csv, "--labels", "species", "--class", "dodo", "-o",
                                   tmp_path / "c.csv"],
                                  "'dodo' is not a label")
    cases["negative n"] = (["sample", good, "-n", "-5", "-o", out], "-n must be >= 0")
    cases["bad option"] = (["sample", good, "--bandwidth", "-1", "-o", out], "bandwidth")
    cases["missing parent"] = (["sample", good, "-o", tmp_path / "no" / "dir" / "o.npy"], "does not exist")
    cases["unknown output type"] = (["sample", good, "-o", tmp_path / "o.xyz"], "unknown output type")
    for name, (args, expected) in cases.items():
        line = _one_line_error(invoke(*args))
        assert expected in line, (name, line)
        assert not out.exists(), name


def test_existing_output_is_never_overwritten_without_force(sphere_npy, tmp_path):
    good, _ = sphere_npy
    out = tmp_path / "mine.npy"
    out.write_bytes(b"precious")
    line = _one_line_error(invoke("sample", good, "-n", 5, "-o", out))
    assert "already exists" in line and "--force" in line
    assert out.read_bytes() == b"precious"
    assert invoke("sample", good, "-n", 5, "-o", out, "--force", "-q").exit_code == 0
    assert np.load(out).shape == (5, 5)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".mine")]  # no temp files left


def test_unwritable_output_folder(sphere_npy, tmp_path, monkeypatch):
    good, _ = sphere_npy
    locked = tmp_path / "locked"
    locked.mkdir()
    if os.geteuid() == 0:  # root may write anywhere: simulate the permission check's answer
        real_access = os.access
        monkeypatch.setattr(os, "access", lambda p, mode: False if Path(p) == locked else real_access(p, mode))
    else:
        locked.chmod(0o500)
    line = _one_line_error(invoke("sample", good, "-o", locked / "o.npy"))
    assert "not writable" in line


def test_installed_console_script(sphere_npy, tmp_path):
    exe = shutil.which("inertial-diffusion") or str(Path(sys.executable).with_name("inertial-diffusion"))
    good, _ = sphere_npy
    ok = subprocess.run([exe, "estimate-dim", str(good)], capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0 and abs(float(ok.stdout) - 2) < 0.5
    bad = subprocess.run([exe, "sample", str(tmp_path / "missing.npy"), "-o", str(tmp_path / "o.npy")],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2
    assert bad.stderr.strip().startswith("error:") and "Traceback" not in bad.stderr


# ---------------------------------------------------------------- tables with typed columns (issue 19)
@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_typed_table_round_trip(tmp_path, suffix):
    """Text, integer, boolean, date and missing values go through `sample` and back with their columns and types."""
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(0)
    n = 120
    frame = pd.DataFrame({"city": rng.choice(["Oslo", "Rome, IT", "Lima"], n), "kids": rng.integers(0, 4, n),
                          "smoker": rng.random(n) < 0.3, "income": np.where(rng.random(n) < 0.2, np.nan,
                                                                           rng.normal(50, 10, n)),
                          "joined": pd.to_datetime("2020-01-01") + pd.to_timedelta(rng.integers(0, 900, n), "D"),
                          "species": rng.choice(["a", "b"], n)})
    src, out = tmp_path / f"t{suffix}", tmp_path / f"s{suffix}"
    frame.to_csv(src, index=False) if suffix == ".csv" else frame.to_parquet(src, index=False)
    result = invoke("sample", src, "-n", 400, "-o", out, "--seed", 1, "--labels", "species", "--per-class",
                    "--inertia", "moment", "--standardize", "per_feature")
    assert result.exit_code == 0, result.output
    from inertial_diffusion.io import load_data

    back, orig = load_data(out, labels="species"), load_data(src, labels="species")
    assert list(back.frame.columns) == list(orig.frame.columns)
    assert (back.frame.dtypes == orig.frame.dtypes).all(), (back.frame.dtypes, orig.frame.dtypes)
    assert set(back.frame.city) <= set(frame.city) and sorted(set(back.y)) == ["a", "b"]
    assert back.frame.kids.between(0, 3).all() and 0.05 < back.frame.income.isna().mean() < 0.35
    assert back.frame.joined.between(orig.frame.joined.min(), orig.frame.joined.max()).all()


def test_categorical_option_and_decimal_commas(tmp_path):
    p = tmp_path / "codes.csv"
    p.write_text("zip,x\n" + "".join(f"{z},{x}\n" for z, x in zip([1000, 2000, 3000] * 10, np.linspace(0, 1, 30))))
    out = tmp_path / "o.csv"
    assert invoke("sample", p, "-n", 50, "-o", out, "--categorical", "zip", "-q").exit_code == 0
    assert set(np.loadtxt(out, delimiter=",", skiprows=1)[:, 0]) <= {1000, 2000, 3000}
    q = tmp_path / "comma.csv"
    q.write_text("a;b\n1,5;2\n2,5;3\n3,5;4\n")
    line = _one_line_error(invoke("sample", q, "-n", 5, "-o", tmp_path / "c.csv"))
    assert "decimal commas" in line and "'a'" in line
