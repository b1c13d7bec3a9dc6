"""Numba's disk cache shared by processes that compile at once
(`kernels._numba_base._lock_cache_files`). Without the lock, two processes
that both find an index without their signature name their data files
alike, and one later loads the other's code ("can't unbox array"; seen in
CI). The race itself is too rare to provoke on demand, so one test checks
the mechanism (the lock is held inside every save and load) and the other
that processes released together leave a cache whose every signature loads
back as itself."""

import os
import subprocess
import sys
import textwrap

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
import sys
sys.path.insert(0, {dir!r})
import fastgmm.kernels._numba_base  # the lock
import numpy as np
import cachedmod
import os
print("ready", flush=True)
while not os.path.exists({go!r}):  # the start signal: all compile at once
    pass
dtypes = {dtypes!r}
for name in dtypes:
    a = np.arange(5, dtype=name)
    assert cachedmod.total(a) == 10, name
'''


def test_processes_compiling_at_once_leave_a_sound_cache(tmp_path):
    (tmp_path / "cachedmod.py").write_text(MODULE)
    go = tmp_path / "go"
    env = {"NUMBA_CACHE_DIR": str(tmp_path / "cache"), "PATH": "/usr/bin:/bin"}
    dtypes = ["float64", "int64", "float32", "int32", "int16", "uint8", "uint32", "int8",
              "uint16", "uint64"]
    groups = [dtypes[i::5] for i in range(5)]  # five workers, two signatures each
    workers = [subprocess.Popen([sys.executable, "-c", WORKER.format(
        dir=str(tmp_path), dtypes=names, go=str(go))], env=env, cwd=tmp_path,
        stdout=subprocess.PIPE, text=True) for names in groups]
    for worker in workers:  # every worker has imported Numba and the module
        assert worker.stdout.readline().strip() == "ready"
    go.touch()  # then they all compile at once
    assert [w.wait(timeout=120) for w in workers] == [0] * len(workers)
    # a later process loads every signature from the cache, each as itself
    every = [name for names in groups for name in names]
    check = subprocess.run([sys.executable, "-c", WORKER.format(
        dir=str(tmp_path), dtypes=every, go=str(go))], env=env, cwd=tmp_path,
        capture_output=True, text=True, timeout=120)
    assert check.returncode == 0, textwrap.shorten(check.stderr, 2000)


def test_a_cache_save_and_load_hold_the_lock(tmp_path):
    """While Numba's cache writes or reads an index (and its data), another
    process cannot take the lock beside it: probed from inside the save and
    the load with a non-blocking flock on a file descriptor of its own."""
    import fcntl

    from numba.core import caching

    import fastgmm.kernels._numba_base  # noqa: F401  (the lock)

    assert caching.IndexDataCacheFile._fastgmm_locked
    cache = caching.IndexDataCacheFile(str(tmp_path), "probe", ("stamp", 1))
    held = []

    def probe():
        fd = os.open(cache._index_path + ".lock", os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            held.append(True)
        else:
            held.append(False)
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    save_data, load_index = cache._save_data, cache._load_index

    def probed_save_data(name, data):
        probe()
        return save_data(name, data)

    def probed_load_index():
        probe()
        return load_index()

    cache._save_data = probed_save_data
    cache._load_index = probed_load_index
    cache.save(("key",), b"code")
    assert cache.load(("key",)) == b"code"
    assert held and all(held), held  # every probe found the lock taken
    # and no lock is left behind once they return
    fd = os.open(cache._index_path + ".lock", os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    finally:
        os.close(fd)
