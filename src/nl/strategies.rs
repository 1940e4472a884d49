//! Proptest strategies for every wire object, in one place, for the round-trip tests, and the
//! small oracles those tests share: emitting into a guarded buffer and the error a cut attribute
//! area must give.
//!
//! Strategies yield values the emitter can honour, so that `parse(emit(x)) == x` is the whole
//! property: an IP address has the size its family implies, a family byte is the canonical one
//! (`Family::from`), names and labels hold no NUL, an uncapped request's `len` covers exactly its
//! echoed payload. The borrowed byte fields are leaked so that a strategy can yield the plain
//! `Repr` types that the tests compare; a whole test run leaks well under a megabyte.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;

use super::addr::{AddrMessage, CacheInfo, IfaFlags, IfaHeaderFlags, Scope};
use super::addrlabel::AddrLabelMessage;
use super::attr::{Attr, RTA_HDRLEN};
use super::error::{DoneMessage, ErrorMessage, ExtAck};
use super::header::{Header, NLMSG_HDRLEN, NlmFlags};
use super::link::LinkMessage;
use super::nexthop::NexthopMessage;
use super::route::RouteMessage;
use super::{Emit, Error, Family, align4};

/// Bytes after `buffer_len()` that an emit must leave as they were.
pub const GUARD: usize = 16;

pub fn leak(bytes: Vec<u8>) -> &'static [u8] {
    Box::leak(bytes.into_boxed_slice())
}

/// Any bytes, `0..max` of them.
pub fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    vec(any::<u8>(), 0..max)
}

/// Bytes that follow a message or attribute and must come back untouched as `rest`.
pub fn junk() -> impl Strategy<Value = Vec<u8>> {
    bytes(24)
}

/// A C string's bytes, without the NUL the emitter adds.
pub fn c_str_bytes(max: usize) -> impl Strategy<Value = &'static [u8]> {
    vec(1u8..=255, 0..max).prop_map(leak)
}

pub fn family() -> impl Strategy<Value = Family> {
    prop_oneof![
        Just(Family::Inet),
        Just(Family::Inet6),
        any::<u8>().prop_map(Family::from),
    ]
}

pub fn ipv4() -> impl Strategy<Value = IpAddr> {
    any::<[u8; 4]>().prop_map(|octets| IpAddr::V4(Ipv4Addr::from(octets)))
}

pub fn ipv6() -> impl Strategy<Value = IpAddr> {
    any::<[u8; 16]>().prop_map(|octets| IpAddr::V6(Ipv6Addr::from(octets)))
}

/// An address of the size `family` implies; a family the parser does not know is read by size,
/// so either size round-trips.
pub fn ip_of(family: Family) -> BoxedStrategy<IpAddr> {
    match family {
        Family::Inet => ipv4().boxed(),
        Family::Inet6 => ipv6().boxed(),
        Family::Unspec | Family::Unknown(_) => prop_oneof![ipv4(), ipv6()].boxed(),
    }
}

pub fn cache_info() -> impl Strategy<Value = CacheInfo> {
    any::<[u32; 4]>().prop_map(|[preferred_lft, valid_lft, cstamp, tstamp]| CacheInfo {
        preferred_lft,
        valid_lft,
        cstamp,
        tstamp,
    })
}

pub fn header() -> impl Strategy<Value = Header> {
    any::<(u32, u16, u16, u32, u32)>().prop_map(|(len, msg_type, flags, seq, pid)| Header {
        len,
        msg_type,
        flags: NlmFlags::from_bits_retain(flags),
        seq,
        pid,
    })
}

pub fn nlm_flags() -> impl Strategy<Value = NlmFlags> {
    any::<u16>().prop_map(NlmFlags::from_bits_retain)
}

pub fn attr() -> impl Strategy<Value = Attr<'static>> {
    (any::<u16>(), bytes(40)).prop_map(|(kind, payload)| Attr {
        kind,
        payload: leak(payload),
    })
}

/// Every attribute `AddrMessage` knows, each present or not, with arbitrary values.
pub fn addr_message() -> impl Strategy<Value = AddrMessage<'static>> {
    family().prop_flat_map(|family| {
        let header = (
            any::<u8>(),
            any::<u8>().prop_map(IfaHeaderFlags::from_bits_retain),
            any::<u8>().prop_map(Scope::from),
            any::<u32>(),
        );
        let ips = (
            option::of(ip_of(family)),
            option::of(ip_of(family)),
            option::of(ip_of(family)),
        );
        let rest = (
            option::of(c_str_bytes(20)),
            option::of(cache_info()),
            option::of(any::<u32>().prop_map(IfaFlags::from_bits_retain)),
            option::of(any::<u8>()),
            option::of(any::<u32>()),
        );
        (header, ips, rest).prop_map(
            move |(
                (prefixlen, header_flags, scope, ifindex),
                (address, local, broadcast),
                (label, cacheinfo, flags_attr, proto, rt_priority),
            )| AddrMessage {
                family,
                prefixlen,
                header_flags,
                scope,
                ifindex,
                address,
                local,
                broadcast,
                label,
                cacheinfo,
                flags_attr,
                proto,
                rt_priority,
            },
        )
    })
}

