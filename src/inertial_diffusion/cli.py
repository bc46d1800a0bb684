"""The ``inertial-diffusion`` command line: parse, delegate, report. No math lives here.

Import cost: this module imports only typer and the light ``choices`` module; numpy, the io package, torch and
scikit-learn are imported inside the commands, so ``--help`` costs what typer costs.

Errors: every failure, click's own parse errors included, is one line ``error: ...`` on stderr and exit code 2
(130 on Ctrl-C, 128 + N on signal N during a write).
"""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Any, Optional, Sequence

import typer
from typer.core import TyperGroup

from inertial_diffusion.choices import DEVICES, DIM_METHODS, DTYPES, INERTIA_FORMS, SAMPLERS

from typer import Abort

try:  # recent typer vendors click
    from typer._click.exceptions import ClickException
except ImportError:  # pragma: no cover - older typer on the real click
    from click.exceptions import ClickException

#: rows drawn and written per block: fixed, so that the same seed gives the same output for any -n
BLOCK_ROWS = 2000


class _OneLineErrors(TyperGroup):
    """click's parse errors (bad values, missing or unknown options) as one ``error:`` line, exit 2."""

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True, **extra: Any) -> Any:
        try:
            code = super().main(args=args, prog_name=prog_name, complete_var=complete_var, standalone_mode=False,
                                **extra)
        except ClickException as exc:
            message = " ".join(exc.format_message().replace("Value error, ", "").split())
            context = getattr(exc, "ctx", None)
            where = f" (see '{context.command_path} --help')" if context is not None else ""
            typer.echo(f"error: {message}{where}", err=True)
            code = 2
        except Abort:
            typer.echo("error: aborted", err=True)
            code = 130
        code = code if isinstance(code, int) else 0
        if standalone_mode:
            sys.exit(code)
        return code


app = typer.Typer(
    name="inertial-diffusion",
    cls=_OneLineErrors,
    help="New samples from a data file with the inertial diffusion model (arXiv 2505.02508), no training.\n\n"
         "Examples:\n\n"
         "  inertial-diffusion demo --out demo/\n\n"
         "  inertial-diffusion sample data.csv --labels species -n 1000 -o samples.csv\n\n"
         "  inertial-diffusion sample data.csv --labels species --class setosa -n 200 -o more.csv\n\n"
         "  inertial-diffusion evaluate samples.csv data.csv --labels species --report report.md\n\n"
         "  inertial-diffusion estimate-dim data.npy\n\n"
         "  inertial-diffusion reproduce --quick --out results/",
    invoke_without_command=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: flags shown as flags, and no rich import for --help
)


def _choice(name: str, values: Sequence[str]) -> type[Enum]:
    return Enum(name, {v: v for v in values}, type=str)  # type: ignore[return-value]


Inertia = _choice("Inertia", INERTIA_FORMS)
Sampler = _choice("Sampler", SAMPLERS)
Dtype = _choice("Dtype", DTYPES)
Device = _choice("Device", DEVICES)
DimMethod = _choice("DimMethod", DIM_METHODS)


def _fail(message: str) -> None:
    typer.echo(f"error: {' '.join(str(message).split())}", err=True)
    raise typer.Exit(code=2)


def _run(action, *args: Any, **kwargs: Any) -> Any:
    """Turn the library's clear errors into one line and exit code 2, never a traceback."""
    try:
        return action(*args, **kwargs)
    except (ValueError, TypeError, OSError, ImportError) as exc:
        _fail(str(exc) or type(exc).__name__)
    except ArithmeticError as exc:  # e.g. a bandwidth so small that a scale underflows to 0
        _fail(f"numerical failure ({type(exc).__name__}: {exc}); check --bandwidth / --bandwidth-scale")


def _progress(quiet: bool):
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    # on stderr, so that stdout carries only results
    return Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                    TimeElapsedColumn(), disable=quiet, transient=True, console=Console(stderr=True))


def _stream_samples(model, writer, n: int, seed: Any, progress, label: Any = None, labelled: bool = False,
                    first: Optional[list] = None) -> None:
    """Draw ``n`` samples in blocks of :data:`BLOCK_ROWS` from one generator and write each block as it comes:
    memory follows the block, not ``n``; same seed, same output."""
    import numpy as np

    rng = np.random.default_rng(seed)
    task = progress.add_task("sampling" + (f" class {label!r}" if label is not None else ""), total=n)
    for start in range(0, n, BLOCK_ROWS):
        k = min(BLOCK_ROWS, n - start)
        block = model.sample(k, random_state=rng, y=label)
        writer.write(block, np.full(k, label, dtype=model.classes_.dtype) if labelled else None)
        if first is not None and sum(map(len, first)) < 100:
            first.append(block[:100])
        progress.advance(task, k)


