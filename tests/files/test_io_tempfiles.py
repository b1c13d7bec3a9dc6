"""Temporary files of atomic outputs: recognisable, and cleaned up after a kill."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from fastgmm.files import atomic

WRITER = textwrap.dedent("""
    import sys, time
    from fastgmm.files.atomic import atomic_output
    with atomic_output(sys.argv[1], "w") as f:
        f.write("half of the new contents")
        f.flush()
        print("writing", flush=True)
        time.sleep(600)
""")


def temp_files(directory):
    return sorted(n for n in os.listdir(directory) if n.endswith(".tmp"))


def start_writer(path):
    """A process killed in the middle of an atomic write of ``path``."""
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(path)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout.readline().strip() == "writing"
    except BaseException:
        writer.kill()
        writer.wait()
        raise
    return writer


def test_a_killed_writers_temp_file_is_removed_by_the_next_write(tmp_path):
    path = tmp_path / "labels.csv"
    path.write_text("old contents")
    writer = start_writer(path)
    try:
        (name,) = temp_files(tmp_path)
        # named after the target and the writer, and hidden
        assert name.startswith(".labels.csv.fastgmm-" + str(writer.pid) + "-")
        assert atomic.temp_name_pattern("labels.csv").fullmatch(name)
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait()
    assert path.read_text() == "old contents"
    assert temp_files(tmp_path) == [name]  # what the killed process left
    with atomic.atomic_output(path, "w") as f:
        f.write("new contents")
    assert path.read_text() == "new contents"
    assert temp_files(tmp_path) == []


def test_only_stale_files_of_the_same_target_are_removed(tmp_path):
    path = tmp_path / "model.npz"
    writer = start_writer(path)  # alive: its temp file must stay
    try:
        (live,) = temp_files(tmp_path)
        dead_pid = _a_dead_pid()
        keep = [
            f".other.npz.fastgmm-{dead_pid}-0123456789abcdef.tmp",  # other target
            f".model.npz.fastgmm-{dead_pid}-0123456789abcdef.tmp.bak",
            f"model.npz.fastgmm-{dead_pid}-0123456789abcdef.tmp",   # not hidden
            ".model.npz.abcd1234.tmp",  # an older fastgmm's name: not ours to judge
            f".model.npz.fastgmm-{dead_pid}-xyz.tmp",
        ]
        stale = f".model.npz.fastgmm-{dead_pid}-0123456789abcdef.tmp"
        for name in keep + [stale]:
            (tmp_path / name).write_text("x")
        sub = tmp_path / "sub"
        sub.mkdir()
        (sub / stale).write_text("x")  # another directory
        removed = atomic.remove_stale_temp_files(path)
        assert removed == [str(tmp_path / stale)]
        assert sorted(os.listdir(tmp_path)) == sorted(keep + [live, "sub"])
        assert os.listdir(sub) == [stale]
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait()


def _a_dead_pid():
    """The pid of a process that has exited (and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(child.pid, 0)
        except ProcessLookupError:
            return child.pid
        time.sleep(0.01)
    pytest.skip("the pid of an exited process was reused at once")
