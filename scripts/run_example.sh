#!/usr/bin/env bash
# Installs, builds, and runs the engine on the shipped fraud-detection example: checks the
# program, then replays two hours of card activity and prints the alerts it raises.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/build.sh"
bin=$root/build/release/varpulis
"$bin" check "$root/examples/fraud.vpl"
"$bin" simulate --program "$root/examples/fraud.vpl" --events "$root/examples/fraud.evt" --immediate