def _find_label(value: str, y: Any) -> Any:
    import numpy as np

    from inertial_diffusion.core.validation import plain_label

    classes = np.unique(y.astype(str)) if y.dtype == object else np.unique(y)
    for c in classes:
        if str(c) == value:
            return plain_label(c)
    raise ValueError(f"--class {value!r} is not a label in the data; labels are "
                     f"{', '.join(map(str, classes[:20]))}{' ...' if len(classes) > 20 else ''}")


def _grid_path(output: Path) -> Path:
    return output.with_name(output.name + "_grid.png")


@app.callback()
def _main(ctx: typer.Context) -> None:
    """Run the demo when no command is given."""
    if ctx.invoked_subcommand is None:
        demo(out=None, force=False, quiet=False)


@app.command()
def sample(
    input: Path = typer.Argument(..., help="Training data: .npy, .npz, .csv, .tsv, .parquet or a folder of PNGs."),
    n: int = typer.Option(1000, "-n", "--n-samples", help="Number of samples (per class with --per-class)."),
    output: Path = typer.Option(..., "-o", "--output", help="Output file (same kinds as input; a folder for images, "
                                "with a preview OUTPUT_grid.png beside it)."),
    bandwidth: Optional[str] = typer.Option(None, help="sigma in standardized units (overrides the rule), or "
                                            "'auto': choose c by held-out W1."),
    bandwidth_scale: float = typer.Option(1.0, help="c in sigma = c * n^(-1/(d+4))."),
    intrinsic_dim: Optional[float] = typer.Option(None, help="Manifold dimension d (estimated if omitted)."),
    dim_method: DimMethod = typer.Option(DIM_METHODS[0], help="Estimator of d when --intrinsic-dim is omitted."),
    inertia: Inertia = typer.Option(INERTIA_FORMS[0], help="Form of the inertia step."),
    sampler: Sampler = typer.Option(SAMPLERS[0], help="How z ~ p̂_h is drawn."),
    seed: Optional[int] = typer.Option(None, help=f"Random seed: same seed, same samples (drawn in blocks of "
                                       f"{BLOCK_ROWS})."),
    key: Optional[str] = typer.Option(None, help="Array name in an .npz input."),
    labels: Optional[str] = typer.Option(None, help="Label column (csv/tsv/parquet) or label array (npz)."),
    header: Optional[bool] = typer.Option(None, "--header/--no-header", help="csv/tsv: the first line is (not) a "
                                          "header [default: a header unless all its fields are numbers]."),
    class_: Optional[str] = typer.Option(None, "--class", help="Sample this class only (needs --labels)."),
    per_class: bool = typer.Option(False, "--per-class", help="Sample n per class (needs --labels)."),
    dtype: Dtype = typer.Option(DTYPES[0], help="Computation dtype."),
    device: Device = typer.Option(DEVICES[0], help="Where to compute."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing output."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress or summary."),
) -> None:
    """Fit IDM to INPUT and write new samples to OUTPUT.

    Examples: inertial-diffusion sample data.npy -n 500 -o new.npy --seed 0;
    inertial-diffusion sample iris.csv --labels species --per-class -n 50 -o balanced.csv
    """
    from inertial_diffusion.io import check_output, check_output_path, load_data

    if n < 0:
        _fail(f"-n must be >= 0, got {n}")
    if (class_ is not None or per_class) and labels is None:
        _fail("--class and --per-class need --labels to name the label column")
    if class_ is not None and per_class:
        _fail("give either --class or --per-class, not both")
    labelled = class_ is not None or per_class
    sigma: float | str | None = bandwidth
    if bandwidth is not None and bandwidth != "auto":
        try:
            sigma = float(bandwidth)
        except ValueError:
            _fail(f"--bandwidth must be a positive number or 'auto', got {bandwidth!r}")
    # everything about the output that does not need the data, before reading it ...
    _run(_precheck_output, output, force, labelled)
    data = _run(load_data, input, key=key, labels=labels, header=header)
    # ... and what does (image data -> a folder), before any fitting
    _run(check_output, output, force, labelled=labelled, like=data)
    if data.kind == "images":
        _run(check_output_path, _grid_path(output), force)
    label = _run(_find_label, class_, data.y) if class_ is not None else None

    from inertial_diffusion.estimators.inertial import InertialDiffusion

    model = _run(InertialDiffusion, bandwidth=sigma, bandwidth_scale=bandwidth_scale, intrinsic_dim=intrinsic_dim,
                 dim_method=dim_method.value, inertia=inertia.value, sampler=sampler.value, dtype=dtype.value,
                 device=device.value)
    _run(_fit, model, data, intrinsic_dim, input)
    classes = list(model.class_models_) if per_class else [label]
    first: list = []  # the first rows, for the image preview
    with _progress(quiet) as progress:
        _run(_write_samples, model, output, data, classes, n, seed, labelled, force, progress, first)
    if data.kind == "images" and first:
        _run(_image_grid, output, data, first, force)
    if not quiet:
        typer.echo(_summary(model, n * len(classes), output, label))


