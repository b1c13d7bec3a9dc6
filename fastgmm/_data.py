"""Data files for the command line: ``.npy``, ``.csv``/``.tsv``, ``.parquet``.

Every reader returns a 2-D float array and the column names (or None), reading
the file once into the final array: ``.npy`` is memory-mapped (no copy when it
already holds C-ordered float32/float64 values), CSV is parsed straight into
the array, Parquet is read batch by batch into a preallocated array. Problems
raise `DataError` with a message that names the file and, where it can, the
line and column.
"""

import csv
import os
import warnings
from dataclasses import dataclass

import numpy as np

SUFFIXES = (".npy", ".csv", ".tsv", ".parquet")


class DataError(ValueError):
    """A data file that cannot be used, with a message for the user."""


@dataclass
class Dataset:
    """The rows of a data file as an (n_samples, n_features) float array."""

    X: np.ndarray
    feature_names: list  # or None when the file has no column names
    path: str


def suffix(path):
    return os.path.splitext(os.fspath(path))[1].lower()


def read(path, columns=None, names_wanted=None):
    """Read a data file.

    Parameters
    ----------
    path : str
        A ``.npy``, ``.csv``, ``.tsv`` or ``.parquet`` file.
    columns : list of str, default=None
        The columns to keep, each a column name or a 0-based index; None
        keeps all (or ``names_wanted``).
    names_wanted : list of str, default=None
        When ``columns`` is None and the file has column names, keep these
        columns in this order (the feature names a model was fitted with).

    Returns
    -------
    data : Dataset
    """
    path = os.fspath(path)
    kind = suffix(path)
    if kind not in SUFFIXES:
        raise DataError(
            f"{path}: unsupported file type {kind or '(no extension)'!r}; "
            "use .npy, .csv, .tsv or .parquet"
        )
    if not os.path.exists(path):
        raise DataError(f"{path}: no such file")
    if os.path.isdir(path):
        raise DataError(f"{path}: is a directory, not a data file")
    if not os.access(path, os.R_OK):
        raise DataError(f"{path}: permission denied")
    reader = {".npy": _read_npy, ".csv": _read_text, ".tsv": _read_text,
              ".parquet": _read_parquet}[kind]
    data = reader(path, columns, names_wanted)
    if data.X.shape[0] == 0:
        raise DataError(f"{path}: no data rows")
    if data.X.shape[1] == 0:
        raise DataError(f"{path}: no columns selected")
    check_finite(data)
    return data


def _resolve_columns(path, tokens, names, n_columns):
    """Indices of the requested columns (names or 0-based indices)."""
    indices = []
    for token in tokens:
        token = token.strip()
        if names is not None and token in names:
            if names.count(token) > 1:
                raise DataError(f"{path}: the column name {token!r} appears twice")
            indices.append(names.index(token))
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


# ------------------------------------------------------------------------- .npy


def _as_float(path, X):
    """X as float32/float64; a copy only for other numeric dtypes."""
    if X.dtype in (np.float32, np.float64):
        return X
    if X.dtype.kind in "biuf":
        return X.astype(np.float64)
    raise DataError(f"{path}: the array holds {X.dtype} values, not numbers")


def _read_npy(path, columns, names_wanted):
    try:
        X = np.load(path, mmap_mode="r", allow_pickle=False)
    except ValueError as exc:
        raise DataError(f"{path}: not a readable .npy array ({exc})") from None
    except (EOFError, OSError) as exc:
        raise DataError(f"{path}: not a readable .npy array ({exc})") from None
    if not isinstance(X, np.ndarray):
        raise DataError(f"{path}: not a .npy array")
    if X.dtype.names is not None:
        raise DataError(f"{path}: structured arrays are not supported")
    if X.ndim == 1:
        X = X.reshape(-1, 1)
    if X.ndim != 2:
        raise DataError(f"{path}: expected a 2-D array, got {X.ndim} dimensions")
    index = _select(path, columns, None, None, X.shape[1])
    if index is not None:
        X = X[:, index]
    return Dataset(_as_float(path, X), None, path)


