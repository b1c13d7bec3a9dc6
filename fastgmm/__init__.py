"""fastgmm: Gaussian mixture models fitted by EM on a fused, compiled pass.

A drop-in for :class:`sklearn.mixture.GaussianMixture` with the hot loop
compiled twice (Numba and Cython). See ``GaussianMixture`` and ``reference``
(the naive EM the tests compare against).
"""

from ._config import show_config
from ._io import load
from ._search import GaussianMixtureSearch
from .mixture import GaussianMixture
from . import plot  # noqa: E402  (matplotlib is imported only when drawing)

__version__ = "0.1.0.dev0"

__all__ = [
    "GaussianMixture",
    "GaussianMixtureSearch",
    "load",
    "plot",
    "show_config",
    "__version__",
]
