"""Reading data files: npy, npz, csv/tsv (pyarrow's CSV reader), parquet, and folders of PNG images.

CSV rules (the README documents them):

* UTF-8, with or without a byte-order mark (Excel's "CSV UTF-8"): the BOM is not part of the first name/value.
* Delimiter: ``.tsv`` is tab-separated; a ``.csv`` is sniffed on its first lines: ``;`` when every line splits
  into the same number (> 1) of fields on it, else ``,``, else tab or ``|`` by the same test.
* Header: the first line is a header unless every field on it is a number; a header of numbers (years, say)
  needs ``header=True`` (``--header``), and ``header=False`` (``--no-header``) reads a first line as data.
* Blank and whitespace-only lines are ignored; a line with the wrong number of fields is an error naming it.
* Empty cells and ``NA``/``NaN``/``null`` are missing values.

csv/tsv/parquet files are tables: each column keeps its type (numbers, integers, ``true``/``false``, text,
dates and times, missing values), read into a pandas DataFrame (``Dataset.frame``) that the model encodes
(:mod:`inertial_diffusion.tables`); ``Dataset.X`` is the numeric matrix when every column is numeric and none has
a missing value. The reader decides nothing about the encoding.
"""

from __future__ import annotations

import csv
import os
import re
from pathlib import Path
from typing import Any, Callable

import numpy as np

from inertial_diffusion.io.dataset import DATA_SUFFIXES, DataFileError, Dataset
from inertial_diffusion.io.images import load_images

__all__ = ["load_data"]

_SNIFF_BYTES = 1 << 16


def load_data(path: str | os.PathLike, key: str | None = None, labels: str | None = None,
              header: bool | None = None) -> Dataset:
    """Read a data set: a numeric matrix, optional labels, and what is needed to write samples alike.

    The file type follows the suffix; csv/tsv files follow the rules of the module docstring. Arrays must be
    finite numbers; a table's columns keep their types and missing values (infinite numbers are refused), and
    every label must be present.

    Parameters
    ----------
    path : str or path-like
        A ``.npy``, ``.npz``, ``.csv``, ``.tsv`` or ``.parquet`` file, or a folder of PNG images.
    key : str, optional
        The array of an ``.npz`` to read (needed when it holds more than one besides the labels; an
        ``.npz`` of exactly ``X`` and ``y``, as this package writes, reads ``X``).
    labels : str, optional
        A label column (csv/tsv/parquet, by name, or for csv/tsv by 0-based index) or label array (npz),
        kept out of ``X`` and returned as ``y``.
    header : bool, optional
        csv/tsv only: ``True`` the first line is a header, ``False`` it is data, ``None`` decide by the
        rule above (a header unless all its fields are numbers).

    Returns
    -------
    Dataset
        ``X`` (n, D) float64 (3-D arrays and images flattened per row; for a table, only when every column is
        numeric and none has a missing value), ``frame`` (a table's typed columns), ``y`` when ``labels`` is given,
        and the column names, label name, image shape and mode.

    Raises
    ------
    DataFileError
        Any problem, in one line naming the file: missing, unreadable, empty, ragged, non-numeric,
        missing/NaN/inf values (with column and row), missing labels, unsupported image modes.

    See Also
    --------
    inertial_diffusion.io.writers.save_data : Write samples in the same forms.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> tmp = tempfile.TemporaryDirectory()
    >>> path = Path(tmp.name) / "iris.csv"
    >>> _ = path.write_text("sepal,petal,species\\n5.1,1.4,setosa\\n7.0,4.7,versicolor\\n")
    >>> data = load_data(path, labels="species")
    >>> data.X.tolist(), data.y.tolist(), data.columns
    ([[5.1, 1.4], [7.0, 4.7]], ['setosa', 'versicolor'], ['sepal', 'petal'])
    >>> _ = path.write_text("a,b\\n1,\\n2,3\\n")
    >>> table = load_data(path)  # a missing value: a table, kept for the model to sample at its rate
    >>> table.X is None, table.frame["b"].isna().tolist()
    (True, [True, False])
    >>> tmp.cleanup()
    """
    path = Path(path)
    if not path.exists():
        raise DataFileError(f"{path}: no such file or directory")
    if path.is_dir():
        if labels is not None:
            raise DataFileError(f"{path}: a folder of images has no labels; drop --labels")
        data = load_images(path)
    else:
        suffix = path.suffix.lower()
        readers: dict[str, Callable[..., Dataset]] = {".npy": _load_npy, ".npz": _load_npz, ".csv": _load_csv,
                                                      ".tsv": _load_csv, ".parquet": _load_parquet}
        if suffix not in readers:
            raise DataFileError(f"{path}: unknown file type {suffix or '(no extension)'!r}; expected one of "
                                f"{', '.join(DATA_SUFFIXES)} or a folder of PNG images")
        if header is not None and suffix not in (".csv", ".tsv"):
            raise DataFileError(f"{path}: --header/--no-header apply to csv/tsv files only")
        data = readers[suffix](path, key=key, labels=labels, header=header)
    if data.frame is not None:
        if data.frame.shape[1] == 0:
            raise DataFileError(f"{path}: no feature columns (only the label {data.label_name!r})")
        _check_table(path, data)
    else:
        if data.X.ndim != 2 or data.X.shape[0] == 0 or data.X.shape[1] == 0:
            raise DataFileError(f"{path}: no data (array of shape {data.X.shape})")
        _check_finite(path, data)
    _check_labels(path, data)
    return data


