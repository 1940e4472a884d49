//! `nlsel unit deprecate ARGS…` / `nlsel unit prefer ADDR …`: print a systemd service unit that
//! runs this very binary with those arguments, after checking them exactly as the command
//! would, so that a unit that cannot work is never written. This file decides what goes in
//! the unit; `present::unit` writes its text.

use std::ffi::OsString;

use lexopt::prelude::*;

use super::{Parsed, text_value, usage_error};
use crate::context::{Globals, Outcome};
use crate::failure::{Failure, Kind};
use crate::output::Output;
use crate::present::packed::Text;
use crate::present::unit::{Unit, unit_text};

/// The command the unit runs, as checked: its words for ExecStart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Args {
    pub words: Vec<String>,
    pub watch: bool,
}

pub fn parse(parser: &mut lexopt::Parser) -> Result<Parsed<Args>, Failure> {
    let command = match parser.next().map_err(usage_error)? {
        Some(Value(word)) => text_value(word, "command")?,
        Some(Short('h') | Long("help")) => return Ok(Parsed::Help(Text::UnitHelp)),
        Some(other) => return Err(usage_error(other.unexpected())),
        None => return Err(Failure::usage("unit needs a command: deprecate or prefer")),
    };
    let rest: Vec<OsString> = parser.raw_args().map_err(usage_error)?.collect();
    let mut check = lexopt::Parser::from_args(rest.iter().cloned());
    let (mode, watch) = match command.as_str() {
        // Their --help is theirs: `unit deprecate --help` prints deprecate's.
        "deprecate" => match super::deprecate::parse(&mut check)? {
            Parsed::Run(args) => (args.modes.mode, args.modes.watch),
            Parsed::Help(help) => return Ok(Parsed::Help(help)),
        },
        "prefer" => match super::prefer::parse(&mut check)? {
            Parsed::Run(args) => (args.modes.mode, args.modes.watch),
            Parsed::Help(help) => return Ok(Parsed::Help(help)),
        },
        other => {
            return Err(Failure::usage(format!(
                "unit cannot run \"{}\" (expected deprecate or prefer)",
                other.escape_debug()
            )));
        }
    };
    super::unit_mode(mode)?;
    let mut words = vec![command];
    for arg in rest {
        words.push(text_value(arg, "argument")?);
    }
    Ok(Parsed::Run(Args { words, watch }))
}

/// The unit's text for `args`, run from the executable at `exe`.
pub fn render(args: &Args, globals: &Globals, exe: &str) -> Result<String, Failure> {
    let mut options = Vec::new();
    if let Some(netns) = &globals.netns {
        options.push("-n".to_string());
        options.push(text_value(netns.clone(), "network namespace")?);
    }
    if globals.json {
        options.push("-j".to_string());
    }
    if globals.quiet {
        options.push("-q".to_string());
    }
    // ProtectHome=yes hides /home, /root and /run/user, and with them a binary kept there.
    let home = ["/home/", "/root/", "/run/user/"];
    // PrivateTmp=yes gives the service empty /tmp and /var/tmp, and PrivateDevices=yes an
    // empty /dev/shm, which would hide a binary kept there (status=203/EXEC). The unit then
    // goes without that one protection, and says why: such a directory may be emptied at boot.
    let temporary = TEMPORARY_DIRS
        .iter()
        .find(|dir| exe.starts_with(*dir))
        .copied();
    Ok(unit_text(&Unit {
        exe,
        options: &options,
        words: &args.words,
        // --watch sees every address added later, a restart of networking.service included;
        // a oneshot must run again then.
        watch: args.watch,
        netns: globals.netns.is_some(),
        protect_home: !home.iter().any(|dir| exe.starts_with(dir)),
        private_tmp: !matches!(temporary, Some("/tmp/" | "/var/tmp/")),
        private_devices: temporary != Some("/dev/shm/"),
        temporary,
    }))
}

/// Directories whose content the unit's sandbox hides or the system may empty at boot.
const TEMPORARY_DIRS: [&str; 3] = ["/tmp/", "/var/tmp/", "/dev/shm/"];

