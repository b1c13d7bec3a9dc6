"""pytest configuration of the whole checkout: the doctests' collection.

``python -m pytest`` (pyproject.toml's ``testpaths`` and ``addopts``)
collects the tests in ``tests/``, the examples of the docstrings of
``fastgmm/``'s modules (``--doctest-modules``) and the user guide's
snippets in ``docs/guide/*.rst`` (``--doctest-glob``; ``docs/conftest.py``
runs each page in a temporary directory).

Collecting a module's doctests imports it. That compiles nothing (the
Numba kernels compile, or load from Numba's cache, on their first call),
but a module that imports an optional package at its top is left out
when that package is missing, as the tests that need it skip.
"""

import importlib.util
import os
import sys

# The examples' figures (fastgmm.plot) are drawn in memory, never in a
# window: set before anything imports matplotlib.
os.environ["MPLBACKEND"] = "Agg"


def _missing(package):
    return importlib.util.find_spec(package) is None


collect_ignore = []
if _missing("dask"):  # (dask.array at their top; no examples)
    collect_ignore += ["fastgmm/cli/dask.py", "fastgmm/sources/dask.py"]
if _missing("matplotlib"):  # (imported by the examples)
    collect_ignore += ["fastgmm/plot.py"]


def pytest_runtest_teardown(item):
    """Close the figures a doctest drew (fastgmm.plot's examples)."""
    if type(item).__name__ == "DoctestItem" and "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")
