//! `struct rtmsg` with the attributes of a route lookup: nlsel asks the kernel which source
//! address it would use (`RTM_GETROUTE` with `RTA_DST`, and the flow an application would
//! send: `RTA_OIF`, `RTA_IP_PROTO`, `RTA_SPORT`, `RTA_DPORT`) and reads `RTA_PREFSRC` and
//! `RTA_OIF`, and of the route as configured its paths (`RTA_MULTIPATH`) and nexthop object
//! (`RTA_NH_ID`), which decide the device the kernel takes the source from.

use std::net::IpAddr;

use zerocopy::byteorder::native_endian::U32;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout, Unaligned};

use super::attr::{AttrPayload, AttrWriter, Attrs, attrs_len, ip_octets};
use super::{Emit, Error, Family, Result, add_len, split};

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

pub const RTA_DST: u16 = 1;
pub const RTA_SRC: u16 = 2;
pub const RTA_IIF: u16 = 3;
pub const RTA_OIF: u16 = 4;
pub const RTA_GATEWAY: u16 = 5;
pub const RTA_PRIORITY: u16 = 6;
pub const RTA_PREFSRC: u16 = 7;
pub const RTA_MULTIPATH: u16 = 9;
pub const RTA_TABLE: u16 = 15;
/// The flow's protocol and ports (4.17): a kernel before that ignores them, as it ignores any
/// attribute type above its `RTA_MAX` (`nla_parse`), and answers as for protocol 0.
pub const RTA_IP_PROTO: u16 = 27;
pub const RTA_SPORT: u16 = 28;
pub const RTA_DPORT: u16 = 29;
/// The route's nexthop object (5.3).
pub const RTA_NH_ID: u16 = 30;

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
pub struct Paths<'a> {
    rest: &'a [u8],
    failed: bool,
}

/// One `rtnexthop`: its device, and the bytes after it and its padding.
fn parse_path(bytes: &[u8]) -> Result<(u32, &[u8])> {
    let (raw, _) = RawRtNexthop::ref_from_prefix(bytes)
        .map_err(|_| Error::truncated("rtnexthop", RTNH_LEN, bytes.len()))?;
    let len = usize::from(raw.rtnh_len.get());
    if len < RTNH_LEN {
        return Err(Error::length_too_small("rtnexthop", len, RTNH_LEN));
    }
    split(bytes, len, "rtnexthop")?;
    let next = super::padded_len(len, "rtnexthop")?;
    Ok((
        raw.rtnh_ifindex.get(),
        bytes.get(next..).unwrap_or_default(),
    ))
}

impl Iterator for Paths<'_> {
    type Item = Result<u32>;

    fn next(&mut self) -> Option<Result<u32>> {
        if self.failed || self.rest.is_empty() {
            return None;
        }
        let path = parse_path(self.rest).map(|(ifindex, rest)| {
            self.rest = rest;
            ifindex
        });
        self.failed = path.is_err();
        Some(path)
    }
}

/// One route message with the attributes nlsel reads or sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteMessage {
    pub family: Family,
    pub dst_len: u8,
    pub src_len: u8,
    pub tos: u8,
    pub table: u8,
    pub protocol: u8,
    pub scope: u8,
    pub route_type: u8,
    pub flags: u32,
    pub dst: Option<IpAddr>,
    pub src: Option<IpAddr>,
    pub gateway: Option<IpAddr>,
    pub prefsrc: Option<IpAddr>,
    pub oif: Option<u32>,
    pub table_id: Option<u32>,
    pub ip_proto: Option<u8>,
    pub sport: Option<u16>,
    pub dport: Option<u16>,
    /// `RTA_MULTIPATH` as the kernel sent it; [`RouteMessage::paths`] reads it.
    pub multipath: Option<Vec<u8>>,
    pub nh_id: Option<u32>,
}

