#!/usr/bin/env python3
"""Differential check of the execution engines on the conformance corpus.

usage: engines_identical.py VARPULIS CASES_DIR

Runs every case (a folder with query.vpl, events.evt) through `varpulis simulate` with
--engine interp, --engine jit, --engine auto with the swap forced after 1 and 2 events, and
free-running --engine auto (swaps whenever the background compile is done), and requires
byte-identical stdout and the same exit code from all of them.
"""
import subprocess
import sys
from pathlib import Path

MODES = [
    ["--engine", "interp"],
    ["--engine", "jit"],
    ["--engine", "auto", "--swap-after", "1"],
    ["--engine", "auto", "--swap-after", "2"],
    ["--engine", "auto"],
]


def run(varpulis, case, mode):
    cmd = [varpulis, "simulate", "--program", "query.vpl", "--events", "events.evt", "--immediate", "--json", *mode]
    p = subprocess.run(cmd, cwd=case, capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout


def main():
    varpulis, cases_dir = sys.argv[1], Path(sys.argv[2])
    cases = sorted(d for d in cases_dir.iterdir() if (d / "query.vpl").is_file() and (d / "events.evt").is_file())
    failed = 0
    for case in cases:
        reference = run(varpulis, case, MODES[0])
        for mode in MODES[1:]:
            got = run(varpulis, case, mode)
            if got != reference:
                failed += 1
                print(f"FAIL {case.name}: {' '.join(mode)} differs from --engine interp "
                      f"(exit {got[0]} vs {reference[0]})")
                ref_lines, got_lines = reference[1].splitlines(), got[1].splitlines()
                for i, (a, b) in enumerate(zip(ref_lines, got_lines)):
                    if a != b:
                        print(f"  first difference at output line {i + 1}:\n    interp: {a}\n    {mode[1]}: {b}")
                        break
                else:
                    print(f"  {len(ref_lines)} vs {len(got_lines)} output lines")
    print(f"{len(cases)} cases x {len(MODES)} modes: {failed} differences")
    return 1 if failed or not cases else 0


if __name__ == "__main__":
    sys.exit(main())
