"""Folders of images, read in their own mode and bit depth, and samples written as PNG.

A folder is read whole or refused: its images are PNG, JPEG, BMP, TIFF or WebP files (:data:`IMAGE_SUFFIXES`), and
anything else in it (other files, sub-folders) is named in the error rather than skipped, so that a model is never
fitted on a silent subset. Animated images and 16-bit colour PNGs (which Pillow would read as 8-bit) are refused.
Each image is read as it is stored: no conversion between modes, ever. Pixel values are scaled to [0, 1] by the
mode's full range and written back in the same mode, so a round trip is exact. Modes without a faithful
[0, 1] scale (palette ``P``, bilevel ``1``, 32-bit ``I``/``F``, CMYK, ...) are refused with a one-line error
that names the mode and how to convert; converting them silently would change the data.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from inertial_diffusion.io.dataset import DataFileError, Dataset

__all__ = ["IMAGE_MODES", "IMAGE_SUFFIXES", "load_images", "image_from_row", "to_images", "to_display"]

#: Image files a folder may hold (read by Pillow in their own mode).
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")

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


def _png_bit_depth(f: Path) -> tuple[int, int] | None:
    """(bit depth, colour type) from a PNG's IHDR chunk, or None for another file."""
    with open(f, "rb") as handle:
        head = handle.read(26)
    if len(head) < 26 or head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        return None
    return head[24], head[25]


def _read_one(f: Path) -> tuple[np.ndarray, str]:
    from PIL import Image

    depth = _png_bit_depth(f) if f.suffix.lower() == ".png" else None
    if depth is not None and depth[0] == 16 and depth[1] in (2, 4, 6):
        kind = {2: "RGB", 4: "gray + alpha", 6: "RGBA"}[depth[1]]
        raise DataFileError(f"{f}: a 16-bit {kind} PNG, which Pillow can only read as 8-bit; convert the folder to "
                            "8-bit (or to 16-bit grayscale) first, rather than lose half of every value silently")
    try:
        with Image.open(f) as img:
            frames = int(getattr(img, "n_frames", 1))
            if frames > 1:
                raise DataFileError(f"{f}: an animated image ({frames} frames); save one frame per file")
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
    """Read every image of ``folder`` (sorted by name), all of one size and one mode, as rows in [0, 1].

    Hidden files are skipped; any other file or sub-folder is an error (never a silent subset). Each image is read
    in its own mode, never converted (see the module docstring), so that samples can be written back in that mode.

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
        No image in the folder, an entry that is not an image, an unreadable, animated or 16-bit colour image, an
        unsupported mode, or images that differ in mode or size.
    """
    entries = sorted(p for p in folder.iterdir() if not p.name.startswith("."))
    files = [p for p in entries if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES]
    others = [p.name + ("/" if p.is_dir() else "") for p in entries if p not in files]
    if others:
        shown = ", ".join(map(repr, others[:3])) + (" ..." if len(others) > 3 else "")
        raise DataFileError(f"{folder}: holds {len(others)} entr{'y' if len(others) == 1 else 'ies'} that "
                            f"{'is' if len(others) == 1 else 'are'} not an image ({shown}); a folder is read whole "
                            f"(images: {', '.join(IMAGE_SUFFIXES)}): move {'it' if len(others) == 1 else 'them'} out")
    if not files:
        raise DataFileError(f"{folder}: a folder, but with no images in it ({', '.join(IMAGE_SUFFIXES)})")
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
