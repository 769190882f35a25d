#!/usr/bin/env bash
# Installs, builds, and runs the engine on the shipped fraud-detection example.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/build.sh"
bin=$root/build/release/varpulis
"$bin" check "$root/examples/fraud.vpl"
"$bin" explain "$root/examples/fraud.vpl"
