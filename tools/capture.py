#!/usr/bin/env python3
"""Capture raw rtnetlink replies from a real kernel for nlsel's unit tests.

Run as root from the crate root (or anywhere):  python3 tools/capture.py

The script creates a private network namespace "nlsel-capture", re-executes
itself inside it with `ip netns exec`, builds the seed scenario there (veth
venet0/venet0p, the three IPv6 addresses, an IPv4 label address, a default
IPv6 route), records the exact bytes of every recv() into src/nl/testdata/,
writes src/nl/testdata/README.md with a decode of each file, and deletes the
namespace again.  It never touches an interface outside that namespace: the
inner half refuses to run unless `ip netns identify` names "nlsel-capture".

  python3 tools/capture.py --decode FILE...   decode capture files, no root needed

Stdlib only.  Netlink is host-endian; these captures come from x86_64.
"""

import os
import socket
import struct
import subprocess
import sys
import time

NETNS = "nlsel-capture"
HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.join(HERE, "..", "src", "nl", "testdata")

# Fixed port ids make the nlmsg_pid of every reply deterministic.
PORTID_MAIN = 0x6E6C7331  # "1sln" little-endian; any unused value works
PORTID_UNCAPPED = 0x6E6C7332

SOL_NETLINK = 270
NETLINK_CAP_ACK = 10
NETLINK_EXT_ACK = 11
NETLINK_GET_STRICT_CHK = 12

NLM_F_REQUEST = 0x01
NLM_F_MULTI = 0x02
NLM_F_ACK = 0x04
NLM_F_ROOT = 0x100
NLM_F_MATCH = 0x200
NLM_F_DUMP = NLM_F_ROOT | NLM_F_MATCH
NLM_F_REPLACE = 0x100
NLM_F_CAPPED = 0x100
NLM_F_ACK_TLVS = 0x200

NLMSG_NOOP, NLMSG_ERROR, NLMSG_DONE, NLMSG_OVERRUN = 1, 2, 3, 4
RTM_NEWLINK, RTM_GETLINK = 16, 18
RTM_NEWADDR, RTM_GETADDR = 20, 22
RTM_NEWROUTE, RTM_GETROUTE = 24, 26
RTM_NEWADDRLABEL, RTM_GETADDRLABEL = 72, 74

IFA_ADDRESS, IFA_CACHEINFO, IFA_FLAGS = 1, 6, 8
IFA_F_NODAD, IFA_F_NOPREFIXROUTE = 0x02, 0x200
RTA_DST = 1

MSG_NAMES = {
    NLMSG_NOOP: "NLMSG_NOOP", NLMSG_ERROR: "NLMSG_ERROR", NLMSG_DONE: "NLMSG_DONE",
    NLMSG_OVERRUN: "NLMSG_OVERRUN", RTM_NEWLINK: "RTM_NEWLINK", 17: "RTM_DELLINK",
    RTM_GETLINK: "RTM_GETLINK", RTM_NEWADDR: "RTM_NEWADDR", 21: "RTM_DELADDR",
    RTM_GETADDR: "RTM_GETADDR", RTM_NEWROUTE: "RTM_NEWROUTE", 25: "RTM_DELROUTE",
    RTM_GETROUTE: "RTM_GETROUTE",
}
IFA_NAMES = {1: "IFA_ADDRESS", 2: "IFA_LOCAL", 3: "IFA_LABEL", 4: "IFA_BROADCAST",
             5: "IFA_ANYCAST", 6: "IFA_CACHEINFO", 7: "IFA_MULTICAST", 8: "IFA_FLAGS",
             9: "IFA_RT_PRIORITY", 10: "IFA_TARGET_NETNSID", 11: "IFA_PROTO"}
RTA_NAMES = {1: "RTA_DST", 2: "RTA_SRC", 3: "RTA_IIF", 4: "RTA_OIF", 5: "RTA_GATEWAY",
             6: "RTA_PRIORITY", 7: "RTA_PREFSRC", 8: "RTA_METRICS", 9: "RTA_MULTIPATH",
             12: "RTA_CACHEINFO", 15: "RTA_TABLE", 16: "RTA_MARK", 20: "RTA_PREF",
             24: "RTA_PAD", 25: "RTA_UID"}
