"""Data files for the command line: ``.npy``, text tables, ``.parquet``, stdin.

Every reader returns a 2-D float array and the column names (or None), reading
the file once into the final array: ``.npy`` is memory-mapped (no copy when it
already holds C-ordered float32/float64 values), text is parsed straight into
the array, Parquet is read batch by batch into a preallocated array. ``-``
reads standard input (whole, into memory) in any of these formats.

Text tables (``.csv``, ``.tsv``, ``.txt``, ``.dat``): the column separator is
sniffed from the first lines (a comma, semicolon, tab, pipe, or runs of
whitespace), a header line is detected, and a first column without a name
that holds the row numbers 0..n-1 or 1..n (what ``DataFrame.to_csv`` writes)
is left out, with a note.

Problems raise `DataError` with a message that names the file and, where it
can, the line and column.
"""

import csv
import io
import os
import re
import sys
import warnings
from collections import Counter
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

_NPY_MAGIC = b"\x93NUMPY"
_PARQUET_MAGIC = b"PAR1"
_RANGE = re.compile(r"(\d+)-(\d+)")


class DataError(ValueError):
    """A data file that cannot be used, with a message for the user."""


@dataclass
class Dataset:
    """The rows of a data file as an (n_samples, n_features) float array."""

    X: np.ndarray
    feature_names: list  # or None when the file has no column names
    path: str
    #: things worth telling the user (one line each, without a prefix)
    notes: list = field(default_factory=list)


def suffix(path):
    return os.path.splitext(os.fspath(path))[1].lower()


def display_name(path):
    return STDIN_NAME if os.fspath(path) == STDIN else os.fspath(path)