def _check_table(path: Path, data: Dataset) -> None:
    """A table's numbers must be finite (missing values are allowed: the model keeps them at their rate)."""
    frame = data.frame
    for name in frame.columns:
        col = frame[name]
        if col.dtype.kind == "f" or str(col.dtype).startswith("Float"):
            values = col.to_numpy(dtype=np.float64, na_value=np.nan)
            bad = np.isinf(values)
            if bad.any():
                raise DataFileError(f"{path}: an infinite value in column {str(name)!r}, data row "
                                    f"{int(np.argmax(bad)) + 1} ({int(bad.sum())} in all); fix or drop those rows")
        if col.isna().all():
            raise DataFileError(f"{path}: column {str(name)!r} has no values (all missing); drop it")


def _frame_of(table: Any, names: list[str]) -> Any:
    """The typed pandas columns of an arrow table: integers and booleans with missing values stay nullable."""
    import pandas as pd
    import pyarrow as pa

    columns = {}
    for name in names:
        col = table.column(name)
        if pa.types.is_integer(col.type) and col.null_count:  # not through float64: exact above 2^53
            columns[name] = pd.Series(pd.array(col.to_pylist(), dtype="Int64"))
        elif pa.types.is_boolean(col.type) and col.null_count:
            columns[name] = pd.Series(col.to_pylist(), dtype="boolean")
        elif pa.types.is_null(col.type):
            columns[name] = pd.Series([None] * len(col), dtype=object)
        elif pa.types.is_decimal(col.type):
            columns[name] = pd.Series(col.cast(pa.float64()).to_pandas())
        else:
            columns[name] = col.to_pandas()
    return pd.DataFrame(columns, columns=names)


def _numeric_matrix(frame: Any) -> np.ndarray | None:
    """The table as a float matrix when every column is numeric (or boolean) and none has a missing value."""
    from pandas.api import types as pdt

    if all((pdt.is_numeric_dtype(frame[c].dtype) or pdt.is_bool_dtype(frame[c].dtype))
           and not pdt.is_complex_dtype(frame[c].dtype) for c in frame.columns) and not frame.isna().any().any():
        return frame.to_numpy(dtype=np.float64)
    return None