pub fn link_message() -> impl Strategy<Value = LinkMessage<'static>> {
    let header = (
        any::<u8>().prop_map(Family::from),
        any::<(u16, u32, u32, u32)>(),
    );
    let strings = (
        option::of(c_str_bytes(20)),
        option::of(c_str_bytes(12)),
        option::of(alt_name_list()),
    );
    let hardware = (
        option::of(bytes(20).prop_map(leak)),
        option::of(bytes(20).prop_map(leak)),
        option::of(bytes(20).prop_map(leak)),
    );
    let numbers = (
        option::of(any::<u32>()),
        option::of(any::<u32>()),
        option::of(any::<u32>()),
        option::of(any::<u32>()),
        option::of(any::<u8>()),
        option::of(any::<u32>()),
        option::of(any::<i32>()),
        option::of(any::<u8>()),
    );
    (header, strings, hardware, numbers).prop_map(
        |(
            (family, (link_type, ifindex, flags, change)),
            (name, qdisc, prop_list),
            (address, broadcast, perm_address),
            (mtu, link, master, txqlen, operstate, group, link_netnsid, proto_down),
        )| LinkMessage {
            family,
            link_type,
            ifindex,
            flags,
            change,
            name,
            address,
            broadcast,
            mtu,
            link,
            qdisc,
            master,
            txqlen,
            operstate,
            group,
            link_netnsid,
            proto_down,
            prop_list,
            perm_address,
        },
    )
}

/// An `IFLA_PROP_LIST` payload: well-formed nested `IFLA_ALT_IFNAME` attributes.
fn alt_name_list() -> impl Strategy<Value = &'static [u8]> {
    vec(vec(1u8..=255, 0..16), 0..3).prop_map(|names| {
        let attrs: Vec<(u16, Vec<u8>)> = names
            .into_iter()
            .map(|mut name| {
                name.push(0);
                (super::link::IFLA_ALT_IFNAME, name)
            })
            .collect();
        leak(header_and_attrs(&[], &attrs))
    })
}

pub fn route_message() -> impl Strategy<Value = RouteMessage> {
    family().prop_flat_map(|family| {
        (
            any::<[u8; 7]>(),
            any::<u32>(),
            (
                option::of(ip_of(family)),
                option::of(ip_of(family)),
                option::of(ip_of(family)),
            ),
            (option::of(any::<u32>()), option::of(any::<u32>())),
            (
                option::of(any::<u8>()),
                option::of(any::<u16>()),
                option::of(any::<u16>()),
                option::of(ip_of(family)),
            ),
            (option::of(bytes(40)), option::of(any::<u32>())),
        )
            .prop_map(
                move |(
                    [dst_len, src_len, tos, table, protocol, scope, route_type],
                    flags,
                    (dst, gateway, prefsrc),
                    (oif, table_id),
                    (ip_proto, sport, dport, src),
                    (multipath, nh_id),
                )| RouteMessage {
                    family,
                    dst_len,
                    src_len,
                    tos,
                    table,
                    protocol,
                    scope,
                    route_type,
                    flags,
                    dst,
                    src,
                    gateway,
                    prefsrc,
                    oif,
                    table_id,
                    ip_proto,
                    sport,
                    dport,
                    multipath,
                    nh_id,
                },
            )
    })
}

/// A nexthop message with each attribute present or not; the group's bytes are any bytes,
/// as the wire object keeps them.
pub fn nexthop_message() -> impl Strategy<Value = NexthopMessage> {
    (
        any::<(u8, u8, u8, u32)>(),
        option::of(any::<u32>()),
        option::of(bytes(40)),
        option::of(any::<u32>()),
    )
        .prop_map(
            |((family, scope, protocol, flags), id, group, oif)| NexthopMessage {
                family: Family::from(family),
                scope,
                protocol,
                flags,
                id,
                group,
                oif,
            },
        )
}

/// An address-label message with each attribute present or not.
pub fn addrlabel_message() -> impl Strategy<Value = AddrLabelMessage> {
    family().prop_flat_map(|family| {
        (
            any::<(u8, u8, u32, u32)>(),
            option::of(ip_of(family)),
            option::of(any::<u32>()),
        )
            .prop_map(move |((prefixlen, flags, ifindex, seq), address, label)| {
                AddrLabelMessage {
                    family,
                    prefixlen,
                    flags,
                    ifindex,
                    seq,
                    address,
                    label,
                }
            })
    })
}

