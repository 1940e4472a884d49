#!/usr/bin/env python3
"""Write the replay fixtures of older kernels into src/nl/testdata/.

    python3 tools/kernel_fixtures.py [OUTDIR]

No kernel is needed: each file is the bytes a kernel generation writes, built field by field
from that kernel's source (the function and version are named at each builder), for the
generations nlsel cannot boot here (3.10/OpenVZ 7, 4.4, 4.9, 4.19). The captured files beside
them (tools/capture.py) are 6.18's. src/nl/testdata/README.md describes every file; the fuzz
corpora (fuzz/corpus/parse, fuzz/corpus/roundtrip) hold copies as seeds.

Stdlib only, deterministic, x86_64 byte order (netlink is host-endian).
"""

import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.join(HERE, "..", "src", "nl", "testdata")

PORTID = 0x6E6C7331  # the capture's port id, so the fixtures read like the captures

NLM_F_REQUEST, NLM_F_MULTI, NLM_F_ACK = 0x01, 0x02, 0x04
NLM_F_DUMP_INTR = 0x10
NLM_F_REPLACE = 0x100
NLM_F_CAPPED, NLM_F_ACK_TLVS = 0x100, 0x200
NLMSG_ERROR, NLMSG_DONE = 2, 3
RTM_NEWADDR, RTM_NEWROUTE, RTM_GETROUTE = 20, 24, 26
IFA_ADDRESS, IFA_CACHEINFO, IFA_FLAGS = 1, 6, 8
RTA_DST, RTA_SRC, RTA_OIF, RTA_PRIORITY, RTA_PREFSRC = 1, 2, 4, 6, 7
RTA_CACHEINFO, RTA_TABLE, RTA_PREF = 12, 15, 20
NLMSGERR_ATTR_OFFS = 2
AF_INET6 = 10
INFINITY = 0xFFFFFFFF
ENODEV, ERANGE = 19, 34


def align4(n):
    return (n + 3) & ~3


def nlmsg(msg_type, flags, seq, pid, payload):
    """__nlmsg_put: header, payload, zeroed padding to NLMSG_ALIGN."""
    length = 16 + len(payload)
    return struct.pack("<IHHII", length, msg_type, flags, seq, pid) + payload + b"\0" * (
        align4(length) - length
    )


def attr(kind, payload):
    """nla_put: nla_len counts header and payload, padding is zeroed."""
    length = 4 + len(payload)
    return struct.pack("<HH", length, kind) + payload + b"\0" * (align4(length) - length)


def ip6(text):
    import ipaddress

    return ipaddress.IPv6Address(text).packed


def newaddr_request(seq, ifindex, cacheinfo_len=16):
    """What nlsel sends to deprecate ::beef (model::Address::change_message): ifaddrmsg,
    IFA_ADDRESS, IFA_CACHEINFO{preferred 0, valid 3600}, IFA_FLAGS; pid 0 as emit_message
    writes it. `cacheinfo_len` < 16 makes the malformed request of error_v4.12_capped_offs."""
    body = struct.pack("<BBBBI", AF_INET6, 80, 0x02, 0, ifindex)
    body += attr(IFA_ADDRESS, ip6("2001:db8:f1c1:8454:964::beef"))
    body += attr(IFA_CACHEINFO, struct.pack("<IIII", 0, 3600, 0, 0)[:cacheinfo_len])
    body += attr(IFA_FLAGS, struct.pack("<I", 0x202))
    return nlmsg(RTM_NEWADDR, NLM_F_REQUEST | NLM_F_ACK | NLM_F_REPLACE, seq, 0, body)


