"""Build of fastgmm's compiled extension (the Cython backend).

Metadata lives in pyproject.toml; this file declares the extension modules.

The Cython backend's sources are one module per role in
``fastgmm/kernels/_cython/`` (table `ROLES` in ``fastgmm/kernels/_dispatch.py``:
the tiles the others share, the fused pass, the posterior, k-means, the
M-step in C, the one-call EM run), with their shared declarations in
``.pxd`` files and the C in ``fastgmm/kernels/*.h``. They are compiled once
per instruction-set level, each level into a package of its own (table
`VARIANTS` in ``_dispatch.py``, which picks one at import time from the
CPU's features): the baseline ``fastgmm.kernels._cython`` for the compiler's
default target (plain x86-64 on x86: it runs on any CPU of the architecture)
and, on x86-64, ``_x86_64_v3_cython`` (``-march=x86-64-v3``: AVX2 and FMA),
the same instructions tuned for AMD Zen (``_x86_64_v3_amd_cython``,
``-mtune=znver3``, chosen on AMD CPUs) and ``_x86_64_v4_cython``
(``-march=x86-64-v4``: AVX-512). A role module cimports the others
relatively (``from ._tiles cimport ...``), so it calls the modules of its
own variant. A wheel built here runs anywhere its platform tag says.

Compiler flags are chosen by trying them: OpenMP only if a test program
compiles and links with it (without it the extension builds and runs on one
thread; see ``fastgmm.show_config()``). Release builds carry no debug
information (``-g0``).

Environment variables:

``FASTGMM_NATIVE=1``
    Build only the baseline module, with ``-march=native``: for a build used
    on this machine alone (it may not run on another CPU).
``FASTGMM_NO_EXTENSION=1``
    Build no extension: a pure-Python installation whose kernels are Numba's.
    Without a working C compiler (or without Python's headers) the build does
    the same by itself and says why.
``FASTGMM_PORTABLE``
    No effect: portable is the default now. Accepted so that old build
    scripts keep working.
"""

import importlib.machinery
import importlib.util
import json
import os
import shlex
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from concurrent.futures import ThreadPoolExecutor

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext
from setuptools.command.build_py import build_py

try:  # setuptools >= 65 re-exports distutils' errors here
    from setuptools.errors import CCompilerError, CompileError, ExecError, LinkError, PlatformError
    BUILD_ERRORS = (CCompilerError, CompileError, ExecError, LinkError, PlatformError)
except ImportError:  # pragma: no cover - old setuptools
    from distutils.errors import (CCompilerError, CompileError, DistutilsExecError,
                                  DistutilsPlatformError, LinkError)
    BUILD_ERRORS = (CCompilerError, CompileError, DistutilsExecError, LinkError,
                    DistutilsPlatformError)

HERE = os.path.dirname(os.path.abspath(__file__))
# the Cython backend's sources: a .pyx per role, the .pxd files they share
CYTHON_SOURCES = os.path.join("fastgmm", "kernels", "_cython")
# Cython writes its C files here, one directory per variant (they are
# generated, not in git, not in the sdist)
CYTHON_BUILD_DIR = os.path.join("build", "cython")
# what was built, for kernels/_dispatch.py and show_config(); package data
# written into the build output (not a module: the sdist leaves it out)
BUILD_INFO = os.path.join("fastgmm", "kernels", "_build_info.json")

# Reassociation lets sums over rows vectorize; no -ffinite-math-only: -inf
# log-probabilities must compare correctly.
MATH_FLAGS = ["-fno-math-errno", "-fassociative-math", "-fno-signed-zeros",
              "-fno-trapping-math"]
# The same levels spelled feature by feature, for compilers older than
# gcc 11 / clang 12, which do not know -march=x86-64-v3 / -v4.
MARCH_FALLBACK = {
    "x86-64-v3": ["-mcx16", "-msahf", "-mpopcnt", "-msse3", "-msse4.1", "-msse4.2",
                  "-mssse3", "-mavx", "-mavx2", "-mbmi", "-mbmi2", "-mf16c", "-mfma",
                  "-mlzcnt", "-mmovbe", "-mxsave"],
}
MARCH_FALLBACK["x86-64-v4"] = MARCH_FALLBACK["x86-64-v3"] + [
    "-mavx512f", "-mavx512bw", "-mavx512cd", "-mavx512dq", "-mavx512vl"]

OPENMP_TEST = r"""
#include <omp.h>
int main(void) {
    int n = 0;
    #pragma omp parallel reduction(+:n)
    n += 1;
    return n > 0 ? 0 : 1;
}
"""
PYTHON_H_TEST = "#include <Python.h>\nint main(void) { return 0; }\n"


