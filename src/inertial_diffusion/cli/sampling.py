"""What the ``sample`` and ``evaluate`` commands do between parsing and printing: output checks, streamed
sampling, summaries, figures. Heavy modules are imported inside the functions."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

__all__ = ["UNIT_SPREAD_RATIO", "unit_spread_note",
           "BLOCK_ROWS", "precheck_output", "write_samples", "stream_samples", "fit", "summary", "image_grid",
           "load_maybe_labelled", "evaluation_figure", "find_label", "grid_path", "progress"]

#: rows drawn and written per block: fixed, so that the same seed gives the same output for any -n
BLOCK_ROWS = 2000


def progress(quiet: bool):
    """A progress bar on stderr (hidden with ``--quiet``)."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    # on stderr, so that stdout carries only results
    return Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                    TimeElapsedColumn(), disable=quiet, transient=True, console=Console(stderr=True))


def stream_samples(model, writer, n: int, seed: Any, progress, label: Any = None, labelled: bool = False,
                    first: Optional[list] = None, exclude_copies: bool = False) -> None:
    """Draw ``n`` samples in blocks of :data:`BLOCK_ROWS` from one generator and write each block as it comes:
    memory follows the block, not ``n``; same seed, same output."""
    import numpy as np

    rng = np.random.default_rng(seed)
    task = progress.add_task("sampling" + (f" class {label!r}" if label is not None else ""), total=n)
    for start in range(0, n, BLOCK_ROWS):
        k = min(BLOCK_ROWS, n - start)
        options = {"exclude_copies": True} if exclude_copies else {}
        block = model.sample(k, random_state=rng, y=label, **options)
        writer.write(block, np.full(k, label, dtype=model.classes_.dtype) if labelled else None)
        if first is not None and sum(map(len, first)) < 100:
            first.append(block[:100])
        progress.advance(task, k)


def find_label(value: str, y: Any) -> Any:
    """The label of the data whose text is ``value`` (``--class 1`` finds the integer label 1)."""
    import numpy as np

    from inertial_diffusion.core.validation import plain_label

    classes = np.unique(y.astype(str)) if y.dtype == object else np.unique(y)
    for c in classes:
        if str(c) == value:
            return plain_label(c)
    raise ValueError(f"--class {value!r} is not a label in the data; labels are "
                     f"{', '.join(map(str, classes[:20]))}{' ...' if len(classes) > 20 else ''}")


def grid_path(output: Path) -> Path:
    """Where the preview of an image output folder goes: beside it, so the folder holds only samples."""
    return output.with_name(output.name + "_grid.png")


def precheck_output(output: Path, force: bool, labelled: bool) -> None:
    """The output checks that do not need the data: a known type, labels it can hold, existence, its folder."""
    from inertial_diffusion.io import DATA_SUFFIXES, DataFileError, check_output_path

    suffix = output.suffix.lower()
    if suffix and suffix not in DATA_SUFFIXES:
        raise DataFileError(f"{output}: unknown output type {suffix!r}; expected one of {', '.join(DATA_SUFFIXES)} "
                            "or a folder name for images")
    if labelled and suffix == ".npy":
        raise DataFileError(f"{output}: a .npy file cannot hold the labels; write .npz (X and y), .csv, .tsv or "
                            ".parquet")
    check_output_path(output, force)


def write_samples(model, output: Path, data, classes: list, n: int, seed: Any, labelled: bool, force: bool,
                   progress, first: list, exclude_copies: bool = False) -> None:
    """Stream n samples per entry of ``classes`` (None: unconditional) to ``output``; one seed per class drawn
    from ``seed`` when there are several classes."""
    import numpy as np

    from inertial_diffusion.io import open_writer

    seeds = [seed] if len(classes) == 1 else [int(s) for s in np.random.default_rng(seed).integers(2**31,
                                                                                                 size=len(classes))]
    with open_writer(output, n * len(classes), data.X.shape[1], labelled=labelled, like=data,
                     force=force) as writer:
        for c, s in zip(classes, seeds):
            stream_samples(model, writer, n, s, progress, c, labelled, first, exclude_copies)


