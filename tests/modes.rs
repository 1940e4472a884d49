//! Output modes of `nlsel deprecate`: `--dry-run`, `--check`, `-q` and `-j`.

mod common;

use std::collections::BTreeSet;

use common::{FOREVER, Netns, Python3, SEED_2, SEED_BEEF, SEED_IF, SEED_LOW2, nstest};
use serde_json::Value;

const TIMED: &str = "2001:db8:5::1";
const METRIC: &str = "2001:db8:7::1";

/// The seed layout plus a timed nodad/noprefixroute address and a metric 300 address, all
/// outside `--except ::2`.
fn scenario(ns: &Netns) {
    ns.seed();
    ns.add_addr(
        SEED_IF,
        &format!("{TIMED}/64 valid_lft 3600 preferred_lft 1800 nodad noprefixroute"),
    );
    ns.add_addr(SEED_IF, &format!("{METRIC}/64 metric 300"));
}

/// The addresses `deprecate --except ::2` must touch in [`scenario`].
fn expected_victims(ns: &Netns) -> BTreeSet<String> {
    [SEED_BEEF, TIMED, METRIC]
        .iter()
        .map(|l| ns.addr(l).cidr())
        .collect()
}

fn words(line: &str) -> Vec<&str> {
    line.split_whitespace().collect()
}

/// The word after `key` in `line`.
fn word_after<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let w = words(line);
    w.windows(2).find(|p| p[0] == key).map(|p| p[1])
}

nstest!(
    fn dry_run_prints_equivalent_ip_commands_and_changes_nothing(ns: Netns) {
        scenario(&ns);
        let before = ns.snapshot();

        let run = ns.nlsel(&["deprecate", "--except", SEED_LOW2, "--dry-run"]);
        run.expect_ok();
        ns.assert_unchanged(&before, &run.command);

        let lines = run.lines();
        let mut seen = BTreeSet::new();
        for line in &lines {
            let w = words(line);
            assert!(
                w.len() >= 9 && w[..3] == ["ip", "addr", "change"] && w[4] == "dev",
                "not an `ip addr change` command: {line}"
            );
            assert_eq!(w[5], SEED_IF, "{line}");
            assert_eq!(word_after(line, "preferred_lft"), Some("0"), "{line}");
            seen.insert(w[3].to_owned());
        }
        assert_eq!(
            seen,
            expected_victims(&ns),
            "dry-run lines:\n{}",
            run.stdout
        );

        let line_for = |local: &str| {
            let cidr = ns.addr(local).cidr();
            *lines
                .iter()
                .find(|l| words(l)[3] == cidr)
                .unwrap_or_else(|| panic!("no dry-run line for {cidr}"))
        };
        let timed = line_for(TIMED);
        let valid: u64 = word_after(timed, "valid_lft")
            .unwrap_or_else(|| panic!("no valid_lft in {timed}"))
            .parse()
            .unwrap_or_else(|_| panic!("valid_lft of a 3600 s address must be a number: {timed}"));
        assert!(valid <= 3600 && valid > 3000, "{timed}");
        for flag in ["nodad", "noprefixroute"] {
            assert!(words(timed).contains(&flag), "{flag} missing: {timed}");
        }
        assert_eq!(
            word_after(line_for(SEED_BEEF), "valid_lft"),
            Some("forever")
        );
        assert_eq!(word_after(line_for(METRIC), "metric"), Some("300"));

        // Feeding the printed commands to iproute2 must do what nlsel would have done.
        for line in &lines {
            ns.ip(&words(line)[1..]);
        }
        for local in [SEED_BEEF, TIMED, METRIC] {
            assert!(ns.addr(local).is_deprecated(), "{local} after replay");
        }
        let t = ns.addr(TIMED);
        assert!(t.valid <= 3600 && t.has("nodad") && t.has("noprefixroute"));
        assert!(
            !ns.routes6()
                .iter()
                .any(|r| r.starts_with("2001:db8:5::/64"))
        );
        assert!(!ns.addr(SEED_2).is_deprecated());
        ns.nlsel(&["deprecate", "--except", SEED_LOW2, "--check"])
            .expect_code(0);
    }
);

nstest!(
    fn check_reports_work_then_nothing_after_apply(ns: Netns) {
        scenario(&ns);
        let before = ns.snapshot();

        let check = ns.nlsel(&["deprecate", "--except", SEED_LOW2, "--check"]);
        check.expect_code(3);
        ns.assert_unchanged(&before, &check.command);
        let expected: BTreeSet<String> = expected_victims(&ns)
            .iter()
            .map(|cidr| format!("would deprecate {cidr} dev {SEED_IF}"))
            .collect();
        assert_eq!(check.line_set(), expected);

        ns.nlsel(&["deprecate", "--except", SEED_LOW2]).expect_ok();
        let again = ns.nlsel(&["deprecate", "--except", SEED_LOW2, "--check"]);
        again.expect_code(0);
        assert_eq!(again.stdout, "");
    }
);

