"""Reading and writing data files: npy, npz, csv/tsv, parquet and folders of PNG images.

Every problem with a file raises :class:`DataFileError` (a ``ValueError``) whose message names the
file and the problem. Outputs are written atomically (a temporary file in the target folder, then
``os.replace``), and an existing output is never replaced unless ``force=True``.
"""

from __future__ import annotations

import csv
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

__all__ = ["DataFileError", "Dataset", "load_data", "save_data", "check_output_path", "atomic_write",
           "DATA_SUFFIXES"]

DATA_SUFFIXES = (".npy", ".npz", ".csv", ".tsv", ".parquet")


class DataFileError(ValueError):
    """A data file that cannot be read or written, with a message naming the problem."""


@dataclass
class Dataset:
    """Data read from a file: the numeric matrix, optional labels, and how to write alike."""

    X: np.ndarray
    y: np.ndarray | None = None
    kind: str = "array"  # "array" or "images"
    columns: list[str] | None = None
    label_name: str | None = None
    image_shape: tuple[int, ...] | None = None  # (H, W) or (H, W, C) for images
    names: list[str] = field(default_factory=list)


# ------------------------------------------------------------------------------------------ reading
def load_data(path: str | os.PathLike, key: str | None = None, labels: str | None = None) -> Dataset:
    """Read a data set. ``key`` picks the array of an ``.npz``; ``labels`` names a label column
    (csv/tsv/parquet) or label array (npz)."""
    path = Path(path)
    if not path.exists():
        raise DataFileError(f"{path}: no such file or directory")
    if path.is_dir():
        data = _load_images(path)
    else:
        suffix = path.suffix.lower()
        readers: dict[str, Callable[..., Dataset]] = {".npy": _load_npy, ".npz": _load_npz, ".csv": _load_csv,
                                                      ".tsv": _load_csv, ".parquet": _load_parquet}
        if suffix not in readers:
            raise DataFileError(f"{path}: unknown file type {suffix or '(no extension)'!r}; expected one of "
                                f"{', '.join(DATA_SUFFIXES)} or a folder of PNG images")
        data = readers[suffix](path, key=key, labels=labels)
    if data.X.ndim != 2 or data.X.shape[0] == 0 or data.X.shape[1] == 0:
        raise DataFileError(f"{path}: no data (array of shape {data.X.shape})")
    if not np.isfinite(data.X).all():
        row = int(np.argwhere(~np.isfinite(data.X))[0][0])
        raise DataFileError(f"{path}: contains NaN or infinite values (first in row {row})")
    return data


def _numeric(arr: np.ndarray, path: Path) -> np.ndarray:
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool) or np.iscomplexobj(arr):
        raise DataFileError(f"{path}: array of dtype {arr.dtype} is not real numeric data")
    arr = arr.astype(np.float64)
    if arr.ndim == 1:
        arr = arr[:, None]
    elif arr.ndim > 2:
        arr = arr.reshape(arr.shape[0], -1)
    return arr


def _load_npy(path: Path, key: str | None = None, labels: str | None = None) -> Dataset:
    try:
        arr = np.load(path, allow_pickle=False)
    except Exception as exc:
        raise DataFileError(f"{path}: not a readable .npy file ({exc})") from None
    if labels is not None:
        raise DataFileError(f"{path}: a .npy file holds one array; put labels in a .npz or a csv column")
    return Dataset(_numeric(arr, path), image_shape=arr.shape[1:] if arr.ndim == 3 else None)


