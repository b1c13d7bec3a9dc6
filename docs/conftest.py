"""pytest configuration for the guide's examples, run as doctests:

    python -m pytest -o addopts="" -p no:cacheprovider --doctest-glob="*.rst" docs/guide

Each page's examples run in a fresh temporary directory (they write model
files) with matplotlib drawing to files (Agg).
"""

import matplotlib
import pytest

matplotlib.use("Agg")


@pytest.fixture(autouse=True)
def _in_tmp_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
