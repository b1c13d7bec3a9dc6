"""``fastgmm fit DATA --dask`` (a local cluster) or ``--scheduler ADDRESS``.

DATA is a directory or a glob of .npy or .parquet files, read as one dask
array (the workers read the files: on a cluster, every worker must see them
at the same path); the fit runs on `fastgmm.sources.dask`'s rows.
`fastgmm.cli.commands` calls `fit_command`.
"""

import glob
import os
import sys
import time
import warnings
from dataclasses import dataclass

import dask
import dask.array as da
import numpy as np

from .._constants import BLOCK_ROWS, count, fit_dtype
from ..kernels import _common
from .errors import CLIError
from .output import (
    _TABLE_SUFFIXES,
    Progress,
    _check_output,
    _number,
    _print_json,
    _print_model,
    _writing,
)
from .reading import ColumnMoments, finish_model

#: Bytes a chunk of the files' rows holds, about (see `file_chunks`).
CHUNK_BYTES = 128 * 2**20
#: Chunks are laid on the in-memory pass's partitions (so that the fit has
#: the bits of ``fastgmm fit`` on one file) unless a partition is larger.
MAX_ALIGNED_CHUNK_BYTES = 512 * 2**20
#: X is persisted on the cluster when it takes at most this share of the
#: workers' memory; otherwise each iteration reads the files again.
PERSIST_MEMORY_SHARE = 0.5
_FILE_KINDS = ("npy", "parquet")


@dataclass(frozen=True)
class _DataFile:
    """One file of the data set: its rows, and the columns to read."""

    path: str
    kind: str
    n_rows: int
    columns: tuple  # indices (.npy) or names (.parquet) of the columns read
    row_groups: tuple = ()  # rows of each row group (.parquet)


def _cli_error(message):
    from ..files.dataset import DataError

    return DataError(message)


def data_files(data):
    """The .npy or .parquet files DATA names: a directory (its files of one
    of these kinds), a glob pattern or one file; sorted by name."""
    if os.path.isdir(data):
        paths = [os.path.join(data, name) for name in os.listdir(data)]
        paths = [p for p in paths if os.path.isfile(p)
                 and os.path.splitext(p)[1].lower()[1:] in _FILE_KINDS]
    else:
        paths = [p for p in glob.glob(data) if os.path.isfile(p)]
    if not paths:
        raise _cli_error(f"{data}: no .npy or .parquet files")
    kinds = {os.path.splitext(p)[1].lower()[1:] for p in paths}
    if not kinds <= set(_FILE_KINDS):
        other = sorted(p for p in paths
                       if os.path.splitext(p)[1].lower()[1:] not in _FILE_KINDS)
        raise _cli_error(f"{other[0]}: --dask reads .npy or .parquet files only")
    if len(kinds) > 1:
        raise _cli_error(f"{data}: both .npy and .parquet files; name one kind "
                         "(a glob such as 'dir/*.npy')")
    return sorted(paths), kinds.pop()


def _npy_file(path, tokens):
    from ..files.dataset import _resolve_columns, load_npy

    X = load_npy(path, path)  # (DataError: not a .npy, or pickled objects)
    if X.dtype.names is not None or X.dtype.kind not in "biuf":
        raise _cli_error(f"{path}: the array holds {X.dtype} values, not numbers")
    if X.ndim == 1:
        X = X.reshape(-1, 1)
    if X.ndim != 2:
        raise _cli_error(f"{path}: expected a 2-D array, got {X.ndim} dimensions")
    n_columns = X.shape[1]
    columns = tuple(_resolve_columns(path, tokens, None, n_columns) if tokens
                    else range(n_columns))
    return _DataFile(path, "npy", X.shape[0], columns), X.dtype, None


def _parquet_file(path, tokens):
    """A Parquet file of the data set, opened as ``fastgmm fit`` opens one
    (`fastgmm.files.parquet`: the same column checks and dtype)."""
    from ..files.parquet import _read_parquet

    rows = _read_parquet(path, path, tokens, None).rows
    groups = tuple(int(g) for g in np.diff(rows.starts))
    return (_DataFile(path, "parquet", rows.shape[0], tuple(rows.columns), groups),
            rows.dtype, list(rows.columns))


