"""
Speed against scikit-learn (recorded results)
=============================================

The latest recorded whole fits with default arguments (k-means
initialization, EM to convergence, final E-step), fastgmm against
scikit-learn, read from the newest ``benchmarks/results-*-whole-fits.md``
(written by ``benchmarks/whole_fits.py``): the minimum of 3 runs, the same
labels and iterations as scikit-learn in every row. The file's first line
names the machine and the date.

This example draws those numbers; it does not time anything (the site is
built on machines of all kinds, often busy). To measure on your machine,
run ``python -m fastgmm demo`` or, from a source checkout,
``python benchmarks/whole_fits.py``.
"""

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

try:
    here = Path(__file__).resolve().parent
except NameError:  # (run cell by cell)
    here = Path.cwd()
results = sorted((here.parent / "benchmarks").glob("results-*-whole-fits.md"))[-1]
lines = results.read_text().splitlines()
machine = lines[0]
print(machine)


def seconds(cell):
    value, unit = cell.split()
    return float(value) * {"s": 1.0, "ms": 1e-3, "us": 1e-6}[unit]


# data: (scikit-learn seconds, fastgmm seconds), from the file's tables of
# whole fits and of the model search (their rows start with "| " and hold
# times in their 2nd and 3rd cells)
RUN = {}
for line in lines:
    cells = [c.strip() for c in line.strip("|").split("|")]
    if len(cells) >= 4 and cells[1][-1:] == "s" and cells[1][0].isdigit():
        RUN[cells[0]] = (seconds(cells[1]), seconds(cells[2]))
    if line.startswith("Per EM iteration"):
        break

names = list(RUN)
sklearn_s, fastgmm_s = np.array(list(RUN.values())).T
y = np.arange(len(names))

fig, (left, right) = plt.subplots(1, 2, figsize=(11, 5), sharey=True,
                                  gridspec_kw={"width_ratios": [3, 2]})
left.barh(y + 0.2, sklearn_s, height=0.4, label="scikit-learn", color="C1")
left.barh(y - 0.2, fastgmm_s, height=0.4, label="fastgmm", color="C0")
left.set_xscale("log")
left.set_xlabel("whole fit (s, log scale)")
left.set_yticks(y, names)
left.invert_yaxis()
left.legend(loc="lower right")
ratio = sklearn_s / fastgmm_s
right.barh(y, ratio, color="C2")
for yi, r in zip(y, ratio):
    right.text(r, yi, f" {r:.1f}x", va="center", fontsize=8)
right.set_xlabel("fastgmm's speed-up")
right.set_xlim(0, ratio.max() * 1.25)
fig.suptitle(machine.split(";")[0], fontsize=9)
fig.tight_layout()
plt.show()

# %%
# Small fits (iris, wine, digits) gain from running the whole EM loop in one
# compiled call; large ones from the fused pass, which reads the data once
# per iteration and keeps no n x k array. The performance page of the user
# guide has the other measurements, each with its machine and date.