def _env_flag(name):
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def _load_dispatch():
    """fastgmm/kernels/_dispatch.py, read without importing fastgmm."""
    path = os.path.join(HERE, "fastgmm", "kernels", "_dispatch.py")
    spec = importlib.util.spec_from_file_location("_fastgmm_build_dispatch", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _compiler():
    """The C compiler command (a list: CC may carry arguments, e.g. 'ccache gcc')."""
    cc = os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc"
    return shlex.split(cc)


def _compiles(flags, source="int main(void) { return 0; }\n", link_flags=()):
    """Whether the C compiler builds a small program with these flags."""
    cc = _compiler()
    if not cc or shutil.which(cc[0]) is None:
        return False
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "test.c")
        with open(src, "w") as f:
            f.write(source)
        cmd = [*cc, *flags, src, "-o", os.path.join(tmp, "test"), *link_flags]
        try:
            result = subprocess.run(cmd, capture_output=True, timeout=60)
        except (OSError, subprocess.SubprocessError):
            return False
        return result.returncode == 0


def _march_flags(level):
    """Flags that target `level` ('x86-64-v3', ...), or None if unsupported."""
    for flags in ([f"-march={level}"], MARCH_FALLBACK[level]):
        if _compiles(flags):
            return flags
    return None


def _is_x86_64():
    """Whether extensions for this Python run on x86-64 (not a 32-bit Python)."""
    return sysconfig.get_platform().lower().endswith(("x86_64", "amd64"))


class Plan:
    """What this build compiles: the variants with their flags, or why nothing."""

    def __init__(self):
        self.variants = []      # (Variant, extra compile flags)
        self.skipped = None     # why no extension is built
        self.notes = []         # variants left out, OpenMP missing, ...
        self.native = False
        self.openmp = False
        self.common_compile = []
        self.common_link = []
        self._decide()

    def _decide(self):
        if _env_flag("FASTGMM_NO_EXTENSION"):
            self.skipped = "FASTGMM_NO_EXTENSION=1 was set at build time"
            return
        cc = " ".join(_compiler())
        if not _compiles([]):
            self.skipped = f"the C compiler ({cc!r}) cannot build a test program"
            return
        paths = sysconfig.get_paths()
        include = paths["include"]
        if not _compiles([f"-I{include}", f"-I{paths['platinclude']}"], PYTHON_H_TEST):
            self.skipped = (f"Python's C headers (Python.h in {include}) are missing;"
                            " install the Python development package")
            return
        dispatch = _load_dispatch()
        # each role module includes the kernels' headers whole (_kernels.pxd)
        # and calls part of their static functions: no warning for the rest
        self.common_compile = ["-O3", "-g0"] + [
            f for f in MATH_FLAGS + ["-Wno-unused-function"] if _compiles([f])]
        if _compiles(["-fopenmp"], OPENMP_TEST, ["-fopenmp"]):
            self.openmp = True
            self.common_compile.append("-fopenmp")
            self.common_link.append("-fopenmp")
        else:
            self.notes.append(f"the C compiler ({cc!r}) does not support OpenMP: "
                              "the Cython backend will run on one thread")
        if _env_flag("FASTGMM_NATIVE"):
            if _compiles(["-march=native"]):
                self.native = True
                self.variants.append((dispatch.BASELINE, ["-march=native"]))
                return
            self.notes.append("FASTGMM_NATIVE=1: the compiler does not accept "
                              "-march=native; building the portable variants")
        for variant in dispatch.VARIANTS:
            if variant.march is None:
                self.variants.append((variant, []))
            elif _is_x86_64():
                flags = _march_flags(variant.march)
                if flags is not None and variant.mtune:
                    tune = [f"-mtune={variant.mtune}"]
                    if not _compiles(flags + tune):
                        self.notes.append(f"the C compiler cannot tune for "
                                          f"{variant.mtune}; {variant.name} is not built")
                        continue
                    flags = flags + tune
                if flags is None:
                    self.notes.append(f"the C compiler cannot target {variant.name}; "
                                      f"that variant is not built")
                else:
                    self.variants.append((variant, flags))

    def extensions(self):
        if self.skipped:
            return []
        import numpy as np
        from Cython.Build import cythonize

        directives = {
            "language_level": 3,
            "boundscheck": False,
            "wraparound": False,
            "cdivision": True,
            "initializedcheck": False,
        }
        dispatch = _load_dispatch()
        options = dict(compiler_directives=directives, quiet=True,
                       nthreads=os.cpu_count() or 1,
                       shared_utility_qualified_name=f"fastgmm.kernels.{dispatch.UTILITY}")
        # Cython's own code that the modules share (memoryviews, fused
        # functions): one module for every variant, no kernel in it
        modules = cythonize([Extension(
            f"fastgmm.kernels.{dispatch.UTILITY}", sources=[],
            extra_compile_args=list(self.common_compile),
            extra_link_args=list(self.common_link))], build_dir=CYTHON_BUILD_DIR, **options)
        for variant, flags in self.variants:
            # Cython names a module (and its PyInit_ function) after its
            # Extension, and resolves the relative cimports against that
            # name, so the same sources serve every variant; each variant
            # gets its own directory for the generated C files
            build_dir = os.path.join(CYTHON_BUILD_DIR, variant.name)
            exts = [Extension(
                f"fastgmm.kernels.{variant.module}.{role}",
                sources=[os.path.join(CYTHON_SOURCES, role + ".pyx")],
                include_dirs=[np.get_include(), "fastgmm/kernels"],
                extra_compile_args=self.common_compile + flags,
                extra_link_args=self.common_link,
                define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
            ) for role in dispatch.ROLES]
            _remove_stale_c(exts, build_dir)
            for module in cythonize(exts, build_dir=build_dir,
                                    include_path=[_pxd_tree(variant, build_dir)], **options):
                # cythonize merges the flags of every Extension made from the
                # same .pyx (it caches per file): set each one's own again
                module.extra_compile_args = self.common_compile + flags
                module.extra_link_args = list(self.common_link)
                modules.append(module)
        return modules

    def build_info(self, built, failed=()):
        """Text of fastgmm/kernels/_build_info.json."""
        skipped = self.skipped
        if not built and not skipped:
            skipped = "its compilation failed: " + "; ".join(failed)
        info = {
            "variants": list(built),   # built, best first
            "skipped": skipped,        # why no extension was built, or null
            "native": self.native,     # baseline compiled with -march=native
            "failed": list(failed),    # variants whose compilation failed
        }
        return json.dumps(info, indent=1) + "\n"

    def announce(self, built, failed=()):
        """Say once, on stderr, what was not built and why."""
        messages = list(self.notes) + [f"variant not built: {f}" for f in failed]
        if self.skipped or not built:
            reason = self.skipped or "its compilation failed"
            messages.append(
                f"the Cython backend was NOT built: {reason}. fastgmm installs "
                "without it; backend='numba' works and backend='auto' uses Numba.")
        for message in messages:
            print(f"fastgmm: {message}", file=sys.stderr)