def _read_piece(file, start, stop, out):
    """Rows [start, stop) of one file into ``out``."""
    if file.kind == "npy":
        X = np.load(file.path, mmap_mode="r", allow_pickle=False)
        if X.ndim == 1:
            X = X.reshape(-1, 1)
        out[...] = X[start:stop][:, list(file.columns)]
        return
    import pyarrow.parquet as pq

    from ..files.parquet import ParquetRows

    rows = ParquetRows(pq.ParquetFile(file.path), file.columns, out.dtype, file.path)
    out[...] = rows.read(start, stop)


def _read_chunk(pieces, n_features, dtype):
    """The rows of ``pieces`` [(file, start, stop), ...], one after another."""
    out = np.empty((sum(stop - start for _, start, stop in pieces), n_features),
                   dtype=dtype)
    at = 0
    for file, start, stop in pieces:
        _read_piece(file, start, stop, out[at:at + stop - start])
        at += stop - start
    return out


def file_chunks(n_samples, n_features, itemsize, n_components, covariance_type,
                chunk_bytes=CHUNK_BYTES):
    """Row bounds of the chunks of a data set read from files.

    Consecutive partitions of the in-memory pass
    (`kernels._common.partition_bounds`), about ``chunk_bytes`` together, so
    that the fit has the bits of the in-memory fit; when one partition
    exceeds `MAX_ALIGNED_CHUNK_BYTES`, even chunks of ``chunk_bytes``.
    """
    row_bytes = n_features * itemsize
    bounds = _common.partition_bounds(n_samples, n_components, n_features,
                                      covariance_type)
    if int(np.max(np.diff(bounds))) * row_bytes > MAX_ALIGNED_CHUNK_BYTES:
        rows = max(1, chunk_bytes // row_bytes)
        return np.append(np.arange(0, n_samples, rows), n_samples).astype(np.int64)
    cuts = [0]
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        if lo > cuts[-1] and (hi - cuts[-1]) * row_bytes > chunk_bytes:
            cuts.append(int(lo))
    cuts.append(n_samples)
    return np.asarray(cuts, dtype=np.int64)


def read_files(data, columns=None, n_components=1, covariance_type="full",
               chunk_bytes=CHUNK_BYTES):
    """The files DATA names as one dask array (rows of all files, in order).

    Returns (X, column names or None, files). Chunks follow `file_chunks`
    and may span files; nothing is read until X is computed.
    """
    paths, kind = data_files(data)
    opened = [(_npy_file if kind == "npy" else _parquet_file)(p, columns)
              for p in paths]
    first, _, names = opened[0]
    n_features = len(first.columns)
    for file, _, other_names in opened[1:]:
        if len(file.columns) != n_features:
            raise _cli_error(f"{file.path}: {count(len(file.columns), 'column')}, but "
                             f"{first.path} has {n_features}")
        if other_names != names:
            raise _cli_error(f"{file.path}: the columns ({', '.join(other_names)}) "
                             f"differ from those of {first.path} ({', '.join(names)})")
    if n_features == 0:
        raise _cli_error(f"{data}: no columns selected")
    dtype = np.dtype(np.float32 if all(fit_dtype(dt) == np.float32 for _, dt, _ in opened)
                     else np.float64)
    files = [f for f, _, _ in opened]
    ends = np.cumsum([f.n_rows for f in files])
    starts = ends - [f.n_rows for f in files]
    n_samples = int(ends[-1])
    if n_samples == 0:
        raise _cli_error(f"{data}: no data rows")
    cuts = file_chunks(n_samples, n_features, dtype.itemsize, n_components,
                       covariance_type, chunk_bytes)
    read = dask.delayed(_read_chunk, pure=True)
    blocks = []
    for lo, hi in zip(cuts[:-1], cuts[1:]):
        pieces = tuple((f, int(max(lo, s) - s), int(min(hi, e) - s))
                       for f, s, e in zip(files, starts, ends) if s < hi and e > lo)
        blocks.append(da.from_delayed(read(pieces, n_features, dtype),
                                      shape=(int(hi - lo), n_features), dtype=dtype))
    return da.concatenate(blocks, axis=0), names, files


def _connect(args):
    """(client, local cluster or None, a description of the cluster)."""
    os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "critical")  # workers: errors reach us
    import logging

    from distributed import Client, LocalCluster

    logging.getLogger("distributed").setLevel(logging.CRITICAL)
    if args.scheduler:
        try:
            client = Client(args.scheduler, timeout="20s", set_as_default=False)
        except (OSError, TimeoutError) as exc:
            raise _cli_error(f"cannot connect to the dask scheduler at "
                             f"{args.scheduler}: {exc}") from None
        return client, None, f"the cluster at {args.scheduler}"
    cluster = LocalCluster(dashboard_address=None)
    return Client(cluster, set_as_default=False), cluster, "a local cluster"


