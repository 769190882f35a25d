#!/usr/bin/env bash
# Installs, builds, and runs every test (unit tests, golden files, conformance front-end checks).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/build.sh"
ctest --test-dir "$root/build/release" --output-on-failure -j"${JOBS:-$(nproc)}"
