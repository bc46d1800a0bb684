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
    """Read every ``*.png`` of ``folder`` (sorted by name), all of one size and one mode, as rows in [0, 1].

    Hidden files are skipped. Each image is read in its own mode, never converted (see the module
    docstring), so that samples can be written back in that mode.

    Parameters
    ----------
    folder : Path
        A folder of PNG images.

    Returns
    -------
    Dataset
        ``kind="images"``; ``X`` (n, H*W*C) float64 in [0, 1], ``image_shape``, ``image_mode`` and the
        file ``names``.

    Raises
    ------
    DataFileError
        No PNG in the folder, an unreadable image, an unsupported mode, or images that differ in mode or size.
    """
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
    """One row in [0, 1] as a PIL image of ``mode``, the inverse of the scaling of :func:`load_images`.

    Parameters
    ----------
    row : ndarray (H*W*C,)
        Pixel values in [0, 1]; values outside are clipped to the mode's range.
    image_shape : tuple of int
        (H, W) or (H, W, C).
    mode : str
        A key of :data:`IMAGE_MODES`.

    Returns
    -------
    PIL.Image.Image
        The image, in ``mode``.

    Examples
    --------
    >>> import numpy as np
    >>> img = image_from_row(np.array([0.0, 0.5, 1.0, 2.0]), (2, 2), "L")
    >>> img.mode, img.size, np.asarray(img).tolist()
    ('L', (2, 2), [[0, 128], [255, 255]])
    """
    from PIL import Image

    dtype, _, scale = IMAGE_MODES[mode]
    arr = (np.clip(row, 0.0, 1.0) * scale).round().astype(dtype).reshape(image_shape)
    return Image.fromarray(arr)  # uint8 with 1-4 channels -> L, LA, RGB, RGBA; uint16 -> I;16


def to_images(X: np.ndarray, image_shape: tuple[int, ...]) -> np.ndarray:
    """Rows in [0, 1] as uint8 images of ``image_shape``, for figures.

    Parameters
    ----------
    X : ndarray (n, H*W*C)
        Pixel rows in [0, 1] (clipped).
    image_shape : tuple of int
        (H, W) or (H, W, C).

    Returns
    -------
    ndarray ``(n,) + image_shape``
        uint8 images, 0 to 255 (16-bit data are scaled down to 8 bits).

    Examples
    --------
    >>> import numpy as np
    >>> to_images(np.array([[0.0, 0.5, 1.0, 2.0]]), (2, 2)).tolist()
    [[[0, 128], [255, 255]]]
    """
    return (np.clip(X, 0.0, 1.0) * 255).round().astype(np.uint8).reshape((-1,) + tuple(image_shape))


def to_display(X: np.ndarray, image_shape: tuple[int, ...], mode: str | None) -> np.ndarray:
    """Rows in [0, 1] as uint8 images a figure can show: gray (H, W), RGB or RGBA.

    Matplotlib cannot show gray-with-alpha, so ``LA`` images show their gray channel.

    Parameters
    ----------
    X : ndarray (n, H*W*C)
        Pixel rows in [0, 1].
    image_shape : tuple of int
        (H, W) or (H, W, C).
    mode : str or None
        The images' PIL mode (``None`` for image-shaped arrays read from ``.npy``/``.npz``).

    Returns
    -------
    ndarray (n, H, W) or (n, H, W, C)
        uint8 images.

    Examples
    --------
    >>> import numpy as np
    >>> to_display(np.full((1, 8), 0.5), (2, 2, 2), "LA").shape  # gray and alpha: the gray channel
    (1, 2, 2)
    """
    images = to_images(X, image_shape)
    if mode == "LA":
        images = images[..., 0]
    return images