def netlink_ack_pre_4_12(request, err, cap_ack=False):
    """netlink_ack, 3.10 (OpenVZ 7 vzkernel) to 4.2: payload = sizeof(nlmsgerr) plus, for an
    error, nlmsg_len(nlh); memcpy(&errmsg->msg, nlh, err ? nlh->nlmsg_len : sizeof(*nlh)).
    4.3 to 4.11 add NETLINK_CAP_ACK: `if (!(nlk->flags & NETLINK_F_CAP_ACK) && err)` and copy
    `payload > sizeof(*errmsg) ? nlh->nlmsg_len : sizeof(*nlh)`. Header flags 0 in both: no
    NLM_F_CAPPED before 4.12. The echoed header keeps the request's own nlmsg_len."""
    seq = struct.unpack_from("<I", request, 8)[0]
    echoed = request if err and not cap_ack else request[:16]
    return nlmsg(NLMSG_ERROR, 0, seq, PORTID, struct.pack("<i", err) + echoed)


def netlink_ack_4_12(request, err, offs=None):
    """netlink_ack, 4.12 on (the layout of 4.19), NETLINK_CAP_ACK and NETLINK_EXT_ACK set: an
    error is capped (`flags |= NLM_F_CAPPED`) and, when extack->bad_attr is set, followed by
    NLMSGERR_ATTR_OFFS, the bad attribute's offset from the request's start, with
    NLM_F_ACK_TLVS."""
    seq = struct.unpack_from("<I", request, 8)[0]
    flags = NLM_F_CAPPED
    tlvs = b""
    if offs is not None:
        tlvs = attr(NLMSGERR_ATTR_OFFS, struct.pack("<I", offs))
        flags |= NLM_F_ACK_TLVS
    return nlmsg(NLMSG_ERROR, flags, seq, PORTID, struct.pack("<i", err) + request[:16] + tlvs)


def ifaddr_3_10(flags, seq, pid, prefixlen, ifa_flags, scope, ifindex, address, preferred, valid):
    """inet6_fill_ifaddr, mainline 3.10 (vz7 backports IFA_FLAGS and puts it): put_ifaddrmsg with the 8-bit flags, IFA_ADDRESS (no
    IFA_LOCAL without a peer), then put_cacheinfo {cstamp, tstamp (hundredths of a second
    since boot), ifa_prefered, ifa_valid} (struct order: prefered, valid, cstamp, tstamp).
    No IFA_FLAGS: that attribute is 3.14's."""
    body = struct.pack("<BBBBI", AF_INET6, prefixlen, ifa_flags, scope, ifindex)
    body += attr(IFA_ADDRESS, ip6(address))
    body += attr(IFA_CACHEINFO, struct.pack("<IIII", preferred, valid, 1234, 1234))
    return nlmsg(RTM_NEWADDR, flags, seq, pid, body)


ADDRESSES_3_10 = [
    # prefixlen, ifa_flags, scope, ifindex, address, preferred, valid
    (128, 0x80, 254, 1, "::1", INFINITY, INFINITY),
    (128, 0x80, 0, 2, "::2", INFINITY, INFINITY),
    (80, 0x02, 0, 2, "2001:db8:f1c1:8454:964::beef", 1800, 3600),
    (80, 0x22, 0, 2, "2001:db8:f1c1:8454:964::dead", 0, 3600),
    (64, 0x80, 253, 2, "fe80::ff:fe00:1", INFINITY, INFINITY),
]


def addr_dump_3_10(seq, intr_from=None):
    """An RTM_GETADDR dump of 3.10: inet6_dump_addr's messages with NLM_F_MULTI, then
    netlink_dump's NLMSG_DONE (errno 0, 4 bytes). With `intr_from`, the messages from that
    index on and NLMSG_DONE carry NLM_F_DUMP_INTR: nl_dump_check_consistent marks every
    message once cb->seq (dev_addr_genid ^ dev_base_seq) changed between two rounds."""
    out = b""
    for index, entry in enumerate(ADDRESSES_3_10):
        intr = NLM_F_DUMP_INTR if intr_from is not None and index >= intr_from else 0
        out += ifaddr_3_10(NLM_F_MULTI | intr, seq, PORTID, *entry)
    intr = NLM_F_DUMP_INTR if intr_from is not None else 0
    return out + nlmsg(NLMSG_DONE, NLM_F_MULTI | intr, seq, PORTID, struct.pack("<i", 0))


