"""Numba's disk cache shared by processes that compile at once
(`kernels._numba_base._lock_cache_files`): every signature loads back as
itself. Without the lock, two processes that both find the index without
their signature name their data files alike, and one loads the other's
code ("can't unbox array")."""

import subprocess
import sys
import textwrap
import time

import pytest

pytest.importorskip("fcntl")

MODULE = '''
import numba
import numpy as np

@numba.njit(cache=True)
def total(a):
    s = a[0] * 0
    for x in a:
        s += x
    return s
'''

WORKER = '''
import sys, time
sys.path.insert(0, {dir!r})
import fastgmm.kernels._numba_base  # the lock
import numpy as np
import cachedmod
start = {start!r}
while time.time() < start:
    pass
dtypes = {dtypes!r}
for name in dtypes:
    a = np.arange(5, dtype=name)
    assert cachedmod.total(a) == 10, name
'''


def test_processes_compiling_at_once_leave_a_sound_cache(tmp_path):
    (tmp_path / "cachedmod.py").write_text(MODULE)
    env = {"NUMBA_CACHE_DIR": str(tmp_path / "cache"), "PATH": "/usr/bin:/bin"}
    groups = [["float64", "int64"], ["float32", "int32"], ["int16", "uint8"],
              ["uint32", "int8"]]
    start = time.time() + 3.0
    workers = [subprocess.Popen([sys.executable, "-c", WORKER.format(
        dir=str(tmp_path), start=start, dtypes=names)], env=env, cwd=tmp_path)
        for names in groups]
    assert [w.wait(timeout=120) for w in workers] == [0] * len(workers)
    # a later process loads every signature from the cache, each as itself
    every = [name for names in groups for name in names]
    check = subprocess.run([sys.executable, "-c", WORKER.format(
        dir=str(tmp_path), start=0.0, dtypes=every)], env=env, cwd=tmp_path,
        capture_output=True, text=True, timeout=120)
    assert check.returncode == 0, textwrap.shorten(check.stderr, 2000)
