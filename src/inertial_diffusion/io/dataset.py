"""What a data file holds once read, and the one error type of the ``io`` package."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["DataFileError", "Dataset", "DATA_SUFFIXES"]

DATA_SUFFIXES = (".npy", ".npz", ".csv", ".tsv", ".parquet")


class DataFileError(ValueError):
    """A data file that cannot be read or written, with a one-line message naming the file and the problem."""


@dataclass
class Dataset:
    """Data read from a file: the numeric matrix, optional labels, and how to write samples alike.

    Returned by :func:`~inertial_diffusion.io.tables.load_data`; passed as ``like=`` to the writers so that
    samples come back in the input's form (its column names, label name, image shape and mode).

    Parameters
    ----------
    X : ndarray (n, D)
        The features, float64. For images, the pixels of each image flattened into a row and scaled to
        [0, 1] by the mode's full range (255 for 8-bit modes, 65535 for ``I;16``).
    y : ndarray (n,), optional
        The labels (integers, strings or numbers), ``None`` without ``labels``.
    kind : {"array", "images"}, default "array"
        ``"images"`` for a folder of PNGs (samples are then written as a folder of PNGs).
    columns : list of str, optional
        Feature names of a table (csv/tsv/parquet), in the order of the columns of ``X``.
    label_name : str, optional
        Name of the label column or array.
    image_shape : tuple of int, optional
        (H, W) or (H, W, C) of each image (also set for a 3-D ``.npy``/``.npz`` array).
    image_mode : str, optional
        The PIL mode every image had (a key of :data:`~inertial_diffusion.io.images.IMAGE_MODES`), in which
        samples are written back.
    names : list of str
        File names of the images, in the order of the rows.
    frame : pandas.DataFrame, optional
        A table's feature columns with their types (csv/tsv/parquet): what the model is fitted on
        (:mod:`inertial_diffusion.tables`). ``X`` is then the numeric matrix when every column is numeric and no
        value is missing, else None.
    notes : list of str
        What the reader decided that a user should hear (a pandas index left out, say).

    Examples
    --------
    >>> import numpy as np
    >>> data = Dataset(np.zeros((3, 2)), y=np.array([0, 1, 1]), columns=["a", "b"], label_name="class")
    >>> data.kind, data.X.shape, data.columns
    ('array', (3, 2), ['a', 'b'])
    """

    X: Any
    y: Any = None
    kind: str = "array"  # "array" or "images"
    columns: list[str] | None = None
    label_name: str | None = None
    image_shape: tuple[int, ...] | None = None
    image_mode: str | None = None
    names: list[str] = field(default_factory=list)
    frame: Any = None
    notes: list[str] = field(default_factory=list)

    @property
    def n_columns(self) -> int:
        """Feature columns: of the table, or of ``X``."""
        return len(self.frame.columns) if self.frame is not None else int(self.X.shape[1])

    @property
    def training(self) -> Any:
        """What a model is fitted on: the typed table when there is one, else ``X``."""
        return self.frame if self.frame is not None else self.X
