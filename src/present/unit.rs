//! A systemd service unit's text, from what `cmd::unit` decided goes in it (the command it
//! runs, and which protections the sandbox may keep): the words of `nlsel unit`.

/// What `cmd::unit` decided a unit holds.
pub struct Unit<'a> {
    /// The executable's absolute path.
    pub exe: &'a str,
    /// The global options (`-n NETNS`, `-j`, `-q`), one word each, before the command.
    pub options: &'a [String],
    /// The command and its arguments.
    pub words: &'a [String],
    /// A `--watch` service, which runs on and tells systemd when it is ready; else a oneshot.
    pub watch: bool,
    /// The command enters another network namespace (`-n`).
    pub netns: bool,
    /// ProtectHome= may hide /home, /root and /run/user (else they are read-only).
    pub protect_home: bool,
    /// PrivateTmp= may hide /tmp and /var/tmp.
    pub private_tmp: bool,
    /// PrivateDevices= may hide /dev (and /dev/shm).
    pub private_devices: bool,
    /// The temporary directory the executable is in, which a comment names.
    pub temporary: Option<&'a str>,
}

/// The services that add addresses at boot (ifupdown, systemd-networkd, NetworkManager) and
/// those that wait for them; ordering after a unit that does not exist is no error.
pub const MANAGERS: &str = "networking.service ifupdown-wait-online.service \
    systemd-networkd.service systemd-networkd-wait-online.service \
    NetworkManager.service NetworkManager-wait-online.service";

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

/// The unit's text.
pub fn unit_text(unit: &Unit) -> String {
    let yes_no = |yes: bool| if yes { "yes" } else { "no" };
    let words = unit.words.join(" ");
    let exec_start: Vec<String> = std::iter::once(unit.exe)
        .chain(unit.options.iter().map(String::as_str))
        .chain(unit.words.iter().map(String::as_str))
        .map(exec_word)
        .collect();
    // The header and Description= carry the whole command, -n NETNS included, so that units
    // for two namespaces tell themselves apart in `systemctl status`.
    let options = unit
        .options
        .iter()
        .map(|option| format!("{option} "))
        .collect::<String>();
    let description = format!("nlsel {options}{words}").replace('%', "%%");
    // Entering another namespace with setns(2) needs CAP_SYS_ADMIN and the "net" namespace type.
    let (capabilities, namespaces) = if unit.netns {
        ("CAP_NET_ADMIN CAP_SYS_ADMIN", "net")
    } else {
        ("CAP_NET_ADMIN", "yes")
    };
    let protect_home = if unit.protect_home {
        "yes"
    } else {
        "read-only"
    };
    // A directory that may be emptied at boot is named, with the protection the unit drops.
    let warning = unit.temporary.map_or_else(String::new, |dir| {
        let setting = if unit.private_tmp {
            "PrivateDevices=no"
        } else {
            "PrivateTmp=no"
        };
        format!(
            "# {exe} is under {dir}, which may be emptied at boot; the unit has {setting} so \
             that it can run it.\n# Copy nlsel to /usr/local/bin and write the unit again.\n",
            exe = unit.exe
        )
    });
    // --watch sees every address added later, a restart of networking.service included; a
    // oneshot must run again then (PartOf= restarts it after it).
    let (part_of, service) = if unit.watch {
        ("", "Type=notify\nRestart=on-failure\nRestartSec=5s\n")
    } else {
        (
            "PartOf=networking.service\n",
            "Type=oneshot\nRemainAfterExit=yes\n",
        )
    };
    format!(
        "# Written by `nlsel {options}unit {words}`.\n\
         {warning}\
         [Unit]\n\
         Description=Choose the IPv6 source address: {description}\n\
         # After the services that add addresses, before any service that waits for the network.\n\
         After=network.target {MANAGERS}\n\
         Before=network-online.target\n\
         Wants=network-online.target\n\
         {part_of}\
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
         PrivateTmp={private_tmp}\n\
         PrivateDevices={private_devices}\n\
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
         WantedBy=multi-user.target network-online.target\n",
        exec_start = exec_start.join(" "),
        private_tmp = yes_no(unit.private_tmp),
        private_devices = yes_no(unit.private_devices),
    )
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

    /// systemd's ExecStart= splits on white space, reads `;` alone as a separator and quotes
    /// and backslashes as syntax: such words are quoted, with C escapes inside.
    #[test]
    fn exec_words_escape_what_systemd_would_read_as_syntax() {
        assert_eq!(exec_word(";"), "\";\"");
        assert_eq!(exec_word("a;b"), "a;b");
        assert_eq!(exec_word("a\tb"), "\"a\\tb\"");
        assert_eq!(exec_word("a\nb"), "\"a\\nb\"");
        assert_eq!(exec_word("a\\b"), "\"a\\\\b\"");
        assert_eq!(exec_word("it's"), "\"it's\"");
        assert_eq!(exec_word("a\u{7f}b"), "\"a\\x7fb\"");
        assert_eq!(exec_word("a\u{1}b"), "\"a\\x01b\"");
        assert_eq!(exec_word("a b%$"), "\"a b%%$$\"");
    }
}