# -------------------------------------------------------------------- CSV / TSV


def _is_number(field):
    try:
        float(field)
    except ValueError:
        return False
    return True


def _first_row(path, delimiter):
    with open(path, newline="", encoding="utf-8-sig") as f:
        for row in csv.reader(f, delimiter=delimiter):
            if row:
                return row
    return None


def _read_text(path, columns, names_wanted):
    delimiter = "\t" if suffix(path) == ".tsv" else ","
    try:
        first = _first_row(path, delimiter)
    except UnicodeDecodeError:
        raise DataError(f"{path}: not a text file (it is not UTF-8)") from None
    except csv.Error as exc:
        raise DataError(f"{path}: not a readable CSV file ({exc})") from None
    if first is None:
        raise DataError(f"{path}: the file is empty")
    fields = [f.strip() for f in first]
    has_header = not all(_is_number(f) for f in fields if f)
    names = fields if has_header else None
    index = _select(path, columns, names_wanted, names, len(fields))
    try:
        with warnings.catch_warnings():
            # "input contained no data": reported as DataError by `read`
            warnings.simplefilter("ignore", UserWarning)
            X = np.loadtxt(
                path, delimiter=delimiter, skiprows=1 if has_header else 0,
                usecols=index, dtype=np.float64, ndmin=2, comments=None,
                quotechar='"', encoding="utf-8-sig",
            )
    except (ValueError, UnicodeDecodeError) as exc:
        raise DataError(_explain_text_error(path, delimiter, has_header, index,
                                            len(fields), exc)) from None
    feature_names = None if names is None else (
        names if index is None else [names[i] for i in index]
    )
    return Dataset(X, feature_names, path)


def _explain_text_error(path, delimiter, has_header, index, n_fields, exc):
    """Find the first bad line and cell of a CSV file that failed to parse."""
    fields = None
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            for line_no, row in enumerate(csv.reader(f, delimiter=delimiter), 1):
                if not row:
                    continue
                if fields is None:
                    fields = [f.strip() for f in row]
                    if has_header:
                        continue
                if index is None and len(row) != n_fields:
                    return (f"{path}, line {line_no}: {len(row)} fields, expected "
                            f"{n_fields} as on the first line")
                for j in range(len(row)) if index is None else index:
                    if j >= len(row):
                        return (f"{path}, line {line_no}: {len(row)} fields, no "
                                f"column {j}")
                    if not _is_number(row[j].strip()):
                        what = ("an empty cell" if not row[j].strip()
                                else f"{row[j].strip()!r} is not a number")
                        where = (f"column {fields[j]!r}" if has_header
                                 else f"field {j + 1}")
                        return f"{path}, line {line_no}, {where}: {what}"
    except (UnicodeDecodeError, csv.Error):
        return f"{path}: not a readable text file"
    return f"{path}: cannot read the file as numbers ({exc})"


# ---------------------------------------------------------------------- Parquet


def _read_parquet(path, columns, names_wanted):
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise DataError(
            f"{path}: reading .parquet files needs pyarrow (pip install pyarrow)"
        ) from None
    try:
        pf = pq.ParquetFile(path)
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise DataError(f"{path}: not a readable Parquet file ({exc})") from None
    schema = pf.schema_arrow
    names = list(schema.names)
    index = _select(path, columns, names_wanted, names, len(names))
    selected = names if index is None else [names[i] for i in index]
    types = [schema.field(name).type for name in selected]
    for name, t in zip(selected, types):
        if not (pa.types.is_integer(t) or pa.types.is_floating(t)
                or pa.types.is_boolean(t)):
            raise DataError(f"{path}: the column {name!r} holds {t} values, not numbers")
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
        raise DataError(f"{path}: not a readable Parquet file ({exc})") from None
    return Dataset(X, selected, path)


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
