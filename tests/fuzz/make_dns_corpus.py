#!/usr/bin/env python3
"""Regenerates tests/fuzz/corpus/dns_message: real answers from a real NSD (a parent zone and a
delegated child, as the delegation and authoritative probes see them) and a real Unbound resolving
through them (as the recursive probe sees it), all on 127.0.0.1 ports chosen here. Needs nsd and
unbound (scripts/setup installs both). Usage: tests/fuzz/make_dns_corpus.py [OUTPUT_DIR]

The dnssec-* seeds beside them are not written here: they are copies of the signed answers in
tests/testdata/dnssec, which scripts/capture-dnssec-wire captures."""

import os
import random
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))

TYPES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "MX": 15, "TXT": 16, "AAAA": 28}

PARENT_ZONE = """$TTL 300
example. IN SOA ns.example. hostmaster.example. 1 3600 600 86400 300
example. IN NS ns.example.
ns.example. IN A 127.0.0.1
social.example. IN NS ns1.social.example.
social.example. IN NS ns2.social.example.
ns1.social.example. IN A 127.0.0.1
ns2.social.example. IN AAAA ::1
lame.example. IN NS ns.lame.example.
ns.lame.example. IN A 127.0.0.1
"""

CHILD_ZONE_TEMPLATE = """$TTL 60
social.example. IN SOA ns1.social.example. hostmaster.social.example. 7 3600 600 86400 60
social.example. IN NS ns1.social.example.
social.example. IN NS ns2.social.example.
ns1.social.example. IN A 127.0.0.1
ns2.social.example. IN AAAA ::1
social.example. IN A {address4}
social.example. IN AAAA {address6}
www.social.example. IN CNAME social.example.
alias.social.example. IN CNAME www.social.example.
social.example. IN TXT "v=spf1 -all"
social.example. IN MX 10 mail.social.example.
mail.social.example. IN A 192.0.2.25
""" + "".join(f"big.social.example. IN A 198.51.100.{i}\n" for i in range(1, 61))


def child_zone(address4="192.0.2.10", address6="2001:db8::10"):
    return CHILD_ZONE_TEMPLATE.replace("{address4}", address4).replace("{address6}", address6)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def encode_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def query(name, qtype, recursion, edns):
    flags = 0x0100 if recursion else 0
    header = struct.pack(">HHHHHH", random.randrange(65536), flags, 1, 0, 0, 1 if edns else 0)
    message = header + encode_name(name) + struct.pack(">HH", TYPES[qtype], 1)
    if edns:
        message += b"\0" + struct.pack(">HHIH", 41, 1232, 0, 0)
    return message


def ask(port, name, qtype, recursion=False, edns=True, tcp=False):
    message = query(name, qtype, recursion, edns)
    if tcp:
        with socket.create_connection(("127.0.0.1", port), timeout=3) as s:
            s.sendall(struct.pack(">H", len(message)) + message)
            length = struct.unpack(">H", s.recv(2, socket.MSG_WAITALL))[0]
            return s.recv(length, socket.MSG_WAITALL)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(3)
        s.sendto(message, ("127.0.0.1", port))
        return s.recvfrom(65535)[0]


def wait_for(port, name):
    for _ in range(100):
        try:
            ask(port, name, "SOA")
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"nothing answers on 127.0.0.1:{port}")


