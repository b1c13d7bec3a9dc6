"""pytest configuration for the guide's examples, run as doctests.

``python -m pytest`` collects them (pyproject.toml: ``testpaths`` has
``docs/guide``, ``addopts`` has ``--doctest-glob='*.rst'``); alone:

    python -m pytest -o addopts="" -p no:cacheprovider --doctest-glob="*.rst" docs/guide

Each page's examples run in a fresh temporary directory (they write model
files) with matplotlib, when installed, drawing to files (Agg). A page whose
examples need an optional package that is missing is left out.
"""

import importlib.util

import pytest

try:
    import matplotlib
except ImportError:
    pass
else:
    matplotlib.use("Agg")

#: page -> the optional package its examples import
_NEEDS = {"guide/model_selection.rst": "pandas"}

collect_ignore = [page for page, package in _NEEDS.items()
                  if importlib.util.find_spec(package) is None]


@pytest.fixture(autouse=True)
def _in_tmp_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
