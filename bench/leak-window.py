#!/usr/bin/env python3
"""bench/leak-window.py [RE_ADDS]     (as root, after `cargo build --release`)

The leak window of `nlsel deprecate --except ::2 --watch`: how long a hidden address that is
added again stays preferred, and how many datagrams leave from it meanwhile.

Setup (private namespaces, the host's interfaces are never touched): namespace A has venet0
with 2001:db8::2/64 (kept) and 2001:db8::beef/64 (hidden); its veth peer is in namespace B,
with 2001:db8::9/64. DAD is off in both. target/release/nlsel runs in A, watching. In A a UDP
sender sends to 2001:db8::9 in a tight loop from an unbound socket, so the kernel chooses the
source of every datagram; while ::beef is preferred it wins (newest address first on a tie),
once deprecated ::2 does. In B a sniffer (AF_PACKET, a BPF filter that keeps only datagrams
from ::beef, kernel receive timestamps SO_TIMESTAMPNS) records when each leaked one arrived.

Then RE_ADDS times (default 1,000), one at a time, this process, in A, over netlink:
  deletes ::beef (RTM_DELADDR, waits for the ACK),
  t0 = clock; sends RTM_NEWADDR for ::beef and reads its ACK; the kernel multicasts the
       RTM_NEWADDR notification (preferred forever) inside that send, before the ACK;
  reads its own RTNLGRP_IPV6_IFADDR subscription until the RTM_NEWADDR for ::beef with
       preferred lifetime 0 (nlsel's change), t1 = clock at that read.
The window is t1 - t0 (an upper bound: it includes the add's own round trip and this process's
wake-up). Every datagram from ::beef is assigned to the window it arrived in (realtime clock on
both sides); any outside a window is reported apart.

Environment: NLSEL (the binary, default target/release/nlsel), NICE (run the watch under
`nice -n NICE`, e.g. -10, to see how much of the tail is waiting for a CPU).

Prints p50, p90, p99, max of the window (µs), the datagrams leaked per window (p50, p99, max,
total), the sender's rate, and the sniffer's drop count.
"""

import ctypes
import json
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import time

NETLINK_ROUTE = 0
RTM_NEWADDR, RTM_DELADDR = 20, 21
NLMSG_ERROR = 2
NLM_F_REQUEST, NLM_F_ACK, NLM_F_EXCL, NLM_F_CREATE = 1, 4, 0x200, 0x400
RTMGRP_IPV6_IFADDR = 0x100
IFA_ADDRESS, IFA_LOCAL, IFA_CACHEINFO, IFA_FLAGS = 1, 2, 6, 8
IFA_F_NODAD, IFA_F_DEPRECATED = 0x02, 0x20

HERE = os.path.dirname(os.path.abspath(__file__))
BIN = os.environ.get("NLSEL", os.path.join(HERE, "..", "target", "release", "nlsel"))
KEPT, HIDDEN, PEER = "2001:db8::2", "2001:db8::beef", "2001:db8::9"


def ip(*args, check=True):
    return subprocess.run(["ip", *args], check=check, capture_output=True, text=True)


def attr(kind, payload):
    length = 4 + len(payload)
    return struct.pack("HH", length, kind) + payload + b"\0" * ((4 - length % 4) % 4)


def addr_message(kind, flags, seq, ifindex):
    local = socket.inet_pton(socket.AF_INET6, HIDDEN)
    body = struct.pack("BBBBI", socket.AF_INET6, 64, 0, 0, ifindex)
    body += attr(IFA_LOCAL, local) + attr(IFA_ADDRESS, local)
    body += attr(IFA_FLAGS, struct.pack("I", IFA_F_NODAD))
    return struct.pack("IHHII", 16 + len(body), kind, flags, seq, 0) + body


def messages(data):
    while len(data) >= 16:
        length, kind, flags, seq, pid = struct.unpack_from("IHHII", data)
        if length < 16:
            return
        yield kind, seq, data[16:length]
        data = data[(length + 3) & ~3 :]


def attrs(body):
    while len(body) >= 4:
        length, kind = struct.unpack_from("HH", body)
        if length < 4:
            return
        yield kind, body[4:length]
        body = body[(length + 3) & ~3 :]


def request(sock, message, seq):
    sock.send(message)
    while True:
        for kind, got, body in messages(sock.recv(65536)):
            if kind == NLMSG_ERROR and got == seq:
                errno = -struct.unpack_from("i", body)[0]
                if errno:
                    raise OSError(errno, os.strerror(errno))
                return


