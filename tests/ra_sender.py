#!/usr/bin/env python3
"""Send one Router Advertisement with one Prefix Information option, for tests/watch.rs.

    ip netns exec NS python3 tests/ra_sender.py IFACE PREFIX VALID PREFERRED [COUNT INTERVAL]

IFACE is the sending interface (the RA leaves from its link-local address, as RFC 4861
requires), PREFIX a /64 prefix such as 2001:db8:5::, VALID and PREFERRED the lifetimes in
seconds. The RA goes to ff02::1 with hop limit 255; router lifetime 0 (not a default router);
flags L|A on the prefix, so the receiver autoconfigures an address in it (SLAAC).

The kernel fills in the ICMPv6 checksum on raw ICMPv6 sockets (RFC 3542, section 3.1), so it
is left zero here. With COUNT and INTERVAL (seconds, may be fractional) it sends COUNT RAs,
one every INTERVAL (a router's stream, faster than a process per RA could start). Prints `sent
N bytes` after each RA; any failure is an exception (exit 1).
"""

import socket
import struct
import sys
import time

ND_ROUTER_ADVERT = 134
ND_OPT_PREFIX_INFORMATION = 3
PREFIX_FLAG_ONLINK = 0x80
PREFIX_FLAG_AUTO = 0x40


def router_advertisement(prefix: bytes, valid: int, preferred: int) -> bytes:
    # type, code, checksum, cur hop limit, flags (M/O), router lifetime,
    # reachable time, retrans timer
    header = struct.pack("!BBHBBHII", ND_ROUTER_ADVERT, 0, 0, 64, 0, 0, 0, 0)
    # type, length (units of 8 octets), prefix length, flags, valid lifetime,
    # preferred lifetime, reserved, prefix
    pio = struct.pack(
        "!BBBBIII16s",
        ND_OPT_PREFIX_INFORMATION,
        4,
        64,
        PREFIX_FLAG_ONLINK | PREFIX_FLAG_AUTO,
        valid,
        preferred,
        0,
        prefix,
    )
    return header + pio


def main() -> None:
    if len(sys.argv) not in (5, 7):
        sys.exit("usage: ra_sender.py IFACE PREFIX VALID PREFERRED [COUNT INTERVAL]")
    ifname, prefix_text, valid_text, preferred_text = sys.argv[1:5]
    count, interval = (int(sys.argv[5]), float(sys.argv[6])) if len(sys.argv) == 7 else (1, 0)
    prefix = socket.inet_pton(socket.AF_INET6, prefix_text)
    ifindex = socket.if_nametoindex(ifname)
    packet = router_advertisement(prefix, int(valid_text), int(preferred_text))

    sock = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
    try:
        sock.setsockopt(
            socket.SOL_SOCKET, socket.SO_BINDTODEVICE, ifname.encode() + b"\0"
        )
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, ifindex)
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_LOOP, 0)
        start = time.monotonic()
        for n in range(count):
            # Paced from the start, so that the stream keeps its rate.
            time.sleep(max(0.0, start + n * interval - time.monotonic()))
            sent = sock.sendto(packet, ("ff02::1", 0, 0, ifindex))
            if sent != len(packet):
                sys.exit(f"short send: {sent} of {len(packet)} bytes")
            print(f"sent {sent} bytes", flush=True)
    finally:
        sock.close()


if __name__ == "__main__":
    main()
