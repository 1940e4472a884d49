//! Issue 4, `nlsel unit deprecate ARGS...` / `nlsel unit prefer ADDR ...`: the arguments are
//! checked exactly as the command would check them (a usage error exits 2 with one `nlsel: `
//! line and prints no unit), and the unit printed runs this very binary, by its absolute path,
//! with those arguments. `systemd-analyze verify` is the oracle for the unit's syntax; it must
//! print nothing at all. These tests need neither root nor a namespace.

mod common;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use common::{BIN, Netns, Run, have_program, nstest, quoted, skip};

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// `nlsel ARGS...`.
fn nlsel(args: &[&str]) -> Run {
    Run::from_command(Command::new(BIN).args(args))
}

/// `key=value` lines of a unit, with the section each is in; comments and blanks dropped.
fn entries(unit: &str) -> Vec<(String, String, String)> {
    let mut section = String::new();
    let mut out = Vec::new();
    for line in unit.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.to_owned();
            continue;
        }
        let (key, value) = line
            .split_once('=')
            .unwrap_or_else(|| panic!("not a key=value line in the unit: {line:?}\n{unit}"));
        out.push((section.clone(), key.to_owned(), value.to_owned()));
    }
    out
}

/// The values of `key` in `section`.
fn values(unit: &str, section: &str, key: &str) -> Vec<String> {
    entries(unit)
        .into_iter()
        .filter(|(s, k, _)| s == section && k == key)
        .map(|(_, _, v)| v)
        .collect()
}

/// Panics unless `key` appears exactly once in `section` with `value`.
fn assert_entry(unit: &str, section: &str, key: &str, value: &str) {
    assert_eq!(
        values(unit, section, key),
        [value],
        "[{section}] {key}= in the unit:\n{unit}"
    );
}

fn assert_absent(unit: &str, section: &str, key: &str) {
    assert!(
        values(unit, section, key).is_empty(),
        "[{section}] {key}= must not be in the unit:\n{unit}"
    );
}

/// The binary as the unit must name it: absolute, symlinks resolved.
fn canonical_bin() -> String {
    std::fs::canonicalize(BIN)
        .expect("cannot canonicalise the binary's path")
        .to_str()
        .expect("binary path is UTF-8")
        .to_owned()
}

/// Runs `nlsel unit ARGS...`, checks it succeeded quietly, and returns the unit.
fn unit(args: &[&str]) -> String {
    let mut full = vec!["unit"];
    full.extend(args);
    let run = nlsel(&full);
    run.expect_ok();
    assert_eq!(run.stderr, "", "`{}` wrote to stderr", run.command);
    run.stdout
}

/// ExecStart's words, split on whitespace (the tests use only plain words).
fn exec_start(unit: &str) -> Vec<String> {
    let exec = values(unit, "Service", "ExecStart");
    assert_eq!(exec.len(), 1, "exactly one ExecStart:\n{unit}");
    exec[0].split_whitespace().map(str::to_owned).collect()
}

fn assert_exec_start(unit: &str, args: &[&str]) {
    let words = exec_start(unit);
    let bin = canonical_bin();
    assert!(
        words[0].starts_with('/'),
        "ExecStart must start with an absolute path:\n{unit}"
    );
    assert_eq!(words[0], bin, "ExecStart runs this binary");
    assert_eq!(words[1..], *args, "ExecStart's arguments");
}

/// The sandboxing the unit must always carry.
fn assert_hardened(unit: &str) {
    for (key, value) in [
        ("CapabilityBoundingSet", "CAP_NET_ADMIN"),
        ("NoNewPrivileges", "yes"),
        ("RestrictAddressFamilies", "AF_NETLINK AF_UNIX"),
        ("ProtectSystem", "strict"),
        ("ProtectHome", "yes"),
        ("PrivateTmp", private_tmp_for(&canonical_bin())),
        ("SystemCallArchitectures", "native"),
        ("MemoryDenyWriteExecute", "yes"),
    ] {
        assert_entry(unit, "Service", key, value);
    }
}

