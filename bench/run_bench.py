#!/usr/bin/env python3
"""Runs the ../shared/bench workloads through `varpulis simulate` and the hand-written anchors,
in the same run, and prints (or writes) a Markdown table with events/s and ratios.

usage: bench/run_bench.py [--events N] [--seed S] [--reps R] [--workloads a,b] [--write docs/performance.md]

Modes (per workload, best of R runs):
  processing-only: `simulate --immediate --preload --quiet`, events_per_second from its summary line,
                   against the anchor's `core` mode;
  end-to-end:      whole-process wall clock of `simulate --immediate --json > /dev/null`,
                   against the anchor's `e2e` mode.
Data and the anchor binary go to build/bench (shared/ may be read-only).
"""
import argparse
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "bench"
WORK = ROOT / "build" / "bench"
DEFAULT_WORKLOADS = ["filter", "aggregation", "temporal", "ema", "sequence", "kleene", "multi_sensor", "seq3",
                     "kleene_abc"]


def sh(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def build_anchor():
    WORK.mkdir(parents=True, exist_ok=True)
    exe = WORK / "anchors"
    src = SHARED / "anchors" / "anchors.cpp"
    if not exe.exists() or exe.stat().st_mtime < src.stat().st_mtime:
        r = sh(["g++", "-O3", "-march=native", "-std=c++17", "-o", str(exe), str(src)])
        if r.returncode:
            sys.exit(f"cannot build anchors: {r.stderr}")
    return exe


def data_file(workload, n, seed):
    f = WORK / f"{workload}-{n}-{seed}.evt"
    if not f.exists() or f.stat().st_size == 0:
        r = sh([sys.executable, str(SHARED / "gen.py"), workload, "--events", str(n), "--seed", str(seed),
                "--format", "evt", "--out", str(f)])
        if r.returncode:
            sys.exit(f"gen.py {workload} failed: {r.stderr}")
    return f


def kv(text):
    return dict(re.findall(r"(\w+)=([\d.e+-]+)", text))


def anchor_rate(exe, workload, mode, data, reps):
    r = sh([str(exe), workload, mode, str(data), "--reps", str(reps)])
    if r.returncode:
        return None, None
    d = kv(r.stdout)
    return float(d.get("events_per_s", 0)), int(float(d.get("outputs", 0)))


def engine_core(binary, engine, program, data, reps):
    best, outputs = 0.0, None
    for _ in range(reps):
        r = sh([str(binary), "simulate", "--program", str(program), "--events", str(data), "--immediate",
                "--preload", "--quiet", "--engine", engine], timeout=1800)
        if r.returncode:
            return None, None, r.stderr.strip().splitlines()[-1:] or ["?"]
        d = kv(r.stderr.strip().splitlines()[-1])
        best = max(best, float(d["events_per_second"]))
        outputs = int(d["outputs"])
    return best, outputs, None


def engine_e2e(binary, engine, program, data, n, reps):
    best = None
    for _ in range(reps):
        t0 = time.perf_counter()
        with open(os.devnull, "w") as null:
            r = subprocess.run([str(binary), "simulate", "--program", str(program), "--events", str(data),
                                "--immediate", "--json", "--engine", engine], stdout=null, stderr=subprocess.PIPE,
                               text=True, timeout=1800)
        dt = time.perf_counter() - t0
        if r.returncode:
            return None
        best = dt if best is None else min(best, dt)
    return n / best


def fmt(x):
    return "-" if x is None else f"{x / 1e6:.2f} M"


def ratio(a, b):
    return "-" if not a or not b else f"{a / b:.2f}x"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default=str(ROOT / "build" / "release" / "varpulis"))
    ap.add_argument("--events", type=int, default=1000000)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--workloads", default=",".join(DEFAULT_WORKLOADS))
    ap.add_argument("--engines", default="interp,jit", help="comma-separated simulate --engine values")
    ap.add_argument("--write", help="replace the generated table in this Markdown file")
    args = ap.parse_args()
    exe = build_anchor()
    rows = []
    for w in args.workloads.split(","):
        program = SHARED / "vpl" / f"{w}.vpl"
        if not program.exists():
            continue
        data = data_file(w, args.events, args.seed)
        a_core, a_out = anchor_rate(exe, w, "core", data, args.reps)
        a_e2e, _ = anchor_rate(exe, w, "e2e", data, args.reps)
        for engine in args.engines.split(","):
            e_core, e_out, err = engine_core(args.binary, engine, program, data, args.reps)
            e_e2e = engine_e2e(args.binary, engine, program, data, args.events, args.reps) if e_core else None
            note = "" if err is None else f"error: {err[0][:80]}"
            if e_out is not None and a_out is not None and e_out != a_out:
                note = f"outputs differ: engine {e_out}, anchor {a_out}"
            rows.append((w, engine, e_out, fmt(e_core), fmt(a_core), ratio(e_core, a_core), fmt(e_e2e), fmt(a_e2e),
                         ratio(e_e2e, a_e2e), note))
            print(rows[-1], file=sys.stderr)
    head = ("| workload | engine | outputs | engine processing | anchor core | ratio | engine e2e | anchor e2e | ratio | note |\n"
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---|\n")
    body = "".join("| " + " | ".join("" if c is None else str(c) for c in r) + " |\n" for r in rows)
    machine = f"{platform.machine()}, {os.cpu_count()} cores, {platform.platform()}"
    table = (f"<!-- bench:begin -->\nMeasured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {machine}; "
             f"{args.events} events, seed {args.seed}, best of {args.reps}.\n"
             f"Command: `python3 bench/run_bench.py --events {args.events} --reps {args.reps} --write docs/performance.md`\n\n"
             + head + body + "<!-- bench:end -->\n")
    print(table)
    if args.write:
        p = Path(args.write)
        text = p.read_text() if p.exists() else ""
        if "<!-- bench:begin -->" in text:
            text = re.sub(r"<!-- bench:begin -->.*<!-- bench:end -->\n", lambda _: table, text, flags=re.S)
        else:
            text += "\n" + table
        p.write_text(text)


if __name__ == "__main__":
    main()
