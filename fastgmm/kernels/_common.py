"""What both backends share: row partitions, partial-statistics buffers, reduction.

A backend computes, for each partition of rows, partial statistics into its own
slot of the buffers made here; the partitions depend only on the data shape
(never on the thread count) and are summed in partition order, so a result is
bitwise the same with 1 or 16 threads.
"""

from contextlib import nullcontext

import numpy as np
from threadpoolctl import ThreadpoolController

from .._constants import COVARIANCE_TYPES  # noqa: F401

#: A partition holds at least this many rows (below it, threads cost more than
#: they save).
MIN_ROWS_PER_PARTITION = 2048
#: Upper bound on the number of partitions.
MAX_PARTITIONS = 64
#: Upper bound on the bytes of all partial-statistics buffers together.
PARTIAL_STATS_BUDGET = 32 * 2**20

#: The weights kernels get for "no sample weights": every row weighs 1, and
#: no O(n) array of ones is made.
NO_WEIGHTS = np.zeros(0)


def readonly(a):
    """A read-only plain-ndarray view of ``a`` (no copy).

    Kernels always receive inputs typed this way, whatever the caller passed
    (writable, read-only, memory-mapped): Numba then compiles one version per
    dtype, and a read-only X cannot give other rounding than a writable one.
    """
    view = np.asarray(a).view(np.ndarray)
    view.flags.writeable = False
    return view


def stats_shapes(n_components, n_features, covariance_type):
    """Shapes of (nk, s1, s2, cc) for one partition.

    ``cc`` is the co-responsibility matrix sum_i w_i r_ik r_il that only the
    tied pass needs (see `reduce_partials`); it is empty otherwise.
    """
    k, d = n_components, n_features
    s2 = {
        "full": (k, d, d),
        "tied": (d, d),
        "diag": (k, d),
        "spherical": (k,),
    }[covariance_type]
    cc = (k, k) if covariance_type == "tied" else (0, 0)
    return (k,), (k, d), s2, cc


def partition_bounds(n_samples, n_components, n_features, covariance_type):
    """Row bounds of the partitions: int64 array of length n_partitions + 1."""
    per_partition = sum(
        int(np.prod(s))
        for s in stats_shapes(n_components, n_features, covariance_type)
    ) * 8 + 8
    n_parts = -(-n_samples // MIN_ROWS_PER_PARTITION)
    n_parts = min(n_parts, MAX_PARTITIONS, max(1, PARTIAL_STATS_BUDGET // per_partition))
    n_parts = max(n_parts, 1)
    return (np.arange(n_parts + 1, dtype=np.int64) * n_samples) // n_parts


def empty_partials(n_parts, n_components, n_features, covariance_type):
    """Zeroed float64 partial statistics (nk, s1, s2, cc, ll), one slot each."""
    shapes = stats_shapes(n_components, n_features, covariance_type)
    nk, s1, s2, cc = (np.zeros((n_parts,) + s) for s in shapes)
    ll = np.zeros(n_parts)
    return nk, s1, s2, cc, ll


def tied_centering(means, precisions_chol):
    """Center g, shifted means m_k - g and (m_k - g) U for the tied pass.

    The tied pass computes (x - m_k) U as (x - g) U - (m_k - g) U, one
    triangular product per row instead of one per row and component. Shifting
    by the mean of the means keeps both terms at the scale of the spread of
    the components, not at the distance of the data from the origin.
    """
    center = means.mean(axis=0)
    shifted = means - center
    return center, shifted, shifted @ precisions_chol


def reduce_partials(partials, means, covariance_type, out):
    """Sum partition statistics in partition order into ``out``; return L.

    For 'full', the kernels fill the upper triangle of each S2_k; the lower
    one is mirrored here. For 'tied', the kernels accumulate
    A = sum_i w_i (x_i - mbar_i)(x_i - mbar_i)^T with mbar_i = sum_k r_ik m_k,
    and the co-responsibilities C_kl = sum_i w_i r_ik r_il; since
    sum_k r_k (x - m_k)(x - m_k)^T = (x - mbar)(x - mbar)^T
                                     + sum_{k<l} r_k r_l (m_k - m_l)(m_k - m_l)^T,
    S2 = A + sum_{k<l} C_kl (m_k - m_l)(m_k - m_l)^T: a sum of positive terms,
    free of cancellation, at O(d^2 + k^2) per row instead of O(k d^2).
    """
    nk, s1, s2, cc, ll = partials
    out.nk[...] = 0.0
    out.s1[...] = 0.0
    out.s2[...] = 0.0
    total = 0.0
    acc_cc = np.zeros(cc.shape[1:])
    for p in range(nk.shape[0]):
        out.nk += nk[p]
        out.s1 += s1[p]
        out.s2 += s2[p]
        acc_cc += cc[p]
        total += ll[p]
    if covariance_type == "full":
        upper = np.triu(out.s2)
        out.s2[...] = upper + np.swapaxes(np.triu(out.s2, 1), 1, 2)
    elif covariance_type == "tied":
        upper = np.triu(out.s2)
        out.s2[...] = upper + np.triu(out.s2, 1).T
        n_components = means.shape[0]
        for k in range(n_components - 1):
            dm = means[k] - means[k + 1 :]
            out.s2 += np.einsum("l,li,lj->ij", acc_cc[k, k + 1 :], dm, dm)
    return total


_controller = None


def single_threaded_blas(active=True):
    """Hold BLAS to one thread (inside our own threads, and around the EM loop).

    Besides oversubscription, this stops OpenBLAS's idle threads from spinning
    after each small LAPACK call of the M-step while our threads run the pass:
    on two cores that cost the pass a third of its speed. The controller scans
    the loaded libraries once; limiting with it costs microseconds.
    """
    global _controller
    if not active:
        return nullcontext()
    if _controller is None:
        _controller = ThreadpoolController()
    return _controller.limit(limits=1, user_api="blas")


def recenter_full(out, shift):
    """Move 'full' statistics taken around m + shift to be around m, in place.

    The float32 BLAS tiles compute x - m with the means rounded to float32,
    m' = m + shift; with S1' and S2' around m':
    S1 = S1' + N shift, S2 = S2' + S1' shift^T + shift S1'^T + N shift shift^T.
    The terms are small (shift is a float32 rounding error); no cancellation.
    """
    s1_prime = out.s1.copy()
    out.s1 += out.nk[:, None] * shift
    cross = s1_prime[:, :, None] * shift[:, None, :]
    out.s2 += cross + np.swapaxes(cross, 1, 2)
    out.s2 += out.nk[:, None, None] * shift[:, :, None] * shift[:, None, :]
