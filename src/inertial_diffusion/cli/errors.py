"""One error format for the whole command line: ``error: ...`` on one line of stderr, exit code 2."""

from __future__ import annotations

import sys
from typing import Any, NoReturn, Sequence

import typer
from typer import Abort
from typer.core import TyperGroup

try:  # recent typer vendors click
    from typer._click.exceptions import ClickException
except ImportError:  # pragma: no cover - older typer on the real click
    from click.exceptions import ClickException  # type: ignore[assignment]  # click's class, same role

__all__ = ["OneLineErrors", "fail", "run"]


# the constructor is typer's TyperGroup's, whose keywords vary with typer's version: not documented here
class OneLineErrors(TyperGroup):  # numpydoc ignore=PR01
    """The command group of the CLI: click's parse errors as one ``error:`` line on stderr, exit code 2.

    Bad values, missing or unknown options would otherwise print click's multi-line usage box; here they read
    like every other failure of the command line (see :func:`fail`). Ctrl-C prints ``error: aborted`` and
    exits 130. Pass it as ``typer.Typer(cls=OneLineErrors)``; typer constructs it, with the keyword arguments
    of ``typer.core.TyperGroup``.
    """

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True, windows_expand_args: bool = True,
             **extra: Any) -> Any:
        """Run the command line as click's ``main`` does, with parse errors reported on one line.

        Parameters
        ----------
        args : sequence of str, optional
            The arguments (default: ``sys.argv[1:]``).
        prog_name : str, optional
            Program name shown in messages (default: from ``sys.argv[0]``).
        complete_var : str, optional
            Environment variable of shell completion (click's default when omitted).
        standalone_mode : bool, default True
            ``True``: exit the process with the code; ``False``: return it.
        windows_expand_args : bool, default True
            Passed to click's ``main``: expand wildcards in the arguments on Windows.
        **extra
            Passed to the context, as click's ``main`` does.

        Returns
        -------
        int
            The exit code (only with ``standalone_mode=False``): 0 on success, the code of a
            ``typer.Exit``, 2 for a parse error, 130 when aborted.
        """
        try:
            code = super().main(args=args, prog_name=prog_name, complete_var=complete_var, standalone_mode=False,
                                windows_expand_args=windows_expand_args, **extra)
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


def fail(message: str) -> NoReturn:
    """Print ``error: <message>`` as one line on stderr and exit with code 2.

    Whitespace in ``message`` (line breaks included) is collapsed, so that the error stays one line.

    Parameters
    ----------
    message : str
        What went wrong and, where possible, what to do instead.

    Raises
    ------
    typer.Exit
        Always, with ``exit_code`` 2.
    """
    typer.echo(f"error: {' '.join(str(message).split())}", err=True)
    raise typer.Exit(code=2)


def run(action, *args: Any, **kwargs: Any) -> Any:
    """Call ``action(*args, **kwargs)``, turning the library's clear errors into one line and exit code 2.

    The library raises ``ValueError``, ``TypeError``, ``OSError`` (``DataFileError`` included) or
    ``ImportError`` with a message meant for the user; the command line shows that message through
    :func:`fail` rather than a traceback. An ``ArithmeticError`` gets a hint about the bandwidth options.
    Other exceptions (bugs) keep their traceback.

    Parameters
    ----------
    action : callable
        The library call.
    *args
        Its positional arguments.
    **kwargs
        Its keyword arguments.

    Returns
    -------
    object
        What ``action`` returns.

    Raises
    ------
    typer.Exit
        With code 2, after the one-line message, when ``action`` raised one of the errors above.

    Examples
    --------
    >>> import contextlib, sys
    >>> import typer
    >>> run(int, "42")
    42
    >>> with contextlib.redirect_stderr(sys.stdout):
    ...     try:
    ...         run(int, "forty-two")
    ...     except typer.Exit as exc:
    ...         print("exit code", exc.exit_code)
    error: invalid literal for int() with base 10: 'forty-two'
    exit code 2
    """
    try:
        return action(*args, **kwargs)
    except (ValueError, TypeError, OSError, ImportError) as exc:
        fail(str(exc) or type(exc).__name__)
    except ArithmeticError as exc:  # e.g. a bandwidth so small that a scale underflows to 0
        fail(f"numerical failure ({type(exc).__name__}: {exc}); check --bandwidth / --bandwidth-scale")
