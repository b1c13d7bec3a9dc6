"""Data files for the command line: ``.npy``, text tables, ``.parquet``, stdin.

Every reader returns the rows as an (n_samples, n_features) array or
array-like and the column names (or None), without holding a file larger
than memory in memory:

- ``.npy`` is memory-mapped read-only and handed to the estimator as it is
  (the estimator reads a memory map window by window); columns chosen with
  ``--columns`` are selected window by window (`ColumnRows`), never copied
  whole;
- Parquet is read by row groups (`ParquetRows`): a slice of rows reads only
  the row groups it touches, nulls become NaN;
- a text table up to `TEXT_IN_MEMORY_BYTES` is parsed straight into an array;
  a larger one is parsed `TEXT_CHUNK_LINES` lines at a time into a temporary
  float64 ``.npy`` in the system's temporary directory (``TMPDIR``), which is
  then memory-mapped; it is removed by `Dataset.close` (and at exit);
- ``-`` reads standard input: up to `TEXT_IN_MEMORY_BYTES` in memory, more
  copied to a temporary file first, then read as the files above.

Every `Dataset` also offers ``window(start, stop)``: rows [start, stop) as an
array in memory, read from the file (not through a memory mapping), for the
passes the command line makes itself.

Values are checked for NaN and infinity where they are read: arrays in memory
here (`check_finite`), text tables chunk by chunk, memory maps and
array-likes by the estimator, window by window, whose error names the row.

Text tables (``.csv``, ``.tsv``, ``.txt``, ``.dat``): the column separator is
sniffed from the first lines (a comma, semicolon, tab, pipe, or runs of
whitespace) unless ``fmt`` (``--format``) is csv or tsv, which read commas or
tabs (an error says so when the lines hold another separator); a header line
is detected, and a first column without a name that holds the row numbers
0..n-1 or 1..n (what ``DataFrame.to_csv`` writes) is left out, with a note.

Problems raise `DataError` with a message that names the file and, where it
can, the line and column.
"""

import io
import os
import sys

import numpy as np

from . import dataset
from .dataset import (
    _NPY_MAGIC,
    _PARQUET_MAGIC,
    FORMATS,
    STDIN,
    STDIN_NAME,
    SUFFIXES,
    TEXT_FORMATS,
    DataError,
    _read_npy,
    _remove_temporary,
    check_finite,
    suffix,
)
from .parquet import _read_parquet
from .text import _read_text, _TextFile, _TextInMemory


def read(path, columns=None, names_wanted=None, fmt=None, stdin=None, progress=None,
         missing=False):
    """Read a data file, or standard input for ``-``.

    Parameters
    ----------
    path : str
        A ``.npy``, ``.csv``, ``.tsv``, ``.txt``, ``.dat`` or ``.parquet``
        file, or ``-`` for standard input.
    columns : list of str, default=None
        The columns to keep, each a column name, a 0-based index or an
        inclusive range of indices ``2-5``; None keeps all (or
        ``names_wanted``), less a row-number column (see the module doc).
    names_wanted : list of str, default=None
        When ``columns`` is None and the file has column names, keep these
        columns in this order (the feature names a model was fitted with).
    fmt : str, default=None
        One of `FORMATS`: read the file as this format whatever its suffix.
        For standard input without it, the format is recognised from the
        first bytes (NumPy and Parquet magic numbers; text otherwise).
    stdin : binary file, default=None
        What ``-`` reads (default: ``sys.stdin.buffer``).
    progress : callable, default=None
        Called as ``progress(rows, bytes_read, bytes_total)`` while a large
        text table is parsed chunk by chunk.
    missing : bool, default=False
        Empty cells and NaN are missing values (NaN in the rows) instead of
        an error; infinity is still one.

    Returns
    -------
    data : Dataset
        Call its ``close()`` when done (it removes temporary files).
    """
    path = os.fspath(path)
    temporary = []
    # --format csv/tsv: their separator, not one sniffed
    separator = {"csv": ",", "tsv": "\t"}.get(fmt, False)
    try:
        if path == STDIN:
            data = _read_stdin(columns, names_wanted, fmt, stdin, temporary, progress,
                               missing, separator)
        else:
            kind = fmt or suffix(path)[1:]
            if kind not in FORMATS:
                raise DataError(
                    f"{path}: unsupported file type "
                    f"{suffix(path) or '(no extension)'!r}; "
                    f"use {', '.join(SUFFIXES)} (or say which with --format)"
                )
            if not os.path.exists(path):
                raise DataError(f"{path}: no such file")
            if os.path.isdir(path):
                raise DataError(f"{path}: is a directory, not a data file")
            if not os.access(path, os.R_OK):
                raise DataError(f"{path}: permission denied")
            data = _read_file(path, path, kind, columns, names_wanted, temporary,
                              progress, missing, separator)
        data.temporary = temporary
        if data.X.shape[0] == 0:
            raise DataError(f"{data.path}: no data rows")
        if data.X.shape[1] == 0:
            raise DataError(f"{data.path}: no columns selected")
        data.allow_nan = missing
        if data.in_memory:
            # memory maps and array-likes: checked window by window where read
            check_finite(data, allow_nan=missing)
    except BaseException:
        for tmp in temporary:
            _remove_temporary(tmp)
        raise
    return data


