//! Everything nlsel prints on stdout, in one place: iproute2-style text and the JSON reports,
//! side by side, so that a new command reuses the same words and policy code stays free of
//! formatting. Functions here take parsed state and return lines; they do no I/O.
//!
//! Words follow iproute2 (`ip addr show`, `ip -j addr show`): one flag table, one spelling of
//! an address and of a lifetime.

pub mod doctor;
mod errno;
pub mod explain;
pub mod json;
mod link;
pub mod packed;
pub mod unit;

use std::net::IpAddr;

use crate::model::{Address, Interface, Link, PRESERVED_FLAGS, name_of};
use crate::nl::Family;
use crate::nl::addr::{INFINITY_LIFE_TIME, IfaFlags, Scope};
use crate::plan::{Action, Change, Mode, Plan, Step};

/// Every address flag with the word iproute2 prints for it, in iproute2's order. Bit 0 is
/// "secondary" for IPv4 and "temporary" for IPv6 (see [`flag_word`]); the permanent bit is
/// printed as "dynamic" when it is *not* set (see [`shown_flags`]).
const FLAG_WORDS: [(IfaFlags, &str); 12] = [
    (IfaFlags::SECONDARY, "secondary"),
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

fn flag_word(flag: IfaFlags, word: &'static str, family: Family) -> &'static str {
    if flag == IfaFlags::SECONDARY && family == Family::Inet6 {
        "temporary"
    } else {
        word
    }
}

/// The words for `flags`, in iproute2's order.
fn flag_words(flags: IfaFlags, family: Family) -> impl Iterator<Item = &'static str> {
    FLAG_WORDS
        .into_iter()
        .filter(move |(flag, _)| flags.contains(*flag))
        .map(move |(flag, word)| flag_word(flag, word, family))
}

/// The flags as `ip addr show` shows them: the permanent bit inverted into "dynamic".
fn shown_flags(address: &Address) -> IfaFlags {
    address.flags ^ IfaFlags::PERMANENT
}

/// The flag words iproute2 prints for an address, in its order.
pub fn flag_names(address: &Address) -> Vec<&'static str> {
    flag_words(shown_flags(address), address.family).collect()
}

/// A lifetime as iproute2 writes it.
pub fn lifetime_text(seconds: u32) -> String {
    if seconds == INFINITY_LIFE_TIME {
        "forever".to_string()
    } else {
        seconds.to_string()
    }
}

/// `ADDR/LEN`, or `LOCAL peer PEER/LEN` for a point-to-point address, as iproute2 spells it.
pub fn address_text(address: &Address) -> String {
    match address.peer {
        Some(peer) => format!("{} peer {}/{}", address.local, peer, address.prefixlen),
        None => format!("{}/{}", address.local, address.prefixlen),
    }
}

/// An interface name as one shell word that a POSIX shell (bash, zsh, ksh, dash >= 0.5.12)
/// turns back into exactly the same bytes: bare when it is plain, single-quoted when it is
/// printable UTF-8, and ANSI-C quoted (`$'\xff'`) when it has other bytes, which a lossy
/// conversion would have replaced, so that running the line named a different interface.
pub fn shell_word(bytes: &[u8]) -> String {
    let plain = !bytes.is_empty()
        && bytes
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b"._-+=@%,".contains(&b));
    match std::str::from_utf8(bytes) {
        Ok(text) if plain => text.to_owned(),
        Ok(text) if !text.chars().any(char::is_control) => {
            format!("'{}'", text.replace('\'', "'\\''"))
        }
        _ => {
            let mut word = String::from("$'");
            for &b in bytes {
                match b {
                    b'\\' | b'\'' => {
                        word.push('\\');
                        word.push(char::from(b));
                    }
                    b' '..=b'~' => word.push(char::from(b)),
                    _ => word.push_str(&format!("\\x{b:02x}")),
                }
            }
            word.push('\'');
            word
        }
    }
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
fn scope_name(scope: Scope) -> String {
    match scope {
        Scope::Universe => "global".to_string(),
        Scope::Site => "site".to_string(),
        Scope::Link => "link".to_string(),
        Scope::Host => "host".to_string(),
        Scope::Nowhere => "nowhere".to_string(),
        Scope::Unknown(number) => number.to_string(),
    }
}

