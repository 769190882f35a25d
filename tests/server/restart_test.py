#!/usr/bin/env python3
"""`varpulis server` as a process: deploy through the CLI client verbs, inject, checkpoint,
kill -9, restart on the same state directory and check that pipelines and their state are
back; then graceful shutdown on SIGTERM.

usage: restart_test.py VARPULIS_BINARY
"""

import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

KEY = "restart-test-key"
TIMEOUT = 120  # generous: a loaded 2-core CI box


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


class Server:
    def __init__(self, binary, state_dir, log_path):
        self.log = open(log_path, "ab")
        self.proc = subprocess.Popen(
            [binary, "server", "--port", "0", "--state-dir", state_dir, "--api-key", KEY,
             "--checkpoint-interval", "0.2", "--no-jit"],
            stdout=subprocess.PIPE, stderr=self.log)
        self.port = None
        deadline = time.time() + TIMEOUT
        buf = b""
        while time.time() < deadline and self.port is None:
            r, _, _ = select.select([self.proc.stdout], [], [], 1.0)
            if r:
                chunk = os.read(self.proc.stdout.fileno(), 4096)
                if not chunk:
                    break
                buf += chunk
                m = re.search(rb"Listening on http://[^:]+:(\d+)", buf)
                if m:
                    self.port = int(m.group(1))
        if self.port is None:
            self.proc.kill()
            fail("server did not print its port; stdout: %r" % buf)
        self.url = "http://127.0.0.1:%d" % self.port

    def call(self, method, path, body=None, expect=200):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("X-API-Key", KEY)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=TIMEOUT) as resp:
                status, text = resp.status, resp.read().decode()
        except urllib.error.HTTPError as e:
            status, text = e.code, e.read().decode()
        if status != expect:
            fail("%s %s: expected %d, got %d: %s" % (method, path, expect, status, text))
        return json.loads(text) if text else None

    def inject(self, pid, event_type, fields):
        return self.call("POST", "/api/v1/pipelines/%s/events" % pid,
                         {"event_type": event_type, "fields": fields})["output_events"]

    def checkpoints_ok(self):
        with urllib.request.urlopen(self.url + "/metrics", timeout=TIMEOUT) as resp:
            text = resp.read().decode()
        m = re.search(r'varpulis_checkpoints_total\{result="ok"\} (\d+)', text)
        return int(m.group(1)) if m else 0

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=TIMEOUT)

    def terminate(self):
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=TIMEOUT)


def cli(binary, server, *args, expect=0):
    p = subprocess.run([binary, *args, "--server", server.url, "--api-key", KEY],
                       capture_output=True, text=True, timeout=TIMEOUT)
    if p.returncode != expect:
        fail("varpulis %s: exit %d (expected %d)\nstdout: %s\nstderr: %s"
             % (" ".join(args), p.returncode, expect, p.stdout, p.stderr))
    return p


