"""
A memory-mapped fit and its memory
==================================

A fit reads a memory map (``np.load(path, mmap_mode="r")``) window by
window and never holds the whole file: a read-only float32 or float64 map
is read in place, each window's pages let go after use. Loading the file
into memory instead costs the whole array.

Here files of 0.5 to 4 million rows x 4 float32 (8 to 61 MiB) are fitted
both ways, and :mod:`tracemalloc` measures the peak of what NumPy and
Python allocate from opening the file to the end of the fit.
"""

import os
import tempfile
import tracemalloc

import matplotlib.pyplot as plt
import numpy as np

import fastgmm

directory = tempfile.mkdtemp()
path = os.path.join(directory, "points.npy")


def load_and_fit(mmap_mode):
    """Open the file, fit; return the model and the peak allocated (MiB)."""
    tracemalloc.start()
    X = np.load(path, mmap_mode=mmap_mode)
    model = fastgmm.GaussianMixture(2, covariance_type="diag", random_state=0,
                                    init_sample_size=20_000).fit(X)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return model, peak / 2**20


# %%
# ``init_sample_size=20_000``: both fits initialize from the same sample of
# 20,000 rows. (By default, a memory map initializes from all its rows
# while that takes at most about 128 MiB, then from a sample of about a
# million rows, with a warning.)

rng = np.random.RandomState(0)
# a first small fit loads the compiled kernels, which is not the fit's memory
fastgmm.GaussianMixture(2, covariance_type="diag").fit(rng.randn(1000, 4).astype(np.float32))
rows, in_memory, mapped = [], [], []
for n in [500_000, 1_000_000, 2_000_000, 4_000_000]:
    X = np.vstack([rng.randn(n // 2, 4), rng.randn(n // 2, 4) * 0.5 + 3]).astype(np.float32)
    np.save(path, X)
    del X
    a, peak_a = load_and_fit(None)      # the whole file read into memory
    b, peak_b = load_and_fit("r")       # a read-only memory map
    same = (np.array_equal(a.means_, b.means_)
            and np.array_equal(a.covariances_, b.covariances_))
    print(f"{n:>9,} rows ({os.path.getsize(path) / 2**20:4.0f} MiB): peak "
          f"{peak_a:5.1f} MiB read into memory, {peak_b:4.1f} MiB memory-mapped; "
          f"the same parameters: {same}")
    rows.append(n)
    in_memory.append(peak_a)
    mapped.append(peak_b)
os.remove(path)
os.rmdir(directory)

fig, ax = plt.subplots(figsize=(7, 4))
ax.plot(rows, in_memory, "o-", color="C1", label="np.load(path): X in memory")
ax.plot(rows, mapped, "o-", color="C0", label='np.load(path, mmap_mode="r")')
ax.set_xlabel("rows in the file (4 float32 columns)")
ax.set_ylabel("peak allocated, open + fit (MiB)")
ax.set_title("memory of a fit: in memory against memory-mapped")
ax.legend()
fig.tight_layout()
plt.show()

# %%
# The memory-mapped fit's memory does not grow with the file, and its
# parameters equal the in-memory fit's bit for bit. ``predict``,
# ``predict_proba`` and ``score_samples`` read a memory map window by window
# too (their output, one value per row, is in memory). ``window_bytes``
# (64 MiB by default) sets how many rows a window holds.
