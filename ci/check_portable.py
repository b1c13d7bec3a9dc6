"""Check that the installed fastgmm runs on CPUs older than the build machine.

Runs a small fit (500 x 3, 3 components) with each backend under user-mode
QEMU emulating two CPUs, and compares it with the same fit run natively:

- ``Haswell-noTSX`` (AVX2, FMA, no AVX-512): the dispatcher must choose the
  x86-64-v3 module, and asking for x86-64-v4 must fail with ImportError
  rather than crash;
- ``Nehalem`` (SSE4.2, no AVX): the baseline module;
- negative control: on Nehalem, importing an x86-64-v3 module directly must
  die with SIGILL, which shows that the emulator does enforce the CPU model
  (otherwise the two checks above would prove nothing).

Numba compiles for the CPU it runs on; compiling under emulation takes
minutes, so every run here uses ``NUMBA_CPU_NAME=generic`` (plain x86-64
code) and a private cache that the native run fills first; the emulated runs
load it. Under emulation, importing scikit-learn alone takes about 30 s;
the emulated runs go side by side.

Usage: ``python ci/check_portable.py`` (x86-64 Linux with qemu-x86_64 on the
PATH: Debian package qemu-user). Exits non-zero with a message on failure.
Needs QEMU 7.2 or newer (AVX2 emulation).
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

# (QEMU CPU model, variant the dispatcher must choose there)
EMULATED = [("Haswell-noTSX", "x86-64-v3"), ("Nehalem", "baseline")]
#: OpenBLAS's core type for each emulated CPU. A machine may set
#: OPENBLAS_CORETYPE for its own CPU (Haswell on a Zen 5 host here): OpenBLAS
#: then runs that core's kernels whatever CPU QEMU emulates, and NumPy's
#: import dies with SIGILL on an emulated Nehalem. An emulated run names the
#: emulated CPU's core instead; the native run keeps the machine's setting.
OPENBLAS_CORE = {"Haswell-noTSX": "Haswell", "Nehalem": "Nehalem"}
RTOL = 1e-9  # native and emulated runs may differ in BLAS and libm code paths
TIMEOUT = 900
MARK = "CHECK_PORTABLE_RESULT "


def _data():
    import numpy as np

    rng = np.random.default_rng(0)
    sizes = (167, 167, 166)
    return np.concatenate([rng.normal(c, 1.0, size=(n, 3))
                           for c, n in zip((-4.0, 0.0, 4.0), sizes)])


def _fit(backend):
    from fastgmm import GaussianMixture

    gm = GaussianMixture(3, backend=backend, random_state=0).fit(_data())
    return {"lower_bound": float(gm.lower_bound_), "means": gm.means_.tolist(),
            "n_iter": int(gm.n_iter_)}


def _fit_all(variants):
    """The fits, as a dict (run in a child process, natively or emulated).

    `variants`: Cython variants to force in turn ('auto': the dispatcher's
    choice)."""
    from fastgmm import kernels
    from fastgmm.kernels import _dispatch

    out = {"chosen": kernels.get_backend("cython").drivers.CPU_VARIANT,
           "numba": _fit("numba"),
           "cython": {}}
    for variant in variants:
        if variant == "auto":
            os.environ.pop(_dispatch.ENV_VARIANT, None)
        else:
            os.environ[_dispatch.ENV_VARIANT] = variant
        out["cython"][variant] = _fit("cython")
    # asked for by name, a variant this CPU cannot run is refused, not run
    out["refused"] = {}
    for variant in _dispatch.VARIANTS:
        os.environ[_dispatch.ENV_VARIANT] = variant.name
        try:
            kernels.get_backend("cython")
        except ImportError as exc:
            out["refused"][variant.name] = str(exc.__cause__ or exc)
    os.environ.pop(_dispatch.ENV_VARIANT, None)
    return out


def _sigill_probe():
    """Import the x86-64-v3 variant's first role module directly, bypassing
    the dispatcher.

    fastgmm/__init__.py is skipped (stand-in package modules point at the
    installed directories): it imports scikit-learn, 30 s under emulation.
    The module's initialization already runs AVX instructions."""
    import importlib
    import importlib.util
    import types

    root = importlib.util.find_spec("fastgmm").submodule_search_locations[0]
    for name, path in (("fastgmm", root), ("fastgmm.kernels", os.path.join(root, "kernels"))):
        package = types.ModuleType(name)
        package.__path__ = [path]
        sys.modules[name] = package
    importlib.import_module("fastgmm.kernels._x86_64_v3_cython._tiles")
    print("the x86-64-v3 module was imported")


def _child_env(cache_dir):
    env = dict(os.environ)
    env["NUMBA_CPU_NAME"] = "generic"
    env["NUMBA_CACHE_DIR"] = cache_dir
    env.pop("FASTGMM_CPU_VARIANT", None)
    # the emulated models are Intel's; qemu-user shows the host's /proc/cpuinfo
    env["FASTGMM_CPU_VENDOR"] = "GenuineIntel"
    return env


