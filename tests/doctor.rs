//! `nlsel doctor` against the real kernel in a private network namespace, over file trees
//! that a private mount namespace puts where doctor reads (`/etc`, `/run`, and the unit
//! directories under `/usr/lib`), so the binary runs exactly as shipped, with no test switch.
//! The oracle for the source is `ip -6 route get`; the codes come from the setup.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::*;
use serde_json::Value;

/// A file tree that stands in for the host's files, removed on drop; doctor runs as nobody
/// when the flag is set.
struct Tree(PathBuf, std::cell::Cell<bool>);

impl Tree {
    fn new(ns: &Netns) -> Tree {
        let dir = std::env::temp_dir().join(format!("{}-doctor-tree", ns.name()));
        let _ = std::fs::remove_dir_all(&dir);
        for sub in ["etc", "run/netns", "usr/lib/systemd/system"] {
            std::fs::create_dir_all(dir.join(sub)).unwrap();
        }
        Tree(dir, std::cell::Cell::new(false))
    }

    fn write(&self, path: &str, content: &str) {
        let path = self.0.join(path.trim_start_matches('/'));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }

    fn read(&self, path: &str) -> String {
        std::fs::read_to_string(self.0.join(path.trim_start_matches('/'))).unwrap()
    }

    /// `systemctl enable NAME`, as the link it makes.
    fn enable(&self, name: &str) {
        let dir = self.0.join("etc/systemd/system/multi-user.target.wants");
        std::fs::create_dir_all(&dir).unwrap();
        let _ = std::fs::remove_file(dir.join(name));
        std::os::unix::fs::symlink(format!("/etc/systemd/system/{name}"), dir.join(name)).unwrap();
    }

    /// `nlsel [-j] doctor ARGS` inside NS (entered with nsenter: a unit without `-n` is for
    /// the namespace nlsel runs in) with this tree over /etc, /run and the unit directory.
    fn doctor(&self, ns: &Netns, json: bool, args: &[&str]) -> Run {
        let script = r#"set -e
tree=$1; shift
mount --rbind /run/netns "$tree/run/netns"
mount --bind "$tree/usr/lib/systemd/system" /usr/lib/systemd/system
if [ ! -L /lib ]; then mount --bind "$tree/usr/lib/systemd/system" /lib/systemd/system; fi
mount --rbind "$tree/run" /run
mount --bind "$tree/etc" /etc
exec "$@""#;
        let mut cmd = Command::new("unshare");
        cmd.args([
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-c",
            script,
            "sh",
        ])
        .arg(&self.0)
        .arg("nsenter")
        .arg(format!("--net=/run/netns/{}", ns.name()));
        if self.1.get() {
            cmd.args([
                "setpriv",
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
            ]);
        }
        cmd.arg(BIN);
        if json {
            cmd.arg("-j");
        }
        cmd.arg("doctor").args(args);
        Run::from_command(&mut cmd)
    }

    /// The findings of `-j doctor`, checked against the documented keys.
    fn findings(&self, ns: &Netns, args: &[&str]) -> (i32, Vec<Value>) {
        let run = self.doctor(ns, true, args);
        assert!(
            run.code == 0 || run.code == 1,
            "{}: {}",
            run.command,
            run.stderr
        );
        let json = run.json();
        let object = json.as_object().expect("an object");
        assert_eq!(object.keys().collect::<Vec<_>>(), ["findings"], "{json}");
        let findings = json["findings"].as_array().expect("an array").clone();
        for finding in &findings {
            // serde_json sorts the keys; their order in the text is checked below.
            let keys: Vec<&String> = finding.as_object().unwrap().keys().collect();
            assert_eq!(
                keys,
                ["code", "fix", "ifname", "level", "message"],
                "{finding}"
            );
            assert!(["problem", "warning", "ok"].contains(&finding["level"].as_str().unwrap()));
            assert!(finding["code"].is_string() && finding["message"].is_string());
            assert!(
                !finding["message"].as_str().unwrap().contains('\n'),
                "{finding}"
            );
            assert!(finding["ifname"].is_string() || finding["ifname"].is_null());
            assert!(finding["fix"].is_string() || finding["fix"].is_null());
        }
        assert_eq!(
            run.stdout.matches("{\"level\":").count(),
            findings.len(),
            "each finding starts with its level: {}",
            run.stdout
        );
        let problem = findings.iter().any(|f| f["level"] == "problem");
        assert_eq!(
            run.code,
            i32::from(problem),
            "exit status and findings: {findings:#?}"
        );
        (run.code, findings)
    }
}

