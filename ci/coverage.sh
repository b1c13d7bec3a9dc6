#!/usr/bin/env bash
# Line coverage of fastgmm/. Two runs, combined:
# 1. the kernel-heavy tests with NUMBA_DISABLE_JIT=1, so that the Numba
#    kernels run as Python and their lines count (uncompiled they are slow,
#    hence a subset);
# 2. the remaining tests with the kernels compiled.
# The Cython kernels are not measured (that needs a linetrace build).
set -euo pipefail
cd "$(dirname "$0")/.."
python -m coverage erase
NUMBA_DISABLE_JIT=1 python -m coverage run -p --source=fastgmm -m pytest -q \
    -p no:cacheprovider -o addopts="" \
    tests/test_kernels.py tests/test_validation.py tests/test_cli.py \
    tests/test_estimator.py -k "not threads and not sklearn_float64 and not any_shape"
python -m coverage run -p --source=fastgmm -m pytest -q -p no:cacheprovider \
    -o addopts="" tests/test_search.py tests/test_io.py tests/test_plot.py \
    tests/test_cli_commands.py tests/test_backends.py tests/test_bench.py
python -m coverage combine
python -m coverage report --show-missing --skip-covered
