"""Docstrings: every public function, class and method has a numpydoc docstring that documents what it takes and
returns (validated with numpydoc, as scikit-learn does), and every module's Examples run as doctests.

Public means: defined in a module of the package whose dotted path has no ``_``-prefixed part (``estimators._base``
is checked too: its classes are the estimators' shared API), with a name that does not start with ``_``. The
typer commands in ``inertial_diffusion.cli`` are left out: their docstring *is* the ``--help`` text and their
parameters are documented by the options' ``help=`` (see ``tests/test_cli_options.py``).
"""

from __future__ import annotations

import doctest
import importlib
import inspect
import pkgutil
from types import ModuleType
from typing import Any, Iterator

import pytest

numpydoc_validate = pytest.importorskip("numpydoc.validate")

import inertial_diffusion  # noqa: E402

# numpydoc error codes enforced: no docstring, no summary, parameters missing / unknown / undescribed, no Returns
# or Yields where the function returns or yields a value. Style-only codes (See Also, extended summary, summary
# punctuation, Examples on every object) are not enforced; Examples are required where they teach something.
ENFORCED = {"GL08", "SS01", "PR01", "PR02", "PR07", "RT01", "YD01"}
SKIP_MODULES = {"inertial_diffusion.cli", "inertial_diffusion.__main__"}


def _modules() -> list[str]:
    import inertial_diffusion_studies

    names = ["inertial_diffusion", "inertial_diffusion_studies"]
    for info in [*pkgutil.walk_packages(inertial_diffusion.__path__, "inertial_diffusion."),
                 *pkgutil.walk_packages(inertial_diffusion_studies.__path__, "inertial_diffusion_studies.")]:
        parts = info.name.split(".")[1:]
        if any(p.startswith("_") and p != "_base" for p in parts) or info.name in SKIP_MODULES:
            continue
        names.append(info.name)
    return names


MODULES = _modules()


def _public_objects(module: ModuleType) -> Iterator[tuple[str, Any]]:
    for name, obj in sorted(vars(module).items()):
        if name.startswith("_") or getattr(obj, "__module__", None) != module.__name__:
            continue
        if inspect.isfunction(obj):
            yield f"{module.__name__}.{name}", obj
        elif inspect.isclass(obj):
            yield f"{module.__name__}.{name}", obj
            for attr, member in vars(obj).items():
                if attr.startswith("_"):
                    continue
                if isinstance(member, property):
                    member = member.fget
                if isinstance(member, (staticmethod, classmethod)):
                    member = member.__func__
                if inspect.isfunction(member):
                    yield f"{module.__name__}.{name}.{attr}", member


def _numpydoc_errors(qualname: str) -> list[str]:
    result = numpydoc_validate.validate(qualname)
    return [f"{code}: {message}" for code, message in result["errors"] if code in ENFORCED]


@pytest.mark.parametrize("module_name", MODULES)
def test_public_docstrings_follow_numpydoc(module_name: str) -> None:
    module = importlib.import_module(module_name)
    problems = {}
    for qualname, _ in _public_objects(module):
        errors = _numpydoc_errors(qualname)
        if errors:
            problems[qualname] = errors
    assert not problems, "\n".join(f"{name}: {errs}" for name, errs in problems.items())


def test_the_docstring_check_can_fail() -> None:
    """The validator flags an undocumented parameter and a missing Returns section."""
    import sys

    def undocumented(x: int) -> int:
        """Add one."""
        return x + 1

    module = sys.modules[__name__]
    setattr(module, "undocumented", undocumented)
    undocumented.__module__ = __name__
    try:
        codes = {e.split(":")[0] for e in _numpydoc_errors(f"{__name__}.undocumented")}
    finally:
        delattr(module, "undocumented")
    assert {"PR01", "RT01"} <= codes


def _modules_with_examples() -> list[str]:
    finder = doctest.DocTestFinder()
    found = []
    for name in MODULES:
        module = importlib.import_module(name)
        if any(test.examples for test in finder.find(module)):
            found.append(name)
    return found


@pytest.mark.parametrize("module_name", _modules_with_examples())
def test_docstring_examples_run(module_name: str) -> None:
    result = doctest.testmod(importlib.import_module(module_name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
