"""The ``inertial-diffusion`` command line: parse, delegate, report. No math lives here."""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Any, Optional

import numpy as np
import typer

from inertial_diffusion.io import DataFileError, Dataset, check_output_path, load_data, save_data
from inertial_diffusion.core.validation import plain_label

app = typer.Typer(
    name="inertial-diffusion",
    help="New samples from a data file with the inertial diffusion model (arXiv 2505.02508), no training.\n\n"
         "Examples:\n\n"
         "  inertial-diffusion demo --out demo/\n\n"
         "  inertial-diffusion sample data.csv -n 1000 -o samples.csv\n\n"
         "  inertial-diffusion sample data.csv --labels species --class setosa -n 200 -o more.csv\n\n"
         "  inertial-diffusion evaluate samples.csv data.csv --report report.md\n\n"
         "  inertial-diffusion estimate-dim data.npy\n\n"
         "  inertial-diffusion reproduce --quick --out results/",
    no_args_is_help=False,
    invoke_without_command=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


class Inertia(str, Enum):
    posterior_mean = "posterior_mean"
    paper = "paper"


class Sampler(str, Enum):
    one_shot = "one_shot"
    sde = "sde"
    sde_euler = "sde_euler"
    ode = "ode"


class Device(str, Enum):
    cpu = "cpu"
    cuda = "cuda"
    auto = "auto"


class DimMethod(str, Enum):
    twonn = "twonn"
    mle = "mle"


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code=2)


def _run(action, *args: Any, **kwargs: Any) -> Any:
    """Turn the library's clear errors into one line and exit code 2, never a traceback."""
    try:
        return action(*args, **kwargs)
    except (DataFileError, ValueError, TypeError, OSError, ImportError) as exc:
        _fail(str(exc))


def _progress(quiet: bool):
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    # on stderr, so that stdout carries only results
    return Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                    TimeElapsedColumn(), disable=quiet, transient=True, console=Console(stderr=True))


def _sample_batched(model, n: int, seed: Optional[int], quiet: bool, label: Any = None,
                    batch: int = 2000) -> np.ndarray:
    """Sample in batches so that a progress bar can show; same seed, same output."""
    rng = np.random.default_rng(seed)
    parts = []
    with _progress(quiet) as progress:
        task = progress.add_task("sampling" + (f" class {label!r}" if label is not None else ""), total=n)
        for start in range(0, n, batch):
            k = min(batch, n - start)
            parts.append(model.sample(k, random_state=rng, y=label))
            progress.advance(task, k)
    return np.concatenate(parts) if parts else model.sample(0)


def _parse_label(value: str, classes: np.ndarray) -> Any:
    for c in classes:
        if str(c) == value:
            return plain_label(c)
    raise ValueError(f"--class {value!r} is not a label in the data; labels are "
                     f"{', '.join(map(str, classes[:20]))}{' ...' if len(classes) > 20 else ''}")


@app.callback()
def _main(ctx: typer.Context) -> None:
    """Run the demo when no command is given."""
    if ctx.invoked_subcommand is None:
        demo(out=None, force=False, quiet=False)


@app.command()
def sample(
    input: Path = typer.Argument(..., help="Training data: .npy, .npz, .csv, .tsv, .parquet or a folder of PNGs."),
    n: int = typer.Option(1000, "-n", "--n-samples", help="Number of samples (per class with --per-class)."),
    output: Path = typer.Option(..., "-o", "--output", help="Output file (same kinds as input; a folder for images)."),
    bandwidth: Optional[str] = typer.Option(None, help="sigma in standardized units (overrides the rule), or "
                                            "'auto': choose c by held-out W1."),
    bandwidth_scale: float = typer.Option(1.0, help="c in sigma = c * n^(-1/(d+4))."),
    intrinsic_dim: Optional[float] = typer.Option(None, help="Manifold dimension d (estimated if omitted)."),
    inertia: Inertia = typer.Option(Inertia.posterior_mean, help="Form of the inertia step."),
    sampler: Sampler = typer.Option(Sampler.one_shot, help="How z ~ p̂_h is drawn."),
    seed: Optional[int] = typer.Option(None, help="Random seed: same seed, same samples."),
    key: Optional[str] = typer.Option(None, help="Array name in an .npz input."),
    labels: Optional[str] = typer.Option(None, help="Label column (csv/tsv/parquet) or label array (npz)."),
    class_: Optional[str] = typer.Option(None, "--class", help="Sample this class only (needs --labels)."),
    per_class: bool = typer.Option(False, "--per-class", help="Sample n per class (needs --labels)."),
    device: Device = typer.Option(Device.cpu, help="cpu, cuda or auto."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing output."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress or summary."),
) -> None:
    """Fit IDM to INPUT and write new samples to OUTPUT.

    Examples: inertial-diffusion sample data.npy -n 500 -o new.npy --seed 0;
    inertial-diffusion sample iris.csv --labels species --per-class -n 50 -o balanced.csv
    """
    from inertial_diffusion.estimators.inertial import InertialDiffusion

    if n < 0:
        _fail(f"-n must be >= 0, got {n}")
    if (class_ is not None or per_class) and labels is None:
        _fail("--class and --per-class need --labels to name the label column")
    if class_ is not None and per_class:
        _fail("give either --class or --per-class, not both")
    _run(check_output_path, output, force)
    sigma: float | str | None = bandwidth
    if bandwidth is not None and bandwidth != "auto":
        try:
            sigma = float(bandwidth)
        except ValueError:
            _fail(f"--bandwidth must be a positive number or 'auto', got {bandwidth!r}")
    data: Dataset = _run(load_data, input, key=key, labels=labels)
    model = InertialDiffusion(bandwidth=sigma, bandwidth_scale=bandwidth_scale, intrinsic_dim=intrinsic_dim,
                              inertia=inertia.value, sampler=sampler.value, device=device.value)
    _run(model.fit, data.X, data.y)
    y_out = None
    if per_class:
        rng = np.random.default_rng(seed)
        parts = [_run(_sample_batched, model, n, int(rng.integers(2**31)), quiet, c) for c in model.class_models_]
        X_out = np.concatenate(parts)
        y_out = np.repeat(np.array(list(model.class_models_), dtype=model.classes_.dtype), n)
    elif class_ is not None:
        label = _run(_parse_label, class_, model.classes_)
        X_out = _run(_sample_batched, model, n, seed, quiet, label)
        y_out = np.full(n, label, dtype=model.classes_.dtype)
    else:
        X_out = _run(_sample_batched, model, n, seed, quiet)
    _run(save_data, output, X_out, y_out, like=data, force=force)
    if not quiet:
        d = "given" if model.intrinsic_dim_ is None else f"{model.intrinsic_dim_:.2f}"
        chosen = "" if model.bandwidth_search_ is None else f", c={model.bandwidth_search_.best_scale:.3g} by held-out W1"
        typer.echo(f"wrote {len(X_out)} samples to {output} (n={model.n_samples_fit_}, D={model.n_features_in_}, "
                   f"d={d}, sigma={model.bandwidth_:.4g}{chosen})")


