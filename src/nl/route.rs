//! `struct rtmsg` with the attributes of a route lookup: nlsel asks the kernel which source
//! address it would use (`RTM_GETROUTE` with `RTA_DST`, and the flow an application would
//! send: `RTA_OIF`, `RTA_IP_PROTO`, `RTA_SPORT`, `RTA_DPORT`) and reads `RTA_PREFSRC` and
//! `RTA_OIF`, and of the route as configured its paths (`RTA_MULTIPATH`) and nexthop object
//! (`RTA_NH_ID`), which decide the device the kernel takes the source from.

use std::net::IpAddr;

use zerocopy::byteorder::native_endian::U32;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout, Unaligned};

use super::{Error, Family, Records, Result, nl_object, split_record};

#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
struct RawRtMsg {
    rtm_family: u8,
    rtm_dst_len: u8,
    rtm_src_len: u8,
    rtm_tos: u8,
    rtm_table: u8,
    rtm_protocol: u8,
    rtm_scope: u8,
    rtm_type: u8,
    rtm_flags: U32,
}

pub const RTMSG_LEN: usize = 12;
const _: () = assert!(size_of::<RawRtMsg>() == RTMSG_LEN);

pub const RTA_IIF: u16 = 3;
pub const RTA_PRIORITY: u16 = 6;

/// `struct rtnexthop`, one path of `RTA_MULTIPATH`, followed by its own attributes.
#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
struct RawRtNexthop {
    rtnh_len: zerocopy::byteorder::native_endian::U16,
    rtnh_flags: u8,
    rtnh_hops: u8,
    rtnh_ifindex: U32,
}

pub const RTNH_LEN: usize = 8;
const _: () = assert!(size_of::<RawRtNexthop>() == RTNH_LEN);

/// The devices of an `RTA_MULTIPATH` payload's paths, in its order; stops for good at the
/// first malformed path.
pub type Paths<'a> = Records<'a, u32>;

/// One `rtnexthop`: its device, and the bytes after it and its padding.
fn parse_path(bytes: &[u8]) -> Result<(u32, &[u8])> {
    let (raw, _) = RawRtNexthop::ref_from_prefix(bytes)
        .map_err(|_| Error::truncated("rtnexthop", RTNH_LEN, bytes.len()))?;
    let len = usize::from(raw.rtnh_len.get());
    let (_, rest) = split_record(bytes, len, RTNH_LEN, "rtnexthop")?;
    Ok((raw.rtnh_ifindex.get(), rest))
}

nl_object! {
    /// One route message with the attributes nlsel reads or sends.
    #[derive(Debug, Clone, PartialEq, Eq, Default)]
    pub struct RouteMessage: RawRtMsg, "rtmsg", RTMSG_LEN {
        pub family: Family = rtm_family,
        pub dst_len: u8 = rtm_dst_len,
        pub src_len: u8 = rtm_src_len,
        pub tos: u8 = rtm_tos,
        pub table: u8 = rtm_table,
        pub protocol: u8 = rtm_protocol,
        pub scope: u8 = rtm_scope,
        pub route_type: u8 = rtm_type,
        pub flags: u32 = rtm_flags,
    }
    attributes {
        RTA_DST = 1, Ip => pub dst: IpAddr,
        RTA_SRC = 2, Ip => pub src: IpAddr,
        RTA_GATEWAY = 5, Ip => pub gateway: IpAddr,
        RTA_PREFSRC = 7, Ip => pub prefsrc: IpAddr,
        RTA_OIF = 4, U32 => pub oif: u32,
        RTA_TABLE = 15, U32 => pub table_id: u32,
        /// The flow's protocol and ports (4.17): a kernel before that ignores them, as it
        /// ignores any attribute type above its `RTA_MAX` (`nla_parse`), and answers as for
        /// protocol 0.
        RTA_IP_PROTO = 27, U8 => pub ip_proto: u8,
        RTA_SPORT = 28, Be16 => pub sport: u16,
        RTA_DPORT = 29, Be16 => pub dport: u16,
        /// `RTA_MULTIPATH` as the kernel sent it; [`RouteMessage::paths`] reads it.
        RTA_MULTIPATH = 9, Raw => pub multipath: Vec<u8>,
        /// The route's nexthop object (5.3).
        RTA_NH_ID = 30, U32 => pub nh_id: u32,
    }
}

