"""Text tables (``.csv``, ``.tsv``, ``.txt``, ``.dat``): the separator sniffed,
the header detected, a row-number column left out; parsed into an array up
to `dataset.TEXT_IN_MEMORY_BYTES`, larger ones chunk by chunk into a
temporary ``.npy`` that is then memory-mapped; errors that name the line and
column.
"""

import csv
import io
import itertools
import math
import os
import re
import warnings
from collections import Counter

import numpy as np

from .._constants import count
from . import dataset
from .dataset import (
    DELIMITERS,
    DELIMITERS_TEXT,
    SNIFF_LINES,
    STDIN_NAME,
    ColumnRows,
    DataError,
    Dataset,
    NpyRows,
    _is_number,
    _is_unnamed,
    _select,
    check_window,
    columns_option,
    npy_header,
    npy_header_size,
)


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


def _splits(lines, delimiter):
    """Whether ``delimiter`` splits most of ``lines`` into the same number (>=
    2) of fields: the share of lines that it does (0 when it does not)."""
    counts = _field_counts(lines, delimiter)
    if not counts:
        return 0
    modal, share = Counter(counts).most_common(1)[0]
    return share if modal >= 2 and share >= len(counts) / 2 else 0


#: A separator as a message names it, and the --format that reads it.
_SEPARATORS = {",": ("commas", "csv"), ";": ("semicolons", "txt"), "\t": ("tabs", "tsv"),
               "|": ("pipes (|)", "txt"), None: ("whitespace", "txt")}


def sniff_delimiter(lines):
    """The column separator of these lines: one of `DELIMITERS`.

    A separator qualifies when it splits most lines into the same number
    (>= 2) of fields; the one doing so for the most lines wins, ties going
    to `csv.Sniffer` (restricted to the tied separators), then to the order
    of `DELIMITERS`. Lines that no separator splits give "" (one column).
    """
    scores = {}
    for delimiter in DELIMITERS:
        share = _splits(lines, delimiter)
        if share:
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


def _missing_float(cell):
    """A cell as a float, an empty one as NaN (``missing=True``)."""
    cell = cell.strip()
    return float(cell) if cell else math.nan


def _read_text(source, columns, names_wanted, kind, chunks=None, missing=False,
               separator=False):
    """A text table: parsed into memory, or with ``chunks`` = (temporary
    files, progress, bytes) chunk by chunk into a temporary .npy.
    ``separator``: the column separator that ``--format`` asked for (a comma
    for csv, a tab for tsv), used as it is; False: sniffed from the lines."""
    path = source.name
    try:
        lines = _sample_lines(source)
    except UnicodeDecodeError:
        raise DataError(f"{path}: not a text file (it is not UTF-8)") from None
    if not lines:
        what = "standard input is empty" if path == STDIN_NAME else "the file is empty"
        raise DataError(f"{path}: {what}")
    delimiter = sniff_delimiter(lines)
    if separator is not False and delimiter != separator:
        if delimiter != "" and not _splits(lines, separator):
            asked, (found, fmt) = _SEPARATORS[separator][0], _SEPARATORS[delimiter]
            raise DataError(
                f"{path}: --format {kind} reads columns separated by {asked}, but "
                f"its lines are separated by {found}; use --format {fmt}, or leave "
                "--format out to have the separator found from the lines")
        delimiter = separator if _splits(lines, separator) else ""
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
                       single_column, missing)
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
                converters=_missing_float if missing else None,
            )
    except (ValueError, UnicodeDecodeError, csv.Error) as exc:
        raise DataError(parse.explain(exc)) from None
    notes = []
    if unnamed:
        X, feature_names, notes = _drop_row_numbers(path, X, feature_names)
    return Dataset(X, feature_names, path, notes)


class _TextParse:
    """How a text table is parsed, and the error message when it fails."""

    def __init__(self, source, delimiter, has_header, index, n_fields, single_column,
                 missing=False):
        self.source, self.delimiter, self.has_header = source, delimiter, has_header
        self.missing = missing
        self.index, self.n_fields, self.single_column = index, n_fields, single_column
        self.n_columns = n_fields if index is None else len(index)

    def parse(self, lines):
        """Lines of the table (no header) as a float64 array."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # blank lines only
            return np.loadtxt(
                lines, delimiter=self.delimiter, usecols=self.index,
                dtype=np.float64, ndmin=2, comments=None, quotechar='"',
                encoding=None, converters=_missing_float if self.missing else None,
            )

    def explain(self, exc):
        return _explain_text_error(self.source, self.delimiter, self.has_header,
                                   self.index, self.n_fields, exc,
                                   single_column=self.single_column,
                                   missing=self.missing)


def _read_text_chunks(parse, skip, names, unnamed, temporary, progress, total_bytes):
    """Parse a text table chunk by chunk into a temporary .npy; its memory map."""
    source = parse.source
    path = source.name
    d = parse.n_columns
    tmp = dataset._temporary_file(temporary, ".npy")
    header = npy_header(np.float64, (0, d), size=npy_header_size(d))
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
                lines = list(itertools.islice(f, dataset.TEXT_CHUNK_LINES))
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
                        f"{count(block.shape[1], 'column')} instead of {d}")))
                check_window(path, block, n_rows, parse.missing)
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
            out.write(npy_header(np.float64, (n_rows, d), size=len(header)))
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
    return count(n, "field")


#: Cells that other tools write for a missing value (named in the error).
_MISSING_MARKERS = ("na", "n/a", "null", "none", "nil", "missing", "?", "-", ".")


def _explain_text_error(source, delimiter, has_header, index, n_fields, exc,
                        single_column=False, missing=False):
    """Find the first bad line and cell of a text table that failed to parse
    (``missing``: an empty cell is a missing value, not a bad cell)."""
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
                    if _is_number(cell) or (missing and not cell):
                        continue
                    if single_column and re.search(r"[^\w.+-]", cell):
                        return (f"{path}, line {line_no}: cannot tell how the "
                                f"columns are separated in {cell[:40]!r}; fastgmm "
                                f"reads columns separated by {DELIMITERS_TEXT}")
                    what = ("an empty cell (--missing marginalize reads empty cells "
                            "as missing values)" if not cell
                            else f"{cell!r} is not a number")
                    if cell.lower() in _MISSING_MARKERS:
                        what += ("; a missing value is an empty cell or NaN" if missing
                                 else " (--missing marginalize reads empty cells and "
                                 "NaN as missing values)")
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
            if seen >= dataset.SCAN_ROWS:
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