def hidden_deprecated(body):
    """Whether an RTM_NEWADDR payload is ::beef with preferred lifetime 0."""
    family, _, flags, _, _ = struct.unpack_from("BBBBI", body)
    if family != socket.AF_INET6:
        return False
    local, preferred, flags32 = None, None, flags
    for kind, value in attrs(body[8:]):
        if kind in (IFA_LOCAL, IFA_ADDRESS) and len(value) == 16:
            local = socket.inet_ntop(socket.AF_INET6, value)
        elif kind == IFA_CACHEINFO and len(value) >= 4:
            preferred = struct.unpack_from("I", value)[0]
        elif kind == IFA_FLAGS and len(value) == 4:
            flags32 = struct.unpack_from("I", value)[0]
    return local == HIDDEN and (preferred == 0 or flags32 & IFA_F_DEPRECATED)


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, -(-len(ordered) * p // 100) - 1))]


SENDER = f"""
import socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
n = 0
payload = b"x" * 32
try:
    while True:
        try:
            s.sendto(payload, ("{PEER}", 9))
        except OSError:
            pass
        n += 1
except KeyboardInterrupt:
    pass
print(n, flush=True)
"""

SNIFFER = f"""
import ctypes, json, signal, socket, struct, sys
ETH_P_IPV6 = 0x86DD
s = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(ETH_P_IPV6))
s.bind(("venet0p", ETH_P_IPV6))
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
s.setsockopt(socket.SOL_SOCKET, 35, 1)  # SO_TIMESTAMPNS
words = struct.unpack("!IIII", socket.inet_pton(socket.AF_INET6, "{HIDDEN}"))
# Keep only IPv6 packets whose source (bytes 8..24 of the network header) is the hidden address.
prog = []
for i, w in enumerate(words):
    prog.append((0x20, 0, 0, 8 + 4 * i))
    prog.append((0x15, 0, 2 * (3 - i) + 1, w))
prog += [(0x06, 0, 0, 65535), (0x06, 0, 0, 0)]
buf = ctypes.create_string_buffer(b"".join(struct.pack("HBBI", *f) for f in prog))
fprog = struct.pack("HL", len(prog), ctypes.addressof(buf))
s.setsockopt(socket.SOL_SOCKET, 26, fprog)  # SO_ATTACH_FILTER
stamps = []
stop = False
def end(*_):
    global stop
    stop = True
signal.signal(signal.SIGTERM, end)
s.settimeout(0.2)
print("ready", flush=True)
while not stop:
    try:
        data, anc, _, _ = s.recvmsg(128, 64)
    except (socket.timeout, InterruptedError):
        continue
    for level, kind, value in anc:
        if level == socket.SOL_SOCKET and kind == 35:
            sec, nsec = struct.unpack("qq", value[:16])
            stamps.append(sec * 1_000_000_000 + nsec)
stats = s.getsockopt(263, 6, 8)  # SOL_PACKET, PACKET_STATISTICS
packets, drops = struct.unpack("II", stats)
print(json.dumps({{"stamps": stamps, "drops": drops}}), flush=True)
"""


def main():
    re_adds = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    if os.geteuid() != 0:
        sys.exit("leak-window.py: needs root (network namespaces)")
    if not os.access(BIN, os.X_OK):
        sys.exit(f"leak-window.py: {BIN} missing; run cargo build --release")
    a, b = f"nlsel-leak-a-{os.getpid()}", f"nlsel-leak-b-{os.getpid()}"
    children = []
    try:
        for ns in (a, b):
            ip("netns", "add", ns)
            ip("netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.all.accept_dad=0",
               "net.ipv6.conf.default.accept_dad=0")
            ip("-n", ns, "link", "set", "lo", "up")
        ip("-n", a, "link", "add", "venet0", "type", "veth", "peer", "name", "venet0p")
        ip("-n", a, "link", "set", "venet0p", "netns", b)
        ip("-n", a, "link", "set", "venet0", "up")
        ip("-n", b, "link", "set", "venet0p", "up")
        ip("-n", a, "addr", "add", f"{KEPT}/64", "dev", "venet0", "nodad")
        ip("-n", a, "addr", "add", f"{HIDDEN}/64", "dev", "venet0", "nodad")
        ip("-n", b, "addr", "add", f"{PEER}/64", "dev", "venet0p", "nodad")
        ifindex = int(ip("-n", a, "-j", "link", "show", "venet0").stdout.split('"ifindex":')[1].split(",")[0])

        # NICE=-10 runs the watch at a higher priority: what part of the tail is waiting for a
        # CPU on a loaded machine.
        nice = ["nice", "-n", os.environ["NICE"]] if os.environ.get("NICE") else []
        watch = subprocess.Popen([*nice, BIN, "-n", a, "deprecate", "--except", "::2", "--watch"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        children.append(watch)
        assert watch.stderr.readline().strip() == "nlsel: watching for address changes"
        sniffer = subprocess.Popen(["ip", "netns", "exec", b, "python3", "-c", SNIFFER],
                                   stdout=subprocess.PIPE, text=True)
        children.append(sniffer)
        assert sniffer.stdout.readline().strip() == "ready"
        sender = subprocess.Popen(["ip", "netns", "exec", a, "python3", "-c", SENDER],
                                  stdout=subprocess.PIPE, text=True)
        children.append(sender)

        # This process enters A for its own two sockets.
        with open(f"/run/netns/{a}") as netns:
            # os.setns is Python 3.12; Debian 12 has 3.11.
            libc = ctypes.CDLL(None, use_errno=True)
            if libc.setns(netns.fileno(), 0x40000000) != 0:  # CLONE_NEWNET
                raise OSError(ctypes.get_errno(), "setns")
        req = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_ROUTE)
        req.bind((0, 0))
        mon = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_ROUTE)
        mon.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        mon.bind((0, RTMGRP_IPV6_IFADDR))
        time.sleep(0.5)  # let the sender reach its steady rate before the first re-add
        sender_start = time.monotonic()
        windows, ack_windows, timeouts = [], [], 0
        seq = 1
        for _ in range(re_adds):
            seq += 1
            request(req, addr_message(RTM_DELADDR, NLM_F_REQUEST | NLM_F_ACK, seq, ifindex), seq)
            while select.select([mon], [], [], 0)[0]:
                mon.recv(65536)
            seq += 1
            flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL
            t0 = time.time_ns()
            request(req, addr_message(RTM_NEWADDR, flags, seq, ifindex), seq)
            t_ack = time.time_ns()
            deadline = time.monotonic() + 5
            t1 = None
            while t1 is None and time.monotonic() < deadline:
                if not select.select([mon], [], [], max(0, deadline - time.monotonic()))[0]:
                    break
                data = mon.recv(65536)
                now = time.time_ns()
                if any(k == RTM_NEWADDR and hidden_deprecated(body) for k, _, body in messages(data)):
                    t1 = now
            if t1 is None:
                timeouts += 1
                continue
            windows.append((t0, t1))
            ack_windows.append(t1 - t_ack)
        elapsed = time.monotonic() - sender_start
        time.sleep(0.2)
        sender.send_signal(signal.SIGINT)
        sent = int(sender.communicate(timeout=10)[0].strip() or 0)
        sniffer.send_signal(signal.SIGTERM)
        captured = json.loads(sniffer.communicate(timeout=10)[0])
        stamps = sorted(captured["stamps"])
        per_window = []
        inside = 0
        j = 0
        for t0, t1 in windows:
            while j < len(stamps) and stamps[j] < t0:
                j += 1
            k = j
            # Arrival is stamped after the send: allow 1 ms past t1 for the datagram in flight.
            while k < len(stamps) and stamps[k] <= t1 + 1_000_000:
                k += 1
            per_window.append(k - j)
            inside += k - j
            j = k
        us = [(t1 - t0) / 1000 for t0, t1 in windows]
        result = {
            "re_adds": re_adds,
            "measured": len(windows),
            "timeouts": timeouts,
            "window_us": {p: round(percentile(us, p), 1) for p in (50, 90, 99)} | {"max": round(max(us), 1)},
            "window_after_ack_us": {p: round(percentile(ack_windows, p) / 1000, 1) for p in (50, 99)},
            "leaked_per_window": {"p50": percentile(per_window, 50), "p99": percentile(per_window, 99),
                                  "max": max(per_window), "total": inside},
            "leaked_outside_windows": len(stamps) - inside,
            "sender_datagrams_per_s": round(sent / (elapsed + 0.2)),
            "sniffer_drops": captured["drops"],
        }
        print(json.dumps(result, indent=1))
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait()
        for ns in (a, b):
            ip("netns", "del", ns, check=False)


if __name__ == "__main__":
    main()
