import numpy as np
import pytest

from inertial_diffusion.io import DataFileError, load_data, save_data


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
    X = np.random.default_rng(0).normal(size=(7, 3))
    y = np.array([0, 1, 0, 1, 2, 2, 0])
    for name in ["s.tsv", "s.csv", "s.npz", "s.parquet", "s.npy"]:
        path = save_data(tmp_path / name, X, None if name.endswith(".npy") else y)
        back = load_data(path, labels=None if name.endswith(".npy") else ("y" if name.endswith("npz") else "label"),
                         key="X" if name.endswith("npz") else None)
        np.testing.assert_allclose(back.X, X, rtol=1e-15)
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
