"""Every snippet of README.md runs, as written at test time, so the README cannot drift (issue 13 item 17).

The rule (stated in the README too):

* every ```python block runs, each in a fresh namespace, in an empty working folder;
* in every ```bash block, each line that starts with ``inertial-diffusion`` runs, in order, in one working
  folder that holds ``data.csv`` (four numeric columns and a text column ``species`` with classes ``common`` and
  ``rare``), ``test.csv`` (the same columns), ``data.npy`` and ``images/`` (8x8 grayscale PNGs); other lines
  (``pip install``, ``python -m pytest``) do not;
* a block whose first line, or a command line that, carries the marker ``# not run by the tests`` is skipped
  (with the reason after the marker, e.g. ``reproduce --full``: 50 minutes).

``README_PATH`` in the environment points the test at another file (to check a proposed README). The user guide's
pages (``docs/guide/*.md``) follow the same rule and are run the same way.
"""

import os
import re
import shlex
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

MARKER = "# not run by the tests"
README = Path(os.environ.get("README_PATH", Path(__file__).resolve().parents[1] / "README.md"))
GUIDE = sorted((Path(__file__).resolve().parents[1] / "docs" / "guide").glob("*.md"))
PAGES = [README] + ([] if "README_PATH" in os.environ else GUIDE)


def _blocks(language: str, page: Path = README) -> list[tuple[int, str]]:
    text = page.read_text(encoding="utf-8")
    blocks = []
    for match in re.finditer(rf"^```{language}[ \t]*\n(.*?)^```", text, flags=re.M | re.S):
        line = text.count("\n", 0, match.start()) + 1
        body = match.group(1)
        first = body.splitlines()[0] if body.strip() else ""
        if MARKER not in first:
            blocks.append((line, body))
    return blocks


def _commands(page: Path = README) -> list[tuple[int, list[str]]]:
    commands = []
    for start, body in _blocks("bash", page):
        for offset, line in enumerate(body.splitlines(), start=1):
            if line.strip().startswith("inertial-diffusion") and MARKER not in line:
                commands.append((start + offset, shlex.split(line, comments=True)))
    return commands


def _data_folder(folder: Path) -> None:
    rng = np.random.default_rng(0)

    def table(n_common: int, n_rare: int) -> str:
        common = rng.normal(size=(n_common, 4))
        rare = rng.normal(size=(n_rare, 4)) * 0.5 + 3.0
        rows = [f"{a:.6f},{b:.6f},{c:.6f},{d:.6f},common" for a, b, c, d in common]
        rows += [f"{a:.6f},{b:.6f},{c:.6f},{d:.6f},rare" for a, b, c, d in rare]
        return "\n".join(["sepal_length,sepal_width,petal_length,petal_width,species"] + rows) + "\n"

    (folder / "data.csv").write_text(table(120, 30))
    (folder / "test.csv").write_text(table(60, 15))
    np.save(folder / "data.npy", rng.normal(size=(300, 3)) @ rng.normal(size=(3, 10)))
    (folder / "images").mkdir()
    for i in range(40):
        Image.fromarray(rng.integers(0, 256, size=(8, 8)).astype(np.uint8)).save(folder / "images" / f"{i:02d}.png")


def test_readme_has_snippets():
    assert _blocks("python") and _commands()


@pytest.mark.slow
@pytest.mark.parametrize("page, line, code", [(p, line, code) for p in PAGES for line, code in _blocks("python", p)],
                         ids=lambda v: v.name if isinstance(v, Path) else (f"line{v}" if isinstance(v, int) else ""))
def test_readme_python_block_runs(page, line, code, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    exec(compile(code, f"{page.name}:{line}", "exec"), {"__name__": "readme"})


@pytest.mark.slow
@pytest.mark.parametrize("page", [p for p in PAGES if _commands(p)], ids=lambda p: p.name)
def test_readme_commands_run_in_order(page, tmp_path, monkeypatch):
    from inertial_diffusion.cli import app

    _data_folder(tmp_path)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    for line, argv in _commands(page):
        result = runner.invoke(app, argv[1:])
        assert result.exit_code == 0, f"{page.name}:{line}: {shlex.join(argv)}\n{result.output}"
