#!/usr/bin/env bash
# Without a C compiler, fastgmm installs as pure Python: builds a wheel with
# CC=/bin/false, checks that it is a py3-none-any wheel without compiled
# modules, installs it into a scratch directory and fits with backend='numba'
# and 'auto'; backend='cython' must raise ImportError naming the reason.
# Dependencies come from the active environment. About 30-40 s.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

CC=/bin/false python -m pip wheel -v --no-deps -w "$tmp/wheel" . >"$tmp/build.log" 2>&1 || {
    tail -50 "$tmp/build.log"; echo "check_no_compiler: the build failed"; exit 1; }
grep -c "fastgmm: the Cython backend was NOT built: the C compiler" "$tmp/build.log" \
    | grep -qx 1 || { echo "check_no_compiler: no single notice in the build log"; exit 1; }
wheel=$(ls "$tmp"/wheel/fastgmm-*.whl)
case "$wheel" in
    *-py3-none-any.whl) ;;
    *) echo "check_no_compiler: expected a pure wheel, got $wheel"; exit 1 ;;
esac
python -m pip install -q --no-deps --target "$tmp/site" "$wheel"
if [ -n "$(find "$tmp/site/fastgmm" -name '*.so' -print -quit)" ]; then
    echo "check_no_compiler: the wheel contains compiled modules"; exit 1
fi
# from $tmp: the current directory (the checkout) would come first on sys.path
cd "$tmp"
PYTHONPATH="$tmp/site" NUMBA_CACHE_DIR="$tmp/numba" python - "$tmp/site" <<'PY'
import sys
import warnings

import numpy as np

import fastgmm
from fastgmm import GaussianMixture, kernels

assert fastgmm.__file__.startswith(sys.argv[1]), fastgmm.__file__
X = np.random.default_rng(0).normal(size=(500, 3))
numba = GaussianMixture(3, backend="numba", random_state=0).fit(X)
with warnings.catch_warnings():
    warnings.simplefilter("ignore", RuntimeWarning)  # 'auto' falls back, once
    auto = GaussianMixture(3, random_state=0).fit(X)
assert auto.lower_bound_ == numba.lower_bound_
assert not kernels.cython_available()
try:
    GaussianMixture(3, backend="cython").fit(X)
except ImportError as exc:
    reason = str(exc.__cause__ or exc)
    assert "C compiler" in reason, reason
else:
    raise AssertionError("backend='cython' did not raise ImportError")
print(f"check_no_compiler: OK (pure wheel; numba and auto fit; cython: {reason})")
PY
