"""The version of fastgmm: one home, imported by the package and the file writer.

Kept free of imports so that ``fastgmm --version`` and ``fastgmm --help``
answer without loading NumPy.
"""

__version__ = "0.1.0.dev0"
