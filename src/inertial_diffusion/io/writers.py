"""Writing samples block by block: peak memory follows the block, not the number of rows.

:func:`open_writer` returns a :class:`SampleWriter` that knows the final shape up front (the ``.npy`` header is
written first), takes blocks of rows (CSV rows appended, parquet row groups, ``.npz`` members streamed into the
zip, images one file each), refuses NaN/inf before writing a block, and publishes the finished output
exclusively (see :mod:`inertial_diffusion.io.publish`); on any error or signal its temporary is removed.
"""

from __future__ import annotations

import csv
import io as _io
import os
import zipfile
from pathlib import Path
from types import TracebackType
from typing import Any, cast

import numpy as np

from inertial_diffusion.io.dataset import DATA_SUFFIXES, DataFileError, Dataset
from inertial_diffusion.io.images import image_from_row
from inertial_diffusion.io.publish import check_output_path, interruptible, publish, temporary_beside

__all__ = ["check_output", "open_writer", "save_data", "SampleWriter", "NonFiniteSamplesError"]


class NonFiniteSamplesError(ValueError):
    """Samples with NaN or inf reached a writer: nothing is written."""


def check_output(path: str | os.PathLike, force: bool = False, *, like: Dataset | None = None,
                 labelled: bool = False) -> Path:
    """Everything about an output that can be checked before any work.

    Its type for this data (a folder for images unless the name has a data suffix, a data suffix
    otherwise), that a labelled output can hold labels, and
    :func:`~inertial_diffusion.io.publish.check_output_path`.

    Parameters
    ----------
    path : str or path-like
        The output.
    force : bool, default False
        Allow replacing an existing output of the same kind.
    like : Dataset, optional
        The input data; image data (``kind="images"``) make a suffix-less ``path`` a folder of PNGs.
    labelled : bool, default False
        Labels will be written with the rows.

    Returns
    -------
    Path
        ``path`` as a ``Path``.

    Raises
    ------
    DataFileError
        Labelled image output, labels for a ``.npy``, or a failed
        :func:`~inertial_diffusion.io.publish.check_output_path`.

    Examples
    --------
    >>> check_output("samples.npy", labelled=True)
    Traceback (most recent call last):
    ...
    inertial_diffusion.io.dataset.DataFileError: samples.npy: a .npy file cannot hold the labels; write .npz ...
    """
    path = Path(path)
    # image data go to a folder of PNGs when the name has no data suffix, else to that file type
    images = like is not None and like.kind == "images" and path.suffix.lower() not in DATA_SUFFIXES
    if images and labelled:
        raise DataFileError(f"{path}: labelled image output is not supported")
    if labelled and path.suffix.lower() == ".npy":
        raise DataFileError(f"{path}: a .npy file cannot hold the labels; write .npz (X and y), .csv, .tsv or "
                            ".parquet")
    if like is not None and like.frame is not None and like.X is None and path.suffix.lower() in (".npy", ".npz"):
        raise DataFileError(f"{path}: the input is a table with text, boolean, date or missing values; write its "
                            "samples as .csv, .tsv or .parquet (the same columns and types)")
    return check_output_path(path, force, folder=images)