impl RouteMessage {
    /// The devices of the route's paths (`RTA_MULTIPATH`), in the kernel's order.
    pub fn paths(&self) -> Paths<'_> {
        Records::walk(self.multipath.as_deref().unwrap_or_default(), parse_path)
    }

    /// The lookup request for one destination, with every other field zero as strict checking
    /// requires.
    pub fn get(dst: IpAddr) -> Self {
        let (family, dst_len) = match dst {
            IpAddr::V4(_) => (Family::Inet, 32),
            IpAddr::V6(_) => (Family::Inet6, 128),
        };
        RouteMessage {
            family,
            dst_len,
            dst: Some(dst),
            ..RouteMessage::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv6Addr;

    use proptest::prelude::*;

    use super::*;
    use crate::nl::error::ErrorMessage;
    use crate::nl::header::{Message, NLMSG_ERROR, NlmFlags, RTM_GETROUTE, RTM_NEWROUTE};
    use crate::nl::strategies::{self, emit_vec};
    use crate::nl::{Emit, Error};

    static ROUTE: &[u8] = include_bytes!("testdata/route_get_v6.bin");
    static ROUTE_ACK: &[u8] = include_bytes!("testdata/route_get_v6_ack.bin");
    static ROUTE_DEPRECATED: &[u8] = include_bytes!("testdata/route_get_v6_deprecated.bin");

    fn v6(text: &str) -> IpAddr {
        IpAddr::V6(text.parse::<Ipv6Addr>().unwrap())
    }

    fn route(bytes: &[u8]) -> RouteMessage {
        let (message, rest) = Message::parse(bytes).unwrap();
        assert!(rest.is_empty());
        assert_eq!(message.header.msg_type, RTM_NEWROUTE);
        RouteMessage::parse(message.payload).unwrap().0
    }

    /// The lookup nlsel sends for 2001:db8:9f16:8fc7::9; the replies echo its header fields.
    fn lookup() -> RouteMessage {
        RouteMessage::get(v6("2001:db8:9f16:8fc7::9"))
    }

    #[test]
    fn test_parse_route_get() {
        let expected = RouteMessage {
            src_len: 128,
            src: Some(v6("::")),
            table: 254,
            protocol: 3,
            route_type: 1,
            prefsrc: Some(v6("2001:db8:f1c1:8454:964::beef")),
            oif: Some(2),
            table_id: Some(254),
            ..lookup()
        };
        assert_eq!(route(ROUTE), expected);
        // After ::beef is deprecated the kernel picks ::2 instead: the fix nlsel exists for.
        let after = route(ROUTE_DEPRECATED);
        assert_eq!(after.prefsrc, Some(v6("2001:db8:f1c1:8454:964::2")));
        assert_eq!(
            after,
            RouteMessage {
                prefsrc: after.prefsrc,
                ..expected
            }
        );
    }

    #[test]
    fn test_parse_route_get_ack() {
        let (message, rest) = Message::parse(ROUTE_ACK).unwrap();
        assert!(rest.is_empty());
        assert_eq!(message.header.msg_type, NLMSG_ERROR);
        assert_eq!(message.header.seq, 4);
        let ack = ErrorMessage::parse(message.header.flags, message.payload)
            .unwrap()
            .0;
        assert_eq!(ack.error, 0);
        assert_eq!(ack.errno(), None);
        assert_eq!(ack.request.msg_type, RTM_GETROUTE);
        assert_eq!(ack.request.len, 48);
        assert_eq!(ack.request.seq, 4);
        assert_eq!(ack.request.flags, NlmFlags::REQUEST | NlmFlags::ACK);
        assert_eq!(ack.request_payload, None, "success ACKs are capped");
    }

    #[test]
    fn test_emit_lookup_request() {
        // The README's request: 48 bytes with the header, rtmsg{AF_INET6, dst_len=128} + RTA_DST.
        let request = lookup();
        assert_eq!(16 + request.buffer_len().unwrap(), 48);
        let bytes = emit_vec(&request);
        let captured = &ROUTE[16..];
        assert_eq!(bytes[..2], [10, 128]);
        assert_eq!(bytes[2..RTMSG_LEN], [0; RTMSG_LEN - 2]);
        // RTA_DST as the kernel echoes it in its reply.
        assert_eq!(
            bytes[RTMSG_LEN..],
            captured[RTMSG_LEN + 8..RTMSG_LEN + 8 + 20]
        );
    }

    #[test]
    fn test_emit_flow_request() {
        // `ip -6 route get 2001:db8:9f16:8fc7::9 from :: oif 2 ipproto udp sport 1024 dport 53`:
        // iproute2 writes the protocol with addattr8 and the ports with addattr16(htons()).
        let request = RouteMessage {
            src_len: 128,
            src: Some(v6("::")),
            oif: Some(2),
            ip_proto: Some(17),
            sport: Some(1024),
            dport: Some(53),
            ..lookup()
        };
        let bytes = emit_vec(&request);
        let tail: &[u8] = &[
            20, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // RTA_SRC ::
            8, 0, 4, 0, 2, 0, 0, 0, // RTA_OIF
            5, 0, 27, 0, 17, 0, 0, 0, // RTA_IP_PROTO, padded
            6, 0, 28, 0, 4, 0, 0, 0, // RTA_SPORT 1024
            6, 0, 29, 0, 0, 53, 0, 0, // RTA_DPORT 53
        ];
        assert_eq!(bytes[..3], [10, 128, 128]);
        assert_eq!(bytes[RTMSG_LEN + 20..], *tail);
        assert_eq!(RouteMessage::parse(&bytes), Ok((request, &[][..])));
    }

    #[test]
    fn test_emit_route_reply() {
        // The reply carries RTA_PRIORITY, RTA_CACHEINFO, RTA_PREF that nlsel skips.
        for bytes in [ROUTE, ROUTE_DEPRECATED] {
            let parsed = route(bytes);
            let emitted = emit_vec(&parsed);
            assert_eq!(emitted[..RTMSG_LEN], bytes[16..16 + RTMSG_LEN]);
            assert_eq!(RouteMessage::parse(&emitted), Ok((parsed, &[][..])));
        }
    }

    /// `RTM_F_FIB_MATCH` answers for `2001:db8:8::/64 nexthop via fe80::1 dev venet0 (2)
    /// nexthop via fe80::2 dev venet1 (4)` and for `2001:db8:9::/64 nhid 10`, group 2/1 (see
    /// nexthop.rs), which the kernel also lists as paths (nexthop_compat_mode).
    static MULTIPATH: &[u8] = include_bytes!("testdata/route_fibmatch_multipath.bin");
    static NHID: &[u8] = include_bytes!("testdata/route_fibmatch_nhid.bin");

    #[test]
    fn test_parse_paths_and_nexthop_id() {
        let multipath = route(MULTIPATH);
        assert_eq!(
            (multipath.dst_len, multipath.oif, multipath.nh_id),
            (64, None, None)
        );
        let paths: Vec<_> = multipath.paths().collect();
        assert_eq!(paths, [Ok(2), Ok(4)]);
        let nhid = route(NHID);
        assert_eq!(nhid.nh_id, Some(10));
        assert_eq!(nhid.paths().collect::<Vec<_>>(), [Ok(4), Ok(2)]);
        assert_eq!(route(ROUTE).paths().count(), 0);
        // RTA_MULTIPATH is kept as sent: emit gives the kernel's bytes back.
        let emitted = emit_vec(&multipath);
        let at = emitted.len() - 60;
        assert_eq!(emitted[at..], MULTIPATH[64..124]);
    }

    #[test]
    fn a_malformed_path_ends_the_paths() {
        let with = |multipath: &[u8]| RouteMessage {
            multipath: Some(multipath.to_vec()),
            ..lookup()
        };
        let short = with(&[8, 0, 0, 0, 2, 0, 0]);
        assert_eq!(
            short.paths().collect::<Vec<_>>(),
            [Err(Error::truncated("rtnexthop", RTNH_LEN, 7))]
        );
        let small = with(&[4, 0, 0, 0, 2, 0, 0, 0, 8, 0, 0, 0, 3, 0, 0, 0]);
        assert_eq!(
            small.paths().collect::<Vec<_>>(),
            [Err(Error::length_too_small("rtnexthop", 4, RTNH_LEN))]
        );
        let long = with(&[12, 0, 0, 0, 2, 0, 0, 0, 8, 0]);
        assert_eq!(
            long.paths().collect::<Vec<_>>(),
            [Err(Error::truncated("rtnexthop", 12, 10))]
        );
        // A path's own attributes are skipped, padding included.
        let nested = with(&[
            13, 0, 0, 0, 2, 0, 0, 0, 5, 0, 1, 0, 9, 0, 0, 0, 8, 0, 0, 0, 3, 0, 0, 0,
        ]);
        assert_eq!(nested.paths().collect::<Vec<_>>(), [Ok(2), Ok(3)]);
    }

    proptest! {
        #[test]
        fn route_paths_never_panic(multipath in strategies::bytes(64)) {
            let message = RouteMessage { multipath: Some(multipath), ..lookup() };
            prop_assert!(message.paths().count() <= 8);
        }
    }
}
