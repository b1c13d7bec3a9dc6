"""Tests of fastgmm's cli."""
