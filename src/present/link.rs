//! The link half of `ip -j addr show`: the keys iproute2's `print_linkinfo` writes for a
//! link, with its names for flags, operational states, link types and hardware addresses.

use super::json;
use crate::model::Link;

/// Writes a link's keys, `ifindex` to `proto_down`, in iproute2's order; the caller adds
/// `addr_info`. `links` is every link of the namespace: "link" and "master" name one.
pub fn link_keys(object: &mut json::Object<'_>, interface: &Link, links: &[Link]) {
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
    if let Some(state) = interface.operstate {
        match OPER_STATES.get(usize::from(state)) {
            Some(name) => object.string("operstate", name),
            None => object.number("operstate_index", state),
        };
    }
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

/// The "flags" array: see [`link_flag_names`].
fn link_flags_json(flags: u32, lower_down: bool) -> String {
    let quoted: Vec<String> = link_flag_names(flags, lower_down)
        .iter()
        .map(|name| {
            let mut text = String::new();
            json::push_string(&mut text, name.as_bytes());
            text
        })
        .collect();
    json::array(&quoted)
}

/// NO-CARRIER for a link that is up without carrier, the set flags by name, any unnamed bits
/// in hex, and M-DOWN when the lower link is down, as iproute2's `print_link_flags`.
fn link_flag_names(flags: u32, lower_down: bool) -> Vec<String> {
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
    names
}

/// The lines `ip addr show` prints for a link before its addresses (`print_linkinfo` without
/// `-d`): `N: NAME[@LOWER]: <FLAGS> mtu …`, `    link/TYPE ADDR brd …`, and one `altname`
/// line per alternative name.
pub fn link_text(interface: &Link, links: &[Link]) -> Vec<String> {
    let name = String::from_utf8_lossy(&interface.name);
    let mut head = format!("{}: {name}", interface.ifindex);
    let mut lower_down = false;
    match (interface.link, interface.link_netnsid) {
        (Some(0), _) => head.push_str("@NONE"),
        (Some(index), Some(_)) => head.push_str(&format!("@if{index}")),
        (Some(index), None) => {
            let lower = links.iter().find(|link| link.ifindex == index);
            lower_down = lower.is_none_or(|lower| lower.flags & IFF_UP == 0);
            head.push('@');
            head.push_str(&String::from_utf8_lossy(&link_name(links, index)));
        }
        (None, _) => {}
    }
    head.push_str(&format!(
        ": <{}>",
        link_flag_names(interface.flags, lower_down).join(",")
    ));
    let mut words: Vec<String> = Vec::new();
    let mut word = |key: &str, value: String| words.push(format!("{key} {value}"));
    if let Some(mtu) = interface.mtu {
        word("mtu", mtu.to_string());
    }
    if let Some(qdisc) = &interface.qdisc {
        word("qdisc", String::from_utf8_lossy(qdisc).into_owned());
    }
    if let Some(master) = interface.master {
        word(
            "master",
            String::from_utf8_lossy(&link_name(links, master)).into_owned(),
        );
    }
    if let Some(state) = interface.operstate {
        let name = OPER_STATES.get(usize::from(state));
        word(
            "state",
            name.map_or_else(|| state.to_string(), |n| n.to_string()),
        );
    }
    if let Some(group) = interface.group {
        word(
            "group",
            if group == 0 {
                "default".to_string()
            } else {
                group.to_string()
            },
        );
    }
    if let Some(txqlen) = interface.txqlen.filter(|&len| len != 0) {
        word("qlen", txqlen.to_string());
    }
    for word in words {
        head.push(' ');
        head.push_str(&word);
    }
    let mut link = format!("    link/{}", link_type_name(interface.link_type));
    if let Some(address) = &interface.address {
        link.push(' ');
        link.push_str(&hardware_address(address, interface.link_type));
    }
    if let Some(broadcast) = &interface.broadcast {
        let key = if interface.flags & IFF_POINTOPOINT != 0 {
            "peer"
        } else {
            "brd"
        };
        link.push_str(&format!(
            " {key} {}",
            hardware_address(broadcast, interface.link_type)
        ));
    }
    if let Some(perm) = &interface.perm_address
        && interface.address.as_ref() != Some(perm)
    {
        link.push_str(&format!(
            " permaddr {}",
            hardware_address(perm, interface.link_type)
        ));
    }
    if let Some(id) = interface.link_netnsid {
        link.push_str(&format!(" link-netnsid {id}"));
    }
    if interface.proto_down {
        link.push_str(" protodown on");
    }
    let mut lines = vec![head, link];
    for alt in interface.alt_names.iter().flatten() {
        lines.push(format!("    altname {}", String::from_utf8_lossy(alt)));
    }
    lines
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

/// `ARPHRD_*` names as iproute2 spells them (`ll_type_n2a`); others are "`[N]`".
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
    }
}
