//! `nlsel show`: text and JSON output compared with `ip addr show`, the seed recipe's jq
//! filter, awkward interface names, and a reader that goes away early.

mod common;

use std::io::Read as _;
use std::process::{Command, Stdio};

use common::{
    Addr, FOREVER, Netns, Run, SEED_IF, Snapshot, addrs_from_json, assert_rejected, have_program,
    nstest, parse_ip_json, quoted, skip,
};
use serde_json::Value;

/// The seed recipe's jq filter, verbatim.
const SEED_JQ_FILTER: &str = r#".[] | select(.addr_info) | .addr_info[] | select(.family=="inet6" and .scope=="global") | select(.local | (endswith(":1") or endswith(":2")) | not) | "ip addr change "+.local+"/"+(.prefixlen|tostring)+" dev "+env.IFACE+" preferred_lft 0""#;

/// The seed layout plus addresses exercising lifetimes, flags, IPv4 labels and secondaries.
fn rich_scenario(ns: &Netns) {
    ns.seed();
    ns.add_addr(
        SEED_IF,
        "2001:db8:5::1/64 valid_lft 3600 preferred_lft 1800 nodad noprefixroute",
    );
    ns.add_addr(SEED_IF, "2001:db8:6::abc/64 mngtmpaddr");
    ns.add_addr(SEED_IF, "2001:db8:7::7/64 home preferred_lft 0");
    ns.add_addr(SEED_IF, "2001:db8:8::1/64 metric 300");
    ns.add_addr(SEED_IF, "10.10.23.159/24 label venet0:0");
    ns.add_addr(SEED_IF, "10.10.23.160/24"); // secondary
    ns.veth("eth1", "eth1p");
    ns.add_addr("eth1", "2001:db8:aaaa::5/64");
}

/// What nlsel's `show -j` and iproute2 must agree on: everything except fields outside the
/// contract (iproute2's "metric", "broadcast", ...) and the exact value of a lifetime that
/// counts down.
fn comparable(addrs: &[Addr]) -> Snapshot {
    let stripped: Vec<Addr> = addrs
        .iter()
        .map(|a| Addr {
            metric: None,
            ..a.clone()
        })
        .collect();
    Snapshot::of(&stripped)
}

/// Checks `nlsel -j show ARGS` against `ip -j addr show ARGS`, both ways round.
fn assert_json_matches_ip(ns: &Netns, args: &[&str]) {
    let oracle_before = ns.addrs_in(args);
    let mut nl_args = vec!["-j", "show"];
    nl_args.extend(args);
    let run = ns.nlsel(&nl_args);
    run.expect_ok();
    let json = run.json();
    let ours = addrs_from_json(&json);
    let oracle_after = ns.addrs_in(args);
    // Lifetimes count down between the three dumps: ours must sit between the two oracles.
    comparable(&oracle_before).assert_same(&comparable(&ours), "nlsel -j show vs ip (before)");
    comparable(&ours).assert_same(&comparable(&oracle_after), "nlsel -j show vs ip (after)");
    // Interface entries: the same ifindex/ifname pairs.
    let links = |v: &Value| -> Vec<(u64, String)> {
        let mut links: Vec<(u64, String)> = v
            .as_array()
            .expect("array")
            .iter()
            .filter(|l| {
                l.get("addr_info")
                    .is_some_and(|a| a.as_array().is_some_and(|a| !a.is_empty()))
            })
            .map(|l| {
                (
                    l["ifindex"].as_u64().expect("ifindex"),
                    l["ifname"].as_str().expect("ifname").to_owned(),
                )
            })
            .collect();
        links.sort();
        links
    };
    let mut ip_args = vec!["-j", "addr", "show"];
    ip_args.extend(args);
    assert_eq!(links(&json), links(&parse_ip_json(&ns.ip(&ip_args))));
}

nstest!(
    fn json_show_matches_ip(ns: Netns) {
        rich_scenario(&ns);
        ns.nlsel(&["deprecate", "--except", "::2", "--dev", SEED_IF])
            .expect_ok();
        assert_json_matches_ip(&ns, &[]);
        assert_json_matches_ip(&ns, &["dev", SEED_IF]);
        assert_json_matches_ip(&ns, &["dev", "eth1"]);
    }
);

