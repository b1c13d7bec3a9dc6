"""fastgmm: Gaussian mixture models fitted by EM on a fused, compiled pass.

A drop-in for :class:`sklearn.mixture.GaussianMixture` (and
``BayesianGaussianMixture``) with the hot loop compiled twice (Numba and
Cython). See ``GaussianMixture``, ``BayesianGaussianMixture``,
``GaussianMixtureSearch``, ``GaussianMixtureImputer``,
``GaussianMixtureOutlierDetector``, ``StudentTMixture`` (mixtures of
multivariate t distributions) and
``reference`` (the naive EM the tests compare against).

The public names are imported on first use (PEP 562), so that importing the
package, and ``fastgmm --help``, do not load NumPy, scikit-learn or Numba.
"""

import importlib

from ._version import __version__

__all__ = [
    "BayesianGaussianMixture",
    "GaussianMixture",
    "GaussianMixtureImputer",
    "GaussianMixtureOutlierDetector",
    "GaussianMixtureSearch",
    "InitSampleWarning",
    "StudentTMixture",
    "load",
    "plot",
    "show_config",
    "__version__",
]

#: public name -> (module, attribute in it; None for the module itself)
_LAZY = {
    "BayesianGaussianMixture": ("_bayesian", "BayesianGaussianMixture"),
    "GaussianMixture": ("mixture", "GaussianMixture"),
    "GaussianMixtureImputer": ("_impute", "GaussianMixtureImputer"),
    "GaussianMixtureOutlierDetector": ("_outliers", "GaussianMixtureOutlierDetector"),
    "GaussianMixtureSearch": ("_search", "GaussianMixtureSearch"),
    "InitSampleWarning": ("_init_rows", "InitSampleWarning"),
    "StudentTMixture": ("_student", "StudentTMixture"),
    "load": ("_persist", "load"),
    "plot": ("plot", None),  # matplotlib itself is imported only when drawing
    "show_config": ("_config", "show_config"),
}


def __getattr__(name):
    try:
        module_name, attribute = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    module = importlib.import_module(f".{module_name}", __name__)
    value = module if attribute is None else getattr(module, attribute)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
