#!/usr/bin/env python3
"""Server benchmark of issue 5: batch ingest and single-event latency over loopback.

Starts `varpulis server --port 0` with a fresh state directory under the build folder, then
runs `varpulis_load` (bench/load/server_load.cpp) twice against a pipeline running the `filter`
workload query: `events-batch` as fast as the server takes it, and single `events` requests
open-loop at a fixed rate. Prints a Markdown table; `--write FILE` replaces the block between
`<!-- server-bench:begin -->` and `<!-- server-bench:end -->` in FILE.

usage: bench/run_server_bench.py [--build build/release] [--seconds 10] [--rate 5000] [--write docs/performance.md]
"""
import argparse
import datetime
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def start_server(build, state):
    shutil.rmtree(state, ignore_errors=True)
    proc = subprocess.Popen([os.path.join(build, "varpulis"), "server", "--port", "0", "--api-key", "bench-key",
                             "--state-dir", state, "--log-level", "warn", "--checkpoint-interval", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    deadline = time.time() + 30
    while time.time() < deadline:
        line = proc.stdout.readline()
        m = re.search(r"Listening on http://[^:]+:(\d+)", line or "")
        if m:
            return proc, m.group(1)
        if proc.poll() is not None:
            break
    proc.kill()
    sys.exit("server did not start")


def load(build, port, *args):
    r = subprocess.run([os.path.join(build, "varpulis_load"), "--port", port, "--api-key", "bench-key",
                        "--program", os.path.join(ROOT, "../shared/bench/vpl/filter.vpl"), *args],
                       capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"varpulis_load failed: {r.stderr}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build/release"))
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--rate", type=float, default=5000)
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--connections", type=int, default=4)
    ap.add_argument("--tenants", type=int, default=4,
                    help="batch mode: tenants (each capped at its 500 000 events/s quota), one pipeline each")
    ap.add_argument("--write")
    a = ap.parse_args()

    proc, port = start_server(a.build, os.path.join(a.build, "server-bench-state"))
    try:
        b = load(a.build, port, "--mode", "batch", "--seconds", str(a.seconds), "--batch", str(a.batch),
                 "--connections", str(a.connections), "--tenants", str(a.tenants))
        l = load(a.build, port, "--mode", "latency", "--seconds", str(a.seconds), "--rate", str(a.rate),
                 "--connections", "4")
    finally:
        proc.terminate()
        proc.wait(timeout=30)

    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    cmd = "python3 bench/run_server_bench.py " + " ".join(sys.argv[1:])
    table = (f"Measured {now} on {platform.machine()}, {os.cpu_count()} cores; server and load generator on the "
             f"same machine (loopback).\nCommand: `{cmd.strip()}`\n\n"
             "| measurement | result | target |\n|---|---:|---:|\n"
             f"| `events-batch` ingest, filter pipeline, {a.batch} events/request, {a.tenants} tenants × 1 pipeline, "
             f"{a.connections} connections ({b['throttled']} of {b['requests']} requests answered 429 by a tenant quota) "
             f"| {b['events_per_second'] / 1e6:.2f} M events/s | ≥ 1 M events/s |\n"
             f"| single `events`, offered {l['rate']:.0f}/s (achieved {l['achieved_rate']:.0f}/s), 4 connections: p50 "
             f"| {l['p50_ms']:.3f} ms | |\n"
             f"| same: p99 | {l['p99_ms']:.3f} ms | < 2 ms |\n"
             f"| same: p99.9 / max | {l['p999_ms']:.3f} / {l['max_ms']:.3f} ms | |\n")
    print(table)
    if a.write:
        text = open(a.write).read()
        begin, end = "<!-- server-bench:begin -->", "<!-- server-bench:end -->"
        block = f"{begin}\n{table}{end}"
        if begin in text:
            text = re.sub(re.escape(begin) + ".*?" + re.escape(end), lambda _: block, text, flags=re.S)
        else:
            text += "\n## Server (issue 5)\n\n" + block + "\n"
        open(a.write, "w").write(text)


if __name__ == "__main__":
    main()