def _precheck_output(output: Path, force: bool, labelled: bool) -> None:
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


def _write_samples(model, output: Path, data, classes: list, n: int, seed: Any, labelled: bool, force: bool,
                   progress, first: list) -> None:
    """Stream n samples per entry of ``classes`` (None: unconditional) to ``output``; one seed per class drawn
    from ``seed`` when there are several classes."""
    import numpy as np

    from inertial_diffusion.io import open_writer

    seeds = [seed] if len(classes) == 1 else [int(s) for s in np.random.default_rng(seed).integers(2**31,
                                                                                                 size=len(classes))]
    with open_writer(output, n * len(classes), data.X.shape[1], labelled=labelled, like=data,
                     force=force) as writer:
        for c, s in zip(classes, seeds):
            _stream_samples(model, writer, n, s, progress, c, labelled, first)


def _fit(model, data, intrinsic_dim: Optional[float], input: Path) -> None:
    import numpy as np

    try:
        model.fit(data.X, data.y)
    except ValueError as exc:
        if intrinsic_dim is None and "intrinsic_dim" in str(exc):
            raise ValueError(f"the intrinsic dimension could not be estimated from {input} ({exc}); pass "
                             "--intrinsic-dim D (e.g. the number of free parameters of the data)") from None
        raise
    d = getattr(model, "intrinsic_dim_", None)
    if d is not None and not np.isfinite(d):
        raise ValueError(f"the intrinsic dimension estimated from {input} is not finite (tied distances: duplicate "
                         "rows or integer/boolean data); pass --intrinsic-dim D")


def _summary(model, total: int, output: Path, label: Any) -> str:
    fitted = model.class_models_[label] if label is not None else model
    d = getattr(fitted, "intrinsic_dim_", None)
    d_text = "given" if d is None else f"{d:.2f}"
    search = getattr(fitted, "bandwidth_search_", None)
    chosen = "" if search is None else f", c={search.best_scale:.3g} by held-out W1"
    which = f"class {label!r}: " if label is not None else ""
    return (f"wrote {total} samples to {output} ({which}n={fitted.n_samples_fit_}, D={fitted.n_features_in_}, "
            f"d={d_text}, sigma={fitted.bandwidth_:.4g}{chosen})")


def _image_grid(output: Path, data, first: list, force: bool) -> None:
    """A preview of the first (at most 100) samples, beside the output folder (never inside it: the folder
    must read back as data)."""
    import numpy as np

    from inertial_diffusion.evaluation.plots import image_grid
    from inertial_diffusion.io import atomic_write, to_display

    images = to_display(np.concatenate(first)[:100], data.image_shape, data.image_mode)
    atomic_write(_grid_path(output), lambda p: image_grid(images, p), force=force)


