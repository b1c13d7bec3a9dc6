"""Where a fit's rows come from (internal): arrays in memory or read by
windows (`rows`), and dask arrays (`dask`)."""
