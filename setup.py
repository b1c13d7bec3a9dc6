"""Build of fastgmm's compiled extension (the Cython backend).

Metadata lives in pyproject.toml; this file declares the extension and picks
compiler flags by trying them: OpenMP only if a test program compiles and links
with it (without it the extension still builds and runs on one thread; see
``fastgmm.show_config()``), and ``-march=native`` unless FASTGMM_PORTABLE=1
(set it when building a wheel for other machines).
"""

import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile

from setuptools import Extension, setup

# Reassociation lets sums over rows vectorize; no -ffinite-math-only: -inf
# log-probabilities must compare correctly.
MATH_FLAGS = ["-fno-math-errno", "-fassociative-math", "-fno-signed-zeros",
              "-fno-trapping-math"]
OPENMP_TEST = r"""
#include <omp.h>
int main(void) {
    int n = 0;
    #pragma omp parallel reduction(+:n)
    n += 1;
    return n > 0 ? 0 : 1;
}
"""


def _compiler():
    return os.environ.get("CC") or sysconfig.get_config_var("CC").split()[0] or "cc"


def _compiles(flags, source="int main(void) { return 0; }\n", link_flags=()):
    """Whether the C compiler builds a small program with these flags."""
    cc = _compiler()
    if shutil.which(cc) is None:
        return False
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "test.c")
        with open(src, "w") as f:
            f.write(source)
        cmd = [cc, *flags, src, "-o", os.path.join(tmp, "test"), *link_flags]
        try:
            result = subprocess.run(cmd, capture_output=True, timeout=60)
        except (OSError, subprocess.SubprocessError):
            return False
        return result.returncode == 0


def extension():
    import numpy as np
    from Cython.Build import cythonize

    compile_args = ["-O3"]
    link_args = []
    if os.environ.get("FASTGMM_PORTABLE", "0") != "1" and _compiles(["-march=native"]):
        compile_args.append("-march=native")
    compile_args += [f for f in MATH_FLAGS if _compiles([f])]
    if _compiles(["-fopenmp"], OPENMP_TEST, ["-fopenmp"]):
        compile_args.append("-fopenmp")
        link_args.append("-fopenmp")
    else:
        print("fastgmm: the C compiler does not support OpenMP; the Cython "
              "backend will run on one thread", file=sys.stderr)
    ext = Extension(
        "fastgmm.kernels._cython",
        sources=["fastgmm/kernels/_cython.pyx"],
        include_dirs=[np.get_include(), "fastgmm/kernels"],
        extra_compile_args=compile_args,
        extra_link_args=link_args,
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
    )
    return cythonize(
        [ext],
        compiler_directives={
            "language_level": 3,
            "boundscheck": False,
            "wraparound": False,
            "cdivision": True,
            "initializedcheck": False,
        },
    )


setup(ext_modules=extension())
