"""Information criteria of a fitted mixture: the one home of their formulas
and of the sums behind them.

``log_likelihood`` is the total (not the mean) log-likelihood of the rows,
``n_parameters`` the model's free parameters (`em.family.MixtureSpec`'s
count). Lower is better for all three. The search, ``fastgmm fit``, ``score``
and ``fit --dask`` add the rows' log-likelihoods and `entropy` block by
block, in row order, in a `Sums` (a dask task computes a block's
`block_sums`), then ask it for the `report`.
"""

import math


def bic(log_likelihood, n_parameters, n_samples):
    """Bayesian information criterion, ``-2 log L + p log n``."""
    return -2.0 * log_likelihood + n_parameters * math.log(n_samples)


def aic(log_likelihood, n_parameters):
    """Akaike information criterion, ``-2 log L + 2 p``."""
    return -2.0 * log_likelihood + 2.0 * n_parameters


def icl(log_likelihood, n_parameters, n_samples, entropy):
    """Integrated completed likelihood: BIC plus twice the entropy of the
    responsibilities, ``-sum_i sum_k r_ik log r_ik``."""
    return bic(log_likelihood, n_parameters, n_samples) + 2.0 * entropy


def entropy(resp):
    """``-sum_i sum_k r_ik log r_ik`` of a block of responsibilities, in
    float64 (0 log 0 = 0)."""
    import numpy as np

    resp = np.asarray(resp, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return -float(np.sum(np.where(resp > 0, resp * np.log(resp), 0.0)))


def report(log_likelihood, n_parameters, n_samples, entropy=None):
    """{log_likelihood, n_parameters, bic, aic[, icl]} of a fitted mixture
    (icl when the responsibilities' ``entropy`` is given)."""
    out = {"log_likelihood": log_likelihood, "n_parameters": n_parameters,
           "bic": bic(log_likelihood, n_parameters, n_samples),
           "aic": aic(log_likelihood, n_parameters)}
    if entropy is not None:
        out["icl"] = icl(log_likelihood, n_parameters, n_samples, entropy)
    return out


def block_sums(log_prob, resp=None):
    """(sum of a block's log-densities, the entropy of its responsibilities
    or 0.0 without them), in float64."""
    import numpy as np

    return (float(np.sum(log_prob, dtype=np.float64)),
            0.0 if resp is None else entropy(resp))


class Sums:
    """The sums behind the criteria, added block by block in row order."""

    def __init__(self):
        self.log_likelihood = 0.0
        self.entropy = 0.0

    def add(self, log_prob, resp=None):
        """A block's log-densities and (for ICL) its responsibilities."""
        self.add_sums(*block_sums(log_prob, resp))

    def add_sums(self, log_likelihood, entropy=0.0):
        """A block's `block_sums`, computed elsewhere (a dask task)."""
        self.log_likelihood += log_likelihood
        self.entropy += entropy

    def report(self, n_parameters, n_samples, icl=True):
        """`report` of the sums (with ICL when ``icl``)."""
        return report(self.log_likelihood, n_parameters, n_samples,
                      self.entropy if icl else None)