def read(path, columns=None, names_wanted=None, fmt=None, stdin=None):
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

    Returns
    -------
    data : Dataset
    """
    path = os.fspath(path)
    if path == STDIN:
        data = _read_stdin(columns, names_wanted, fmt, stdin)
    else:
        kind = fmt or suffix(path)[1:]
        if kind not in FORMATS:
            raise DataError(
                f"{path}: unsupported file type {suffix(path) or '(no extension)'!r}; "
                f"use {', '.join(SUFFIXES)} (or say which with --format)"
            )
        if not os.path.exists(path):
            raise DataError(f"{path}: no such file")
        if os.path.isdir(path):
            raise DataError(f"{path}: is a directory, not a data file")
        if not os.access(path, os.R_OK):
            raise DataError(f"{path}: permission denied")
        if kind == "npy":
            data = _read_npy(path, path, columns)
        elif kind == "parquet":
            data = _read_parquet(path, path, columns, names_wanted)
        else:
            data = _read_text(_TextFile(path), columns, names_wanted, kind)
    if data.X.shape[0] == 0:
        raise DataError(f"{data.path}: no data rows")
    if data.X.shape[1] == 0:
        raise DataError(f"{data.path}: no columns selected")
    check_finite(data)
    return data


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


def _read_stdin(columns, names_wanted, fmt, stdin):
    stream = stdin
    if stream is None:
        if sys.stdin is None:
            raise DataError(f"{STDIN_NAME}: there is no standard input to read")
        stream = getattr(sys.stdin, "buffer", sys.stdin)
    content = stream.read()
    if isinstance(content, str):
        content = content.encode("utf-8")
    if fmt is None:
        fmt = ("npy" if content.startswith(_NPY_MAGIC) else
               "parquet" if content.startswith(_PARQUET_MAGIC) else "csv")
    if fmt == "npy":
        return _read_npy(io.BytesIO(content), STDIN_NAME, columns)
    if fmt == "parquet":
        return _read_parquet(io.BytesIO(content), STDIN_NAME, columns, names_wanted)
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DataError(f"{STDIN_NAME}: not a text file (it is not UTF-8)") from None
    return _read_text(_TextInMemory(text), columns, names_wanted, fmt)


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
                + ", ".join(names)
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


def _select(path, columns, names_wanted, names, n_columns):
    """Column indices to read (None: all) for ``columns``/``names_wanted``."""
    if columns:
        return _resolve_columns(path, columns, names, n_columns)
    if names_wanted is not None and names is not None:
        missing = [n for n in names_wanted if n not in names]
        if missing:
            raise DataError(
                f"{path}: no column named {missing[0]!r}, which the model was "
                "fitted with; the columns are: " + ", ".join(names)
            )
        return _resolve_columns(path, names_wanted, names, n_columns)
    return None


def columns_option(indices, names=None):
    """A ``--columns`` value selecting ``indices``: the names when there are
    a few plain ones, else index ranges like ``0-3,5``."""
    if names is not None and len(indices) <= 8:
        chosen = [names[i] for i in indices]
        if all(n and n.strip() == n and "," not in n and not _RANGE.fullmatch(n)
               and not _is_number(n) for n in chosen) and len(set(chosen)) == len(chosen):
            return ",".join(chosen)
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
    if index is not None:
        X = X[:, index]
    return Dataset(_as_float(name, X), None, name)


# ------------------------------------------------------------------ text tables


class _TextFile:
    def __init__(self, path):
        self.name = path

    def open(self, newline=""):
        return open(self.name, newline=newline, encoding="utf-8-sig")


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


def _read_text(source, columns, names_wanted, kind):
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
    has_header = _has_header(fields, [row for _, row in _rows(lines, delimiter)][1:])
    names = fields if has_header else None
    index = _select(path, columns, names_wanted, names, len(fields))
    try:
        with warnings.catch_warnings(), source.open(newline=None) as f:
            # "input contained no data": reported as DataError by `read`
            warnings.simplefilter("ignore", UserWarning)
            X = np.loadtxt(
                f, delimiter=delimiter, skiprows=header_line if has_header else 0,
                usecols=index, dtype=np.float64, ndmin=2, comments=None,
                quotechar='"', encoding=None,
            )
    except (ValueError, UnicodeDecodeError, csv.Error) as exc:
        raise DataError(_explain_text_error(
            source, delimiter, has_header, index, len(fields), exc,
            single_column=single_column)) from None
    feature_names = None if names is None else (
        names if index is None else [names[i] for i in index]
    )
    notes = []
    if index is None and names is not None:
        X, feature_names, notes = _drop_row_numbers(path, X, feature_names)
    return Dataset(X, feature_names, path, notes)


def _has_header(fields, rows):
    """Whether ``fields``, the first row, names the columns of ``rows``.

    Yes when its first cell is empty (a row-index column's name), when no
    cell of it is a number, or when a column holds numbers below a first
    cell that is not one. So "x,y" above numbers is a header, and so is
    "name,city" above words, but "1,2,red" above "3,4,blue" is data.
    """
    if len(fields) > 1 and fields[0] == "":
        return True
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
    X = np.empty((pf.metadata.num_rows, len(selected)), dtype=dtype)
    start = 0
    try:
        for batch in pf.iter_batches(batch_size=65536, columns=selected):
            stop = start + batch.num_rows
            for j in range(batch.num_columns):
                column = batch.column(j)
                if column.null_count:
                    column = column.cast(pa.float64())
                X[start:stop, j] = column.to_numpy(zero_copy_only=False)
            start = stop
    except (pa.ArrowException, OSError) as exc:
        raise DataError(f"{name}: not a readable Parquet file ({exc})") from None
    return Dataset(X, selected, name)


# ---------------------------------------------------------------------- checks


def check_finite(data, chunk_rows=65536):
    """Raise DataError naming the first row with a NaN or infinite value."""
    X = data.X
    for start in range(0, X.shape[0], chunk_rows):
        block = X[start:start + chunk_rows]
        ok = np.isfinite(block).all(axis=1)
        if not ok.all():
            row = start + int(np.argmin(ok)) + 1
            raise DataError(
                f"{data.path}: data row {row} has a missing, NaN or infinite "
                "value; remove or fill that row"
            )
