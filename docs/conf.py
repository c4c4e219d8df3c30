"""Sphinx configuration of the pyramid_jwtnode documentation.

Build (what .ci/run does; warnings are errors, nothing is fetched):

    .venv/bin/pip install -e ".[docs]"
    .venv/bin/sphinx-build -W -b html docs docs/_build/html
"""

from __future__ import annotations

import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))  # the local extension: jwtnode_docs
sys.path.insert(0, str(HERE.parent))    # the package of this checkout, installed or not

project = "pyramid_jwtnode"
author = "the pyramid_jwtnode contributors"
copyright = f"{author}; MIT licence"
try:
    release = version("pyramid_jwtnode")
except PackageNotFoundError:  # pragma: no cover - a checkout that is not installed
    release = "unreleased"
version = release

extensions = [
    "sphinx.ext.autodoc",
    "jwtnode_docs",
]

root_doc = "index"
source_suffix = {".rst": "restructuredtext"}
# examples/ holds the files the chapters include (and the tests run); import-flow.rst is
# included by migrating.rst, not a page of its own.
exclude_patterns = ["_build", "examples", "import-flow.rst"]
nitpicky = False
default_role = "literal"
# Straight quotes: help texts and prose quote JSON and shell text, which curly quotes would break.
smartquotes = False
# A "::" literal block is plain text; Python examples are literalincludes of files the tests
# run, with :language: python (tests/test_docs_examples.py holds every page to that).
highlight_language = "text"

# The API page documents pyramid_jwtnode.__all__ (see the jwtnode-api directive).
autodoc_member_order = "bysource"
autodoc_preserve_defaults = True
autodoc_typehints = "signature"

# Furo: maintained, accessible, responsive, light and dark; everything it needs ships in
# the wheel, so the build fetches nothing and the pages load nothing from elsewhere.
html_theme = "furo"
html_title = f"pyramid_jwtnode {release}"
html_show_sourcelink = False
html_theme_options = {
    "navigation_with_keys": True,
}
pygments_style = "sphinx"
pygments_dark_style = "monokai"
