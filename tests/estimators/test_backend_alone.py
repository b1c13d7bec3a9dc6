"""Every fit path runs on the backend asked for: fitted in a process where the
other backend cannot load (`tests.backend_alone`), each gives the bits it
gives where both load, and no module of the other backend is loaded."""

import json
import os
import subprocess
import sys

import pytest

from ..helpers import BACKENDS

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _fits(backend, mode):
    done = subprocess.run([sys.executable, "-m", "tests.backend_alone", backend, mode],
                          cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_fit_path_runs_on_its_backend_alone(backend):
    reference = _fits(backend, "both")
    alone = _fits(backend, "alone")
    if alone != reference:
        # a process that compiled a Numba pass into an empty disk cache can
        # round its last bits otherwise than processes that load it (seen on
        # 'full' passes, at the commit before this test too): compare with a
        # process that loads it
        reference = _fits(backend, "both")
    assert sorted(alone) == sorted(reference)
    for path in reference:
        assert alone[path] == reference[path], path
