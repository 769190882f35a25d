#!/usr/bin/env python3
"""How much of each conformance case runs as compiled code.

Runs `varpulis explain --engine jit` on every case's query.vpl and counts operators reported
`compiled` / `interpreted` and streams `fused into one compiled function`. A case counts as
fully compiled when none of its operators is interpreted. Issue 4 tracks this share to 100 %.

usage: bench/jit_share.py [--binary build/release/varpulis] [--cases ../shared/conformance/cases] [-v]
"""
import argparse
import collections
import os
import re
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default=os.path.join(ROOT, "build/release/varpulis"))
    ap.add_argument("--cases", default=os.path.join(ROOT, "../shared/conformance/cases"))
    ap.add_argument("-v", "--verbose", action="store_true", help="list every case")
    a = ap.parse_args()

    cases = sorted(d for d in os.listdir(a.cases) if os.path.isfile(os.path.join(a.cases, d, "query.vpl")))
    full = 0
    ops_compiled = ops_total = 0
    fused = streams = 0
    missing = collections.Counter()   # operator kind -> cases where it stays interpreted
    rejected = []
    step_preds = 0
    for case in cases:
        r = subprocess.run([a.binary, "explain", "--engine", "jit", os.path.join(a.cases, case, "query.vpl")],
                           capture_output=True, text=True)
        if r.returncode != 0:
            rejected.append(case)   # cases that test diagnostics have no plan
            continue
        jit = r.stdout[r.stdout.find("\njit: ") + 1:]
        kinds = re.findall(r"^\s+\d+ (\S[^:]*): (compiled|interpreted)", jit, re.M)
        step_preds += sum(int(n) for n in re.findall(r"\((\d+) step predicates? compiled\)", jit))
        n_streams = len(re.findall(r"^stream ", jit, re.M))
        n_fused = len(re.findall(r"fused into one compiled function", jit))
        interp = sorted({k for k, s in kinds if s == "interpreted"})
        ops_total += len(kinds)
        ops_compiled += sum(1 for _, s in kinds if s == "compiled")
        streams += n_streams
        fused += n_fused
        if not interp:
            full += 1
        for k in interp:
            missing[k] += 1
        if a.verbose:
            print(f"{case}: {'compiled' if not interp else 'interpreted: ' + ', '.join(interp)}")
    n = len(cases) - len(rejected)
    print(f"cases fully compiled: {full}/{n} ({100.0 * full / max(n, 1):.1f} %); "
          f"{len(rejected)} more cases are rejected by the checker (no plan)")
    print(f"operators compiled: {ops_compiled}/{ops_total} ({100.0 * ops_compiled / max(ops_total, 1):.1f} %)")
    print(f"streams fused into one function: {fused}/{streams}")
    print(f"pattern step predicates compiled (in interpreted sequence operators): {step_preds}")
    print("operators keeping cases on the interpreter: " +
          ", ".join(f"{k} ({c})" for k, c in missing.most_common()))


if __name__ == "__main__":
    main()