def wait_for_checkpoint(server, before):
    deadline = time.time() + TIMEOUT
    while time.time() < deadline:
        if server.checkpoints_ok() > before:
            return
        time.sleep(0.1)
    fail("no periodic checkpoint within %d s" % TIMEOUT)


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    binary = sys.argv[1]
    tmp = tempfile.mkdtemp(prefix="varpulis-restart-")
    try:
        state = os.path.join(tmp, "state")
        log = os.path.join(tmp, "server.log")
        win_file = os.path.join(tmp, "window.vpl")
        with open(win_file, "w") as f:
            f.write("stream Sum = M\n    .window(3)\n    .aggregate(total: sum(v))\n    .emit(total: total)\n")
        filt_file = os.path.join(tmp, "big.vpl")
        with open(filt_file, "w") as f:
            f.write("stream Big = Trade.where(qty >= 100).emit(sym: sym, qty: qty)\n")
        bad_file = os.path.join(tmp, "bad.vpl")
        with open(bad_file, "w") as f:
            f.write("stream Big = Trade.where(qty > > 1)\n")

        s = Server(binary, state, log)
        out = cli(binary, s, "deploy", win_file, "--name", "win").stdout
        m = re.search(r"Deployed pipeline win \(id ([0-9a-f-]+)\)", out)
        if not m:
            fail("deploy output: %r" % out)
        win = m.group(1)
        big = re.search(r"\(id ([0-9a-f-]+)\)", cli(binary, s, "deploy", filt_file).stdout).group(1)
        err = cli(binary, s, "deploy", bad_file, expect=1).stderr
        if not re.search(r"bad\.vpl:1:\d+: error: ", err):
            fail("deploy of a bad program: %r" % err)
        listing = cli(binary, s, "pipelines").stdout
        if win not in listing or big not in listing or "2 pipelines" not in listing:
            fail("pipelines output: %r" % listing)
        status = cli(binary, s, "status").stdout
        if '"healthy"' not in status or "active_pipelines" not in status:
            fail("status output: %r" % status)

        # `logs` follows the SSE stream.
        logs = subprocess.Popen([binary, "logs", big, "--server", s.url, "--api-key", KEY],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        got = ""
        deadline = time.time() + TIMEOUT
        while time.time() < deadline and '"sym": "ZZ"' not in got:
            # Keep injecting until the subscription is live and the event shows up.
            s.inject(big, "Trade", {"sym": "ZZ", "qty": 500})
            r, _, _ = select.select([logs.stdout], [], [], 0.5)
            if r:
                got += logs.stdout.readline()
        logs.kill()
        logs.wait()
        if '"sym": "ZZ"' not in got:
            fail("logs printed: %r" % got)

        # Two events into the count window, then a forced checkpoint, then kill -9.
        for v in (1, 2):
            if s.inject(win, "M", {"v": v}):
                fail("window emitted early")
        cp = s.call("POST", "/api/v1/pipelines/%s/checkpoint" % win)
        if cp["events_processed"] != 2 or cp["checkpoint"]["format"] != "varpulis-cpp":
            fail("checkpoint response: %r" % cp)
        s.kill9()

        s = Server(binary, state, log)
        pipes = s.call("GET", "/api/v1/pipelines")
        if [p["id"] for p in pipes["pipelines"]] != [win, big]:
            fail("pipelines after kill -9: %r" % pipes)
        if s.call("GET", "/api/v1/pipelines/%s/metrics" % win)["events_processed"] != 2:
            fail("events_processed not restored")
        outs = s.inject(win, "M", {"v": 4})
        if len(outs) != 1 or outs[0]["fields"]["total"] != 7:
            fail("window did not continue after kill -9: %r" % outs)

        # Periodic checkpoints alone (no forced one) also survive kill -9.
        before = s.checkpoints_ok()
        s.inject(win, "M", {"v": 100})
        wait_for_checkpoint(s, before)
        s.kill9()

        s = Server(binary, state, log)
        s.inject(win, "M", {"v": 10})
        outs = s.inject(win, "M", {"v": 20})
        if len(outs) != 1 or outs[0]["fields"]["total"] != 130:
            fail("periodic checkpoint lost after kill -9: %r" % outs)

        cli(binary, s, "undeploy", big)
        if "1 pipeline" not in cli(binary, s, "pipelines").stdout:
            fail("undeploy did not remove the pipeline")
        cli(binary, s, "undeploy", big, expect=1)

        # Graceful shutdown: exit 0, and the state written at shutdown is there next time.
        s.inject(win, "M", {"v": 1})
        rc = s.terminate()
        if rc != 0:
            fail("SIGTERM exit status %d" % rc)
        s = Server(binary, state, log)
        if s.call("GET", "/api/v1/pipelines/%s/metrics" % win)["events_processed"] != 7:
            fail("state written at shutdown not restored")
        s.terminate()
        print("PASS")
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