class SampleWriter:
    """Writes ``n_rows`` rows of ``n_features`` to ``path`` in blocks; a context manager that publishes on
    success and removes its temporary on any error, SIGINT, SIGTERM or SIGHUP.

    The final shape is known up front, so each format is written as a stream: the ``.npy`` header first
    (also inside an ``.npz``), CSV rows appended, parquet row groups, one PNG per image. Build it with
    :func:`open_writer`, which checks the output first.

    Parameters
    ----------
    path : Path
        The output, already checked (:func:`check_output`).
    n_rows : int
        Rows that will be written in all; exiting after a different number is an error.
    n_features : int
        Columns of every block.
    labelled : bool, default False
        Every block comes with its labels (a label column, or ``y`` in an ``.npz``).
    like : Dataset, optional
        The input data, written alike: column and label names of a table, image shape and mode.
    force : bool, default False
        Replace an existing output instead of refusing.

    Attributes
    ----------
    written : int
        Rows written so far.
    tmp : Path or None
        The hidden temporary being written (set on entering the context).

    Examples
    --------
    >>> import tempfile
    >>> import numpy as np
    >>> from pathlib import Path
    >>> tmp = tempfile.TemporaryDirectory()
    >>> with open_writer(Path(tmp.name) / "samples.npy", 4, 2) as writer:
    ...     writer.write(np.zeros((2, 2)))
    ...     writer.write(np.ones((2, 2)))
    >>> np.load(Path(tmp.name) / "samples.npy").tolist()
    [[0.0, 0.0], [0.0, 0.0], [1.0, 1.0], [1.0, 1.0]]
    >>> tmp.cleanup()
    """

    def __init__(self, path: Path, n_rows: int, n_features: int, *, labelled: bool = False,
                 like: Dataset | None = None, force: bool = False) -> None:
        self.path, self.n_rows, self.n_features, self.labelled, self.force = path, n_rows, n_features, labelled, force
        self.like = like
        self.images = like is not None and like.kind == "images" and path.suffix.lower() not in DATA_SUFFIXES
        self.suffix = "" if self.images else path.suffix.lower()
        self.columns = like.columns if like is not None and like.columns and len(like.columns) == n_features \
            else [f"x{i}" for i in range(n_features)]
        # an .npz holds X and y; a table names the label column as the input did
        self.label_name = "y" if self.suffix == ".npz" else (like.label_name if like is not None else None) or "label"
        self.written = 0
        self._labels: list[np.ndarray] = []
        self._signals = interruptible()
        self._handle: Any = None
        self._member: Any = None
        self._zip: Any = None
        self._arrow: Any = None
        self.tmp: Path | None = None

    # ------------------------------------------------------------------------------------ lifecycle
    def __enter__(self) -> "SampleWriter":
        self._signals.__enter__()
        try:
            self.tmp = temporary_beside(self.path, folder=self.images)
            self._open()
        except BaseException:
            self._abort()
            raise
        return self

    def __exit__(self, kind: type | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        try:
            if kind is not None:
                self._abort()
                if isinstance(exc, OSError):
                    raise DataFileError(f"{self.path}: cannot write ({exc.strerror or exc})") from None
                return
            try:
                self._close()
                if self.written != self.n_rows:
                    raise RuntimeError(f"{self.written} rows written to {self.path}, {self.n_rows} announced")
            except OSError as err:
                self._abort()
                raise DataFileError(f"{self.path}: cannot write ({err.strerror or err})") from None
            except BaseException:
                self._abort()
                raise
            assert self.tmp is not None  # set by __enter__, which succeeded
            publish(self.tmp, self.path, self.force)
        finally:
            self._signals.__exit__(None, None, None)

    def _abort(self) -> None:
        try:
            self._close()
        except Exception:
            pass
        if self.tmp is not None:
            import shutil

            if self.tmp.is_dir():
                shutil.rmtree(self.tmp, ignore_errors=True)
            else:
                self.tmp.unlink(missing_ok=True)

    # ------------------------------------------------------------------------------------ formats
    def _open(self) -> None:
        shape: tuple[int, ...] = (self.n_rows, self.n_features)
        like = self.like
        if like is not None and like.kind == "array" and like.image_shape and \
                int(np.prod(like.image_shape)) == self.n_features:
            shape = (self.n_rows, *like.image_shape)  # a (n, 4, 4) array in, (m, 4, 4) samples out
        tmp = self.tmp
        assert tmp is not None  # set by __enter__ just before
        if self.suffix == ".npy":
            self._handle = open(tmp, "wb")
            np.lib.format.write_array_header_2_0(self._handle, {"descr": "<f8", "fortran_order": False,
                                                                "shape": shape})
        elif self.suffix == ".npz":
            self._zip = zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED, allowZip64=True)
            self._member = self._zip.open("X.npy", "w", force_zip64=True)
            np.lib.format.write_array_header_2_0(self._member, {"descr": "<f8", "fortran_order": False,
                                                                "shape": shape})
        elif self.suffix in (".csv", ".tsv"):
            with open(tmp, "w", newline="", encoding="utf-8") as handle:  # the header, quoted only if needed
                csv.writer(handle, delimiter=self._delimiter, lineterminator="\n").writerow(
                    self.columns + ([self.label_name] if self.labelled else []))
            self._handle = open(tmp, "ab")  # the rows go in as bytes from pyarrow's writer
        elif self.suffix == ".parquet":
            self._arrow = None  # opened with the first block, when the label type is known

    @property
    def _delimiter(self) -> str:
        return "\t" if self.suffix == ".tsv" else ","

    def write(self, X: np.ndarray, y: np.ndarray | None = None) -> None:
        """Append a block of rows (and their labels when the writer is labelled).

        Parameters
        ----------
        X : array-like (k, n_features) or pandas.DataFrame
            The rows, converted to float64; a table's samples (a DataFrame with the input's columns) are written
            with their types to csv/tsv/parquet (missing values as empty cells / nulls).
        y : array-like (k,), optional
            Their labels; required when the writer is labelled, ignored otherwise.

        Raises
        ------
        NonFiniteSamplesError
            ``X`` holds NaN or inf (nothing of the block is written).
        ValueError
            A block of the wrong width, more rows than announced, or missing labels.
        """
        if hasattr(X, "to_numpy") and hasattr(X, "dtypes"):  # a table's samples
            if self.suffix in (".csv", ".tsv", ".parquet"):
                self._write_table(X, y)
                return
            X = X.to_numpy(dtype=np.float64)
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.n_features:
            raise ValueError(f"block of shape {X.shape}, expected (k, {self.n_features})")
        if self.written + len(X) > self.n_rows:
            raise ValueError(f"more than the {self.n_rows} announced rows for {self.path}")
        bad = ~np.isfinite(X)
        if bad.any():
            raise NonFiniteSamplesError(
                f"the model produced {int(bad.sum())} NaN or infinite values in its samples (numerical overflow: "
                f"the bandwidth is far from the data's scale); nothing was written to {self.path}")
        if self.labelled and (y is None or len(y) != len(X)):
            raise ValueError("a labelled writer needs one label per row")
        if self.suffix == ".npy":
            self._handle.write(np.ascontiguousarray(X, dtype="<f8").tobytes())
        elif self.suffix == ".npz":
            self._member.write(np.ascontiguousarray(X, dtype="<f8").tobytes())
            if self.labelled:
                labels = np.asarray(y)
                self._labels.append(labels.astype(str) if labels.dtype == object else labels)
        elif self.suffix in (".csv", ".tsv", ".parquet"):
            self._write_arrow(X, y)
        elif self.images:
            # image output implies image data (like.kind == "images"), whose shape and mode load_images sets
            like, tmp = cast(Dataset, self.like), cast(Path, self.tmp)
            shape, mode = cast("tuple[int, ...]", like.image_shape), cast(str, like.image_mode)
            width = len(str(max(self.n_rows - 1, 0)))
            for i, row in enumerate(X, start=self.written):
                image_from_row(row, shape, mode).save(tmp / f"sample_{i:0{width}d}.png")
        self.written += len(X)

    def _write_table(self, frame: Any, y: np.ndarray | None) -> None:
        """A table's block: its typed columns through arrow (text, booleans, dates, nulls as they are)."""
        import pyarrow as pa

        if frame.shape[1] != self.n_features:
            raise ValueError(f"block of {frame.shape[1]} columns, expected {self.n_features}")
        if self.written + len(frame) > self.n_rows:
            raise ValueError(f"more than the {self.n_rows} announced rows for {self.path}")
        if self.labelled and (y is None or len(y) != len(frame)):
            raise ValueError("a labelled writer needs one label per row")
        if self.suffix != ".parquet":  # csv has no categorical type: the categories' text
            frame = frame.astype({c: "object" for c in frame.columns if str(frame[c].dtype) == "category"})
            table = pa.Table.from_pandas(frame, preserve_index=False)
        else:  # the input's types: a block where a column is all missing would otherwise be typed 'null'
            like = self.like.frame if self.like is not None and self.like.frame is not None else None
            schema = pa.Schema.from_pandas(like, preserve_index=False) if like is not None else None
            table = pa.Table.from_pandas(frame, schema=schema, preserve_index=False)
        if self.labelled:
            labels = np.asarray(y)
            table = table.append_column(self.label_name, pa.array(labels if labels.dtype.kind in "iub"
                                                                  else labels.astype(str)))
        self._write_arrow_table(table)
        self.written += len(frame)

    def _write_arrow(self, X: np.ndarray, y: np.ndarray | None) -> None:
        import pyarrow as pa

        columns = {name: X[:, j] for j, name in enumerate(self.columns)}
        if self.labelled:
            labels = np.asarray(y)
            columns[self.label_name] = labels if labels.dtype.kind in "iub" else labels.astype(str)
        self._write_arrow_table(pa.table(columns))

    def _write_arrow_table(self, table: Any) -> None:
        import pyarrow as pa

        if self.suffix == ".parquet":
            import pyarrow.parquet as pq

            if self._arrow is None:
                self._arrow = pq.ParquetWriter(self.tmp, table.schema)
            # a later block keeps the first one's types (a column all missing in a block is read as 'null')
            self._arrow.write_table(table.cast(self._arrow.schema) if table.schema != self._arrow.schema else table)
            return
        import pyarrow.csv as pacsv

        text = [f.name for f in table.schema if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)
                or pa.types.is_dictionary(f.type)]
        plain = not any(v is not None and set(str(v)) & {self._delimiter, '"', "\n", "\r"}
                        for name in text for v in table.column(name).to_pylist())
        options = pacsv.WriteOptions(include_header=False, delimiter=self._delimiter,
                                     quoting_style="none" if plain else "needed")
        buffer = _io.BytesIO()
        pacsv.write_csv(table, buffer, options)
        self._handle.write(buffer.getvalue())

    def _label_dtype(self) -> Any:
        y = None if self.like is None else self.like.y
        if y is None:
            return np.float64
        y = np.asarray(y)
        return y.dtype if y.dtype != object else np.asarray(y.astype(str)).dtype

    def _close(self) -> None:
        if self._member is not None:
            self._member.close()
            self._member = None
            if self.labelled:  # also with no rows (-n 0): an empty y of the labels' type
                labels = np.concatenate(self._labels) if self._labels else np.empty(0, dtype=self._label_dtype())
                with self._zip.open(f"{self.label_name}.npy", "w", force_zip64=True) as member:
                    np.lib.format.write_array(member, labels, allow_pickle=False)
        if self._zip is not None:
            self._zip.close()
            self._zip = None
        if self._handle is not None:
            self._handle.close()
            self._handle = None
        if self._arrow is not None:
            self._arrow.close()
            self._arrow = None
        elif self.suffix == ".parquet" and self.tmp is not None and self.written == 0 and self.n_rows == 0:
            import pyarrow as pa
            import pyarrow.parquet as pq

            pq.write_table(pa.table({c: np.empty(0) for c in self.columns}), self.tmp)


