#!/usr/bin/env bash
# Installs missing packages, then configures and builds the release tree in build/release.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install_deps.sh"
build_type=${BUILD_TYPE:-Release}
build_dir=${BUILD_DIR:-$root/build/release}
cmake -S "$root" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE="$build_type" >/dev/null
ninja -C "$build_dir" -j"${JOBS:-$(nproc)}"
