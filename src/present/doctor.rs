//! `doctor`'s words: each finding's message and fix, in text and in JSON
//! (`{"findings":[{"level","code","ifname","message","fix"}]}`, null where a field does not
//! apply). One constructor per code, so the codes the man page documents are all here.

use std::net::IpAddr;

use super::{json, shell_word};
use crate::hostfiles::networkd::{NetworkAddress, Rewrite};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Problem,
    Warning,
    Ok,
}

impl Level {
    fn name(self) -> &'static str {
        match self {
            Level::Problem => "problem",
            Level::Warning => "warning",
            Level::Ok => "ok",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub level: Level,
    pub code: &'static str,
    pub ifname: Option<Vec<u8>>,
    pub message: String,
    /// The command or file snippet that cures it; several lines when it needs them.
    pub fix: Option<String>,
}

fn finding(
    level: Level,
    code: &'static str,
    ifname: Option<&[u8]>,
    message: String,
    fix: Option<String>,
) -> Finding {
    Finding {
        level,
        code,
        ifname: ifname.map(<[u8]>::to_vec),
        message,
        fix,
    }
}

/// The commands that (re)write a unit with `nlsel unit` and start it: `words` are its
/// ExecStart's arguments, global options first; `watch` adds `--watch` to them.
fn unit_commands(words: &[String], watch: bool, name: &str, path: &str) -> String {
    let command = words
        .iter()
        .position(|w| w == "deprecate" || w == "prefer")
        .unwrap_or(0);
    // Global options, `unit`, the command's words: built in one pass.
    let mut line = String::from("nlsel ");
    for (at, word) in words.iter().enumerate() {
        if at == command {
            line.push_str("unit ");
        }
        line.push_str(&shell_word(word.as_bytes()));
        line.push(' ');
    }
    if watch {
        line.push_str("--watch ");
    }
    format!(
        "{line}> {path}\nsystemctl daemon-reload\nsystemctl reenable {name}\n\
         systemctl restart {name}"
    )
}

/// A fix's `in FILE, write line N as:` and the `lines` that replace line N (each fix that
/// edits a file in place says it so).
fn write_line_as(file: &str, line: usize, lines: &str) -> String {
    [
        "in ",
        file,
        ", write line ",
        &line.to_string(),
        " as:\n",
        lines,
    ]
    .concat()
}

pub fn no_unit() -> Finding {
    finding(
        Level::Problem,
        "no-unit",
        None,
        "no systemd unit runs `nlsel deprecate` or `nlsel prefer`: nothing applies the choice \
         at boot"
            .into(),
        Some(
            "nlsel unit deprecate --except ADDRESS-TO-KEEP > /etc/systemd/system/nlsel.service\n\
             systemctl enable --now nlsel.service"
                .into(),
        ),
    )
}

pub fn unit_disabled(name: &str) -> Finding {
    finding(
        Level::Problem,
        "unit-disabled",
        None,
        format!("{name} runs nlsel but is not enabled: it does not run at boot"),
        Some(format!("systemctl enable {name}")),
    )
}

/// `why`: what the unit lacks, from [`too_late_reason`]'s words.
pub fn unit_too_late(name: &str, path: &str, why: &str, words: &[String]) -> Finding {
    finding(
        Level::Problem,
        "unit-too-late",
        None,
        format!(
            "{name} is not done before network-online.target ({why}): services that wait \
             for the network can start with the old source"
        ),
        Some(unit_commands(words, false, name, path)),
    )
}

/// What a unit lacks to be done before network-online.target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TooLate {
    NotBefore,
    AfterOnline,
    NotAfter(&'static str),
    /// The type that is needed: `oneshot`, or `notify` for `--watch`.
    Type(&'static str),
}

pub fn too_late_reason(reason: &TooLate) -> String {
    match reason {
        TooLate::NotBefore => "no Before=network-online.target".into(),
        TooLate::AfterOnline => "it is After=network-online.target".into(),
        TooLate::NotAfter(manager) => format!("not After={manager}, which adds addresses here"),
        TooLate::Type(wanted) => format!("not Type={wanted}, so systemd does not wait for it"),
    }
}

/// `why`: the failure's own line, or `None` when the policy would change addresses. A command
/// that fails (a usage error in `ExecStart=`, a missing interface) fails at every boot: a
/// problem naming the file, which a restart does not cure.
pub fn not_applied(name: &str, path: &str, changes: usize, why: Option<String>) -> Finding {
    let (message, fix) = match why {
        Some(why) => (
            format!("{path}: its command fails now: {why}"),
            format!(
                "correct ExecStart= in {path}, then:\nsystemctl daemon-reload\nsystemctl restart {name}"
            ),
        ),
        None => (
            format!("{name}'s policy is not applied: it would change {changes} address(es) now"),
            format!("systemctl restart {name}\njournalctl -u {name}"),
        ),
    };
    finding(Level::Problem, "not-applied", None, message, Some(fix))
}

/// systemd-networkd assigns `addresses` preferred. The fix rewrites each one's line, the last
/// first, so that the line numbers above it stay true.
pub fn undone_by_networkd(ifname: &[u8], file: &str, addresses: &[NetworkAddress]) -> Finding {
    let mut values = String::new();
    for assigned in addresses {
        values.push_str(&assigned.value);
        values.push(' ');
    }
    let mut fix = String::new();
    for assigned in addresses.iter().rev() {
        let value = &assigned.value;
        let (before, after) = match assigned.rewrite {
            Rewrite::Network => ("[Address]\nAddress=", "\nPreferredLifetime=0\n[Network]\n"),
            Rewrite::Address => ("Address=", "\nPreferredLifetime=0\n"),
            Rewrite::Lifetime => ("", "PreferredLifetime=0\n"),
        };
        let value = if before.is_empty() { "" } else { value };
        fix.push_str(&write_line_as(
            file,
            assigned.line,
            &[before, value, after].concat(),
        ));
    }
    fix.push_str("networkctl reload");
    finding(
        Level::Problem,
        "undone-by-networkd",
        Some(ifname),
        format!(
            "systemd-networkd assigns {values}preferred ({file}): `networkctl reconfigure` or \
             `reload` undoes the oneshot unit"
        ),
        Some(fix),
    )
}

/// ifupdown adds `address` preferred on `line` of `file`.
pub fn undone_by_ifupdown(
    ifname: &[u8],
    address: IpAddr,
    file: &str,
    line: usize,
    text: &str,
    stanza: bool,
) -> Finding {
    let fix = if stanza {
        format!("in {file}, add to the stanza of line {line}:\n    preferred-lifetime 0")
    } else {
        write_line_as(file, line, &["    ", text, " preferred_lft 0"].concat())
    };
    finding(
        Level::Problem,
        "undone-by-ifupdown",
        Some(ifname),
        format!(
            "ifupdown adds {address} preferred ({file} line {line}), and the unit does not run \
             again after `systemctl restart networking`"
        ),
        Some(fix),
    )
}

/// The same, where the file is generated: the fix is a unit that re-runs with networking.
pub fn undone_by_generated_ifupdown(
    ifname: &[u8],
    address: IpAddr,
    file: &str,
    name: &str,
    path: &str,
    words: &[String],
) -> Finding {
    finding(
        Level::Problem,
        "undone-by-ifupdown",
        Some(ifname),
        format!(
            "ifupdown adds {address} preferred, {file} is generated (an edit is lost at \
             boot), and the unit does not run again after `systemctl restart networking`"
        ),
        Some(unit_commands(words, false, name, path)),
    )
}

pub fn undone_by_networkmanager(
    ifname: &[u8],
    name: &str,
    path: &str,
    words: &[String],
) -> Finding {
    finding(
        Level::Problem,
        "undone-by-networkmanager",
        Some(ifname),
        format!(
            "NetworkManager manages this device and re-applies its addresses; {name} is a \
             oneshot"
        ),
        Some(unit_commands(words, true, name, path)),
    )
}

pub fn netplan(ifname: &[u8], file: &str, line: usize, indent: usize, value: &str) -> Finding {
    let pad = " ".repeat(indent);
    finding(
        Level::Problem,
        "netplan",
        Some(ifname),
        format!(
            "{file} line {line} gives {value} without `lifetime: 0`: `netplan apply` makes it \
             preferred again"
        ),
        Some(write_line_as(
            file,
            line,
            &[
                &pad,
                "- \"",
                value,
                "\":\n",
                &pad,
                "    lifetime: 0\nnetplan apply",
            ]
            .concat(),
        )),
    )
}

/// `use_tempaddr` is `value` (1 or more) on an interface where `address` is kept.
pub fn privacy_addresses(ifname: &[u8], value: i32, address: IpAddr) -> Finding {
    let name = shell_word(ifname);
    let (level, effect) = if value >= 2 {
        (
            Level::Problem,
            "the kernel prefers its temporary addresses over it",
        )
    } else {
        (
            Level::Warning,
            "the kernel makes temporary addresses beside it, which applications asking for them use",
        )
    };
    finding(
        level,
        "privacy-addresses",
        Some(ifname),
        format!("use_tempaddr is {value} and {address} is a kept SLAAC address: {effect}"),
        Some(format!(
            "sysctl -w net.ipv6.conf.{name}.use_tempaddr=0\n\
             echo net.ipv6.conf.{name}.use_tempaddr=0 > /etc/sysctl.d/60-nlsel-{name}.conf"
        )),
    )
}

/// The kernel's source for `destination` now; `kept`: whether the policy keeps it (`None`
/// without a policy).
pub fn source(
    ifname: Option<&[u8]>,
    destination: IpAddr,
    default_route: bool,
    source: Option<IpAddr>,
    kept: Option<bool>,
) -> Finding {
    let via = if default_route {
        " (through the default route)"
    } else {
        ""
    };
    // One message built from its parts: four format! calls cost the binary more.
    let mut message = destination.to_string();
    message.push_str(via);
    message.push_str(": ");
    let level = match source {
        None => {
            message.push_str("no route or no source");
            Level::Warning
        }
        Some(source) => {
            message.push_str("the kernel's source is ");
            message.push_str(&source.to_string());
            message.push_str(match kept {
                Some(false) => ", which the policy deprecates",
                Some(true) => ", which the policy keeps",
                None => " (no unit's policy to compare)",
            });
            if kept == Some(false) {
                Level::Problem
            } else {
                Level::Ok
            }
        }
    };
    finding(level, "source", ifname, message, None)
}

/// A file that could not be read or parsed: never an `ok` about it.
pub fn unreadable(file: &str, why: String) -> Finding {
    finding(
        Level::Warning,
        "unreadable",
        None,
        format!("{file}: {why}; what it says was not checked"),
        None,
    )
}

/// A file that could not be read (`InvalidData`, from `read_to_string`: bytes that are not
/// UTF-8).
pub fn unreadable_file(file: &str, error: &std::io::Error) -> Finding {
    let why = match error.kind() {
        std::io::ErrorKind::InvalidData => "not UTF-8".into(),
        _ => error.to_string(),
    };
    unreadable(file, why)
}

/// An interface's `use_tempaddr`, which decides whether it makes privacy addresses, could not
/// be read.
pub fn use_tempaddr_unreadable(ifname: &[u8]) -> Finding {
    unreadable(
        &[
            "/proc/sys/net/ipv6/conf/",
            &String::from_utf8_lossy(ifname),
            "/use_tempaddr",
        ]
        .concat(),
        "cannot be read".into(),
    )
}

pub fn parse_error(what: &str, line: usize) -> String {
    format!("line {line}: expected {what}")
}

/// The findings as text: `LEVEL CODE [IFNAME]: MESSAGE`, the fix below, and a tally.
pub fn text(findings: &[Finding]) -> Vec<String> {
    let mut lines = Vec::new();
    let mut problems = 0usize;
    for finding in findings {
        problems += usize::from(finding.level == Level::Problem);
        // Pushed piece by piece: each format! here cost the binary about a hundred bytes.
        let mut head = String::from(finding.level.name());
        head.push(' ');
        head.push_str(finding.code);
        if let Some(name) = &finding.ifname {
            head.push(' ');
            head.push_str(&String::from_utf8_lossy(name));
        }
        head.push_str(": ");
        head.push_str(&finding.message);
        lines.push(head);
        let mut lead = "  fix: ";
        for line in finding.fix.iter().flat_map(|fix| fix.lines()) {
            lines.push([lead, line].concat());
            lead = "       ";
        }
    }
    lines.push(format!("{problems} problem(s)"));
    lines
}

pub fn json(findings: &[Finding]) -> String {
    // Written into one string, not a Vec of objects joined (json::array) and formatted.
    let mut out = String::from("{\"findings\":[");
    for (i, finding) in findings.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let mut object = json::Object::begin(&mut out);
        object
            .string("level", finding.level.name())
            .string("code", finding.code);
        match &finding.ifname {
            Some(name) => object.string("ifname", name),
            None => object.raw("ifname", "null"),
        };
        object.string("message", &finding.message);
        match &finding.fix {
            Some(fix) => object.string("fix", fix),
            None => object.raw("fix", "null"),
        };
        object.end();
    }
    out.push_str("]}");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hostfiles::networkd;
    use proptest::prelude::*;

    /// `text` with the undone-by-networkd fix's "in FILE, write line N as:" edits applied in
    /// order, as a user (or tests/systemd/doctor.sh) applies them.
    fn apply_networkd_fix(text: &str, fix: &str) -> String {
        let mut lines: Vec<String> = text.lines().map(String::from).collect();
        let mut edit: Option<(usize, Vec<String>)> = None;
        let apply = |edit: Option<(usize, Vec<String>)>, lines: &mut Vec<String>| {
            if let Some((n, body)) = edit {
                lines.splice(n - 1..n, body);
            }
        };
        for line in fix.lines() {
            if let Some(n) = line
                .strip_prefix("in /f, write line ")
                .and_then(|l| l.strip_suffix(" as:"))
            {
                apply(edit.take(), &mut lines);
                edit = Some((n.parse().unwrap(), Vec::new()));
            } else if line == "networkctl reload" {
                apply(edit.take(), &mut lines);
            } else {
                edit.as_mut().unwrap().1.push(line.to_owned());
            }
        }
        lines.join("\n")
    }

    /// One section of a `.network` file: [Network] with Address= lines, or an [Address]
    /// section with one Address= and maybe a PreferredLifetime= before or after it.
    fn section() -> impl Strategy<Value = String> {
        let address = (1u8..5).prop_map(|n| format!("Address=2001:db8::{n}/64"));
        prop_oneof![
            proptest::collection::vec(address.clone(), 0..3).prop_map(|lines| {
                let mut text = String::from("[Network]\nDNS=::1\n");
                for line in lines {
                    text.push_str(&line);
                    text.push_str("\nDNS=::2\n");
                }
                text
            }),
            (address, 0usize..3, any::<bool>()).prop_map(|(line, lifetime, first)| {
                let lifetime =
                    ["", "PreferredLifetime=0\n", "PreferredLifetime=forever\n"][lifetime];
                if first {
                    format!("[Address]\n{lifetime}{line}\nLabel=x\n")
                } else {
                    format!("[Address]\nLabel=x\n{line}\n{lifetime}")
                }
            }),
        ]
    }

    proptest! {
        /// The undone-by-networkd fix, applied literally to any such file, leaves every
        /// address it assigns deprecated, each defined as often as before (no duplicate is
        /// added), and the file's other keys where they were.
        #[test]
        fn the_networkd_fix_deprecates_without_a_second_definition(
            sections in proptest::collection::vec(section(), 1..5)
        ) {
            let text = sections.concat();
            let found = networkd::addresses(&text).unwrap();
            let preferred: Vec<NetworkAddress> =
                found.iter().filter(|a| !a.deprecated).cloned().collect();
            prop_assume!(!preferred.is_empty());
            let fix = undone_by_networkd(b"e", "/f", &preferred).fix.unwrap();
            let fixed = apply_networkd_fix(&text, &fix);
            let after = networkd::addresses(&fixed).unwrap();
            prop_assert_eq!(after.len(), found.len(), "{}\n--\n{}", text, fixed);
            prop_assert!(after.iter().all(|a| a.deprecated), "{}\n--\n{}", text, fixed);
            let count = |text: &str, what: &str| text.lines().filter(|l| *l == what).count();
            for a in &found {
                let line = format!("Address={}", a.value);
                prop_assert_eq!(count(&text, &line), count(&fixed, &line));
            }
            for key in ["DNS=::1", "DNS=::2", "Label=x"] {
                prop_assert_eq!(count(&text, key), count(&fixed, key));
            }
            // Each key stays in a section of its kind.
            let lines = crate::hostfiles::logical_lines(&fixed);
            for entry in crate::hostfiles::ini_entries(&lines).unwrap() {
                let section = if entry.key == "DNS" { "Network" } else { entry.section };
                prop_assert_eq!(entry.section, section, "{}", fixed);
                prop_assert!(entry.key != "Label" || entry.section == "Address");
            }
        }
    }

    #[test]
    fn json_has_the_five_keys_with_nulls() {
        let findings = [
            no_unit(),
            source(
                Some(b"venet0"),
                "2000::1".parse().unwrap(),
                true,
                None,
                None,
            ),
        ];
        let value: serde_json::Value = serde_json::from_str(&json(&findings)).unwrap();
        let list = value["findings"].as_array().unwrap();
        assert_eq!(list.len(), 2);
        for item in list {
            let keys: Vec<&String> = item.as_object().unwrap().keys().collect();
            assert_eq!(keys.len(), 5, "{item}");
            for key in ["level", "code", "ifname", "message", "fix"] {
                assert!(item.get(key).is_some(), "{key} in {item}");
            }
        }
        assert_eq!(list[0]["level"], "problem");
        assert_eq!(list[0]["code"], "no-unit");
        assert!(list[0]["ifname"].is_null());
        assert_eq!(list[1]["ifname"], "venet0");
        assert!(list[1]["fix"].is_null());
    }

    #[test]
    fn unit_commands_put_global_options_before_unit() {
        let words: Vec<String> = ["-n", "vps", "deprecate", "--except", "::2"]
            .map(String::from)
            .to_vec();
        assert_eq!(
            unit_commands(
                &words,
                false,
                "nlsel.service",
                "/etc/systemd/system/nlsel.service"
            ),
            "nlsel -n vps unit deprecate --except '::2' > /etc/systemd/system/nlsel.service\n\
             systemctl daemon-reload\nsystemctl reenable nlsel.service\n\
             systemctl restart nlsel.service"
        );
        let text = text(&[unit_disabled("x.service")]);
        assert_eq!(
            text,
            [
                "problem unit-disabled: x.service runs nlsel but is not enabled: it does not run at boot",
                "  fix: systemctl enable x.service",
                "1 problem(s)"
            ]
        );
    }
}
