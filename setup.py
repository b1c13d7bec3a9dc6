"""Build of fastgmm's compiled extension (the Cython backend).

All metadata lives in pyproject.toml; this file only declares extensions.
"""

from setuptools import setup

setup(ext_modules=[])
