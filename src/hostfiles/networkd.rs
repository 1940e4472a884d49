//! systemd-networkd's `.network` file: the addresses it assigns (`[Network] Address=` and
//! `[Address] Address=`), whether each is assigned deprecated (`PreferredLifetime=0`), and the
//! line a fix rewrites. networkd keeps only the last of two definitions of one address
//! ("Duplicated address …, dropping the address setting specified at line N", a warning at each
//! load), so the last one here decides too; a fix rewrites that definition rather than adding
//! a second one.

use std::net::IpAddr;

use super::{ParseError, address_of, ini_entries, logical_lines};

/// One address a `.network` file assigns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkAddress {
    pub address: IpAddr,
    /// The value as the file writes it: `ADDR/LEN`.
    pub value: String,
    /// `PreferredLifetime=0`: networkd adds it deprecated.
    pub deprecated: bool,
    /// The line that makes it deprecated once rewritten, and how.
    pub line: usize,
    pub rewrite: Rewrite,
}

/// How the line of a [`NetworkAddress`] is rewritten to assign it deprecated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rewrite {
    /// A `[Network] Address=` line: as an `[Address]` section with `PreferredLifetime=0`,
    /// `[Network]` opened again after it for the lines that follow.
    Network,
    /// The `Address=` line of an `[Address]` section without `PreferredLifetime=`: followed by
    /// `PreferredLifetime=0`.
    Address,
    /// The `PreferredLifetime=` line of its `[Address]` section: as `PreferredLifetime=0`.
    Lifetime,
}

#[inline(never)]
pub fn addresses(text: &str) -> Result<Vec<NetworkAddress>, ParseError> {
    let mut found: Vec<NetworkAddress> = Vec::new();
    // The [Address] section being read: its number, the index of its address in `found`, and
    // its PreferredLifetime= (whether it is 0, and its line), which may come before Address=.
    let mut section = (0usize, None::<usize>, false, None::<usize>);
    for entry in ini_entries(&logical_lines(text))? {
        let (deprecated, line, rewrite) = match (entry.section, entry.key) {
            ("Network", "Address") => (false, entry.line, Rewrite::Network),
            ("Address", key) => {
                if section.0 != entry.section_number {
                    section = (entry.section_number, None, false, None);
                }
                if key == "PreferredLifetime" {
                    section.2 = entry.value == "0";
                    section.3 = Some(entry.line);
                    if let Some(assigned) = section.1.and_then(|i| found.get_mut(i)) {
                        assigned.deprecated = section.2;
                        assigned.line = entry.line;
                        assigned.rewrite = Rewrite::Lifetime;
                    }
                    continue;
                } else if key != "Address" {
                    continue;
                }
                match section.3 {
                    Some(line) => (section.2, line, Rewrite::Lifetime),
                    None => (false, entry.line, Rewrite::Address),
                }
            }
            _ => continue,
        };
        let address = address_of(entry.value).ok_or(ParseError {
            line: entry.line,
            what: "Address=ADDR/LEN",
        })?;
        found.retain(|a| a.address != address);
        found.push(NetworkAddress {
            address,
            value: entry.value.to_owned(),
            deprecated,
            line,
            rewrite,
        });
        if entry.section == "Address" {
            section.1 = Some(found.len().saturating_sub(1));
        }
    }
    Ok(found)
}

/// The `.network` file networkd applied to a link, from `/run/systemd/netif/links/IFINDEX`:
/// only when the link is configured by it (`ADMIN_STATE=configured`).
#[inline(never)]
pub fn network_file(link_state: &str) -> Option<&str> {
    (super::key_value(link_state, "ADMIN_STATE")? == "configured")
        .then(|| super::key_value(link_state, "NETWORK_FILE"))
        .flatten()
        .filter(|path| !path.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    /// Each address's (value, deprecated, line, rewrite).
    fn summary(text: &str) -> Vec<(String, bool, usize, Rewrite)> {
        let found = addresses(text).unwrap();
        found
            .into_iter()
            .map(|a| (a.value, a.deprecated, a.line, a.rewrite))
            .collect()
    }

    #[test]
    fn network_and_address_sections_and_the_last_definition() {
        let text = "[Match]\nName=venet0\n[Network]\nAddress=2001:db8::2/80\n\
                    Address=2001:db8::beef/80\nDNS=::1\n";
        assert_eq!(
            summary(text),
            [
                ("2001:db8::2/80".into(), false, 4, Rewrite::Network),
                ("2001:db8::beef/80".into(), false, 5, Rewrite::Network)
            ]
        );
        // Line 5 rewritten as the fix writes it: one definition of ::beef, deprecated, and
        // DNS= still in [Network].
        let fixed = text.replace(
            "Address=2001:db8::beef/80\n",
            "[Address]\nAddress=2001:db8::beef/80\nPreferredLifetime=0\n[Network]\n",
        );
        let found = addresses(&fixed).unwrap();
        assert_eq!(found.len(), 2);
        assert!(found[1].address == ip("2001:db8::beef") && found[1].deprecated);
        let lines = logical_lines(&fixed);
        let dns = ini_entries(&lines).unwrap();
        assert!(dns.iter().any(|e| (e.section, e.key) == ("Network", "DNS")));
        // A later definition replaces an earlier one, as networkd keeps the last.
        let text = "[Network]\nAddress=2001:db8::1/64\n[Address]\nAddress=2001:db8::1/64\n\
                    PreferredLifetime=0\n";
        assert_eq!(
            summary(text),
            [("2001:db8::1/64".into(), true, 5, Rewrite::Lifetime)]
        );
        // PreferredLifetime= before Address= in its section, and two sections in a row.
        let text = "[Address]\nPreferredLifetime=0\nAddress=2001:db8::1/64\n\
                    [Address]\nAddress=2001:db8::3/64\n";
        assert_eq!(
            summary(text),
            [
                ("2001:db8::1/64".into(), true, 2, Rewrite::Lifetime),
                ("2001:db8::3/64".into(), false, 5, Rewrite::Address)
            ]
        );
        let text = "[Address]\nAddress=2001:db8::1/64\nPreferredLifetime=forever\n";
        assert_eq!(
            summary(text),
            [("2001:db8::1/64".into(), false, 3, Rewrite::Lifetime)]
        );
        assert_eq!(addresses("[Network]\nAddress=zzz\n").unwrap_err().line, 2);
    }

    #[test]
    fn link_state_names_the_file_only_when_configured() {
        let state = "# This is private data. Do not parse.\nADMIN_STATE=configured\n\
                     NETWORK_FILE=/etc/systemd/network/10-venet0.network\n";
        assert_eq!(
            network_file(state),
            Some("/etc/systemd/network/10-venet0.network")
        );
        assert_eq!(
            network_file("ADMIN_STATE=unmanaged\nNETWORK_FILE=/x\n"),
            None
        );
        assert_eq!(
            network_file("ADMIN_STATE=configured\nNETWORK_FILE=\n"),
            None
        );
    }

    proptest! {
        #[test]
        fn never_panics(text in "(?s).{0,300}") {
            let _ = addresses(&text);
            let _ = network_file(&text);
        }

        #[test]
        fn never_panics_on_network_like_text(
            lines in proptest::collection::vec(
                "\\[(Network|Address)\\]|(Address|PreferredLifetime)=(2001:db8::[0-9]/64|0|x)", 0..10)
        ) {
            let _ = addresses(&lines.join("\n"));
        }
    }
}