impl RouteMessage {
    /// The devices of the route's paths (`RTA_MULTIPATH`), in the kernel's order.
    pub fn paths(&self) -> Paths<'_> {
        Paths {
            rest: self.multipath.as_deref().unwrap_or_default(),
            failed: false,
        }
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
            src_len: 0,
            tos: 0,
            table: 0,
            protocol: 0,
            scope: 0,
            route_type: 0,
            flags: 0,
            dst: Some(dst),
            src: None,
            gateway: None,
            prefsrc: None,
            oif: None,
            table_id: None,
            ip_proto: None,
            sport: None,
            dport: None,
            multipath: None,
            nh_id: None,
        }
    }

    /// Reads a message payload; its attributes run to its end.
    pub fn parse(payload: &[u8]) -> Result<(RouteMessage, &[u8])> {
        let (raw, attrs) = RawRtMsg::ref_from_prefix(payload)
            .map_err(|_| Error::truncated("rtmsg", RTMSG_LEN, payload.len()))?;
        let family = Family::from(raw.rtm_family);
        let mut message = RouteMessage {
            family,
            dst_len: raw.rtm_dst_len,
            src_len: raw.rtm_src_len,
            tos: raw.rtm_tos,
            table: raw.rtm_table,
            protocol: raw.rtm_protocol,
            scope: raw.rtm_scope,
            route_type: raw.rtm_type,
            flags: raw.rtm_flags.get(),
            dst: None,
            src: None,
            gateway: None,
            prefsrc: None,
            oif: None,
            table_id: None,
            ip_proto: None,
            sport: None,
            dport: None,
            multipath: None,
            nh_id: None,
        };
        for attr in Attrs::new(attrs) {
            let attr = attr?;
            match attr.attr_type() {
                RTA_DST => message.dst = Some(attr.ip(family, "RTA_DST")?),
                RTA_SRC => message.src = Some(attr.ip(family, "RTA_SRC")?),
                RTA_GATEWAY => message.gateway = Some(attr.ip(family, "RTA_GATEWAY")?),
                RTA_PREFSRC => message.prefsrc = Some(attr.ip(family, "RTA_PREFSRC")?),
                RTA_OIF => message.oif = Some(attr.u32("RTA_OIF")?),
                RTA_TABLE => message.table_id = Some(attr.u32("RTA_TABLE")?),
                RTA_IP_PROTO => message.ip_proto = Some(attr.u8("RTA_IP_PROTO")?),
                RTA_SPORT => message.sport = Some(attr.be16("RTA_SPORT")?),
                RTA_DPORT => message.dport = Some(attr.be16("RTA_DPORT")?),
                RTA_MULTIPATH => message.multipath = Some(attr.payload.to_vec()),
                RTA_NH_ID => message.nh_id = Some(attr.u32("RTA_NH_ID")?),
                _ => {}
            }
        }
        Ok((message, &[]))
    }

    fn attrs(&self) -> impl Iterator<Item = (u16, AttrPayload<'_>)> {
        let ip = |kind, ip: Option<IpAddr>| ip.map(|ip| (kind, AttrPayload::Ip(ip_octets(&ip))));
        let u32 = |kind, value: Option<u32>| value.map(|value| (kind, AttrPayload::U32(value)));
        [
            ip(RTA_DST, self.dst),
            ip(RTA_SRC, self.src),
            ip(RTA_GATEWAY, self.gateway),
            ip(RTA_PREFSRC, self.prefsrc),
            u32(RTA_OIF, self.oif),
            u32(RTA_TABLE, self.table_id),
            self.ip_proto.map(|p| (RTA_IP_PROTO, AttrPayload::U8(p))),
            self.sport.map(|p| (RTA_SPORT, AttrPayload::Be16(p))),
            self.dport.map(|p| (RTA_DPORT, AttrPayload::Be16(p))),
            self.multipath
                .as_deref()
                .map(|paths| (RTA_MULTIPATH, AttrPayload::Raw(paths))),
            u32(RTA_NH_ID, self.nh_id),
        ]
        .into_iter()
        .flatten()
    }
}

impl Emit for RouteMessage {
    fn buffer_len(&self) -> Result<usize> {
        add_len(RTMSG_LEN, attrs_len(self.attrs())?, "rtmsg")
    }

    fn emit(&self, buf: &mut [u8]) -> Result<()> {
        let raw = RawRtMsg {
            rtm_family: self.family.into(),
            rtm_dst_len: self.dst_len,
            rtm_src_len: self.src_len,
            rtm_tos: self.tos,
            rtm_table: self.table,
            rtm_protocol: self.protocol,
            rtm_scope: self.scope,
            rtm_type: self.route_type,
            rtm_flags: U32::new(self.flags),
        };
        let available = buf.len();
        raw.write_to_prefix(buf)
            .map_err(|_| Error::truncated("rtmsg", RTMSG_LEN, available))?;
        AttrWriter::new(buf, RTMSG_LEN).put_all(self.attrs())
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv6Addr;

    use proptest::prelude::*;

    use super::*;
    use crate::nl::error::ErrorMessage;
    use crate::nl::header::{Message, NLMSG_ERROR, NlmFlags, RTM_GETROUTE, RTM_NEWROUTE};
    use crate::nl::strategies::{self, attrs_cut, check_short_buffers, emit_vec};

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

        #[test]
        fn route_message_roundtrip(message in strategies::route_message()) {
            let bytes = emit_vec(&message);
            prop_assert_eq!(RouteMessage::parse(&bytes), Ok((message, &[][..])));
        }

        #[test]
        fn route_message_emit_into_short_buffers_fails(message in strategies::route_message()) {
            check_short_buffers(&message);
        }

        #[test]
        fn every_truncation_of_a_route_message_is_exact(message in strategies::route_message()) {
            let bytes = emit_vec(&message);
            for cut in 0..=bytes.len() {
                let parsed = RouteMessage::parse(&bytes[..cut]);
                if cut < RTMSG_LEN {
                    prop_assert_eq!(parsed, Err(Error::truncated("rtmsg", RTMSG_LEN, cut)));
                    continue;
                }
                match attrs_cut(&bytes[RTMSG_LEN..], cut - RTMSG_LEN) {
                    // A last attribute cut at its padding (a port, a protocol) emits it whole.
                    Ok(()) => {
                        let emitted = emit_vec(&parsed.unwrap().0);
                        prop_assert_eq!(&emitted[..], &bytes[..cut.next_multiple_of(4)]);
                    }
                    Err(expected) => prop_assert_eq!(parsed, Err(expected)),
                }
            }
        }

        #[test]
        fn route_message_parse_never_panics(bytes in strategies::bytes(96)) {
            if let Ok((message, _)) = RouteMessage::parse(&bytes) {
                let emitted = emit_vec(&message);
                prop_assert_eq!(RouteMessage::parse(&emitted), Ok((message, &[][..])));
            }
        }

        #[test]
        fn route_message_with_attributes_never_panics(
            header in any::<[u8; RTMSG_LEN]>(),
            attrs in proptest::collection::vec((0u16..32, strategies::bytes(20)), 0..6),
        ) {
            let bytes = strategies::header_and_attrs(&header, &attrs);
            if let Ok((message, _)) = RouteMessage::parse(&bytes) {
                let emitted = emit_vec(&message);
                prop_assert_eq!(RouteMessage::parse(&emitted), Ok((message, &[][..])));
            }
        }
    }
}
