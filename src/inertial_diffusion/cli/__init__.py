"""The ``inertial-diffusion`` command line: parse, delegate, report. No math lives here.

Import cost: this module imports only typer and the light ``choices`` module; numpy, the io package, torch and
scikit-learn are imported inside the commands, so ``--help`` costs what typer costs.

Errors: every failure, click's own parse errors included, is one line ``error: ...`` on stderr and exit code 2
(130 on Ctrl-C, 128 + N on signal N during a write); see ``cli.errors``. What ``sample`` and ``evaluate`` do
between parsing and printing (output checks, streamed sampling, summaries, figures) is in ``cli.sampling``.
"""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Optional, Sequence

import typer

from inertial_diffusion.choices import (COMPONENTS, DEVICES, DIM_METHODS, DTYPES, INERTIA_FORMS, SAMPLERS,
                                        STANDARDIZE_MODES)
from inertial_diffusion.cli.errors import OneLineErrors
from inertial_diffusion.cli.errors import fail as _fail
from inertial_diffusion.cli.errors import run as _run
from inertial_diffusion.cli.sampling import (BLOCK_ROWS, evaluation_figure, find_label, fit, grid_path, image_grid,
                                             check_output_size, label_notes, numeric_views,
                                             load_maybe_labelled, precheck_output, progress, fit_status, summary,
                                             unit_spread_note, write_samples)

__all__ = ["app", "main", "BLOCK_ROWS"]

app = typer.Typer(
    name="inertial-diffusion",
    cls=OneLineErrors,
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
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: flags shown as flags, and no rich import for --help
)


def _choice(name: str, values: Sequence[str]) -> type[Enum]:
    """A str enum whose members are ``values``: typer lists them in ``--help`` and parses them."""
    return Enum(name, {v: v for v in values}, type=str)  # type: ignore[return-value]


if TYPE_CHECKING:  # what mypy sees: str enums; their members come from ``choices`` at run time (one source)
    class Inertia(str, Enum): ...
    class Sampler(str, Enum): ...
    class Dtype(str, Enum): ...
    class Device(str, Enum): ...
    class DimMethod(str, Enum): ...
    class Standardize(str, Enum): ...
    class Components(str, Enum): ...
else:
    Inertia = _choice("Inertia", INERTIA_FORMS)
    Sampler = _choice("Sampler", SAMPLERS)
    Dtype = _choice("Dtype", DTYPES)
    Device = _choice("Device", DEVICES)
    DimMethod = _choice("DimMethod", DIM_METHODS)
    Standardize = _choice("Standardize", STANDARDIZE_MODES)
    Components = _choice("Components", COMPONENTS)


def _version(value: bool) -> None:
    if value:
        from inertial_diffusion import __version__

        typer.echo(f"inertial-diffusion {__version__}")
        raise typer.Exit()


