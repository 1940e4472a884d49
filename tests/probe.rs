//! `--probe` of `deprecate` and `prefer` against the kernel: what nlsel predicts under
//! `--dry-run` or `--check` must be the source the kernel uses once the change is really made,
//! as `ip -6 route get` and an application's UDP `connect()`+`getsockname()` see it.
//!
//! The random test builds a host namespace whose addresses come from Router Advertisements
//! sent by a router namespace (SLAAC, with temporary addresses under random `use_tempaddr`)
//! and from `ip addr add` (some `mngtmpaddr`, some deprecated, some `noprefixroute`), deletes
//! some prefix routes that a change will re-install, then runs random `deprecate` and `prefer`
//! commands: each predicted, applied, and compared. No Router Advertisement is sent after the
//! setup, so nothing but nlsel's change moves a lifetime. The seed comes from
//! NLSEL_PROBE_SEED or the clock and is printed; a failure names it.

mod common;

use common::{Namespaces, Netns, Python3, Rng, Run, nstest, seed};
use serde_json::Value;

/// At least this many predictions compared per run.
const CASES: usize = 100;

const RA_SENDER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/ra_sender.py");

fn sysctl(ns: &Netns, settings: &[String]) {
    let mut args = vec!["sysctl".to_string(), "-qw".to_string()];
    args.extend(settings.iter().cloned());
    let out = ns.exec(&args);
    assert!(
        out.status.success(),
        "sysctl {settings:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// What an application gets from an unbound UDP socket connected to each destination:
/// `getsockname()`'s address, or "error N".
const CONNECT_PY: &str = r#"
import socket, sys
for d in sys.argv[1:]:
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    try:
        s.connect((d, 9))
        print(s.getsockname()[0])
    except OSError as e:
        print('error', e.errno)
    s.close()
"#;

fn connect_sources(ns: &Netns, destinations: &[String]) -> Vec<String> {
    let mut args = vec![
        "python3".to_string(),
        "-c".to_string(),
        CONNECT_PY.to_string(),
    ];
    args.extend(destinations.iter().cloned());
    let out = ns.exec(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

/// The source `ip -6 route get DEST` reports, `None` without a route (or a source).
fn route_source(ns: &Netns, dest: &str) -> Option<String> {
    let out = ns.ip_try(&["-6", "route", "get", dest]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let words: Vec<&str> = text.split_whitespace().collect();
    words
        .windows(2)
        .find(|w| w[0] == "src")
        .map(|w| w[1].to_string())
}

/// The kernel's source for each destination, after both oracles agree on it.
fn oracle(
    ns: &Netns,
    destinations: &[String],
    context: &dyn Fn() -> String,
) -> Vec<Option<String>> {
    let connected = connect_sources(ns, destinations);
    destinations
        .iter()
        .zip(connected)
        .map(|(dest, connected)| {
            let routed = route_source(ns, dest);
            let connected = (!connected.starts_with("error")).then_some(connected);
            assert_eq!(
                routed,
                connected,
                "ip route get and connect() differ for {dest}\n{}",
                context()
            );
            routed
        })
        .collect()
}

/// The probes of a `-j` run: its last line.
fn probes(run: &Run) -> Vec<Value> {
    let line = run.lines().last().copied().unwrap_or_default();
    let json: Value = serde_json::from_str(line)
        .unwrap_or_else(|e| panic!("`{}`: probe JSON ({e}): {}", run.command, run.stdout));
    json["probes"].as_array().cloned().unwrap_or_default()
}

/// The host namespace `a` with interfaces e0 and e1, each a veth whose peer (r0, r1) is in the
/// router namespace `b`.
fn host_and_router(a: &Netns, b: &Netns) {
    for (host, router) in [("e0", "r0"), ("e1", "r1")] {
        a.ip(&["link", "add", host, "type", "veth", "peer", "name", router]);
        a.ip(&["link", "set", router, "netns", b.name()]);
    }
}

fn bring_up(a: &Netns, b: &Netns) {
    for (host, router) in [("e0", "r0"), ("e1", "r1")] {
        a.ip(&["link", "set", host, "up"]);
        b.ip(&["link", "set", router, "up"]);
    }
    b.settle();
    a.settle();
}

/// One Router Advertisement for `prefix` (a /64 such as `2001:db8:5::`) out of `router`.
fn advertise(b: &Netns, router: &str, prefix: &str) {
    let out = b.exec(&["python3", RA_SENDER, router, prefix, "7200", "3600"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Waits until `dev` has a SLAAC address in `prefix` (and, when `temporaries`, a temporary
/// one), none tentative.
fn wait_slaac(a: &Netns, dev: &str, prefix: &str, temporaries: bool) {
    for _ in 0..20000 {
        let addrs = a.addrs_in(&["dev", dev]);
        let slaac: Vec<_> = addrs
            .iter()
            .filter(|x| x.local.starts_with(prefix))
            .collect();
        let public = slaac.iter().any(|x| x.has("mngtmpaddr"));
        let temporary = slaac.iter().any(|x| x.has("temporary"));
        if public && (temporary || !temporaries) && !slaac.iter().any(|x| x.has("tentative")) {
            return;
        }
        std::thread::yield_now();
    }
    panic!(
        "no SLAAC address in {prefix} on {dev}: {}",
        a.ip(&["addr", "show"])
    );
}

/// A random host: its global addresses (not temporary) and the destinations to ask.
fn build(
    a: &Netns,
    b: &Netns,
    rng: &mut Rng,
    setup: &mut Vec<String>,
) -> (Vec<String>, Vec<String>) {
    let mut settings = Vec::new();
    let mut tempaddr = Vec::new();
    for dev in ["e0", "e1"] {
        let use_tempaddr = *rng.pick(&[0, 1, 2, 2]);
        tempaddr.push(use_tempaddr);
        settings.extend([
            format!("net.ipv6.conf.{dev}.accept_ra=2"),
            format!("net.ipv6.conf.{dev}.autoconf=1"),
            format!("net.ipv6.conf.{dev}.use_tempaddr={use_tempaddr}"),
        ]);
    }
    sysctl(a, &settings);
    setup.extend(settings);
    bring_up(a, b);
    let mut prefixes = Vec::new();
    for (i, (dev, router)) in [("e0", "r0"), ("e1", "r1")].into_iter().enumerate() {
        for p in 0..rng.below(3) {
            let prefix = format!("2001:db8:1{i}{p}::");
            advertise(b, router, &prefix);
            wait_slaac(a, dev, &prefix[..prefix.len() - 1], tempaddr[i] > 0);
            setup.push(format!("RA {prefix}/64 on {dev}"));
            prefixes.push(prefix);
        }
    }
    for (i, dev) in ["e0", "e1"].into_iter().enumerate() {
        for n in 0..rng.below(3) {
            let prefix = format!("2001:db8:a{i}{n}::");
            let mut spec = format!("{prefix}{}/64", rng.below(3) + 1);
            if rng.chance(40) {
                spec.push_str(" mngtmpaddr");
            }
            if rng.chance(30) {
                spec.push_str(" preferred_lft 0");
            }
            if rng.chance(20) {
                spec.push_str(" noprefixroute");
            }
            a.add_addr(dev, &format!("{spec} nodad"));
            setup.push(format!("ip addr add {spec} dev {dev}"));
            prefixes.push(prefix);
        }
    }
    a.settle();
    let default = if rng.chance(50) { "e0" } else { "e1" };
    if rng.chance(85) {
        a.ip(&["-6", "route", "add", "default", "dev", default]);
        setup.push(format!("ip -6 route add default dev {default}"));
    }
    // Prefix routes deleted by hand: a change of an address without noprefixroute brings
    // its own back.
    for route in a.routes6() {
        if route.starts_with("2001:db8:") && route.contains("/64") && rng.chance(35) {
            let words: Vec<&str> = route.split_whitespace().take(3).collect();
            let mut args = vec!["-6", "route", "del"];
            args.extend(&words);
            a.ip(&args);
            setup.push(format!("ip -6 route del {}", words.join(" ")));
        }
    }
    let addresses: Vec<String> = a
        .addrs()
        .into_iter()
        .filter(|x| x.is_global_v6() && !x.has("temporary"))
        .map(|x| x.local)
        .collect();
    let mut destinations = vec!["2001:db8:99::9".to_string()];
    for prefix in &prefixes {
        destinations.push(format!("{prefix}99"));
    }
    if !addresses.is_empty() {
        destinations.push(rng.pick(&addresses).clone());
    }
    (addresses, destinations)
}

/// A random `deprecate` or `prefer` command over `addresses`.
fn command(rng: &mut Rng, addresses: &[String]) -> Vec<String> {
    let address = rng.pick(addresses).clone();
    if rng.chance(40) {
        return vec!["prefer".to_string(), address];
    }
    let pattern = if rng.chance(50) {
        let groups: Vec<&str> = address.split(':').take(3).collect();
        format!("{}::/48", groups.join(":"))
    } else {
        address
    };
    vec!["deprecate".to_string(), "--except".to_string(), pattern]
}

nstest!(
    fn predictions_match_the_kernel_after_the_change(_py: Python3, namespaces: Namespaces) {
        let seed = seed("NLSEL_PROBE_SEED", "probe");
        let mut rng = Rng(seed);
        let (mut cases, mut unpredicted, mut configs) = (0, 0, 0);
        while cases < CASES {
            assert!(
                configs < 60,
                "seed {seed}: only {cases} predictions in {configs} configurations"
            );
            let (a, b) = (namespaces.make(), namespaces.make());
            host_and_router(&a, &b);
            configs += 1;
            let mut setup = Vec::new();
            let (addresses, destinations) = build(&a, &b, &mut rng, &mut setup);
            if addresses.is_empty() {
                continue;
            }
            for step in 0..3 {
                let words = command(&mut rng, &addresses);
                let probe_args: Vec<String> = destinations
                    .iter()
                    .flat_map(|d| ["--probe".to_string(), d.clone()])
                    .collect();
                let check = rng.chance(30);
                let mut dry: Vec<String> = vec!["-j".to_string()];
                dry.extend(words.iter().cloned());
                dry.push(if check { "--check" } else { "--dry-run" }.to_string());
                dry.extend(probe_args.iter().cloned());
                let dry_refs: Vec<&str> = dry.iter().map(String::as_str).collect();
                let before = a.ip(&["addr", "show"]);
                let routes_before = a.routes6().join("\n  ");
                let predicted_run = a.nlsel(&dry_refs);
                let context = || {
                    format!(
                        "seed {seed} (NLSEL_PROBE_SEED={seed}), configuration {configs}, step {step}\nsetup:\n  {}\nroutes before:\n  {routes_before}\naddresses before:\n{before}\ncommand: {:?}\ndry run: {}\n{}\naddresses after:\n{}routes after:\n  {}",
                        setup.join("\n  "),
                        words,
                        predicted_run.stdout,
                        predicted_run.stderr,
                        a.ip(&["addr", "show"]),
                        a.routes6().join("\n  ")
                    )
                };
                assert!(
                    [0, 3].contains(&predicted_run.code) && (predicted_run.code == 0 || check),
                    "{}",
                    context()
                );
                let predicted = probes(&predicted_run);
                let mut real: Vec<String> = vec!["-j".to_string()];
                real.extend(words.iter().cloned());
                real.extend(probe_args.iter().cloned());
                let real_refs: Vec<&str> = real.iter().map(String::as_str).collect();
                let applied = a.nlsel(&real_refs);
                assert_eq!(applied.code, 0, "{}\nreal run: {applied:?}", context());
                let after = probes(&applied);
                // A temporary address the change makes the kernel create leaves tentative soon.
                a.settle();
                let kernel = oracle(&a, &destinations, &context);
                for (i, dest) in destinations.iter().enumerate() {
                    let prediction = &predicted[i]["predicted_src"];
                    // The real run predicts from the same state, and reports the kernel's answer.
                    assert_eq!(
                        prediction,
                        &after[i]["predicted_src"],
                        "{dest}: {}",
                        context()
                    );
                    if prediction.is_null() {
                        unpredicted += 1;
                        continue;
                    }
                    cases += 1;
                    assert_eq!(
                        prediction.as_str(),
                        kernel[i].as_deref(),
                        "WRONG prediction for {dest}: {}",
                        context()
                    );
                    assert_eq!(
                        after[i]["kernel_src"].as_str(),
                        kernel[i].as_deref(),
                        "{dest}: {}",
                        context()
                    );
                }
            }
        }
        common::report(&format!(
            "probe: {cases} predictions compared, 0 wrong, {unpredicted} without a prediction, {configs} configurations (seed {seed})"
        ));
    }
);

/// A host whose e0 gets SLAAC addresses in 2001:db8:5::/64 (with temporaries, preferred over
/// public addresses) and has the static 2001:db8:7::1/64, with the default route out of e0.
fn slaac_host(a: &Netns, b: &Netns) {
    host_and_router(a, b);
    sysctl(
        a,
        &[
            "net.ipv6.conf.e0.accept_ra=2".to_string(),
            "net.ipv6.conf.e0.autoconf=1".to_string(),
            "net.ipv6.conf.e0.use_tempaddr=2".to_string(),
        ],
    );
    bring_up(a, b);
    advertise(b, "r0", "2001:db8:5::");
    wait_slaac(a, "e0", "2001:db8:5:", true);
    a.add_addr("e0", "2001:db8:7::1/64 nodad");
    a.ip(&["-6", "route", "add", "default", "dev", "e0"]);
}

fn temporary_in(a: &Netns, prefix: &str) -> String {
    a.addrs()
        .into_iter()
        .find(|x| x.local.starts_with(prefix) && x.has("temporary"))
        .map(|x| x.local)
        .expect("a temporary address")
}

/// `nlsel -j ARGS`; the first probe. `--check` exits 3: there is work.
fn first_probe(a: &Netns, args: &[&str]) -> Value {
    let run = a.nlsel(args);
    run.expect_code(if args.contains(&"--check") { 3 } else { 0 });
    probes(&run).remove(0)
}

nstest!(
    fn deprecating_a_slaac_parent_is_predicted_to_deprecate_its_temporaries(
        _py: Python3,
        a: Netns,
        _b: Netns,
    ) {
        slaac_host(&a, &_b);
        let dest = "2001:db8:9::9";
        let temporary = temporary_in(&a, "2001:db8:5:");
        assert_eq!(a.route_get_src(dest), temporary);
        let args = [
            "-j",
            "deprecate",
            "--except",
            "2001:db8:7::1",
            "--probe",
            dest,
        ];
        let dry = first_probe(&a, &[&args[..], &["--dry-run"]].concat());
        assert_eq!(dry["kernel_src"], temporary.as_str(), "{dry}");
        assert_eq!(dry["predicted_src"], "2001:db8:7::1", "{dry}");
        let real = first_probe(&a, &args);
        assert_eq!(a.route_get_src(dest), "2001:db8:7::1");
        assert!(a.addr(&temporary).is_deprecated());
        assert_eq!(real["kernel_src"], "2001:db8:7::1", "{real}");
        assert_eq!(real["predicted_src"], "2001:db8:7::1", "{real}");
    }
);

nstest!(
    fn preferring_a_parent_is_predicted_to_restore_its_temporaries(a: Netns, b: Netns) {
        host_and_router(&a, &b);
        sysctl(&a, &["net.ipv6.conf.e0.use_tempaddr=2".to_string()]);
        bring_up(&a, &b);
        a.add_addr("e0", "2001:db8:8::1/64 mngtmpaddr nodad");
        a.add_addr("e0", "2001:db8:7::1/64 nodad");
        a.ip(&["-6", "route", "add", "default", "dev", "e0"]);
        let dest = "2001:db8:9::9";
        wait_slaac(&a, "e0", "2001:db8:8:", true);
        let temporary = temporary_in(&a, "2001:db8:8:");
        a.nlsel(&["deprecate", "--except", "2001:db8:7::1"])
            .expect_ok();
        assert!(a.addr(&temporary).is_deprecated());
        assert_eq!(a.route_get_src(dest), "2001:db8:7::1");
        let args = ["-j", "prefer", "2001:db8:8::1", "--probe", dest];
        let dry = first_probe(&a, &[&args[..], &["--check"]].concat());
        assert_eq!(dry["predicted_src"], temporary.as_str(), "{dry}");
        first_probe(&a, &args);
        assert!(!a.addr(&temporary).is_deprecated());
        assert_eq!(a.route_get_src(dest), temporary);
    }
);

nstest!(
    fn a_prefix_route_the_change_reinstalls_is_predicted(a: Netns, b: Netns) {
        host_and_router(&a, &b);
        bring_up(&a, &b);
        a.add_addr("e0", "2001:db8:1::1/64 nodad");
        a.add_addr("e0", "2001:db8:1::2/64 nodad");
        a.add_addr("e1", "2001:db8:2::1/64 nodad");
        a.ip(&["-6", "route", "add", "default", "dev", "e1"]);
        a.ip(&["-6", "route", "del", "2001:db8:1::/64", "dev", "e0"]);
        let dest = "2001:db8:1::99";
        // Out of e1 now, so e1's address wins at rule 5.
        assert_eq!(a.route_get_src(dest), "2001:db8:2::1");
        let args = [
            "-j",
            "deprecate",
            "--dev",
            "e0",
            "--except",
            "2001:db8:1::1",
            "--probe",
            dest,
        ];
        let dry = first_probe(&a, &[&args[..], &["--dry-run"]].concat());
        assert_eq!(dry["kernel_src"], "2001:db8:2::1", "{dry}");
        assert_eq!(dry["predicted_src"], "2001:db8:1::1", "{dry}");
        let real = first_probe(&a, &args);
        assert!(
            a.routes6()
                .iter()
                .any(|r| r.starts_with("2001:db8:1::/64 dev e0"))
        );
        assert_eq!(a.route_get_src(dest), "2001:db8:1::1");
        assert_eq!(real["kernel_src"], "2001:db8:1::1", "{real}");
    }
);

nstest!(
    fn a_destination_reached_only_by_a_reinstalled_prefix_route_is_predicted(a: Netns, b: Netns) {
        host_and_router(&a, &b);
        bring_up(&a, &b);
        a.add_addr("e0", "2001:db8:1::1/64 nodad");
        a.add_addr("e0", "2001:db8:1::2/64 nodad");
        a.ip(&["-6", "route", "del", "2001:db8:1::/64", "dev", "e0"]);
        let dest = "2001:db8:1::99";
        let args = ["-j", "prefer", "2001:db8:1::1", "--probe", dest];
        let dry = first_probe(&a, &[&args[..], &["--dry-run"]].concat());
        assert_eq!(dry["no_route"], true, "{dry}");
        assert_eq!(dry["predicted_src"], "2001:db8:1::1", "{dry}");
        let text = a.nlsel(&["prefer", "2001:db8:1::1", "--dry-run", "--probe", dest]);
        assert!(
            text.stdout.ends_with(&format!(
                "probe {dest}: no route now, 2001:db8:1::1 after the change (predicted)\n"
            )),
            "{}",
            text.stdout
        );
        let real = first_probe(&a, &args);
        assert_eq!(real["no_route"], false, "{real}");
        assert_eq!(a.route_get_src(dest), "2001:db8:1::1");
    }
);
