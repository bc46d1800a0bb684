"""What the ``sample`` and ``evaluate`` commands do between parsing and printing: output checks, streamed
sampling, summaries, figures. Heavy modules are imported inside the functions."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

__all__ = ["UNIT_SPREAD_RATIO", "unit_spread_note", "numeric_views", "label_notes", "check_output_size",
           "BLOCK_ROWS", "precheck_output", "write_samples", "stream_samples", "fit", "summary", "image_grid",
           "load_maybe_labelled", "evaluation_figure", "find_label", "grid_path", "progress", "fit_status",
           "fit_description"]

#: rows drawn and written per block: fixed (not sized to the machine), so the same seed and -n give the same output
BLOCK_ROWS = 2000


def progress(quiet: bool):
    """A progress bar on stderr, so that stdout carries only results.

    Parameters
    ----------
    quiet : bool
        ``--quiet``: the bar is disabled (its calls still work, and print nothing).

    Returns
    -------
    rich.progress.Progress
        A context manager; the bar is transient (erased when the block ends).
    """
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    # on stderr, so that stdout carries only results
    return Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                    TimeElapsedColumn(), disable=quiet, transient=True, console=Console(stderr=True))


def fit_description(rows: int, info: dict | None = None) -> str:
    """The fit's status line: ``fitting N rows``, with the step of the bandwidth search when ``info`` reports one.

    Parameters
    ----------
    rows : int
        Training rows.
    info : dict, optional
        What ``InertialDiffusion.fit(callback=)`` reports.

    Returns
    -------
    str

    Examples
    --------
    >>> fit_description(600, {"stage": "bandwidth search", "i": 4, "total": 12, "c": 0.3125, "label": "b"})
    'fitting 600 rows: bandwidth search (class b) 4/12 (c = 0.312)'
    """
    if info is None:
        return f"fitting {rows:,} rows"
    label = (f" (class {info['label']})" if "label" in info else "") + (
        f" (part {info['part'] + 1})" if "part" in info else "")
    return f"fitting {rows:,} rows: {info['stage']}{label} {info['i']}/{info['total']} (c = {info['c']:.3g})"


def fit_status(quiet: bool, rows: int):
    """A transient status line on stderr while the model fits (its time grows with the rows; nothing to count).

    Parameters
    ----------
    quiet : bool
        ``--quiet``: no status line.
    rows : int
        Training rows, named in the line.

    Returns
    -------
    contextlib.AbstractContextManager
        Shows ``fitting N rows`` with a spinner and the elapsed time while the block runs (on a terminal; rich
        prints nothing when stderr is redirected), then erases it. It yields the fit's progress callback
        (``InertialDiffusion.fit(..., callback=)``): the line then names the bandwidth search's step,
        ``fitting N rows: bandwidth search 4/12 (c = 0.31)``.
    """
    import contextlib

    if quiet:
        return contextlib.nullcontext(None)
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    bar = Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), transient=True,
                   console=Console(stderr=True))

    @contextlib.contextmanager
    def shown():
        with bar:
            task = bar.add_task(fit_description(rows), total=None)
            yield lambda info: bar.update(task, description=fit_description(rows, info))

    return shown()


def stream_samples(model, writer, n: int, seed: Any, progress, label: Any = None, labelled: bool = False,
                    first: Optional[list] = None, exclude_copies: bool = False) -> None:
    """Draw ``n`` samples in blocks of :data:`BLOCK_ROWS` from one generator and write each block as it comes.

    Memory follows the block, not ``n``. The block size is fixed (not sized to the machine's memory), so
    the same seed and ``n`` give the same output everywhere.

    Parameters
    ----------
    model : InertialDiffusion
        A fitted estimator (anything with ``sample(k, random_state=, y=)`` and, when ``labelled``,
        ``classes_``).
    writer : SampleWriter
        The open output (:func:`~inertial_diffusion.io.writers.open_writer`).
    n : int
        Number of samples to draw.
    seed : None, int or numpy.random.Generator
        Seeds the one generator that every block draws from.
    progress : rich.progress.Progress
        The bar to advance (:func:`progress`).
    label : object, optional
        Class to sample (``y=label``); ``None``: unconditional samples.
    labelled : bool, default False
        Write ``label`` beside every row.
    first : list, optional
        If given, the first blocks' leading rows are appended to it (at least 100 rows in all, when there
        are that many) for the image preview.
    exclude_copies : bool, default False
        Redraw samples that copy a training point (``sample(..., exclude_copies=True)``).
    """
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
    """The label of the data whose text is ``value``: ``--class 1`` finds the integer label 1.

    Parameters
    ----------
    value : str
        The label as typed on the command line.
    y : ndarray (n,)
        The labels read from the data file.

    Returns
    -------
    object
        The matching label, as a plain Python value (``int``, ``str``, ...).

    Raises
    ------
    ValueError
        No label reads as ``value``; the message lists (the first 20) labels.

    Examples
    --------
    >>> import numpy as np
    >>> find_label("1", np.array([0, 1, 2]))
    1
    >>> find_label("setosa", np.array(["setosa", "virginica"], dtype=object))
    'setosa'
    >>> find_label("3", np.array([0, 1]))
    Traceback (most recent call last):
    ...
    ValueError: --class '3' is not a label in the data; labels are 0, 1
    """
    import numpy as np

    from inertial_diffusion.core.validation import plain_label

    classes = np.unique(y.astype(str)) if y.dtype == object else np.unique(y)
    for c in classes:
        if str(c) == value:
            return plain_label(c)
    raise ValueError(f"--class {value!r} is not a label in the data; labels are "
                     f"{', '.join(map(str, classes[:20]))}{' ...' if len(classes) > 20 else ''}")


def grid_path(output: Path) -> Path:
    """Where the preview of an image output folder goes: beside it, so that the folder holds only samples.

    Parameters
    ----------
    output : Path
        The output folder of the samples.

    Returns
    -------
    Path
        ``OUTPUT_grid.png`` in the same parent folder.

    Examples
    --------
    >>> from pathlib import Path
    >>> grid_path(Path("results") / "digits").name
    'digits_grid.png'
    """
    return output.with_name(output.name + "_grid.png")


def precheck_output(output: Path, force: bool, labelled: bool) -> None:
    """The output checks that do not need the data, run before reading it.

    A known type (a data suffix, or no suffix for a folder of images), labels the type can hold, and
    :func:`~inertial_diffusion.io.publish.check_output_path` (existence, ``force``, a writable folder).

    Parameters
    ----------
    output : Path
        The ``-o`` path.
    force : bool
        ``--force``: an existing output may be replaced.
    labelled : bool
        Labels will be written (``--class`` or ``--per-class``).

    Raises
    ------
    DataFileError
        An unknown suffix, labels for a ``.npy``, an existing output without ``force``, or a missing or
        read-only folder.
    """
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
    """Stream ``n`` samples per entry of ``classes`` to ``output``, published when all are written.

    With several classes each gets its own seed, drawn from ``seed``, so that a class's samples do not
    depend on how many samples the classes before it drew from a shared generator.

    Parameters
    ----------
    model : InertialDiffusion
        The fitted estimator.
    output : Path
        The output, already checked (:func:`precheck_output`).
    data : Dataset
        The training data as read: the output is written alike (columns, label name, image mode).
    classes : list
        Labels to sample, ``[None]`` for unconditional samples.
    n : int
        Samples per entry of ``classes``.
    seed : None or int
        ``--seed``.
    labelled : bool
        Write a label column.
    force : bool
        ``--force``: replace an existing output.
    progress : rich.progress.Progress
        The bar to advance (:func:`progress`).
    first : list
        Collects the first rows for the image preview (see :func:`stream_samples`).
    exclude_copies : bool, default False
        ``--exclude-copies``.

    Raises
    ------
    DataFileError
        The output cannot be written or exists (also when another run created it meanwhile).
    NonFiniteSamplesError
        The model produced NaN or infinite values; nothing is written.
    """
    import numpy as np

    from inertial_diffusion.io import open_writer

    seeds = [seed] if len(classes) == 1 else [int(s) for s in np.random.default_rng(seed).integers(2**31,
                                                                                                 size=len(classes))]
    with open_writer(output, n * len(classes), data.n_columns, labelled=labelled, like=data,
                     force=force) as writer:
        for c, s in zip(classes, seeds):
            stream_samples(model, writer, n, s, progress, c, labelled, first, exclude_copies)


def fit(model, data, intrinsic_dim: Optional[float], input: Path, callback=None) -> None:
    """Fit ``model`` to the data, turning a failed intrinsic-dimension estimate into advice.

    The estimate fails or is infinite on data with tied neighbour distances (duplicate rows, integer or
    boolean columns); the message then names the file and suggests ``--intrinsic-dim``.

    Parameters
    ----------
    model : InertialDiffusion
        The unfitted estimator.
    data : Dataset
        The training data (``X`` and, with ``--labels``, ``y``).
    intrinsic_dim : float or None
        ``--intrinsic-dim`` (``None``: the model estimates it).
    input : Path
        The data file, for the messages.
    callback : callable, optional
        The fit's progress callback (from :func:`fit_status`).

    Raises
    ------
    ValueError
        The fit failed; for the intrinsic dimension, with the ``--intrinsic-dim`` hint.
    """
    import numpy as np

    from inertial_diffusion.core.bandwidth import DimensionEstimateError

    try:
        model.fit(data.training, data.y, callback=callback)
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
    """The one-line report ``sample`` prints: what was written and the fitted n, D, d and sigma.

    Parameters
    ----------
    model : InertialDiffusion
        The fitted estimator.
    total : int
        Rows written.
    output : Path
        Where they were written.
    label : object or None
        The ``--class`` sampled (its class model is reported), ``None`` otherwise.

    Returns
    -------
    str
        E.g. ``wrote 500 samples to new.npy (n=1000, D=100, d=2.03, sigma=0.2311)``, with the bandwidth
        search's scale and criterion, and the separated parts' bandwidths, when there were any.
    """
    fitted = model.class_models_[label] if label is not None else model
    d = getattr(fitted, "intrinsic_dim_", None)
    d_text = "given" if d is None else (f"{d:.2f}" if d < 1e4 else f"{d:.3g}")
    search = getattr(fitted, "bandwidth_search_", None)
    chosen = "" if search is None else f", c={search.best_scale:.3g} ({search.criterion})"
    parts = getattr(fitted, "components_", None)
    if parts:
        chosen += f"; {len(parts)} separated parts, sigma " + ", ".join(f"{c['bandwidth']:.3g}" for c in parts)
    which = f"class {label!r}: " if label is not None else ""
    return (f"wrote {total} samples to {output} ({which}n={fitted.n_samples_fit_}, D={fitted.n_features_in_}, "
            f"d={d_text}, sigma={fitted.bandwidth_:.4g}{chosen})")


def image_grid(output: Path, data, first: list, force: bool) -> None:
    """Write a preview grid of the first (at most 100) samples beside the output folder.

    Never inside it: the folder must read back as data.

    Parameters
    ----------
    output : Path
        The image output folder; the preview goes to :func:`grid_path` of it.
    data : Dataset
        The training images (their shape and mode).
    first : list of ndarray
        The first rows written (collected by :func:`stream_samples`).
    force : bool
        Replace an existing preview.
    """
    import numpy as np

    from inertial_diffusion.evaluation.plots import image_grid
    from inertial_diffusion.io import atomic_write, to_display

    images = to_display(np.concatenate(first)[:100], data.image_shape, data.image_mode)
    atomic_write(grid_path(output), lambda p: image_grid(images, p), force=force)


def load_maybe_labelled(path: Path, key: Optional[str], labels: Optional[str], header: Optional[bool]):
    """Read a file for ``evaluate``, dropping the ``--labels`` column where the file has one.

    ``evaluate`` compares a sample file with the training data, and only one of them may have labels (a
    labelled sample file, say): a file without the named column is read whole. When a file fails to read
    because it has labels and none were named, the error says that ``evaluate`` takes ``--labels`` too.

    Parameters
    ----------
    path : Path
        The data file.
    key : str or None
        ``--key``: the array of an ``.npz``.
    labels : str or None
        ``--labels``: the label column or array to leave out.
    header : bool or None
        ``--header/--no-header``, applied to csv/tsv files only.

    Returns
    -------
    Dataset
        The data, without labels in ``X``.

    Raises
    ------
    DataFileError
        The file cannot be read (see :func:`~inertial_diffusion.io.tables.load_data`).
    """
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
    """The figure of ``evaluate --report``: what memorization would look like, made visible.

    Images of one shape: the first (at most 16) samples beside their nearest training images, with the
    distances; any other data: a scatter of samples over the training data.

    Parameters
    ----------
    S : Dataset
        The samples.
    T : Dataset
        The training data.
    path : Path
        The PNG to write.
    force : bool
        Replace an existing file.
    """
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
    """A note for stderr when the columns' spreads differ by more than :data:`UNIT_SPREAD_RATIO` (mixed units).

    With the default global standardization one scale serves every column, so the widest columns set
    sigma and the narrow ones are smoothed far less than their own scale would ask; the note suggests
    ``--standardize per_feature``. Constant columns are left out.

    Parameters
    ----------
    X : array-like (n, D)
        The training data in data units.

    Returns
    -------
    str
        The note, or ``""`` when the spreads are within the ratio.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.column_stack([np.linspace(0, 1, 5), np.linspace(0, 1000, 5)])  # metres and millimetres
    >>> unit_spread_note(X)
    'note: column spreads differ by 1e+03x (mixed units?); ... consider --standardize per_feature'
    >>> unit_spread_note(X[:, :1])
    ''
    """
    import numpy as np

    if hasattr(X, "select_dtypes"):  # a table: its numeric columns (codes are scaled by the encoder)
        X = X.select_dtypes("number").to_numpy(dtype=np.float64, na_value=np.nan)
    X = np.asarray(X, dtype=np.float64)
    if not np.size(X):
        return ""
    peak = np.nanmax(np.abs(X), axis=0)
    peak[~(peak > 0)] = 1.0
    with np.errstate(over="ignore", invalid="ignore"):
        std = np.nanstd(X / peak, axis=0) * peak  # scaled first: a 1e300 column's squares overflow float64
    std = std[np.isfinite(std)]
    std = std[std > 0]
    if std.size < 2 or std.max() <= UNIT_SPREAD_RATIO * std.min():
        return ""
    return (f"note: column spreads differ by {std.max() / std.min():.3g}x (mixed units?); one global scale lets the "
            "widest columns set sigma: consider --standardize per_feature")


def numeric_views(train, *others) -> str:
    """Give tables with text, boolean, date or missing values a numeric ``X``, encoded alike from ``train``.

    ``evaluate`` and ``estimate-dim`` measure distances: a table whose columns are not all numbers is encoded by a
    :class:`~inertial_diffusion.tables.encoder.TableEncoder` fitted on ``train`` (numbers in units of their
    training standard deviation, categories one-hot at weight 1, missing values as indicators), and the other
    files with the same encoder. All-numeric data keep their own ``X``.

    Parameters
    ----------
    train : Dataset
        The reference data (the training file); its ``X`` is set in place when encoded.
    *others : Dataset or None
        Files compared with it (samples, held-out rows); set in place too.

    Returns
    -------
    str
        A note saying the comparison ran in encoded columns, or ``""``.

    Raises
    ------
    ValueError
        A file lacks one of the training table's columns, or holds a category the training table has not.
    """
    from inertial_diffusion.tables.encoder import TableEncoder

    files = [d for d in (train, *others) if d is not None]
    if train.frame is None or all(d.X is not None for d in files):
        return ""
    if any(d.frame is None for d in files):
        raise ValueError("a table with text, boolean, date or missing values is compared with a table only")
    encoder = TableEncoder(scale_numeric=True).fit(train.frame)
    for d in files:
        d.X = encoder.transform(d.frame)
    return ("note: compared in encoded columns (numbers in units of their training standard deviation, categories "
            "one-hot, missing values as indicators)")


def label_notes(y) -> list[str]:
    """Notes on labels that differ only by case or surrounding spaces (``'pos'`` and ``' pos'`` are two classes).

    Parameters
    ----------
    y : array-like or None
        The labels read.

    Returns
    -------
    list of str
        One note per group of such labels.

    Examples
    --------
    >>> for note in label_notes(["pos", " pos", "neg", "Neg", "x"]):
    ...     print(note)
    labels 'Neg', 'neg' differ only by case or spaces and are different classes
    labels ' pos', 'pos' differ only by case or spaces and are different classes
    """
    if y is None:
        return []
    groups: dict[str, set] = {}
    for value in set(v for v in y if isinstance(v, str)):
        groups.setdefault(value.strip().casefold(), set()).add(value)
    return [f"labels {', '.join(map(repr, sorted(g)))} differ only by case or spaces and are different classes"
            for _, g in sorted(groups.items()) if len(g) > 1]


#: Bytes a value takes in each output format (an upper estimate: CSV numbers are written in full precision).
_BYTES_PER_VALUE = {".npy": 8, ".npz": 8, ".parquet": 8, ".csv": 25, ".tsv": 25}


def check_output_size(output: Path, rows: int, data) -> int:
    """Refuse, before any fitting, an output larger than the free space of its folder.

    Parameters
    ----------
    output : Path
        The ``-o`` path.
    rows : int
        Rows that will be written (``-n`` times the classes with ``--per-class``).
    data : Dataset
        The input (columns, image shape and mode).

    Returns
    -------
    int
        The estimated size in bytes.

    Raises
    ------
    DataFileError
        The estimate exceeds the free space (both named, in GB).
    """
    import shutil

    import numpy as np

    from inertial_diffusion.io import DataFileError

    if data.kind == "images" and not output.suffix:
        bytes_per_row = int(np.prod(data.image_shape)) * (2 if data.image_mode == "I;16" else 1) + 100
    else:
        bytes_per_row = data.n_columns * _BYTES_PER_VALUE.get(output.suffix.lower(), 25) + 8
    size = int(rows) * bytes_per_row
    parent = output.parent if str(output.parent) else Path(".")
    free = shutil.disk_usage(parent).free
    if size > free:
        raise DataFileError(f"{output}: {rows} rows would take about {size / 1e9:.3g} GB, and {parent} has "
                            f"{free / 1e9:.3g} GB free; draw fewer samples or write elsewhere")
    return size
