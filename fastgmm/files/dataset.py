"""What every data file becomes: a `Dataset` (rows, column names, temporary
files to remove), its row array-likes (``.npy`` memory maps, selected or
standardized columns), `DataError`, the column selection of ``--columns``,
the reading of ``.npy`` files and the NaN/infinity checks.
"""

import atexit
import os
import re
import shlex
import struct
import tempfile
from dataclasses import dataclass, field

import numpy as np

from .._constants import BLOCK_ROWS, count, fit_dtype, sum_is_finite

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
TEXT_CHUNK_LINES = BLOCK_ROWS


#: Bytes of decoded Parquet row groups kept for the next reads (at least one
#: row group is kept, whatever its size).
PARQUET_CACHE_BYTES = 256 * 2**20


#: Rows per window of the checks and passes made here.
WINDOW_ROWS = BLOCK_ROWS


#: Bytes of one window of the command line's passes over a data file (its
#: rows in float64, or its n x k outputs): windows hold fewer than
#: `WINDOW_ROWS` rows when rows are wide (`window_rows`). Not the window of a
#: fit's source (`fastgmm.sources.rows.WINDOW_BYTES`), which is X's own bytes.
DATA_WINDOW_BYTES = 16 * 2**20


_NPY_MAGIC = b"\x93NUMPY"


_PARQUET_MAGIC = b"PAR1"


_RANGE = re.compile(r"(\d+)-(\d+)")


class DataError(ValueError):
    """A data file that cannot be used, with a message for the user."""