def _check_finite(path: Path, data: Dataset) -> None:
    bad = ~np.isfinite(data.X)
    if bad.any():
        row, col = (int(v) for v in np.argwhere(bad)[0])
        value = data.X[row, col]
        what = "a missing or NaN value" if np.isnan(value) else "an infinite value"
        where = f"column {data.columns[col]!r}" if data.columns else f"column {col}"
        raise DataFileError(f"{path}: {what} in {where}, data row {row + 1} ({int(bad.sum())} in all); "
                            "fill or drop those rows")


def _check_labels(path: Path, data: Dataset) -> None:
    if data.y is None:
        return
    y = np.asarray(data.y)
    missing = np.array([v is None for v in y]) if y.dtype == object else np.zeros(len(y), bool)
    if np.issubdtype(y.dtype, np.floating):
        missing |= np.isnan(y)
    if missing.any():
        row = int(np.argmax(missing))
        raise DataFileError(f"{path}: label {data.label_name!r} is missing (or NaN) in data row {row + 1} "
                            f"({int(missing.sum())} in all); fill or drop those rows")


def _numeric(arr: np.ndarray, path: Path) -> np.ndarray:
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool) or np.iscomplexobj(arr):
        raise DataFileError(f"{path}: array of dtype {arr.dtype} is not real numeric data")
    arr = arr.astype(np.float64)
    if arr.ndim == 1:
        arr = arr[:, None]
    elif arr.ndim > 2:
        arr = arr.reshape(arr.shape[0], -1)
    return arr


def _load_npy(path: Path, key: str | None = None, labels: str | None = None, header: bool | None = None) -> Dataset:
    try:
        arr = np.load(path, allow_pickle=False)
    except Exception as exc:
        with open(path, "rb") as handle:
            magic = handle.read(6)
        if magic != b"\x93NUMPY":
            raise DataFileError(f"{path}: not a .npy file (no NumPy header: a text or CSV file? name it .csv)") \
                from None
        raise DataFileError(f"{path}: not a readable .npy file ({str(exc).splitlines()[0]})") from None
    if labels is not None:
        raise DataFileError(f"{path}: a .npy file holds one array; put labels in a .npz or a csv column")
    return Dataset(_numeric(arr, path), image_shape=arr.shape[1:] if arr.ndim == 3 else None)