@app.command()
def evaluate(
    samples: Path = typer.Argument(..., help="Generated samples."),
    train: Path = typer.Argument(..., help="The training data they came from."),
    held_out: Optional[Path] = typer.Option(None, help="Held-out data from the same source (for the NN ratio)."),
    report: Optional[Path] = typer.Option(None, help="Write a Markdown report (and a figure beside it)."),
    key: Optional[str] = typer.Option(None, help="Array name in .npz inputs."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing report."),
    quiet: bool = typer.Option(False, "--quiet", "-q"),
) -> None:
    """Memorization report and Wasserstein distance of SAMPLES against TRAIN.

    Example: inertial-diffusion evaluate samples.npy train.npy --held-out test.npy --report report.md
    """
    from inertial_diffusion.evaluation.metrics import memorization_report, wasserstein1

    if report is not None:
        _run(check_output_path, report, force)
    S = _run(load_data, samples, key=key)
    T = _run(load_data, train, key=key)
    H = _run(load_data, held_out, key=key).X if held_out is not None else None
    if S.X.shape[1] != T.X.shape[1]:
        _fail(f"{samples} has {S.X.shape[1]} features but {train} has {T.X.shape[1]}")
    rep = _run(memorization_report, S.X, T.X, H)
    exact = len(S.X) * len(T.X) <= 4_000_000
    w1 = _run(wasserstein1, S.X, T.X, method="exact" if exact else "sliced", random_state=0)
    w1_line = f"W1 (samples, train), {'exact' if exact else 'sliced, 200 directions'}: {w1:.4g}"
    text = f"{rep}\n{w1_line}"
    if not quiet:
        typer.echo(text)
    if report is not None:
        figure = report.with_suffix(".png")
        _run(_evaluation_figure, S, T, figure, force)
        body = (f"# Evaluation of `{samples}` against `{train}`\n\n```\n{text}\n```\n\n![figure]({figure.name})\n")
        from inertial_diffusion.io import atomic_write

        _run(atomic_write, report, lambda p: p.write_text(body))
        if not quiet:
            typer.echo(f"report: {report}, figure: {figure}")


def _evaluation_figure(S: Dataset, T: Dataset, path: Path, force: bool) -> None:
    from inertial_diffusion.io import atomic_write, to_images
    from inertial_diffusion.evaluation.plots import nearest_neighbour_grid, scatter_samples

    check_output_path(path, force)
    if T.kind == "images" and S.image_shape == T.image_shape:
        from sklearn.neighbors import NearestNeighbors

        k = min(16, len(S.X))
        dist, idx = NearestNeighbors(n_neighbors=1).fit(T.X).kneighbors(S.X[:k])
        atomic_write(path, lambda p: nearest_neighbour_grid(to_images(S.X[:k], S.image_shape),
                                                            to_images(T.X[idx[:, 0]], T.image_shape), dist[:, 0], p))
    else:
        atomic_write(path, lambda p: scatter_samples(T.X, S.X, p))


@app.command("estimate-dim")
def estimate_dim(
    input: Path = typer.Argument(..., help="Data file."),
    method: DimMethod = typer.Option(DimMethod.twonn, help="twonn (Facco et al.) or mle (Levina–Bickel)."),
    key: Optional[str] = typer.Option(None, help="Array name in an .npz input."),
) -> None:
    """Estimate the intrinsic dimension of the data in INPUT.

    Example: inertial-diffusion estimate-dim data.csv --method mle
    """
    from inertial_diffusion.core.bandwidth import estimate_intrinsic_dim

    data = _run(load_data, input, key=key)
    d = _run(estimate_intrinsic_dim, data.X, method=method.value, random_state=0)
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
    quick: bool = typer.Option(False, "--quick", help="Small sizes, about two minutes (the default)."),
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


def main() -> None:
    """Console-script entry point."""
    app(prog_name="inertial-diffusion")


if __name__ == "__main__":
    sys.exit(main())