@dataclass
class Dataset:
    """The rows of a data file.

    ``X`` is what the estimator reads: an array in memory, a read-only memory
    map, or a `FileRows` array-like (read window by window). ``rows`` reads the
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
    #: NaN entries are missing values (``--missing marginalize``), not errors
    allow_nan: bool = False

    def __post_init__(self):
        if self.rows is None:
            self.rows = self.X if isinstance(self.X, FileRows) else ArrayRows(self.X)

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


class FileRows:
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


class ArrayRows(FileRows):
    """An array (in memory or a memory map) read by windows: copies of its rows."""

    def __init__(self, X):
        self.X = X
        self.shape, self.dtype = X.shape, X.dtype

    def read(self, start, stop):
        return np.array(self.X[start:stop])


class NpyRows(FileRows):
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


class ColumnRows(FileRows):
    """Some columns of another `FileRows`, selected window by window."""

    def __init__(self, rows, index):
        self.rows, self.index = rows, list(index)
        self.shape = (rows.shape[0], len(self.index))
        self.dtype = rows.dtype

    def read(self, start, stop):
        return np.ascontiguousarray(self.rows.read(start, stop)[:, self.index])


def standardize(X, mean, scale):
    """(X - mean) / scale computed in float64, in the dtype a fit reads X in
    (`fit_dtype`: float32 or float64): a new array.

    ``fit --scale`` and ``predict``/``score`` of a scaled model both use this
    (window by window, or on an array in memory), so that the same rows give
    the same standardized values bit for bit.
    """
    return ((np.asarray(X, dtype=np.float64) - mean) / scale).astype(
        fit_dtype(X.dtype), copy=False)


class StandardizedRows(FileRows):
    """Rows standardized window by window (`standardize`)."""

    def __init__(self, rows, mean, scale):
        self.rows, self.mean, self.scale = rows, mean, scale
        self.shape = rows.shape
        self.dtype = fit_dtype(rows.dtype)

    def read(self, start, stop):
        return standardize(self.rows.read(start, stop), self.mean, self.scale)


def window_rows(n_features, itemsize=8, budget=DATA_WINDOW_BYTES, max_rows=None):
    """Rows per window of a pass within about ``budget`` bytes: at least 256,
    at most ``max_rows`` (default `WINDOW_ROWS`). The command line's windows
    (`fastgmm.cli.reading`) are cut by this rule too."""
    cap = WINDOW_ROWS if max_rows is None else max_rows
    return int(min(cap, max(256, budget // max(1, n_features * itemsize))))


def to_array(rows):
    """All rows of a `FileRows` in one array in memory (for what needs them all)."""
    out = np.empty(rows.shape, dtype=rows.dtype)
    step = window_rows(rows.shape[1], rows.dtype.itemsize)
    for start in range(0, rows.shape[0], step):
        stop = min(start + step, rows.shape[0])
        out[start:stop] = rows.read(start, stop)
    return out


def take_rows(rows, indices):
    """The rows at sorted ``indices`` of a `FileRows`, read window by window."""
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
                    f"(the file has {count(n_columns, 'column')}, 0 to {n_columns - 1})"
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
                f"(the file has {count(n_columns, 'column')})"
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


def npy_header_size(n_columns):
    """Bytes of a .npy header that holds any number of rows of ``n_columns``
    (so that it can be rewritten in place once the rows are counted)."""
    return len(npy_header(np.float64, (10**19, n_columns)))


def npy_header(dtype, shape, size=None):
    """A version 1.0 .npy header for an array of ``dtype`` and ``shape``:
    np.save's bytes, or padded to ``size`` bytes (`npy_header_size`)."""
    text = ("{'descr': %r, 'fortran_order': False, 'shape': %r, }"
            % (np.lib.format.dtype_to_descr(np.dtype(dtype)), tuple(shape)))
    if size is None:  # the least multiple of 64 with magic, version, length, \n
        size = -(-(len(text) + 11) // 64) * 64
    body = size - 10
    if len(text) + 1 > body:
        raise ValueError("npy header too long")
    return (_NPY_MAGIC + b"\x01\x00" + struct.pack("<H", body)
            + (text.ljust(body - 1) + "\n").encode("latin1"))


def _as_float(path, X):
    """X in the dtype a fit reads it in (`fit_dtype`); a copy only for other
    numeric dtypes."""
    if X.dtype.kind in "biuf":
        return X.astype(fit_dtype(X.dtype), copy=False)
    raise DataError(f"{path}: the array holds {X.dtype} values, not numbers")


def _pickled(name):
    return DataError(f"{name}: the array holds Python objects (pickled data), not "
                     "numbers; fastgmm reads numeric arrays only")


def _npy_header_dtype(f, name):
    """The dtype in the .npy header at the start of the binary file ``f``
    (None for a header version NumPy reads only privately); DataError when
    ``f`` does not start with one. Read without unpickling anything."""
    start = f.read(len(_NPY_MAGIC))
    if start[:1] == b"\x80":  # a pickle's protocol opcode
        raise DataError(f"{name}: a Python pickle, not a .npy array (fastgmm does not "
                        "load pickled data)")
    if start != _NPY_MAGIC:
        raise DataError(f"{name}: not a readable .npy array (it does not start "
                        "with NumPy's .npy header)")
    f.seek(0)
    read = {(1, 0): np.lib.format.read_array_header_1_0,
            (2, 0): np.lib.format.read_array_header_2_0}
    try:
        version = np.lib.format.read_magic(f)
        if version not in read:
            return None
        return read[version](f)[2]
    except (ValueError, EOFError, OSError) as exc:
        raise DataError(f"{name}: not a readable .npy array ({exc})") from None


def load_npy(source, name):
    """A ``.npy`` file as a read-only memory map (a path) or bytes as an array
    (a binary file): its header is read first, so that a file of Python
    objects is refused without loading it, and no message advises loading a
    pickle (NumPy's own errors say how to)."""
    try:
        if isinstance(source, str):
            with open(source, "rb") as f:
                dtype = _npy_header_dtype(f, name)
        else:
            dtype = _npy_header_dtype(source, name)
            source.seek(0)
        if dtype is not None and dtype.hasobject:
            raise _pickled(name)
        if isinstance(source, str):
            return np.load(source, mmap_mode="r", allow_pickle=False)
        return np.load(source, allow_pickle=False)
    except (ValueError, EOFError, OSError) as exc:
        if isinstance(exc, DataError):
            raise
        if "pickle" in str(exc).lower() or "object" in str(exc).lower():
            raise _pickled(name) from None
        raise DataError(f"{name}: not a readable .npy array ({exc})") from None


def _read_npy(source, name, columns):
    """A file: its read-only memory map (columns selected window by window);
    bytes from standard input: an array in memory."""
    X = load_npy(source, name)
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


def _is_number(field_):
    try:
        float(field_)
    except ValueError:
        return False
    return True


def _is_unnamed(name):
    return name == "" or re.fullmatch(r"Unnamed: \d+", name) is not None


def non_finite_message(path, row, allow_nan=False):
    """The one-line error for a NaN or infinity in (1-based) data row ``row``
    (``allow_nan``: NaN are missing values, the value is an infinity)."""
    if allow_nan:
        return f"{path}: data row {row} has an infinite value; remove or fill that row"
    return (f"{path}: data row {row} has a missing, NaN or infinite value; "
            "remove or fill that row (--missing marginalize takes NaN as missing)")


def check_window(path, block, first_row, allow_nan=False):
    """Raise DataError naming the first row of ``block`` (whose first row is
    data row ``first_row + 1``) with a NaN or infinite value (with
    ``allow_nan``, an infinite one)."""
    if not sum_is_finite(block):
        ok = ~np.isinf(block).any(axis=1) if allow_nan else np.isfinite(block).all(axis=1)
        if not ok.all():
            row = first_row + int(np.argmin(ok)) + 1
            raise DataError(non_finite_message(path, row, allow_nan))


def check_finite(data, chunk_rows=WINDOW_ROWS, allow_nan=False):
    """Raise DataError naming the first row with a NaN or infinite value
    (window by window for memory maps and array-likes)."""
    n = data.X.shape[0]
    for start in range(0, n, chunk_rows):
        stop = min(start + chunk_rows, n)
        block = data.X[start:stop] if data.in_memory else data.window(start, stop)
        check_window(data.path, block, start, allow_nan)
