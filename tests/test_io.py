"""Files: every file a user has reads correctly, outputs are exact, complete, readable, exclusive (issue 13)."""

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from inertial_diffusion.io import (IMAGE_MODES, DataFileError, Dataset, NonFiniteSamplesError, atomic_write,
                                   check_output, load_data, open_writer, save_data)


def test_csv_header_detection_and_labels(tmp_path):
    p = tmp_path / "a.csv"
    p.write_text("x,y,kind\n1,2,a\n3,4,b\n")
    d = load_data(p, labels="kind")
    np.testing.assert_array_equal(d.X, [[1, 2], [3, 4]])
    assert d.y.tolist() == ["a", "b"] and d.columns == ["x", "y"]
    q = tmp_path / "b.csv"
    q.write_text("1,2\n3,4\n5,6\n")
    assert load_data(q).X.shape == (3, 2)  # no header


def test_tsv_npz_parquet_roundtrips(tmp_path):
    X = np.random.default_rng(0).normal(size=(7, 3)) * 10.0 ** np.arange(-150, 150, 100)[None, :]
    y = np.array([0, 1, 0, 1, 2, 2, 0])
    for name in ["s.tsv", "s.csv", "s.npz", "s.parquet", "s.npy"]:
        path = save_data(tmp_path / name, X, None if name.endswith(".npy") else y)
        back = load_data(path, labels=None if name.endswith(".npy") else ("y" if name.endswith("npz") else "label"),
                         key="X" if name.endswith("npz") else None)
        np.testing.assert_array_equal(back.X, X)  # exact: shortest round-trip float text in csv/tsv
        if not name.endswith(".npy"):
            assert back.y.tolist() == y.tolist()


def test_npz_needs_key_when_ambiguous(tmp_path):
    p = tmp_path / "m.npz"
    np.savez(p, a=np.ones((3, 2)), b=np.zeros((3, 2)))
    with pytest.raises(DataFileError, match="--key"):
        load_data(p)
    assert load_data(p, key="b").X.sum() == 0
    with pytest.raises(DataFileError, match="no array named"):
        load_data(p, key="c")


def test_save_refuses_to_overwrite(tmp_path):
    p = tmp_path / "x.npy"
    p.write_bytes(b"keep")
    with pytest.raises(DataFileError, match="already exists"):
        save_data(p, np.ones((2, 2)))
    assert p.read_bytes() == b"keep"
    save_data(p, np.ones((2, 2)), force=True)
    assert np.load(p).shape == (2, 2)


def test_missing_label_column(tmp_path):
    p = tmp_path / "a.csv"
    p.write_text("x,y\n1,2\n3,4\n")
    with pytest.raises(DataFileError, match="no label column 'z'"):
        load_data(p, labels="z")


# ------------------------------------------------------------------ item 1: images keep mode and bit depth
def _image(mode, rng, shape=(5, 4)):
    if mode == "I;16":
        return Image.fromarray(rng.integers(0, 65536, size=shape).astype(np.uint16))
    channels = {"L": (), "LA": (2,), "RGB": (3,), "RGBA": (4,)}[mode]
    return Image.fromarray(rng.integers(0, 256, size=shape + channels).astype(np.uint8))


@pytest.mark.parametrize("mode, full", [("L", 255), ("LA", 255), ("RGB", 255), ("RGBA", 255), ("I;16", 65535)])
def test_images_keep_mode_and_depth_end_to_end(tmp_path, mode, full):
    rng = np.random.default_rng(0)
    folder = tmp_path / "in"
    folder.mkdir()
    originals = [_image(mode, rng) for _ in range(3)]
    for i, img in enumerate(originals):
        assert img.mode == mode
        img.save(folder / f"im{i}.png")
    data = load_data(folder)
    assert data.image_mode == mode
    raw = np.stack([np.asarray(img) for img in originals]).reshape(3, -1)
    np.testing.assert_array_equal(data.X, raw / full)  # scaled by the mode's full range, nothing clipped
    out = save_data(tmp_path / "out", data.X, like=data)
    for i, img in enumerate(originals):
        back = Image.open(out / f"sample_{i}.png")
        assert back.mode == mode
        np.testing.assert_array_equal(np.asarray(back), np.asarray(img))


