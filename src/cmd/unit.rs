//! `nlsel unit deprecate ARGS…` / `nlsel unit prefer ADDR …`: print a systemd service unit that
//! runs this very binary with those arguments, after checking them exactly as the command
//! would, so that a unit that cannot work is never written.

use std::ffi::OsString;

use lexopt::prelude::*;

use super::{text_value, usage_error};
use crate::context::{Globals, Outcome};
use crate::failure::Failure;
use crate::output::Output;
use crate::plan::Mode;

pub const HELP: &str = "\
Usage: nlsel [-n NETNS] [-j] [-q] unit deprecate --except PATTERN... [--dev IFACE]... [--watch]
       nlsel [-n NETNS] [-j] [-q] unit prefer ADDR [--watch]

Check the arguments as the command would (a usage error exits 2), then print a systemd
service unit that runs this binary, by its absolute path, with them:

  nlsel unit deprecate --except ::2 > /etc/systemd/system/nlsel.service
  systemctl enable --now nlsel

Without --watch the unit is a oneshot run after network-online.target; with --watch it is a
long-running service restarted on failure. Either way it runs with CAP_NET_ADMIN only, no
new privileges, netlink and unix sockets only, and a read-only system.

Options:
  -h, --help   show this help
";

/// The command the unit runs, as checked: its words for ExecStart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Args {
    pub words: Vec<String>,
    pub watch: bool,
}

pub fn parse(parser: &mut lexopt::Parser) -> Result<Args, Failure> {
    let command = match parser.next().map_err(usage_error)? {
        Some(Value(word)) => text_value(word, "command")?,
        Some(Short('h') | Long("help")) => return Err(Failure::Help(HELP)),
        Some(other) => return Err(usage_error(other.unexpected())),
        None => return Err(Failure::usage("unit needs a command: deprecate or prefer")),
    };
    let rest: Vec<OsString> = parser.raw_args().map_err(usage_error)?.collect();
    let mut check = lexopt::Parser::from_args(rest.iter().cloned());
    let watch = match command.as_str() {
        "deprecate" => {
            let args = super::deprecate::parse(&mut check)?;
            if args.mode != Mode::Apply {
                return Err(Failure::usage(
                    "a unit runs the command for real: drop --dry-run or --check",
                ));
            }
            args.watch
        }
        "prefer" => super::prefer::parse(&mut check)?.watch,
        other => {
            return Err(Failure::usage(format!(
                "unit cannot run \"{}\" (expected deprecate or prefer)",
                other.escape_debug()
            )));
        }
    };
    let mut words = vec![command];
    for arg in rest {
        words.push(text_value(arg, "argument")?);
    }
    Ok(Args { words, watch })
}

/// One word of an ExecStart line: bare when plain, else double-quoted with systemd's escapes.
/// `%` starts a specifier and `$` a variable in ExecStart, so both are doubled either way.
pub fn exec_word(word: &str) -> String {
    let escaped = word.replace('%', "%%").replace('$', "$$");
    let plain = !escaped.is_empty()
        && escaped != ";"
        && !escaped
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "\"'\\".contains(c));
    if plain {
        return escaped;
    }
    let mut quoted = String::from("\"");
    for c in escaped.chars() {
        match c {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            '\n' => quoted.push_str("\\n"),
            '\t' => quoted.push_str("\\t"),
            c if c.is_control() => quoted.push_str(&format!("\\x{:02x}", u32::from(c))),
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}

/// The unit's text for `args`, run from the executable at `exe`.
pub fn render(args: &Args, globals: &Globals, exe: &str) -> Result<String, Failure> {
    let mut exec = vec![exe.to_string()];
    if let Some(netns) = &globals.netns {
        exec.push("-n".to_string());
        exec.push(text_value(netns.clone(), "network namespace")?);
    }
    if globals.json {
        exec.push("-j".to_string());
    }
    if globals.quiet {
        exec.push("-q".to_string());
    }
    exec.extend(args.words.iter().cloned());
    let exec_start: Vec<String> = exec.iter().map(|word| exec_word(word)).collect();
    let description = format!("nlsel {}", args.words.join(" ")).replace('%', "%%");
    // Entering another namespace with setns(2) needs CAP_SYS_ADMIN and the "net" namespace type.
    let (capabilities, namespaces) = match globals.netns {
        Some(_) => ("CAP_NET_ADMIN CAP_SYS_ADMIN", "net"),
        None => ("CAP_NET_ADMIN", "yes"),
    };
    // ProtectHome=yes hides /home, /root and /run/user, and with them a binary kept there.
    let home = ["/home/", "/root/", "/run/user/"];
    let protect_home = if home.iter().any(|dir| exe.starts_with(dir)) {
        "read-only"
    } else {
        "yes"
    };
    let service = if args.watch {
        "Type=exec\nRestart=on-failure\nRestartSec=5s\n"
    } else {
        "Type=oneshot\nRemainAfterExit=yes\n"
    };
    Ok(format!(
        "# Written by `nlsel unit {words}`.\n\
         [Unit]\n\
         Description=Choose the IPv6 source address: {description}\n\
         After=network-online.target\n\
         Wants=network-online.target\n\
         \n\
         [Service]\n\
         {service}\
         ExecStart={exec_start}\n\
         CapabilityBoundingSet={capabilities}\n\
         NoNewPrivileges=yes\n\
         RestrictAddressFamilies=AF_NETLINK AF_UNIX\n\
         RestrictNamespaces={namespaces}\n\
         ProtectSystem=strict\n\
         ProtectHome={protect_home}\n\
         PrivateTmp=yes\n\
         PrivateDevices=yes\n\
         ProtectKernelTunables=yes\n\
         ProtectKernelModules=yes\n\
         ProtectKernelLogs=yes\n\
         ProtectControlGroups=yes\n\
         ProtectClock=yes\n\
         ProtectHostname=yes\n\
         RestrictRealtime=yes\n\
         RestrictSUIDSGID=yes\n\
         LockPersonality=yes\n\
         MemoryDenyWriteExecute=yes\n\
         SystemCallArchitectures=native\n\
         SystemCallFilter=@system-service\n\
         SystemCallErrorNumber=EPERM\n\
         IPAddressDeny=any\n\
         UMask=0077\n\
         \n\
         [Install]\n\
         WantedBy=multi-user.target\n",
        words = args.words.join(" "),
        exec_start = exec_start.join(" "),
    ))
}

pub fn run(args: &Args, globals: &Globals, out: &mut Output) -> Result<Outcome, Failure> {
    let exe = std::env::current_exe().map_err(|source| Failure::Io {
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

    #[test]
    fn exec_words_are_quoted_only_when_needed() {
        assert_eq!(exec_word("::2"), "::2");
        assert_eq!(exec_word("a b"), "\"a b\"");
        assert_eq!(exec_word("50%"), "50%%");
        assert_eq!(exec_word("$HOME"), "$$HOME");
        assert_eq!(exec_word("a\"b"), "\"a\\\"b\"");
        assert_eq!(exec_word(""), "\"\"");
    }
}
