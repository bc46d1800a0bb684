"""Figures: training points vs samples, and image grids with each sample's nearest training image."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

__all__ = ["pyplot", "scatter_samples", "image_grid", "nearest_neighbour_grid"]


def pyplot():
    """matplotlib.pyplot with a non-interactive backend unless one is already chosen (safe in tests and CLIs).

    matplotlib is imported here, on first use, so that importing this module does not pay for it.

    Returns
    -------
    module
        ``matplotlib.pyplot``; its backend is switched to Agg unless it is already a file backend
        (Agg, PDF, SVG or Cairo).
    """
    import matplotlib

    if matplotlib.get_backend().lower() not in ("agg", "pdf", "svg", "cairo"):
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def scatter_samples(train: np.ndarray, samples: np.ndarray, path: str | Path, title: str = "") -> Path:
    """Scatter of training points and samples: as they are in 2-D and 3-D, by PCA (fitted on the
    training set) to 2-D above.

    Parameters
    ----------
    train : ndarray of shape (n, D)
        Training points (drawn first, in the background).
    samples : ndarray of shape (m, D)
        Generated points, with the same ``D``.
    path : str or pathlib.Path
        Image file to write; the format follows the suffix (``.png``, ``.pdf``, ...).
    title : str, default=""
        Figure title (default: the two counts).

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    plt = pyplot()
    dim = train.shape[1]
    fig = plt.figure(figsize=(6, 6))
    if dim == 3:
        ax = fig.add_subplot(projection="3d")
        ax.scatter(*train.T, s=4, alpha=0.4, label="training")
        ax.scatter(*samples.T, s=4, alpha=0.6, label="samples")
    else:
        if dim > 3:
            mean = train.mean(axis=0)
            _, _, vt = np.linalg.svd(train - mean, full_matrices=False)
            project = lambda A: (A - mean) @ vt[:2].T  # noqa: E731
            xlabel, ylabel = "PC 1", "PC 2"
        else:
            project = (lambda A: np.column_stack([A[:, 0], np.zeros(len(A))])) if dim == 1 else (lambda A: A)
            xlabel, ylabel = "x0", "x1" if dim == 2 else ""
        ax = fig.add_subplot()
        ax.scatter(*project(train).T, s=4, alpha=0.4, label="training")
        ax.scatter(*project(samples).T, s=4, alpha=0.6, label="samples")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.set_aspect("equal", adjustable="datalim")
    ax.legend(loc="upper right")
    ax.set_title(title or f"training ({len(train)}) vs samples ({len(samples)})")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return Path(path)


def image_grid(images: np.ndarray, path: str | Path, ncols: int | None = None) -> Path:
    """A grid of uint8 images (N, H, W) or (N, H, W, C).

    Parameters
    ----------
    images : ndarray of shape (N, H, W) or (N, H, W, C)
        Images with values 0..255 (see :func:`inertial_diffusion.io.to_images` for rows in [0, 1]);
        grey levels for (N, H, W).
    path : str or pathlib.Path
        Image file to write.
    ncols : int, optional
        Images per row (default: about the square root of N).

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    plt = pyplot()
    n = len(images)
    ncols = ncols or max(1, math.ceil(math.sqrt(n)))
    nrows = max(1, math.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(ncols * 0.9, nrows * 0.9), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, img in zip(axes.ravel(), images):
        ax.imshow(img, cmap="gray" if img.ndim == 2 else None, vmin=0, vmax=255)
    fig.tight_layout(pad=0.1)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return Path(path)


def nearest_neighbour_grid(samples: np.ndarray, neighbours: np.ndarray, distances: np.ndarray,
                           path: str | Path, ncols: int = 4) -> Path:
    """Each sample image beside its nearest training image, titled with their distance: copies
    (distance ~0) are visible at a glance.

    Parameters
    ----------
    samples : ndarray of shape (N, H, W) or (N, H, W, C)
        Sample images with values 0..255.
    neighbours : ndarray of shape (N, H, W) or (N, H, W, C)
        The nearest training image of each sample, in the same order.
    distances : ndarray of shape (N,)
        The distance of each pair (printed with 2 decimals), in the units it was measured in.
    path : str or pathlib.Path
        Image file to write.
    ncols : int, default=4
        Pairs per row.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    plt = pyplot()
    n = len(samples)
    nrows = max(1, math.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, 2 * ncols, figsize=(2 * ncols * 1.1, nrows * 1.3), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for i in range(n):
        r, c = divmod(i, ncols)
        for k, (img, label) in enumerate([(samples[i], "sample"), (neighbours[i], f"NN d={distances[i]:.2f}")]):
            ax = axes[r, 2 * c + k]
            ax.imshow(img, cmap="gray" if img.ndim == 2 else None, vmin=0, vmax=255)
            ax.set_title(label, fontsize=7)
    fig.tight_layout(pad=0.2)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)
