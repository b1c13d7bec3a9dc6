"""Names shared by the estimators, the kernels and the command line.

The one home of each list; it imports nothing, so that the command line can
build its options (and answer ``--help``) without loading NumPy or Numba.
"""

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")
INIT_METHODS = ("kmeans", "k-means++", "random", "random_from_data")
BACKENDS = ("auto", "numba", "cython")
#: model-search criterion -> True when a lower value is better
CRITERIA = {"bic": True, "aic": True, "icl": True, "heldout": False}
