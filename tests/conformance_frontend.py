#!/usr/bin/env python3
"""Front-end conformance: `varpulis check` and `explain` on every public conformance query.

Cases tagged `parse` or `check` with exit code 1 must fail `check` with every word of their
`stderr_contains` on stderr (which includes the `query.vpl:L:` location). Every other case has a
valid query: `check` must print `query.vpl: OK (...)` and exit 0, and `explain` must exit 0.
usage: conformance_frontend.py VARPULIS CASES_DIR
"""
import json
import subprocess
import sys
from pathlib import Path


def run(cmd, cwd):
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=30)


def check_case(binary, case):
    expect = json.loads((case / "expect.json").read_text())
    tags = expect.get("feature", [])
    tags = [tags] if isinstance(tags, str) else tags
    is_error = expect.get("exit_code", 0) != 0 and ("parse" in tags or "check" in tags)
    p = run([binary, "check", "query.vpl"], case)
    if is_error:
        if p.returncode != 1:
            return f"check exited {p.returncode}, expected 1"
        if p.stdout:
            return f"check printed to stdout on error: {p.stdout[:100]!r}"
        for word in expect.get("stderr_contains", []):
            if word.lower() not in p.stderr.lower():
                return f"stderr lacks {word!r}: {p.stderr.strip()[:300]!r}"
        return None
    if p.returncode != 0:
        return f"check exited {p.returncode}: {p.stderr.strip()[:300]!r}"
    if not p.stdout.startswith("query.vpl: OK ("):
        return f"unexpected check output {p.stdout!r}"
    e = run([binary, "explain", "query.vpl"], case)
    if e.returncode != 0 or not e.stdout.strip():
        return f"explain exited {e.returncode}: {e.stderr.strip()[:300]!r}"
    d = run([binary, "explain", "--dump-ir", "query.vpl"], case)
    if d.returncode != 0:
        return f"explain --dump-ir exited {d.returncode}: {d.stderr.strip()[:300]!r}"
    return None


def main():
    binary, cases_dir = str(Path(sys.argv[1]).resolve()), Path(sys.argv[2])
    cases = sorted(c for c in cases_dir.iterdir() if (c / "expect.json").is_file())
    failed = 0
    for case in cases:
        reason = check_case(binary, case)
        if reason:
            failed += 1
            print(f"FAIL {case.name}: {reason}")
    print(f"{len(cases) - failed} passed, {failed} failed")
    return 1 if failed or not cases else 0


if __name__ == "__main__":
    sys.exit(main())