def open_writer(path: str | os.PathLike, n_rows: int, n_features: int, *, labelled: bool = False,
                like: Dataset | None = None, force: bool = False) -> SampleWriter:
    """A :class:`SampleWriter` for an output already checked by :func:`check_output` (checked again here).

    Parameters
    ----------
    path : str or path-like
        The output: a data file, or a folder of PNGs for image data.
    n_rows : int
        Rows that will be written in all.
    n_features : int
        Columns of every block.
    labelled : bool, default False
        Every block comes with its labels.
    like : Dataset, optional
        The input data, written alike (column names, label name, image shape and mode).
    force : bool, default False
        Replace an existing output instead of refusing.

    Returns
    -------
    SampleWriter
        Not yet open: use it in a ``with`` block.

    Raises
    ------
    DataFileError
        The output fails :func:`check_output`.
    """
    path = check_output(path, force, like=like, labelled=labelled)
    return SampleWriter(path, n_rows, n_features, labelled=labelled, like=like, force=force)


def save_data(path: str | os.PathLike, X: np.ndarray, y: np.ndarray | None = None, *, like: Dataset | None = None,
              force: bool = False) -> Path:
    """Write samples (and labels) in the format the path's extension names, in one block.

    Image data (``like.kind == "images"``) go to a folder of PNGs in the images' own mode when the path has
    no data suffix. The output is published exclusively unless ``force``; NaN and inf are refused.

    Parameters
    ----------
    path : str or path-like
        The output: ``.npy``, ``.npz``, ``.csv``, ``.tsv``, ``.parquet``, or a folder name for images.
    X : array-like (n, D)
        The samples.
    y : array-like (n,), optional
        Their labels (not for ``.npy`` or images).
    like : Dataset, optional
        The input data, written alike (column names, label name, image shape and mode).
    force : bool, default False
        Replace an existing output instead of refusing.

    Returns
    -------
    Path
        Where the samples were written.

    Raises
    ------
    DataFileError
        An output that cannot be written, exists (without ``force``) or cannot hold labels.
    NonFiniteSamplesError
        ``X`` holds NaN or inf; nothing is written.

    See Also
    --------
    inertial_diffusion.io.tables.load_data : Reads all these forms back.

    Examples
    --------
    >>> import tempfile
    >>> import numpy as np
    >>> from pathlib import Path
    >>> from inertial_diffusion.io.tables import load_data
    >>> tmp = tempfile.TemporaryDirectory()
    >>> path = save_data(Path(tmp.name) / "samples.csv", np.array([[0.5, 1.0], [2.0, 3.0]]), np.array(["a", "b"]))
    >>> print(path.read_text(), end="")
    x0,x1,label
    0.5,1,a
    2,3,b
    >>> load_data(path, labels="label").y.tolist()
    ['a', 'b']
    >>> tmp.cleanup()
    """
    X = np.asarray(X, dtype=np.float64)
    with open_writer(path, X.shape[0], X.shape[1], labelled=y is not None, like=like, force=force) as writer:
        writer.write(X, y)
    return writer.path

