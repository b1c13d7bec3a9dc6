#!/usr/bin/env bash
# Coverage of fastgmm/, in one pass of the suite plus a short one:
# 1. `python -m pytest` with PYTEST_ADDOPTS="--cov=fastgmm --cov-report="
#    (.ci/run runs the README's test command that way): every module,
#    the Cython kernels through their results (not line by line);
# 2. here: the Numba kernels' own lines, run as Python under
#    NUMBA_DISABLE_JIT=1 on the kernel tests' tiny inputs (as STUMPY does);
# then the report, with a floor.
set -euo pipefail
cd "$(dirname "$0")/.."
NUMBA_DISABLE_JIT=1 python -m pytest -q -p no:cacheprovider -n 0 \
    --cov=fastgmm --cov-append --cov-report= tests/kernels/test_kernels.py \
    -k "any_shape or (numba and (reference or beyond or exp_and_log))"
# the Numba k-means calls, one-call EM loop and M-step drivers, tiny inputs
NUMBA_DISABLE_JIT=1 python -m pytest -q -p no:cacheprovider -n 0 \
    --cov=fastgmm --cov-append --cov-report= tests/kernels/test_numba_small.py
python -m coverage report --show-missing --skip-covered --fail-under=90
