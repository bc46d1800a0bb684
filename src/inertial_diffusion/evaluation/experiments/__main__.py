"""``python -m inertial_diffusion.evaluation.experiments [--quick|--full] --out DIR``: the ``reproduce`` command.

Calls :func:`inertial_diffusion.evaluation.experiments.run_experiments`, the same function the CLI's
``reproduce`` command delegates to (no rewriting of ``sys.argv``).
"""

from __future__ import annotations

import argparse
import sys

from inertial_diffusion.evaluation.experiments import run_experiments


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m inertial_diffusion.evaluation.experiments",
        description="Check the paper's claims on data with known truth and measure the failure modes; writes "
                    "report.md, one CSV per experiment and PNG figures to --out.")
    parser.add_argument("--out", required=True, help="folder for report.md, the CSV files and the figures")
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="small sizes, every section, about a minute (default)")
    size.add_argument("--full", action="store_true", help="the report's sizes (see the README for its run time)")
    parser.add_argument("--force", action="store_true", help="write into an existing non-empty --out folder")
    parser.add_argument("--seed", type=int, default=0, help="seed of every random draw")
    parser.add_argument("--quiet", "-q", action="store_true")
    args = parser.parse_args(argv)
    say = None if args.quiet else (lambda message: print(message, file=sys.stderr, flush=True))
    try:
        run_experiments("full" if args.full else "quick", args.out, force=args.force, say=say, seed=args.seed)
    except ValueError as exc:  # the library's clear one-line errors, never a traceback
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not args.quiet:
        print(f"report: {args.out}/report.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
