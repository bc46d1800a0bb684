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
    """Data read from a file: the numeric matrix, optional labels, and how to write alike.

    ``X`` is float64 of shape (n, D). For images ``X`` holds the pixels scaled to [0, 1] by the mode's full
    range (255 for 8-bit modes, 65535 for ``I;16``), ``image_shape`` is (H, W) or (H, W, C) and
    ``image_mode`` the PIL mode every image had (written back in that mode).
    """

    X: Any
    y: Any = None
    kind: str = "array"  # "array" or "images"
    columns: list[str] | None = None
    label_name: str | None = None
    image_shape: tuple[int, ...] | None = None
    image_mode: str | None = None
    names: list[str] = field(default_factory=list)