@app.command()
def evaluate(
    samples: Path = typer.Argument(..., help="Generated samples."),
    train: Path = typer.Argument(..., help="The training data they came from."),
    held_out: Optional[Path] = typer.Option(None, help="Held-out data from the same source (for the NN ratio)."),
    report: Optional[Path] = typer.Option(None, help="Write a Markdown report (and a figure beside it)."),
    key: Optional[str] = typer.Option(None, help="Array name in .npz inputs."),
    labels: Optional[str] = typer.Option(None, help="Label column (csv/tsv/parquet) or label array (npz) to leave "
                                         "out of the comparison, in every file that has it."),
    header: Optional[bool] = typer.Option(None, "--header/--no-header", help="csv/tsv: the first line is (not) a "
                                          "header."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing report."),
    quiet: bool = typer.Option(False, "--quiet", "-q"),
) -> None:
    """Memorization report and Wasserstein distance of SAMPLES against TRAIN.

    Example: inertial-diffusion evaluate samples.npy train.npy --held-out test.npy --report report.md
    """
    from inertial_diffusion.io import atomic_write, check_output_path

    if report is not None:
        _run(check_output_path, report, force)
        _run(check_output_path, report.with_suffix(".png"), force)
    S = _run(_load_maybe_labelled, samples, key, labels, header)
    T = _run(_load_maybe_labelled, train, key, labels, header)
    H = _run(_load_maybe_labelled, held_out, key, labels, header) if held_out is not None else None
    for other, path in ((S, samples), (H, held_out)):
        if other is not None and other.X.shape[1] != T.X.shape[1]:
            _fail(f"{path} has {other.X.shape[1]} features but {train} has {T.X.shape[1]}")

    from inertial_diffusion.evaluation.metrics import memorization_report, wasserstein1

    rep = _run(memorization_report, S.X, T.X, H.X if H is not None else None)
    exact = len(S.X) * len(T.X) <= 4_000_000
    w1 = _run(wasserstein1, S.X, T.X, method="exact" if exact else "sliced", random_state=0)
    w1_line = f"W1 (samples, train), {'exact' if exact else 'sliced, 200 directions'}: {w1:.4g}"
    text = f"{rep}\n{w1_line}"
    if not quiet:
        typer.echo(text)
    if report is not None:
        figure = report.with_suffix(".png")
        _run(_evaluation_figure, S, T, figure, force)
        body = f"# Evaluation of `{samples}` against `{train}`\n\n```\n{text}\n```\n\n![figure]({figure.name})\n"
        _run(atomic_write, report, lambda p: p.write_text(body), force=force)
        if not quiet:
            typer.echo(f"report: {report}, figure: {figure}")


def _load_maybe_labelled(path: Path, key: Optional[str], labels: Optional[str], header: Optional[bool]):
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


def _evaluation_figure(S, T, path: Path, force: bool) -> None:
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


@app.command("estimate-dim")
def estimate_dim(
    input: Path = typer.Argument(..., help="Data file."),
    method: DimMethod = typer.Option(DIM_METHODS[0], help="twonn (Facco et al.) or mle (Levina–Bickel)."),
    key: Optional[str] = typer.Option(None, help="Array name in an .npz input."),
    labels: Optional[str] = typer.Option(None, help="Label column or array to leave out."),
    header: Optional[bool] = typer.Option(None, "--header/--no-header", help="csv/tsv: the first line is (not) a "
                                          "header."),
) -> None:
    """Estimate the intrinsic dimension of the data in INPUT.

    Example: inertial-diffusion estimate-dim data.csv --method mle
    """
    import math

    from inertial_diffusion.core.bandwidth import estimate_intrinsic_dim
    from inertial_diffusion.io import load_data

    data = _run(load_data, input, key=key, labels=labels, header=header)
    d = _run(estimate_intrinsic_dim, data.X, method=method.value, random_state=0)
    if not math.isfinite(d):
        _fail(f"the intrinsic dimension of {input} could not be estimated (result {d}): tied distances between "
              "neighbours (duplicate rows, integer or boolean data); give `sample` an --intrinsic-dim instead")
    typer.echo(f"{d:.3f}")


@app.command()
def demo(
    out: Optional[Path] = typer.Option(None, "--out", help="Folder for samples, summary and figures "
                                       "(default: a new ./inertial-diffusion-demo[-N] folder)."),
    force: bool = typer.Option(False, "--force", help="Write into an existing non-empty --out folder."),
    quiet: bool = typer.Option(False, "--quiet", "-q"),
) -> None:
    """Run IDM and the empirical diffusion model on a sphere in R^100 and on the bundled digits.

    Example: inertial-diffusion demo --out demo/
    """
    from inertial_diffusion.evaluation.demo import run_full_demo

    _run(run_full_demo, out, quiet, force)


@app.command()
def reproduce(
    out: Path = typer.Option(..., "--out", help="Folder for report.md, the CSV files and the figures."),
    quick: bool = typer.Option(False, "--quick", help="Small sizes, about 20 s on 2 cores (the default)."),
    full: bool = typer.Option(False, "--full", help="The report's sizes (see the README for its run time)."),
    force: bool = typer.Option(False, "--force", help="Write into an existing non-empty --out folder."),
    seed: int = typer.Option(0, "--seed", help="Seed of every random draw."),
    quiet: bool = typer.Option(False, "--quiet", "-q"),
) -> None:
    """Check the paper's claims on data with known truth: memorization, ambient dimension, rate, inertia form.

    Writes report.md, one CSV per experiment and PNG figures to --out.

    Example: inertial-diffusion reproduce --full --out results/
    """
    from inertial_diffusion.evaluation.experiments import run_experiments

    if quick and full:
        _fail("choose one of --quick and --full")
    say = None if quiet else (lambda message: typer.echo(message, err=True))
    _run(run_experiments, "full" if full else "quick", out, force=force, say=say, seed=seed)
    if not quiet:
        typer.echo(f"report: {out / 'report.md'}")


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Console-script entry point (``argv``: the arguments, default ``sys.argv[1:]``)."""
    app(args=argv, prog_name="inertial-diffusion")


if __name__ == "__main__":
    main()
