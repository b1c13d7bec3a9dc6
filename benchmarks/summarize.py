"""Condense the table of ``python benchmarks/harness.py`` to one line per workload.

    python benchmarks/summarize.py benchmarks/results-2026-11-25.md

For each workload: each backend's time per iteration, then for the backend
that ``backend='auto'`` picks (the default): its speed-up over scikit-learn,
its share of the machine's peak, how it compares with oneDAL, its two-thread
scaling when the table has one-thread rows, and its predict_proba speed-up.
Prints Markdown (the README's table).
"""

import re
import sys

from fastgmm import kernels


def parse(lines):
    """{workload: {fitter: cells}} from the rows of the bench table."""
    table = {}
    for line in lines:
        if not line.startswith("| ") or line.startswith("| workload"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 9 or not re.match(r"[\d,]+ x \d+", cells[0]):
            continue
        table.setdefault(cells[0], {})[cells[1]] = cells[2:]
    return table


def _ms(cells):
    try:
        return float(cells[0])
    except (TypeError, ValueError, IndexError):
        return None


def _workload(label):
    """(n, d, k, covariance_type, dtype) from '1,000,000 x 8, k=16, full, float64'."""
    m = re.match(r"([\d,]+) x (\d+), k=(\d+), (\w+), (\w+)", label)
    n, d, k, covariance_type, dtype = m.groups()
    return int(n.replace(",", "")), int(d), int(k), covariance_type, dtype


def summarize(table):
    out = [
        "| workload (n = 1,000,000) | numba ms | cython ms | scikit-learn ms | "
        "auto vs sklearn | of peak | oneDAL ms | oneDAL / auto | "
        "2 threads vs 1 | predict_proba vs sklearn |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for workload, fitters in table.items():
        numba = fitters.get("fastgmm-numba")
        cython = fitters.get("fastgmm-cython")
        sk = fitters.get("scikit-learn")
        daal = fitters.get("daal4py (oneDAL)")
        n, d, k, covariance_type, _ = _workload(workload)
        best_name = kernels.get_backend("auto", n, d, k, covariance_type).name
        best = numba if best_name == "numba" else cython
        best_t = _ms(best)
        if best_t is None:
            continue
        t_daal = _ms(daal)
        one = fitters.get(f"fastgmm-{best_name} (1 thread)")
        scaling = f"{_ms(one) / best_t:.2f}x" if _ms(one) else ""
        if t_daal:
            versus_daal = f"{t_daal / best_t:.2f}x"
        elif daal and daal[0].startswith("NotImplementedError"):
            versus_daal = "n/a"  # oneDAL has no such covariance type
        elif daal:
            versus_daal = daal[0].split(":")[0]  # 'failed' or 'skipped'
        else:
            versus_daal = ""
        sk_text = sk[0] if sk else ""
        speedup = f"**{best[1]}** ({best_name})" if best[1] else f"— ({best_name})"
        if sk and _ms(sk) is None:
            sk_text = sk[0].split(":")[0]  # scikit-learn failed on this cell
        label = workload.split(" x ", 1)[1]
        out.append(
            f"| d={label} | {numba[0] if numba else ''} | "
            f"{cython[0] if cython else ''} | {sk_text} | "
            f"{speedup} | {best[3]} | "
            f"{t_daal if t_daal else ''} | {versus_daal} | {scaling} | {best[6]} |"
        )
    return out


def main(paths):
    lines = []
    for path in paths:
        with open(path) as f:
            lines.extend(f)
    print("\n".join(summarize(parse(lines))))


if __name__ == "__main__":
    main(sys.argv[1:])
