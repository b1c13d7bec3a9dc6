"""Output files written whole or not at all: `atomic_output` writes to a
temporary file in the destination directory (named by `temp_name_pattern`,
with the writer's process id) and renames it over the destination only once
complete; `remove_stale_temp_files` removes those a killed writer left.
Used for model files (`files.model`) and the command line's outputs.
"""

import errno
import os
import re
import secrets
from contextlib import contextmanager


def _default_file_mode():
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def temp_name_pattern(basename):
    """The regular expression of the temporary files of `atomic_output`.

    ``.{basename}.fastgmm-{pid}-{16 hex digits}.tmp``: hidden like an editor's
    swap file, yet named after the target and the writing process, so that a
    person sees what it is and fastgmm can remove the ones whose writer died.
    """
    return re.compile(
        r"\." + re.escape(basename) + r"\.fastgmm-(?P<pid>[1-9][0-9]*)-[0-9a-f]{16}\.tmp"
    )


def _process_exists(pid):
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True  # another user's process (or a pid we cannot ask about)
    except OSError as exc:
        return exc.errno != errno.ESRCH
    return True


def remove_stale_temp_files(path):
    """Remove the temporary files left for ``path`` by writers that died.

    Only files in ``path``'s directory, named by `temp_name_pattern` for
    ``path``'s own basename, whose writing process no longer exists. Returns
    the removed paths. Never raises for a file it cannot remove.
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    pattern = temp_name_pattern(os.path.basename(path))
    removed = []
    try:
        names = os.listdir(directory)
    except OSError:
        return removed
    for name in names:
        match = pattern.fullmatch(name)
        if match is None or _process_exists(int(match["pid"])):
            continue
        stale = os.path.join(directory, name)
        try:
            if not os.path.isfile(stale) or os.path.islink(stale):
                continue
            os.unlink(stale)
        except OSError:
            continue
        removed.append(stale)
    return removed


def _create_temp_file(path):
    """A new temporary file beside ``path``: (fd, its path), mode 0600."""
    directory = os.path.dirname(os.path.abspath(path))
    basename = os.path.basename(path)
    flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        name = f".{basename}.fastgmm-{os.getpid()}-{secrets.token_hex(8)}.tmp"
        tmp = os.path.join(directory, name)
        try:
            return os.open(tmp, flags, 0o600), tmp
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temporary file name", directory)


@contextmanager
def atomic_output(path, mode="wb", **open_kwargs):
    """Open a temporary file beside ``path``; rename it to ``path`` on success.

    A reader never sees a half-written ``path``, and an existing ``path`` is
    replaced only when the block finishes without an exception (the temporary
    file is removed otherwise). The temporary file is named
    ``.{basename}.fastgmm-{pid}-{random}.tmp``; one left by a process that
    was killed is removed by the next write of the same ``path``.

    Parameters
    ----------
    path : str or path-like
        The file to (re)place.
    mode : str, default='wb'
        'wb' for a binary file, 'w' for text.
    **open_kwargs
        Passed to :func:`open` (e.g. ``newline=''`` or ``encoding``).

    Yields
    ------
    file : file object
        The temporary file, opened in ``mode``.
    """
    path = os.fspath(path)
    remove_stale_temp_files(path)
    fd, tmp = _create_temp_file(path)
    try:
        with os.fdopen(fd, mode, **open_kwargs) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        try:
            file_mode = os.stat(path).st_mode & 0o777
        except FileNotFoundError:
            file_mode = _default_file_mode()
        os.chmod(tmp, file_mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
