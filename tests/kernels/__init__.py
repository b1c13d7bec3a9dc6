"""Tests of fastgmm's kernels."""
