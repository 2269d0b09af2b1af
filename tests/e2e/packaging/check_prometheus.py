#!/usr/bin/env python3
"""The Prometheus rules and the Grafana dashboard shipped in packaging/, checked as their users
would: promtool checks the rules and runs their unit tests, and every metric the rules and the
dashboard name is one a real vantage-collector exports (or one the rules record).

Usage: check_prometheus.py SOURCE_DIR COLLECTOR_BINARY
Exit 0 passed, 1 failed, 77 skipped (no promtool; VANTAGE_REQUIRE_LAB=1 makes that a failure).
"""
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

source, collector = sys.argv[1], sys.argv[2]
rules_dir = os.path.join(source, "packaging", "prometheus")
rules = os.path.join(rules_dir, "vantage-rules.yml")
dashboard = os.path.join(source, "packaging", "grafana", "vantage-dashboard.json")
failures = 0


def check(description, ok, detail=""):
    global failures
    print(f"prometheus: {'ok' if ok else 'FAILED'}: {description}{': ' + detail if detail and not ok else ''}")
    failures += 0 if ok else 1


promtool = shutil.which("promtool")
if promtool is None:
    print("prometheus: SKIPPED: promtool is not installed (Debian package prometheus)")
    sys.exit(1 if os.environ.get("VANTAGE_REQUIRE_LAB") == "1" else 77)

for args in (["check", "rules", "vantage-rules.yml"], ["test", "rules", "vantage-rules.test.yml"]):
    run = subprocess.run([promtool, *args], cwd=rules_dir, capture_output=True, text=True, timeout=60)
    check(f"promtool {' '.join(args[:2])}", run.returncode == 0, run.stdout + run.stderr)

# The names the rules and the dashboard use.
with open(rules) as file:
    rules_text = file.read()
with open(dashboard) as file:
    board = json.load(file)
recorded = set(re.findall(r"^\s*- record: (\S+)", rules_text, re.M))
expressions = re.findall(r"^\s*expr: (.+)$", rules_text, re.M)
for panel in board["panels"]:
    expressions += [target["expr"] for target in panel["targets"]]
expressions += [variable["query"] for variable in board["templating"]["list"]
                if variable["type"] == "query"]
used = set()
for expression in expressions:
    used.update(re.findall(r"\b(vantage[_:][a-z0-9_:]+)", expression))
check("the rules and the dashboard name metrics", len(used) >= 8, str(sorted(used)))

# What a real collector exports: every family is declared (# TYPE) even before it has samples.
with tempfile.TemporaryDirectory(prefix="vantage-prometheus-") as work:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = os.path.join(work, "collector.yaml")
    with open(config, "w") as file:
        file.write(f'listen: "127.0.0.1:{port}"\nstorage: {{ sqlite: {work}/c.db }}\n')
    with open(os.path.join(work, "collector.log"), "w") as log:
        daemon = subprocess.Popen([collector, "serve", "--config", config], stderr=log)
    try:
        body = ""
        for _ in range(100):  # at most 10 s
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as answer:
                    body = answer.read().decode()
                break
            except OSError:
                if daemon.poll() is not None:
                    break
                time.sleep(0.1)
    finally:
        daemon.terminate()
        try:
            daemon.wait(timeout=10)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait()
exported = set(re.findall(r"^# TYPE (\S+) ", body, re.M))
check("the collector answered /metrics", len(exported) > 0)
for name in sorted(used):
    known = name in recorded if ":" in name else name in exported
    check(f"{name} is {'recorded by the rules' if ':' in name else 'exported by the collector'}", known)

for panel in board["panels"]:
    check(f"dashboard panel \"{panel['title']}\" has a query and a description",
          bool(panel["targets"]) and bool(panel.get("description")))

print(f"prometheus: {'PASSED' if failures == 0 else f'FAILED: {failures} check(s)'}")
sys.exit(1 if failures else 0)
