#!/usr/bin/env python3
"""Golden files: for each tests/golden/NAME.vpl, `varpulis explain` must print NAME.explain and
`varpulis explain --dump-ir` must print NAME.ir exactly. With --update, rewrite the files.
usage: golden_test.py VARPULIS GOLDEN_DIR [--update]
"""
import difflib
import subprocess
import sys
from pathlib import Path


def main():
    binary, gdir = str(Path(sys.argv[1]).resolve()), Path(sys.argv[2])
    update = "--update" in sys.argv[3:]
    programs = sorted(gdir.glob("*.vpl"))
    failed = 0
    for prog in programs:
        for suffix, extra in ((".explain", []), (".ir", ["--dump-ir"])):
            p = subprocess.run([binary, "explain", *extra, prog.name], cwd=gdir, capture_output=True, text=True)
            want_file = prog.with_suffix(suffix)
            if p.returncode != 0:
                failed += 1
                print(f"FAIL {prog.name}{suffix}: exit {p.returncode}: {p.stderr.strip()[:300]}")
                continue
            if update:
                want_file.write_text(p.stdout)
                continue
            want = want_file.read_text() if want_file.exists() else ""
            if p.stdout != want:
                failed += 1
                diff = "".join(difflib.unified_diff(want.splitlines(True), p.stdout.splitlines(True),
                                                    str(want_file.name), "actual"))
                print(f"FAIL {prog.name}{suffix}:\n{diff}")
    total = 2 * len(programs)
    print(f"{total - failed} passed, {failed} failed")
    return 1 if failed or not programs else 0


if __name__ == "__main__":
    sys.exit(main())
