#!/usr/bin/env python3
"""A user-space netlink peer that impersonates the kernel, for tests/forged_peer.rs.

Run inside the test's network namespace (netlink ports are per namespace):

    ip netns exec NS python3 tests/forge_peer.py IFINDEX

It opens one NETLINK_ROUTE socket, prints "ready", then obeys commands on stdin, one a line:

    PID GAP_US   flood port PID with forged replies, one every GAP_US microseconds (0: as
                 fast as possible), until the next command arrives, or the port goes away
                 after having been reached (nlsel exited), or MAX_FLOOD_SECONDS pass
    stop         print "delivered=N refused=R live=L full=F" for the last flood: N datagrams
                 the kernel queued on that port (sendto succeeded), R refused with
                 ECONNREFUSED, L of them while the port was bound (listed in
                 /proc/net/netlink), so refused because nlsel's socket is connected to the
                 kernel, F refused with EAGAIN (queue full)

and exits at EOF. nlsel's one socket gets the port equal to its pid. Every forged message
carries a sequence number nlsel is about to use (the first is pid.rotate_left(16) | 1, then +1
per request, see Conn::open and take_seq) and, in its header, the port the kernel would write:
only the sender address the kernel reports, which user space cannot forge, tells them apart
from real replies.

The forged datagrams, in rotation, each with one message per predicted sequence number:
  - RTM_NEWADDR (NLM_F_MULTI) for a fake 2001:db8::dead/64 on IFINDEX followed by NLMSG_DONE:
    an extra address, then a dump cut short;
  - NLMSG_ERROR with error 0: an ACK, which also ends a dump;
  - NLMSG_ERROR with -EPERM and an extended-ack text: a refused request or change;
  - first and every OVERSIZED_EVERY deliveries, one larger than nlsel's 64 KiB receive
    buffer, which must be dropped like the rest rather than reported as an oversized reply.
"""

import errno
import socket
import struct
import sys
import threading
import time
from collections import deque

# A safety net: the test ends each flood with a command well before this.
MAX_FLOOD_SECONDS = 30.0

NLMSG_ERROR = 2
NLMSG_DONE = 3
RTM_NEWADDR = 20
RTM_GETADDR = 22
NLM_F_MULTI = 0x2
NLM_F_CAPPED = 0x100
NLM_F_ACK_TLVS = 0x200
NLMSGERR_ATTR_MSG = 1
IFA_ADDRESS = 1
IFA_CACHEINFO = 6
IFA_FLAGS = 8
IFA_F_PERMANENT = 0x80
FOREVER = 0xFFFFFFFF
FAKE_ADDRESS = socket.inet_pton(socket.AF_INET6, "2001:db8::dead")
FAKE_PREFIXLEN = 64
# How many sequence numbers from the first one get forged replies.
SEQ_SPAN = 9
# The first delivered datagram, and one in every this many after it, is the oversized one.
OVERSIZED_EVERY = 512
RECV_BUF_LEN = 64 * 1024


def align4(n):
    return (n + 3) & ~3


def attr(kind, payload):
    header = struct.pack("=HH", 4 + len(payload), kind)
    return (header + payload).ljust(align4(4 + len(payload)), b"\0")


def message(msg_type, flags, seq, port, payload):
    header = struct.pack("=IHHII", 16 + len(payload), msg_type, flags, seq, port)
    return (header + payload).ljust(align4(16 + len(payload)), b"\0")


def fake_address(ifindex, seq, port):
    body = struct.pack(
        "=BBBBI", socket.AF_INET6, FAKE_PREFIXLEN, IFA_F_PERMANENT, 0, ifindex
    )
    body += attr(IFA_ADDRESS, FAKE_ADDRESS)
    body += attr(IFA_CACHEINFO, struct.pack("=IIII", FOREVER, FOREVER, 100, 100))
    body += attr(IFA_FLAGS, struct.pack("=I", IFA_F_PERMANENT))
    return message(RTM_NEWADDR, NLM_F_MULTI, seq, port, body)


def done(seq, port):
    return message(NLMSG_DONE, NLM_F_MULTI, seq, port, struct.pack("=i", 0))


def error(seq, port, err, text=None):
    # A capped ACK, as the kernel sends under NETLINK_CAP_ACK: errno and the request's header.
    request = struct.pack("=IHHII", 16, RTM_GETADDR, 0, seq, port)
    payload = struct.pack("=i", err) + request
    flags = NLM_F_CAPPED
    if text is not None:
        payload += attr(NLMSGERR_ATTR_MSG, text.encode() + b"\0")
        flags |= NLM_F_ACK_TLVS
    return message(NLMSG_ERROR, flags, seq, port, payload)


