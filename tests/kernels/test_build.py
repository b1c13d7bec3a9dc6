"""The build's instruction-set variants and their choice at import time
(fastgmm/kernels/_dispatch.py). CPU features are mocked: no test imports a
variant this CPU cannot run (that would kill the interpreter with SIGILL)."""

import importlib.machinery
import itertools
import pathlib
import re
import sys

import pytest

import fastgmm
from fastgmm.kernels import _dispatch

V4, V3_AMD, V3, BASELINE = _dispatch.VARIANTS
ALL = list(_dispatch.VARIANTS)

# what NumPy 2.x reports on an AVX-512 (Skylake-X) machine, trimmed
SKYLAKE_X = {name: True for name in (
    "SSE", "SSE2", "SSE3", "SSSE3", "SSE41", "POPCNT", "SSE42", "AVX", "F16C",
    "FMA3", "AVX2", "BMI", "BMI2", "LZCNT", "MOVBE", "X86_V2", "X86_V3",
    "AVX512F", "AVX512CD", "AVX512VL", "AVX512BW", "AVX512DQ", "X86_V4")}
SKYLAKE_X.update(FMA4=False, XOP=False, AVX512_ICL=False, ASIMD=False, VSX=False)
HASWELL = {k: (v and not k.startswith("AVX512") and k != "X86_V4")
           for k, v in SKYLAKE_X.items()}
NEHALEM = {k: v and k in ("SSE", "SSE2", "SSE3", "SSSE3", "SSE41", "POPCNT", "SSE42",
                          "X86_V2") for k, v in SKYLAKE_X.items()}
# NumPy 1.x reported no BMI, LZCNT, MOVBE or X86_V* names
OLD_NUMPY_HASWELL = {k: v for k, v in HASWELL.items()
                     if k not in ("BMI", "BMI2", "LZCNT", "MOVBE", "X86_V2", "X86_V3")}


@pytest.mark.parametrize("features, expected", [
    (SKYLAKE_X, V4), (HASWELL, V3), (OLD_NUMPY_HASWELL, V3), (NEHALEM, BASELINE),
    (None, BASELINE), ({}, BASELINE)])
def test_best_supported_variant(features, expected):
    assert _dispatch.select(features, ALL) is expected


def test_only_installed_variants_are_chosen():
    assert _dispatch.select(SKYLAKE_X, [V3, BASELINE]) is V3
    assert _dispatch.select(SKYLAKE_X, [BASELINE]) is BASELINE
    with pytest.raises(ImportError, match="not installed"):
        _dispatch.select(SKYLAKE_X, [])


@pytest.mark.parametrize("feature", _dispatch.VARIANTS[0].required)
def test_v4_never_without_each_avx512_feature(feature):
    features = dict(SKYLAKE_X, **{feature: False})
    assert _dispatch.select(features, ALL) is not V4
    absent = {k: v for k, v in SKYLAKE_X.items() if k != feature}
    assert _dispatch.select(absent, ALL) is not V4


def test_v4_never_without_avx512f_whatever_else():
    # every combination of the other AVX-512 and v3 features
    others = [f for f in V4.required if f != "AVX512F"] + ["BMI2", "X86_V4"]
    for values in itertools.product([False, True], repeat=len(others)):
        features = dict(SKYLAKE_X, AVX512F=False, **dict(zip(others, values)))
        assert _dispatch.select(features, ALL) is not V4


def test_a_reported_false_feature_disqualifies():
    # BMI2, LZCNT, ... are checked when NumPy reports them
    assert _dispatch.select(dict(HASWELL, BMI2=False), ALL) is BASELINE
    assert _dispatch.select(dict(SKYLAKE_X, X86_V4=False), ALL) is V3


def test_forced_variant():
    assert _dispatch.select(SKYLAKE_X, ALL, forced="baseline") is BASELINE
    assert _dispatch.select(SKYLAKE_X, ALL, forced="x86_64_v3") is V3
    with pytest.raises(ImportError, match="lacks AVX512F"):
        _dispatch.select(HASWELL, ALL, forced="x86-64-v4")
    with pytest.raises(ImportError, match="not installed"):
        _dispatch.select(SKYLAKE_X, [BASELINE], forced="x86-64-v4")
    with pytest.raises(ImportError, match="not a variant"):
        _dispatch.select(SKYLAKE_X, ALL, forced="avx9000")


def test_numpy_knows_the_required_feature_names():
    features = _dispatch.cpu_features()
    if features is None or "AVX2" not in features:
        pytest.skip("this NumPy reports no x86 CPU features")
    for variant in ALL:
        for name in variant.required:
            assert name in features, name


def _cython_installed():
    return BASELINE in _dispatch.installed()


needs_extension = pytest.mark.skipif(not _cython_installed(),
                                     reason="needs the built extension")


@needs_extension
def test_load_follows_the_features(monkeypatch):
    monkeypatch.delenv(_dispatch.ENV_VARIANT, raising=False)
    monkeypatch.setattr(_dispatch, "cpu_features", lambda: dict(NEHALEM))
    module = _dispatch.load_cython()
    assert module.__name__ == "fastgmm.kernels._cython"
    assert module.BACKEND_NAME == "cython"
    assert module.CPU_VARIANT in ("baseline", "native")
    assert fastgmm.kernels.Backend("cython", module).name == "cython"


