"""Sphinx configuration of fastgmm's documentation site.

Build (offline: no inventory or page is fetched)::

    python -m pip install -e ".[docs]"
    python -m sphinx -W --keep-going -b html docs docs/_build/html

The API reference is generated from the docstrings (autosummary + numpydoc,
one page per public name, in docs/api/generated/), the command-line
reference from the argparse parser (sphinx-argparse), and the gallery from
examples/plot_*.py (sphinx-gallery runs each one and keeps its figures, in
docs/auto_examples/). All three outputs are git-ignored.
"""

import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # figures are drawn to files, never to a display

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

import fastgmm  # noqa: E402

# -- Project ------------------------------------------------------------------

project = "fastgmm"
author = "fastgmm developers"
copyright = "fastgmm developers"
version = fastgmm.__version__
release = fastgmm.__version__

# -- Extensions ---------------------------------------------------------------

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinxarg.ext",  # the CLI reference, from fastgmm's argparse parser
    "sphinx_gallery.gen_gallery",
    "myst_parser",  # docs/design.md and CHANGELOG.md stay Markdown
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
templates_path = ["_templates"]
exclude_patterns = [
    "_build",
    "**.ipynb_checkpoints",
    # sphinx-gallery writes these beside the generated pages
    "auto_examples/*.ipynb",
    "auto_examples/*.py",
    "auto_examples/*.zip",
    "auto_examples/*.md5",
    "auto_examples/*.codeobj.json",
    "sg_execution_times.rst",
]

# No intersphinx: the build runs offline. References to scikit-learn, NumPy
# or dask in the docstrings render as plain names.

# -- autodoc / autosummary / numpydoc -----------------------------------------

autosummary_generate = True
autosummary_imported_members = True
autosummary_ignore_module_all = False  # a module page lists its __all__
autodoc_typehints = "none"  # the signatures and numpydoc's sections say it
add_module_names = False
# quotes and ellipses made typographic, but not dashes: "--option" in the
# command-line reference and in code stays two hyphens
smartquotes_action = "qe"

# Class pages list their methods themselves (docs/_templates/autosummary/
# class.rst); numpydoc's member tables would repeat them.
numpydoc_show_class_members = False
numpydoc_show_inherited_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
numpydoc_xref_param_type = False
# numpydoc's docstring checks: off in the site's build
# (docs/validate_docstrings.py runs them and lists every problem for the
# docstrings' authors).
numpydoc_validation_checks = set()

# -- sphinx-gallery -----------------------------------------------------------

sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",  # every plot_*.py is run at build time
    "ignore_pattern": r"__init__\.py",
    "download_all_examples": False,
    "matplotlib_animations": False,
    "image_scrapers": ("matplotlib",),
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
    "reset_modules": ("matplotlib",),
    "abort_on_example_error": False,
    "only_warn_on_example_error": False,
    "show_memory": False,
    "capture_repr": (),  # a block's last value is not printed (print() is)
    "plot_gallery": "True",
    # where an API page shows the examples that use its name
    "doc_module": ("fastgmm",),
    "backreferences_dir": str(HERE / "api" / "generated" / "backreferences"),
    "reference_url": {"fastgmm": None},
}

# numpy's and scikit-learn's warnings that an example may trigger are not the
# reader's concern; fastgmm's own warnings are left visible.
warnings.filterwarnings("ignore", category=DeprecationWarning, module="dask")

# -- MyST (Markdown) ----------------------------------------------------------

myst_heading_anchors = 3
suppress_warnings = ["myst.header"]

# -- HTML ---------------------------------------------------------------------

html_theme = "pydata_sphinx_theme"
html_title = f"fastgmm {release}"
html_static_path = []
html_show_sourcelink = False
html_theme_options = {
    "navbar_end": ["navbar-icon-links"],
    "secondary_sidebar_items": ["page-toc"],
    "show_toc_level": 2,
    "navigation_with_keys": False,
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
html_context = {"default_mode": "light"}
html_sidebars = {
    "index": [],
    "changelog": [],
}
