//! ifupdown's `/etc/network/interfaces` (and the files its `source` lines name): the IPv6
//! addresses it adds, with the line that adds each, and whether that line adds it deprecated
//! (`preferred-lifetime 0` on an `inet6 static` stanza, `preferred_lft 0` on an
//! `up ip addr add …` line). A file whose header says it is generated (OpenVZ's and SolusVM's
//! "This configuration file is auto-generated … Do not edit") is reported as such, since an
//! edit there is lost at the next boot.

use std::net::IpAddr;

use super::{ParseError, address_of, find};

/// What a generated file's header says, in any case: text nlsel looks for, not words it says.
const GENERATED_MARKERS: &[&str] = &["auto-generated", "do not edit"];

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Interfaces<'a> {
    /// The header says the file is generated.
    pub generated: bool,
    pub addresses: Vec<Assignment<'a>>,
    /// `source PATTERN` and `source-directory DIR` values, in order: (is a directory, value).
    pub sources: Vec<(bool, &'a str)>,
}

/// An address the file adds to an interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment<'a> {
    pub ifname: &'a str,
    pub address: IpAddr,
    /// The line that adds it (1-based) and its text.
    pub line: usize,
    pub text: &'a str,
    /// From an `inet6 static` stanza's `address` option, rather than an `up` command.
    pub stanza: bool,
    pub deprecated: bool,
}

#[inline(never)]
pub fn parse(text: &str) -> Result<Interfaces<'_>, ParseError> {
    let mut parsed = Interfaces::default();
    let mut header = true;
    // The `iface NAME inet6 static` being read: its name and the index of its first address.
    // Borrowed from `text`: no string to drop each time a stanza ends.
    let mut stanza: Option<(&str, usize)> = None;
    let mut iface: Option<&str> = None;
    for (index, raw) in text.lines().enumerate() {
        let line = index.saturating_add(1);
        let content = raw.trim();
        if content.starts_with('#') {
            parsed.generated |= header
                && GENERATED_MARKERS
                    .iter()
                    .any(|marker| find(content, marker, true).is_some());
            continue;
        }
        if content.is_empty() {
            continue;
        }
        header = false;
        let mut words = content.split_whitespace();
        let Some(keyword) = words.next() else {
            continue;
        };
        // The words after the keyword, read where they are (only an `up` line's are collected).
        match keyword {
            "iface" => {
                let (Some(name), Some(family), Some(method)) =
                    (words.next(), words.next(), words.next())
                else {
                    return Err(ParseError {
                        line,
                        what: "iface NAME FAMILY METHOD",
                    });
                };
                iface = Some(name);
                stanza = (family == "inet6" && method == "static")
                    .then_some((name, parsed.addresses.len()));
            }
            // A mapping's options (script, map) are read and ignored.
            "mapping" => {
                iface = Some("");
                stanza = None;
            }
            "auto" | "rename" | "no-auto-down" | "no-scripts" => {
                iface = None;
                stanza = None;
            }
            k if k.starts_with("allow-") => {
                iface = None;
                stanza = None;
            }
            "source" | "source-directory" => {
                let (Some(value), None) = (words.next(), words.next()) else {
                    return Err(ParseError {
                        line,
                        what: "source PATH",
                    });
                };
                parsed.sources.push((keyword == "source-directory", value));
                iface = None;
                stanza = None;
            }
            // Options belong to a stanza; outside one they are an error, as ifup says.
            _ if iface.is_none() => {
                return Err(ParseError {
                    line,
                    what: "a stanza (iface, auto, source, ...)",
                });
            }
            "address" => {
                if let (Some((name, _)), Some(value)) = (stanza, words.next()) {
                    let address = address_of(value).ok_or(ParseError {
                        line,
                        what: "address ADDR[/LEN]",
                    })?;
                    parsed.addresses.push(Assignment {
                        ifname: name,
                        address,
                        line,
                        text: content,
                        stanza: true,
                        deprecated: false,
                    });
                }
            }
            "preferred-lifetime" => {
                if let Some((_, first)) = stanza {
                    let zero = words.next() == Some("0");
                    let in_stanza = parsed.addresses.iter_mut().skip(first);
                    for assignment in in_stanza.filter(|a| a.stanza) {
                        assignment.deprecated = zero;
                    }
                }
            }
            "up" | "post-up" | "pre-up" => {
                if let (Some(name), Some(assignment)) =
                    (iface, ip_addr_add(&words.collect::<Vec<_>>()))
                {
                    parsed.addresses.push(Assignment {
                        ifname: name,
                        line,
                        text: content,
                        stanza: false,
                        ..assignment
                    });
                }
            }
            _ => {}
        }
    }
    Ok(parsed)
}

