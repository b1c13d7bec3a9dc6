"""Names and shapes shared by the estimators, the kernels, the model files
and the command line.

The one home of each; it imports nothing but `math`, so that the command line
can build its options (and answer ``--help``) without loading NumPy or Numba
(the functions that need NumPy import it when called).
"""

import math

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
#: The components' families: 'gaussian' (GaussianMixture) and 't'
#: (StudentTMixture), as the search, the outlier detector and the command line
#: name them.
FAMILIES = ("gaussian", "t")


def covariance_shape(n_components, n_features, covariance_type):
    """Shape of the covariances (and precisions, their Cholesky factors, S2)."""
    return {
        "full": (n_components, n_features, n_features),
        "tied": (n_features, n_features),
        "diag": (n_components, n_features),
        "spherical": (n_components,),
    }[covariance_type]


#: The dtypes a fit reads its rows in, for scikit-learn's
#: ``check_array(dtype=FIT_DTYPES)``: X's own dtype when it is one of these
#: (native byte order), else the first. `fit_dtype` is the same rule for a
#: dtype alone (memory maps, array-likes, data files).
FIT_DTYPES = ("float64", "float32")


def fit_dtype(dtype):
    """The dtype a fit reads rows of ``dtype`` in, as scikit-learn's
    ``check_array(dtype=FIT_DTYPES)`` decides it: native float32 and float64
    stay, anything else (float16, integers, big-endian float32 on a
    little-endian machine) becomes float64."""
    import numpy as np  # (here: importing this module loads no NumPy)

    dtype = np.dtype(dtype)
    return dtype if dtype in FIT_DTYPES else np.dtype(FIT_DTYPES[0])


def sum_is_finite(a):
    """Whether the float64 sum of all of ``a``'s entries is finite: the cheap
    first look for NaN and infinity (one pass, no mask). True means every
    entry is finite; False means one is not, or the sum overflowed, so look
    entry by entry then."""
    import numpy as np

    with np.errstate(over="ignore"):  # an overflow is an answer here, not a warning
        return bool(np.isfinite(np.add.reduce(a, axis=None, dtype=np.float64)))


#: log(2 pi), of the Gaussian density's constant.
LOG_2PI = math.log(2.0 * math.pi)


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