def route_get_request(seq, destination):
    """What nlsel sends (RouteMessage::get): rtmsg{AF_INET6, dst_len 128} + RTA_DST."""
    body = struct.pack("<BBBBBBBBI", AF_INET6, 128, 0, 0, 0, 0, 0, 0, 0)
    body += attr(RTA_DST, ip6(destination))
    return nlmsg(RTM_GETROUTE, NLM_F_REQUEST | NLM_F_ACK, seq, 0, body)


def route_reply_4_9(seq, destination, prefsrc, oif):
    """inet6_rtm_getroute -> rt6_fill_node(net, skb, rt, &fl6.daddr, &fl6.saddr, iif, ...),
    4.9: given the looked-up address, rtm_dst_len = 128 and RTA_DST = that address; RTA_SRC ::
    with rtm_src_len 128; RTA_PREFSRC from ip6_route_get_saddr; RTA_OIF, RTA_PRIORITY,
    RTA_CACHEINFO (struct rta_cacheinfo, 32 bytes), RTA_PREF. Kernels before 4.13 ignore
    RTM_F_FIB_MATCH in the request, so this is the answer to both questions."""
    body = struct.pack("<BBBBBBBBI", AF_INET6, 128, 128, 0, 254, 3, 0, 1, 0)
    body += attr(RTA_TABLE, struct.pack("<I", 254))
    body += attr(RTA_DST, ip6(destination))
    body += attr(RTA_SRC, ip6("::"))
    body += attr(RTA_PREFSRC, ip6(prefsrc))
    body += attr(RTA_OIF, struct.pack("<I", oif))
    body += attr(RTA_PRIORITY, struct.pack("<I", 1024))
    body += attr(RTA_CACHEINFO, b"\0" * 32)
    body += attr(RTA_PREF, b"\0")
    return nlmsg(RTM_NEWROUTE, 0, seq, PORTID, body)


def fixtures():
    beef = newaddr_request(5, 2)
    nodev = newaddr_request(6, 9)
    short = newaddr_request(7, 2, cacheinfo_len=8)
    dest = "2001:db8:9f16:8fc7::9"
    yield "ack_v3.10.bin", netlink_ack_pre_4_12(beef, 0)
    yield "error_v3.10.bin", netlink_ack_pre_4_12(nodev, -ENODEV)
    yield "error_v4.9_cap_ack.bin", netlink_ack_pre_4_12(nodev, -ENODEV, cap_ack=True)
    # nla_parse (4.12 on) sets extack->bad_attr at the short IFA_CACHEINFO, which fails
    # validate_nla's minimum length (ifa_ipv6_policy: .len = sizeof(struct ifa_cacheinfo)):
    # -ERANGE. Its offset: nlmsghdr 16 + ifaddrmsg 8 + IFA_ADDRESS 20.
    yield "error_v4.12_capped_offs.bin", netlink_ack_4_12(short, -ERANGE, offs=44)
    yield "addr_dump_v3.10.bin", addr_dump_3_10(1)
    yield "addr_dump_v3.10_intr.bin", addr_dump_3_10(1, intr_from=2)
    yield "route_get_v4.9.bin", route_reply_4_9(
        10, dest, "2001:db8:f1c1:8454:964::beef", 2
    ) + netlink_ack_pre_4_12(route_get_request(10, dest), 0)
    yield "route_get_v4.9_unspecified.bin", route_reply_4_9(
        12, "::", "2001:db8:f1c1:8454:964::beef", 2
    ) + netlink_ack_pre_4_12(route_get_request(12, "::"), 0)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_OUT
    for name, data in fixtures():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
        print(f"{name}: {len(data)} bytes")


if __name__ == "__main__":
    main()