EXTACK_NAMES = {1: "NLMSGERR_ATTR_MSG", 2: "NLMSGERR_ATTR_OFFS", 3: "NLMSGERR_ATTR_COOKIE",
                4: "NLMSGERR_ATTR_POLICY", 5: "NLMSGERR_ATTR_MISS_TYPE",
                6: "NLMSGERR_ATTR_MISS_NEST"}


def align4(n):
    return (n + 3) & ~3


# ---------------------------------------------------------------- encoding

def nlattr(atype, payload):
    hdr = struct.pack("=HH", 4 + len(payload), atype)
    return hdr + payload + b"\0" * (align4(len(payload)) - len(payload))


def nlmsg(mtype, flags, seq, payload, pid=0):
    return struct.pack("=IHHII", 16 + len(payload), mtype, flags, seq, pid) + payload


def ifaddrmsg(family, prefixlen=0, flags=0, scope=0, ifindex=0):
    return struct.pack("=BBBBI", family, prefixlen, flags, scope, ifindex)


def ifinfomsg(family=socket.AF_UNSPEC):
    return struct.pack("=BBHiII", family, 0, 0, 0, 0, 0)


def rtmsg(family, dst_len=0, src_len=0, tos=0, table=0, protocol=0, scope=0, rtype=0, flags=0):
    return struct.pack("=BBBBBBBBI", family, dst_len, src_len, tos, table, protocol, scope,
                       rtype, flags)


# ---------------------------------------------------------------- decoding

def attrs(buf):
    off = 0
    while off + 4 <= len(buf):
        alen, atype = struct.unpack_from("=HH", buf, off)
        if alen < 4 or off + alen > len(buf):
            yield (None, off, buf[off:])
            return
        yield (atype, off, buf[off + 4:off + alen])
        off += align4(alen)


def fmt_flags(mtype, flags):
    names = []
    if flags & NLM_F_REQUEST:
        names.append("REQUEST")
    if flags & NLM_F_MULTI:
        names.append("MULTI")
    if flags & NLM_F_ACK:
        names.append("ACK")
    if mtype == NLMSG_ERROR or mtype == NLMSG_DONE:
        if flags & NLM_F_CAPPED:
            names.append("CAPPED")
        if flags & NLM_F_ACK_TLVS:
            names.append("ACK_TLVS")
        rest = flags & ~(NLM_F_REQUEST | NLM_F_MULTI | NLM_F_ACK | 0x300)
    else:
        rest = flags & ~(NLM_F_REQUEST | NLM_F_MULTI | NLM_F_ACK)
        if rest:
            names.append("0x%x" % rest)
            rest = 0
    if rest:
        names.append("0x%x" % rest)
    return "|".join(names) or "0"


def describe_extack(tlvs):
    out = []
    for atype, _, val in attrs(tlvs):
        name = EXTACK_NAMES.get(atype, "attr%s" % atype)
        if atype == 1:
            out.append('%s="%s"' % (name, val.rstrip(b"\0").decode(errors="replace")))
        elif atype == 2 and len(val) == 4:
            out.append("%s=%d" % (name, struct.unpack("=I", val)[0]))
        else:
            out.append("%s(%d bytes)" % (name, len(val)))
    return ", ".join(out)


def addr_text(family, val):
    try:
        return socket.inet_ntop(family, val)
    except (ValueError, OSError):
        return val.hex()


