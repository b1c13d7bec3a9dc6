"""A row's outputs are the same bits wherever the row falls (docs/design.md).

Per compiled variant this CPU can run, a child process (``FASTGMM_CPU_VARIANT``)
runs `tests.position_check`: per-row outputs on all rows against row slices
at odd offsets and rows one by one, the memory-mapped fit against the
in-memory one, dask arrays in uneven chunks. The Numba backend, which does not
depend on the variant, is checked in the child of the variant fastgmm picks.
"""

import os
import subprocess
import sys

import pytest

from fastgmm import kernels
from fastgmm.kernels import _dispatch

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def runnable_variants():
    """The installed variants whose instructions this CPU has (best first)."""
    features = _dispatch.cpu_features()
    return [v.name for v in _dispatch.installed()
            if not _dispatch.missing_features(v, features)]


def _default_variant():
    return kernels.get_backend("cython").drivers.CPU_VARIANT


VARIANTS = runnable_variants() if kernels.cython_available() else []


@pytest.mark.skipif(not VARIANTS, reason="the Cython extension is not built")
@pytest.mark.parametrize("variant", VARIANTS or ["none"])
def test_rows_are_the_same_bits_wherever_they_fall(variant):
    env = {**os.environ, _dispatch.ENV_VARIANT: variant}
    env.pop("PYTEST_ADDOPTS", None)
    args = [sys.executable, "-m", "tests.position_check"]
    if variant == _default_variant():
        args.append("--numba")
    done = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=600)
    report = done.stdout + done.stderr
    assert done.returncode == 0, report
    assert f"checked {variant}" in done.stdout, report
    assert " 0 mismatches" in done.stdout, report


def test_every_variant_this_cpu_runs_is_installed():
    # a build that skipped a variant would leave it untested here
    if not kernels.cython_available():
        pytest.skip("the Cython extension is not built")
    features = _dispatch.cpu_features()
    installed = {v.name for v in _dispatch.installed()}
    if _dispatch.built_with_native():
        pytest.skip("FASTGMM_NATIVE=1 builds one module")
    runnable = {v.name for v in _dispatch.VARIANTS
                if not _dispatch.missing_features(v, features)}
    assert runnable <= installed, f"not installed: {sorted(runnable - installed)}"
