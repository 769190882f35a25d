#!/usr/bin/env python3
"""The `varpulis` command-line contract (FORMATS.md §3.6): exit codes, output channels, --help.
usage: cli_test.py VARPULIS EXAMPLES_DIR
"""
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

BIN = str(Path(sys.argv[1]).resolve())
EXAMPLES = Path(sys.argv[2]).resolve()
results = []


def run(*args, cwd=None):
    return subprocess.run([BIN, *args], capture_output=True, text=True, errors="replace", cwd=cwd, timeout=60)


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
    seq = tmp / "seq.vpl"
    seq.write_text("stream P = A as a -> B where id == a.id as b .emit(x: a.id)\n"
                   "stream F = A.where(id > 1).emit(id: id)\n")
    p = run("explain", "--engine", "jit", "seq.vpl", cwd=tmp)
    case("explain --engine jit: type loops and what they hand over",
         p.returncode == 0 and "type A: one compiled loop over batches of rows, streams P (rows handed to its sequence) F\n"
         in p.stdout and "type B:" not in p.stdout  # B's only stream hands its rows over untouched
         and "0 sequence: compiled (transitions and predicates generated; runs, index and match rows in the runtime)"
         in p.stdout, p.stdout + p.stderr)
    case("explain --engine jit: the first stage's compile time, the full version's after it",
         re.search(r"^jit: O2, cpu \S+, compiled in [0-9.]+ ms \(\+ [0-9.]+ ms in the background for the fully "
                   r"optimised version; ", p.stdout, re.M) is not None, p.stdout)
    # skip_till_any_match sequences compile too (the kernel's kSeqTest / kSeqMask modes).
    anym = tmp / "anym.vpl"
    anym.write_text("pattern Q = SEQ(A as a, B where id == a.id as b) strategy skip_till_any_match\n"
                    "stream P = Q.emit(x: a.id)\n")
    p = run("explain", "--engine", "jit", "anym.vpl", cwd=tmp)
    case("explain --engine jit: an any-match sequence is compiled",
         p.returncode == 0
         and "0 sequence: compiled (transitions and predicates generated; runs, index and match rows in the runtime)"
         in p.stdout, p.stdout + p.stderr)
    # predicates reading no alias: the stack mode, its rows scanned by a generated loop
    (tmp / "anys.vpl").write_text("pattern Q = SEQ(A where id > 1 as a, B as b) strategy skip_till_any_match\n"
                                  "stream P = Q.emit(x: a.id)\n")
    out = run("explain", "--engine", "jit", "anys.vpl", cwd=tmp).stdout
    case("explain --engine jit: an any-match sequence whose predicates read no alias scans in generated code",
         "0 sequence: compiled (transitions and predicates generated, events scanned for their steps in one "
         "generated loop; stacks and match rows in the runtime)" in out, out)
    # a predicate the generated code cannot inline (a call) still keeps the runtime's loops
    anym.write_text("pattern Q = SEQ(A as a, B where abs(id) == a.id as b) strategy skip_till_any_match\n"
                    "stream P = Q.emit(x: a.id)\n")
    p = run("explain", "--engine", "jit", "anym.vpl", cwd=tmp)
    case("explain --engine jit: an any-match sequence with a call stays interpreted",
         p.returncode == 0 and "0 sequence: interpreted" in p.stdout, p.stdout + p.stderr)
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

    # Nothing a user types crashes the front end: each ends in a clean error (exit 1).
    hostile = {
        "huge.vpl": "".join(f"stream S{i} = A.where(x > {i})\n" for i in range(330000)),  # ~10 MB, valid
        "bigint.vpl": "stream S = A.where(x > 99999999999999999999)\n",
        "comment.vpl": "stream S = A /* never closed\n",
        "string.vpl": 'stream S = A.where(x == "open\n',
        "utf8.vpl": b"stream S = A.where(x == \"\xff\xfe\")\n",
        "nesting.vpl": "let x = " + "(" * 30 + "1" + ")" * 30 + "\n",
        "deep_ok.vpl": "let x = " + "(" * 24 + "1" + ")" * 24 + "\n",
        "nul.vpl": b"stream S = A\x00\n",
    }
    for name, text in hostile.items():
        path = tmp / name
        path.write_bytes(text if isinstance(text, bytes) else text.encode())
        p = run("check", name, cwd=tmp)
        want = 0 if name in ("huge.vpl", "deep_ok.vpl") else 1
        case(f"hostile {name}", p.returncode == want and (want == 0 or f"{name}:" in p.stderr),
             repr((p.returncode, p.stderr[-300:])))
        case(f"hostile {name} output is valid UTF-8", "\ufffd" not in p.stderr, repr(p.stderr[:200]))
    many = tmp / "many.vpl"
    many.write_text("stream S = A\n" * 500)
    p = run("check", "many.vpl", cwd=tmp)
    case("error flood is capped", p.returncode == 1 and p.stderr.count("error:") <= 101 and "more errors" in p.stderr,
         p.stderr[-200:])
    p = run("check", "bigint.vpl", cwd=tmp)
    case("bigint quoted", "99999999999999999999" in p.stderr and "bigint.vpl:1:24:" in p.stderr, p.stderr[:300])

    # simulate: output contract, errors, nothing written to the working directory.
    events = tmp / "ev.evt"
    events.write_text("@1000 Reading { v: 2 }\n@2000 Reading { v: 0 }\n@3000 Reading { v: 5.5 }\n")
    badev = tmp / "bad.evt"
    badev.write_text("# comment\n@0 Reading { v: 1 }\nReading v = 2\n@5 Reading { v: 3 }\n")
    before = sorted(x.name for x in tmp.iterdir())
    p = run("simulate", "--program", "good.vpl", "--events", "ev.evt", "--immediate", "--json", cwd=tmp)
    lines = [json.loads(l) for l in p.stdout.splitlines()]
    case("simulate json", p.returncode == 0 and [l["fields"] for l in lines if l["stream"] == "S"] == [{"v": 2}, {"v": 5.5}]
         and lines[0]["timestamp"] == 1000 and list(lines[0]) == ["stream", "event_type", "timestamp", "fields"],
         p.stdout[:300])
    case("simulate float stays float", '"v": 5.5' in p.stdout and '"w": 2}' in p.stdout, p.stdout[:300])
    last = p.stderr.strip().splitlines()[-1]
    case("simulate summary", last.startswith("events=3 outputs=4 process_seconds=") and "events_per_second=" in last, last)
    case("simulate writes nothing", sorted(x.name for x in tmp.iterdir()) == before, "")
    p = run("simulate", "-p", "good.vpl", "-e", "bad.evt", "--immediate", "--json", cwd=tmp)
    case("simulate bad event", p.returncode == 1 and "bad.evt:3: error:" in p.stderr and "Reading v = 2" in p.stderr,
         repr((p.returncode, p.stderr[:300])))
    p = run("simulate", "-p", "good.vpl", "-e", "bad.evt", "--immediate", "--json", "--skip-bad-events", cwd=tmp)
    case("simulate skip bad events", p.returncode == 0 and "skipped 1 bad event" in p.stderr and p.stdout.count("\n") == 2,
         repr((p.returncode, p.stdout, p.stderr[:300])))
    p = run("simulate", "-p", "bad.vpl", "-e", "ev.evt", "--immediate", cwd=tmp)
    case("simulate bad program", p.returncode == 1 and "bad.vpl:2:" in p.stderr and p.stdout == "", p.stderr[:200])
    p = run("simulate", "-p", "good.vpl", "--immediate", cwd=tmp)
    case("simulate usage", p.returncode == 2, repr(p.returncode))
    # --engine jit: the quick first stage before the first event, then the full version.
    p = run("simulate", "-p", "good.vpl", "-e", "ev.evt", "--immediate", "--engine", "jit", "-v", cwd=tmp)
    case("simulate jit two stages", p.returncode == 0 and "compiled in" in p.stderr and ", first stage)" in p.stderr
         and p.stderr.count("operators compiled in") == 2, p.stderr[-600:])
    p = run("simulate", "-p", "good.vpl", "-e", "ev.evt", "--immediate", "--engine", "jit", "-v", "--jit-tier", "full",
            cwd=tmp)
    case("simulate jit one full compile", p.returncode == 0 and "first stage" not in p.stderr
         and p.stderr.count("operators compiled in") == 1, p.stderr[-600:])
    # --engine auto on a few events: done long before compiling could pay off, so no LLVM.
    p = run("simulate", "-p", "good.vpl", "-e", "ev.evt", "--immediate", "--engine", "auto", "-v", cwd=tmp)
    case("simulate auto short input", p.returncode == 0 and "jit: not started" in p.stderr
         and "operators compiled in" not in p.stderr, p.stderr[-600:])
    p = run("simulate", "-p", "good.vpl", "-e", "ev.evt", "--engine", "jit", "--jit-tier", "fast", cwd=tmp)
    case("simulate unknown jit tier", p.returncode == 2 and "unknown jit tier" in p.stderr, p.stderr[-300:])
    p = run("simulate", "-p", "good.vpl", "-e", "ev.evt", "--immediate", "--preload", "--quiet", cwd=tmp)
    case("simulate quiet preload", p.returncode == 0 and p.stdout == "" and "outputs=4" in p.stderr, p.stderr[-200:])
    p = run("simulate", "-p", "good.vpl", "-e", "ev.evt", cwd=tmp)
    case("simulate paced", p.returncode == 0 and "S @1000 {v: 2}" in p.stdout, p.stdout[:200])
    # A stream longer than the ring of field arenas the streaming reader reuses (11 batches of
    # 4096 events), through a sequence that keeps string-valued events: the same outputs as
    # the preloaded run.
    seq = tmp / "seq.vpl"
    seq.write_text("event A:\n    id: str\n    v: int\nevent B:\n    id: str\n    v: int\n"
                   "stream M = A as a\n    -> B where id == a.id as b\n    .within(3s)\n"
                   "    .emit(id: b.id, av: a.v, bv: b.v)\n")
    with open(tmp / "long.evt", "w") as f:
        for i in range(60000):
            f.write(f'@{i} {"AB"[i % 3 == 0]} {{ id: "key{(i * 7919) % 97}", v: {i} }}\n')
    streamed = run("simulate", "-p", "seq.vpl", "-e", "long.evt", "--immediate", "--json", cwd=tmp)
    preloaded = run("simulate", "-p", "seq.vpl", "-e", "long.evt", "--immediate", "--preload", "--json", cwd=tmp)
    case("simulate streaming long input", streamed.returncode == 0 and streamed.stdout == preloaded.stdout
         and streamed.stdout.count("\n") > 10000, repr((streamed.returncode, streamed.stderr[-300:],
                                                         len(streamed.stdout), len(preloaded.stdout))))

    for example in sorted(EXAMPLES.glob("*.vpl")):
        p = run("check", str(example))
        case(f"example {example.name}", p.returncode == 0, p.stderr[:300])

failed = results.count(False)
print(f"{len(results) - failed} passed, {failed} failed")
sys.exit(1 if failed else 0)
