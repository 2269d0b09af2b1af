#!/usr/bin/env python3
"""Drives blackbox_exporter's /probe endpoint and measures the exporter's own CPU per probe.

The exporter's CPU (utime + stime of every thread, from /proc/PID/stat) is read before and
after the measured batch; warm-up requests are excluded. The client keeps one HTTP/1.1
keep-alive connection per worker thread, so the exporter pays for one request per probe and
no connection set-up of its own. Prints one line of key=value pairs.
"""

import argparse
import http.client
import os
import sys
import threading
import time
import urllib.parse


def process_cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        # The command name may contain spaces; fields after it start at the last ')'.
        fields = f.read().rsplit(")", 1)[1].split()
    # fields[0] is field 3 (state); utime and stime are fields 14 and 15.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def process_memory_kb(pid):
    values = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0])
    return values


class Batch:
    def __init__(self, host, port, path, count, concurrency, deadline):
        self.host, self.port, self.path = host, port, path
        self.remaining = count
        self.deadline = deadline
        self.lock = threading.Lock()
        self.ok = 0
        self.failed = 0
        self.errors = 0
        self.first_failure = ""
        self.threads = [threading.Thread(target=self.worker) for _ in range(concurrency)]

    def take(self):
        with self.lock:
            if self.remaining <= 0 or time.monotonic() > self.deadline:
                return False
            self.remaining -= 1
            return True

    def record(self, ok, failure=""):
        with self.lock:
            if ok:
                self.ok += 1
            else:
                self.failed += 1
                if not self.first_failure:
                    self.first_failure = failure

    def worker(self):
        conn = None
        while self.take():
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
                conn.request("GET", self.path)
                response = conn.getresponse()
                body = response.read().decode("utf-8", "replace")
                if response.status == 200 and "\nprobe_success 1\n" in "\n" + body:
                    self.record(True)
                else:
                    lines = [l for l in body.splitlines() if not l.startswith("#")]
                    self.record(False, f"HTTP {response.status}: " + " ".join(lines)[:300])
            except (OSError, http.client.HTTPException) as e:
                self.record(False, f"{type(e).__name__}: {e}")
                if conn is not None:
                    conn.close()
                conn = None
        if conn is not None:
            conn.close()

    def run(self):
        for t in self.threads:
            t.start()
        for t in self.threads:
            t.join()


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--exporter", required=True, help="host:port of blackbox_exporter")
    p.add_argument("--pid", type=int, required=True, help="the exporter's pid")
    p.add_argument("--module", required=True)
    p.add_argument("--target", required=True)
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--warmup", type=int, default=50)
    p.add_argument("--concurrency", type=int, default=16)
    p.add_argument("--max-seconds", type=float, default=600.0)
    args = p.parse_args()

    host, _, port = args.exporter.rpartition(":")
    query = urllib.parse.urlencode({"module": args.module, "target": args.target})
    path = f"/probe?{query}"
    deadline = time.monotonic() + args.max_seconds

    warm = Batch(host, int(port), path, args.warmup, args.concurrency, deadline)
    warm.run()

    cpu_before = process_cpu_seconds(args.pid)
    wall_before = time.monotonic()
    batch = Batch(host, int(port), path, args.count, args.concurrency, deadline)
    batch.run()
    wall = time.monotonic() - wall_before
    cpu = process_cpu_seconds(args.pid) - cpu_before
    memory = process_memory_kb(args.pid)

    done = batch.ok + batch.failed
    per_probe_ms = cpu * 1000.0 / done if done else 0.0
    print(
        f"probes={done} ok={batch.ok} failed={batch.failed} cpu_s={cpu:.3f} wall_s={wall:.3f} "
        f"cpu_ms_per_probe={per_probe_ms:.4f} rss_kb={memory.get('VmRSS', 0)} "
        f"maxrss_kb={memory.get('VmHWM', 0)} warmup={args.warmup} warmup_failed={warm.failed}"
    )
    if batch.first_failure or warm.first_failure:
        print(f"first failure: {batch.first_failure or warm.first_failure}", file=sys.stderr)
    # Exit non-zero when the batch was cut short or most probes failed: the numbers would lie.
    return 0 if done == args.count and batch.ok > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
