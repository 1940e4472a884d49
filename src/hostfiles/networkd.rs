//! systemd-networkd's `.network` file: the addresses it assigns (`[Network] Address=` and
//! `[Address] Address=`) and whether each is assigned deprecated (`PreferredLifetime=0`).
//! networkd keeps only the last of two definitions of one address ("Duplicated address …,
//! dropping the former"), so the last one here decides too, which lets a fix be appended.

use std::net::IpAddr;

use super::{ParseError, address_of, ini_entries};

/// One address a `.network` file assigns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkAddress {
    pub address: IpAddr,
    /// The value as the file writes it: `ADDR/LEN`.
    pub value: String,
    /// `PreferredLifetime=0`: networkd adds it deprecated.
    pub deprecated: bool,
}

pub fn addresses(text: &str) -> Result<Vec<NetworkAddress>, ParseError> {
    let mut found: Vec<NetworkAddress> = Vec::new();
    // The [Address] section being read: its number, the index of its address in `found`, and
    // whether its PreferredLifetime= is 0 (which may come before its Address=).
    let mut section = (0usize, None::<usize>, false);
    for entry in ini_entries(text)? {
        let deprecated = match (entry.section.as_str(), entry.key.as_str()) {
            ("Network", "Address") => false,
            ("Address", key) => {
                if section.0 != entry.section_number {
                    section = (entry.section_number, None, false);
                }
                if key == "PreferredLifetime" {
                    section.2 = entry.value == "0";
                    if let Some(assigned) = section.1.and_then(|i| found.get_mut(i)) {
                        assigned.deprecated = section.2;
                    }
                    continue;
                } else if key != "Address" {
                    continue;
                }
                section.2
            }
            _ => continue,
        };
        let address = address_of(&entry.value).ok_or(ParseError {
            line: entry.line,
            what: "Address=ADDR/LEN",
        })?;
        found.retain(|a| a.address != address);
        found.push(NetworkAddress {
            address,
            value: entry.value,
            deprecated,
        });
        if entry.section == "Address" {
            section.1 = Some(found.len().saturating_sub(1));
        }
    }
    Ok(found)
}

/// The `.network` file networkd applied to a link, from `/run/systemd/netif/links/IFINDEX`:
/// only when the link is configured by it (`ADMIN_STATE=configured`).
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

    #[test]
    fn network_and_address_sections_and_the_last_definition() {
        let text = "[Match]\nName=venet0\n[Network]\nAddress=2001:db8::2/80\n\
                    Address=2001:db8::beef/80\n";
        let found = addresses(text).unwrap();
        assert_eq!(found.len(), 2);
        assert!(found.iter().all(|a| !a.deprecated));
        assert_eq!(found[1].value, "2001:db8::beef/80");
        // The fix appended: the [Address] section is the last definition of ::beef.
        let fixed = format!("{text}\n[Address]\nAddress=2001:db8::beef/80\nPreferredLifetime=0\n");
        let found = addresses(&fixed).unwrap();
        assert_eq!(found.len(), 2);
        let beef = found
            .iter()
            .find(|a| a.address == ip("2001:db8::beef"))
            .unwrap();
        assert!(beef.deprecated);
        // PreferredLifetime= before Address= in its section, and two sections in a row.
        let text = "[Address]\nPreferredLifetime=0\nAddress=2001:db8::1/64\n\
                    [Address]\nAddress=2001:db8::3/64\n";
        let found = addresses(text).unwrap();
        assert!(found[0].deprecated && !found[1].deprecated, "{found:?}");
        let text = "[Address]\nAddress=2001:db8::1/64\nPreferredLifetime=forever\n";
        assert!(!addresses(text).unwrap()[0].deprecated);
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