def start_nsd(workdir, tag, zone_name, zone_text, port):
    zone_file = os.path.join(workdir, f"{tag}.zone")
    with open(zone_file, "w") as f:
        f.write(zone_text)
    conf = os.path.join(workdir, f"{tag}.conf")
    with open(conf, "w") as f:
        f.write(f"""server:
  username: ""
  chroot: ""
  database: ""
  zonesdir: "{workdir}"
  pidfile: "{workdir}/{tag}.pid"
  zonelistfile: "{workdir}/{tag}.zonelist"
  xfrdfile: "{workdir}/{tag}.xfrd"
  xfrdir: "{workdir}"
  logfile: "{workdir}/{tag}.log"
  port: {port}
  ip-address: 127.0.0.1
  server-count: 1
remote-control:
  control-enable: no
zone:
  name: "{zone_name}"
  zonefile: "{zone_file}"
""")
    return subprocess.Popen([shutil.which("nsd", path="/usr/sbin:/usr/bin"), "-d", "-c", conf],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def start_unbound(workdir, port, parent_port, child_port):
    conf = os.path.join(workdir, "unbound.conf")
    with open(conf, "w") as f:
        f.write(f"""server:
  username: ""
  chroot: ""
  directory: "{workdir}"
  pidfile: "{workdir}/unbound.pid"
  interface: 127.0.0.1
  port: {port}
  do-not-query-localhost: no
  module-config: "iterator"
  use-syslog: no
  logfile: "{workdir}/unbound.log"
  num-threads: 1
remote-control:
  control-enable: no
stub-zone:
  name: "example."
  stub-addr: 127.0.0.1@{parent_port}
stub-zone:
  name: "social.example."
  stub-addr: 127.0.0.1@{child_port}
stub-zone:
  name: "refusing.net."
  stub-addr: 127.0.0.1@{parent_port}
""")
    return subprocess.Popen([shutil.which("unbound", path="/usr/sbin:/usr/bin"), "-d", "-c", conf],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


class Servers:
    """The two NSDs and the Unbound, stopped (and their directory removed) on exit."""

    def __init__(self, address4="192.0.2.10", address6="2001:db8::10"):
        self.zone = child_zone(address4, address6)

    def __enter__(self):
        self.workdir = tempfile.mkdtemp(prefix="vantage-dns-corpus-")
        self.parent_port, self.child_port, self.resolver_port = free_port(), free_port(), free_port()
        self.processes = []
        try:
            self.processes.append(
                start_nsd(self.workdir, "parent", "example.", PARENT_ZONE, self.parent_port))
            self.processes.append(
                start_nsd(self.workdir, "child", "social.example.", self.zone, self.child_port))
            wait_for(self.parent_port, "example.")
            wait_for(self.child_port, "social.example.")
            self.processes.append(start_unbound(self.workdir, self.resolver_port,
                                                self.parent_port, self.child_port))
            wait_for(self.resolver_port, "example.")
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc):
        for process in self.processes:
            process.terminate()
            process.wait(timeout=10)
        shutil.rmtree(self.workdir, ignore_errors=True)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "corpus", "dns_message")
    os.makedirs(out, exist_ok=True)
    with Servers() as servers:
        parent_port, child_port = servers.parent_port, servers.child_port
        resolver_port = servers.resolver_port
        answers = {
            # The delegation probe: the parent's referral, with and without glue.
            "parent-referral-ns": ask(parent_port, "social.example.", "NS"),
            "parent-referral-a": ask(parent_port, "www.social.example.", "A"),
            "parent-referral-noedns": ask(parent_port, "social.example.", "NS", edns=False),
            "parent-nxdomain": ask(parent_port, "missing.example.", "A"),
            "parent-soa": ask(parent_port, "example.", "SOA"),
            "parent-refused": ask(parent_port, "other.test.", "A"),
            # The authoritative probe: every answer shape a server gives.
            "child-a": ask(child_port, "social.example.", "A"),
            "child-aaaa": ask(child_port, "social.example.", "AAAA"),
            "child-ns": ask(child_port, "social.example.", "NS"),
            "child-soa": ask(child_port, "social.example.", "SOA"),
            "child-cname": ask(child_port, "alias.social.example.", "A"),
            "child-nodata": ask(child_port, "mail.social.example.", "AAAA"),
            "child-nxdomain": ask(child_port, "missing.social.example.", "A"),
            "child-mx": ask(child_port, "social.example.", "MX"),
            "child-txt": ask(child_port, "social.example.", "TXT"),
            "child-truncated": ask(child_port, "big.social.example.", "A", edns=False),
            "child-big-tcp": ask(child_port, "big.social.example.", "A", tcp=True),
            # The recursive probe, through the resolver.
            "resolver-a": ask(resolver_port, "social.example.", "A", recursion=True),
            "resolver-aaaa": ask(resolver_port, "social.example.", "AAAA", recursion=True),
            "resolver-cname": ask(resolver_port, "alias.social.example.", "A", recursion=True),
            "resolver-nxdomain": ask(resolver_port, "missing.social.example.", "A", recursion=True),
            "resolver-nodata": ask(resolver_port, "mail.social.example.", "MX", recursion=True),
            "resolver-servfail": ask(resolver_port, "refusing.net.", "A", recursion=True),
            "resolver-ns": ask(resolver_port, "social.example.", "NS", recursion=True),
        }
        for name, answer in answers.items():
            with open(os.path.join(out, name), "wb") as f:
                f.write(answer)
        print(f"wrote {len(answers)} answers to {out}")


if __name__ == "__main__":
    main()