def describe_payload(mtype, flags, body):
    if mtype == NLMSG_ERROR:
        if len(body) < 4:
            return "short NLMSG_ERROR"
        err = struct.unpack_from("=i", body)[0]
        text = "error=%d" % err
        if err:
            text += " (%s)" % os.strerror(-err)
        if len(body) >= 20:
            olen, otype, oflags, oseq, opid = struct.unpack_from("=IHHII", body, 4)
            text += "; orig hdr len=%d type=%s flags=0x%x seq=%d" % (
                olen, MSG_NAMES.get(otype, otype), oflags, oseq)
            orig_in_ack = 16 if flags & NLM_F_CAPPED else align4(olen)
            tlv_off = 4 + orig_in_ack
            text += "; orig bytes echoed=%d" % orig_in_ack
            if flags & NLM_F_ACK_TLVS and tlv_off < len(body):
                text += "; ext-ack: " + describe_extack(body[tlv_off:])
        return text
    if mtype == NLMSG_DONE:
        if len(body) < 4:
            return "no errno"
        err = struct.unpack_from("=i", body)[0]
        text = "errno=%d" % err
        if err:
            text += " (%s)" % os.strerror(-err)
        if flags & NLM_F_ACK_TLVS and len(body) > 4:
            text += "; ext-ack: " + describe_extack(body[4:])
        return text
    if mtype == RTM_NEWADDR and len(body) >= 8:
        fam, plen, ifa_flags, scope, idx = struct.unpack_from("=BBBBI", body)
        parts = ["family=%d prefixlen=%d ifa_flags=0x%02x scope=%d ifindex=%d"
                 % (fam, plen, ifa_flags, scope, idx)]
        for atype, _, val in attrs(body[8:]):
            name = IFA_NAMES.get(atype, "attr%s" % atype)
            if atype in (1, 2, 4, 5, 7):
                parts.append("%s=%s" % (name, addr_text(fam, val)))
            elif atype == 3:
                parts.append('%s="%s"' % (name, val.rstrip(b"\0").decode()))
            elif atype == 6 and len(val) == 16:
                pref, valid, cst, tst = struct.unpack("=IIII", val)
                parts.append("%s{prefered=%d valid=%d}" % (name, pref, valid))
            elif atype == 8 and len(val) == 4:
                parts.append("%s=0x%x" % (name, struct.unpack("=I", val)[0]))
            else:
                parts.append("%s(%d)" % (name, len(val)))
        return " ".join(parts)
    if mtype == RTM_NEWLINK and len(body) >= 16:
        fam, _, itype, idx, iflags, _ = struct.unpack_from("=BBHiII", body)
        name = "?"
        n = 0
        for atype, _, val in attrs(body[16:]):
            n += 1
            if atype == 3:
                name = val.rstrip(b"\0").decode()
        return "ifindex=%d ifname=%s type=%d ifi_flags=0x%x attrs=%d" % (idx, name, itype,
                                                                         iflags, n)
    if mtype == RTM_NEWROUTE and len(body) >= 12:
        fam, dlen, slen, tos, table, proto, scope, rtype, rflags = struct.unpack_from(
            "=BBBBBBBBI", body)
        parts = ["family=%d dst_len=%d table=%d protocol=%d scope=%d type=%d flags=0x%x"
                 % (fam, dlen, table, proto, scope, rtype, rflags)]
        for atype, _, val in attrs(body[12:]):
            name = RTA_NAMES.get(atype, "attr%s" % atype)
            if atype in (1, 2, 5, 7):
                parts.append("%s=%s" % (name, addr_text(fam, val)))
            elif len(val) == 4:
                parts.append("%s=%d" % (name, struct.unpack("=I", val)[0]))
            else:
                parts.append("%s(%d)" % (name, len(val)))
        return " ".join(parts)
    return "%d payload bytes" % len(body)


def decode(buf):
    """Return one text line per netlink message in buf."""
    lines = []
    off = 0
    while off < len(buf):
        if off + 16 > len(buf):
            lines.append("@%d: %d trailing bytes (short header)" % (off, len(buf) - off))
            break
        mlen, mtype, flags, seq, pid = struct.unpack_from("=IHHII", buf, off)
        if mlen < 16 or off + mlen > len(buf):
            lines.append("@%d: bad nlmsg_len %d" % (off, mlen))
            break
        lines.append("@%-5d len=%-4d %-13s flags=%-22s seq=%d pid=0x%x  %s" % (
            off, mlen, MSG_NAMES.get(mtype, str(mtype)), fmt_flags(mtype, flags), seq, pid,
            describe_payload(mtype, flags, buf[off + 16:off + mlen])))
        off += align4(mlen)
    return lines


def hexdump(buf):
    lines = []
    for i in range(0, len(buf), 16):
        chunk = buf[i:i + 16]
        lines.append("%04x  %s" % (i, " ".join("%02x" % b for b in chunk)))
    return lines


# ---------------------------------------------------------------- capture (inside the netns)

def sh(*argv):
    subprocess.run(argv, check=True)


def sysctl(path, value):
    with open("/proc/sys/" + path, "w") as f:
        f.write(value)