def fit(model, data, intrinsic_dim: Optional[float], input: Path) -> None:
    import numpy as np

    from inertial_diffusion.core.bandwidth import DimensionEstimateError

    try:
        model.fit(data.X, data.y)
    except DimensionEstimateError as exc:
        raise ValueError(f"the intrinsic dimension could not be estimated from {input}: {exc.reason}; pass "
                         "--intrinsic-dim D (e.g. the number of free parameters of the data)") from None
    except ValueError as exc:
        if intrinsic_dim is None and "intrinsic_dim" in str(exc):
            raise ValueError(f"the intrinsic dimension could not be estimated from {input} ({exc}); pass "
                             "--intrinsic-dim D (e.g. the number of free parameters of the data)") from None
        raise
    d = getattr(model, "intrinsic_dim_", None)
    if d is not None and not np.isfinite(d):
        raise ValueError(f"the intrinsic dimension estimated from {input} is not finite (tied distances: duplicate "
                         "rows or integer/boolean data); pass --intrinsic-dim D")


def summary(model, total: int, output: Path, label: Any) -> str:
    fitted = model.class_models_[label] if label is not None else model
    d = getattr(fitted, "intrinsic_dim_", None)
    d_text = "given" if d is None else f"{d:.2f}"
    search = getattr(fitted, "bandwidth_search_", None)
    chosen = "" if search is None else f", c={search.best_scale:.3g} ({search.criterion})"
    parts = getattr(fitted, "components_", None)
    if parts:
        chosen += f"; {len(parts)} separated parts, sigma " + ", ".join(f"{c['bandwidth']:.3g}" for c in parts)
    which = f"class {label!r}: " if label is not None else ""
    return (f"wrote {total} samples to {output} ({which}n={fitted.n_samples_fit_}, D={fitted.n_features_in_}, "
            f"d={d_text}, sigma={fitted.bandwidth_:.4g}{chosen})")


def image_grid(output: Path, data, first: list, force: bool) -> None:
    """A preview of the first (at most 100) samples, beside the output folder (never inside it: the folder
    must read back as data)."""
    import numpy as np

    from inertial_diffusion.evaluation.plots import image_grid
    from inertial_diffusion.io import atomic_write, to_display

    images = to_display(np.concatenate(first)[:100], data.image_shape, data.image_mode)
    atomic_write(grid_path(output), lambda p: image_grid(images, p), force=force)


def load_maybe_labelled(path: Path, key: Optional[str], labels: Optional[str], header: Optional[bool]):
    """``--labels`` names a column to drop where a file has it (a labelled sample file, say); files without
    it are read whole. A hint when a labelled file is read without it."""
    from inertial_diffusion.io import DataFileError, load_data

    is_table = path.suffix.lower() in (".csv", ".tsv", ".npz", ".parquet")
    hdr = header if path.suffix.lower() in (".csv", ".tsv") else None
    if labels is None or not is_table:
        try:
            return load_data(path, key=key, header=hdr)
        except DataFileError as exc:
            if "not numeric" in str(exc) or "choose one with --key" in str(exc):
                raise DataFileError(f"{exc} (evaluate takes --labels too)") from None
            raise
    try:
        return load_data(path, key=key, labels=labels, header=hdr)
    except DataFileError as exc:
        if "no label" in str(exc):
            return load_data(path, key=key, header=hdr)
        raise


def evaluation_figure(S, T, path: Path, force: bool) -> None:
    from inertial_diffusion.evaluation.plots import nearest_neighbour_grid, scatter_samples
    from inertial_diffusion.io import atomic_write, to_display

    if T.kind == "images" and S.image_shape == T.image_shape:
        from sklearn.neighbors import NearestNeighbors

        k = min(16, len(S.X))
        dist, idx = NearestNeighbors(n_neighbors=1).fit(T.X).kneighbors(S.X[:k])
        atomic_write(path, lambda p: nearest_neighbour_grid(to_display(S.X[:k], S.image_shape, S.image_mode),
                                                            to_display(T.X[idx[:, 0]], T.image_shape, T.image_mode),
                                                            dist[:, 0], p), force=force)
    else:
        atomic_write(path, lambda p: scatter_samples(T.X, S.X, p), force=force)


#: Column spreads that differ by more than this factor get a note about --standardize per_feature.
UNIT_SPREAD_RATIO = 10.0


def unit_spread_note(X) -> str:
    """A note for stderr when the columns' standard deviations differ by more than 10x (mixed units), else ''."""
    import numpy as np

    std = np.asarray(X, dtype=np.float64).std(axis=0)
    std = std[std > 0]
    if std.size < 2 or std.max() <= UNIT_SPREAD_RATIO * std.min():
        return ""
    return (f"note: column spreads differ by {std.max() / std.min():.3g}x (mixed units?); one global scale lets the "
            "widest columns set sigma: consider --standardize per_feature")
