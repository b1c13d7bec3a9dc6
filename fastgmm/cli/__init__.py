"""The command line (internal): `commands` (parser and commands), `dask`
(``fit --dask``). ``python -m fastgmm`` and the ``fastgmm`` script enter
through `fastgmm.__main__`."""