/// PrivateTmp= for a unit running `bin`: off only when it would hide the binary itself.
fn private_tmp_for(bin: &str) -> &'static str {
    if bin.starts_with("/tmp/") || bin.starts_with("/var/tmp/") {
        "no"
    } else {
        "yes"
    }
}

/// With -n the unit also needs setns(2): CAP_SYS_ADMIN and the net namespace type.
fn assert_hardened_netns(unit: &str) {
    assert_entry(
        unit,
        "Service",
        "CapabilityBoundingSet",
        "CAP_NET_ADMIN CAP_SYS_ADMIN",
    );
    assert_entry(unit, "Service", "NoNewPrivileges", "yes");
    assert_entry(
        unit,
        "Service",
        "RestrictAddressFamilies",
        "AF_NETLINK AF_UNIX",
    );
}

/// The services that add addresses at boot, and those that wait for them.
const MANAGERS: [&str; 6] = [
    "networking.service",
    "ifupdown-wait-online.service",
    "systemd-networkd.service",
    "systemd-networkd-wait-online.service",
    "NetworkManager.service",
    "NetworkManager-wait-online.service",
];

/// Every unit runs after the services that add addresses and before network-online.target, so
/// that no service ordered after it sees the hidden address preferred; and at every boot,
/// whether or not something else pulls in network-online.target.
fn assert_ordered_before_online(unit: &str) {
    let after = values(unit, "Unit", "After");
    assert_eq!(after.len(), 1, "one After= line:\n{unit}");
    let after: Vec<&str> = after[0].split_whitespace().collect();
    for name in MANAGERS.iter().chain(&["network.target"]) {
        assert!(after.contains(name), "After= names {name}:\n{unit}");
    }
    assert!(
        !after.contains(&"network-online.target"),
        "not After=network-online.target:\n{unit}"
    );
    assert_entry(unit, "Unit", "Before", "network-online.target");
    assert_entry(unit, "Unit", "Wants", "network-online.target");
    assert_entry(
        unit,
        "Install",
        "WantedBy",
        "multi-user.target network-online.target",
    );
}

fn assert_oneshot(unit: &str) {
    assert_entry(unit, "Service", "Type", "oneshot");
    assert_entry(unit, "Service", "RemainAfterExit", "yes");
    assert_absent(unit, "Service", "Restart");
    assert_ordered_before_online(unit);
    // Run again when ifupdown runs again: `systemctl restart networking` adds the addresses
    // back, preferred.
    assert_entry(unit, "Unit", "PartOf", "networking.service");
}

fn assert_long_running(unit: &str) {
    // Ready (READY=1) only once the first pass is applied.
    assert_entry(unit, "Service", "Type", "notify");
    assert_entry(unit, "Service", "Restart", "on-failure");
    assert_absent(unit, "Service", "RemainAfterExit");
    assert_ordered_before_online(unit);
    // It sees addresses added later by itself; stopping networking must not stop it.
    assert_absent(unit, "Unit", "PartOf");
}

/// A temporary directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        let dir = std::env::temp_dir().join(format!(
            "nlsel-unit-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("cannot create a temp dir");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `systemd-analyze verify DIR/nlsel-test.service` must succeed and print nothing. Skips (or