def _read_file(path, name, kind, columns, names_wanted, temporary, progress,
               missing=False, separator=False):
    """Read the file ``path`` as ``kind``, naming it ``name`` in messages
    (``separator``: see `text._read_text`)."""
    if kind == "npy":
        return _read_npy(path, name, columns)
    if kind == "parquet":
        return _read_parquet(path, name, columns, names_wanted)
    source = _TextFile(path, name)
    if os.path.getsize(path) > dataset.TEXT_IN_MEMORY_BYTES:
        return _read_text(source, columns, names_wanted, kind,
                          chunks=(temporary, progress, os.path.getsize(path)),
                          missing=missing, separator=separator)
    return _read_text(source, columns, names_wanted, kind, missing=missing,
                      separator=separator)


def max_rows(path, fmt=None):
    """An upper bound on the rows of a data file, without reading it (None
    when unknown): a bound to refuse absurd requests before any parsing."""
    path = os.fspath(path)
    if path == STDIN:
        return None
    kind = fmt or suffix(path)[1:]
    try:
        if kind == "npy":
            X = np.load(path, mmap_mode="r", allow_pickle=False)
            return int(X.shape[0]) if isinstance(X, np.ndarray) and X.ndim else None
        if kind in TEXT_FORMATS:
            size = os.path.getsize(path)  # a row is at least "1\n"; empty: 0
            return size // 2 + 1 if size else 0
        if kind == "parquet":
            import pyarrow.parquet as pq

            return int(pq.ParquetFile(path).metadata.num_rows)
    except Exception:  # any problem is reported when the file is read
        return None
    return None


def _read_stdin(columns, names_wanted, fmt, stdin, temporary, progress, missing=False,
                separator=False):
    stream = stdin
    if stream is None:
        if sys.stdin is None:
            raise DataError(f"{STDIN_NAME}: there is no standard input to read")
        stream = getattr(sys.stdin, "buffer", sys.stdin)
    content = _read_up_to(stream, dataset.TEXT_IN_MEMORY_BYTES + 1)
    if fmt is None:
        fmt = ("npy" if content.startswith(_NPY_MAGIC) else
               "parquet" if content.startswith(_PARQUET_MAGIC) else "csv")
    if len(content) > dataset.TEXT_IN_MEMORY_BYTES:
        # more than fits the in-memory path: copied to a file, read from there
        copy = dataset._temporary_file(temporary, ".stdin")
        with open(copy, "wb") as f:
            f.write(content)
            del content
            while True:
                block = _read_up_to(stream, 2**20)
                if not block:
                    break
                f.write(block)
        return _read_file(copy, STDIN_NAME, fmt, columns, names_wanted, temporary,
                          progress, missing, separator)
    if fmt == "npy":
        return _read_npy(io.BytesIO(content), STDIN_NAME, columns)
    if fmt == "parquet":
        return _read_parquet(io.BytesIO(content), STDIN_NAME, columns, names_wanted)
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DataError(f"{STDIN_NAME}: not a text file (it is not UTF-8)") from None
    return _read_text(_TextInMemory(text), columns, names_wanted, fmt, missing=missing,
                      separator=separator)


def _read_up_to(stream, size):
    """Up to ``size`` bytes of ``stream`` (fewer only at its end)."""
    parts, got = [], 0
    while got < size:
        part = stream.read(size - got)
        if not part:
            break
        if isinstance(part, str):
            part = part.encode("utf-8")
        parts.append(part)
        got += len(part)
    return b"".join(parts)
