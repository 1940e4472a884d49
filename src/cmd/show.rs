//! `nlsel show [dev IFACE]` (also `addr show`): every address with its scope, flags and
//! lifetimes; with `-j`, JSON that a jq filter written for `ip -j addr show` reads the same.

use lexopt::prelude::*;

use super::{Context, Outcome, interface_name, keyword_value, usage_error};
use crate::failure::Failure;
use crate::json;
use crate::model::{Address, Interface, read_addresses, read_interfaces};
use crate::nl::Family;
use crate::nl::addr::{IfaFlags, Scope};
use crate::plan::lifetime_text;

pub const HELP: &str = "\
Usage: nlsel [-n NETNS] [-j] [-q] show [[dev] IFACE]
       nlsel [-n NETNS] [-j] [-q] addr show [[dev] IFACE]

List every interface with its IPv4 and IPv6 addresses: scope, flags and remaining
lifetimes. With -j, print JSON with the fields of `ip -j addr show` (ifindex, ifname,
addr_info with family, local, prefixlen, scope, flag booleans, label, valid_life_time,
preferred_life_time; 4294967295 means forever). Needs no privileges.

Options:
  -h, --help   show this help
";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Args {
    pub dev: Option<Vec<u8>>,
}

pub fn parse(parser: &mut lexopt::Parser) -> Result<Args, Failure> {
    let mut dev = None;
    while let Some(arg) = parser.next().map_err(usage_error)? {
        match arg {
            Value(value) if dev.is_none() => {
                let value = if value == "dev" {
                    keyword_value(parser, "dev")?
                } else {
                    value
                };
                dev = Some(interface_name(value));
            }
            Short('h') | Long("help") => return Err(Failure::Help(HELP)),
            _ => return Err(usage_error(arg.unexpected())),
        }
    }
    Ok(Args { dev })
}

pub fn run(args: &Args, ctx: &mut Context) -> Result<Outcome, Failure> {
    let mut interfaces =
        read_interfaces(&mut ctx.conn).map_err(Failure::request("reading interfaces"))?;
    if let Some(dev) = &args.dev {
        interfaces.retain(|interface| &interface.name == dev);
        if interfaces.is_empty() {
            return Err(Failure::InterfaceNotFound(dev.clone()));
        }
    }
    let wanted: Vec<u32> = interfaces
        .iter()
        .map(|interface| interface.ifindex)
        .collect();
    let addresses = read_addresses(&mut ctx.conn, Family::Unspec, |address| {
        wanted.contains(&address.ifindex)
    })
    .map_err(Failure::request("reading addresses"))?;
    if ctx.globals.json {
        let items: Vec<String> = interfaces
            .iter()
            .map(|interface| interface_json(interface, &addresses))
            .collect();
        ctx.out.line(&json::array(&items));
    } else {
        for interface in &interfaces {
            ctx.out.line(&format!(
                "{}: {}",
                interface.ifindex,
                String::from_utf8_lossy(&interface.name)
            ));
            for address in addresses
                .iter()
                .filter(|address| address.ifindex == interface.ifindex)
            {
                ctx.out.line(&format!("    {}", address_line(address)));
            }
        }
    }
    Ok(Outcome::Done)
}

fn family_name(family: Family) -> String {
    match family {
        Family::Inet => "inet".to_string(),
        Family::Inet6 => "inet6".to_string(),
        Family::Unspec => "unspec".to_string(),
        Family::Unknown(number) => number.to_string(),
    }
}

/// The scope as iproute2 names it.
pub fn scope_name(scope: Scope) -> String {
    match scope {
        Scope::Universe => "global".to_string(),
        Scope::Site => "site".to_string(),
        Scope::Link => "link".to_string(),
        Scope::Host => "host".to_string(),
        Scope::Nowhere => "nowhere".to_string(),
        Scope::Unknown(number) => number.to_string(),
    }
}

/// The flag words iproute2 prints for an address, in its order. The permanent bit shows as
/// "dynamic" when it is *not* set, and bit 0 is "temporary" for IPv6, "secondary" for IPv4.
pub fn flag_names(address: &Address) -> Vec<&'static str> {
    let flags = address.flags;
    let first = if address.family == Family::Inet6 {
        "temporary"
    } else {
        "secondary"
    };
    let table = [
        (IfaFlags::SECONDARY, first),
        (IfaFlags::NODAD, "nodad"),
        (IfaFlags::OPTIMISTIC, "optimistic"),
        (IfaFlags::DADFAILED, "dadfailed"),
        (IfaFlags::HOMEADDRESS, "home"),
        (IfaFlags::DEPRECATED, "deprecated"),
        (IfaFlags::TENTATIVE, "tentative"),
        (IfaFlags::PERMANENT, "dynamic"),
        (IfaFlags::MANAGETEMPADDR, "mngtmpaddr"),
        (IfaFlags::NOPREFIXROUTE, "noprefixroute"),
        (IfaFlags::MCAUTOJOIN, "autojoin"),
        (IfaFlags::STABLE_PRIVACY, "stable-privacy"),
    ];
    table
        .into_iter()
        .filter(|(flag, _)| flags.contains(*flag) != (*flag == IfaFlags::PERMANENT))
        .map(|(_, name)| name)
        .collect()
}

fn address_line(address: &Address) -> String {
    let mut words = vec![
        family_name(address.family),
        crate::plan::address_text(address),
    ];
    if let Some(broadcast) = address.broadcast {
        words.push(format!("brd {broadcast}"));
    }
    words.push(format!("scope {}", scope_name(address.scope)));
    words.extend(flag_names(address).into_iter().map(str::to_string));
    if let Some(label) = &address.label {
        words.push(format!("label {}", String::from_utf8_lossy(label)));
    }
    if let Some(metric) = address.rt_priority {
        words.push(format!("metric {metric}"));
    }
    if let Some(proto) = address.proto {
        words.push(format!("proto {proto}"));
    }
    words.push(format!("valid_lft {}", lifetime_text(address.valid_lft)));
    words.push(format!(
        "preferred_lft {}",
        lifetime_text(address.preferred_lft)
    ));
    words.join(" ")
}

fn interface_json(interface: &Interface, addresses: &[Address]) -> String {
    let addr_info: Vec<String> = addresses
        .iter()
        .filter(|address| address.ifindex == interface.ifindex)
        .map(address_json)
        .collect();
    let mut item = String::new();
    let mut object = json::Object::begin(&mut item);
    object
        .number("ifindex", interface.ifindex)
        .string("ifname", &interface.name)
        .raw("addr_info", &json::array(&addr_info));
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
    object
        .number("valid_life_time", address.valid_lft)
        .number("preferred_life_time", address.preferred_lft);
    object.end();
    item
}
