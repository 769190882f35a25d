#!/usr/bin/env bash
# Installs, builds, and runs the engine on the shipped fraud-detection example: checks the
# program, then replays two hours of card activity and prints the alerts it raises.
#
#   scripts/run_example.sh          the example through `simulate`
#   scripts/run_example.sh server   `varpulis server` on 127.0.0.1:$PORT (default 9000) with the
#                                   example deployed; prints curl lines to try; Ctrl-C stops it
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/build.sh"
bin=$root/build/release/varpulis
"$bin" check "$root/examples/fraud.vpl"
if [ "${1:-}" != "server" ]; then
  "$bin" simulate --program "$root/examples/fraud.vpl" --events "$root/examples/fraud.evt" --immediate
  exit 0
fi

port=${PORT:-9000}
key=example-key
url=http://127.0.0.1:$port
state=$root/build/example-state   # RocksDB state: pipelines survive a restart
"$bin" server --port "$port" --api-key "$key" --state-dir "$state" &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null' EXIT INT TERM
for _ in $(seq 100); do
  curl -sf "$url/health" >/dev/null 2>&1 && break
  sleep 0.1
done
# A restart finds the example already deployed (persisted); deploy it only once.
if ! "$bin" pipelines --server "$url" --api-key "$key" | grep -q ' fraud '; then
  "$bin" deploy --server "$url" --api-key "$key" --name fraud "$root/examples/fraud.vpl"
fi
id=$("$bin" pipelines --server "$url" --api-key "$key" | awk '$2 == "fraud" { print $1; exit }')
cat <<MSG

Pipeline "fraud" is deployed as $id. Try, in another terminal:

  curl -s -X POST $url/api/v1/pipelines/$id/events -H 'X-API-Key: $key' \\
       -H 'Content-Type: application/json' \\
       -d '{"event_type": "Purchase", "fields": {"user": "u01", "amount": 950.0, "merchant": "travel"}}'
  curl -N $url/api/v1/pipelines/$id/logs -H 'X-API-Key: $key'        # live alerts (SSE)
  curl -s $url/api/v1/pipelines -H 'X-API-Key: $key'                  # what is deployed
  curl -s $url/metrics                                                # Prometheus
  $bin logs --server $url --api-key $key $id

Ctrl-C stops the server (it checkpoints every pipeline first).
MSG
wait $server
