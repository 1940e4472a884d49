//! Every word nlsel says, in one place: iproute2-style text and the JSON reports on stdout,
//! side by side, and the failures, warnings and diagnostics on stderr, so that a new command
//! reuses the same words and policy code stays free of formatting. Functions here take parsed state and return lines; they do no I/O.
//!
//! Words follow iproute2 (`ip addr show`, `ip -j addr show`): one flag table, one spelling of
//! an address and of a lifetime.

pub mod doctor;
mod errno;
pub mod explain;
mod failure;
pub mod json;
mod link;
pub mod packed;
mod plan;
mod show;
pub mod unit;
mod usage;
pub mod watch;
mod which;

pub use plan::{describe, plan_report, warning};
pub use show::{show_json, show_text};
pub use usage::option_error;
pub use which::route_source;

use crate::model::Address;
use crate::nl::Family;
use crate::nl::addr::{INFINITY_LIFE_TIME, IfaFlags, Scope};

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

/// A value named in a message: in double quotes, escaped, so that an empty or odd value stays
/// visible on one line.
fn quoted(text: &str) -> String {
    format!("\"{}\"", text.escape_debug())
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::IpAddr;

    use crate::model::{Interface, Link};
    use crate::nl::addr::INFINITY_LIFE_TIME;
    use crate::plan::{Action, Change, Mode, Plan, Step};

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
            use_tempaddr: None,
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
            plan::ip_command(&change, &eth0()),
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
                use_tempaddr: None,
            },
            Interface {
                ifindex: 2,
                name: b"eth0".to_vec(),
                alt_names: Vec::new(),
                use_tempaddr: None,
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
