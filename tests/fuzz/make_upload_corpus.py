#!/usr/bin/env python3
"""Regenerates tests/fuzz/corpus/upload: result batches as an agent uploads them, plain and gzip,
around real cycle documents from `vantage-agent probe --json` run against the NSDs and the
Unbound of make_dns_corpus.py. The zone points the domain at 127.0.0.1 and ::1 (closed ports), so
every probe stays on loopback. Usage: tests/fuzz/make_upload_corpus.py VANTAGE_AGENT [OUTPUT_DIR]"""

import gzip
import json
import os
import subprocess
import sys

import make_dns_corpus

HERE = os.path.dirname(os.path.abspath(__file__))


def probe(agent, resolver_port, domain, closed_port):
    result = subprocess.run(
        [agent, "probe", domain, "--json", "--timeout", "1s", "--port", str(closed_port),
         "--resolver", f"127.0.0.1:{resolver_port}", "--control", f"127.0.0.1:{closed_port}"],
        capture_output=True, text=True, timeout=60, check=False)
    return json.loads(result.stdout)


def batch(cycles, first_seq=1):
    return {"schema_version": 1, "agent": "vp-1",
            "results": [{"seq": first_seq + i, "cycle": c} for i, c in enumerate(cycles)]}


def main():
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    agent = os.path.abspath(sys.argv[1])
    out = sys.argv[2] if len(sys.argv) > 2 else os.path.join(HERE, "corpus", "upload")
    os.makedirs(out, exist_ok=True)
    closed_port = make_dns_corpus.free_port()
    with make_dns_corpus.Servers("127.0.0.1", "::1") as servers:
        cycles = {name: probe(agent, servers.resolver_port, domain, closed_port)
                  for name, domain in [("refused", "social.example"),
                                       ("nxdomain", "missing.social.example"),
                                       ("servfail", "refusing.net")]}
    bodies = {f"batch-{name}": batch([cycle]) for name, cycle in cycles.items()}
    bodies["batch-three"] = batch(list(cycles.values()), first_seq=41)
    for name, body in bodies.items():
        text = json.dumps(body, separators=(",", ":")).encode()
        with open(os.path.join(out, name + ".json"), "wb") as f:
            f.write(text)
        with open(os.path.join(out, name + ".json.gz"), "wb") as f:
            f.write(gzip.compress(text, mtime=0))
    print(f"wrote {2 * len(bodies)} bodies to {out}")


if __name__ == "__main__":
    main()
