#!/usr/bin/env bash
# The installed fastgmm runs on older x86-64 CPUs: a small fit with each
# backend under user-mode QEMU (Haswell: the x86-64-v3 module; Nehalem: the
# baseline), compared with the native fit; see ci/check_portable.py.
# Installs Debian's qemu-user when qemu-x86_64 is missing (needs root and apt).
# Run with the Python environment that has fastgmm installed active.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(uname -m)" != "x86_64" ]; then
    echo "check_portable: not an x86-64 machine; only the baseline module is built, nothing to check"
    exit 0
fi
if ! command -v qemu-x86_64 >/dev/null && ! command -v qemu-x86_64-static >/dev/null; then
    echo "check_portable: installing qemu-user (apt-get)"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq qemu-user >/dev/null
fi
python ci/check_portable.py
