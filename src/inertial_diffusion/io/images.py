"""Folders of PNG images, read and written in their own mode and bit depth.

Each image is read as it is stored: no conversion between modes, ever. Pixel values are scaled to [0, 1] by the
mode's full range and written back in the same mode, so a round trip is exact. Modes without a faithful
[0, 1] scale (palette ``P``, bilevel ``1``, 32-bit ``I``/``F``, CMYK, ...) are refused with a one-line error
that names the mode and how to convert; converting them silently would change the data.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from inertial_diffusion.io.dataset import DataFileError, Dataset

__all__ = ["IMAGE_MODES", "load_images", "image_from_row", "to_images", "to_display"]

#: supported PIL mode -> (numpy dtype, channels, full-scale value)
IMAGE_MODES: dict[str, tuple[type, int, int]] = {
    "L": (np.uint8, 1, 255),
    "LA": (np.uint8, 2, 255),
    "RGB": (np.uint8, 3, 255),
    "RGBA": (np.uint8, 4, 255),
    "I;16": (np.uint16, 1, 65535),
}

_HINTS = {
    "P": "a palette image; convert the folder to RGB (or RGBA) first, e.g. Image.open(f).convert('RGB')",
    "1": "a 1-bit image; convert the folder to 'L' first, e.g. Image.open(f).convert('L')",
}


def _read_one(f: Path) -> tuple[np.ndarray, str]:
    from PIL import Image

    try:
        with Image.open(f) as img:
            mode = img.mode
            if mode in ("I;16B", "I;16L"):
                mode = "I;16"
            if mode not in IMAGE_MODES:
                hint = _HINTS.get(mode, f"supported modes are {', '.join(IMAGE_MODES)}")
                raise DataFileError(f"{f}: image mode {img.mode!r} is not supported ({hint})")
            arr = np.asarray(img)
    except DataFileError:
        raise
    except Exception as exc:
        raise DataFileError(f"{f}: unreadable image ({exc})") from None
    dtype, _, _ = IMAGE_MODES[mode]
    return arr.astype(dtype, copy=False), mode


def load_images(folder: Path) -> Dataset:
    """Every ``*.png`` of ``folder`` (sorted by name), all of one size and one mode, as rows in [0, 1]."""
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() == ".png" and not p.name.startswith("."))
    if not files:
        raise DataFileError(f"{folder}: a folder, but with no .png images in it")
    first, mode = _read_one(files[0])
    scale = IMAGE_MODES[mode][2]
    X = np.empty((len(files), first.size))
    X[0] = first.reshape(-1) / scale
    for i, f in enumerate(files[1:], start=1):
        arr, m = _read_one(f)
        if m != mode:
            raise DataFileError(f"{folder}: images differ in mode ({files[0].name} is {mode}, {f.name} is {m}); "
                                "all must have the same mode")
        if arr.shape != first.shape:
            raise DataFileError(f"{folder}: images differ in size ({files[0].name} is {first.shape}, {f.name} "
                                f"is {arr.shape}); all must be the same size and mode")
        X[i] = arr.reshape(-1) / scale
    return Dataset(X, kind="images", image_shape=tuple(first.shape), image_mode=mode,
                   names=[f.name for f in files])


def image_from_row(row: np.ndarray, image_shape: tuple[int, ...], mode: str):
    """One row in [0, 1] as a PIL image of ``mode`` (values outside [0, 1] are clipped to the mode's range)."""
    from PIL import Image

    dtype, _, scale = IMAGE_MODES[mode]
    arr = (np.clip(row, 0.0, 1.0) * scale).round().astype(dtype).reshape(image_shape)
    return Image.fromarray(arr)  # uint8 with 1-4 channels -> L, LA, RGB, RGBA; uint16 -> I;16


def to_images(X: np.ndarray, image_shape: tuple[int, ...]) -> np.ndarray:
    """Rows in [0, 1] to uint8 images of ``image_shape`` (for figures)."""
    return (np.clip(X, 0.0, 1.0) * 255).round().astype(np.uint8).reshape((-1,) + tuple(image_shape))


def to_display(X: np.ndarray, image_shape: tuple[int, ...], mode: str | None) -> np.ndarray:
    """Rows in [0, 1] as uint8 images a figure can show: gray (H, W), RGB or RGBA; LA shows its gray channel."""
    images = to_images(X, image_shape)
    if mode == "LA":
        images = images[..., 0]
    return images