def sequence_numbers(pid):
    """The sequence numbers nlsel's requests get, as Conn::open and take_seq make them."""
    seq = (((pid << 16) | (pid >> 16)) & 0xFFFFFFFF) | 1
    out = []
    for _ in range(SEQ_SPAN):
        if seq == 0:
            seq = 1
        out.append(seq)
        seq = (seq + 1) & 0xFFFFFFFF
    return out


def datagrams(pid, ifindex):
    seqs = sequence_numbers(pid)
    dump = b"".join(fake_address(ifindex, s, pid) + done(s, pid) for s in seqs)
    acks = b"".join(error(s, pid, 0) for s in seqs)
    refusals = b"".join(
        error(s, pid, -errno.EPERM, "forged by forge_peer.py") for s in seqs
    )
    oversized = b""
    while len(oversized) <= RECV_BUF_LEN:
        oversized += b"".join(fake_address(ifindex, s, pid) for s in seqs)
    oversized += b"".join(done(s, pid) for s in seqs)
    return [dump, acks, refusals], oversized


class Commands:
    """The lines of stdin, read by a thread so that a flood notices a new one at once."""

    def __init__(self):
        self.pending = deque()
        self.arrived = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in sys.stdin:
            if line.strip():
                self.pending.append(line.split())
                self.arrived.set()
        self.pending.append(None)
        self.arrived.set()

    def waiting(self):
        return bool(self.pending)

    def take(self):
        """The next command (a list of words), or None at EOF; blocks until there is one."""
        while not self.pending:
            self.arrived.wait()
            self.arrived.clear()
        return self.pending.popleft()

    def pause(self, seconds):
        """Waits up to `seconds`; returns early, True, when a command is waiting."""
        deadline = time.monotonic() + seconds
        while not self.pending:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            if not self.arrived.wait(remaining):
                return bool(self.pending)
            if not self.pending:
                self.arrived.clear()  # left over from a command already taken
        return True


def port_bound(pid):
    """Whether a NETLINK_ROUTE socket with port `pid` exists in this namespace."""
    with open("/proc/net/netlink") as table:
        next(table)
        for line in table:
            fields = line.split()
            if len(fields) > 2 and fields[1] == "0" and fields[2] == str(pid):
                return True
    return False


def flood(sock, pid, gap, ifindex, commands):
    """Sends forged replies to port `pid` until a command is waiting, the port goes away after
    having been reached, or MAX_FLOOD_SECONDS pass; one every `gap` seconds, or as fast as
    possible when `gap` is 0. Returns (delivered, refused, live, full)."""
    regular, oversized = datagrams(pid, ifindex)
    target = (pid, 0)
    deadline = time.monotonic() + MAX_FLOOD_SECONDS
    delivered = refused = live = full = 0
    bound = seen_bound = False
    n = 0
    while not commands.waiting():
        n += 1
        if n % 64 == 0 and time.monotonic() > deadline:
            break
        if n % 8 == 1:
            bound = port_bound(pid)
            if seen_bound and not bound:
                break  # nlsel has closed its socket: it is done
            seen_bound = seen_bound or bound
        if delivered % OVERSIZED_EVERY == 0:
            data = oversized
        else:
            data = regular[n % len(regular)]
        try:
            sock.sendto(data, socket.MSG_DONTWAIT, target)
            delivered += 1
        except ConnectionRefusedError:
            refused += 1
            live += bound
        except BlockingIOError:
            full += 1
        if gap and commands.pause(gap):
            break
    return delivered, refused, live, full


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: forge_peer.py IFINDEX  (commands on stdin)")
    ifindex = int(sys.argv[1])
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
    sock.bind((0, 0))
    commands = Commands()
    print("ready", flush=True)
    last = (0, 0, 0, 0)
    while True:
        command = commands.take()
        if command is None:
            break
        if command == ["stop"]:
            print("delivered={} refused={} live={} full={}".format(*last), flush=True)
            last = (0, 0, 0, 0)
            continue
        pid, gap_us = (int(word) for word in command)
        last = flood(sock, pid, gap_us / 1e6, ifindex, commands)


if __name__ == "__main__":
    main()