pub fn run(args: &Args, globals: &Globals, out: &mut Output) -> Result<Outcome, Failure> {
    let exe = std::env::current_exe().map_err(|source| Kind::Io {
        what: "finding this executable's path",
        source,
    })?;
    let exe = exe.to_str().ok_or_else(|| {
        Failure::usage(format!(
            "the executable's path \"{}\" is not UTF-8",
            exe.display()
        ))
    })?;
    out.line(render(args, globals, exe)?.trim_end());
    Ok(Outcome::Done)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines_of(watch: bool) -> Vec<String> {
        let args = Args {
            words: vec!["deprecate".into(), "--except".into(), "::2".into()],
            watch,
        };
        let globals = Globals {
            netns: None,
            json: false,
            quiet: false,
        };
        let text = render(&args, &globals, "/usr/local/bin/nlsel").unwrap();
        text.lines().map(str::to_owned).collect()
    }

    /// Both units run after every manager that adds addresses and before
    /// network-online.target, at every boot; only the oneshot follows networking.service's
    /// restarts, and only --watch tells systemd when it is ready.
    #[test]
    fn units_run_between_the_managers_and_network_online() {
        for watch in [false, true] {
            let lines = lines_of(watch);
            let has = |line: &str| lines.iter().any(|l| l == line);
            let after = format!("After=network.target {}", crate::present::unit::MANAGERS);
            assert!(has(&after), "{lines:#?}");
            assert!(has("Before=network-online.target"), "{lines:#?}");
            assert!(has("Wants=network-online.target"), "{lines:#?}");
            assert!(
                has("WantedBy=multi-user.target network-online.target"),
                "{lines:#?}"
            );
            assert_eq!(has("PartOf=networking.service"), !watch, "{lines:#?}");
            assert_eq!(has("Type=notify"), watch, "{lines:#?}");
            assert_eq!(has("Type=oneshot"), !watch, "{lines:#?}");
        }
        for name in [
            "networking.service",
            "ifupdown-wait-online.service",
            "systemd-networkd.service",
            "systemd-networkd-wait-online.service",
            "NetworkManager.service",
            "NetworkManager-wait-online.service",
        ] {
            assert!(
                crate::present::unit::MANAGERS
                    .split(' ')
                    .any(|word| word == name),
                "{name}"
            );
        }
    }

    fn unit(globals: &Globals, exe: &str) -> Vec<String> {
        let args = Args {
            words: vec!["prefer".into(), "2001:db8::1".into()],
            watch: true,
        };
        let text = render(&args, globals, exe).unwrap();
        text.lines().map(str::to_owned).collect()
    }

    const PLAIN: Globals = Globals {
        netns: None,
        json: false,
        quiet: false,
    };

    /// The global options reach ExecStart, the header and Description=; `-n` also gets the
    /// capability and the namespace type setns(2) needs, and nothing else does.
    #[test]
    fn global_options_run_with_the_unit_and_name_it() {
        let lines = unit(&PLAIN, "/usr/bin/nlsel");
        let has = |lines: &[String], line: &str| lines.iter().any(|l| l == line);
        assert!(
            has(&lines, "ExecStart=/usr/bin/nlsel prefer 2001:db8::1"),
            "{lines:#?}"
        );
        assert!(
            has(&lines, "# Written by `nlsel unit prefer 2001:db8::1`."),
            "{lines:#?}"
        );
        assert!(has(
            &lines,
            "Description=Choose the IPv6 source address: nlsel prefer 2001:db8::1"
        ));
        assert!(
            has(&lines, "CapabilityBoundingSet=CAP_NET_ADMIN"),
            "{lines:#?}"
        );
        assert!(has(&lines, "RestrictNamespaces=yes"), "{lines:#?}");
        let globals = Globals {
            netns: Some("red%1".into()),
            json: true,
            quiet: true,
        };
        let lines = unit(&globals, "/usr/bin/nlsel");
        assert!(
            has(
                &lines,
                "ExecStart=/usr/bin/nlsel -n red%%1 -j -q prefer 2001:db8::1"
            ),
            "{lines:#?}"
        );
        assert!(
            has(
                &lines,
                "# Written by `nlsel -n red%1 -j -q unit prefer 2001:db8::1`."
            ),
            "{lines:#?}"
        );
        assert!(
            has(
                &lines,
                "Description=Choose the IPv6 source address: nlsel -n red%%1 -j -q prefer 2001:db8::1"
            ),
            "{lines:#?}"
        );
        assert!(has(
            &lines,
            "CapabilityBoundingSet=CAP_NET_ADMIN CAP_SYS_ADMIN"
        ));
        assert!(has(&lines, "RestrictNamespaces=net"), "{lines:#?}");
    }

    /// The sandbox never hides the binary it runs: each protection that would is relaxed
    /// alone, and a temporary directory is named in a comment.
    #[test]
    fn the_sandbox_leaves_the_binary_visible() {
        let settings = |exe: &str| {
            let lines = unit(&PLAIN, exe);
            let value = |key: &str| {
                lines
                    .iter()
                    .find_map(|line| line.strip_prefix(key))
                    .unwrap_or_else(|| panic!("{key} in {lines:#?}"))
                    .to_owned()
            };
            let warning = lines
                .iter()
                .find(|line| line.contains("may be emptied at boot"));
            (
                value("ProtectHome="),
                value("PrivateTmp="),
                value("PrivateDevices="),
                warning.cloned(),
            )
        };
        let (home, tmp, devices, warning) = settings("/usr/local/bin/nlsel");
        assert_eq!(
            (&*home, &*tmp, &*devices, warning),
            ("yes", "yes", "yes", None)
        );
        for exe in ["/home/u/nlsel", "/root/nlsel", "/run/user/0/nlsel"] {
            let (home, tmp, devices, warning) = settings(exe);
            assert_eq!(
                (&*home, &*tmp, &*devices, warning),
                ("read-only", "yes", "yes", None)
            );
        }
        for (exe, dir) in [("/tmp/nlsel", "/tmp/"), ("/var/tmp/x/nlsel", "/var/tmp/")] {
            let (home, tmp, devices, warning) = settings(exe);
            assert_eq!((&*home, &*tmp, &*devices), ("yes", "no", "yes"));
            assert_eq!(
                warning.as_deref(),
                Some(&*format!(
                    "# {exe} is under {dir}, which may be emptied at boot; the unit has \
                     PrivateTmp=no so that it can run it."
                ))
            );
        }
        let (home, tmp, devices, warning) = settings("/dev/shm/nlsel");
        assert_eq!((&*home, &*tmp, &*devices), ("yes", "yes", "no"));
        assert_eq!(
            warning.as_deref(),
            Some(
                "# /dev/shm/nlsel is under /dev/shm/, which may be emptied at boot; the unit \
                 has PrivateDevices=no so that it can run it."
            )
        );
        // A directory merely named like one is not it.
        let (_, tmp, devices, warning) = settings("/opt/tmp/nlsel");
        assert_eq!((&*tmp, &*devices, warning), ("yes", "yes", None));
    }
}