PLAN = Plan()


def _pxd_tree(variant, build_dir):
    """A directory where Cython finds the sources' .pxd files as those of the
    variant's package (copies in fastgmm/kernels/<variant.module>/): the
    relative cimports of a module compiled as
    ``fastgmm.kernels.<variant.module>.<role>`` resolve there."""
    root = os.path.join(build_dir, "pxd")
    target = os.path.join(root, "fastgmm", "kernels", variant.module)
    os.makedirs(target, exist_ok=True)
    for name in os.listdir(CYTHON_SOURCES):
        if name.endswith(".pxd"):
            with open(os.path.join(CYTHON_SOURCES, name), "rb") as f:
                text = f.read()
            copy = os.path.join(target, name)
            if os.path.exists(copy):
                with open(copy, "rb") as f:
                    if f.read() == text:
                        continue
            with open(copy, "wb") as f:
                f.write(text)
    return root


def _remove_stale_c(exts, build_dir):
    """Remove the C files of `exts` in build_dir older than their .pyx or any
    .pxd of the sources, for cythonize to write them again (it does not
    follow the relative cimports to the .pxd files)."""
    pxds = [os.path.join(CYTHON_SOURCES, f) for f in os.listdir(CYTHON_SOURCES)
            if f.endswith(".pxd")]
    for ext in exts:
        pyx = ext.sources[0]
        target = os.path.join(build_dir, os.path.splitext(pyx)[0] + ".c")
        if (os.path.exists(target)
                and os.path.getmtime(target) < max(map(os.path.getmtime, [pyx] + pxds))):
            os.remove(target)


def _write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


class BuildPy(build_py):
    """Also writes _build_info.json; says why when no extension is built."""

    def run(self):
        super().run()
        planned = [] if PLAN.skipped else [v.name for v, _ in PLAN.variants]
        if getattr(self, "editable_mode", False):
            # an editable install reads the source tree
            target = os.path.join(HERE, BUILD_INFO)
            if PLAN.skipped:
                _remove_modules(os.path.dirname(target), keep=())
        else:
            target = os.path.join(self.build_lib, BUILD_INFO)
        # build_ext, when it runs, rewrites it with what it did build
        _write(target, PLAN.build_info(planned))
        if PLAN.skipped:
            # no build_ext runs: this is the only place to tell
            PLAN.announce([])