def _load_npz(path: Path, key: str | None = None, labels: str | None = None, header: bool | None = None) -> Dataset:
    try:
        archive = np.load(path, allow_pickle=False)
        names = list(archive.files)
    except Exception as exc:
        raise DataFileError(f"{path}: not a readable .npz file ({exc})") from None
    data_names = [n for n in names if n != labels]
    if key is None and len(data_names) > 1 and "X" in names and set(names) <= {"X", "y"}:
        key = "X"  # this tool's labelled output: X and y
    if key is None:
        if len(data_names) != 1:
            hint = " and the labels with --labels" if "y" in names and labels is None else ""
            raise DataFileError(f"{path}: holds arrays {names}; choose one with --key{hint}")
        key = data_names[0]
    if key not in names:
        raise DataFileError(f"{path}: no array named {key!r}; it holds {names}")
    if labels is not None and labels not in names:
        raise DataFileError(f"{path}: no label array named {labels!r}; it holds {names}")
    try:
        arr = archive[key]
        y = np.asarray(archive[labels]) if labels is not None else None
    except Exception as exc:
        raise DataFileError(f"{path}: unreadable array ({exc})") from None
    X = _numeric(arr, path)
    if y is not None and (y.ndim != 1 or y.shape[0] != X.shape[0]):
        raise DataFileError(f"{path}: {labels!r} has shape {y.shape}, expected one label per row ({X.shape[0]})")
    return Dataset(X, y, label_name=labels, image_shape=arr.shape[1:] if arr.ndim == 3 else None)


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def _sniff(path: Path, tab: bool) -> tuple[str, list[str], list[str]]:
    """(delimiter, the first non-blank line's fields, the sampled lines) from the file's first 64 KiB."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(_SNIFF_BYTES)
            while len(head) % _SNIFF_BYTES == 0 and b"\n" not in head.lstrip(b"\r\n"):  # a header longer than 64 KiB
                more = handle.read(_SNIFF_BYTES)
                if not more:
                    break
                head += more
    except OSError as exc:
        raise DataFileError(f"{path}: unreadable ({exc.strerror or exc})") from None
    try:
        text = head.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if len(head) % _SNIFF_BYTES or exc.start < len(head) - 4:  # not just a character cut at the end
            raise DataFileError(f"{path}: not UTF-8 text (byte {exc.start}); save it as CSV UTF-8") from None
        text = head[:exc.start].decode("utf-8-sig")
    lines = text.splitlines()
    if len(head) % _SNIFF_BYTES == 0 and len(lines) > 1:
        lines = lines[:-1]  # possibly cut
    lines = [line for line in lines if line.strip()][:50]
    if not lines:
        raise DataFileError(f"{path}: the file is empty")
    if tab:
        delimiter = "\t"
    else:
        delimiter = ","
        for candidate in (";", ",", "\t", "|"):
            counts = {len(row) for row in csv.reader(lines, delimiter=candidate)}
            if len(counts) == 1 and counts.pop() > 1:
                delimiter = candidate
                break
    first = next(csv.reader(lines[:1], delimiter=delimiter))
    return delimiter, first, lines


def _ragged_line(path: Path, delimiter: str, expected: int) -> str:
    """Where the first row with the wrong number of fields is (only on the error path: reads the file)."""
    with open(path, newline="", encoding="utf-8-sig", errors="replace") as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        for row in reader:
            if any(cell.strip() for cell in row) and len(row) != expected:
                return f"line {reader.line_num} has {len(row)} fields, expected {expected}"
    return f"a line does not have {expected} fields"


def _load_csv(path: Path, key: str | None = None, labels: str | None = None, header: bool | None = None) -> Dataset:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    delimiter, first, _ = _sniff(path, tab=path.suffix.lower() == ".tsv")
    has_header = header if header is not None else not all(_is_number(c) for c in first if c.strip())
    names = [c.strip() for c in first] if has_header else [f"x{i}" for i in range(len(first))]
    unnamed_first = has_header and len(names) > 1 and names[0] in ("", "Unnamed: 0")
    names = [name or f"x{i}" for i, name in enumerate(names)]
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise DataFileError(f"{path}: the header names column {dup!r} twice")
    label_index = None
    if labels is not None:
        if labels in names:
            label_index = names.index(labels)
        elif labels.isdigit() and int(labels) < len(names):
            label_index = int(labels)
        else:
            hint = "" if has_header else " (the file has no header: name the column by its 0-based index, or " \
                                          "pass --header)"
            raise DataFileError(f"{path}: no label column {labels!r}; columns are {names}{hint}")
    ragged: list[bool] = []

    def on_invalid(row: Any) -> str:
        if not row.text.strip():
            return "skip"  # a blank or whitespace-only line (often the last one)
        ragged.append(True)
        return "error"

    try:
        table = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(column_names=names, skip_rows=1 if has_header else 0),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, invalid_row_handler=on_invalid),
            convert_options=pacsv.ConvertOptions(
                column_types={names[label_index]: pa.string()} if label_index is not None else None,
                strings_can_be_null=True))
    except (pa.ArrowInvalid, pa.ArrowException, OSError) as exc:
        if ragged:
            raise DataFileError(f"{path}: {_ragged_line(path, delimiter, len(names))} (ragged CSV)") from None
        message = str(exc).splitlines()[0]
        raise DataFileError(f"{path}: unreadable CSV ({message})") from None
    if table.num_rows == 0:
        raise DataFileError(f"{path}: a header but no data rows")
    feature_names = [n for i, n in enumerate(names) if i != label_index]
    notes = []
    if unnamed_first and label_index != 0 and _looks_like_an_index(table.column(names[0])):
        feature_names.remove(names[0])  # pandas' df.to_csv() writes its index as a first, unnamed column
        notes.append(f"{path}: the first column has no name and holds distinct integers (pandas' index, from "
                     "df.to_csv() with index=True): left out")
    _check_decimal_commas(table, feature_names, path, delimiter)
    frame = _frame_of(table, feature_names)
    y = None
    if label_index is not None:
        y = _maybe_numeric_labels(np.array(table.column(names[label_index]).to_pylist(), dtype=object))
    return Dataset(_numeric_matrix(frame), y, columns=feature_names,
                   label_name=names[label_index] if label_index is not None else None, frame=frame, notes=notes)


def _looks_like_an_index(column: Any) -> bool:
    """Distinct integers: what ``df.to_csv()`` writes for a frame's index (0..n-1, or a filtered subset of it)."""
    import pyarrow as pa

    if not pa.types.is_integer(column.type) or column.null_count:
        return False
    values = column.to_numpy(zero_copy_only=False)
    return len(np.unique(values)) == len(values)


