"""Tests of fastgmm's files."""