@app.callback()
def _main(ctx: typer.Context, version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                                            help="Print the version and exit.")) -> None:
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
                                            "'auto': choose c by held-out W1 (or by --max-dup-rate)."),
    max_dup_rate: Optional[float] = typer.Option(None, help="With --bandwidth auto: the smallest sigma whose held-out "
                                                 "near-duplicate rate is at most this (e.g. 0.05)."),
    standardize: Standardize = typer.Option(STANDARDIZE_MODES[0], help="One global scale (keeps the D-independence), "
                                            "one scale per column (mixed units), or none."),
    components: Components = typer.Option(COMPONENTS[0], help="Give separated parts of the data their own sigma."),
    exclude_copies: bool = typer.Option(False, "--exclude-copies", help="Redraw samples that copy a training point "
                                        "(isolated points); changes the law slightly."),
    prune_tol: Optional[float] = typer.Option(None, help="Certified cluster pruning at this neglected softmax mass "
                                              "(e.g. 1e-6; large n)."),
    bandwidth_scale: float = typer.Option(1.0, help="c in sigma = c * n^(-1/(d+4))."),
    intrinsic_dim: Optional[float] = typer.Option(None, help="Manifold dimension d (estimated if omitted)."),
    dim_method: DimMethod = typer.Option(DIM_METHODS[0], help="Estimator of d when --intrinsic-dim is omitted."),
    inertia: Inertia = typer.Option(INERTIA_FORMS[0], help="Inertia step: posterior_mean (IDM's map, the paper's "
                                    "step), paper (as printed), moment (a draw with the posterior's mean and "
                                    "covariance: keeps the data's spread)."),
    sampler: Sampler = typer.Option(SAMPLERS[0], help="How z ~ p̂_h is drawn."),
    seed: Optional[int] = typer.Option(None, help=f"Random seed: same seed, same samples (drawn in blocks of "
                                       f"{BLOCK_ROWS})."),
    key: Optional[str] = typer.Option(None, help="Array name in an .npz input."),
    labels: Optional[str] = typer.Option(None, help="Label column (csv/tsv/parquet) or label array (npz)."),
    categorical: Optional[list[str]] = typer.Option(None, "--categorical", help="csv/tsv/parquet: model this column "
                                                    "as categories (e.g. integer codes); repeat for several."),
    header: Optional[bool] = typer.Option(None, "--header/--no-header", help="csv/tsv: the first line is (not) a "
                                          "header [default: a header unless all its fields are numbers]."),
    class_: Optional[str] = typer.Option(None, "--class", help="Sample this class only (needs --labels)."),
    per_class: bool = typer.Option(False, "--per-class", help="Sample n per class (needs --labels)."),
    dtype: Dtype = typer.Option(DTYPES[0], help="Computation dtype."),
    threads: Optional[int] = typer.Option(None, min=1, help="Torch threads [default: 1 for small work or a busy "
                                          "machine, else torch's]."),
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
    if seed is not None and seed < 0:
        _fail(f"--seed must be >= 0, got {seed}")
    if key is not None and input.suffix.lower() != ".npz":
        _fail(f"--key names an array of an .npz input; {input} is not one")
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
    if output.exists() and input.exists() and output.resolve() == input.resolve():
        _fail(f"{output}: is the input; samples never replace the training data (give another output name)")
    _run(precheck_output, output, force, labelled)
    data = _run(load_data, input, key=key, labels=labels, header=header)
    for line in (data.notes + label_notes(data.y)) if not quiet else []:
        typer.echo(f"note: {line}", err=True)
    # ... and what does (image data -> a folder), before any fitting
    _run(check_output, output, force, labelled=labelled, like=data)
    if data.kind == "images":
        _run(check_output_path, grid_path(output), force)
    label = _run(find_label, class_, data.y) if class_ is not None else None

    from inertial_diffusion.estimators.inertial import InertialDiffusion

    n_labels = len(set(data.y.tolist())) if (per_class and data.y is not None) else 1
    _run(check_output_size, output, n * n_labels, data)
    if categorical and data.frame is None:
        _fail("--categorical applies to csv/tsv/parquet tables")
    # pixels share one unit: the per-feature hint is for tables, never for images (a folder, or an (n, H, W) array)
    if standardize.value == "global" and data.kind != "images" and data.image_shape is None:
        note = _run(unit_spread_note, data.training)
        if note and not quiet:
            typer.echo(note, err=True)
    model = _run(InertialDiffusion, bandwidth=sigma, bandwidth_scale=bandwidth_scale, intrinsic_dim=intrinsic_dim,
                 dim_method=dim_method.value, inertia=inertia.value, sampler=sampler.value, dtype=dtype.value,
                 device=device.value, max_dup_rate=max_dup_rate, standardize=standardize.value,
                 components=components.value, prune_tol=prune_tol,
                 column_types={c: "categorical" for c in categorical} if categorical else None, threads=threads)
    with fit_status(quiet, int(data.training.shape[0])) as report:
        _run(fit, model, data, intrinsic_dim, input, report)
    classes = list(model.class_models_) if per_class else [label]
    first: list = []  # the first rows, for the image preview
    with progress(quiet) as bar:
        _run(write_samples, model, output, data, classes, n, seed, labelled, force, bar, first, exclude_copies)
    if data.kind == "images" and first:
        _run(image_grid, output, data, first, force)
    if not quiet:
        typer.echo(summary(model, n * len(classes), output, label))


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
        if report.suffix.lower() == ".png":
            _fail(f"--report {report}: the report is a Markdown file (e.g. report.md); its figure is written beside "
                  "it as .png")
        _run(check_output_path, report, force)
        _run(check_output_path, report.with_suffix(".png"), force)
    if held_out is not None and held_out.exists() and train.exists() and held_out.resolve() == train.resolve():
        _fail(f"--held-out {held_out} is the training file; held-out rows are rows the model did not see")
    S = _run(load_maybe_labelled, samples, key, labels, header)
    T = _run(load_maybe_labelled, train, key, labels, header)
    H = _run(load_maybe_labelled, held_out, key, labels, header) if held_out is not None else None
    note = _run(numeric_views, T, S, H)
    if note and not quiet:
        typer.echo(note, err=True)
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
        _run(evaluation_figure, S, T, figure, force)
        body = f"# Evaluation of `{samples}` against `{train}`\n\n```\n{text}\n```\n\n![figure]({figure.name})\n"
        _run(atomic_write, report, lambda p: p.write_text(body), force=force)
        if not quiet:
            typer.echo(f"report: {report}, figure: {figure}")


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
    _run(numeric_views, data)
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
    quick: bool = typer.Option(False, "--quick", help="Small sizes, every section, about a minute on 2 cores "
                               "(the default)."),
    full: bool = typer.Option(False, "--full", help="The report's sizes (see the README for its run time)."),
    force: bool = typer.Option(False, "--force", help="Write into an existing non-empty --out folder."),
    seed: int = typer.Option(0, "--seed", help="Seed of every random draw."),
    quiet: bool = typer.Option(False, "--quiet", "-q"),
) -> None:
    """Check the paper's claims on data with known truth (memorization, ambient dimension, rate, inertia form)
    and measure the failure modes (ambient noise, separated parts, curved manifolds, boundaries, density,
    isolated points, small n) and the real-data comparison.

    Writes report.md, one CSV per experiment and PNG figures to --out.

    Example: inertial-diffusion reproduce --full --out results/
    """
    try:  # the studies are a package of their own, beside the library (studies/ in the repository)
        from inertial_diffusion_studies import run_experiments
    except ModuleNotFoundError as exc:
        if exc.name != "inertial_diffusion_studies":
            raise  # the package is there, something it imports is not: its own message says what
        _fail("reproduce needs the studies package, a study of the library kept out of it: from the repository, "
              "pip install -e studies")

    if quick and full:
        _fail("choose one of --quick and --full")
    say = None if quiet else (lambda message: typer.echo(message, err=True))
    _run(run_experiments, "full" if full else "quick", out, force=force, say=say, seed=seed)
    if not quiet:
        typer.echo(f"report: {out / 'report.md'}")


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Library warnings (isolated points, small classes) as one line on stderr, like the errors."""
    print(f"warning: {message}", file=sys.stderr if file is None else file)


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Console-script entry point (``argv``: the arguments, default ``sys.argv[1:]``)."""
    import warnings

    previous = warnings.showwarning
    warnings.showwarning = _one_line_warning
    try:
        app(args=argv, prog_name="inertial-diffusion")
    finally:
        warnings.showwarning = previous


if __name__ == "__main__":
    main()