def _pandas_index_columns(table: Any) -> list[str]:
    """Names of the columns that hold pandas' index in a parquet file's pandas metadata."""
    meta = table.schema.pandas_metadata or {}
    return [c for c in meta.get("index_columns", []) if isinstance(c, str) and c in table.column_names]


def _check_decimal_commas(table: Any, names: list[str], path: Path, delimiter: str) -> None:
    """A ';'-separated column of numbers written with decimal commas would be read as text (categories): refuse."""
    import pyarrow as pa

    for name in names:
        col = table.column(name)
        if not pa.types.is_string(col.type):
            continue
        values = [v for v in col.to_pylist() if v is not None]
        if values and all(re.fullmatch(r"[-+]?\d{1,3}(_\d{3})+(\.\d*)?|[-+]?\d+(\.\d*)?", v.strip()) for v in values) \
                and any("_" in v for v in values):
            raise DataFileError(f"{path}: column {name!r} holds numbers with '_' digit separators ({values[0]!r}); "
                                "they are read as text: write the numbers without separators")
        if delimiter == ";":
            if values and all(_is_number(v.replace(",", ".")) for v in values) and any("," in v for v in values):
                raise DataFileError(f"{path}: column {name!r} holds numbers with decimal commas ({values[0]!r}); "
                                    "decimal commas are not read: use '.' for decimals")


def _maybe_numeric_labels(y: np.ndarray) -> np.ndarray:
    """Labels that are all integers become int64; otherwise strings (missing labels stay ``None``)."""
    if any(v is None for v in y):
        return y
    text = y.astype(str)
    try:
        as_int = text.astype(np.int64)
        if np.array_equal(as_int.astype(str), text):
            return as_int
    except (ValueError, OverflowError):
        pass
    return text


def _load_parquet(path: Path, key: str | None = None, labels: str | None = None,
                  header: bool | None = None) -> Dataset:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as exc:
        raise DataFileError(f"{path}: unreadable parquet file ({str(exc).splitlines()[0]})") from None
    names = table.column_names
    index = _pandas_index_columns(table)  # a filtered or shuffled frame's index, saved beside the columns
    notes = [f"{path}: column(s) {', '.join(map(repr, index))} hold pandas' index (df.to_parquet()): left out"] \
        if index else []
    if labels is not None and labels not in names:
        raise DataFileError(f"{path}: no label column {labels!r}; columns are {[n for n in names if n not in index]}")
    feature_names = [n for n in names if n != labels and n not in index]
    frame = _frame_of(table, feature_names)
    y = None
    if labels is not None:
        col = table.column(labels)
        y = np.array(col.to_pylist(), dtype=object) if col.null_count else col.to_numpy(zero_copy_only=False)
    return Dataset(_numeric_matrix(frame), y, columns=feature_names, label_name=labels, frame=frame, notes=notes)

