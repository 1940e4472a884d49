//! A whole receive buffer, as `recv()` would return it, through every decoder nlsel has: none
//! may panic, whatever the bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nlsel::model::Address;
use nlsel::nl::addr::{AddrMessage, CacheInfo, IFADDRMSG_LEN};
use nlsel::nl::addrlabel::{AddrLabelMessage, IFADDRLBLMSG_LEN, RTM_NEWADDRLABEL};
use nlsel::nl::attr::Attrs;
use nlsel::nl::error::{DoneMessage, ErrorMessage, ExtAck};
use nlsel::nl::header::{
    Header, Messages, NLMSG_DONE, NLMSG_ERROR, RTM_DELADDR, RTM_NEWADDR, RTM_NEWLINK, RTM_NEWROUTE,
};
use nlsel::nl::link::{IFINFOMSG_LEN, LinkMessage};
use nlsel::nl::nexthop::{NHMSG_LEN, NexthopMessage, RTM_NEWNEXTHOP};
use nlsel::nl::route::{RTMSG_LEN, RouteMessage};

/// Walks an attribute area to its end or its first error, reading each attribute every way.
fn walk_attrs(bytes: &[u8]) {
    for attr in Attrs::new(bytes) {
        let Ok(attr) = attr else { break };
        let _ = attr.attr_type();
        let _ = attr.u8("fuzz");
        let _ = attr.u32("fuzz");
        let _ = attr.c_str();
        for family in [0u8, 2, 10, 77] {
            let _ = attr.ip(family.into(), "fuzz");
        }
        let _ = CacheInfo::parse(attr.payload);
        let _ = ExtAck::parse(attr.payload);
    }
}

fuzz_target!(|data: &[u8]| {
    let _ = Header::parse(data);
    for message in Messages::new(data) {
        let Ok(message) = message else { break };
        let flags = message.header.flags;
        let payload = message.payload;
        match message.header.msg_type {
            NLMSG_ERROR => {
                if let Ok((error, _)) = ErrorMessage::parse(flags, payload) {
                    let _ = error.errno();
                    let _ = error.nlm_flags();
                    if let Some(request) = error.request_payload {
                        walk_attrs(request);
                    }
                }
            }
            NLMSG_DONE => {
                if let Ok((done, _)) = DoneMessage::parse(flags, payload) {
                    let _ = done.errno();
                }
            }
            RTM_NEWADDR | RTM_DELADDR => {
                if let Ok((addr, _)) = AddrMessage::parse(payload) {
                    let _ = addr.flags();
                    let _ = addr.local_address();
                    let _ = addr.peer_address();
                    if let Some(address) = Address::from_message(&addr) {
                        let _ = address.is_global_ipv6();
                        let _ = address.is_deprecated();
                        let _ = address.ipv6();
                        let _ = address.change_message(0, address.valid_lft);
                    }
                }
                walk_attrs(payload.get(IFADDRMSG_LEN..).unwrap_or_default());
            }
            RTM_NEWLINK => {
                let _ = LinkMessage::parse(payload);
                walk_attrs(payload.get(IFINFOMSG_LEN..).unwrap_or_default());
            }
            RTM_NEWROUTE => {
                if let Ok((route, _)) = RouteMessage::parse(payload) {
                    route.paths().for_each(drop);
                }
                walk_attrs(payload.get(RTMSG_LEN..).unwrap_or_default());
            }
            RTM_NEWNEXTHOP => {
                if let Ok((nexthop, _)) = NexthopMessage::parse(payload) {
                    let _ = nexthop.first_member();
                }
                walk_attrs(payload.get(NHMSG_LEN..).unwrap_or_default());
            }
            RTM_NEWADDRLABEL => {
                let _ = AddrLabelMessage::parse(payload);
                walk_attrs(payload.get(IFADDRLBLMSG_LEN..).unwrap_or_default());
            }
            _ => {}
        }
        // Every decoder on every payload, whatever the type says: a kernel bug or a confused
        // sender must not be able to make nlsel panic either.
        let _ = ErrorMessage::parse(flags, payload);
        let _ = DoneMessage::parse(flags, payload);
        let _ = AddrMessage::parse(payload);
        let _ = LinkMessage::parse(payload);
        let _ = RouteMessage::parse(payload);
        let _ = AddrLabelMessage::parse(payload);
        let _ = NexthopMessage::parse(payload);
        walk_attrs(payload);
    }
});