impl Drop for Tree {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// (level, code) of each finding.
fn codes(findings: &[Value]) -> Vec<(String, String)> {
    findings
        .iter()
        .map(|f| {
            (
                f["level"].as_str().unwrap().to_owned(),
                f["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn pair(level: &str, code: &str) -> (String, String) {
    (level.to_owned(), code.to_owned())
}

/// The unit `nlsel unit ARGS` prints now.
fn current_unit(args: &[&str]) -> String {
    let out = Command::new(BIN).arg("unit").args(args).output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

/// The unit main c620eee printed for `deprecate --except ::2` (`git show
/// c620eee:src/cmd/unit.rs`), its ordering, type and install sections verbatim.
const C620EEE_UNIT: &str = "\
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
NoNewPrivileges=yes

[Install]
WantedBy=multi-user.target
";

/// The seed recipe's unit (/work/shared/seeds/000_551469b0a30cf408.txt): it runs a script.
const SEED_UNIT: &str = "\
[Unit]
Description=Change preferred_lft
Documentation=https://yoursunny.com/t/2020/preferred-lft-vz7/
After=network-online.target
Wants=network-online.target

[Service]
Environment=\"IFACE=venet0\"
Type=oneshot
ExecStart=/usr/local/bin/network-preferredlft.sh

[Install]
WantedBy=multi-user.target
";

/// The seed host's /etc/network/interfaces as SolusVM generates it.
const SEED_INTERFACES: &str = "\
# This configuration file is auto-generated.
# WARNING: Do not edit this file, otherwise your changes will be lost.
# Please edit template /etc/network/interfaces.template instead.
auto lo
iface lo inet loopback
auto venet0
iface venet0 inet6 static
    address ::2
    netmask 128
    up ip -6 r a default dev venet0
    up ip addr add 2001:db8:f1c1:8454:0964::2/80 dev venet0
    up ip addr add 2001:db8:f1c1:8454:0964::beef/80 dev venet0
";

const UNIT: &str = "/etc/systemd/system/nlsel.service";

fn seed_host() -> Option<(Netns, Tree)> {
    let ns = Netns::new_or_skip()?;
    ns.seed();
    let tree = Tree::new(&ns);
    tree.write(
        "/usr/lib/systemd/system/networking.service",
        "[Unit]\nDescription=ifupdown\n",
    );
    tree.write("/etc/network/interfaces", SEED_INTERFACES);
    Some((ns, tree))
}

/// The `source` finding's message names the source `ip -6 route get` gives.
fn assert_source(ns: &Netns, findings: &[Value], level: &str) {
    let source = ns.route_get_src("2000::1");
    let found = findings
        .iter()
        .find(|f| f["code"] == "source")
        .expect("a source finding");
    assert_eq!(found["level"], level, "{found}");
    assert_eq!(found["ifname"], SEED_IF, "{found}");
    let message = found["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("source is {source},"))
            || message.contains(&format!("source is {source} ")),
        "{message} vs {source}"
    );
}

#[test]
fn the_seed_host_with_the_seeds_unit_has_no_unit() {
    let Some((ns, tree)) = seed_host() else {
        return;
    };
    tree.write(
        "/etc/systemd/system/network-preferredlft.service",
        SEED_UNIT,
    );
    tree.enable("network-preferredlft.service");
    let (code, findings) = tree.findings(&ns, &[]);
    assert_eq!(code, 1);
    assert_eq!(
        codes(&findings),
        [pair("problem", "no-unit"), pair("ok", "source")]
    );
    // Without a policy the source is reported, not judged.
    assert_source(&ns, &findings, "ok");
    // The text output: the same findings, the fix below, the tally last.
    let run = tree.doctor(&ns, false, &[]);
    run.expect_code(1);
    assert!(
        run.stdout.starts_with("problem no-unit: "),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("\n  fix: nlsel unit deprecate --except"),
        "{}",
        run.stdout
    );
    assert_eq!(run.stdout.lines().last(), Some("1 problem(s)"));
}

#[test]
fn the_seed_host_with_c620eees_unit_is_too_late_and_undone_by_ifupdown() {
    let Some((ns, tree)) = seed_host() else {
        return;
    };
    tree.write(UNIT, C620EEE_UNIT);
    tree.enable("nlsel.service");
    ns.nlsel(&["deprecate", "--except", "::2"]).expect_ok();
    let (code, findings) = tree.findings(&ns, &[]);
    assert_eq!(code, 1);
    assert_eq!(
        codes(&findings),
        [
            pair("problem", "unit-too-late"),
            pair("problem", "undone-by-ifupdown"),
            pair("ok", "source")
        ],
        "{findings:#?}"
    );
    // The generated file's fix is the unit, not an edit that the next boot loses.
    let ifupdown = &findings[1];
    assert_eq!(ifupdown["ifname"], SEED_IF);
    assert!(
        ifupdown["message"].as_str().unwrap().contains("generated"),
        "{ifupdown}"
    );
    let fix = ifupdown["fix"].as_str().unwrap();
    assert!(
        fix.starts_with(&format!("nlsel unit deprecate --except '::2' > {UNIT}\n")),
        "{fix}"
    );
    assert_source(&ns, &findings, "ok");
}

#[test]
fn the_seed_host_with_this_units_unit_is_fine_once_applied() {
    let Some((ns, tree)) = seed_host() else {
        return;
    };
    tree.write(UNIT, &current_unit(&["deprecate", "--except", "::2"]));
    // Disabled, and not run yet: the kernel prefers ::beef, which the policy deprecates.
    let (code, findings) = tree.findings(&ns, &[]);
    assert_eq!(code, 1);
    assert_eq!(
        codes(&findings),
        [
            pair("problem", "unit-disabled"),
            pair("problem", "not-applied"),
            pair("problem", "source")
        ],
        "{findings:#?}"
    );
    assert_eq!(ns.route_get_src("2000::1"), SEED_BEEF);
    assert_source(&ns, &findings, "problem");
    tree.enable("nlsel.service");
    ns.nlsel(&["deprecate", "--except", "::2"]).expect_ok();
    let (code, findings) = tree.findings(&ns, &[]);
    assert_eq!(code, 0, "{findings:#?}");
    assert_eq!(codes(&findings), [pair("ok", "source")]);
    assert_source(&ns, &findings, "ok");
    // --probe names the destination instead of the default route's.
    let (_, findings) = tree.findings(&ns, &["--probe", SEED_DEST]);
    assert_eq!(codes(&findings), [pair("ok", "source")]);
    assert!(
        findings[0]["message"]
            .as_str()
            .unwrap()
            .starts_with(SEED_DEST)
    );
}

nstest!(
    fn networkd_addresses_are_fixed_by_the_printed_lines(ns: Netns) {
        ns.seed();
        let tree = Tree::new(&ns);
        let network = "/etc/systemd/network/10-venet0.network";
        tree.write(
            network,
            &format!(
                "[Match]\nName=venet0\n\n[Network]\nAddress={SEED_2}/80\nAddress={SEED_BEEF}/80\n"
            ),
        );
        let ifindex = ns.ifindex(SEED_IF);
        tree.write(
            &format!("/run/systemd/netif/links/{ifindex}"),
            &format!("# This is private data. Do not parse.\nADMIN_STATE=configured\nNETWORK_FILE={network}\n"),
        );
        tree.write(UNIT, &current_unit(&["deprecate", "--except", "::2"]));
        tree.enable("nlsel.service");
        ns.nlsel(&["deprecate", "--except", "::2"]).expect_ok();
        let (code, findings) = tree.findings(&ns, &[]);
        assert_eq!(code, 1);
        assert_eq!(
            codes(&findings),
            [pair("problem", "undone-by-networkd"), pair("ok", "source")],
            "{findings:#?}"
        );
        // Apply the fix literally: what follows "in FILE, write line N as:" up to the command
        // replaces line N (line 6: ::beef's Address=).
        let fix = findings[0]["fix"].as_str().unwrap();
        let mut lines = fix.lines();
        assert_eq!(
            lines.next(),
            Some(&*format!("in {network}, write line 6 as:"))
        );
        let snippet: Vec<&str> = lines
            .take_while(|l| !l.starts_with("networkctl "))
            .collect();
        assert_eq!(
            snippet,
            [
                "[Address]",
                &*format!("Address={SEED_BEEF}/80"),
                "PreferredLifetime=0",
                "[Network]"
            ]
        );
        let text = tree.read(network);
        let mut fixed: Vec<&str> = text.lines().collect();
        fixed.splice(5..6, snippet);
        tree.write(network, &fixed.join("\n"));
        // One definition of ::beef, as networkd wants it.
        assert_eq!(tree.read(network).matches(SEED_BEEF).count(), 1);
        let (code, findings) = tree.findings(&ns, &[]);
        assert_eq!(code, 0, "{findings:#?}");
        // The --watch unit also answers networkd's resets.
        tree.write(network, &format!("[Network]\nAddress={SEED_BEEF}/80\n"));
        tree.write(
            UNIT,
            &current_unit(&["deprecate", "--except", "::2", "--watch"]),
        );
        let (code, findings) = tree.findings(&ns, &[]);
        assert_eq!(code, 0, "{findings:#?}");
    }
);

nstest!(
    fn privacy_addresses_beside_a_kept_slaac_address(ns: Netns) {
        ns.veth("eth0", "eth0p");
        let sysctl = |value: &str| {
            ns.exec(&[
                "sh",
                "-c",
                &format!("echo {value} > /proc/sys/net/ipv6/conf/eth0/use_tempaddr"),
            ])
        };
        assert!(sysctl("2").status.success());
        // As an RA would: the kernel makes a temporary address from it at once.
        ns.add_addr("eth0", "2001:db8:1::2/64 mngtmpaddr nodad");
        ns.add_addr("eth0", "2001:db8:1::beef/64 nodad");
        let tree = Tree::new(&ns);
        tree.write(
            UNIT,
            &current_unit(&["deprecate", "--except", "2001:db8:1::2"]),
        );
        tree.enable("nlsel.service");
        ns.nlsel(&["deprecate", "--except", "2001:db8:1::2"])
            .expect_ok();
        let (_, findings) = tree.findings(&ns, &["--dev", "eth0"]);
        assert_eq!(
            codes(&findings),
            [pair("problem", "privacy-addresses")],
            "{findings:#?}"
        );
        assert_eq!(findings[0]["ifname"], "eth0");
        assert!(
            findings[0]["fix"]
                .as_str()
                .unwrap()
                .starts_with("sysctl -w net.ipv6.conf.eth0.use_tempaddr=0\n")
        );
        assert!(sysctl("1").status.success());
        let (code, findings) = tree.findings(&ns, &["--dev", "eth0"]);
        assert_eq!(
            (code, codes(&findings)),
            (0, vec![pair("warning", "privacy-addresses")])
        );
        assert!(sysctl("0").status.success());
        let (code, findings) = tree.findings(&ns, &["--dev", "eth0"]);
        assert_eq!((code, findings.len()), (0, 0), "{findings:#?}");
    }
);

#[test]
fn unreadable_and_malformed_files_are_warnings_naming_them() {
    let Some((ns, tree)) = seed_host() else {
        return;
    };
    tree.write(UNIT, &C620EEE_UNIT.replace("[Install]", "[Install\n"));
    std::fs::write(
        tree.0.join("etc/systemd/system/bytes.service"),
        b"nlsel \xff\n",
    )
    .unwrap();
    tree.write("/etc/network/interfaces", "address ::1\n");
    ns.nlsel(&["deprecate", "--except", "::2"]).expect_ok();
    let (code, findings) = tree.findings(&ns, &[]);
    let warnings: Vec<&str> = findings
        .iter()
        .filter(|f| f["level"] == "warning")
        .map(|f| f["message"].as_str().unwrap())
        .collect();
    assert_eq!(warnings.len(), 2, "{findings:#?}");
    assert!(
        warnings[0].starts_with("/etc/systemd/system/bytes.service: not UTF-8"),
        "{warnings:?}"
    );
    assert!(
        warnings[1].starts_with(&format!("{UNIT}: line 14: expected")),
        "{warnings:?}"
    );
    // No unit could be read, so none is judged ok: no-unit, and the exit says so.
    assert_eq!(code, 1);
    assert!(codes(&findings).contains(&pair("problem", "no-unit")));
    // With a readable unit, the malformed interfaces file is the warning.
    tree.write(
        UNIT,
        &current_unit(&["deprecate", "--except", "::2"]).replace("PartOf=networking.service\n", ""),
    );
    tree.enable("nlsel.service");
    let (code, findings) = tree.findings(&ns, &[]);
    assert_eq!(code, 0, "{findings:#?}");
    assert!(
        findings.iter().any(|f| f["level"] == "warning"
            && f["message"]
                .as_str()
                .unwrap()
                .starts_with("/etc/network/interfaces: line 1")),
        "{findings:#?}"
    );
    // As nobody: a directory it may not read is a warning naming it, and the rest is read.
    let mode = |mode| {
        use std::os::unix::fs::PermissionsExt;
        let path = tree.0.join("etc/network");
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    };
    mode(0o700);
    tree.1.set(true);
    let (_, findings) = tree.findings(&ns, &[]);
    tree.1.set(false);
    mode(0o755);
    assert!(
        findings.iter().any(|f| f["level"] == "warning"
            && f["message"]
                .as_str()
                .unwrap()
                .starts_with("/etc/network/interfaces: Permission denied")),
        "{findings:#?}"
    );
    assert!(
        codes(&findings).contains(&pair("ok", "source")),
        "{findings:#?}"
    );
}

nstest!(
    fn usage_errors_exit_2_and_unknown_interfaces_1(ns: Netns) {
        ns.nlsel(&["doctor", "--bogus"])
            .expect_code(2)
            .expect_one_error_line(&["\"--bogus\""]);
        ns.nlsel(&["doctor", "--probe", "zzz"]).expect_code(2);
        ns.nlsel(&["doctor", "--dev", "nope0"])
            .expect_code(1)
            .expect_one_error_line(&["nope0"]);
    }
);
