//! `nlsel show [dev IFACE]` (also `addr show`): every address with its scope, flags and
//! lifetimes; with `-j`, JSON that a jq filter written for `ip -j addr show` reads the same.

use lexopt::prelude::*;

use super::{Context, Outcome, interface_name, keyword_value, usage_error};
use crate::failure::Failure;
use crate::json;
use crate::model::{Address, Link, read_addresses, read_links};
use crate::nl::Family;
use crate::nl::addr::{IfaFlags, Scope};
use crate::plan::lifetime_text;

pub const HELP: &str = "\
Usage: nlsel [-n NETNS] [-j] [-q] show [[dev] IFACE]
       nlsel [-n NETNS] [-j] [-q] addr show [[dev] IFACE]

List every interface with its IPv4 and IPv6 addresses: scope, flags and remaining
lifetimes. With -j, print the JSON of `ip -j addr show`: the link keys (ifindex, ifname,
link, flags, mtu, qdisc, master, operstate, group, txqlen, link_type, address, broadcast,
...) and addr_info with family, local, prefixlen, scope, flag booleans, label,
valid_life_time, preferred_life_time (4294967295 means forever). Needs no privileges.

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
    // All links, even with `dev`: a link's "link" and "master" keys name other links.
    let links = read_links(&mut ctx.conn).map_err(Failure::request("reading interfaces"))?;
    let mut interfaces: Vec<&Link> = links.iter().collect();
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
            .map(|interface| interface_json(interface, &links, &addresses))
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

/// One element of `ip -j addr show`: iproute2's `print_linkinfo` keys, then `addr_info`.
fn interface_json(interface: &Link, links: &[Link], addresses: &[Address]) -> String {
    let addr_info: Vec<String> = addresses
        .iter()
        .filter(|address| address.ifindex == interface.ifindex)
        .map(address_json)
        .collect();
    let mut item = String::new();
    let mut object = json::Object::begin(&mut item);
    object.number("ifindex", interface.ifindex);
    // The lower link is named when it is in this namespace; its being down shows as M-DOWN.
    let mut lower_down = false;
    match (interface.link, interface.link_netnsid) {
        (Some(0), _) => {
            object.raw("link", "null");
        }
        (Some(index), Some(_)) => {
            object.number("link_index", index);
        }
        (Some(index), None) => {
            let lower = links.iter().find(|link| link.ifindex == index);
            lower_down = lower.is_none_or(|lower| lower.flags & IFF_UP == 0);
            object.string("link", link_name(links, index));
        }
        (None, _) => {}
    }
    object
        .string("ifname", &interface.name)
        .raw("flags", &link_flags_json(interface.flags, lower_down));
    if let Some(mtu) = interface.mtu {
        object.number("mtu", mtu);
    }
    if let Some(qdisc) = &interface.qdisc {
        object.string("qdisc", qdisc);
    }
    if let Some(master) = interface.master {
        object.string("master", link_name(links, master));
    }
    match interface.operstate {
        Some(state) => match OPER_STATES.get(usize::from(state)) {
            Some(name) => object.string("operstate", name),
            None => object.number("operstate_index", state),
        },
        None => &mut object,
    };
    if let Some(group) = interface.group {
        // iproute2 names groups from /etc/iproute2/group, whose stock content names only 0.
        match group {
            0 => object.string("group", "default"),
            other => object.string("group", other.to_string()),
        };
    }
    if let Some(txqlen) = interface.txqlen.filter(|&len| len != 0) {
        object.number("txqlen", txqlen);
    }
    object.string("link_type", link_type_name(interface.link_type));
    if let Some(address) = &interface.address {
        object.string("address", hardware_address(address, interface.link_type));
    }
    if let Some(broadcast) = &interface.broadcast {
        if interface.flags & IFF_POINTOPOINT != 0 {
            object.boolean("link_pointtopoint", true);
        }
        object.string(
            "broadcast",
            hardware_address(broadcast, interface.link_type),
        );
    }
    if let Some(perm) = &interface.perm_address
        && interface.address.as_ref() != Some(perm)
    {
        object.string("permaddr", hardware_address(perm, interface.link_type));
    }
    if let Some(id) = interface.link_netnsid {
        object.raw("link_netnsid", &id.to_string());
    }
    if let Some(names) = &interface.alt_names {
        let names: Vec<String> = names
            .iter()
            .map(|name| {
                let mut text = String::new();
                json::push_string(&mut text, name);
                text
            })
            .collect();
        object.raw("altnames", &json::array(&names));
    }
    if interface.proto_down {
        object.boolean("proto_down", true);
    }
    object.raw("addr_info", &json::array(&addr_info));
    object.end();
    item
}