@needs_extension
def test_load_forced_and_refused(monkeypatch):
    monkeypatch.setenv(_dispatch.ENV_VARIANT, "baseline")
    assert _dispatch.load_cython().__name__ == "fastgmm.kernels._cython"
    monkeypatch.setattr(_dispatch, "cpu_features", lambda: dict(NEHALEM))
    for variant in (V3, V4):
        monkeypatch.setenv(_dispatch.ENV_VARIANT, variant.name)
        with pytest.raises(ImportError, match="this CPU lacks"):
            _dispatch.load_cython()


@needs_extension
def test_variants_runnable_here_have_the_same_functions(monkeypatch):
    # only those this CPU runs: importing another one would raise SIGILL
    here = _dispatch.cpu_features()
    names = None
    for variant in _dispatch.installed():
        if _dispatch.missing_features(variant, here):
            continue
        monkeypatch.setenv(_dispatch.ENV_VARIANT, variant.name)
        module = _dispatch.load_cython()
        assert module.CPU_VARIANT in (variant.name, "native")
        public = {n for n in dir(module) if not n.startswith("_")} - {"CPU_VARIANT"}
        assert names is None or public == names
        names = public


@needs_extension
def test_a_variant_is_its_package_of_role_modules(monkeypatch):
    # the drivers are the chosen variant's package, holding what each of its
    # role modules exports, none of them twice; every role module from it
    here = _dispatch.cpu_features()
    for variant in _dispatch.installed():
        if _dispatch.missing_features(variant, here):
            continue
        monkeypatch.setenv(_dispatch.ENV_VARIANT, variant.name)
        module = _dispatch.load_cython()
        assert module.__name__ == f"fastgmm.kernels.{variant.module}"
        exported = []
        for role in _dispatch.ROLES:
            part = sys.modules[f"{module.__name__}.{role}"]
            exported += part.__all__
            assert all(getattr(module, name) is getattr(part, name) for name in part.__all__)
        assert len(exported) == len(set(exported))


def test_role_modules_cimport_only_their_own_variant():
    # a relative cimport resolves against the name a module is compiled
    # under (fastgmm.kernels.<variant module>.<role>): a role module calls the
    # other role modules of its own variant, never another variant's
    sources = pathlib.Path(_dispatch.__file__).parent / "_cython"
    names = {p.stem for p in sources.glob("*.pyx")}
    assert names == set(_dispatch.ROLES)
    for path in [*sources.glob("*.pyx"), *sources.glob("*.pxd")]:
        for line in path.read_text().splitlines():
            match = re.match(r"\s*(?:from\s+(\S+)\s+)?cimport\s", line)
            if match and match.group(1) and match.group(1).startswith(("_", "fastgmm")):
                pytest.fail(f"{path.name}: {line.strip()} (not relative)")


def test_installed_looks_for_every_role_module(tmp_path, monkeypatch):
    # files only, nothing imported: a variant needs its package with all
    # role modules beside Cython's shared module; a module in the place of
    # its package (an older build's) is what Python would import: not it
    suffix = importlib.machinery.EXTENSION_SUFFIXES[0]
    package = tmp_path / "fakekernels"
    package.mkdir()
    (package / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    for variant in (V3, BASELINE):
        (package / variant.module).mkdir()
        for role in _dispatch.ROLES:
            (package / variant.module / (role + suffix)).write_text("")
    assert _dispatch.installed("fakekernels") == []
    (package / (_dispatch.UTILITY + suffix)).write_text("")
    assert _dispatch.installed("fakekernels") == [V3, BASELINE]
    (package / V3.module / (_dispatch.ROLES[-1] + suffix)).unlink()
    assert _dispatch.installed("fakekernels") == [BASELINE]
    (package / (BASELINE.module + suffix)).write_text("")
    assert _dispatch.installed("fakekernels") == []


@needs_extension
def test_show_config_names_the_variant(capsys):
    fastgmm.show_config()
    out = capsys.readouterr().out
    assert "cython_variant: " in out and "cython_variants_built: " in out


def test_a_tuned_variant_only_on_its_vendor():
    assert _dispatch.select(HASWELL, ALL, vendor="AuthenticAMD") is V3_AMD
    for vendor in ("GenuineIntel", None, "HygonGenuine"):
        assert _dispatch.select(HASWELL, ALL, vendor=vendor) is V3
    # the same instructions as x86-64-v3: never where v3 cannot run
    assert _dispatch.select(NEHALEM, ALL, vendor="AuthenticAMD") is BASELINE
    assert V3_AMD.march == V3.march and V3_AMD.required == V3.required
    # asked for by name, it runs wherever its instructions do
    assert _dispatch.select(HASWELL, ALL, forced="x86-64-v3-amd",
                            vendor="GenuineIntel") is V3_AMD


def test_cpu_vendor_can_be_overridden(monkeypatch):
    monkeypatch.setenv(_dispatch.ENV_VENDOR, "GenuineIntel")
    assert _dispatch.cpu_vendor() == "GenuineIntel"
    monkeypatch.setenv(_dispatch.ENV_VENDOR, "")
    assert _dispatch.cpu_vendor() is None
