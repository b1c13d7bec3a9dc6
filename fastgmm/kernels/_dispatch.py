"""Which build of the Cython extension this CPU runs.

The Cython backend is one module per role (the table `ROLES`; sources in
``fastgmm/kernels/_cython/``). ``setup.py`` compiles them once per
instruction-set level, each level into a package named after it (the table
`VARIANTS`): the baseline ``_cython`` (the compiler's default target, plain
x86-64 on x86), ``_x86_64_v3_cython`` (``-march=x86-64-v3``: AVX2, FMA), the
same instructions tuned for AMD's Zen cores (``_x86_64_v3_amd_cython``,
``-mtune=znver3``) and ``_x86_64_v4_cython`` (``-march=x86-64-v4``:
AVX-512); a role module calls the others of its own package. `load_cython`
chooses the best variant that is installed and whose instructions the CPU
has, as NumPy detects them at run time (NumPy's check includes the operating
system's support for the wider registers); a variant tuned for a vendor only
on that vendor's CPUs (/proc/cpuinfo). Where NumPy's detection is not
available, only the baseline is used. On machines other than x86-64 only the
baseline is built. The drivers of the chosen variant are reached through one
object, its package, on which `load_cython` gathers what each role module
exports (its ``__all__``): every variant offers the same names.

Why a tuned variant: on a Zen 3 machine (2026-11-26), the x86-64-v3 module
with gcc 12's generic tuning ran the direct loops 9-25% slower than a
``-march=native`` build ('full' at d=2 and d=8, 'tied'), and 25-30% slower
than the same instructions with ``-mtune=znver3``, which matched or beat
``-march=native``. Tuning changes the scheduling of the same instructions,
never which ones: any variant runs on any CPU with its instruction set.

The environment variable ``FASTGMM_CPU_VARIANT`` (``baseline``,
``x86-64-v3``, ``x86-64-v3-amd`` or ``x86-64-v4``) asks for one variant; it
is refused with ImportError when the CPU lacks its instructions or it is not
installed. ``FASTGMM_CPU_VENDOR`` overrides the vendor read from
/proc/cpuinfo (tests, emulators).

This module imports nothing of fastgmm: ``setup.py`` reads `VARIANTS` from it.
"""

import functools
import importlib
import importlib.machinery
import json
import os
from collections import namedtuple

#: Environment variable that forces a variant (for tests and comparisons).
ENV_VARIANT = "FASTGMM_CPU_VARIANT"
#: Environment variable that overrides the CPU vendor (for tests, emulators).
ENV_VENDOR = "FASTGMM_CPU_VENDOR"

#: name: as in FASTGMM_CPU_VARIANT and show_config; module: in fastgmm.kernels;
#: march: the -march level setup.py compiles it for (None: compiler default);
#: required: NumPy feature names that must all be reported and true;
#: checked_if_reported: names that must be true when this NumPy reports them
#: at all (older NumPy releases do not report BMI, LZCNT, MOVBE, X86_V3, ...);
#: mtune: the -mtune setup.py adds (None: the compiler's default tuning);
#: vendor: the CPU vendor (cpuinfo's vendor_id) it is chosen for (None: any).
Variant = namedtuple("Variant", "name module march required checked_if_reported "
                                "mtune vendor", defaults=(None, None))

# x86-64-v3 is AVX, AVX2, BMI1, BMI2, F16C, FMA, LZCNT, MOVBE (and XSAVE) on
# top of v2; NumPy calls BMI1 'BMI' and FMA 'FMA3'. v4 adds AVX512F/BW/CD/DQ/VL.
_V3_REQUIRED = ("AVX", "AVX2", "FMA3", "F16C")
_V3_IF_REPORTED = ("SSE3", "SSSE3", "SSE41", "SSE42", "POPCNT", "BMI", "BMI2",
                   "LZCNT", "MOVBE", "X86_V2", "X86_V3")
_V4_REQUIRED = _V3_REQUIRED + ("AVX512F", "AVX512BW", "AVX512CD", "AVX512DQ",
                               "AVX512VL")
_V4_IF_REPORTED = _V3_IF_REPORTED + ("X86_V4",)

#: The role modules of each variant (fastgmm.kernels.<module>.<role>), in the
#: order they are imported: `_tiles` first, which every other one cimports
#: and which checks the C's constants against `_common` at import. The tiles
#: every pass shares; the fused pass (BLAS tiles, `accumulate_partitions`);
#: the posterior; k-means; the M-step in C; the one-call EM run.
ROLES = ("_tiles", "_pass", "_posterior", "_kmeans", "_mstep", "_em")
#: Cython's own code that the role modules share (memoryviews, fused
#: functions; fastgmm.kernels.<UTILITY>): one module for every variant,
#: compiled for the baseline target, no kernel in it.
UTILITY = "_cyutility"

#: Best first; the last one runs on any CPU.
VARIANTS = (
    Variant("x86-64-v4", "_x86_64_v4_cython", "x86-64-v4", _V4_REQUIRED,
            _V4_IF_REPORTED),
    Variant("x86-64-v3-amd", "_x86_64_v3_amd_cython", "x86-64-v3", _V3_REQUIRED,
            _V3_IF_REPORTED, mtune="znver3", vendor="AuthenticAMD"),
    Variant("x86-64-v3", "_x86_64_v3_cython", "x86-64-v3", _V3_REQUIRED,
            _V3_IF_REPORTED),
    Variant("baseline", "_cython", None, (), ()),
)
BASELINE = VARIANTS[-1]