def _remove_modules(package_dir, keep):
    """Remove from package_dir (fastgmm/kernels) the compiled modules of the
    variants not in `keep`, those of no role in every variant's package, and
    Cython's shared module when no variant is kept, so that a stale one from
    an earlier build is never imported. Also the single module per variant
    of the builds before the split into roles (``_cython.<suffix>``, ...):
    it would be imported instead of the variant's package."""
    suffixes = sorted(importlib.machinery.EXTENSION_SUFFIXES, key=len, reverse=True)
    dispatch = _load_dispatch()
    if not keep:
        for suffix in suffixes:
            path = os.path.join(package_dir, dispatch.UTILITY + suffix)
            if os.path.isfile(path):
                os.remove(path)
    for variant in dispatch.VARIANTS:
        for suffix in suffixes:
            path = os.path.join(package_dir, variant.module + suffix)
            if os.path.isfile(path):
                os.remove(path)
        directory = os.path.join(package_dir, variant.module)
        if not os.path.isdir(directory):
            continue
        for name in os.listdir(directory):
            suffix = next((x for x in suffixes if name.endswith(x)), None)
            if suffix is not None and (variant.name not in keep
                                       or name[:-len(suffix)] not in dispatch.ROLES):
                os.remove(os.path.join(directory, name))
        if not os.listdir(directory):
            os.rmdir(directory)


class BuildExt(build_ext):
    """Builds the variants' role modules side by side; a failure of any loses
    that variant only (a variant is installed with all its roles or not).

    If the baseline fails, no extension is installed and the package still
    installs (the Numba backend needs no compiler). Writes _build_info.json
    next to the modules, and in place (editable installs) removes modules of
    variants this build did not produce, so a stale one is never imported.
    """

    def build_extensions(self):
        self.built, self.failed = [], []
        # the variant of each module; Cython's shared module counts as the
        # baseline's: without it no variant imports
        names = {ext.name: v.name for v, _ in PLAN.variants for ext in self.extensions
                 if ext.name.startswith(f"fastgmm.kernels.{v.module}.")}
        # the modules compile side by side (one compiler process each), as
        # build_ext --parallel would; --parallel N caps the number
        workers = os.cpu_count() or 1
        if isinstance(self.parallel, int) and not isinstance(self.parallel, bool):
            workers = self.parallel
        workers = max(1, min(workers, len(self.extensions)))
        errors = {}
        with ThreadPoolExecutor(max_workers=workers) as pool:
            jobs = [(ext, pool.submit(self.build_extension, ext)) for ext in self.extensions]
            for ext, job in jobs:
                try:
                    job.result()
                except BUILD_ERRORS as exc:
                    errors.setdefault(names.get(ext.name, "baseline"), f"{ext.name}: {exc}")
        # a variant is its role modules, all of them or none
        for variant, _ in PLAN.variants:
            if variant.name in errors:
                self.failed.append(f"{variant.name}: {errors[variant.name]}")
            else:
                self.built.append(variant.name)
        if "baseline" not in self.built:
            # the variants are only ever used beside a working baseline
            self.failed += [f"{name}: not installed without the baseline"
                            for name in self.built]
            self.built = []
        # what is copied in place and packed is what was built
        self.extensions = [ext for ext in self.extensions
                           if names.get(ext.name, "baseline") in self.built]

    def copy_extensions_to_source(self):
        # in place (editable installs): a variant's package is a directory
        # that only its modules make
        build_py = self.get_finalized_command("build_py")
        for package in {ext.name.rpartition(".")[0] for ext in self.extensions}:
            os.makedirs(build_py.get_package_dir(package), exist_ok=True)
        super().copy_extensions_to_source()

    def run(self):
        super().run()
        built, failed = getattr(self, "built", []), getattr(self, "failed", [])
        # fastgmm/kernels, in place or in the build output
        package_dir = os.path.dirname(self.get_ext_fullpath("fastgmm.kernels._build_info"))
        _write(os.path.join(package_dir, os.path.basename(BUILD_INFO)),
               PLAN.build_info(built, failed))
        _remove_modules(package_dir, keep=built)
        PLAN.announce(built, failed)


setup(ext_modules=PLAN.extensions(), cmdclass={"build_py": BuildPy, "build_ext": BuildExt})
