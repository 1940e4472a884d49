//! A systemd service unit, as far as `doctor` needs it: how it starts (`Type=`, `ExecStart=`)
//! and how it is ordered (`After=`, `Before=`, `PartOf=`). List keys add up, and an empty
//! value empties the list, as systemd reads them; every other key is ignored.

use super::{ParseError, ini_entries, logical_lines};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UnitFile {
    /// Each `ExecStart=` line split into words, as systemd splits it.
    pub exec_start: Vec<Vec<String>>,
    /// `Type=`, empty without one.
    pub service_type: String,
    /// The unit names of `After=`, `Before=` and `PartOf=`, each list one string of words
    /// separated by white space (one string per list, not one per name; see [`lists`]).
    pub after: String,
    pub before: String,
    pub part_of: String,
}

/// Whether `list` (a [`UnitFile`] list) names `unit`.
pub fn lists(list: &str, unit: &str) -> bool {
    list.split_whitespace().any(|name| name == unit)
}

#[inline(never)]
pub fn parse(text: &str) -> Result<UnitFile, ParseError> {
    let mut unit = UnitFile::default();
    for entry in ini_entries(&logical_lines(text))? {
        let (line, value) = (entry.line, entry.value);
        let list = match (entry.section, entry.key) {
            ("Unit", "After") => &mut unit.after,
            ("Unit", "Before") => &mut unit.before,
            ("Unit", "PartOf") => &mut unit.part_of,
            ("Service", "Type") => {
                unit.service_type = value.to_owned();
                continue;
            }
            ("Service", "ExecStart") => {
                if value.is_empty() {
                    unit.exec_start.clear();
                } else {
                    let words = split_words(value).ok_or(ParseError {
                        line,
                        what: "ExecStart= words with closed quotes",
                    })?;
                    unit.exec_start.push(words);
                }
                continue;
            }
            _ => continue,
        };
        if value.is_empty() {
            list.clear();
        }
        list.push_str(value);
        list.push(' ');
    }
    Ok(unit)
}

/// The words of an `ExecStart=` value: split on white space, with double or single quotes
/// around a word and C escapes inside them (`\"`, `\\`, `\n`, `\t`, `\xNN`), `%%` and `$$`
/// read as `%` and `$`. `None` for an unclosed quote or a bad escape.
#[inline(never)]
pub fn split_words(value: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut chars = value.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let Some(&first) = chars.peek() else {
            return Some(words);
        };
        let mut word = String::new();
        let quote = ['"', '\''].contains(&first).then(|| chars.next()).flatten();
        loop {
            let c = match chars.next() {
                None if quote.is_some() => return None,
                None => break,
                Some(c) if Some(c) == quote => {
                    // A closing quote ends the word; systemd wants white space after it.
                    if chars.peek().is_some_and(|c| !c.is_whitespace()) {
                        return None;
                    }
                    break;
                }
                Some(c) if quote.is_none() && c.is_whitespace() => break,
                Some(c) => c,
            };
            match c {
                '\\' => word.push(match chars.next()? {
                    'n' => '\n',
                    't' => '\t',
                    'x' => {
                        // Two hex digits by hand: u8::from_str_radix costs 228 B.
                        let high = chars.next()?.to_digit(16)?;
                        let low = chars.next()?.to_digit(16)?;
                        char::from(u8::try_from(high * 16 + low).ok()?)
                    }
                    other => other,
                }),
                '%' | '$' if chars.peek() == Some(&c) => {
                    chars.next();
                    word.push(c);
                }
                c => word.push(c),
            }
        }
        words.push(word);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The unit of main c620eee, as `nlsel unit deprecate --except ::2` printed it.
    const C620EEE: &str = "\
# Written by `nlsel unit deprecate --except ::2`.
[Unit]
Description=Choose the IPv6 source address: nlsel deprecate --except ::2
After=network-online.target
Wants=network-online.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/local/bin/nlsel deprecate --except ::2
CapabilityBoundingSet=CAP_NET_ADMIN

[Install]
WantedBy=multi-user.target
";

    #[test]
    fn reads_the_keys_that_order_and_start_a_unit() {
        let unit = parse(C620EEE).unwrap();
        assert_eq!(
            unit.exec_start,
            [["/usr/local/bin/nlsel", "deprecate", "--except", "::2"]]
        );
        assert_eq!(unit.service_type, "oneshot");
        assert!(lists(&unit.after, "network-online.target"));
        assert!(!lists(&unit.after, "network"));
        assert!(unit.before.is_empty() && unit.part_of.is_empty());
        let unit = parse("[Unit]\nAfter=a  b\nAfter=c\nPartOf=x\n").unwrap();
        let after: Vec<&str> = unit.after.split_whitespace().collect();
        assert_eq!(after, ["a", "b", "c"]);
        assert!(lists(&unit.part_of, "x") && !lists(&unit.before, "x"));
        let unit = parse(
            "[Unit]\nAfter=a\nAfter=\nAfter=b\n[Service]\nType=simple\nType=oneshot\n\
             ExecStart=x\nExecStart=\n",
        )
        .unwrap();
        assert!(lists(&unit.after, "b") && !lists(&unit.after, "a"));
        assert_eq!(unit.service_type, "oneshot");
        assert!(unit.exec_start.is_empty());
    }

    #[test]
    fn malformed_units_name_the_line() {
        assert_eq!(parse("[Unit]\nAfter\n").unwrap_err().line, 2);
        assert_eq!(
            parse("[Service]\nExecStart=/x \"a\n").unwrap_err(),
            ParseError {
                line: 2,
                what: "ExecStart= words with closed quotes"
            }
        );
    }

    #[test]
    fn exec_start_words_as_systemd_splits_them() {
        let words = |text: &str| split_words(text);
        assert_eq!(
            words("/bin/nlsel -n \"a b\" 'c d' 50%% $$X"),
            Some(vec![
                "/bin/nlsel".into(),
                "-n".into(),
                "a b".into(),
                "c d".into(),
                "50%".into(),
                "$X".into()
            ])
        );
        assert_eq!(
            words("\"a\\\"b\\\\c\\n\\x41\""),
            Some(vec!["a\"b\\c\nA".into()])
        );
        assert_eq!(words("  "), Some(vec![]));
        assert_eq!(words("\"a"), None);
        assert_eq!(words("\"a\"b"), None);
        assert_eq!(words("\"\\x4\""), None);
    }

    proptest! {
        #[test]
        fn never_panics(text in "(?s).{0,300}") {
            let _ = parse(&text);
            let _ = split_words(&text);
        }

        #[test]
        fn never_panics_on_unit_like_text(
            lines in proptest::collection::vec(
                "\\[(Unit|Service|Install)\\]|(ExecStart|After|Type)=[ -~]{0,20}\\\\?", 0..10)
        ) {
            let _ = parse(&lines.join("\n"));
        }
    }
}