fn lossy(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(bytes)
}

// ---- show --------------------------------------------------------------------------------

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
fn address_protocol_name(proto: u8) -> String {
    match proto {
        0 => "unspec".to_string(),
        1 => "kernel_lo".to_string(),
        2 => "kernel_ra".to_string(),
        3 => "kernel_ll".to_string(),
        other => other.to_string(),
    }
}

// ---- plans and changes -------------------------------------------------------------------

/// Why an interface is left alone, in text and JSON alike.
const LEFT_ALONE_REASON: &str = "no global IPv6 address matches --except";

/// `VERB ADDR/LEN dev IFACE`, with the new lifetimes for `addr change`: the one way a change
/// is named, in reports, warnings and errors.
pub fn describe(change: &Change<'_>, interfaces: &[Interface], verb: &str) -> String {
    let mut line = format!(
        "{verb} {} dev {}",
        address_text(change.address),
        lossy(&name_of(interfaces, change.address.ifindex))
    );
    if change.action == Action::Change {
        line.push_str(&format!(
            " preferred_lft {} valid_lft {}",
            lifetime_text(change.preferred_lft),
            lifetime_text(change.valid_lft)
        ));
    }
    line
}

/// The iproute2 command that would make the same change, for `--dry-run`. Unlike a bare
/// `ip addr change`, it spells out what must be kept: the valid lifetime, the flags, the
/// metric and the protocol.
pub fn ip_command(change: &Change<'_>, interfaces: &[Interface]) -> String {
    let address = change.address;
    let mut words = vec![
        "ip addr change".to_string(),
        address_text(address),
        "dev".to_string(),
        shell_word(&name_of(interfaces, address.ifindex)),
        format!("preferred_lft {}", lifetime_text(change.preferred_lft)),
        format!("valid_lft {}", lifetime_text(change.valid_lft)),
    ];
    words.extend(flag_words(address.flags & PRESERVED_FLAGS, address.family).map(str::to_string));
    if let Some(metric) = address.rt_priority {
        words.push(format!("metric {metric}"));
    }
    // iproute2 before 6.2 refuses `proto` for an address (Debian 12 has 6.1), and without it
    // the kernel resets the protocol: said after the command, where the shell ignores it.
    if let Some(proto) = address.proto {
        words.push(format!(
            "# proto {} with iproute2 6.2+",
            address_protocol_name(proto)
        ));
    }
    words.join(" ")
}

fn change_json(change: &Change<'_>, interfaces: &[Interface], applied: bool) -> String {
    let address = change.address;
    let mut item = String::new();
    let mut object = json::Object::begin(&mut item);
    object
        .string("action", change.action.name())
        .number("ifindex", address.ifindex)
        .string("ifname", name_of(interfaces, address.ifindex))
        .display("local", address.local);
    if let Some(peer) = address.peer {
        object.display("address", peer);
    }
    object
        .number("prefixlen", address.prefixlen)
        .number("preferred_life_time", change.preferred_lft)
        .number("valid_life_time", change.valid_lft)
        .boolean("applied", applied);
    object.end();
    item
}

fn left_alone_json(ifindex: u32, interfaces: &[Interface]) -> String {
    let mut item = String::new();
    let mut object = json::Object::begin(&mut item);
    object
        .string("action", "leave")
        .number("ifindex", ifindex)
        .string("ifname", name_of(interfaces, ifindex))
        .string("reason", LEFT_ALONE_REASON);
    object.end();
    item
}

