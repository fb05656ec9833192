#!/usr/bin/env python3
"""The browser driver of bench/run.sh: opens the benchmark page once per case, each time in a
fresh headless Chromium (through chromedriver's WebDriver HTTP API, so no Python packages are
needed), waits for `window.benchResult`, adds the peak resident memory of the page's renderer
process (the process that hosts the page's workers and their wasm memory), and prints one JSON
line per case.

Usage: browser.py PAGE_URL QUERY [QUERY ...]   (each QUERY is the page's query string, plus
`&label=...` which is copied into the output)
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")
# Runs chromedriver in a process group of its own and kills the group (every Chromium process)
# when our end of its stdin closes: when quit() closes it, or when this process dies in any way.
GUARD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts", "guard.sh")
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# A generous bound for one case (download, 6 loads, 6 x 256 tokens on a loaded machine).
CASE_TIMEOUT_S = 1800


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Chromium:
    def __init__(self):
        self.port = free_port()
        self.driver = subprocess.Popen(
            [GUARD, CHROMEDRIVER, f"--port={self.port}"],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            process_group=0,
        )
        deadline = time.time() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if time.time() > deadline:
                    raise RuntimeError("chromedriver did not start")
                time.sleep(0.1)
        self.profile = tempfile.mkdtemp(prefix="lantern-bench-chromium-")
        args = [
            "--headless", "--no-sandbox", "--disable-dev-shm-usage", "--disable-quic",
            "--no-first-run", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--disable-extensions",
            # No WebGPU adapter: both engines must run on the CPU (wllama 3 would use WebGPU).
            "--disable-gpu",
            f"--user-data-dir={self.profile}",
        ]
        caps = {"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": CHROMIUM, "args": args},
        }}}
        self.session = self.call("POST", "/session", caps)["sessionId"]
        self.call("POST", f"/session/{self.session}/timeouts",
                  {"script": CASE_TIMEOUT_S * 1000, "pageLoad": 120_000})

    def call(self, method, path, body=None, timeout=CASE_TIMEOUT_S + 60):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}", data=data, method=method,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=timeout) as r:
            value = json.loads(r.read())["value"]
        if isinstance(value, dict) and "error" in value:
            raise RuntimeError(f"WebDriver {path}: {value['error']}: {value.get('message')}")
        return value

    def goto(self, url):
        self.call("POST", f"/session/{self.session}/url", {"url": url})

    def execute_async(self, script):
        return self.call("POST", f"/session/{self.session}/execute/async",
                         {"script": script, "args": []})

    def renderer_peak_mib(self):
        """The largest VmHWM among this browser's renderer processes."""
        best = 0
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                # Zygote-forked renderers rewrite their command line as one space-separated
                # string, so match substrings rather than arguments.
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    cmd = f.read()
                if b"--type=renderer" not in cmd or f"--user-data-dir={self.profile}".encode() not in cmd:
                    continue
                with open(f"/proc/{pid}/status") as f:
                    for line in f:
                        if line.startswith("VmHWM:"):
                            best = max(best, int(line.split()[1]))
            except OSError:
                continue
        return best / 1024 if best else None

    def quit(self):
        try:
            # Short: chromedriver answers after a script still running in the session (up to
            # CASE_TIMEOUT_S) when interrupted; the group is killed below in any case.
            self.call("DELETE", f"/session/{self.session}", timeout=10)
        except Exception:
            pass
        # End of file for the guardian: it kills chromedriver's group, itself last.
        self.driver.stdin.close()
        try:
            self.driver.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(self.driver.pid, signal.SIGKILL)
            self.driver.wait()
        shutil.rmtree(self.profile, ignore_errors=True)


def run_case(page, query):
    label = urllib.parse.parse_qs(query).get("label", [""])[0]
    browser = Chromium()
    try:
        browser.goto(f"{page}?{query}")
        result = json.loads(browser.execute_async(
            "const done = arguments[arguments.length - 1];"
            "window.benchResult.then((r) => done(JSON.stringify(r)),"
            " (e) => done(JSON.stringify({error: String(e)})));"
        ))
        result["renderer_peak_mib"] = browser.renderer_peak_mib()
    finally:
        browser.quit()
    result["label"] = label
    return result


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    # SIGTERM and SIGHUP (a time limit, a closed terminal) unwind like Ctrl-C, so quit() runs.
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda signum, _frame: sys.exit(128 + signum))
    page = sys.argv[1]
    for query in sys.argv[2:]:
        print(json.dumps(run_case(page, query)), flush=True)


if __name__ == "__main__":
    main()