def _run(cmd, env):
    start = time.monotonic()
    try:
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True,
                              timeout=TIMEOUT)
    except subprocess.TimeoutExpired as exc:
        out, err = (x.decode(errors="replace") if isinstance(x, bytes) else (x or "")
                    for x in (exc.stdout, exc.stderr))
        proc = subprocess.CompletedProcess(cmd, None, out,
                                           err + f"\ntimed out after {TIMEOUT} s")
    seconds = time.monotonic() - start
    result = None
    for line in proc.stdout.splitlines():
        if line.startswith(MARK):
            result = json.loads(line[len(MARK):])
    return proc, result, seconds


def _close(a, b):
    import numpy as np

    return (np.allclose(a["means"], b["means"], rtol=RTOL, atol=1e-12)
            and np.isclose(a["lower_bound"], b["lower_bound"], rtol=RTOL, atol=0))


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--fit":
        print(MARK + json.dumps(_fit_all(sys.argv[2:])))
        return 0
    if len(sys.argv) > 1 and sys.argv[1] == "--sigill-probe":
        _sigill_probe()
        return 0

    qemu = shutil.which("qemu-x86_64") or shutil.which("qemu-x86_64-static")
    if qemu is None:
        print("check_portable: qemu-x86_64 not found (apt-get install qemu-user)")
        return 1
    from fastgmm.kernels import _dispatch

    built = [v.name for v in _dispatch.installed()]
    if "x86-64-v3" not in built:
        print(f"check_portable: the x86-64-v3 module is not installed (installed: {built})")
        return 1
    failures = []
    this = os.path.abspath(__file__)
    with tempfile.TemporaryDirectory(prefix="fastgmm-portable-") as cache_dir:
        env = _child_env(cache_dir)
        # native reference: every expected variant forced, and fills Numba's cache
        wanted = [variant for _, variant in EMULATED]
        proc, native, seconds = _run([sys.executable, this, "--fit", *wanted], env)
        print(f"native reference: {seconds:.1f} s")
        if native is None:
            print(proc.stdout, proc.stderr)
            print("check_portable: the native reference run failed")
            return 1

        jobs = {cpu: [qemu, "-cpu", cpu, sys.executable, this, "--fit", "auto"]
                for cpu, _ in EMULATED}
        jobs["sigill"] = [qemu, "-cpu", "Nehalem", sys.executable, this, "--sigill-probe"]
        def emulated_env(name):
            cpu = "Nehalem" if name == "sigill" else name
            return {**env, "OPENBLAS_CORETYPE": OPENBLAS_CORE[cpu]}

        with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
            futures = {name: pool.submit(_run, cmd, emulated_env(name))
                       for name, cmd in jobs.items()}
            results = {name: f.result() for name, f in futures.items()}

    for cpu, expected in EMULATED:
        proc, got, seconds = results[cpu]
        print(f"{cpu}: {seconds:.1f} s, exit code {proc.returncode}")
        if got is None:
            failures.append(f"{cpu}: the fit failed (exit code {proc.returncode})\n"
                            f"{proc.stdout[-2000:]}{proc.stderr[-3000:]}")
            continue
        print(f"  chosen variant {got['chosen']!r} (expected {expected!r}); refused: "
              f"{sorted(got['refused'])}")
        if got["chosen"] != expected:
            failures.append(f"{cpu}: chose {got['chosen']!r}, expected {expected!r}")
        # every installed variant ranked above the expected one
        # every installed variant ranked above the expected one that needs
        # more instructions (a variant only tuned otherwise is not refused)
        names = [v.name for v in _dispatch.VARIANTS]
        march = _dispatch.by_name(expected).march
        refused_expected = [v.name for v in _dispatch.VARIANTS[:names.index(expected)]
                            if v.name in built and v.march != march]
        if sorted(got["refused"]) != sorted(refused_expected):
            failures.append(f"{cpu}: refused {sorted(got['refused'])}, expected "
                            f"{sorted(refused_expected)}")
        for backend, mine, ref in [("cython", got["cython"]["auto"],
                                    native["cython"][expected]),
                                   ("numba", got["numba"], native["numba"])]:
            diff = abs(mine["lower_bound"] - ref["lower_bound"])
            print(f"  {backend}: lower bound {mine['lower_bound']:.15f}, "
                  f"native {ref['lower_bound']:.15f} (|diff| {diff:.1e})")
            if not _close(mine, ref):
                failures.append(f"{cpu}: the {backend} fit differs from the native one")

    proc, _, seconds = results["sigill"]
    print(f"negative control (x86-64-v3 module on Nehalem): {seconds:.1f} s, "
          f"exit code {proc.returncode}")
    if proc.returncode != -signal.SIGILL:
        failures.append("negative control: the x86-64-v3 module did not die with "
                        f"SIGILL on Nehalem (exit code {proc.returncode}); the "
                        f"emulator does not enforce the CPU model\n{proc.stderr[-2000:]}")
    if failures:
        print("check_portable: FAILED\n" + "\n".join(failures))
        return 1
    print("check_portable: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