def _standardize_block(block, mean, scale):
    return ((np.asarray(block, dtype=np.float64) - mean) / scale).astype(block.dtype)


def _scaling(X):
    """Column means and scales of a dask array, as `reading._column_statistics`
    computes them (`reading.ColumnMoments`): each chunk's moments on the
    workers, merged here in chunk order."""
    X = X.rechunk({1: -1})  # blocks of whole rows
    moments = ColumnMoments(X[: min(X.shape[0], BLOCK_ROWS)].compute())
    blocks = X.to_delayed().ravel()
    for part in dask.compute(*[dask.delayed(moments.block)(b) for b in blocks]):
        moments.add(part)
    return moments.result()


def _write_labels(path, labels, batch):
    """Labels (a dask array) to .npy, .csv or .tsv, ``batch`` chunks at a time."""

    suffix = os.path.splitext(path)[1].lower()
    blocks = labels.to_delayed().ravel()
    with _writing(path) as f:
        if suffix == ".npy":
            np.lib.format.write_array_header_2_0(
                f, {"descr": np.lib.format.dtype_to_descr(np.dtype("<i8")),
                    "fortran_order": False, "shape": (int(labels.shape[0]),)})
        else:
            f.write("label\n")
        for i in range(0, len(blocks), batch):
            for values in dask.compute(*blocks[i:i + batch]):
                values = np.asarray(values, dtype="<i8")
                if suffix == ".npy":
                    f.write(values.tobytes())
                else:
                    np.savetxt(f, values, fmt="%d")


def _row_error(exc, files, missing=False):
    """A NaN/inf error of the fit, with the file and data row it is in
    (``missing``: NaN are missing values, only infinity is an error)."""
    import re

    match = re.search(r"\(row (\d+)\)", str(exc))
    if match is None:
        return exc
    row = int(match[1])
    for f in files:
        if row < f.n_rows:
            if missing:
                return _cli_error(f"{f.path}: data row {row + 1} has an infinite "
                                  "value; remove or fill that row")
            return _cli_error(f"{f.path}: data row {row + 1} has a missing, NaN or "
                              "infinite value; remove or fill that row, or fit with "
                              "--missing marginalize")
        row -= f.n_rows
    return exc


