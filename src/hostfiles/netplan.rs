//! netplan's YAML (`/etc/netplan/*.yaml`), only as far as the `addresses:` list of each
//! interface and the `lifetime: 0` an address may carry. Block and flow sequences, plain and
//! quoted scalars, and an address given as a mapping (`- "ADDR/LEN":` with `lifetime: 0`
//! below it, or `{lifetime: 0}` on its line) are read; a tab in the indentation is an error,
//! as in YAML.

use std::net::IpAddr;

use super::{ParseError, address_of, find};

/// One address a netplan file gives an interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetplanAddress<'a> {
    pub ifname: &'a str,
    pub address: IpAddr,
    /// As written, without quotes: `ADDR/LEN`.
    pub value: &'a str,
    /// `lifetime: 0`: the address is added deprecated.
    pub deprecated: bool,
    /// Its line (1-based), the column of its `-` (0 in a flow sequence), and whether it is
    /// written as a mapping (`- "ADDR/LEN":`).
    pub line: usize,
    pub indent: usize,
    pub mapping: bool,
}

/// A scalar without its quotes.
fn unquoted(text: &str) -> &str {
    let text = text.trim();
    for quote in ['"', '\''] {
        if let Some(inner) = text.strip_prefix(quote).and_then(|t| t.strip_suffix(quote)) {
            return inner;
        }
    }
    text
}

/// A mapping line's key and value: `key: value`, `key:`, `"key": value`.
fn key_and_value(content: &str) -> Option<(&str, &str)> {
    if let Some(quote) = content.chars().next().filter(|c| *c == '"' || *c == '\'') {
        let close = content.get(1..)?.find(quote)?.saturating_add(1);
        let (key, rest) = content.split_at(close.saturating_add(1));
        let value = rest.strip_prefix(':')?;
        return Some((key, value.trim()));
    }
    if let Some(key) = content.strip_suffix(':') {
        return Some((key, ""));
    }
    let at = find(content, ": ", false)?;
    let (key, value) = (content.get(..at)?, content.get(at + 2..)?);
    Some((key, value.trim()))
}

#[inline(never)]
pub fn addresses<'a>(text: &'a str) -> Result<Vec<NetplanAddress<'a>>, ParseError> {
    let mut found: Vec<NetplanAddress> = Vec::new();
    // The mapping keys that lead to the current line, with their indentation.
    // The keys above this line, borrowed from `text`.
    let mut path: Vec<(usize, &str)> = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = index.saturating_add(1);
        let content = match find(raw, " #", false) {
            Some(at) => raw.get(..at).unwrap_or(raw),
            None => raw,
        };
        let trimmed = content.trim_start_matches(' ');
        let indent = content.len().saturating_sub(trimmed.len());
        if trimmed.starts_with('\t') {
            return Err(ParseError {
                line,
                what: "indentation by spaces",
            });
        }
        let trimmed = trimmed.trim_end();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed == "---" {
            continue;
        }
        let item = trimmed
            .strip_prefix("- ")
            .or((trimmed == "-").then_some(""));
        // `lifetime:` below an address written as a mapping.
        if let (None, Some(last)) = (item, found.last_mut())
            && last.mapping
            && last.line < line
            && indent > last.indent
        {
            if let Some(("lifetime", value)) = key_and_value(trimmed) {
                last.deprecated = unquoted(value) == "0";
            }
            continue;
        }
        while path
            .last()
            .is_some_and(|(at, _)| *at > indent || (*at == indent && item.is_none()))
        {
            path.pop();
        }
        let in_addresses = |path: &[(usize, &'a str)]| match *path {
            [.., (_, ifname), (_, "addresses")] => Some(ifname),
            _ => None,
        };
        let Some(item) = item else {
            let Some((key, value)) = key_and_value(trimmed) else {
                continue;
            };
            let key = unquoted(key);
            if let (true, Some(list)) = (key == "addresses", value.strip_prefix('[')) {
                let ifname = path.last().map_or("", |&(_, name)| name);
                let list = list.strip_suffix(']').ok_or(ParseError {
                    line,
                    what: "a flow sequence on one line",
                })?;
                for value in list.split(',').map(unquoted).filter(|v| !v.is_empty()) {
                    found.push(entry(ifname, value, false, line, 0)?);
                }
            } else if value.is_empty() {
                path.push((indent, key));
            }
            continue;
        };
        let Some(ifname) = in_addresses(&path) else {
            continue;
        };
        let (value, mapping, deprecated) = match key_and_value(item) {
            Some((key, inline)) => {
                // Without its spaces (str::replace, which nlsel already has, not a collect).
                let compact = inline.replace(' ', "");
                (
                    unquoted(key),
                    inline.is_empty(),
                    find(&compact, "lifetime:0", false).is_some(),
                )
            }
            None => (unquoted(item), false, false),
        };
        let mut address = entry(ifname, value, mapping, line, indent)?;
        address.deprecated = deprecated;
        found.push(address);
    }
    Ok(found)
}

