#!/usr/bin/env bash
# Line coverage of fastgmm/, with the Numba kernels run as plain Python
# (NUMBA_DISABLE_JIT=1) so that their lines count. A subset of the tests:
# kernels uncompiled are slow.
set -euo pipefail
cd "$(dirname "$0")/.."
export NUMBA_DISABLE_JIT=1
python -m coverage erase
python -m coverage run --source=fastgmm -m pytest -q -p no:cacheprovider \
    tests/test_kernels.py tests/test_validation.py tests/test_cli.py \
    tests/test_estimator.py -k "not threads and not sklearn_float64 and not any_shape" \
    -o addopts=""
python -m coverage report --show-missing --skip-covered