/// fails under CI=true) when systemd-analyze is missing.
fn assert_verifies(unit: &str) {
    if !have_program("systemd-analyze") {
        skip("systemd-analyze is not installed (Debian package systemd)");
        return;
    }
    let dir = TempDir::new();
    let file = dir.0.join("nlsel-test.service");
    std::fs::write(&file, unit).expect("cannot write the unit");
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&file)
        .stdin(Stdio::null())
        .output()
        .expect("cannot run systemd-analyze");
    assert!(
        out.status.success() && out.stdout.is_empty() && out.stderr.is_empty(),
        "systemd-analyze verify {}: {:?}\n--- stdout:\n{}--- stderr:\n{}--- unit:\n{unit}",
        file.display(),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn unit_deprecate_is_a_hardened_oneshot() {
    let text = unit(&["deprecate", "--except", "::2"]);
    assert_exec_start(&text, &["deprecate", "--except", "::2"]);
    assert_oneshot(&text);
    assert_hardened(&text);
    assert_verifies(&text);
}

#[test]
fn unit_deprecate_watch_is_a_hardened_long_running_service() {
    let args = ["deprecate", "--except", "::2", "--dev", "venet0", "--watch"];
    let text = unit(&args);
    assert_exec_start(&text, &args);
    assert_long_running(&text);
    assert_hardened(&text);
    assert_verifies(&text);
}

#[test]
fn unit_prefer_is_a_hardened_oneshot() {
    let text = unit(&["prefer", "2001:db8::2"]);
    assert_exec_start(&text, &["prefer", "2001:db8::2"]);
    assert_oneshot(&text);
    assert_hardened(&text);
    assert_verifies(&text);
}

#[test]
fn unit_prefer_watch_is_a_long_running_service() {
    let text = unit(&["prefer", "2001:db8::2", "--watch"]);
    assert_exec_start(&text, &["prefer", "2001:db8::2", "--watch"]);
    assert_long_running(&text);
    assert_hardened(&text);
    assert_verifies(&text);
}

#[test]
fn unit_keeps_global_options_in_exec_start() {
    let run = nlsel(&["-n", "blue", "unit", "deprecate", "--except", "::2"]);
    run.expect_ok();
    assert_exec_start(&run.stdout, &["-n", "blue", "deprecate", "--except", "::2"]);
    assert_oneshot(&run.stdout);
    assert_hardened_netns(&run.stdout);
    assert_verifies(&run.stdout);
}

/// Two units for two namespaces must tell themselves apart in `systemctl status`.
#[test]
fn unit_with_netns_names_it_in_description_and_header() {
    let run = nlsel(&[
        "-n",
        "blue",
        "unit",
        "deprecate",
        "--except",
        "::2",
        "--watch",
    ]);
    run.expect_ok();
    assert_entry(
        &run.stdout,
        "Unit",
        "Description",
        "Choose the IPv6 source address: nlsel -n blue deprecate --except ::2 --watch",
    );
    assert_eq!(
        run.stdout.lines().next(),
        Some("# Written by `nlsel -n blue unit deprecate --except ::2 --watch`.")
    );
}

/// A copy of the binary in `dir`, removed on drop.
struct BinCopy(PathBuf);

impl BinCopy {
    fn new(dir: &str) -> Option<BinCopy> {
        let sub = PathBuf::from(dir).join(format!(
            "nlsel-unit-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        if let Err(error) = std::fs::create_dir_all(&sub) {
            skip(&format!("cannot create {}: {error}", sub.display()));
            return None;
        }
        let copy = BinCopy(sub);
        // Copied by another process: a descriptor open for writing in this one would leak into
        // a child another test thread forks meanwhile, and exec would fail with ETXTBSY.
        let status = Command::new("cp")
            .arg(BIN)
            .arg(copy.bin())
            .status()
            .expect("cannot run cp");
        assert!(status.success(), "cannot copy the binary");
        Some(copy)
    }

    fn bin(&self) -> PathBuf {
        self.0.join("nlsel")
    }
}

impl Drop for BinCopy {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A binary under /tmp, /var/tmp or /dev/shm would be hidden by PrivateTmp=yes or
/// PrivateDevices=yes (status=203/EXEC under a real systemd): the unit goes without that one
/// setting, and its header says why and what to do instead.
#[test]
fn unit_for_a_binary_in_a_temporary_directory_can_still_run_it() {
    for (dir, setting, kept) in [
        ("/tmp", "PrivateTmp", "PrivateDevices"),
        ("/var/tmp", "PrivateTmp", "PrivateDevices"),
        ("/dev/shm", "PrivateDevices", "PrivateTmp"),
    ] {
        let Some(copy) = BinCopy::new(dir) else {
            return;
        };
        let run = Run::from_command(Command::new(copy.bin()).args([
            "unit",
            "deprecate",
            "--except",
            "::2",
        ]));
        run.expect_ok();
        let unit = &run.stdout;
        let bin = copy.bin().to_str().expect("UTF-8 path").to_owned();
        assert_eq!(
            values(unit, "Service", "ExecStart"),
            [format!("{bin} deprecate --except ::2")]
        );
        assert_entry(unit, "Service", setting, "no");
        assert_entry(unit, "Service", kept, "yes");
        let header = format!(
            "# {bin} is under {dir}/, which may be emptied at boot; the unit has {setting}=no"
        );
        assert!(
            unit.contains(&header),
            "header names the directory and the setting:\n{unit}"
        );
        assert!(unit.contains("# Copy nlsel to /usr/local/bin"), "{unit}");
        assert_verifies(unit);
    }
}

#[test]
fn unit_quotes_words_systemd_would_split_or_expand() {
    // Linux refuses such an interface name, but nlsel's parser takes any bytes, so the unit
    // must still carry the word intact: one quoted word, `%` and `$` doubled.
    let text = unit(&["deprecate", "--except", "::2", "--dev", "a b%$x"]);
    let exec = values(&text, "Service", "ExecStart");
    assert_eq!(exec.len(), 1, "{text}");
    assert!(
        exec[0].ends_with(" deprecate --except ::2 --dev \"a b%%$$x\""),
        "ExecStart: {}",
        exec[0]
    );
    assert_verifies(&text);
}

/// `nlsel unit ARGS...` must exit 2 with one `nlsel: ` line naming every needle, and print no
/// unit.
fn assert_usage_error(args: &[&str], needles: &[&str]) {
    let mut full = vec!["unit"];
    full.extend(args);
    let run = nlsel(&full);
    run.expect_code(2).expect_one_error_line(needles);
    assert_eq!(run.stdout, "", "`{}` printed something", run.command);
}

#[test]
fn unit_deprecate_without_except_is_a_usage_error() {
    assert_usage_error(&["deprecate"], &["--except"]);
}

#[test]
fn unit_deprecate_with_ipv4_pattern_is_a_usage_error() {
    assert_usage_error(
        &["deprecate", "--except", "10.0.0.1"],
        &[&quoted("10.0.0.1")],
    );
}

#[test]
fn unit_with_check_or_dry_run_is_a_usage_error() {
    assert_usage_error(&["deprecate", "--except", "::2", "--check"], &[]);
    assert_usage_error(&["deprecate", "--except", "::2", "--dry-run"], &[]);
    assert_usage_error(&["deprecate", "--except", "::2", "--check", "--watch"], &[]);
}

#[test]
fn unit_of_unknown_command_is_a_usage_error() {
    assert_usage_error(&["frobnicate"], &[&quoted("frobnicate")]);
    assert_usage_error(&[], &[]);
}

#[test]
fn unit_prefer_with_bad_address_is_a_usage_error() {
    assert_usage_error(&["prefer", "notanaddr"], &[&quoted("notanaddr")]);
    assert_usage_error(&["prefer"], &[]);
}

#[test]
fn unit_with_unknown_option_is_a_usage_error() {
    assert_usage_error(&["deprecate", "--except", "::2", "--bogus"], &["--bogus"]);
}

nstest!(
    /// A unit with `-n NETNS` may still fail to enter it: without CAP_SYS_ADMIN, or under a seccomp
    /// or RestrictNamespaces= filter (which tests/systemd/run.sh checks under a real systemd). The
    /// message names both causes. This one test needs root, to make the namespace.
    fn entering_a_namespace_without_permission_names_both_causes(ns: Netns) {
        let path = format!("/run/netns/{}", ns.name());
        let run = ns.nlsel_unprivileged(&["-n", &path, "show"]);
        run.expect_code(1);
        run.expect_one_error_line(&[
            "network namespace",
            &path,
            "CAP_SYS_ADMIN",
            "seccomp",
            "RestrictNamespaces=",
        ]);
    }
);