nstest!(
    fn json_show_has_documented_fields(ns: Netns) {
        rich_scenario(&ns);
        let run = ns.nlsel(&["-j", "show", "dev", SEED_IF]);
        run.expect_ok();
        let json = run.json();
        let links = json.as_array().expect("array");
        assert_eq!(links.len(), 1, "{json}");
        assert_eq!(links[0]["ifname"], SEED_IF);
        assert_eq!(links[0]["ifindex"].as_u64(), Some(ns.ifindex(SEED_IF)));
        for info in links[0]["addr_info"].as_array().expect("addr_info") {
            let obj = info.as_object().expect("object");
            for (k, v) in obj {
                if v.is_boolean() {
                    assert_eq!(v, &Value::Bool(true), "flags appear only when true: {info}");
                }
                if k == "label" {
                    assert_eq!(info["family"], "inet", "label is IPv4 only: {info}");
                }
            }
            for k in [
                "family",
                "local",
                "prefixlen",
                "scope",
                "valid_life_time",
                "preferred_life_time",
            ] {
                assert!(obj.contains_key(k), "{k} missing: {info}");
            }
        }
        let ours = addrs_from_json(&json);
        let timed = ours
            .iter()
            .find(|a| a.local == "2001:db8:5::1")
            .expect("timed address listed");
        assert!(timed.has("nodad") && timed.has("noprefixroute") && timed.has("dynamic"));
        assert!(timed.valid <= 3600 && timed.preferred <= 1800 && timed.preferred > 0);
        let secondary = ours
            .iter()
            .find(|a| a.local == "10.10.23.160")
            .expect("secondary listed");
        assert!(secondary.has("secondary"), "{secondary:?}");
        let labelled = ours
            .iter()
            .find(|a| a.local == "10.10.23.159")
            .expect("ipv4 listed");
        assert_eq!(labelled.label.as_deref(), Some("venet0:0"));
        assert!(
            ours.iter()
                .any(|a| a.scope == "link" && a.family == "inet6"),
            "link-local address listed"
        );
        let home = ours
            .iter()
            .find(|a| a.local == "2001:db8:7::7")
            .expect("home");
        assert!(home.has("home") && home.has("deprecated") && home.preferred == 0);
        assert_eq!(home.valid, FOREVER);
    }
);