/// The report of a plan carried out in `mode`: one line per step in text (changes that were
/// not applied are left out), or one JSON array. `applied` has one entry per change.
pub fn plan_report(
    plan: &Plan<'_>,
    interfaces: &[Interface],
    mode: Mode,
    applied: &[bool],
    as_json: bool,
) -> Vec<String> {
    let mut applied = applied.iter().copied();
    let mut lines = Vec::new();
    for step in &plan.steps {
        let line = match step {
            Step::Change(change) => {
                let was_applied = applied.next().unwrap_or(false);
                if as_json {
                    change_json(change, interfaces, was_applied)
                } else {
                    match mode {
                        Mode::DryRun => ip_command(change, interfaces),
                        Mode::Check => format!(
                            "would {}",
                            describe(change, interfaces, change.action.name())
                        ),
                        Mode::Apply if was_applied => {
                            describe(change, interfaces, change.action.past_tense())
                        }
                        Mode::Apply => continue,
                    }
                }
            }
            Step::LeaveAlone { ifindex } if as_json => left_alone_json(*ifindex, interfaces),
            // A comment among --dry-run's commands, so that the output runs as a script.
            Step::LeaveAlone { ifindex } => format!(
                "{}left alone: {} ({LEFT_ALONE_REASON})",
                if mode == Mode::DryRun { "# " } else { "" },
                lossy(&name_of(interfaces, *ifindex))
            ),
        };
        lines.push(line);
    }
    if as_json {
        return vec![json::array(&lines)];
    }
    lines
}

// ---- which -------------------------------------------------------------------------------