nstest!(
    fn quiet_prints_nothing_but_still_applies(ns: Netns) {
        scenario(&ns);
        let run = ns.nlsel(&["-q", "deprecate", "--except", SEED_LOW2]);
        run.expect_ok();
        assert_eq!(run.stdout, "", "-q must print nothing on stdout");
        for local in [SEED_BEEF, TIMED, METRIC] {
            assert!(ns.addr(local).is_deprecated(), "{local}");
        }
    }
);

nstest!(
    fn quiet_dry_run_prints_nothing(ns: Netns) {
        scenario(&ns);
        let before = ns.snapshot();
        let run = ns.nlsel(&["-q", "deprecate", "--except", SEED_LOW2, "--dry-run"]);
        run.expect_ok();
        assert_eq!(run.stdout, "");
        ns.assert_unchanged(&before, &run.command);
    }
);

fn field<'a>(obj: &'a Value, key: &str) -> &'a Value {
    obj.get(key)
        .unwrap_or_else(|| panic!("action lacks {key:?}: {obj}"))
}

/// Checks the `deprecate` actions in `actions` against iproute2's view before the run.
fn check_deprecate_actions(ns: &Netns, actions: &[Value], applied: bool, before: &[common::Addr]) {
    let ifindex = ns.ifindex(SEED_IF);
    let mut seen = BTreeSet::new();
    for a in actions.iter().filter(|a| a["action"] == "deprecate") {
        assert_eq!(field(a, "ifindex").as_u64(), Some(ifindex), "{a}");
        assert_eq!(field(a, "ifname"), SEED_IF, "{a}");
        assert_eq!(field(a, "preferred_life_time").as_u64(), Some(0), "{a}");
        assert_eq!(field(a, "applied").as_bool(), Some(applied), "{a}");
        let local = field(a, "local").as_str().expect("local is a string");
        let prefixlen = field(a, "prefixlen").as_u64().expect("prefixlen");
        let b = before
            .iter()
            .find(|b| b.local == local)
            .unwrap_or_else(|| panic!("action for unknown address: {a}"));
        assert_eq!(prefixlen, b.prefixlen, "{a}");
        let valid = field(a, "valid_life_time").as_u64().expect("valid");
        if b.valid == FOREVER {
            assert_eq!(valid, FOREVER, "{a}");
        } else {
            assert!(valid <= b.valid && valid > 0, "{a} (before: {})", b.valid);
        }
        seen.insert(format!("{local}/{prefixlen}"));
    }
    assert_eq!(seen, expected_victims(ns));
}

nstest!(
    fn json_lists_actions_with_documented_fields(ns: Netns) {
        scenario(&ns);
        ns.veth("eth1", "eth1p");
        ns.add_addr("eth1", "2001:db8:aaaa::5/64");
        let before = ns.addrs();

        let run = ns.nlsel(&["-j", "deprecate", "--except", SEED_LOW2]);
        run.expect_ok();
        let json = run.json();
        let actions = json.as_array().expect("-j prints one JSON array");
        check_deprecate_actions(&ns, actions, true, &before);

        let leaves: Vec<_> = actions.iter().filter(|a| a["action"] == "leave").collect();
        assert_eq!(leaves.len(), 1, "{json}");
        let leave = leaves[0];
        assert_eq!(field(leave, "ifname"), "eth1");
        assert_eq!(field(leave, "ifindex").as_u64(), Some(ns.ifindex("eth1")));
        assert!(field(leave, "reason").is_string(), "{leave}");
        assert!(
            actions
                .iter()
                .all(|a| a["action"] == "deprecate" || a["action"] == "leave"),
            "{json}"
        );
        for local in [SEED_BEEF, TIMED, METRIC] {
            assert!(ns.addr(local).is_deprecated(), "{local}");
        }
    }
);

nstest!(
    fn json_dry_run_and_check_mark_actions_not_applied(ns: Netns) {
        scenario(&ns);
        let before = ns.addrs();
        let snap = ns.snapshot();

        let dry = ns.nlsel(&["-j", "deprecate", "--except", SEED_LOW2, "--dry-run"]);
        dry.expect_ok();
        let dry_json = dry.json();
        check_deprecate_actions(&ns, dry_json.as_array().expect("array"), false, &before);

        let check = ns.nlsel(&["-j", "deprecate", "--except", SEED_LOW2, "--check"]);
        check.expect_code(3);
        let check_json = check.json();
        check_deprecate_actions(&ns, check_json.as_array().expect("array"), false, &before);
        ns.assert_unchanged(&snap, "-j --dry-run / --check");
    }
);

const RA_SENDER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/ra_sender.py");
/// The SLAAC interface's MAC, the same in every namespace, so its addresses are too.
const SLAAC_MAC: &str = "02:00:00:00:5a:ac";
const SLAAC_PREFIX: &str = "2001:db8:9::";