const IFF_UP: u32 = 0x1;
const IFF_RUNNING: u32 = 0x40;
const IFF_POINTOPOINT: u32 = 0x10;

/// `IFF_*` names in iproute2's order (`print_link_flags`).
const LINK_FLAGS: [(u32, &str); 18] = [
    (0x8, "LOOPBACK"),
    (0x2, "BROADCAST"),
    (IFF_POINTOPOINT, "POINTOPOINT"),
    (0x1000, "MULTICAST"),
    (0x80, "NOARP"),
    (0x200, "ALLMULTI"),
    (0x100, "PROMISC"),
    (0x400, "MASTER"),
    (0x800, "SLAVE"),
    (0x4, "DEBUG"),
    (0x8000, "DYNAMIC"),
    (0x4000, "AUTOMEDIA"),
    (0x2000, "PORTSEL"),
    (0x20, "NOTRAILERS"),
    (IFF_UP, "UP"),
    (0x1_0000, "LOWER_UP"),
    (0x2_0000, "DORMANT"),
    (0x4_0000, "ECHO"),
];

/// The "flags" array: NO-CARRIER for a link that is up without carrier, the set flags by
/// name, any unnamed bits in hex, and M-DOWN when the lower link is down.
fn link_flags_json(flags: u32, lower_down: bool) -> String {
    let mut names: Vec<String> = Vec::new();
    if flags & IFF_UP != 0 && flags & IFF_RUNNING == 0 {
        names.push("NO-CARRIER".to_string());
    }
    let mut rest = flags & !IFF_RUNNING;
    for (bit, name) in LINK_FLAGS {
        if rest & bit != 0 {
            rest &= !bit;
            names.push(name.to_string());
        }
    }
    if rest != 0 {
        names.push(format!("{rest:x}"));
    }
    if lower_down {
        names.push("M-DOWN".to_string());
    }
    let quoted: Vec<String> = names
        .iter()
        .map(|name| {
            let mut text = String::new();
            json::push_string(&mut text, name.as_bytes());
            text
        })
        .collect();
    json::array(&quoted)
}

/// RFC 2863 operational states, `IF_OPER_*`.
const OPER_STATES: [&str; 7] = [
    "UNKNOWN",
    "NOTPRESENT",
    "DOWN",
    "LOWERLAYERDOWN",
    "TESTING",
    "DORMANT",
    "UP",
];

/// A link's name by index, or "ifN" as iproute2 writes an index it does not know.
fn link_name(links: &[Link], ifindex: u32) -> Vec<u8> {
    links
        .iter()
        .find(|link| link.ifindex == ifindex)
        .map_or_else(
            || format!("if{ifindex}").into_bytes(),
            |link| link.name.clone(),
        )
}

const ARPHRD_TUNNEL: u16 = 768;
const ARPHRD_TUNNEL6: u16 = 769;
const ARPHRD_SIT: u16 = 776;
const ARPHRD_IPGRE: u16 = 778;
const ARPHRD_IP6GRE: u16 = 823;

