"""Sphinx configuration: the API reference from the numpydoc docstrings, a user guide in Markdown (MyST), and a
gallery of runnable examples (sphinx-gallery). Build: ``python -m sphinx -W -b html docs docs/_build/html``."""

import os

os.environ.setdefault("MPLBACKEND", "Agg")

project = "inertial-diffusion"
author = "inertial-diffusion developers"
copyright = "2026, inertial-diffusion developers"
from inertial_diffusion import __version__ as release  # noqa: E402

version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "results/real_data.md", "auto_examples/*.ipynb", "auto_examples/*.py",
                    "auto_examples/*.zip", "auto_examples/*.json", "auto_examples/*.md5"]
myst_enable_extensions = ["dollarmath"]
myst_heading_anchors = 3
suppress_warnings = ["myst.xref_missing"]

autosummary_generate = True
autodoc_typehints = "none"
autodoc_default_options = {"members": False}
numpydoc_show_class_members = False
numpydoc_validation_checks: set[str] = set()  # validated by tests/test_docstrings.py

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "download_all_examples": False,
    "remove_config_comments": True,
    "abort_on_example_error": True,
    "min_reported_time": 1,
}

html_theme = "pydata_sphinx_theme"
html_title = "inertial-diffusion"
html_theme_options = {"navigation_with_keys": False, "show_toc_level": 2}
html_static_path: list[str] = []
templates_path = ["_templates"]
