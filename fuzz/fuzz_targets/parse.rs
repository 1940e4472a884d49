//! A whole receive buffer, as `recv()` would return it, through every decoder nlsel has: none
//! may panic, whatever the bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nlsel::model::Address;
use nlsel::nl::Object;
use nlsel::nl::addr::AddrMessage;
use nlsel::nl::addrlabel::{AddrLabelMessage, RTM_NEWADDRLABEL};
use nlsel::nl::attr::Attrs;
use nlsel::nl::error::{DoneMessage, ErrorMessage, ExtAck};
use nlsel::nl::header::{
    Header, Messages, NLMSG_DONE, NLMSG_ERROR, RTM_DELADDR, RTM_NEWADDR, RTM_NEWLINK, RTM_NEWROUTE,
};
use nlsel::nl::link::LinkMessage;
use nlsel::nl::nexthop::{NexthopMessage, RTM_NEWNEXTHOP};
use nlsel::nl::route::RouteMessage;

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
        let _ = ExtAck::parse(attr.payload);
    }
}

/// Walks the attribute area past `T`'s header, then reads the payload as `T`.
fn object<'a, T: Object<'a>>(payload: &'a [u8]) -> Option<T> {
    walk_attrs(payload.get(T::HEADER_LEN..).unwrap_or_default());
    T::parse(payload).ok().map(|(object, _)| object)
}

/// Every object's decoder on `payload`, whatever its type says: a kernel bug or a confused
/// sender must not be able to make nlsel panic either.
fn every_object(payload: &[u8]) {
    object::<AddrMessage<'_>>(payload);
    object::<LinkMessage<'_>>(payload);
    object::<RouteMessage>(payload);
    object::<NexthopMessage>(payload);
    object::<AddrLabelMessage>(payload);
    object::<ExtAck<'_>>(payload);
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
                if let Some(addr) = object::<AddrMessage<'_>>(payload) {
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
            }
            RTM_NEWLINK => {
                if let Some(link) = object::<LinkMessage<'_>>(payload) {
                    link.alt_names().for_each(drop);
                }
            }
            RTM_NEWROUTE => {
                if let Some(route) = object::<RouteMessage>(payload) {
                    route.paths().for_each(drop);
                }
            }
            RTM_NEWNEXTHOP => {
                if let Some(nexthop) = object::<NexthopMessage>(payload) {
                    let _ = nexthop.first_member();
                }
            }
            RTM_NEWADDRLABEL => {
                object::<AddrLabelMessage>(payload);
            }
            _ => {}
        }
        let _ = ErrorMessage::parse(flags, payload);
        let _ = DoneMessage::parse(flags, payload);
        every_object(payload);
        walk_attrs(payload);
    }
});