/// The address an `ip [-6] addr add ADDR …` command adds, and whether it says
/// `preferred_lft 0`.
#[inline(never)]
fn ip_addr_add(words: &[&str]) -> Option<Assignment<'static>> {
    let ip = words
        .iter()
        .position(|w| w.rsplit('/').next() == Some("ip"))?;
    let rest = words.get(ip.saturating_add(1)..)?;
    // ip's options (-6, -force, ...), then the object and the verb; no copy of what follows.
    let options = rest.iter().take_while(|w| w.starts_with('-')).count();
    let [object, verb, after @ ..] = rest.get(options..)? else {
        return None;
    };
    if !"address".starts_with(object) || !matches!(*verb, "add" | "a") {
        return None;
    }
    let address = after.iter().find_map(|w| address_of(w))?;
    let deprecated = after
        .windows(2)
        .any(|pair| matches!(pair, ["preferred_lft" | "preferred", "0" | "0sec"]));
    Some(Assignment {
        ifname: "",
        address,
        line: 0,
        text: "",
        stanza: false,
        deprecated,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The seed host's file, as SolusVM wrote it (the blog post's listing, one line each).
    pub const SEED: &str = "\
# This configuration file is auto-generated.
# WARNING: Do not edit this file, otherwise your changes will be lost.
# Please edit template /etc/network/interfaces.template instead.
auto lo
iface lo inet loopback
# Auto generated venet0 interfaces
auto venet0
iface venet0 inet static
    address 127.0.0.1
    netmask 255.255.255.255
    broadcast 0.0.0.0
    up route add default dev venet0
iface venet0 inet6 static
    address ::2
    netmask 128
    up ip -6 r a default dev venet0
    up ip addr add 2001:db8:f1c1:8454:0964::2/80 dev venet0
    up ip addr add 2001:db8:f1c1:8454:0964::beef/80 dev venet0
auto venet0:0
iface venet0:0 inet static
    address 10.10.23.159
    netmask 255.255.255.255
";

    #[test]
    fn the_seed_hosts_file() {
        let parsed = parse(SEED).unwrap();
        assert!(parsed.generated);
        let found: Vec<(&str, String, usize, bool, bool)> = parsed
            .addresses
            .iter()
            .map(|a| {
                (
                    a.ifname,
                    a.address.to_string(),
                    a.line,
                    a.stanza,
                    a.deprecated,
                )
            })
            .collect();
        assert_eq!(
            found,
            [
                ("venet0", "::2".to_owned(), 14, true, false),
                (
                    "venet0",
                    "2001:db8:f1c1:8454:964::2".to_owned(),
                    17,
                    false,
                    false
                ),
                (
                    "venet0",
                    "2001:db8:f1c1:8454:964::beef".to_owned(),
                    18,
                    false,
                    false
                ),
            ]
        );
        assert_eq!(
            parsed.addresses[2].text,
            "up ip addr add 2001:db8:f1c1:8454:0964::beef/80 dev venet0"
        );
        assert!(parsed.sources.is_empty());
    }

    #[test]
    fn deprecated_by_lifetime_options_and_sources() {
        let text = "source /etc/network/interfaces.d/*\nsource-directory /x\n\
                    iface eth0 inet6 static\n  address 2001:db8::1/64\n  preferred-lifetime 0\n\
                    iface eth1 inet6 manual\n  up ip -6 addr add 2001:db8::2/64 dev eth1 preferred_lft 0\n\
                    post-up /sbin/ip a a 2001:db8::3/64 dev eth1\n  up ip route add 2001:db8::4/64 dev eth1\n";
        let parsed = parse(text).unwrap();
        assert!(!parsed.generated);
        assert_eq!(
            parsed.sources,
            [(false, "/etc/network/interfaces.d/*"), (true, "/x")]
        );
        let found: Vec<(String, bool)> = parsed
            .addresses
            .iter()
            .map(|a| (a.address.to_string(), a.deprecated))
            .collect();
        assert_eq!(
            found,
            [
                ("2001:db8::1".to_owned(), true),
                ("2001:db8::2".to_owned(), true),
                ("2001:db8::3".to_owned(), false)
            ]
        );
    }

    #[test]
    fn malformed_files_name_the_line() {
        assert_eq!(parse("auto lo\niface lo\n").unwrap_err().line, 2);
        assert_eq!(parse("address ::1\n").unwrap_err().line, 1);
        assert_eq!(parse("source\n").unwrap_err().line, 1);
        assert_eq!(
            parse("iface e inet6 static\n address nope\n")
                .unwrap_err()
                .line,
            2
        );
        // A comment after the first stanza is no header.
        assert!(!parse("auto lo\n# Do not edit\n").unwrap().generated);
    }

    proptest! {
        #[test]
        fn never_panics(text in "(?s).{0,300}") {
            let _ = parse(&text);
        }

        #[test]
        fn never_panics_on_interfaces_like_text(
            lines in proptest::collection::vec(
                "(iface e0 inet6 (static|manual)|auto e0|  address (::[0-9]|x)|  preferred-lifetime [0-9]|  up ip (-6 )?a(ddr)? a(dd)? ::[0-9](/64)? (preferred_lft 0)?|# auto-generated|source [a-z/*]{0,5})",
                0..12)
        ) {
            let _ = parse(&lines.join("\n"));
        }
    }
}