nstest!(
    /// The seed recipe's jq filter gives the same commands over nlsel's JSON as over iproute2's.
    fn seed_jq_filter_gives_same_output(ns: Netns) {
        if !have_program("jq") {
            skip("jq is not installed");
            return;
        }
        rich_scenario(&ns);
        let jq = |input: &str| -> String {
            let mut child = Command::new("jq")
                .args(["-r", SEED_JQ_FILTER])
                .env("IFACE", SEED_IF)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn jq");
            let mut stdin = child.stdin.take().expect("piped");
            std::io::Write::write_all(&mut stdin, input.as_bytes()).expect("feed jq");
            drop(stdin);
            let out = child.wait_with_output().expect("jq");
            assert!(
                out.status.success(),
                "jq failed on:\n{input}\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8(out.stdout).expect("utf-8")
        };
        let from_ip = jq(&ns.ip(&["-j", "addr", "show", "dev", SEED_IF]));
        assert!(
            from_ip.contains("2001:db8:f1c1:8454:964::beef/80"),
            "setup: the filter should select ::beef:\n{from_ip}"
        );
        let run = ns.nlsel(&["-j", "show", "dev", SEED_IF]);
        run.expect_ok();
        assert_eq!(jq(&run.stdout), from_ip);

        let alias = ns.nlsel(&["-j", "addr", "show", "dev", SEED_IF]);
        alias.expect_ok();
        assert_eq!(jq(&alias.stdout), from_ip, "`addr show` alias");
    }
);

nstest!(
    fn text_show_lists_every_address(ns: Netns) {
        rich_scenario(&ns);
        ns.ip(&[
            "link", "property", "add", "dev", SEED_IF, "altname", "seed-alt",
        ]);
        let run = ns.nlsel(&["show", SEED_IF]);
        run.expect_ok();
        let lines = run.lines();
        // The link's lines (flags, mtu, state, link address, altname) are iproute2's, word for word;
        // eth1 also names its veth peer (`eth1@eth1p`).
        let link_lines = |text: &str| -> Vec<String> {
            let lines = text.lines().map(str::trim_end);
            let link = lines.take_while(|l| !l.trim_start().starts_with("inet"));
            link.map(str::to_string).collect()
        };
        for dev in [SEED_IF, "eth1"] {
            let ip_text = ns.ip(&["addr", "show", "dev", dev]);
            let nlsel_text = ns.nlsel(&["show", "dev", dev]).stdout;
            assert_eq!(link_lines(&nlsel_text), link_lines(&ip_text), "{dev}");
            assert!(link_lines(&ip_text).len() >= 2, "{ip_text}");
        }
        assert!(
            run.stdout.contains("    altname seed-alt\n"),
            "{}",
            run.stdout
        );
        let link_count = link_lines(&run.stdout).len();
        let oracle = ns.addrs_in(&["dev", SEED_IF]);
        assert_eq!(lines.len(), link_count + oracle.len(), "{}", run.stdout);
        for a in &oracle {
            let family = a.family.as_str();
            let line = lines
                .iter()
                .find(|l| {
                    let w: Vec<&str> = l.split_whitespace().collect();
                    w.len() > 2 && w[0] == family && w[1] == a.cidr()
                })
                .unwrap_or_else(|| panic!("no line for {} in:\n{}", a.cidr(), run.stdout));
            assert!(
                line.starts_with("    "),
                "address lines are indented: {line:?}"
            );
            let w: Vec<&str> = line.split_whitespace().collect();
            assert!(
                w.windows(2).any(|p| p == ["scope", a.scope.as_str()]),
                "scope {} missing: {line}",
                a.scope
            );
            for flag in &a.flags {
                assert!(w.contains(&flag.as_str()), "{flag} missing: {line}");
            }
            let lft = |key: &str| {
                w.windows(2)
                    .find(|p| p[0] == key)
                    .map(|p| p[1])
                    .unwrap_or_else(|| panic!("{key} missing: {line}"))
            };
            for (key, value) in [("valid_lft", a.valid), ("preferred_lft", a.preferred)] {
                let shown = lft(key);
                if value == FOREVER {
                    assert_eq!(shown, "forever", "{line}");
                } else {
                    let n: u64 = shown.parse().unwrap_or_else(|_| panic!("{line}"));
                    assert!(
                        n >= value && (value == 0) == (n == 0),
                        "{key} {n} vs ip {value}: {line}"
                    );
                }
            }
            // iproute2 reports the default label (the interface name) too; only a distinct
            // label must show up in text.
            if let Some(label) = a.label.as_ref().filter(|l| **l != a.ifname) {
                assert!(
                    w.windows(2).any(|p| p == ["label", label.as_str()]),
                    "label missing: {line}"
                );
            }
        }

        let alias = ns.nlsel(&["addr", "show", "dev", SEED_IF]);
        alias.expect_ok();
        assert_eq!(alias.lines()[0], lines[0]);
        assert_eq!(alias.lines().len(), lines.len());
    }
);

nstest!(
    fn show_missing_interface_fails(ns: Netns) {
        ns.seed();
        assert_rejected(&ns, &["show", "dev", "nosuch"], 1, &[&quoted("nosuch")]);
    }
);

nstest!(
    fn unprivileged_show_works(ns: Netns) {
        rich_scenario(&ns);
        let run = ns.nlsel_unprivileged(&["-j", "show"]);
        run.expect_ok();
        let ours = addrs_from_json(&run.json());
        let oracle = ns.addrs();
        let key = |a: &Addr| (a.ifname.clone(), a.cidr());
        let mut ours_keys: Vec<_> = ours.iter().map(key).collect();
        let mut oracle_keys: Vec<_> = oracle.iter().map(key).collect();
        ours_keys.sort();
        oracle_keys.sort();
        assert_eq!(ours_keys, oracle_keys);
    }
);

nstest!(
    /// `-n` with a '/' takes the value as a path to a namespace file.
    fn netns_given_as_path(ns: Netns) {
        ns.seed();
        let path = format!("/run/netns/{}", ns.name());
        let run = Run::from_command(Command::new(common::BIN).args(["-n", &path, "-j", "show"]));
        run.expect_ok();
        let mut ours: Vec<String> = addrs_from_json(&run.json())
            .iter()
            .map(Addr::cidr)
            .collect();
        let mut oracle: Vec<String> = ns.addrs().iter().map(Addr::cidr).collect();
        ours.sort();
        oracle.sort();
        assert_eq!(ours, oracle);
    }
);

nstest!(
    /// Names the kernel accepts but that need escaping in JSON.
    fn awkward_interface_names_give_valid_json(ns: Netns) {
        let quote_name = "a\"b\\c";
        let longest_name = "abcdefghijklmno"; // IFNAMSIZ - 1
        let control_name = "q\u{1}z\u{1f}";
        ns.veth(quote_name, "wq0p");
        ns.veth(control_name, "wq1p");
        ns.veth(longest_name, "wq2p");
        ns.add_addr(longest_name, "2001:db8:53::2/64");
        ns.add_addr(quote_name, "2001:db8:51::2/64");
        ns.add_addr(quote_name, "2001:db8:51::99/64");
        ns.add_addr(control_name, "2001:db8:52::99/64");

        let run = ns.nlsel(&["-j", "show"]);
        run.expect_ok();
        let ours = addrs_from_json(&run.json());
        for (name, local) in [
            (quote_name, "2001:db8:51::2"),
            (control_name, "2001:db8:52::99"),
            (longest_name, "2001:db8:53::2"),
        ] {
            let a = ours
                .iter()
                .find(|a| a.local == local)
                .unwrap_or_else(|| panic!("{local} missing"));
            assert_eq!(a.ifname, name);
            assert_eq!(a.ifindex, ns.ifindex(name));
        }

        let one = ns.nlsel(&["-j", "show", "dev", quote_name]);
        one.expect_ok();
        let one_json = one.json();
        assert_eq!(one_json.as_array().map(Vec::len), Some(1), "{one_json}");
        assert_eq!(one_json[0]["ifname"], quote_name);

        let dep = ns.nlsel(&["-j", "deprecate", "--except", "::2"]);
        dep.expect_ok();
        let actions = dep.json();
        let actions = actions.as_array().expect("array");
        let find = |action: &str, name: &str| {
            actions
                .iter()
                .find(|a| a["action"] == action && a["ifname"] == name)
                .unwrap_or_else(|| panic!("no {action} action for {name:?}: {actions:?}"))
        };
        assert_eq!(find("deprecate", quote_name)["local"], "2001:db8:51::99");
        assert_eq!(
            find("leave", control_name)["ifindex"].as_u64(),
            Some(ns.ifindex(control_name))
        );
        assert!(ns.addr("2001:db8:51::99").is_deprecated());
        assert!(!ns.addr("2001:db8:52::99").is_deprecated());
    }
);

/// Interfaces `m0`..`m3` with `per_iface` addresses `2001:db8:10K::N/64` each. Adding
/// addresses costs the kernel time quadratic in the count per interface, so they are spread.
const MANY_IFACES: [&str; 4] = ["m0", "m1", "m2", "m3"];

fn many_addresses(ns: &Netns, per_iface: u32) {
    let mut batch = String::new();
    for (k, dev) in MANY_IFACES.iter().enumerate() {
        ns.veth(dev, &format!("{dev}p"));
        for i in 1..=per_iface {
            batch.push_str(&format!("addr add 2001:db8:10{k}::{i:x}/64 dev {dev}\n"));
        }
    }
    ns.ip_batch(&batch);
}

nstest!(
    /// Dumps spanning many netlink messages: every address is listed, and `deprecate` handles
    /// all of them.
    fn many_addresses_are_all_handled(ns: Netns) {
        let per_iface = 600;
        many_addresses(&ns, per_iface);
        let run = ns.nlsel(&["-j", "show"]);
        run.expect_ok();
        let ours = addrs_from_json(&run.json());
        comparable(&ns.addrs()).assert_same(&comparable(&ours), "nlsel -j show, many addresses");

        ns.nlsel(&["-q", "deprecate", "--except", "::1"])
            .expect_ok();
        let globals: Vec<_> = ns.addrs().into_iter().filter(Addr::is_global_v6).collect();
        assert_eq!(
            globals.len(),
            MANY_IFACES.len() * per_iface as usize,
            "setup: every address present"
        );
        let mut still_preferred: Vec<String> = globals
            .iter()
            .filter(|a| !a.is_deprecated())
            .map(|a| a.local.clone())
            .collect();
        still_preferred.sort();
        let expected: Vec<String> = (0..MANY_IFACES.len())
            .map(|k| format!("2001:db8:10{k}::1"))
            .collect();
        assert_eq!(
            still_preferred, expected,
            "only the ::1 addresses stay preferred"
        );
    }
);

nstest!(
    /// `nlsel show | head -1`: the reader is gone before nlsel writes, so its writes fail with
    /// EPIPE (or it gets SIGPIPE). Neither is an error.
    fn closed_stdout_is_not_an_error(ns: Netns) {
        many_addresses(&ns, 800);
        for args in [&["show"][..], &["-j", "show"], &["addr", "show"]] {
            let full = ns.nlsel(args);
            full.expect_ok();
            assert!(
                full.stdout.len() > 4 * 65536,
                "setup: output of {args:?} ({} bytes) must exceed the pipe buffer",
                full.stdout.len()
            );

            let mut child = Command::new(common::BIN)
                .arg("-n")
                .arg(ns.name())
                .args(args)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn nlsel");
            drop(child.stdout.take());
            let mut stderr = String::new();
            child
                .stderr
                .take()
                .expect("piped")
                .read_to_string(&mut stderr)
                .expect("read stderr");
            let status = child.wait().expect("wait");
            assert_eq!(
                status.code(),
                Some(0),
                "nlsel {args:?} with closed stdout: {status:?}, stderr: {stderr}"
            );
            assert_eq!(stderr, "", "nlsel {args:?} with closed stdout");
        }
    }
);
