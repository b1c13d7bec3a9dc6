"""fastgmm: Gaussian mixture models fitted by EM on a fused, compiled pass.

A drop-in for :class:`sklearn.mixture.GaussianMixture` with the hot loop
compiled twice (Numba and Cython). See ``GaussianMixture`` and ``reference``
(the naive EM the tests compare against).
"""

from ._config import show_config
from .mixture import GaussianMixture

__version__ = "0.1.0.dev0"

__all__ = ["GaussianMixture", "show_config", "__version__"]
