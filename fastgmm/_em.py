"""Where `fastgmm.em.driver` lived before 0.1's layout (pickle shim).

A model fitted by ``partial_fit`` holds a ``StepwiseState``; pickles made
before the EM modules moved into `fastgmm.em` name it ``fastgmm._em``, and
load through this module.
"""

from .em.driver import StepwiseState

__all__ = ["StepwiseState"]
