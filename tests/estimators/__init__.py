"""Tests of the estimators (mixture, _base, _bayesian, _search, plot)."""