_PACKAGE = __name__.rpartition(".")[0] or "fastgmm.kernels"


def cpu_features():
    """NumPy's run-time CPU feature dict, or None if this NumPy has none."""
    # NumPy >= 2 keeps it in numpy._core; 1.x in numpy.core (importing that
    # under NumPy 2 warns, hence the order)
    for name in ("numpy._core._multiarray_umath", "numpy.core._multiarray_umath"):
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        features = getattr(module, "__cpu_features__", None)
        if isinstance(features, dict):
            return dict(features)
    return None


def cpu_vendor():
    """The CPU's vendor string ('GenuineIntel', 'AuthenticAMD', ...) or None."""
    forced = os.environ.get(ENV_VENDOR)
    if forced is not None:
        return forced.strip() or None
    return _proc_vendor()


@functools.lru_cache(maxsize=1)
def _proc_vendor():
    """/proc/cpuinfo's vendor_id, read once (each backend lookup asks)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("vendor_id"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def missing_features(variant, features):
    """The CPU features `variant` needs that `features` lacks (a list)."""
    if not variant.required:
        return []
    if not features:
        return ["(no CPU feature detection)"]
    missing = [f for f in variant.required if not features.get(f, False)]
    missing += [f for f in variant.checked_if_reported
                if f in features and not features[f]]
    return missing


def by_name(name):
    """The variant called `name` ('x86-64-v3', 'x86_64_v3', 'baseline', ...)."""
    key = name.strip().lower().replace("_", "-")
    for variant in VARIANTS:
        if key == variant.name:
            return variant
    raise ImportError(
        f"{ENV_VARIANT}={name!r} is not a variant of fastgmm's Cython extension; "
        f"use one of {', '.join(v.name for v in VARIANTS)}")


def installed(package=_PACKAGE):
    """The variants whose role modules are all installed (best first).

    Looks for the files only: nothing of a variant is imported (its code
    may need instructions this CPU lacks). A single module in the place of
    a variant's package, from a build before the split into roles, would be
    imported instead of the package: that variant counts as not installed.
    """
    found = []
    path = importlib.import_module(package).__path__
    if importlib.machinery.PathFinder.find_spec(UTILITY, path) is None:
        return found
    for variant in VARIANTS:
        spec = importlib.machinery.PathFinder.find_spec(variant.module, path)
        where = None if spec is None else spec.submodule_search_locations
        if where and all(importlib.machinery.PathFinder.find_spec(role, list(where))
                         for role in ROLES):
            found.append(variant)
    return found


def select(features, available, forced=None, vendor=None):
    """The variant to import: `forced` (a name) or the best supported one.

    `features` is NumPy's feature dict (or None), `available` the installed
    variants, `vendor` the CPU's vendor (variants tuned for another vendor
    are passed over, unless forced). Raises ImportError when nothing fits,
    or when the forced variant is not installed or needs instructions the
    CPU lacks.
    """
    available = list(available)
    if forced:
        variant = by_name(forced)
        missing = missing_features(variant, features)
        if missing:
            raise ImportError(
                f"{ENV_VARIANT}={forced} asks for fastgmm's {variant.name} build, "
                f"but this CPU lacks {', '.join(missing)}")
        if variant not in available:
            raise ImportError(
                f"{ENV_VARIANT}={forced} asks for fastgmm's {variant.name} build, "
                f"which is not installed (installed: "
                f"{', '.join(v.name for v in available) or 'none'})")
        return variant
    for variant in available:
        if variant.vendor is not None and variant.vendor != vendor:
            continue
        if not missing_features(variant, features):
            return variant
    raise ImportError("fastgmm's Cython extension is not installed"
                      + _not_built_reason())


def build_info():
    """What setup.py built (its _build_info.json), or {} if it wrote none."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_build_info.json")
    try:
        with open(path) as f:
            info = json.load(f)
    except (OSError, ValueError):
        return {}
    return info if isinstance(info, dict) else {}


def _not_built_reason():
    info = build_info()
    reason = info.get("skipped")
    if not reason and info.get("variants"):
        reason = (f"the build made {', '.join(map(str, info['variants']))}, but their "
                  "modules are missing or of an older layout: rebuild it (pip install -e .)")
    return f" ({reason})" if reason else ""


def built_with_native():
    """Whether setup.py built the baseline module with -march=native."""
    return bool(build_info().get("native", False))


def load_cython(package=_PACKAGE):
    """Import the Cython backend for this CPU and return its drivers.

    The object returned is the chosen variant's package, holding the names
    that its role modules export (`ROLES`, each module's ``__all__``), and
    two more: ``BACKEND_NAME = 'cython'`` and ``CPU_VARIANT``, the variant's
    name ('native' for a FASTGMM_NATIVE=1 build of the baseline).
    """
    variant = select(cpu_features(), installed(package),
                     os.environ.get(ENV_VARIANT, "").strip() or None, cpu_vendor())
    module = importlib.import_module(f"{package}.{variant.module}")
    for role in ROLES:
        part = importlib.import_module(f"{package}.{variant.module}.{role}")
        for name in part.__all__:
            setattr(module, name, getattr(part, name))
    module.BACKEND_NAME = "cython"
    module.CPU_VARIANT = ("native" if variant is BASELINE and built_with_native()
                          else variant.name)
    return module
