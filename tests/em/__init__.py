"""Tests of fastgmm's em."""
