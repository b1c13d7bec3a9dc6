"""Parquet files, read by row groups (`ParquetRows`): a slice of rows reads
only the row groups it touches; nulls become NaN.
"""

from collections import OrderedDict

import numpy as np

from . import dataset
from .dataset import DataError, Dataset, FileRows, _select, columns_option


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


class ParquetRows(FileRows):
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
        while len(self._cache) > 1 and self._cached_bytes > dataset.PARQUET_CACHE_BYTES:
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