def _load_npz(path: Path, key: str | None = None, labels: str | None = None) -> Dataset:
    try:
        archive = np.load(path, allow_pickle=False)
        names = list(archive.files)
    except Exception as exc:
        raise DataFileError(f"{path}: not a readable .npz file ({exc})") from None
    data_names = [n for n in names if n != labels]
    if key is None:
        if len(data_names) != 1:
            raise DataFileError(f"{path}: holds arrays {names}; choose one with --key")
        key = data_names[0]
    if key not in names:
        raise DataFileError(f"{path}: no array named {key!r}; it holds {names}")
    if labels is not None and labels not in names:
        raise DataFileError(f"{path}: no label array named {labels!r}; it holds {names}")
    arr = archive[key]
    y = np.asarray(archive[labels]) if labels is not None else None
    X = _numeric(arr, path)
    if y is not None and y.shape[0] != X.shape[0]:
        raise DataFileError(f"{path}: {labels!r} has {y.shape[0]} labels for {X.shape[0]} rows")
    return Dataset(X, y, label_name=labels, image_shape=arr.shape[1:] if arr.ndim == 3 else None)


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def _load_csv(path: Path, key: str | None = None, labels: str | None = None) -> Dataset:
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    try:
        with open(path, newline="") as handle:
            rows = [row for row in csv.reader(handle, delimiter=delimiter) if row]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DataFileError(f"{path}: unreadable ({exc})") from None
    if not rows:
        raise DataFileError(f"{path}: the file is empty")
    has_header = not all(_is_number(cell) for cell in rows[0] if cell.strip())
    header = [c.strip() for c in rows[0]] if has_header else [f"x{i}" for i in range(len(rows[0]))]
    body = rows[1:] if has_header else rows
    if not body:
        raise DataFileError(f"{path}: a header but no data rows")
    for number, row in enumerate(body, start=2 if has_header else 1):
        if len(row) != len(header):
            raise DataFileError(f"{path}: line {number} has {len(row)} fields, expected {len(header)} "
                                "(ragged CSV)")
    label_index = None
    if labels is not None:
        if labels in header:
            label_index = header.index(labels)
        elif labels.isdigit() and int(labels) < len(header):
            label_index = int(labels)
        else:
            raise DataFileError(f"{path}: no label column {labels!r}; columns are {header}")
    columns = [i for i in range(len(header)) if i != label_index]
    X = np.empty((len(body), len(columns)))
    for j, col in enumerate(columns):
        try:
            X[:, j] = [float(row[col]) for row in body]
        except ValueError:
            bad = next(row[col] for row in body if not _is_number(row[col]))
            raise DataFileError(f"{path}: column {header[col]!r} is not numeric (value {bad!r}); "
                                "drop it or name it with --labels") from None
    y = np.array([row[label_index].strip() for row in body]) if label_index is not None else None
    return Dataset(X, _maybe_numeric_labels(y), columns=[header[i] for i in columns],
                   label_name=header[label_index] if label_index is not None else None)


def _maybe_numeric_labels(y: np.ndarray | None) -> np.ndarray | None:
    if y is None:
        return None
    try:
        as_int = y.astype(np.int64)
        if np.array_equal(as_int.astype(str), y):
            return as_int
    except ValueError:
        pass
    return y


def _load_parquet(path: Path, key: str | None = None, labels: str | None = None) -> Dataset:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise DataFileError(f"{path}: reading parquet needs pyarrow: pip install pyarrow") from None
    try:
        table = pq.read_table(path)
    except Exception as exc:
        raise DataFileError(f"{path}: unreadable parquet file ({exc})") from None
    names = table.column_names
    if labels is not None and labels not in names:
        raise DataFileError(f"{path}: no label column {labels!r}; columns are {names}")
    feature_names = [n for n in names if n != labels]
    cols = []
    for name in feature_names:
        col = table.column(name).to_numpy(zero_copy_only=False)
        if not np.issubdtype(col.dtype, np.number):
            raise DataFileError(f"{path}: column {name!r} is not numeric ({col.dtype}); drop it or name it "
                                "with --labels")
        cols.append(col.astype(np.float64))
    y = table.column(labels).to_numpy(zero_copy_only=False) if labels is not None else None
    return Dataset(np.column_stack(cols), y, columns=feature_names, label_name=labels)


def _load_images(folder: Path) -> Dataset:
    from PIL import Image

    files = sorted(p for p in folder.iterdir() if p.suffix.lower() == ".png")
    if not files:
        raise DataFileError(f"{folder}: a folder, but with no .png images in it")
    arrays = []
    for f in files:
        try:
            with Image.open(f) as img:
                arrays.append(np.asarray(img.convert("L" if img.mode in ("L", "1", "I", "P") else "RGB")))
        except Exception as exc:
            raise DataFileError(f"{f}: unreadable image ({exc})") from None
    shapes = {a.shape for a in arrays}
    if len(shapes) > 1:
        first = arrays[0].shape
        odd = next(f for f, a in zip(files, arrays) if a.shape != first)
        raise DataFileError(f"{folder}: images differ in size ({files[0].name} is {first}, {odd.name} is "
                            f"{arrays[files.index(odd)].shape}); all must be the same size and mode")
    stack = np.stack(arrays).astype(np.float64) / 255.0
    return Dataset(stack.reshape(len(files), -1), kind="images", image_shape=stack.shape[1:],
                   names=[f.name for f in files])


