"""Check the built documentation as a reader would meet it: every page's local links and images exist, the home
page lists the guide, the gallery ran (every example has its figure), and the API page of ``InertialDiffusion``
shows its parameters.

    python docs/check_site.py docs/_build/html

Exit status 1 with one line per problem; 0 and a summary otherwise.
"""

from __future__ import annotations

import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlparse


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.targets: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for key, value in attrs:
            if value and ((tag == "a" and key == "href") or (tag in ("img", "script") and key == "src")
                          or (tag == "link" and key == "href")):
                self.targets.append(value)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def check(root: Path) -> list[str]:
    problems = []
    pages = sorted(p for p in root.rglob("*.html") if "_static" not in p.parts)
    if not pages:
        return [f"{root}: no HTML pages (build the docs first)"]
    texts = {}
    for page in pages:
        parser = _Links()
        parser.feed(page.read_text(encoding="utf-8", errors="replace"))
        texts[page.relative_to(root).as_posix()] = " ".join(parser.text)
        for target in parser.targets:
            url = urlparse(target)
            if url.scheme or url.netloc or target.startswith(("#", "mailto:", "javascript:")) or not url.path:
                continue
            path = (page.parent / unquote(url.path)).resolve()
            if not path.exists():
                problems.append(f"{page.relative_to(root)}: broken link or image {target!r}")
    home = texts.get("index.html", "")
    for heading in ("The method and its conventions", "Tables", "The command line", "API reference"):
        if heading not in home:
            problems.append(f"index.html: the home page does not list {heading!r}")
    api = texts.get("generated/inertial_diffusion.InertialDiffusion.html", "")
    for word in ("inertia", "bandwidth_scale", "column_types", "sample", "fit"):
        if word not in api:
            problems.append(f"the InertialDiffusion page does not mention {word!r}")
    examples = sorted((root / "auto_examples").glob("plot_*.html"))
    if not examples:
        problems.append("no gallery example pages")
    for page in examples:
        if "sphx_glr_" not in page.read_text(encoding="utf-8") or ".png" not in page.read_text(encoding="utf-8"):
            problems.append(f"{page.relative_to(root)}: the example shows no figure")
    if not problems:
        print(f"{len(pages)} pages, {len(examples)} gallery examples: every local link and image resolves")
    return problems


if __name__ == "__main__":
    found = check(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/_build/html"))
    for line in found:
        print(line)
    sys.exit(1 if found else 0)