/// [`scenario`] plus every other kind of address `deprecate` changes: an IPv4 address (left
/// alone), and a SLAAC address (protocol kernel_ra, from a Router Advertisement that `router`
/// sends) on `slaac0`; `router` must live as long as `ns`.
fn every_kind(_py: &Python3, ns: &Netns, router: &Netns) {
    scenario(ns);
    ns.add_addr(SEED_IF, "192.0.2.7/24");
    ns.ip(&[
        "link", "add", "slaac0", "address", SLAAC_MAC, "type", "veth", "peer", "name", "ra0",
    ]);
    ns.ip(&["link", "set", "ra0", "netns", router.name()]);
    let sysctl = ns.exec(&[
        "sysctl",
        "-qw",
        "net.ipv6.conf.slaac0.accept_ra=2",
        "net.ipv6.conf.slaac0.autoconf=1",
    ]);
    assert!(sysctl.status.success(), "sysctl: {sysctl:?}");
    ns.ip(&["link", "set", "slaac0", "up"]);
    ns.add_addr("slaac0", "2001:db8:9::2/64 nodad");
    // An interface that no --except matches: left alone, said in a comment.
    ns.veth("lone0", "lone0p");
    ns.add_addr("lone0", "2001:db8:a::1/64 nodad");
    router.ip(&["link", "set", "ra0", "up"]);
    router.settle();
    ns.settle();
    let out = router.exec(&["python3", RA_SENDER, "ra0", SLAAC_PREFIX, "7200", "3600"]);
    assert!(out.status.success(), "ra_sender.py: {out:?}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !ns
        .addrs()
        .iter()
        .any(|a| a.local.starts_with("2001:db8:9:") && a.is_global_v6())
    {
        assert!(
            std::time::Instant::now() < deadline,
            "no SLAAC address within 10 s: {}",
            ns.ip(&["addr", "show"])
        );
        std::thread::yield_now();
    }
    ns.settle();
}

/// Global and IPv4 addresses: what both namespaces of the test below have alike (link-local
/// addresses follow each veth's random MAC).
fn comparable(ns: &Netns) -> common::Snapshot {
    let addrs: Vec<common::Addr> = ns
        .addrs()
        .into_iter()
        .filter(|a| a.is_global_v6() || a.family == "inet")
        .collect();
    common::Snapshot::of(&addrs)
}

nstest!(
    /// The `--dry-run` lines, run as printed by `bash -e` with this host's `ip` (Debian 12's
    /// iproute2 6.1 refused `proto N` in them), leave every kind of address as nlsel's own run
    /// does; the SLAAC address's protocol, which `ip` before 6.2 cannot give, follows as a comment.
    fn dry_run_lines_run_under_bash_and_leave_what_nlsel_leaves(
        py: Python3,
        by_ip: Netns,
        by_nlsel: Netns,
        router_ip: Netns,
        router_nlsel: Netns,
    ) {
        every_kind(&py, &by_ip, &router_ip);
        every_kind(&py, &by_nlsel, &router_nlsel);
        assert_eq!(comparable(&by_ip).len(), comparable(&by_nlsel).len());

        let dry = by_ip.nlsel(&["deprecate", "--except", SEED_LOW2, "--dry-run"]);
        dry.expect_ok();
        let slaac_line = dry
            .lines()
            .into_iter()
            .find(|line| line.contains(" 2001:db8:9:"))
            .unwrap_or_else(|| panic!("no line for the SLAAC address:\n{}", dry.stdout))
            .to_owned();
        let (command, comment) = slaac_line
            .split_once(" # ")
            .unwrap_or_else(|| panic!("no protocol comment: {slaac_line}"));
        assert!(!command.contains("proto"), "{slaac_line}");
        assert_eq!(
            comment, "proto kernel_ra with iproute2 6.2+",
            "{slaac_line}"
        );

        assert!(
            dry.lines()
                .contains(&"# left alone: lone0 (no global IPv6 address matches --except)"),
            "{}",
            dry.stdout
        );
        let script = format!("set -e\n{}\n", dry.stdout);
        let out = by_ip.exec(&["bash", "-e", "-c", &script]);
        assert!(
            out.status.success(),
            "bash -e with this host's ip refused the dry-run lines:\n{}\n{}",
            dry.stdout,
            String::from_utf8_lossy(&out.stderr)
        );
        by_nlsel
            .nlsel(&["deprecate", "--except", SEED_LOW2])
            .expect_ok();
        comparable(&by_nlsel).assert_same(&comparable(&by_ip), "ip's replay of --dry-run vs nlsel");
        let slaac = by_ip
            .addrs()
            .into_iter()
            .find(|a| a.local.starts_with("2001:db8:9:") && a.is_global_v6())
            .expect("SLAAC address gone");
        assert!(slaac.is_deprecated(), "{slaac:?}");
    }
);