pub fn ext_ack() -> impl Strategy<Value = ExtAck<'static>> {
    (
        option::of(c_str_bytes(60)),
        option::of(any::<u32>()),
        option::of(any::<u32>()),
    )
        .prop_map(|(msg, offset, missing_type)| ExtAck {
            msg,
            offset,
            missing_type,
        })
}

/// An ACK or error, capped (only the request's header, whose `len` is anything) or uncapped
/// (the whole request, whose `len` is what the kernel echoed).
pub fn error_message() -> impl Strategy<Value = ErrorMessage<'static>> {
    (
        any::<i32>(),
        header(),
        option::of(bytes(40).prop_map(leak)),
        ext_ack(),
    )
        .prop_map(|(error, mut request, request_payload, ext_ack)| {
            if let Some(body) = request_payload {
                request.len = u32::try_from(NLMSG_HDRLEN + body.len()).unwrap();
            }
            ErrorMessage {
                error,
                request,
                request_payload,
                ext_ack,
            }
        })
}

pub fn done_message() -> impl Strategy<Value = DoneMessage<'static>> {
    (any::<i32>(), ext_ack()).prop_map(|(error, ext_ack)| DoneMessage { error, ext_ack })
}

/// The header flags of an NLMSG_DONE carrying `done`.
pub fn done_flags(done: &DoneMessage<'_>) -> NlmFlags {
    if done.ext_ack.is_empty() {
        NlmFlags::MULTI
    } else {
        NlmFlags::MULTI | NlmFlags::ACK_TLVS
    }
}

/// A body of raw bytes, for framing tests.
pub struct Bytes<'b>(pub &'b [u8]);

impl Emit for Bytes<'_> {
    fn buffer_len(&self) -> Result<usize, Error> {
        Ok(self.0.len())
    }
    fn emit(&self, buf: &mut [u8]) -> Result<(), Error> {
        super::field_mut(buf, 0, self.0.len(), "test body")?.copy_from_slice(self.0);
        Ok(())
    }
}

/// Emits `body` into a buffer of `buffer_len()` bytes followed by a guard, all pre-filled with
/// 0xa5, checks that the guard is untouched and returns the emitted bytes. The same emit into a
/// buffer filled with 0x5a must give the same bytes: otherwise some byte was left unset.
pub fn emit_vec(body: &dyn Emit) -> Vec<u8> {
    let len = body.buffer_len().unwrap();
    let mut emitted = [0xa5u8, 0x5a].map(|fill| {
        let mut buf = vec![fill; len + GUARD];
        body.emit(&mut buf[..len]).unwrap();
        assert!(
            buf[len..].iter().all(|&b| b == fill),
            "emit wrote past buffer_len() = {len}"
        );
        buf.truncate(len);
        buf
    });
    assert_eq!(emitted[0], emitted[1], "emit left bytes unset");
    std::mem::take(&mut emitted[0])
}

/// Every buffer shorter than `buffer_len()` gives an error, and `emit` never writes past it.
pub fn check_short_buffers(body: &dyn Emit) {
    let len = body.buffer_len().unwrap();
    for short in 0..len {
        let mut buf = vec![0xa5; len + GUARD];
        assert!(
            body.emit(&mut buf[..short]).is_err(),
            "emit into {short} of {len} bytes succeeded"
        );
        assert!(buf[short..].iter().all(|&b| b == 0xa5));
    }
}

/// What walking an emitted attribute area cut to its first `cut` bytes must give: `Ok` when the
/// cut falls on an attribute boundary or in an attribute's padding, else the exact framing error
/// of the attribute it splits.
pub fn attrs_cut(area: &[u8], cut: usize) -> Result<(), Error> {
    let mut at = 0;
    while at < cut {
        let left = cut - at;
        if left < RTA_HDRLEN {
            return Err(Error::truncated("attribute header", RTA_HDRLEN, left));
        }
        let len = usize::from(u16::from_ne_bytes([area[at], area[at + 1]]));
        if left < len {
            return Err(Error::truncated("attribute", len, left));
        }
        at += align4(len).unwrap();
    }
    Ok(())
}

/// A fixed header followed by the attributes `attrs` (type, payload), as bytes: input that
/// reaches every typed reader with payloads of any size.
pub fn header_and_attrs(header: &[u8], attrs: &[(u16, Vec<u8>)]) -> Vec<u8> {
    let mut bytes = header.to_vec();
    for (kind, payload) in attrs {
        let attr = Attr {
            kind: *kind,
            payload,
        };
        let mut buf = vec![0u8; attr.buffer_len().unwrap()];
        attr.emit(&mut buf).unwrap();
        bytes.extend(buf);
    }
    bytes
}
