//! Strict readers of the few keys `doctor` needs from other programs' files: systemd units,
//! systemd-networkd's `.network` files and link state, ifupdown's `/etc/network/interfaces`,
//! netplan's YAML and NetworkManager's device state. No INI, YAML or D-Bus library: each reader
//! takes the file's text and returns what it found or the line it could not read, so that the
//! caller can name the file in a warning instead of guessing. Pure: no I/O, no panic on any
//! input (proptests below and in each file).

pub mod ifupdown;
pub mod netplan;
pub mod networkd;
pub mod unit;

/// A line that could not be read: 1-based, with what was expected there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseError {
    pub line: usize,
    pub what: &'static str,
}

/// The logical lines of an INI-like file (systemd units, `.network` files): continuation
/// lines (ending in a backslash) joined, comments (`#` or `;` first) and blank lines dropped,
/// each with its 1-based number.
pub fn logical_lines(text: &str) -> Vec<(usize, String)> {
    let mut lines = Vec::new();
    let mut pending: Option<(usize, String)> = None;
    for (index, raw) in text.lines().enumerate() {
        let number = index.saturating_add(1);
        let line = raw.trim();
        let (start, mut joined) = match pending.take() {
            Some((start, joined)) => (start, joined),
            None if line.is_empty() || line.starts_with(['#', ';']) => continue,
            None => (number, String::new()),
        };
        // A comment inside a continued value is skipped, as systemd does.
        if !joined.is_empty() && line.starts_with(['#', ';']) {
            pending = Some((start, joined));
            continue;
        }
        match line.strip_suffix('\\') {
            Some(part) => {
                joined.push_str(part);
                joined.push(' ');
                pending = Some((start, joined));
            }
            None => {
                joined.push_str(line);
                lines.push((start, joined));
            }
        }
    }
    lines.extend(pending);
    lines
}

/// One `Key=Value` of an INI-like file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub line: usize,
    /// Which section it is in, counted from 1: two sections of one name differ here.
    pub section_number: usize,
    pub section: String,
    pub key: String,
    pub value: String,
}

/// An INI-like file as its entries; a line that is neither a `[Section]` nor `Key=Value` is
/// an error.
pub fn ini_entries(text: &str) -> Result<Vec<Entry>, ParseError> {
    let mut section = String::new();
    let mut section_number = 0usize;
    let mut entries = Vec::new();
    for (line, content) in logical_lines(text) {
        if let Some(name) = content.strip_prefix('[') {
            let name = name.strip_suffix(']').ok_or(ParseError {
                line,
                what: "a section header [Name]",
            })?;
            section = name.to_owned();
            section_number = section_number.saturating_add(1);
            continue;
        }
        let (key, value) = content.split_once('=').ok_or(ParseError {
            line,
            what: "Key=Value",
        })?;
        if section.is_empty() {
            return Err(ParseError {
                line,
                what: "a section header before the first key",
            });
        }
        entries.push(Entry {
            line,
            section_number,
            section: section.clone(),
            key: key.trim().to_owned(),
            value: value.trim().to_owned(),
        });
    }
    Ok(entries)
}

/// The value of `KEY=` in a file of `KEY=VALUE` lines (systemd-networkd's
/// `/run/systemd/netif/links/IFINDEX`, NetworkManager's device state).
pub fn key_value<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.lines().find_map(|line| {
        let (k, v) = line.split_once('=')?;
        (k.trim() == key).then(|| v.trim())
    })
}

/// The address of `ADDR` or `ADDR/LEN`, as the managers write them.
pub fn address_of(value: &str) -> Option<std::net::IpAddr> {
    let value = value.trim_matches(['"', '\'']);
    value.split('/').next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn continuation_lines_join_and_comments_go() {
        let text = "# c\n[Unit]\nAfter=a \\\n  b\n; x\n\nBefore=c\n";
        assert_eq!(
            logical_lines(text),
            [
                (2, "[Unit]".to_owned()),
                (3, "After=a  b".to_owned()),
                (7, "Before=c".to_owned())
            ]
        );
        let entries = ini_entries(text).unwrap();
        assert_eq!(
            (entries[1].key.as_str(), entries[1].section_number),
            ("Before", 1)
        );
        assert_eq!(
            ini_entries("[Unit]\nnonsense\n"),
            Err(ParseError {
                line: 2,
                what: "Key=Value"
            })
        );
        assert_eq!(ini_entries("A=b\n").unwrap_err().line, 1);
        assert_eq!(ini_entries("[Unit\n").unwrap_err().line, 1);
    }

    #[test]
    fn key_values_and_addresses() {
        let text = "# private\nADMIN_STATE=configured\nNETWORK_FILE=/etc/x.network\n";
        assert_eq!(key_value(text, "ADMIN_STATE"), Some("configured"));
        assert_eq!(key_value(text, "NETWORK_FILE"), Some("/etc/x.network"));
        assert_eq!(key_value(text, "OPER_STATE"), None);
        assert_eq!(
            address_of("\"2001:db8::beef/80\""),
            "2001:db8::beef".parse().ok()
        );
        assert_eq!(address_of("nope/1"), None);
    }

    proptest! {
        #[test]
        fn ini_readers_never_panic(text in "(?s).{0,300}") {
            let _ = ini_entries(&text);
            let _ = key_value(&text, "A");
            let _ = address_of(&text);
        }

        #[test]
        fn ini_readers_never_panic_on_ini_like_text(
            text in "(\\[[A-Za-z]{0,5}\\]?|[A-Za-z]{1,5}=[ -~]{0,10}\\\\?|#.{0,5}|)(\n(\\[[A-Za-z]{0,5}\\]?|[A-Za-z]{1,5}=[ -~]{0,10}\\\\?|#.{0,5}|)){0,10}"
        ) {
            let _ = ini_entries(&text);
        }
    }
}