/// `which`: `SRC dev IFACE`, or `{"dst", "src", "dev"}`.
pub fn route_source(destination: IpAddr, source: IpAddr, device: &[u8], as_json: bool) -> String {
    if !as_json {
        return format!("{source} dev {}", lossy(device));
    }
    let mut line = String::new();
    let mut object = json::Object::begin(&mut line);
    object
        .display("dst", destination)
        .display("src", source)
        .string("dev", device);
    object.end();
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nl::addr::INFINITY_LIFE_TIME;

    fn address(family_v6: bool, flags: IfaFlags) -> Address {
        let text = if family_v6 {
            "2001:db8::beef"
        } else {
            "192.0.2.1"
        };
        Address {
            flags,
            preferred_lft: 100,
            valid_lft: 3542,
            ..Address::for_test(text)
        }
    }

    fn eth0() -> [Interface; 1] {
        [Interface {
            ifindex: 2,
            name: b"eth0".to_vec(),
            alt_names: Vec::new(),
        }]
    }

    #[test]
    fn dry_run_command_keeps_valid_lifetime_and_flags() {
        let beef = address(true, IfaFlags::NOPREFIXROUTE | IfaFlags::NODAD);
        let change = Change {
            address: &beef,
            action: Action::Deprecate,
            preferred_lft: 0,
            valid_lft: beef.valid_lft,
        };
        assert_eq!(
            ip_command(&change, &eth0()),
            "ip addr change 2001:db8::beef/64 dev eth0 preferred_lft 0 valid_lft 3542 nodad noprefixroute"
        );
    }

    #[test]
    fn flag_names_follow_iproute2() {
        let temporary = address(true, IfaFlags::SECONDARY | IfaFlags::DEPRECATED);
        assert_eq!(
            flag_names(&temporary),
            ["temporary", "deprecated", "dynamic"]
        );
        let secondary = address(false, IfaFlags::SECONDARY | IfaFlags::PERMANENT);
        assert_eq!(flag_names(&secondary), ["secondary"]);
        let all = address(true, IfaFlags::all());
        assert_eq!(
            flag_names(&all),
            [
                "temporary",
                "nodad",
                "optimistic",
                "dadfailed",
                "home",
                "deprecated",
                "tentative",
                "mngtmpaddr",
                "noprefixroute",
                "autojoin",
                "stable-privacy"
            ]
        );
    }

    #[test]
    fn lifetimes_and_addresses_are_spelled_as_iproute2() {
        assert_eq!(lifetime_text(INFINITY_LIFE_TIME), "forever");
        assert_eq!(lifetime_text(0), "0");
        let mut ptp = address(true, IfaFlags::PERMANENT);
        assert_eq!(address_text(&ptp), "2001:db8::beef/64");
        ptp.peer = Some("2001:db8::1".parse().unwrap());
        assert_eq!(address_text(&ptp), "2001:db8::beef peer 2001:db8::1/64");
    }

    #[test]
    fn shell_word_quotes_odd_names() {
        assert_eq!(shell_word(b"venet0"), "venet0");
        assert_eq!(shell_word(b"a'b"), "'a'\\''b'");
        assert_eq!(shell_word(b"a\"b"), "'a\"b'");
        // Bytes that are not UTF-8, or control characters, come back exactly from $'...'.
        assert_eq!(shell_word(b"\xff0"), "$'\\xff0'");
        assert_eq!(shell_word(b"a\xe9'\\"), "$'a\\xe9\\'\\\\'");
        assert_eq!(shell_word(b"tab\there"), "$'tab\\x09here'");
    }

    fn show_state() -> (Vec<Interface>, Vec<Address>) {
        let interfaces = vec![
            Interface {
                ifindex: 1,
                name: b"lo".to_vec(),
                alt_names: Vec::new(),
            },
            Interface {
                ifindex: 2,
                name: b"eth0".to_vec(),
                alt_names: Vec::new(),
            },
        ];
        let mut v4 = address(false, IfaFlags::PERMANENT);
        v4.prefixlen = 24;
        v4.broadcast = Some("192.0.2.255".parse().unwrap());
        v4.label = Some(b"eth0:1".to_vec());
        v4.valid_lft = INFINITY_LIFE_TIME;
        v4.preferred_lft = INFINITY_LIFE_TIME;
        let mut v6 = address(true, IfaFlags::DEPRECATED | IfaFlags::NOPREFIXROUTE);
        v6.preferred_lft = 0;
        v6.rt_priority = Some(7);
        v6.proto = Some(3);
        (interfaces, vec![v4, v6])
    }

    #[test]
    fn show_text_is_iproute2_style_per_interface() {
        let (interfaces, addresses) = show_state();
        let mut links: Vec<Link> = interfaces.iter().map(bare_link).collect();
        links[1].mtu = Some(1500);
        links[1].operstate = Some(6);
        links[1].txqlen = Some(1000);
        links[1].address = Some(vec![2, 0, 0, 0, 0, 0xaa]);
        links[1].broadcast = Some(vec![0xff; 6]);
        links[1].alt_names = Some(vec![b"wan".to_vec()]);
        let shown: Vec<&Link> = links.iter().collect();
        assert_eq!(
            show_text(&shown, &links, &addresses),
            [
                "1: lo: <NO-CARRIER,UP>",
                "    link/ether",
                "2: eth0: <NO-CARRIER,UP> mtu 1500 state UP qlen 1000",
                "    link/ether 02:00:00:00:00:aa brd ff:ff:ff:ff:ff:ff",
                "    altname wan",
                "    inet 192.0.2.1/24 brd 192.0.2.255 scope global label eth0:1 valid_lft forever preferred_lft forever",
                "    inet6 2001:db8::beef/64 scope global deprecated dynamic noprefixroute metric 7 proto kernel_ll valid_lft 3542 preferred_lft 0",
            ]
        );
    }

    /// A link with no attribute beyond its name, as `ifi_type` ether, up.
    fn bare_link(interface: &Interface) -> Link {
        Link {
            ifindex: interface.ifindex,
            name: interface.name.clone(),
            link_type: 1,
            flags: 0x1,
            mtu: None,
            qdisc: None,
            link: None,
            link_netnsid: None,
            master: None,
            txqlen: None,
            operstate: None,
            group: None,
            address: None,
            broadcast: None,
            perm_address: None,
            proto_down: false,
            alt_names: None,
        }
    }

    #[test]
    fn show_json_has_ip_json_keys() {
        let (interfaces, addresses) = show_state();
        let links: Vec<Link> = interfaces.iter().map(bare_link).collect();
        let shown: Vec<&Link> = links.iter().collect();
        let parsed: serde_json::Value =
            serde_json::from_str(&show_json(&shown, &links, &addresses)).unwrap();
        let links = parsed.as_array().unwrap();
        assert_eq!(links.len(), 2);
        assert_eq!(links[0]["ifname"], "lo");
        assert_eq!(links[0]["addr_info"].as_array().unwrap().len(), 0);
        assert_eq!(links[1]["ifindex"], 2);
        let info = links[1]["addr_info"].as_array().unwrap();
        assert_eq!(info[0]["family"], "inet");
        assert_eq!(info[0]["local"], "192.0.2.1");
        assert_eq!(info[0]["broadcast"], "192.0.2.255");
        assert_eq!(info[0]["label"], "eth0:1");
        assert_eq!(info[0]["valid_life_time"], 4_294_967_295u64);
        assert_eq!(info[1]["family"], "inet6");
        assert_eq!(info[1]["prefixlen"], 64);
        assert_eq!(info[1]["scope"], "global");
        assert_eq!(info[1]["deprecated"], true);
        assert_eq!(info[1]["dynamic"], true);
        assert_eq!(info[1]["metric"], 7);
        assert_eq!(info[1]["preferred_life_time"], 0);
        assert_eq!(info[1]["protocol"], "kernel_ll");
        assert!(info[1].get("temporary").is_none());
        // Up without IFF_RUNNING: iproute2 says NO-CARRIER.
        assert_eq!(links[1]["flags"], serde_json::json!(["NO-CARRIER", "UP"]));
        assert_eq!(links[1]["link_type"], "ether");
    }

    #[test]
    fn scopes_and_families_have_iproute2_names() {
        let names: Vec<String> = [
            Scope::Universe,
            Scope::Site,
            Scope::Link,
            Scope::Host,
            Scope::Nowhere,
            Scope::Unknown(7),
        ]
        .into_iter()
        .map(scope_name)
        .collect();
        assert_eq!(names, ["global", "site", "link", "host", "nowhere", "7"]);
        let names: Vec<String> = [
            Family::Inet,
            Family::Inet6,
            Family::Unspec,
            Family::Unknown(9),
        ]
        .into_iter()
        .map(family_name)
        .collect();
        assert_eq!(names, ["inet", "inet6", "unspec", "9"]);
    }

    #[test]
    fn route_source_in_text_and_json() {
        let dst: IpAddr = "2001:db8:9f16:8fc7::9".parse().unwrap();
        let src: IpAddr = "2001:db8::2".parse().unwrap();
        assert_eq!(
            route_source(dst, src, b"venet0", false),
            "2001:db8::2 dev venet0"
        );
        assert_eq!(
            route_source(dst, src, b"venet0", true),
            r#"{"dst":"2001:db8:9f16:8fc7::9","src":"2001:db8::2","dev":"venet0"}"#
        );
    }

    #[test]
    fn plan_report_omits_unapplied_changes_in_text_only() {
        let beef = address(true, IfaFlags::PERMANENT);
        let change = Change {
            address: &beef,
            action: Action::Deprecate,
            preferred_lft: 0,
            valid_lft: beef.valid_lft,
        };
        let plan = Plan {
            steps: vec![Step::Change(change), Step::LeaveAlone { ifindex: 3 }],
            ..Plan::default()
        };
        let text = plan_report(&plan, &eth0(), Mode::Apply, &[false], false);
        assert_eq!(
            text,
            ["left alone: if3 (no global IPv6 address matches --except)"]
        );
        let text = plan_report(&plan, &eth0(), Mode::Apply, &[true], false);
        assert_eq!(text[0], "deprecated 2001:db8::beef/64 dev eth0");
        let check = plan_report(&plan, &eth0(), Mode::Check, &[false], false);
        assert_eq!(check[0], "would deprecate 2001:db8::beef/64 dev eth0");
        let json = plan_report(&plan, &eth0(), Mode::Apply, &[false], true);
        assert_eq!(json.len(), 1);
        assert!(json[0].contains("\"applied\":false"), "{}", json[0]);
        assert!(json[0].contains("\"action\":\"leave\""), "{}", json[0]);
    }
}
