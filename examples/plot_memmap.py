"""
A memory-mapped fit and its memory
==================================

A fit reads a memory map (``np.load(path, mmap_mode="r")``) window by
window, ``window_bytes`` at a time, and never holds the whole file: the
memory it allocates is about one window, whatever the number of rows, and
its parameters equal those of the in-memory fit, bit for bit.

Here a file of 1,000,000 rows x 4 float32 (16 MB) is fitted from memory
and from its memory map with windows of 1, 2 and 4 MiB, and
:mod:`tracemalloc` measures the peak of what NumPy and Python allocate
during each fit.
"""

import os
import tempfile
import tracemalloc

import matplotlib.pyplot as plt
import numpy as np

import fastgmm

rng = np.random.RandomState(0)
n = 1_000_000
X = np.vstack([rng.randn(n // 2, 4), rng.randn(n // 2, 4) * 0.5 + 3]).astype(np.float32)
directory = tempfile.mkdtemp()
path = os.path.join(directory, "points.npy")
np.save(path, X)
print(f"{path}: {os.path.getsize(path) / 2**20:.1f} MiB")


def fit(data, **options):
    """Fit, and return the model and the peak allocated during the fit."""
    model = fastgmm.GaussianMixture(2, covariance_type="diag", random_state=0,
                                    init_sample_size=20_000, **options)
    tracemalloc.start()
    model.fit(data)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return model, peak / 2**20


# %%
# ``init_sample_size=20_000``: both fits initialize from the same sample of
# 20,000 rows, so that what is measured is the EM passes (by default a
# memory map of up to about a million rows initializes from all of them).

in_memory, peak_memory = fit(X)
peaks = {"X in memory": peak_memory}
for window in [1, 2, 4]:
    mapped = np.load(path, mmap_mode="r")
    model, peaks[f"memory map,\n{window} MiB windows"] = fit(
        mapped, window_bytes=window * 2**20)
    print(f"{window} MiB windows: parameters equal to the in-memory fit's:",
          np.array_equal(model.means_, in_memory.means_)
          and np.array_equal(model.covariances_, in_memory.covariances_))
    del mapped

for name, peak in peaks.items():
    print(f"{name.replace(chr(10), ' ')}: peak {peak:.1f} MiB allocated")

fig, ax = plt.subplots(figsize=(7, 4))
ax.bar(list(peaks), list(peaks.values()), color=["C1", "C0", "C0", "C0"])
ax.axhline(X.nbytes / 2**20, color="k", ls=":", label="the data (15.3 MiB)")
ax.set_ylabel("peak allocated during the fit (MiB)")
ax.set_title("memory a fit allocates, beyond the file")
ax.legend()
fig.tight_layout()
plt.show()

# %%
# A fit of X in memory allocates little beyond X itself either (X is
# allocated before the fit); from the memory map, X is never allocated: its
# pages are read in place and let go after each window. ``predict`` on a
# memory map also reads window by window, and returns one label per row.

labels = in_memory.predict(np.load(path, mmap_mode="r"))
print("labels:", labels.shape, labels.dtype)
os.remove(path)
os.rmdir(directory)