# ------------------------------------------------------------------------------------------ writing
def check_output_path(path: str | os.PathLike, force: bool = False) -> Path:
    """Refuse an existing output without ``force``, and an output folder that cannot be written."""
    path = Path(path)
    if path.exists() and not force:
        raise DataFileError(f"{path}: already exists; use --force to overwrite it")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise DataFileError(f"{path}: the folder {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise DataFileError(f"{path}: the folder {parent} is not writable")
    return path


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Call ``write(tmp)`` on a temporary path beside ``path``, then move it into place."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=path.suffix, dir=path.parent or ".")
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        write(tmp_path)
        os.replace(tmp_path, path)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def save_data(path: str | os.PathLike, X: np.ndarray, y: np.ndarray | None = None, *, like: Dataset | None = None,
              force: bool = False) -> Path:
    """Write samples (and labels) in the format the path's extension names; a path without an
    extension for image data becomes a folder of PNGs plus ``grid.png``."""
    path = check_output_path(path, force)
    suffix = path.suffix.lower()
    columns = like.columns if like is not None and like.columns else [f"x{i}" for i in range(X.shape[1])]
    label_name = (like.label_name if like is not None else None) or "label"
    if suffix == ".npy":
        atomic_write(path, lambda p: np.save(p, X))
    elif suffix == ".npz":
        arrays = {"X": X} if y is None else {"X": X, "y": y}
        atomic_write(path, lambda p: np.savez(p, **arrays))
    elif suffix in (".csv", ".tsv"):
        atomic_write(path, lambda p: _write_csv(p, X, y, columns, label_name, "\t" if suffix == ".tsv" else ","))
    elif suffix == ".parquet":
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError:
            raise DataFileError(f"{path}: writing parquet needs pyarrow: pip install pyarrow") from None
        table = {c: X[:, j] for j, c in enumerate(columns)}
        if y is not None:
            table[label_name] = y
        atomic_write(path, lambda p: pq.write_table(pa.table(table), p))
    elif suffix == "" and like is not None and like.kind == "images":
        _write_image_folder(path, X, like.image_shape, force)
    else:
        raise DataFileError(f"{path}: unknown output type {suffix or '(no extension)'!r}; expected one of "
                            f"{', '.join(DATA_SUFFIXES)}" + (" or a folder name for images"
                                                             if like is not None and like.kind == "images" else ""))
    return path


def _write_csv(path: Path, X: np.ndarray, y, columns: list[str], label_name: str, delimiter: str) -> None:
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle, delimiter=delimiter)
        writer.writerow(columns + ([label_name] if y is not None else []))
        for i, row in enumerate(X):
            writer.writerow([repr(float(v)) for v in row] + ([y[i]] if y is not None else []))


def to_images(X: np.ndarray, image_shape: tuple[int, ...]) -> np.ndarray:
    """Rows in [0, 1] to uint8 images of ``image_shape``."""
    return (np.clip(X, 0.0, 1.0) * 255).round().astype(np.uint8).reshape((-1,) + tuple(image_shape))


def _write_image_folder(path: Path, X: np.ndarray, image_shape, force: bool) -> None:
    from PIL import Image

    from inertial_diffusion.evaluation.plots import image_grid

    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        images = to_images(X, image_shape)
        width = len(str(max(len(images) - 1, 0)))
        for i, img in enumerate(images):
            Image.fromarray(img).save(tmp / f"sample_{i:0{width}d}.png")
        image_grid(images[:100], tmp / "grid.png")
        if path.exists():  # force was given (check_output_path): replace the old output
            shutil.rmtree(path) if path.is_dir() else path.unlink()
        os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