class Nl:
    def __init__(self, portid):
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
        self.sock.setsockopt(SOL_NETLINK, NETLINK_GET_STRICT_CHK, 1)
        self.sock.setsockopt(SOL_NETLINK, NETLINK_EXT_ACK, 1)
        self.sock.bind((portid, 0))
        self.sock.settimeout(5)

    def cap_ack(self):
        self.sock.setsockopt(SOL_NETLINK, NETLINK_CAP_ACK, 1)

    def send(self, msg):
        self.sock.sendto(msg, (0, 0))

    def recv(self):
        buf = self.sock.recv(1 << 20)
        if len(buf) >= 1 << 20:
            sys.exit("capture: recv buffer filled up; datagram may be truncated")
        return buf

    def recv_until_final(self):
        """recv() until a buffer holds NLMSG_DONE or NLMSG_ERROR; return each buffer."""
        chunks = []
        while True:
            buf = self.recv()
            chunks.append(buf)
            off = 0
            final = False
            while off + 16 <= len(buf):
                mlen, mtype = struct.unpack_from("=IH", buf, off)
                if mtype in (NLMSG_DONE, NLMSG_ERROR):
                    final = True
                if mlen < 16:
                    break
                off += align4(mlen)
            if final:
                return chunks


def wait_for_link_local(devs, timeout=10.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        ok = True
        for dev in devs:
            out = subprocess.run(["ip", "-6", "addr", "show", "dev", dev, "scope", "link"],
                                 capture_output=True, text=True).stdout
            if "fe80::" not in out or "tentative" in out:
                ok = False
        if ok:
            return
        time.sleep(0.1)
    sys.exit("capture: link-local addresses did not appear on %s" % ", ".join(devs))


def ifindex(name):
    with open("/sys/class/net/%s/ifindex" % name) as f:
        return int(f.read())


def inner(outdir):
    here = subprocess.run(["ip", "netns", "identify", str(os.getpid())],
                          capture_output=True, text=True).stdout.strip()
    if here != NETNS:
        sys.exit("capture: refusing to run outside netns %s (ip netns identify says %r)"
                 % (NETNS, here))

    for conf in ("all", "default"):
        sysctl("net/ipv6/conf/%s/accept_dad" % conf, "0")
    sh("ip", "link", "set", "lo", "up")
    sh("ip", "link", "add", "venet0", "index", "2", "type", "veth",
       "peer", "name", "venet0p", "index", "3")
    sh("ip", "link", "set", "venet0", "address", "02:00:00:00:00:01")
    sh("ip", "link", "set", "venet0p", "address", "02:00:00:00:00:02")
    sh("ip", "link", "set", "venet0", "up")
    sh("ip", "link", "set", "venet0p", "up")
    sh("ip", "addr", "add", "2001:db8:f1c1:8454:964::2/80", "dev", "venet0")
    sh("ip", "addr", "add", "2001:db8:f1c1:8454:964::beef/80", "dev", "venet0", "nodad",
       "noprefixroute", "valid_lft", "3600", "preferred_lft", "1800")
    sh("ip", "addr", "add", "::2/128", "dev", "venet0")
    sh("ip", "addr", "add", "192.0.2.30/32", "dev", "venet0", "label", "venet0:0")
    sh("ip", "-6", "route", "add", "default", "dev", "venet0")
    sh("ip", "addrlabel", "add", "prefix", "2001:db8:f1c1:8454::/64", "dev", "venet0",
       "label", "100")
    wait_for_link_local(["venet0", "venet0p"])

    venet0 = ifindex("venet0")
    os.makedirs(outdir, exist_ok=True)
    files = {}  # name -> (request description, [recv buffers])

    def save(name, request, chunks):
        with open(os.path.join(outdir, name), "wb") as f:
            f.write(b"".join(chunks))
        files[name] = (request, chunks)

    nl = Nl(PORTID_MAIN)
    seq = 1

    # -- address dumps
    for fam, name in ((socket.AF_INET6, "addr_dump_v6.bin"), (socket.AF_INET, "addr_dump_v4.bin")):
        nl.send(nlmsg(RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, seq, ifaddrmsg(fam)))
        save(name, "RTM_GETADDR, NLM_F_REQUEST|NLM_F_DUMP, seq=%d, ifaddrmsg{family=%s, rest 0}"
             % (seq, "AF_INET6" if fam == socket.AF_INET6 else "AF_INET"),
             nl.recv_until_final())
        seq += 1

    # -- link dump
    nl.send(nlmsg(RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, seq, ifinfomsg()))
    save("link_dump.bin", "RTM_GETLINK, NLM_F_REQUEST|NLM_F_DUMP, seq=%d, "
         "ifinfomsg{family=AF_UNSPEC, rest 0}, no attributes" % seq, nl.recv_until_final())
    seq += 1

    # -- route get (reply and ACK arrive as separate datagrams)
    dst = socket.inet_pton(socket.AF_INET6, "2001:db8:9f16:8fc7::9")
    nl.send(nlmsg(RTM_GETROUTE, NLM_F_REQUEST | NLM_F_ACK, seq,
                  rtmsg(socket.AF_INET6, dst_len=128) + nlattr(RTA_DST, dst)))
    chunks = nl.recv_until_final()
    req = ("RTM_GETROUTE, NLM_F_REQUEST|NLM_F_ACK, seq=%d, rtmsg{family=AF_INET6, dst_len=128, "
           "rest 0} + RTA_DST=2001:db8:9f16:8fc7::9 (NETLINK_CAP_ACK off)" % seq)
    if len(chunks) >= 2:
        save("route_get_v6.bin", req + "; first recv()", chunks[:1])
        save("route_get_v6_ack.bin", req + "; second recv()", chunks[1:])
    else:
        save("route_get_v6.bin", req + "; reply and ACK in one recv()", chunks)
    seq += 1

    # -- NEWADDR replace: deprecate ::beef, keep flags, ACK with NETLINK_CAP_ACK
    nl.cap_ack()
    beef = socket.inet_pton(socket.AF_INET6, "2001:db8:f1c1:8454:964::beef")
    ifa_flags32 = IFA_F_NODAD | IFA_F_NOPREFIXROUTE
    nl.send(nlmsg(RTM_NEWADDR, NLM_F_REQUEST | NLM_F_ACK | NLM_F_REPLACE, seq,
                  ifaddrmsg(socket.AF_INET6, 80, ifa_flags32 & 0xff, 0, venet0)
                  + nlattr(IFA_ADDRESS, beef)
                  + nlattr(IFA_CACHEINFO, struct.pack("=IIII", 0, 3600, 0, 0))
                  + nlattr(IFA_FLAGS, struct.pack("=I", ifa_flags32))))
    save("newaddr_ack.bin",
         "RTM_NEWADDR, NLM_F_REQUEST|NLM_F_ACK|NLM_F_REPLACE, seq=%d, ifaddrmsg{AF_INET6, "
         "prefixlen=80, ifa_flags=IFA_F_NODAD, scope=0, ifindex=%d} + IFA_ADDRESS=::beef + "
         "IFA_CACHEINFO{prefered=0, valid=3600} + IFA_FLAGS=nodad|noprefixroute (0x202); "
         "NETLINK_CAP_ACK on" % (seq, venet0), nl.recv_until_final())
    seq += 1

    # -- the same v6 dump again, now that ::beef is deprecated
    nl.send(nlmsg(RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, seq, ifaddrmsg(socket.AF_INET6)))
    save("addr_dump_v6_deprecated.bin",
         "RTM_GETADDR dump AF_INET6 as addr_dump_v6.bin, taken after newaddr_ack.bin's request "
         "(::beef deprecated), seq=%d" % seq, nl.recv_until_final())
    seq += 1

    # -- the same route lookup again: the source is no longer the deprecated ::beef
    nl.send(nlmsg(RTM_GETROUTE, NLM_F_REQUEST | NLM_F_ACK, seq,
                  rtmsg(socket.AF_INET6, dst_len=128) + nlattr(RTA_DST, dst)))
    chunks = nl.recv_until_final()
    req = ("RTM_GETROUTE as route_get_v6.bin, seq=%d, taken after newaddr_ack.bin's request "
           "(::beef deprecated); NETLINK_CAP_ACK on" % seq)
    save("route_get_v6_deprecated.bin", req + "; first recv() only (the ACK, second recv(), "
         "is not kept)", chunks[:1])
    seq += 1

    # -- extended ack: strict checking rejects rtm_table in a get-route request
    def bad_getroute(s):
        return nlmsg(RTM_GETROUTE, NLM_F_REQUEST | NLM_F_ACK, s,
                     rtmsg(socket.AF_INET6, dst_len=128, table=254) + nlattr(RTA_DST, dst))
    bad_req = ("RTM_GETROUTE, NLM_F_REQUEST|NLM_F_ACK, seq=%d, rtmsg{AF_INET6, dst_len=128, "
               "table=254 (RT_TABLE_MAIN), rest 0} + RTA_DST=2001:db8:9f16:8fc7::9")
    nl.send(bad_getroute(seq))
    save("error_extack.bin", bad_req % seq + "; NETLINK_CAP_ACK on", nl.recv_until_final())
    seq += 1

    nl2 = Nl(PORTID_UNCAPPED)
    nl2.send(bad_getroute(1))
    save("error_extack_uncapped.bin", bad_req % 1 + "; fresh socket, NETLINK_CAP_ACK off",
         nl2.recv_until_final())

    # -- a dump whose header fails strict checking: errno in NLMSG_DONE
    nl.send(nlmsg(RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, seq,
                  ifaddrmsg(socket.AF_INET6, prefixlen=64)))
    save("done_with_errno.bin",
         "RTM_GETADDR, NLM_F_REQUEST|NLM_F_DUMP, seq=%d, ifaddrmsg{AF_INET6, prefixlen=64, "
         "rest 0} (nonzero prefixlen is invalid under NETLINK_GET_STRICT_CHK)" % seq,
         nl.recv_until_final())
    seq += 1

    # -- the address-label table: the defaults plus the one added above
    nl.send(nlmsg(RTM_GETADDRLABEL, NLM_F_REQUEST | NLM_F_DUMP, seq,
                  struct.pack("=BBBBII", socket.AF_INET6, 0, 0, 0, 0, 0)))
    save("addrlabel_dump.bin",
         "RTM_GETADDRLABEL, NLM_F_REQUEST|NLM_F_DUMP, seq=%d, ifaddrlblmsg{AF_INET6, rest 0}"
         % seq, nl.recv_until_final())
    seq += 1

    # -- the iproute2 view of the final state, for the README
    ip_state = subprocess.run(["ip", "addr", "show"], capture_output=True, text=True).stdout
    write_readme(outdir, files, ip_state, venet0)


def write_readme(outdir, files, ip_state, venet0):
    kernel = os.uname().release
    out = []
    w = out.append
    w("# Kernel captures for src/nl unit tests")
    w("")
    w("Raw bytes exactly as returned by `recv()` on an `AF_NETLINK`/`NETLINK_ROUTE` socket.")
    w("Produced by `tools/capture.py` (run as root; it builds everything in a private network")
    w("namespace `%s` and deletes it afterwards)." % NETNS)
    w("The `*_v3.10*`, `*_v4.*` files beside them are older kernels' bytes, built from their")
    w("source by `tools/kernel_fixtures.py`: see `OLDER_KERNELS.md`.")
    w("")
    w("- Kernel: `%s` (x86_64, little-endian; netlink is host-endian)" % kernel)
    w("- Socket options: `NETLINK_GET_STRICT_CHK`=1 and `NETLINK_EXT_ACK`=1 on every socket;")
    w("  `NETLINK_CAP_ACK`=1 from `newaddr_ack.bin` on (main socket) — see each file.")
    w("- Main socket bound to nl_pid 0x%x, the uncapped one to 0x%x, so `nlmsg_pid` in replies"
      % (PORTID_MAIN, PORTID_UNCAPPED))
    w("  is fixed. Sequence numbers are fixed.")
    w("- Not deterministic between runs: `IFA_CACHEINFO` cstamp/tstamp and the remaining")
    w("  lifetimes of ::beef (valid 3600 / preferred 1800 count down), link statistics,")
    w("  `RTA_CACHEINFO`, and `IFLA_*` details that depend on the kernel build.")
    w("")
    w("Setup inside the namespace (accept_dad=0 for all/default, lo up):")
    w("")
    w("```")
    w("ip link add venet0 index 2 type veth peer name venet0p index 3")
    w("ip link set venet0 address 02:00:00:00:00:01; ip link set venet0p address 02:00:00:00:00:02")
    w("ip link set venet0 up; ip link set venet0p up")
    w("ip addr add 2001:db8:f1c1:8454:964::2/80 dev venet0")
    w("ip addr add 2001:db8:f1c1:8454:964::beef/80 dev venet0 nodad noprefixroute valid_lft 3600 preferred_lft 1800")
    w("ip addr add ::2/128 dev venet0")
    w("ip addr add 192.0.2.30/32 dev venet0 label venet0:0")
    w("ip -6 route add default dev venet0")
    w("ip addrlabel add prefix 2001:db8:f1c1:8454::/64 dev venet0 label 100")
    w("```")
    w("")
    w("venet0 has ifindex %d. State at the end of the run (`ip addr show`):" % venet0)
    w("")
    w("```")
    out.extend(ip_state.rstrip("\n").split("\n"))
    w("```")
    w("")
    w("Things these captures show that a decoder must cope with:")
    w("")
    w("- A dump's NLMSG_DONE may share a recv() buffer with the last RTM_NEW* message or")
    w("  arrive alone (the per-file recv() sizes are listed below when there was more than one).")
    w("- A success ACK (error 0) is always `NLM_F_CAPPED` and echoes only the 16-byte request")
    w("  header, with or without `NETLINK_CAP_ACK`; an error ACK without `NETLINK_CAP_ACK` echoes")
    w("  the whole request (`error_extack_uncapped.bin`), and the ext-ack TLVs follow it.")
    w("- A dump rejected by strict checking ends in NLMSG_DONE carrying the negative errno and,")
    w("  with `NLM_F_ACK_TLVS` (0x200, same bit as NLM_F_MATCH), the ext-ack TLVs directly")
    w("  after the 4-byte errno (`done_with_errno.bin`).")
    w("- The 8-bit `ifa_flags` holds only the low bits (0x80 = IFA_F_PERMANENT, 0x20 =")
    w("  IFA_F_DEPRECATED, 0x02 = IFA_F_NODAD); `IFA_FLAGS` holds all 32 (0x200 =")
    w("  IFA_F_NOPREFIXROUTE). Addresses with a finite lifetime lack IFA_F_PERMANENT.")
    w("- IPv6 dumps carry `IFA_ADDRESS` only (no `IFA_LOCAL`); IPv4 dumps carry both plus")
    w("  `IFA_LABEL`. Attribute order differs between families (IPv4: IFA_FLAGS before")
    w("  IFA_CACHEINFO). Kernel-made addresses (::1, fe80::) carry `IFA_PROTO` (1 byte + pad).")
    w("- Scope: 0 universe/global, 253 link, 254 host. Forever lifetimes are 0xffffffff.")
    w("- After deprecating ::beef, `RTA_PREFSRC` for 2001:db8:9f16:8fc7::9 switches from ::beef")
    w("  (`route_get_v6.bin`) to ::2/80 (`route_get_v6_deprecated.bin`): the seed's fix, observed.")
    w("")
    w("Decode lines: `@offset len=nlmsg_len TYPE flags=... seq pid  payload summary`.")
    w("")
    for name, (request, chunks) in files.items():
        total = sum(len(c) for c in chunks)
        w("## `%s` (%d bytes)" % (name, total))
        w("")
        w("Request: %s." % request)
        w("")
        if len(chunks) > 1:
            w("recv() buffers, concatenated: %s bytes." % " + ".join(str(len(c)) for c in chunks))
            w("")
        w("```")
        out.extend(decode(b"".join(chunks)))
        if total <= 160:
            w("")
            out.extend(hexdump(b"".join(chunks)))
        w("```")
        w("")
    with open(os.path.join(outdir, "README.md"), "w") as f:
        f.write("\n".join(out))


# ---------------------------------------------------------------- outer driver

def outer(outdir):
    if os.geteuid() != 0:
        sys.exit("capture: must run as root (creates a network namespace)")
    outdir = os.path.abspath(outdir)
    if os.path.exists("/run/netns/" + NETNS):
        subprocess.run(["ip", "netns", "del", NETNS])
    sh("ip", "netns", "add", NETNS)
    try:
        rc = subprocess.run(["ip", "netns", "exec", NETNS, sys.executable,
                             os.path.abspath(__file__), "--inner", outdir]).returncode
    finally:
        subprocess.run(["ip", "netns", "del", NETNS])
    if rc:
        sys.exit(rc)
    for name in sorted(os.listdir(outdir)):
        if name.endswith(".bin"):
            with open(os.path.join(outdir, name), "rb") as f:
                print("== %s" % name)
                print("\n".join(decode(f.read())))


def main():
    args = sys.argv[1:]
    if args[:1] == ["--inner"]:
        inner(args[1])
    elif args[:1] == ["--decode"]:
        for path in args[1:]:
            with open(path, "rb") as f:
                print("== %s" % path)
                print("\n".join(decode(f.read())))
    elif not args:
        outer(DEFAULT_OUT)
    elif len(args) == 2 and args[0] == "--out":
        outer(args[1])
    else:
        sys.exit("usage: capture.py [--out DIR] | --decode FILE...")


if __name__ == "__main__":
    main()
