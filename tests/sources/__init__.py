"""Tests of fastgmm's sources."""
