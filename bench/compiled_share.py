#!/usr/bin/env python3
"""Share of conformance cases whose every operator runs compiled under the JIT.

Runs `varpulis explain --engine jit` on each case's query and counts the cases whose operator
lines all say `compiled` (cases whose query does not plan, the error cases, are left out).
Prints the share, then per blocking operator kind the cases it keeps on the interpreter.

    python3 bench/compiled_share.py [--varpulis build/release/varpulis] [--cases DIR] [-v]
"""
import argparse
import collections
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OP_LINE = re.compile(r"^\s+\d+ (\S[^:]*): (compiled|interpreted)")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--varpulis", default=os.path.join(ROOT, "build/release/varpulis"))
    ap.add_argument("--cases", default=os.path.join(ROOT, "../shared/conformance/cases"))
    ap.add_argument("-v", "--verbose", action="store_true", help="list every case")
    args = ap.parse_args()

    total = compiled = 0
    blockers = collections.defaultdict(list)
    for name in sorted(os.listdir(args.cases)):
        query = os.path.join(args.cases, name, "query.vpl")
        if not os.path.exists(query):
            continue
        p = subprocess.run([args.varpulis, "explain", "--engine", "jit", query], capture_output=True, text=True)
        if p.returncode != 0:
            continue
        ops = [m.groups() for m in map(OP_LINE.match, p.stdout.splitlines()) if m]
        total += 1
        slow = sorted({kind for kind, how in ops if how == "interpreted"})
        if slow:
            for kind in slow:
                blockers[kind].append(name)
        else:
            compiled += 1
        if args.verbose:
            print(f"{name}: {'compiled' if not slow else 'interpreted: ' + ', '.join(slow)}")
    print(f"compiled share: {compiled}/{total}")
    for kind, names in sorted(blockers.items(), key=lambda kv: -len(kv[1])):
        print(f"  {kind} ({len(names)}): {' '.join(names)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
