"""Names and shapes shared by the estimators, the kernels, the model files
and the command line.

The one home of each; it imports nothing, so that the command line can build
its options (and answer ``--help``) without loading NumPy or Numba.
"""

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")
#: R mclust's 14 parsimonious models (`em.parsimonious`), in mclust's order.
MCLUST_MODELS = ("EII", "VII", "EEI", "VEI", "EVI", "VVI", "EEE", "VEE", "EVE", "VVE",
                 "EEV", "VEV", "EVV", "VVV")
#: The covariance type each mclust model is stored and computed as.
MCLUST_STRUCTURE = {"EII": "spherical", "VII": "spherical", "EEI": "diag", "VEI": "diag",
                    "EVI": "diag", "VVI": "diag", "EEE": "tied", "VEE": "full",
                    "EVE": "full", "VVE": "full", "EEV": "full", "VEV": "full",
                    "EVV": "full", "VVV": "full"}
#: Rows a pass made in NumPy (norms, distances, outputs) takes at a time.
BLOCK_ROWS = 65536
INIT_METHODS = ("kmeans", "k-means++", "random", "random_from_data")
BACKENDS = ("auto", "numba", "cython")
#: BayesianGaussianMixture's weight priors (the first is the default)
WEIGHT_PRIOR_TYPES = ("dirichlet_process", "dirichlet_distribution")
#: model-search criterion -> True when a lower value is better
CRITERIA = {"bic": True, "aic": True, "icl": True, "heldout": False}


def covariance_shape(n_components, n_features, covariance_type):
    """Shape of the covariances (and precisions, their Cholesky factors, S2)."""
    return {
        "full": (n_components, n_features, n_features),
        "tied": (n_features, n_features),
        "diag": (n_components, n_features),
        "spherical": (n_components,),
    }[covariance_type]


def fit_dtype(dtype):
    """The dtype a fit reads its rows in: float32 stays float32, anything else
    (float16, float64, integers, big-endian float32 included) becomes float64,
    as scikit-learn's ``check_array(dtype=[np.float64, np.float32])``."""
    import numpy as np  # (here: importing this module loads no NumPy)

    dtype = np.dtype(dtype)
    return np.dtype(np.float32 if dtype.kind == "f" and dtype.itemsize == 4
                    else np.float64)


#: scikit-learn's message for a covariance that is not positive definite.
ILL_DEFINED_MESSAGE = (
    "Fitting the mixture model failed because some components have "
    "ill-defined empirical covariance (for instance caused by singleton "
    "or collapsed samples). Try to decrease the number of components, "
    "increase reg_covar, or scale the input data."
)


def count(n, noun, plural=None):
    """``n`` with its noun in the right number, for messages: ``count(1,
    "row")`` is "1 row", ``count(70001, "row")`` is "70,001 rows"."""
    word = noun if n == 1 else (plural or noun + "s")
    return f"{n:,} {word}"
