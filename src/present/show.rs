//! `show`: the interfaces and their addresses as `ip addr show` and `ip -j addr show` print
//! them.

use super::link;
use super::{address_text, family_name, flag_names, json, lifetime_text, lossy, scope_name};
use crate::model::{Address, Link};

/// `show`: the link lines of `ip addr show` per interface (of the `shown` out of all `links`),
/// then one indented line per address.
pub fn show_text(shown: &[&Link], links: &[Link], addresses: &[Address]) -> Vec<String> {
    let mut lines = Vec::new();
    for interface in shown {
        lines.extend(link::link_text(interface, links));
        for address in addresses_of(addresses, interface.ifindex) {
            lines.push(format!("    {}", address_line(address)));
        }
    }
    lines
}

/// `-j show`: the array `ip -j addr show` prints, for the links `shown` out of all `links`.
pub fn show_json(shown: &[&Link], links: &[Link], addresses: &[Address]) -> String {
    let items: Vec<String> = shown
        .iter()
        .map(|interface| interface_json(interface, links, addresses))
        .collect();
    json::array(&items)
}

fn addresses_of(addresses: &[Address], ifindex: u32) -> impl Iterator<Item = &Address> {
    addresses
        .iter()
        .filter(move |address| address.ifindex == ifindex)
}

fn address_line(address: &Address) -> String {
    let mut words = vec![family_name(address.family), address_text(address)];
    if let Some(broadcast) = address.broadcast {
        words.push(format!("brd {broadcast}"));
    }
    words.push(format!("scope {}", scope_name(address.scope)));
    words.extend(flag_names(address).into_iter().map(str::to_string));
    if let Some(label) = &address.label {
        words.push(format!("label {}", lossy(label)));
    }
    if let Some(metric) = address.rt_priority {
        words.push(format!("metric {metric}"));
    }
    if let Some(proto) = address.proto {
        words.push(format!("proto {}", address_protocol_name(proto)));
    }
    words.push(format!("valid_lft {}", lifetime_text(address.valid_lft)));
    words.push(format!(
        "preferred_lft {}",
        lifetime_text(address.preferred_lft)
    ));
    words.join(" ")
}

fn interface_json(interface: &Link, links: &[Link], addresses: &[Address]) -> String {
    let addr_info: Vec<String> = addresses_of(addresses, interface.ifindex)
        .map(address_json)
        .collect();
    let mut item = String::new();
    let mut object = json::Object::begin(&mut item);
    link::link_keys(&mut object, interface, links);
    object.raw("addr_info", &json::array(&addr_info));
    object.end();
    item
}

fn address_json(address: &Address) -> String {
    let mut item = String::new();
    let mut object = json::Object::begin(&mut item);
    object
        .string("family", family_name(address.family))
        .display("local", address.local);
    if let Some(peer) = address.peer {
        object.display("address", peer);
    }
    object.number("prefixlen", address.prefixlen);
    if let Some(broadcast) = address.broadcast {
        object.display("broadcast", broadcast);
    }
    object.string("scope", scope_name(address.scope));
    for name in flag_names(address) {
        object.boolean(name, true);
    }
    if let Some(label) = &address.label {
        object.string("label", label);
    }
    if let Some(metric) = address.rt_priority {
        object.number("metric", metric);
    }
    if let Some(proto) = address.proto {
        // As iproute2 6.2 and later print it; 6.1 does not know IFA_PROTO.
        object.string("protocol", address_protocol_name(proto));
    }
    object
        .number("valid_life_time", address.valid_lft)
        .number("preferred_life_time", address.preferred_lft);
    object.end();
    item
}

/// `IFAPROT_*` names as iproute2 spells them (`rtnl_addrprot_n2a`); others are the number.
pub(super) fn address_protocol_name(proto: u8) -> String {
    match proto {
        0 => "unspec".to_string(),
        1 => "kernel_lo".to_string(),
        2 => "kernel_ra".to_string(),
        3 => "kernel_ll".to_string(),
        other => other.to_string(),
    }
}