/// `ARPHRD_*` names as iproute2 spells them (`ll_type_n2a`); others are "[N]".
fn link_type_name(link_type: u16) -> String {
    let name = match link_type {
        0 => "netrom",
        1 => "ether",
        2 => "eether",
        3 => "ax25",
        4 => "pronet",
        5 => "chaos",
        6 => "ieee802",
        7 => "arcnet",
        8 => "atalk",
        15 => "dlci",
        19 => "atm",
        23 => "metricom",
        24 => "ieee1394",
        32 => "infiniband",
        256 => "slip",
        257 => "cslip",
        258 => "slip6",
        259 => "cslip6",
        260 => "rsrvd",
        264 => "adapt",
        270 => "rose",
        271 => "x25",
        272 => "hwx25",
        280 => "can",
        290 => "mctp",
        512 => "ppp",
        513 => "hdlc",
        516 => "lapb",
        517 => "ddcmp",
        518 => "rawhdlc",
        519 => "rawip",
        ARPHRD_TUNNEL => "ipip",
        ARPHRD_TUNNEL6 => "tunnel6",
        770 => "frad",
        771 => "skip",
        772 => "loopback",
        773 => "ltalk",
        774 => "fddi",
        775 => "bif",
        ARPHRD_SIT => "sit",
        777 => "ip/ddp",
        ARPHRD_IPGRE => "gre",
        779 => "pimreg",
        780 => "hippi",
        781 => "ash",
        782 => "econet",
        783 => "irda",
        784 => "fcpp",
        785 => "fcal",
        786 => "fcpl",
        787..=799 => return format!("fcfb{}", link_type - 787),
        800 => "tr",
        801 => "ieee802.11",
        802 => "ieee802.11/prism",
        803 => "ieee802.11/radiotap",
        804 => "ieee802.15.4",
        805 => "ieee802.15.4/monitor",
        820 => "phonet",
        821 => "phonet_pipe",
        822 => "caif",
        ARPHRD_IP6GRE => "gre6",
        824 => "netlink",
        825 => "6lowpan",
        0xfffe => "none",
        0xffff => "void",
        other => return format!("[{other}]"),
    };
    name.to_string()
}

/// A hardware address as iproute2 prints it (`ll_addr_n2a`): an IP address for IP tunnels,
/// else hex bytes joined by ':'.
fn hardware_address(bytes: &[u8], link_type: u16) -> String {
    match (bytes.len(), link_type) {
        (4, ARPHRD_TUNNEL | ARPHRD_SIT | ARPHRD_IPGRE) => {
            let octets: [u8; 4] = bytes.try_into().unwrap_or_default();
            std::net::Ipv4Addr::from(octets).to_string()
        }
        (16, ARPHRD_TUNNEL6 | ARPHRD_IP6GRE) => {
            let octets: [u8; 16] = bytes.try_into().unwrap_or_default();
            std::net::Ipv6Addr::from(octets).to_string()
        }
        _ => bytes
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect::<Vec<_>>()
            .join(":"),
    }
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
fn address_protocol_name(proto: u8) -> String {
    match proto {
        0 => "unspec".to_string(),
        1 => "kernel_lo".to_string(),
        2 => "kernel_ra".to_string(),
        3 => "kernel_ll".to_string(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_flags_follow_iproute2() {
        assert_eq!(
            link_flags_json(0x11043, false),
            r#"["BROADCAST","MULTICAST","UP","LOWER_UP"]"#
        );
        // Up without carrier, an unnamed bit, and a lower link that is down.
        assert_eq!(
            link_flags_json(0x8_1003, true),
            r#"["NO-CARRIER","BROADCAST","MULTICAST","UP","80000","M-DOWN"]"#
        );
        assert_eq!(link_flags_json(0, false), "[]");
    }

    #[test]
    fn hardware_addresses_follow_iproute2() {
        assert_eq!(
            hardware_address(&[2, 0, 0, 0, 0, 0xb], 1),
            "02:00:00:00:00:0b"
        );
        assert_eq!(hardware_address(&[192, 0, 2, 1], ARPHRD_SIT), "192.0.2.1");
        assert_eq!(hardware_address(&[192, 0, 2, 1], 1), "c0:00:02:01");
        let mut v6 = [0u8; 16];
        v6[15] = 1;
        assert_eq!(hardware_address(&v6, ARPHRD_IP6GRE), "::1");
    }

    #[test]
    fn link_types_follow_iproute2() {
        assert_eq!(link_type_name(1), "ether");
        assert_eq!(link_type_name(772), "loopback");
        assert_eq!(link_type_name(0xfffe), "none");
        assert_eq!(link_type_name(790), "fcfb3");
        assert_eq!(link_type_name(1234), "[1234]");
        assert_eq!(address_protocol_name(3), "kernel_ll");
        assert_eq!(address_protocol_name(99), "99");
    }
}