/// Whether networkd's `.network` file `path` (its link state's `NETWORK_FILE=`, a file
/// directly in one of its directories) is one netplan renders: netplan writes
/// `/run/systemd/network/10-netplan-ID.network` for each definition (ID URI-escaped) and
/// removes every `10-netplan-*` there before it writes them again, so an edit there is lost.
/// A copy under /etc/systemd/network shadows it and is the user's own.
#[inline(never)]
pub fn generated(path: &str) -> bool {
    path.strip_prefix("/run/systemd/network/10-netplan-")
        .is_some_and(|id| id.ends_with(".network"))
}

fn entry<'a>(
    ifname: &'a str,
    value: &'a str,
    mapping: bool,
    line: usize,
    indent: usize,
) -> Result<NetplanAddress<'a>, ParseError> {
    Ok(NetplanAddress {
        ifname,
        address: address_of(value).ok_or(ParseError {
            line,
            what: "an address ADDR/LEN",
        })?,
        value,
        deprecated: false,
        line,
        indent,
        mapping,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn block_flow_and_mapping_addresses() {
        let text = "\
network:
  version: 2
  ethernets:
    eth0:
      addresses:
        - 2001:db8::2/64 # kept
        - \"2001:db8::beef/64\":
            lifetime: 0
            label: x
        - '2001:db8::3/64': {lifetime: 0}
        - 2001:db8::4/64
      routes:
        - to: default
          via: 2001:db8::1
    eth1:
      addresses: [2001:db8:1::5/64, \"2001:db8:1::6/64\"]
";
        let found = addresses(text).unwrap();
        let summary: Vec<(&str, String, bool, usize, usize, bool)> = found
            .iter()
            .map(|a| {
                (
                    a.ifname,
                    a.value.to_owned(),
                    a.deprecated,
                    a.line,
                    a.indent,
                    a.mapping,
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                ("eth0", "2001:db8::2/64".to_owned(), false, 6, 8, false),
                ("eth0", "2001:db8::beef/64".to_owned(), true, 7, 8, true),
                ("eth0", "2001:db8::3/64".to_owned(), true, 10, 8, false),
                ("eth0", "2001:db8::4/64".to_owned(), false, 11, 8, false),
                ("eth1", "2001:db8:1::5/64".to_owned(), false, 16, 0, false),
                ("eth1", "2001:db8:1::6/64".to_owned(), false, 16, 0, false),
            ]
        );
    }

    #[test]
    fn a_sequence_at_its_keys_indentation_and_errors() {
        let text = "network:\n  ethernets:\n    venet0:\n      addresses:\n      - ::2/128\n      - 2001:db8::beef/80:\n          lifetime: 0\n      dhcp6: false\n";
        let found = addresses(text).unwrap();
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(found[0].ifname, "venet0");
        assert!(!found[0].deprecated && found[1].deprecated);
        assert_eq!(addresses("a:\n\tb: 1\n").unwrap_err().line, 2);
        assert_eq!(
            addresses("e:\n  addresses:\n    - nope\n")
                .unwrap_err()
                .line,
            3
        );
        assert_eq!(addresses("e:\n  addresses: [::1\n").unwrap_err().line, 2);
    }

    #[test]
    fn the_network_files_netplan_generates() {
        assert!(generated("/run/systemd/network/10-netplan-venet0.network"));
        // A match: definition's ID, URI-escaped.
        assert!(generated("/run/systemd/network/10-netplan-all-en.network"));
        assert!(generated("/run/systemd/network/10-netplan-a%2Fb.network"));
        // The user's copy under /etc, another name, another kind.
        assert!(!generated("/etc/systemd/network/10-netplan-venet0.network"));
        assert!(!generated("/run/systemd/network/10-venet0.network"));
        assert!(!generated("/run/systemd/network/20-netplan-venet0.network"));
        assert!(!generated("/run/systemd/network/10-netplan-venet0.link"));
    }

    proptest! {
        #[test]
        fn never_panics(text in "(?s).{0,300}") {
            let _ = addresses(&text);
        }

        #[test]
        fn never_panics_on_netplan_like_text(
            lines in proptest::collection::vec(
                " {0,8}(- )?(\"|')?(addresses|eth0|lifetime|::[0-9](/64)?)(\"|')?:? ?(\\[|\\{)?[ -~]{0,6}",
                0..12)
        ) {
            let _ = addresses(&lines.join("\n"));
        }
    }
}
