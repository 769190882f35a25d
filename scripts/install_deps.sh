#!/usr/bin/env bash
# Installs the Debian packages the build, tests and benchmarks need. Idempotent: exits at once
# when every package is present, and runs `apt-get update` at most once.
set -euo pipefail
packages=(
  build-essential cmake ninja-build ccache pkg-config python3
  llvm-19-dev clang-19 libboost1.81-all-dev libboost-json1.81-dev
  libsimdjson-dev librocksdb-dev librdkafka-dev libspdlog-dev libfmt-dev
  libgtest-dev libgmock-dev libbenchmark-dev libpaho-mqttpp-dev libpaho-mqtt-dev
  libssl-dev mosquitto curl
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "installing: ${missing[*]}" >&2
sudo_cmd=""
[ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
$sudo_cmd apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