def fit_command(args):
    """``fastgmm fit DATA --dask`` / ``--scheduler ADDRESS``: one fit of the
    files DATA names, as one dask array, on a dask.distributed cluster."""
    from ..em import criteria as _criteria
    from .family import _family_estimator, _family_summary

    ks = args.n_components
    types = args.covariance or ["full"]
    how = "--scheduler" if args.scheduler else "--dask"
    if len(ks) > 1 or len(types) > 1:
        raise CLIError(f"{how} fits one number of components and one covariance "
                            "type; a search (-k 1-8, --covariance full,diag) runs "
                            "without it")
    for option, value in (("--plot", args.plot), ("--cv", args.cv),
                          ("--noise", args.noise or None)):
        if value is not None:
            raise CLIError(f"{option} is not available with {how}")
    if args.data_format not in (None,) + _FILE_KINDS:
        raise CLIError(f"{how} reads .npy or .parquet files, not "
                            f"--format {args.data_format}")
    _check_output(args.out, (".npz",), "model")
    _check_output(args.labels, _TABLE_SUFFIXES, "labels")
    k, covariance_type = ks[0], types[0]
    missing = args.missing == "marginalize"
    X, names, files = read_files(args.data, args.columns, k, covariance_type)
    n_samples, n_features = (int(s) for s in X.shape)
    if n_samples < max(k, 2):
        raise CLIError(f"{args.data}: {count(n_samples, 'row')}; a fit of "
                       f"{count(k, 'component')} needs at least {max(k, 2)}")
    start = time.perf_counter()
    client, cluster, where = _connect(args)
    try:
        workers = client.scheduler_info(n_workers=-1)["workers"]
        memory = sum(int(w.get("memory_limit") or 0) for w in workers.values())
        persist = not memory or X.nbytes <= PERSIST_MEMORY_SHARE * memory
        with client.as_current():
            if persist:
                X = X.persist()
            scaling = _scaling(X) if args.scale else None
            if scaling is not None:
                X = X.map_blocks(_standardize_block, *scaling, dtype=X.dtype)
                if persist:
                    X = X.persist()
            estimator, family_params = _family_estimator(args)  # (--family, --dof)
            model = estimator(
                k, covariance_type=covariance_type, **family_params, tol=args.tol,
                reg_covar=args.reg_covar, max_iter=args.max_iter,
                init_params=args.init_params, random_state=args.seed,
                n_init=args.n_init, backend=args.backend, n_threads=args.threads,
                nan_policy="marginalize" if missing else "raise")
            progress = Progress(enabled=not args.quiet)
            fit_start = time.perf_counter()
            try:
                with warnings.catch_warnings():
                    if not persist:  # said below, in the report
                        warnings.filterwarnings("ignore", category=da.PerformanceWarning)
                    model.fit(X, callback=progress.fit_callback(args.n_init,
                                                                args.max_iter))
            except ValueError as exc:
                raise _row_error(exc, files, missing) from None
            finally:
                progress.close()
            fit_time = time.perf_counter() - fit_start
            log_norm, resp = model.score_samples(X), model.predict_proba(X)
            block_sums, sizes, magnitudes = dask.compute(
                [dask.delayed(_criteria.block_sums)(ll, r) for ll, r in
                 zip(log_norm.to_delayed().ravel(), resp.to_delayed().ravel())],
                da.bincount(model.predict(X), minlength=k),
                # (a column with nothing observed: 0)
                da.nan_to_num(da.nanmax(abs(X), axis=0)) if missing
                else abs(X).max(axis=0))
            if args.labels:
                _write_labels(args.labels, model.predict(X),
                              batch=max(1, 2 * sum(int(w["nthreads"])
                                                   for w in workers.values())))
        n_threads = sum(int(w["nthreads"]) for w in workers.values())
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    finish_model(model, names, scaling, args.out)
    sums = _criteria.Sums()
    for block in block_sums:  # (in row order)
        sums.add_sums(*block)
    means = np.asarray(model.means_, dtype=np.float64)
    if scaling is not None:
        means = means * scaling[1] + scaling[0]
    total_time = time.perf_counter() - start
    criteria = sums.report(model._n_parameters(), n_samples)
    log_likelihood = criteria["log_likelihood"]
    summary = {
        "data": args.data,
        "files": [f.path for f in files],
        "n_samples": n_samples,
        "n_features": n_features,
        "feature_names": names,
        "n_components": k,
        "covariance_type": covariance_type,
        **_family_summary(model),
        "converged": bool(model.converged_),
        "n_iter": int(model.n_iter_),
        "lower_bound": _number(model.lower_bound_),
        "lower_bound_per_row": _number(model.lower_bound_),  # (GaussianMixture's)
        "log_likelihood": _number(log_likelihood),
        "mean_log_likelihood": _number(log_likelihood / n_samples),
        **{name: _number(criteria[name]) for name in ("bic", "aic", "icl")},
        "fit_time": fit_time,
        "total_time": total_time,
        "weights": [float(w) for w in model.weights_],
        "means": means.tolist(),
        "component_sizes": [int(s) for s in sizes],
        "scaling": None if scaling is None else {
            "mean": scaling[0].tolist(), "scale": scaling[1].tolist()},
        "model": args.out,
        "labels": args.labels,
        "plot": None,
        "dask": {"cluster": args.scheduler or "local", "workers": len(workers),
                 "threads": n_threads, "chunks": len(X.chunks[0]),
                 "persisted": bool(persist)},
    }
    if args.json:
        _print_json(summary)
        return 0
    if args.quiet:
        return 0
    out = sys.stdout
    shown = f" ({', '.join(names)})" if names else ""
    if len(shown) > 80:
        shown = shown[:76] + "...)"
    print(f"{args.data}: {count(n_samples, 'row')} x {count(n_features, 'column')}"
          f"{shown} in {count(len(files), 'file')}", file=out)
    print(f"dask: {where}, {count(len(workers), 'worker')}, "
          f"{count(n_threads, 'thread')}; {count(len(X.chunks[0]), 'chunk')}, "
          + ("persisted on the workers" if persist else
             "more than half the workers' memory: read from the files at each "
             "iteration"), file=out)
    if scaling is not None:
        print("columns standardized (--scale): the log-likelihood, lower bound, "
              "BIC, AIC and ICL are of the standardized data; means are shown in "
              "the units of the data", file=out)
    _print_model(summary, magnitudes, out)
    for key, what in (("model", "model saved to"), ("labels", "labels written to")):
        if summary[key]:
            print(f"{what} {summary[key]}", file=out)
    return 0
