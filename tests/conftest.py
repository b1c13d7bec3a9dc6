import os

# The tests share two cores between two workers and their child processes,
# each running OpenMP passes: threads that spin between passes (libgomp's
# default) take the core another process is waiting for. Set before any
# OpenMP runtime loads (tests/helpers imports fastgmm); children inherit it.
os.environ.setdefault("OMP_WAIT_POLICY", "passive")

import subprocess  # noqa: E402
import sys  # noqa: E402

import pytest  # noqa: E402
from hypothesis import settings  # noqa: E402

from .helpers import BACKENDS  # noqa: E402

# JIT compiles would trip hypothesis' deadline; CI runs derandomized.
settings.register_profile("ci", deadline=None, derandomize=True, max_examples=25)
settings.register_profile("dev", deadline=None, max_examples=50)
settings.load_profile("ci")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def pytest_configure(config):
    """Before xdist starts its workers: fill Numba's disk cache, one child
    per dtype side by side (`tests.numba_warmup`), so that the workers load
    the kernels instead of each compiling them at the same time. Seconds
    when the cache is warm; skipped in a worker, without xdist, when Numba
    runs as Python (the coverage pass) and for ``-k "not numba"`` (.ci/run's
    reruns per CPU variant)."""
    if (hasattr(config, "workerinput") or not getattr(config.option, "numprocesses", None)
            or os.environ.get("NUMBA_DISABLE_JIT", "0") != "0"
            or "not numba" in (config.option.keyword or "")):
        return
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("PYTEST", "COV_", "COVERAGE"))}
    children = [subprocess.Popen([sys.executable, "-m", "tests.numba_warmup", dtype],
                                 cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
                for dtype in ("float64", "float32")]
    for child in children:
        try:
            child.wait(timeout=600)
        except subprocess.TimeoutExpired:  # the tests then compile what they need
            child.kill()


@pytest.fixture(params=BACKENDS)
def backend(request):
    return request.param