@pytest.mark.parametrize("mode", ["P", "PA", "1", "I"])
def test_unsupported_image_modes_are_refused_by_name(tmp_path, mode):
    folder = tmp_path / "in"
    folder.mkdir()
    try:
        Image.new(mode, (4, 3)).save(folder / "a.png")
    except OSError:
        pytest.skip(f"PIL cannot write {mode} as PNG")
    stored = Image.open(folder / "a.png").mode
    if stored in IMAGE_MODES:
        pytest.skip(f"PNG stores {mode} as {stored}, which is read faithfully")
    with pytest.raises(DataFileError, match=f"mode '{stored}' is not supported"):
        load_data(folder)


def test_images_of_mixed_modes_are_refused(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    _image("L", np.random.default_rng(0)).save(folder / "a.png")
    _image("RGB", np.random.default_rng(0)).save(folder / "b.png")
    with pytest.raises(DataFileError, match="differ in mode"):
        load_data(folder)


# ------------------------------------------------------------------ item 4: CSV files as Excel and others write them
def test_csv_with_bom_and_no_header_keeps_its_first_row(tmp_path):
    p = tmp_path / "bom.csv"
    p.write_bytes("\ufeff1,2,3\n4,5,6\n7,8,9\n".encode())
    np.testing.assert_array_equal(load_data(p).X, [[1, 2, 3], [4, 5, 6], [7, 8, 9]])


def test_csv_with_bom_and_header_names_its_first_column(tmp_path):
    p = tmp_path / "bom.csv"
    p.write_bytes("\ufeffcls,a,b\nx,1,2\ny,3,4\n".encode())
    d = load_data(p, labels="cls")
    assert d.label_name == "cls" and d.y.tolist() == ["x", "y"] and d.columns == ["a", "b"]


def test_trailing_whitespace_line_is_ignored_and_ragged_line_is_named(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("a,b\n1,2\n3,4\n   \n")
    np.testing.assert_array_equal(load_data(p).X, [[1, 2], [3, 4]])
    q = tmp_path / "r.csv"
    q.write_text("a,b\n1,2\n\n3,4\n5\n6,7\n")
    with pytest.raises(DataFileError, match="line 5 has 1 fields, expected 2"):
        load_data(q)


def test_semicolon_csv_is_sniffed(tmp_path):
    p = tmp_path / "s.csv"
    p.write_text("a;b;c\n1.5;2;3\n4;5;6\n")
    d = load_data(p)
    assert d.columns == ["a", "b", "c"]
    np.testing.assert_array_equal(d.X, [[1.5, 2, 3], [4, 5, 6]])
    q = tmp_path / "decimal_comma.csv"
    q.write_text("a;b\n1,5;2\n3,5;4\n")
    with pytest.raises(DataFileError, match="decimal commas"):
        load_data(q)


def test_numeric_header_needs_header_true(tmp_path):
    p = tmp_path / "years.csv"
    p.write_text("2020,2021\n1,2\n3,4\n")
    assert load_data(p).X.shape == (3, 2)  # the documented rule: a first line of numbers is data
    d = load_data(p, header=True)
    assert d.columns == ["2020", "2021"] and d.X.tolist() == [[1, 2], [3, 4]]
    q = tmp_path / "named.csv"
    q.write_text("a,b\n1,2\n3,4\n")
    table = load_data(q, header=False)  # a header read as data: text beside numbers in every column ...
    assert table.X is None and list(table.frame.x0) == ["a", "1", "3"]
    from inertial_diffusion import InertialDiffusion

    with pytest.raises(ValueError, match="column 'x0' mixes numbers"):  # ... refused at fit, by name
        InertialDiffusion().fit(table.frame)


def test_missing_cells_are_missing_values_of_a_table_and_infinities_are_named(tmp_path):
    p = tmp_path / "n.csv"
    p.write_text("a,b\n1,2\n3,\n5,6\n")
    table = load_data(p)  # a table keeps its missing values (the model samples them at their rate)
    assert table.X is None and table.frame.b.isna().tolist() == [False, True, False]
    q = tmp_path / "inf.csv"
    q.write_text("a,b\n1,2.5\n3,inf\n5,6\n")
    with pytest.raises(DataFileError, match=r"infinite value in column 'b', data row 2"):
        load_data(q)
    r = tmp_path / "empty.csv"
    r.write_text("a,b\n1,\n3,\n")
    with pytest.raises(DataFileError, match=r"column 'b' has no values"):
        load_data(r)


# ------------------------------------------------------------------ item 14: messages name the real problem
def test_missing_labels_are_named(tmp_path):
    p = tmp_path / "l.csv"
    p.write_text("a,b,cls\n1,2,x\n3,4,\n5,6,y\n")
    with pytest.raises(DataFileError, match=r"label 'cls' is missing .* data row 2"):
        load_data(p, labels="cls")
    q = tmp_path / "l.npz"
    np.savez(q, X=np.ones((3, 2)), y=np.array([0.0, np.nan, 1.0]))
    with pytest.raises(DataFileError, match=r"label 'y' is missing \(or NaN\) in data row 2"):
        load_data(q, labels="y")


def test_write_errors_name_the_users_path(tmp_path):
    folder = tmp_path / "taken.npy"
    folder.mkdir()
    with pytest.raises(DataFileError) as err:
        save_data(folder, np.ones((2, 2)), force=True)
    assert str(err.value).startswith(str(folder)) and "folder" in str(err.value)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    target = Path("/proc/inertial-diffusion-test.npy")
    with pytest.raises(DataFileError) as err:
        save_data(target, np.ones((2, 2)))
    assert str(err.value).startswith(str(target)) and ".inertial-diffusion-test.npy." not in str(err.value)


# ------------------------------------------------------------------ item 2: no writer writes NaN or inf
@pytest.mark.parametrize("name", ["s.npy", "s.npz", "s.csv", "s.parquet", "imgs"])
def test_writers_refuse_non_finite_values(tmp_path, name):
    like = Dataset(np.zeros((1, 4)), kind="images", image_shape=(2, 2), image_mode="L") if name == "imgs" else None
    X = np.zeros((3000, 4))
    X[2500, 1] = np.inf
    with pytest.raises(NonFiniteSamplesError, match="NaN or infinite"):
        with open_writer(tmp_path / name, 3000, 4, like=like) as writer:
            writer.write(X[:2000])
            writer.write(X[2000:])
    assert list(tmp_path.iterdir()) == []  # neither the output nor a temporary


# ------------------------------------------------------------------ item 5: labels are never dropped
def test_labelled_output_to_npy_is_refused(tmp_path):
    with pytest.raises(DataFileError, match=r"\.npy file cannot hold the labels"):
        check_output(tmp_path / "o.npy", labelled=True)
    with pytest.raises(DataFileError, match=r"\.npy file cannot hold the labels"):
        save_data(tmp_path / "o.npy", np.ones((2, 2)), np.array([0, 1]))
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------ item 8: block writes equal one write
@pytest.mark.parametrize("name", ["s.npy", "s.npz", "s.csv", "s.tsv", "s.parquet"])
def test_blocks_write_the_same_file_as_one_block(tmp_path, name):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(1001, 3))
    y = rng.integers(0, 3, size=1001)
    labelled = not name.endswith(".npy")
    with open_writer(tmp_path / name, 1001, 3, labelled=labelled) as writer:
        for start in range(0, 1001, 300):
            writer.write(X[start:start + 300], y[start:start + 300] if labelled else None)
    back = load_data(tmp_path / name, labels=("y" if name.endswith("npz") else "label") if labelled else None)
    np.testing.assert_array_equal(back.X, X)
    if labelled:
        np.testing.assert_array_equal(back.y, y)
    with pytest.raises(RuntimeError, match="announced"):
        with open_writer(tmp_path / ("short" + name[1:]), 10, 3) as writer:
            writer.write(X[:5])
    assert not (tmp_path / ("short" + name[1:])).exists()


# ------------------------------------------------------------------ item 7: publish is exclusive
@pytest.mark.parametrize("name", ["o.npy", "o.csv", "folder"])
def test_two_writers_to_one_output_one_refuses(tmp_path, name):
    like = Dataset(np.zeros((1, 4)), kind="images", image_shape=(2, 2), image_mode="L") if name == "folder" else None
    first = open_writer(tmp_path / name, 2, 4, like=like)
    second = open_writer(tmp_path / name, 2, 4, like=like)  # both checked before either wrote: the race
    with first as w1:
        w1.write(np.full((2, 4), 0.25))
    with pytest.raises(DataFileError, match="already exists"):
        with second as w2:
            w2.write(np.full((2, 4), 0.75))
    assert load_data(tmp_path / name).X.max() < 0.5  # the first output (0.25), untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]  # no temporaries left


# ------------------------------------------------------------------ item 9: the umask, not 0600/0700
@pytest.mark.parametrize("mask", [0o022, 0o002, 0o077])
def test_outputs_follow_the_umask(tmp_path, mask):
    old = os.umask(mask)
    try:
        save_data(tmp_path / "a.npy", np.ones((2, 2)))
        like = Dataset(np.zeros((1, 4)), kind="images", image_shape=(2, 2), image_mode="L")
        save_data(tmp_path / "imgs", np.zeros((2, 4)), like=like)
        atomic_write(tmp_path / "r.md", lambda p: p.write_text("x"))
    finally:
        os.umask(old)
    assert (tmp_path / "a.npy").stat().st_mode & 0o777 == 0o666 & ~mask
    assert (tmp_path / "r.md").stat().st_mode & 0o777 == 0o666 & ~mask
    assert (tmp_path / "imgs").stat().st_mode & 0o777 == 0o777 & ~mask
    assert (tmp_path / "imgs" / "sample_0.png").stat().st_mode & 0o777 == 0o666 & ~mask


# ------------------------------------------------------------------ item 10: SIGTERM/SIGHUP leave nothing behind
_SLOW_WRITER = textwrap.dedent("""
    import sys, time
    import numpy as np
    from inertial_diffusion.io import Dataset, open_writer
    out = sys.argv[1]
    like = Dataset(np.zeros((1, 4)), kind="images", image_shape=(2, 2), image_mode="L") if out.endswith("imgs") \\
        else None
    with open_writer(out, 10**9, 4, like=like) as writer:
        for i in range(10**6):
            writer.write(np.full((100, 4), 0.5))
            if i == 2:
                print("writing", flush=True)
            time.sleep(0.01)
""")


@pytest.mark.parametrize("name, signum", [("o.csv", signal.SIGTERM), ("imgs", signal.SIGTERM),
                                          ("o.npy", signal.SIGHUP)])
def test_signals_mid_write_remove_the_temporary(tmp_path, name, signum):
    child = subprocess.Popen([sys.executable, "-c", _SLOW_WRITER, str(tmp_path / name)], stdout=subprocess.PIPE,
                             stdin=subprocess.DEVNULL, text=True)  # not the xdist worker's stdin (its channel)
    try:
        assert child.stdout.readline().strip() == "writing"
        assert [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # the temporary exists mid-write
        child.send_signal(signum)
        assert child.wait(timeout=30) == 128 + signum
    finally:
        child.kill()
        child.wait()
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------ issue 10 point 7: io is below the figures
def test_io_imports_no_plotting_and_no_estimators():
    code = ("import sys, inertial_diffusion.io; print(sorted({m.split('.')[0] for m in sys.modules} & "
            "{'torch', 'sklearn', 'matplotlib', 'scipy'}), 'inertial_diffusion.evaluation.plots' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.split() == ["[]", "False"]
