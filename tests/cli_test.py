#!/usr/bin/env python3
"""The `varpulis` command-line contract (FORMATS.md §3.6): exit codes, output channels, --help.
usage: cli_test.py VARPULIS EXAMPLES_DIR
"""
import json
import subprocess
import sys
import tempfile
from pathlib import Path

BIN = str(Path(sys.argv[1]).resolve())
EXAMPLES = Path(sys.argv[2]).resolve()
results = []


def run(*args, cwd=None):
    return subprocess.run([BIN, *args], capture_output=True, text=True, cwd=cwd, timeout=30)


def case(name, cond, detail=""):
    results.append(cond)
    if not cond:
        print(f"FAIL {name}: {detail}")


with tempfile.TemporaryDirectory() as tmp:
    tmp = Path(tmp)
    good = tmp / "good.vpl"
    good.write_text("stream S = Reading.where(v > 1).emit(v: v)\nstream T = S.emit(w: v)\n")
    warn = tmp / "warn.vpl"
    warn.write_text("stream S = Reading.aggregate(n: count())\n")
    bad = tmp / "bad.vpl"
    bad.write_text("stream S = Reading\n    .where(v > > 1)\n")

    p = run("check", "good.vpl", cwd=tmp)
    case("check ok", p.returncode == 0 and p.stdout == "good.vpl: OK (2 statements, 0 warnings)\n" and p.stderr == "",
         repr((p.returncode, p.stdout, p.stderr)))
    p = run("check", "warn.vpl", cwd=tmp)
    case("check warning", p.returncode == 0 and p.stdout == "warn.vpl: OK (1 statements, 1 warnings)\n"
         and "warn.vpl:1:19: warning:" in p.stderr, repr((p.returncode, p.stdout, p.stderr)))
    p = run("check", "bad.vpl", cwd=tmp)
    case("check error", p.returncode == 1 and p.stdout == "" and "bad.vpl:2:" in p.stderr and "^" in p.stderr,
         repr((p.returncode, p.stdout, p.stderr)))
    p = run("check", "missing.vpl", cwd=tmp)
    case("check unreadable file", p.returncode == 1 and "missing.vpl" in p.stderr, repr((p.returncode, p.stderr)))

    p = run("parse", "good.vpl", cwd=tmp)
    try:
        doc = json.loads(p.stdout)
        case("parse json", p.returncode == 0 and len(doc["statements"]) == 2, p.stdout[:200])
    except ValueError as e:
        case("parse json", False, f"{e}: {p.stdout[:200]!r}")
    p = run("parse", "bad.vpl", cwd=tmp)
    case("parse error", p.returncode == 1 and p.stdout == "" and "bad.vpl:2:" in p.stderr, repr((p.returncode, p.stderr)))

    p = run("explain", "good.vpl", cwd=tmp)
    case("explain", p.returncode == 0 and "stream S" in p.stdout and "stream T" in p.stdout, p.stdout[:300])
    p = run("explain", "--dump-ir", "good.vpl", cwd=tmp)
    case("explain --dump-ir", p.returncode == 0 and "schemas:" in p.stdout and "routes:" in p.stdout, p.stdout[:300])
    p = run("explain", "bad.vpl", cwd=tmp)
    case("explain error", p.returncode == 1 and p.stdout == "", repr(p.returncode))

    for verb in ("check", "parse", "explain"):
        p = run(verb, "--help")
        case(f"{verb} --help", p.returncode == 0 and "usage:" in p.stdout, p.stdout[:200])
        p = run(verb)
        case(f"{verb} without file", p.returncode == 2 and "missing" in p.stderr, repr((p.returncode, p.stderr)))
        p = run(verb, "--bogus", "good.vpl", cwd=tmp)
        case(f"{verb} unknown option", p.returncode == 2, repr(p.returncode))
    p = run("frobnicate")
    case("unknown verb", p.returncode == 2, repr(p.returncode))
    p = run()
    case("no verb", p.returncode == 2, repr(p.returncode))
    p = run("--help")
    case("--help", p.returncode == 0 and "check" in p.stdout, p.stdout[:200])

    for example in sorted(EXAMPLES.glob("*.vpl")):
        p = run("check", str(example))
        case(f"example {example.name}", p.returncode == 0, p.stderr[:300])

failed = results.count(False)
print(f"{len(results) - failed} passed, {failed} failed")
sys.exit(1 if failed else 0)
