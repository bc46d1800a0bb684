"""One error format for the whole command line: ``error: ...`` on one line of stderr, exit code 2."""

from __future__ import annotations

import sys
from typing import Any, Sequence

import typer
from typer import Abort
from typer.core import TyperGroup

try:  # recent typer vendors click
    from typer._click.exceptions import ClickException
except ImportError:  # pragma: no cover - older typer on the real click
    from click.exceptions import ClickException

__all__ = ["OneLineErrors", "fail", "run"]


class OneLineErrors(TyperGroup):
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


def fail(message: str) -> None:
    typer.echo(f"error: {' '.join(str(message).split())}", err=True)
    raise typer.Exit(code=2)


def run(action, *args: Any, **kwargs: Any) -> Any:
    """Turn the library's clear errors into one line and exit code 2, never a traceback."""
    try:
        return action(*args, **kwargs)
    except (ValueError, TypeError, OSError, ImportError) as exc:
        fail(str(exc) or type(exc).__name__)
    except ArithmeticError as exc:  # e.g. a bandwidth so small that a scale underflows to 0
        fail(f"numerical failure ({type(exc).__name__}: {exc}); check --bandwidth / --bandwidth-scale")
