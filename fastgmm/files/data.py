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
whitespace), a header line is detected, and a first column without a name
that holds the row numbers 0..n-1 or 1..n (what ``DataFrame.to_csv`` writes)
is left out, with a note.

Problems raise `DataError` with a message that names the file and, where it
can, the line and column.
"""

import atexit
import csv
import io
import itertools
import os
import re
import shlex
import struct
import sys
import tempfile
import warnings
from collections import Counter, OrderedDict
from dataclasses import dataclass, field

import numpy as np

SUFFIXES = (".npy", ".csv", ".tsv", ".txt", ".dat", ".parquet")
#: --format values: the suffixes without their dot
FORMATS = tuple(s[1:] for s in SUFFIXES)
TEXT_FORMATS = ("csv", "tsv", "txt", "dat")
STDIN = "-"
STDIN_NAME = "<stdin>"
#: Separators of text tables, in order of preference (None: whitespace).
DELIMITERS = (",", ";", "\t", "|", None)
DELIMITERS_TEXT = "commas, semicolons, tabs, pipes (|) or whitespace"
#: Lines of a text table looked at to find its separator.
SNIFF_LINES = 50
#: Rows scanned to list the numeric columns when a cell is not a number.
SCAN_ROWS = 100_000

#: Text files (and standard input) larger than this are parsed chunk by chunk
#: into a temporary .npy instead of into memory.
TEXT_IN_MEMORY_BYTES = 64 * 2**20
#: Lines of a large text table parsed at a time.
TEXT_CHUNK_LINES = 65536
#: Bytes of decoded Parquet row groups kept for the next reads (at least one
#: row group is kept, whatever its size).
PARQUET_CACHE_BYTES = 256 * 2**20
#: Rows per window of the checks and passes made here.
WINDOW_ROWS = 65536

_NPY_MAGIC = b"\x93NUMPY"
_PARQUET_MAGIC = b"PAR1"
_RANGE = re.compile(r"(\d+)-(\d+)")


class DataError(ValueError):
    """A data file that cannot be used, with a message for the user."""


@dataclass
class Dataset:
    """The rows of a data file.

    ``X`` is what the estimator reads: an array in memory, a read-only memory
    map, or a `Rows` array-like (read window by window). ``rows`` reads the
    same rows window by window into memory (see `window`).
    """

    X: object
    feature_names: list  # or None when the file has no column names
    path: str
    #: things worth telling the user (one line each, without a prefix)
    notes: list = field(default_factory=list)
    rows: object = None
    #: temporary files holding the rows, removed by `close`
    temporary: list = field(default_factory=list)

    def __post_init__(self):
        if self.rows is None:
            self.rows = self.X if isinstance(self.X, Rows) else ArrayRows(self.X)

    @property
    def in_memory(self):
        """Whether X is an array in memory (not a memory map or array-like)."""
        return isinstance(self.X, np.ndarray) and not isinstance(self.X, np.memmap)

    def window(self, start, stop):
        """Rows [start, stop) as an array in memory (in X's dtype)."""
        return self.rows.read(start, stop)

    def close(self):
        """Remove the temporary files (a memory map of them stays readable
        where the system allows it, as on Linux)."""
        for path in self.temporary:
            _remove_temporary(path)
        self.temporary = []


def suffix(path):
    return os.path.splitext(os.fspath(path))[1].lower()


def display_name(path):
    return STDIN_NAME if os.fspath(path) == STDIN else os.fspath(path)


def read(path, columns=None, names_wanted=None, fmt=None, stdin=None, progress=None):
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

    Returns
    -------
    data : Dataset
        Call its ``close()`` when done (it removes temporary files).
    """
    path = os.fspath(path)
    temporary = []
    try:
        if path == STDIN:
            data = _read_stdin(columns, names_wanted, fmt, stdin, temporary, progress)
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
                              progress)
        data.temporary = temporary
        if data.X.shape[0] == 0:
            raise DataError(f"{data.path}: no data rows")
        if data.X.shape[1] == 0:
            raise DataError(f"{data.path}: no columns selected")
        if data.in_memory:
            # memory maps and array-likes: checked window by window where read
            check_finite(data)
    except BaseException:
        for tmp in temporary:
            _remove_temporary(tmp)
        raise
    return data


def _read_file(path, name, kind, columns, names_wanted, temporary, progress):
    """Read the file ``path`` as ``kind``, naming it ``name`` in messages."""
    if kind == "npy":
        return _read_npy(path, name, columns)
    if kind == "parquet":
        return _read_parquet(path, name, columns, names_wanted)
    source = _TextFile(path, name)
    if os.path.getsize(path) > TEXT_IN_MEMORY_BYTES:
        return _read_text(source, columns, names_wanted, kind,
                          chunks=(temporary, progress, os.path.getsize(path)))
    return _read_text(source, columns, names_wanted, kind)


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
            return os.path.getsize(path) // 2 + 1  # a row is at least "1\n"
        if kind == "parquet":
            import pyarrow.parquet as pq

            return int(pq.ParquetFile(path).metadata.num_rows)
    except Exception:  # any problem is reported when the file is read
        return None
    return None


def _read_stdin(columns, names_wanted, fmt, stdin, temporary, progress):
    stream = stdin
    if stream is None:
        if sys.stdin is None:
            raise DataError(f"{STDIN_NAME}: there is no standard input to read")
        stream = getattr(sys.stdin, "buffer", sys.stdin)
    content = _read_up_to(stream, TEXT_IN_MEMORY_BYTES + 1)
    if fmt is None:
        fmt = ("npy" if content.startswith(_NPY_MAGIC) else
               "parquet" if content.startswith(_PARQUET_MAGIC) else "csv")
    if len(content) > TEXT_IN_MEMORY_BYTES:
        # more than fits the in-memory path: copied to a file, read from there
        copy = _temporary_file(temporary, ".stdin")
        with open(copy, "wb") as f:
            f.write(content)
            del content
            while True:
                block = _read_up_to(stream, 2**20)
                if not block:
                    break
                f.write(block)
        return _read_file(copy, STDIN_NAME, fmt, columns, names_wanted, temporary,
                          progress)
    if fmt == "npy":
        return _read_npy(io.BytesIO(content), STDIN_NAME, columns)
    if fmt == "parquet":
        return _read_parquet(io.BytesIO(content), STDIN_NAME, columns, names_wanted)
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DataError(f"{STDIN_NAME}: not a text file (it is not UTF-8)") from None
    return _read_text(_TextInMemory(text), columns, names_wanted, fmt)


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


# ------------------------------------------------------------ temporary files

#: Temporary files not removed yet (removed at exit if still there).
_LIVE_TEMPORARY = set()


def _temporary_file(temporary, suffix_):
    """A new empty file in the temporary directory, listed in ``temporary``."""
    fd, path = tempfile.mkstemp(prefix="fastgmm-", suffix=suffix_)
    os.close(fd)
    temporary.append(path)
    _LIVE_TEMPORARY.add(path)
    return path


def _remove_temporary(path):
    _LIVE_TEMPORARY.discard(path)
    try:
        os.unlink(path)
    except OSError:
        pass


@atexit.register
def _remove_all_temporary():
    for path in list(_LIVE_TEMPORARY):
        _remove_temporary(path)


# ---------------------------------------------------------- row array-likes


class Rows:
    """A read-only 2-D array-like of rows, read by row slices ``X[start:stop]``.

    What the estimator reads window by window (``shape``, ``dtype``, ``ndim``
    and row slicing; not an ndarray), and what the command line reads its
    own windows from (`read`, always a new array in memory).
    """

    ndim = 2

    def __len__(self):
        return self.shape[0]

    def __getitem__(self, key):
        if not isinstance(key, slice) or key.step not in (None, 1):
            raise TypeError(f"{type(self).__name__} is read by row slices "
                            f"X[start:stop], not X[{key!r}]")
        start, stop, _ = key.indices(self.shape[0])
        return self.read(start, max(start, stop))

    def read(self, start, stop):  # pragma: no cover - every subclass has one
        raise NotImplementedError


class ArrayRows(Rows):
    """An array (in memory or a memory map) read by windows: copies of its rows."""

    def __init__(self, X):
        self.X = X
        self.shape, self.dtype = X.shape, X.dtype

    def read(self, start, stop):
        return np.array(self.X[start:stop])


class NpyRows(Rows):
    """The rows of a C-ordered ``.npy`` file, read with ``readinto`` (so the
    file's pages are not kept mapped); ``X`` is the file's memory map."""

    def __init__(self, X, path, name):
        self.X, self.path, self.name = X, path, name
        self.shape, self.dtype = X.shape, X.dtype
        self.offset = int(X.offset)
        self.row_bytes = X.shape[1] * X.dtype.itemsize

    def read(self, start, stop):
        out = np.empty((stop - start, self.shape[1]), dtype=self.dtype)
        view = memoryview(out.reshape(-1).view(np.uint8))
        with open(self.path, "rb", buffering=0) as f:
            f.seek(self.offset + start * self.row_bytes)
            done = 0
            while done < len(view):
                got = f.readinto(view[done:])
                if not got:
                    raise DataError(f"{self.name}: the file ended before row "
                                    f"{stop:,} (truncated?)")
                done += got
        return out


class ColumnRows(Rows):
    """Some columns of another `Rows`, selected window by window."""

    def __init__(self, rows, index):
        self.rows, self.index = rows, list(index)
        self.shape = (rows.shape[0], len(self.index))
        self.dtype = rows.dtype

    def read(self, start, stop):
        return np.ascontiguousarray(self.rows.read(start, stop)[:, self.index])


def standardize(X, mean, scale):
    """(X - mean) / scale computed in float64, in X's dtype when it is
    float32 or float64 (else float64): a new array.

    ``fit --scale`` and ``predict``/``score`` of a scaled model both use this
    (window by window, or on an array in memory), so that the same rows give
    the same standardized values bit for bit.
    """
    dtype = X.dtype if X.dtype in (np.float32, np.float64) else np.dtype(np.float64)
    return ((np.asarray(X, dtype=np.float64) - mean) / scale).astype(dtype, copy=False)


class StandardizedRows(Rows):
    """Rows standardized window by window (`standardize`)."""

    def __init__(self, rows, mean, scale):
        self.rows, self.mean, self.scale = rows, mean, scale
        self.shape = rows.shape
        self.dtype = (rows.dtype if rows.dtype in (np.float32, np.float64)
                      else np.dtype(np.float64))

    def read(self, start, stop):
        return standardize(self.rows.read(start, stop), self.mean, self.scale)


def window_rows(n_features, itemsize=8, budget=16 * 2**20):
    """Rows per window of a pass within about ``budget`` bytes."""
    return int(min(WINDOW_ROWS, max(256, budget // max(1, n_features * itemsize))))


def to_array(rows):
    """All rows of a `Rows` in one array in memory (for what needs them all)."""
    out = np.empty(rows.shape, dtype=rows.dtype)
    step = window_rows(rows.shape[1], rows.dtype.itemsize)
    for start in range(0, rows.shape[0], step):
        stop = min(start + step, rows.shape[0])
        out[start:stop] = rows.read(start, stop)
    return out


def take_rows(rows, indices):
    """The rows at sorted ``indices`` of a `Rows`, read window by window."""
    out = np.empty((len(indices), rows.shape[1]), dtype=rows.dtype)
    step = window_rows(rows.shape[1], rows.dtype.itemsize)
    at = 0
    for start in range(0, rows.shape[0], step):
        stop = min(start + step, rows.shape[0])
        lo, hi = np.searchsorted(indices, [start, stop])
        if hi > lo:
            out[at:at + hi - lo] = rows.read(start, stop)[indices[lo:hi] - start]
            at += hi - lo
    return out


# ----------------------------------------------------------------- columns


def _resolve_columns(path, tokens, names, n_columns):
    """Indices of the requested columns (names, 0-based indices, ranges)."""
    indices = []
    for token in tokens:
        token = token.strip()
        if names is not None and token in names:
            if names.count(token) > 1:
                raise DataError(f"{path}: the column name {token!r} appears twice")
            indices.append(names.index(token))
            continue
        match = _RANGE.fullmatch(token)
        if match:
            lo, hi = int(match[1]), int(match[2])
            if hi < lo:
                raise DataError(f"{path}: the column range {token!r} is empty; "
                                f"write it {hi}-{lo}")
            if hi >= n_columns:
                raise DataError(
                    f"{path}: column range {token} out of range "
                    f"(the file has {n_columns} columns, 0 to {n_columns - 1})"
                )
            indices.extend(range(lo, hi + 1))
            continue
        try:
            index = int(token)
        except ValueError:
            if names is None:
                raise DataError(
                    f"{path}: no column names in this file; choose columns by "
                    f"0-based index, not {token!r}"
                ) from None
            raise DataError(
                f"{path}: no column named {token!r}; the columns are: "
                + _listed(names)
            ) from None
        if not -n_columns <= index < n_columns:
            raise DataError(
                f"{path}: column index {index} out of range "
                f"(the file has {n_columns} columns)"
            )
        indices.append(index % n_columns)
    if len(set(indices)) != len(indices):
        raise DataError(f"{path}: a column is selected twice in --columns")
    return indices


def _listed(names):
    """The column names for a message: a column without a name (a row index)
    as its position."""
    return ", ".join(f"(column {j}, no name)" if _is_unnamed(n) else n
                     for j, n in enumerate(names))


def _select(path, columns, names_wanted, names, n_columns):
    """Column indices to read (None: all) for ``columns``/``names_wanted``."""
    if columns:
        return _resolve_columns(path, columns, names, n_columns)
    if names_wanted is not None and names is not None:
        missing = [n for n in names_wanted if n not in names]
        if missing:
            raise DataError(
                f"{path}: no column named {missing[0]!r}, which the model was "
                "fitted with; the columns are: " + _listed(names)
            )
        return _resolve_columns(path, names_wanted, names, n_columns)
    return None


def columns_option(indices, names=None):
    """A ``--columns`` value selecting ``indices``: the names when there are
    a few plain ones (quoted for a shell when they need it), else index
    ranges like ``0-3,5``."""
    if names is not None and len(indices) <= 8:
        chosen = [names[i] for i in indices]
        if all(n and n.strip() == n and "," not in n and not _RANGE.fullmatch(n)
               and not _is_number(n) for n in chosen) and len(set(chosen)) == len(chosen):
            return shlex.quote(",".join(chosen))  # as typed in a shell
    parts, start = [], None
    for j, i in enumerate(indices):
        if start is None:
            start = i
        if j + 1 == len(indices) or indices[j + 1] != i + 1:
            parts.append(str(start) if start == i else f"{start}-{i}")
            start = None
    return ",".join(parts)


# ------------------------------------------------------------------------- .npy


def _as_float(path, X):
    """X as float32/float64; a copy only for other numeric dtypes."""
    if X.dtype in (np.float32, np.float64):
        return X
    if X.dtype.kind in "biuf":
        return X.astype(np.float64)
    raise DataError(f"{path}: the array holds {X.dtype} values, not numbers")


def _read_npy(source, name, columns):
    """A file: its read-only memory map (columns selected window by window);
    bytes from standard input: an array in memory."""
    try:
        if isinstance(source, str):
            X = np.load(source, mmap_mode="r", allow_pickle=False)
        else:
            X = np.load(source, allow_pickle=False)
    except (ValueError, EOFError, OSError) as exc:
        raise DataError(f"{name}: not a readable .npy array ({exc})") from None
    if not isinstance(X, np.ndarray):
        raise DataError(f"{name}: not a .npy array")
    if X.dtype.names is not None:
        raise DataError(f"{name}: structured arrays are not supported")
    if X.ndim == 1:
        X = X.reshape(-1, 1)
    if X.ndim != 2:
        raise DataError(f"{name}: expected a 2-D array, got {X.ndim} dimensions")
    index = _select(name, columns, None, None, X.shape[1])
    if index == list(range(X.shape[1])):
        index = None  # all columns, in order: no selection
    if not isinstance(X, np.memmap):
        if index is not None:
            X = X[:, index]
        return Dataset(_as_float(name, X), None, name)
    if X.dtype.kind not in "biuf":
        raise DataError(f"{name}: the array holds {X.dtype} values, not numbers")
    # integers and other float widths are converted window by window
    rows = NpyRows(X, source, name) if X.flags.c_contiguous else ArrayRows(X)
    if index is None:
        return Dataset(X, None, name, rows=rows)
    return Dataset(ColumnRows(rows, index), None, name)


# ------------------------------------------------------------------ text tables


class _TextFile:
    def __init__(self, path, name=None):
        self.path = path
        self.name = path if name is None else name

    def open(self, newline=""):
        return open(self.path, newline=newline, encoding="utf-8-sig")


class _TextInMemory:
    def __init__(self, text):
        self.name = STDIN_NAME
        self.text = text

    def open(self, newline=""):
        return io.StringIO(self.text, newline=newline)


def _is_number(field_):
    try:
        float(field_)
    except ValueError:
        return False
    return True


def _rows(lines, delimiter):
    """The non-blank rows of ``lines`` as lists of fields: (line number, row)."""
    if delimiter is None:
        for line_no, line in enumerate(lines, 1):
            row = [f.strip('"') for f in line.split()]
            if row:
                yield line_no, row
        return
    reader = csv.reader(lines, delimiter=delimiter)
    for row in reader:
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        yield reader.line_num, row


def _sample_lines(source):
    lines = []
    with source.open() as f:
        for line in f:
            if line.strip():
                lines.append(line)
                if len(lines) >= SNIFF_LINES:
                    break
    return lines


def _field_counts(lines, delimiter):
    if delimiter is None:
        return [len(line.split()) for line in lines]
    try:
        return [len(row) for row in csv.reader(lines, delimiter=delimiter)]
    except csv.Error:
        return []


def sniff_delimiter(lines):
    """The column separator of these lines: one of `DELIMITERS`.

    A separator qualifies when it splits most lines into the same number
    (>= 2) of fields; the one doing so for the most lines wins, ties going
    to `csv.Sniffer` (restricted to the tied separators), then to the order
    of `DELIMITERS`. Lines that no separator splits give "" (one column).
    """
    scores = {}
    for delimiter in DELIMITERS:
        counts = _field_counts(lines, delimiter)
        if not counts:
            continue
        modal, share = Counter(counts).most_common(1)[0]
        if modal >= 2 and share >= len(counts) / 2:
            scores[delimiter] = share
    if not scores:
        return ""
    best = max(scores.values())
    tied = [d for d in DELIMITERS if scores.get(d) == best]
    if len(tied) > 1 and None not in tied:
        try:
            sniffed = csv.Sniffer().sniff("".join(lines), delimiters="".join(tied))
            if sniffed.delimiter in tied:
                return sniffed.delimiter
        except csv.Error:
            pass
    return tied[0]


def _read_text(source, columns, names_wanted, kind, chunks=None):
    """A text table: parsed into memory, or with ``chunks`` = (temporary
    files, progress, bytes) chunk by chunk into a temporary .npy."""
    path = source.name
    try:
        lines = _sample_lines(source)
    except UnicodeDecodeError:
        raise DataError(f"{path}: not a text file (it is not UTF-8)") from None
    if not lines:
        what = "standard input is empty" if path == STDIN_NAME else "the file is empty"
        raise DataError(f"{path}: {what}")
    delimiter = sniff_delimiter(lines)
    single_column = delimiter == ""
    if single_column:
        delimiter = {"csv": ",", "tsv": "\t"}.get(kind)
    try:
        with source.open() as f:
            header_line, first = next(_rows(f, delimiter))
    except (csv.Error, StopIteration) as exc:
        raise DataError(f"{path}: not a readable text table ({exc})") from None
    fields = [f.strip() for f in first]
    try:
        sample = [row for _, row in _rows(lines, delimiter)][1:]
    except csv.Error as exc:
        raise DataError(f"{path}: not a readable text table ({exc})") from None
    has_header = _has_header(fields, sample)
    names = fields if has_header else None
    index = _select(path, columns, names_wanted, names, len(fields))
    parse = _TextParse(source, delimiter, has_header, index, len(fields),
                       single_column)
    skip = header_line if has_header else 0
    feature_names = None if names is None else (
        names if index is None else [names[i] for i in index]
    )
    # leading columns without a name: perhaps a row index (`_drop_row_numbers`)
    unnamed = 0
    if index is None and names is not None:
        while unnamed < len(names) - 1 and _is_unnamed(names[unnamed]):
            unnamed += 1
    if chunks is not None:
        return _read_text_chunks(parse, skip, feature_names, unnamed, *chunks)
    try:
        with warnings.catch_warnings(), source.open(newline=None) as f:
            # "input contained no data": reported as DataError by `read`
            warnings.simplefilter("ignore", UserWarning)
            X = np.loadtxt(
                f, delimiter=delimiter, skiprows=skip,
                usecols=index, dtype=np.float64, ndmin=2, comments=None,
                quotechar='"', encoding=None,
            )
    except (ValueError, UnicodeDecodeError, csv.Error) as exc:
        raise DataError(parse.explain(exc)) from None
    notes = []
    if unnamed:
        X, feature_names, notes = _drop_row_numbers(path, X, feature_names)
    return Dataset(X, feature_names, path, notes)


class _TextParse:
    """How a text table is parsed, and the error message when it fails."""

    def __init__(self, source, delimiter, has_header, index, n_fields, single_column):
        self.source, self.delimiter, self.has_header = source, delimiter, has_header
        self.index, self.n_fields, self.single_column = index, n_fields, single_column
        self.n_columns = n_fields if index is None else len(index)

    def parse(self, lines):
        """Lines of the table (no header) as a float64 array."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # blank lines only
            return np.loadtxt(
                lines, delimiter=self.delimiter, usecols=self.index,
                dtype=np.float64, ndmin=2, comments=None, quotechar='"',
                encoding=None,
            )

    def explain(self, exc):
        return _explain_text_error(self.source, self.delimiter, self.has_header,
                                   self.index, self.n_fields, exc,
                                   single_column=self.single_column)


def _npy_header(dtype, shape, size=None):
    """A version 1.0 .npy header of ``size`` bytes (default: the least that
    holds any shape of this many columns, so that it can be rewritten in
    place once the number of rows is known)."""
    def text(shape_):
        return ("{'descr': %r, 'fortran_order': False, 'shape': %r, }"
                % (np.lib.format.dtype_to_descr(np.dtype(dtype)), tuple(shape_)))

    if size is None:
        longest = len(text((10**19, shape[1]))) + 11  # magic, version, length, \n
        size = -(-longest // 64) * 64
    body = size - 10
    header = text(shape)
    if len(header) + 1 > body:  # pragma: no cover - size comes from the longest
        raise ValueError("npy header too long")
    return (_NPY_MAGIC + b"\x01\x00" + struct.pack("<H", body)
            + (header.ljust(body - 1) + "\n").encode("latin1"))


def _read_text_chunks(parse, skip, names, unnamed, temporary, progress, total_bytes):
    """Parse a text table chunk by chunk into a temporary .npy; its memory map."""
    source = parse.source
    path = source.name
    d = parse.n_columns
    tmp = _temporary_file(temporary, ".npy")
    header = _npy_header(np.float64, (0, d))
    n_rows = 0
    done_bytes = 0
    # row numbers 0.. and 1.. still possible in each leading unnamed column
    row_numbers = np.ones((unnamed, 2), dtype=bool)
    try:
        with open(tmp, "wb") as out, source.open(newline=None) as f:
            out.write(header)
            for _ in range(skip):
                done_bytes += len(next(f, ""))
            while True:
                lines = list(itertools.islice(f, TEXT_CHUNK_LINES))
                if not lines:
                    break
                done_bytes += sum(len(line) for line in lines)
                try:
                    block = parse.parse(lines)
                except (ValueError, csv.Error) as exc:
                    raise DataError(parse.explain(exc)) from None
                if block.shape[0] == 0:
                    continue  # blank lines
                if block.shape[1] != d:
                    raise DataError(parse.explain(ValueError(
                        f"{block.shape[1]} columns instead of {d}")))
                check_window(path, block, n_rows)
                for j in range(unnamed):
                    for start in (0, 1):
                        if row_numbers[j, start]:
                            row_numbers[j, start] = np.array_equal(
                                block[:, j], np.arange(start + n_rows,
                                                       start + n_rows + len(block),
                                                       dtype=np.float64))
                out.write(memoryview(np.ascontiguousarray(block)).cast("B"))
                n_rows += block.shape[0]
                if progress is not None:
                    progress(n_rows, done_bytes, total_bytes)
            out.seek(0)
            out.write(_npy_header(np.float64, (n_rows, d), size=len(header)))
    except UnicodeDecodeError:
        raise DataError(f"{path}: not a text file (it is not UTF-8)") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot write the temporary copy of its rows to "
                        f"{os.path.dirname(tmp)} ({exc.strerror or exc}); set "
                        "TMPDIR to a directory with room") from None
    if n_rows == 0:
        raise DataError(f"{path}: no data rows")
    X = np.load(tmp, mmap_mode="r")
    rows = NpyRows(X, tmp, path)
    notes, drop = [], 0
    while drop < unnamed and d - drop > 1:
        start = 0 if row_numbers[drop, 0] else 1 if row_numbers[drop, 1] else None
        if start is None:
            break
        what = "no name" if names[drop] == "" else f"named {names[drop]!r}"
        notes.append(
            f"{path}: the first column ({what}, values {start}..{start + n_rows - 1}) "
            "looks like a row index and is left out; use --columns to keep it"
        )
        drop += 1
    if drop:
        return Dataset(ColumnRows(rows, range(drop, d)), names[drop:], path, notes)
    return Dataset(X, names, path, notes, rows=rows)


def _has_header(fields, rows):
    """Whether ``fields``, the first row, names the columns of ``rows``.

    Yes when its first cell is empty (a row-index column's name), when no
    cell of it is a number, or when a column holds numbers below a first
    cell that is not one; never when its non-empty cells are all numbers.
    So "x,y" above numbers is a header, and so is "name,city" above words,
    but "1,2,red" above "3,4,blue" and "1.0," are data.
    """
    if len(fields) > 1 and fields[0] == "":
        return True
    filled = [f for f in fields if f != ""]
    if filled and all(_is_number(f) for f in filled):
        return False  # data, its empty cells missing values (an error, later)
    text = [not _is_number(f) for f in fields]
    if all(text):
        return True
    for j, is_text in enumerate(text):
        if not is_text:
            continue
        below = [row[j].strip() for row in rows if j < len(row)]
        numbers = sum(_is_number(cell) for cell in below)
        if below and numbers * 2 > len(below):
            return True
    return False


def _is_unnamed(name):
    return name == "" or re.fullmatch(r"Unnamed: \d+", name) is not None


def _row_numbers(column):
    """'0..n-1' or '1..n' when the column holds exactly these, else None."""
    n = column.shape[0]
    for start in (0, 1):
        if column[0] == start and column[-1] == start + n - 1 and np.array_equal(
                column, np.arange(start, start + n, dtype=column.dtype)):
            return f"{start}..{start + n - 1}"
    return None


def _drop_row_numbers(path, X, names):
    """Leave out leading unnamed columns that hold the row numbers."""
    notes = []
    while X.shape[1] > 1 and _is_unnamed(names[0]):
        span = _row_numbers(X[:, 0])
        if span is None:
            break
        what = "no name" if names[0] == "" else f"named {names[0]!r}"
        notes.append(
            f"{path}: the first column ({what}, values {span}) looks like a row "
            "index and is left out; use --columns to keep it"
        )
        X, names = X[:, 1:], names[1:]
    return X, names, notes


def _fields(n):
    return f"{n} field" if n == 1 else f"{n} fields"


def _explain_text_error(source, delimiter, has_header, index, n_fields, exc,
                        single_column=False):
    """Find the first bad line and cell of a text table that failed to parse."""
    path = source.name
    fields = None
    try:
        with source.open() as f:
            for line_no, row in _rows(f, delimiter):
                if fields is None:
                    fields = [c.strip() for c in row]
                    if has_header:
                        continue
                if index is None and len(row) != n_fields:
                    return (f"{path}, line {line_no}: {_fields(len(row))}, expected "
                            f"{n_fields} as on the first line")
                for j in range(len(row)) if index is None else index:
                    if j >= len(row):
                        return (f"{path}, line {line_no}: {_fields(len(row))}, no "
                                f"column {j}")
                    cell = row[j].strip()
                    if _is_number(cell):
                        continue
                    if single_column and re.search(r"[^\w.+-]", cell):
                        return (f"{path}, line {line_no}: cannot tell how the "
                                f"columns are separated in {cell[:40]!r}; fastgmm "
                                f"reads columns separated by {DELIMITERS_TEXT}")
                    what = ("an empty cell" if not cell
                            else f"{cell!r} is not a number")
                    where = (f"column {fields[j]!r}" if has_header
                             else f"field {j + 1}")
                    message = f"{path}, line {line_no}, {where}: {what}"
                    if cell:
                        message += _suggest_columns(source, delimiter, has_header,
                                                    j, n_fields)
                    return message
    except (UnicodeDecodeError, csv.Error):
        return f"{path}: not a readable text file"
    return f"{path}: cannot read the file as numbers ({exc})"


def _suggest_columns(source, delimiter, has_header, bad, n_fields):
    """'; choose numeric columns with --columns ...' when column ``bad`` is a
    text column (mostly not numbers in the first `SCAN_ROWS` rows)."""
    numeric = np.ones(n_fields, dtype=bool)
    text_cells = np.zeros(n_fields, dtype=np.int64)
    names, seen = None, 0
    row_numbers, first_values = True, []
    with source.open() as f:
        for _, row in _rows(f, delimiter):
            if names is None and has_header:
                names = [c.strip() for c in row]
                continue
            if seen >= SCAN_ROWS:
                break
            seen += 1
            for j in range(min(len(row), n_fields)):
                cell = row[j].strip()
                if not _is_number(cell):
                    numeric[j] = False
                    text_cells[j] += bool(cell)
            if row_numbers and row:
                first_values.append(row[0].strip())
    if seen == 0 or text_cells[bad] * 2 <= seen:
        return ""  # a stray cell in a column of numbers: the user fixes the row
    candidates = [j for j in range(n_fields) if numeric[j]]
    if candidates and candidates[0] == 0 and names is not None and _is_unnamed(names[0]):
        try:
            values = np.array([float(v) for v in first_values])
        except ValueError:
            values = None
        if values is not None and len(values) == seen and _row_numbers(values):
            candidates = candidates[1:]  # the row index: left out
    if not candidates:
        return "; no column holds only numbers"
    return ("; choose numeric columns with --columns "
            + columns_option(candidates, names))


# ---------------------------------------------------------------------- Parquet


def _read_parquet(source, name, columns, names_wanted):
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise DataError(
            f"{name}: reading .parquet files needs pyarrow (pip install pyarrow)"
        ) from None
    try:
        pf = pq.ParquetFile(source)
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise DataError(f"{name}: not a readable Parquet file ({exc})") from None
    schema = pf.schema_arrow
    names = list(schema.names)
    index = _select(name, columns, names_wanted, names, len(names))
    selected = names if index is None else [names[i] for i in index]
    types = [schema.field(n).type for n in selected]

    def is_numeric(t):
        return pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t)

    for column, t in zip(selected, types):
        if not is_numeric(t):
            numeric = [j for j, n in enumerate(names) if is_numeric(schema.field(n).type)]
            hint = ("; choose numeric columns with --columns "
                    + columns_option(numeric, names)) if numeric else ""
            raise DataError(
                f"{name}: the column {column!r} holds {t} values, not numbers{hint}")
    dtype = np.float32 if all(t == pa.float32() for t in types) else np.float64
    return Dataset(ParquetRows(pf, selected, dtype, name), selected, name)


class ParquetRows(Rows):
    """The chosen columns of a Parquet file, read by row groups.

    ``X[start:stop]`` reads only the row groups that rows [start, stop) touch
    (whole: a row group is the unit a Parquet file is read by), as an array
    of ``dtype`` with nulls as NaN. Decoded row groups are kept for the next
    reads, most recently used first, within `PARQUET_CACHE_BYTES` (the
    estimator's windows read the next rows of each of its partitions in turn,
    so a few row groups are read again and again).
    """

    def __init__(self, pf, columns, dtype, name):
        self.file, self.columns, self.name = pf, list(columns), name
        self.dtype = np.dtype(dtype)
        meta = pf.metadata
        sizes = [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]
        self.starts = np.concatenate([[0], np.cumsum(sizes, dtype=np.int64)])
        self.shape = (int(self.starts[-1]), len(self.columns))
        self._cache = OrderedDict()
        self._cached_bytes = 0

    def _read_row_group(self, i):
        """Row group ``i`` as an array (nulls as NaN)."""
        import pyarrow as pa

        try:
            table = self.file.read_row_group(i, columns=self.columns)
            out = np.empty((table.num_rows, len(self.columns)), dtype=self.dtype)
            for j, column in enumerate(table.columns):
                if column.null_count or pa.types.is_boolean(column.type):
                    column = column.cast(pa.float64())
                out[:, j] = column.to_numpy()
        except (pa.ArrowException, OSError) as exc:
            raise DataError(f"{self.name}: not a readable Parquet file "
                            f"(row group {i}: {exc})") from None
        return out

    def _row_group(self, i):
        if i in self._cache:
            self._cache.move_to_end(i)
            return self._cache[i]
        block = self._read_row_group(i)
        self._cache[i] = block
        self._cached_bytes += block.nbytes
        while len(self._cache) > 1 and self._cached_bytes > PARQUET_CACHE_BYTES:
            _, old = self._cache.popitem(last=False)
            self._cached_bytes -= old.nbytes
        return block

    def read(self, start, stop):
        out = np.empty((stop - start, self.shape[1]), dtype=self.dtype)
        if stop <= start:
            return out
        first = int(np.searchsorted(self.starts, start, side="right")) - 1
        last = int(np.searchsorted(self.starts, stop, side="left"))
        for i in range(first, last):
            lo, hi = int(self.starts[i]), int(self.starts[i + 1])
            a, b = max(lo, start), min(hi, stop)
            if a < b:
                out[a - start:b - start] = self._row_group(i)[a - lo:b - lo]
        return out


# ---------------------------------------------------------------------- checks


def non_finite_message(path, row):
    """The one-line error for a NaN or infinity in (1-based) data row ``row``."""
    return (f"{path}: data row {row} has a missing, NaN or infinite value; "
            "remove or fill that row")


def check_window(path, block, first_row):
    """Raise DataError naming the first row of ``block`` (whose first row is
    data row ``first_row + 1``) with a NaN or infinite value."""
    if not np.isfinite(np.add.reduce(block, axis=None, dtype=np.float64)):
        ok = np.isfinite(block).all(axis=1)
        if not ok.all():
            raise DataError(non_finite_message(path, first_row + int(np.argmin(ok)) + 1))


def check_finite(data, chunk_rows=WINDOW_ROWS):
    """Raise DataError naming the first row with a NaN or infinite value
    (window by window for memory maps and array-likes)."""
    n = data.X.shape[0]
    for start in range(0, n, chunk_rows):
        stop = min(start + chunk_rows, n)
        block = data.X[start:stop] if data.in_memory else data.window(start, stop)
        check_window(data.path, block, start)
