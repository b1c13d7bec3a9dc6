"""The command line (internal): `parser` (the subcommands' arguments),
`commands` (``fit``, ``predict``, ``score``), `reading` (DATA, ``--scale``,
saved models), `output` (tables, reports, progress), `errors` (one line on
stderr), `dask` (``fit --dask``). ``python -m fastgmm`` and the ``fastgmm``
script enter through `fastgmm.__main__`."""
