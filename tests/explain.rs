//! `which --explain` against the kernel: nlsel's model of the IPv6 source-address choice must
//! give the source `ip -6 route get` reports, on random configurations and on one fixed
//! scenario per rule.
//!
//! The differential test builds random configurations in private namespaces (1 to 3 veth
//! pairs; global, ULA, site-local, ORCHID, compat and link-local addresses with random prefix
//! lengths; random deprecated, nodad, optimistic, noprefixroute and home flags; interfaces
//! whose duplicate address detection is held open, with optimistic_dad/use_optimistic
//! toggled; random address labels; random use_oif_addrs_only; routes with and without `src`)
//! and asks many destinations of each. The seed comes from NLSEL_DIFF_SEED or the clock and
//! is printed always; a failure names it, so `NLSEL_DIFF_SEED=N cargo test --test explain`
//! replays the run.
//!
//! Duplicate address detection is held open by a 100 s retransmission timer on the chosen
//! interfaces, so their addresses stay tentative (or optimistic) while a configuration is
//! asked; everything else is waited for by polling the kernel's state, never by sleeping.

mod common;

use std::collections::BTreeSet;
use std::process::{Command, Stdio};

use common::{BIN, Namespaces, Netns, Python3, Rng, nstest, seed};
use serde_json::Value;

/// At least this many (configuration, destination) pairs per run.
const PAIRS: usize = 2000;
const DESTINATIONS_PER_CONFIG: usize = 25;

const RA_SENDER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/ra_sender.py");

/// `nlsel -n NS -j which DEST --explain`, parsed, with its exit code.
fn explain(ns: &Netns, dest: &str) -> (i32, Value, String) {
    which_json(ns, &[dest.to_string(), "--explain".to_string()])
}

/// The source `ip -6 route get DEST` reports: `Ok(None)` for a route without one, `Err` when
/// there is no route.
fn kernel_source(ns: &Netns, dest: &str) -> Result<Option<String>, String> {
    let family = if dest.contains(':') { "-6" } else { "-4" };
    route_get_source(ns, &[family, "route", "get", dest])
}

/// Runs `ip ARGS` (an `ip route get`) and reads its `src`, as [`kernel_source`] says.
fn route_get_source(ns: &Netns, args: &[&str]) -> Result<Option<String>, String> {
    let out = ns.ip_try(args);
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
    }
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let words: Vec<&str> = text.split_whitespace().collect();
    Ok(words
        .windows(2)
        .find(|w| w[0] == "src")
        .map(|w| w[1].to_string()))
}

/// What an application gets: for each query, an unbound UDP socket (bound to the query's
/// device and source port when it has them) is connected and `getsockname()` read; "error N"
/// when `connect()` fails with errno N. One python3 run answers a whole list.
const CONNECT_PY: &str = r#"
import socket, sys
a = sys.argv[1:]
for i in range(0, len(a), 4):
    d, dev, sp, dp = a[i:i + 4]
    fam = socket.AF_INET6 if ':' in d else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    try:
        if dev != '-':
            s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, dev.encode())
        if sp != '0':
            s.bind(('::' if fam == socket.AF_INET6 else '0.0.0.0', int(sp)))
        s.connect(socket.getaddrinfo(d, int(dp), fam, socket.SOCK_DGRAM)[0][4])
        h = s.getsockname()[0]
        print(h[7:] if h.startswith('::ffff:') else h)
    except OSError as e:
        print('error', e.errno)
    s.close()
"#;

/// One question: a destination (maybe `%IFACE`), a bound device, and the flow's ports.
#[derive(Clone, Debug)]
struct Query {
    dest: String,
    dev: Option<String>,
    sport: u16,
    dport: u16,
}

impl Query {
    fn to(dest: &str) -> Query {
        Query {
            dest: dest.to_string(),
            dev: None,
            sport: 0,
            dport: 9,
        }
    }

    /// nlsel's arguments after `which`.
    fn args(&self) -> Vec<String> {
        let mut args = vec![self.dest.clone()];
        if let Some(dev) = &self.dev {
            args.extend(["--dev".to_string(), dev.clone()]);
        }
        if self.sport != 0 {
            args.extend(["--sport".to_string(), self.sport.to_string()]);
        }
        args.extend(["--dport".to_string(), self.dport.to_string()]);
        args
    }
}

/// `connect()`+`getsockname()` for each query, in the namespace.
fn connect_sources(ns: &Netns, queries: &[Query]) -> Vec<String> {
    let mut args = vec![
        "python3".to_string(),
        "-c".to_string(),
        CONNECT_PY.to_string(),
    ];
    for q in queries {
        args.push(q.dest.clone());
        args.push(q.dev.clone().unwrap_or_else(|| "-".to_string()));
        args.push(q.sport.to_string());
        args.push(q.dport.to_string());
    }
    let out = ns.exec(&args);
    assert!(
        out.status.success(),
        "python3 connect helper: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(lines.len(), queries.len(), "{lines:?}");
    lines
}

/// `nlsel -n NS -j which ARGS...`, parsed, with its exit code.
fn which_json(ns: &Netns, args: &[String]) -> (i32, Value, String) {
    let out = Command::new(BIN)
        .args(["-n", ns.name(), "-j", "which"])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("cannot run nlsel");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let json = serde_json::from_str(&stdout).unwrap_or(Value::Null);
    (out.status.code().unwrap_or(-1), json, stderr)
}

/// Whether an application must give `dest`'s interface (link-local, or multicast of
/// interface or link scope).
fn needs_scope(dest: &str) -> bool {
    let Ok(ip) = dest.parse::<std::net::Ipv6Addr>() else {
        return false;
    };
    ip.is_unicast_link_local() || (ip.is_multicast() && matches!(ip.segments()[0] & 0xf, 1 | 2))
}

/// `ip route get` for the query's flow, where ip can ask it the way connect() does: not for
/// `::` or an IPv4-mapped destination, which connect() turns into others.
fn ip_route_get(ns: &Netns, query: &Query) -> Result<Option<String>, String> {
    let (dest, scope) = match query.dest.split_once('%') {
        Some((dest, scope)) => (dest, Some(scope.to_string())),
        None => (query.dest.as_str(), None),
    };
    if dest == "::" || dest.starts_with("::ffff:") {
        return Err("not asked".to_string());
    }
    let family = if dest.contains(':') { "-6" } else { "-4" };
    let sport = query.sport.to_string();
    let dport = query.dport.to_string();
    let mut args = vec![
        family, "route", "get", dest, "ipproto", "udp", "sport", &sport,
    ];
    args.extend(["dport", &dport]);
    let oif = scope.or(query.dev.clone());
    if let Some(oif) = &oif {
        args.extend(["oif", oif]);
    }
    route_get_source(ns, &args)
}

fn sysctl(ns: &Netns, settings: &[String]) {
    if settings.is_empty() {
        return;
    }
    let mut args = vec!["sysctl".to_string(), "-qw".to_string()];
    args.extend(settings.iter().cloned());
    let out = ns.exec(&args);
    assert!(
        out.status.success(),
        "sysctl {settings:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `ip -n NS -force -batch -`: every line is tried; failures (a route whose `src` the kernel
/// refuses, say) are reported but not fatal. Returns the lines that failed.
fn ip_batch_force(ns: &Netns, commands: &str) -> String {
    let out = ns.ip_batch_output(&["-force"], commands);
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Waits until no address is tentative except those on `dad_held` interfaces without nodad,
/// whose detection is held open on purpose, and every up interface has its link-local
/// address.
fn settle_except(ns: &Netns, dad_held: &BTreeSet<String>) {
    for _ in 0..5000 {
        let json = ns.addr_json(&[]);
        let settled = json.as_array().expect("array").iter().all(|link| {
            let name = link["ifname"].as_str().unwrap_or("");
            let infos = link["addr_info"].as_array().cloned().unwrap_or_default();
            infos.iter().all(|a| {
                a.get("tentative").is_none()
                    || (dad_held.contains(name) && a.get("nodad").is_none())
            }) && (name == "lo"
                || infos
                    .iter()
                    .any(|a| a["family"] == "inet6" && a["scope"] == "link"))
        });
        if settled {
            return;
        }
        std::thread::yield_now();
    }
    panic!("ns {}: addresses did not settle", ns.name());
}

/// One random address: (text, prefix length).
fn random_address(rng: &mut Rng, dad_held: bool) -> (String, u8, Vec<&'static str>) {
    let x = rng.below(3) + 1;
    let y = rng.below(3);
    let host = rng.below(0xfff) + 1;
    let (text, lens): (String, &[u8]) = match rng.below(10) {
        0..=3 => (
            format!("2001:db8:{x}:{y}::{host:x}"),
            &[
                16, 32, 40, 47, 48, 56, 63, 64, 64, 64, 80, 96, 112, 127, 128,
            ],
        ),
        4 | 5 => (
            format!("fd00:{x}:{y}::{host:x}"),
            &[7, 8, 48, 64, 64, 120, 128],
        ),
        6 => (format!("fe80::{x}:{host:x}"), &[64, 64, 10, 128]),
        7 => (format!("fec0::{x}:{host:x}"), &[10, 48, 64]),
        8 => (format!("2001:10::{x}:{host:x}"), &[28, 64, 128]),
        // IPv4-mapped: a candidate to the kernel, refused by connect() when chosen.
        9 if rng.chance(30) => (format!("::ffff:10.{x}.{y}.{}", host & 0xff), &[96, 128]),
        _ => (format!("::{host:x}"), &[96, 128]),
    };
    let len = *rng.pick(lens);
    let mut flags = Vec::new();
    if rng.chance(30) {
        flags.push("preferred_lft 0");
    }
    if rng.chance(25) {
        flags.push("noprefixroute");
    }
    if rng.chance(3) {
        flags.push("home");
    }
    if dad_held {
        if rng.chance(30) {
            flags.push("nodad");
        } else if rng.chance(50) {
            flags.push("optimistic");
        }
    } else if rng.chance(10) {
        flags.push("nodad");
    }
    (text, len, flags)
}

/// Destinations worth asking about in a configuration with `addresses`.
fn random_destination(rng: &mut Rng, addresses: &[String]) -> String {
    let host = rng.below(0xffff) + 1;
    match rng.below(14) {
        0 | 1 if !addresses.is_empty() => rng.pick(addresses).clone(),
        2..=5 if !addresses.is_empty() => {
            // Share a random number of leading bits with one of the addresses.
            let base: std::net::Ipv6Addr = rng.pick(addresses).parse().expect("address");
            let bit = 8 + rng.below(120) as u32;
            let flipped = base.to_bits() ^ (1u128 << (127 - bit)) ^ (rng.next() as u128 >> bit);
            std::net::Ipv6Addr::from(flipped).to_string()
        }
        6 => format!("2001:db8:{}::{host:x}", rng.below(4)),
        7 => format!("fd00:{}::{host:x}", rng.below(4)),
        8 => format!("fe80::{host:x}"),
        9 => rng
            .pick(&["ff02::1", "ff05::2", "ff0e::1", "ff01::1"])
            .to_string(),
        10 => format!("2001:10::{host:x}"),
        11 => format!("fec0::{host:x}"),
        12 => rng
            .pick(&[
                "2002::1",
                "3ffe::1",
                "2001::1",
                "::1",
                "::7",
                "2a00::1",
                "::",
                "::ffff:192.0.2.77",
                "::ffff:198.51.100.1",
            ])
            .to_string(),
        13 if rng.chance(50) => format!("2001:db8:{}:5::{host:x}", rng.below(4)),
        _ => format!("2a00:{host:x}::1"),
    }
}

/// A question about a random destination: a scope where one is needed (mostly), sometimes a
/// bound device, random ports (which count under fib_multipath_hash_policy 1, so the source
/// port is always fixed there: connect() would otherwise bind a random one).
fn random_query(rng: &mut Rng, names: &[String], addresses: &[String]) -> Query {
    let mut query = Query::to(&random_destination(rng, addresses));
    if needs_scope(&query.dest) {
        if rng.chance(85) {
            query.dest = format!("{}%{}", query.dest, rng.pick(names));
        }
    } else if rng.chance(20) {
        query.dev = Some(rng.pick(names).clone());
    }
    query.sport = 1024 + rng.below(60000) as u16;
    // 53 is the port the random `ip -6 rule ... dport 53` rules match.
    query.dport = if rng.chance(25) {
        53
    } else {
        1 + rng.below(65000) as u16
    };
    query
}

/// Creates the veth pairs `eN`/`pN`: in ifindex order, with explicit indexes that fall as
/// they are created, or with `e0` (the lowest index) moved in from another namespace last:
/// the kernel's device list is in the order devices arrive, whatever their indexes.
fn add_interfaces(ns: &Netns, rng: &mut Rng, names: &[String], description: &mut Vec<String>) {
    let peer = |name: &str| format!("p{}", &name[1..]);
    let indexed = |ns: &Netns, name: &str, index: usize| {
        let (index, peer_index) = (index.to_string(), (index + 1).to_string());
        ns.ip(&[
            "link",
            "add",
            name,
            "index",
            &index,
            "type",
            "veth",
            "peer",
            "name",
            &peer(name),
            "index",
            &peer_index,
        ]);
    };
    let up = |ns: &Netns, name: &str| {
        ns.ip(&["link", "set", name, "up"]);
        ns.ip(&["link", "set", &peer(name), "up"]);
    };
    match rng.below(3) {
        0 => {
            for name in names {
                ns.veth(name, &peer(name));
            }
            return;
        }
        1 => {
            description.push("interfaces with falling indexes: 60, 50, 40".to_string());
            for (i, name) in names.iter().enumerate() {
                indexed(ns, name, 60 - 10 * i);
                up(ns, name);
            }
        }
        _ => {
            description.push("e0 (index 8) moved in after the others (30, 40)".to_string());
            for (i, name) in names.iter().enumerate().skip(1) {
                indexed(ns, name, 20 + 10 * i);
                up(ns, name);
            }
            let other = Netns::new();
            indexed(&other, &names[0], 8);
            for dev in [names[0].clone(), peer(&names[0])] {
                other.ip(&["link", "set", &dev, "netns", ns.name()]);
            }
            up(ns, &names[0]);
        }
    }
    ns.settle();
}

/// What one configuration was, for the failure message.
struct Config {
    description: Vec<String>,
    addresses: Vec<String>,
    names: Vec<String>,
}

fn build_config(ns: &Netns, rng: &mut Rng) -> Config {
    let mut description = Vec::new();
    let interfaces = rng.below(3) + 1;
    let names: Vec<String> = (0..interfaces).map(|i| format!("e{i}")).collect();
    add_interfaces(ns, rng, &names, &mut description);
    let mut settings = Vec::new();
    let mut dad_held = BTreeSet::new();
    if rng.chance(20) {
        settings.push("net.ipv6.conf.all.optimistic_dad=1".to_string());
    }
    settings.push(format!(
        "net.ipv6.fib_multipath_hash_policy={}",
        rng.below(2)
    ));
    if rng.chance(20) {
        settings.push("net.ipv6.conf.all.use_optimistic=1".to_string());
    }
    for name in &names {
        let mut set = |key: &str, value: usize| {
            settings.push(format!("net.ipv6.conf.{name}.{key}={value}"));
        };
        if rng.chance(30) {
            set("use_oif_addrs_only", 1);
        }
        set("use_tempaddr", rng.below(3));
        if rng.chance(35) {
            set("accept_dad", 1);
            set("optimistic_dad", rng.below(2));
            set("use_optimistic", rng.below(2));
            settings.push(format!("net.ipv6.neigh.{name}.retrans_time_ms=100000"));
            dad_held.insert(name.clone());
        }
    }
    sysctl(ns, &settings);
    description.push(format!("sysctl -w {}", settings.join(" ")));

    let mut batch = String::new();
    let mut addresses = Vec::new();
    let mut seen = BTreeSet::new();
    for name in &names {
        for _ in 0..rng.below(6) {
            let (text, len, flags) = random_address(rng, dad_held.contains(name));
            if !seen.insert(text.clone()) {
                continue;
            }
            batch.push_str(&format!(
                "addr add {text}/{len} dev {name} {}\n",
                flags.join(" ")
            ));
            addresses.push(text);
        }
    }
    for _ in 0..rng.below(4) {
        let base = if addresses.is_empty() || rng.chance(30) {
            random_destination(rng, &addresses)
        } else {
            rng.pick(&addresses).clone()
        };
        let len = *rng.pick(&[0u8, 7, 16, 28, 32, 48, 64, 96, 128]);
        let dev = if rng.chance(40) {
            format!(" dev {}", rng.pick(&names))
        } else {
            String::new()
        };
        batch.push_str(&format!(
            "addrlabel add prefix {base}/{len}{dev} label {}\n",
            rng.below(8) + 1
        ));
    }
    if rng.chance(80) {
        batch.push_str(&format!("route add ::/0 dev {}\n", rng.pick(&names)));
    }
    if rng.chance(50) {
        let name = rng.pick(&names);
        batch.push_str(&format!(
            "addr add 192.0.2.{}/24 dev {name}\nroute add 0.0.0.0/0 dev {name}\n",
            rng.below(200) + 1
        ));
    }
    // ECMP through gateways on different interfaces: which path, and so which source, the
    // flow's hash picks.
    if names.len() > 1 && rng.chance(50) {
        let (a, b) = (rng.pick(&names), rng.pick(&names));
        batch.push_str(&format!(
            "route add 2001:db8:{}::/56 nexthop via fe80::1 dev {a} nexthop via fe80::2 dev {b}\n",
            rng.below(4)
        ));
    }
    // Nexthop objects: the kernel takes the source from a group's first member's device,
    // whatever path the flow takes, and from a single nexthop's device.
    if rng.chance(40) {
        let (a, b) = (rng.pick(&names), rng.pick(&names));
        let group = if rng.chance(50) { "1/2" } else { "2/1" };
        batch.push_str(&format!(
            "nexthop add id 1 via fe80::1 dev {a}\nnexthop add id 2 via fe80::2 dev {b}\n\
             nexthop add id 10 group {group}\n\
             route add 2001:db8:{}::/52 nhid {}\n",
            rng.below(4),
            rng.pick(&[10, 10, 1, 2])
        ));
    }
    // Source-specific routes: reached from a source the kernel chooses first (connect()'s
    // second lookup, ip6_dst_lookup_tail).
    for _ in 0..rng.below(3) {
        batch.push_str(&format!(
            "route add 2001:db8:{}:5::/64 from 2001:db8:{}::/{} dev {}\n",
            rng.below(4),
            rng.below(4),
            rng.pick(&[48u8, 56, 64]),
            rng.pick(&names)
        ));
    }
    for _ in 0..rng.below(3) {
        let x = rng.below(4);
        let dev = rng.pick(&names);
        let src = if !addresses.is_empty() && rng.chance(50) {
            format!(" src {}", rng.pick(&addresses))
        } else {
            String::new()
        };
        batch.push_str(&format!("route add 2001:db8:{x}::/48 dev {dev}{src}\n"));
    }
    // A rule for the flow's protocol and port: the route asked for must carry them.
    if rng.chance(30) {
        let dev = rng.pick(&names);
        ns.ip(&[
            "-6", "rule", "add", "ipproto", "udp", "dport", "53", "table", "100",
        ]);
        batch.push_str(&format!("route add ::/0 dev {dev} table 100\n"));
        description.push("ip -6 rule add ipproto udp dport 53 table 100".to_string());
    }
    let failed = ip_batch_force(ns, &batch);
    description.extend(batch.lines().map(|l| format!("ip {l}")));
    if !failed.trim().is_empty() {
        description.push(format!(
            "(ip refused: {})",
            failed.trim().replace('\n', "; ")
        ));
    }
    settle_except(ns, &dad_held);
    Config {
        description,
        addresses,
        names,
    }
}

nstest!(
    fn model_agrees_with_the_kernel_on_random_configurations(namespaces: Namespaces) {
        let seed = seed("NLSEL_DIFF_SEED", "differential");
        let mut rng = Rng(seed);
        let mut pairs = 0;
        let mut unsupported = 0;
        let mut configs = 0;
        let mut scopes_refused = 0;
        let (mut nexthop_groups, mut ecmp_listed, mut refused_mapped) = (0, 0, 0);
        let mut rules_seen = BTreeSet::new();
        let mip6_built_in = mip6_built_in();
        while pairs < PAIRS {
            let ns = namespaces.make();
            configs += 1;
            let config = build_config(&ns, &mut rng);
            let queries: Vec<Query> = (0..DESTINATIONS_PER_CONFIG)
                .map(|_| random_query(&mut rng, &config.names, &config.addresses))
                .collect();
            let connected = connect_sources(&ns, &queries);
            for (query, connected) in queries.iter().zip(connected) {
                let dest = &query.dest;
                let mut args = query.args();
                args.push("--explain".to_string());
                let (code, json, stderr) = which_json(&ns, &args);
                let context = || {
                    format!(
                        "seed {seed} (NLSEL_DIFF_SEED={seed}), configuration {configs}, query {query:?}\n\
                     setup:\n  {}\nconnect(): {connected}\nnlsel exit {code}, stderr: {stderr}\nnlsel -j: {json}\nip addr:\n{}",
                        config.description.join("\n  "),
                        ns.ip(&["addr", "show"])
                    )
                };
                if needs_scope(dest) && query.dev.is_none() {
                    // An application must name the interface: connect() refuses with EINVAL.
                    assert_eq!(connected, "error 22", "{}", context());
                    assert_eq!(code, 2, "a missing scope is a usage error: {}", context());
                    scopes_refused += 1;
                    pairs += 1;
                    continue;
                }
                // No route, or (IPv4) a route and no address to send from: no source.
                if connected == "error 97" {
                    // The kernel chose an IPv4-mapped address: nlsel must say it is no source.
                    assert!(
                        code == 1 && stderr.contains("EAFNOSUPPORT"),
                        "connect() refuses a mapped source, nlsel answers: {}",
                        context()
                    );
                    refused_mapped += 1;
                    pairs += 1;
                    continue;
                }
                if connected.starts_with("error") || connected == "0.0.0.0" {
                    assert!(
                        code != 0 || json["src"].is_null(),
                        "connect() fails, nlsel answers: {}",
                        context()
                    );
                    pairs += 1;
                    continue;
                }
                assert_eq!(
                    json["src"].as_str(),
                    Some(connected.as_str()),
                    "nlsel's src is not what connect() gets: {}",
                    context()
                );
                if let Ok(Some(ip)) = ip_route_get(&ns, query) {
                    assert_eq!(
                        ip,
                        connected,
                        "ip route get and connect() differ: {}",
                        context()
                    );
                }
                let kernel = Some(connected.clone());
                if !json["dst"].as_str().unwrap_or("").contains(':') {
                    // An IPv4-mapped destination, asked as IPv4: the model answers IPv6 only.
                    assert_ne!(json["agrees"], false, "{}", context());
                    assert!(
                        json["model_src"].is_null() || json["model_src"] == connected.as_str(),
                        "{}",
                        context()
                    );
                    pairs += 1;
                    continue;
                }
                if !json["unsupported"].is_null() {
                    unsupported += 1;
                    pairs += 1;
                    // nlsel answers as if the rule were absent; on a kernel known to lack it, that
                    // answer must still be the kernel's. Other reasons (a label entry's type) have
                    // no answer to check.
                    let home_rule = json["unsupported"]
                        .as_str()
                        .is_some_and(|reason| reason.contains("rule 4"));
                    if home_rule && !mip6_built_in {
                        assert_eq!(
                            json["model_src"].as_str().map(str::to_string),
                            kernel,
                            "unsupported, and wrong without rule 4: {}",
                            context()
                        );
                    }
                    continue;
                }
                assert_eq!(
                    json["model_src"].as_str().map(str::to_string),
                    kernel,
                    "DISAGREEMENT: {}",
                    context()
                );
                assert_eq!(code, 0, "agreement exits 0: {}", context());
                assert_eq!(json["agrees"], true, "{}", context());
                nexthop_groups += usize::from(json["nexthop_group"].is_u64());
                ecmp_listed += usize::from(json["paths"].as_array().is_some_and(|p| !p.is_empty()));
                for candidate in json["candidates"].as_array().into_iter().flatten() {
                    if let Some(rule) = candidate["rule"].as_f64() {
                        rules_seen.insert((rule * 10.0) as u32);
                    }
                }
                pairs += 1;
            }
        }
        common::report(&format!(
            "differential: {pairs} pairs in {configs} configurations, seed {seed}, {unsupported} reported unsupported, {scopes_refused} unscoped refused, {refused_mapped} mapped sources refused, {nexthop_groups} via nexthop groups, {ecmp_listed} with ECMP paths listed, rules seen (x10): {rules_seen:?}"
        ));
        // Unsupported answers are checked against the kernel above when it lacks rule 4; the
        // bound keeps the random configurations from drifting to where the model cannot answer.
        assert!(
            unsupported * 4 < pairs,
            "seed {seed}: {unsupported} of {pairs} pairs unsupported: the model covers too little"
        );
    }
);

/// Whether this kernel has rule 4 (`CONFIG_IPV6_MIP6=y`), when its configuration is readable;
/// when it is not, assume it might.
fn mip6_built_in() -> bool {
    let out = Command::new("sh")
        .args([
            "-c",
            "[ -r /proc/config.gz ] || { echo unknown; exit; }; zcat /proc/config.gz | grep -c '^CONFIG_IPV6_MIP6=y'",
        ])
        .output();
    match out {
        Ok(out) => String::from_utf8_lossy(&out.stdout).trim() != "0",
        Err(_) => true,
    }
}

/// A namespace with one veth pair `e0`/`p0` up, a default route through `e0`, and then
/// `addresses` added to `e0`, in order.
fn one_interface(ns: &Netns, addresses: &[&str]) {
    ns.veth("e0", "p0");
    ns.ip(&["-6", "route", "add", "default", "dev", "e0"]);
    for spec in addresses {
        ns.add_addr("e0", spec);
    }
}

/// `ip -6 route add PREFIX dev e0 src SRC`.
fn route_with_src(ns: &Netns, prefix: &str, src: &str) {
    ns.ip(&["-6", "route", "add", prefix, "dev", "e0", "src", src]);
}

/// Asks about `dest`, checks the model agrees with `ip -6 route get`, and returns the JSON.
fn agreed(ns: &Netns, dest: &str) -> Value {
    let (code, json, stderr) = explain(ns, dest);
    let kernel = kernel_source(ns, dest).expect("route");
    assert_eq!(json["src"].as_str().map(str::to_string), kernel, "{json}");
    assert_eq!((code, &json["agrees"]), (0, &Value::Bool(true)), "{stderr}");
    json
}

/// The candidate `local`'s (chosen, rule).
fn verdict(json: &Value, local: &str) -> (bool, Value) {
    let candidate = json["candidates"]
        .as_array()
        .expect("candidates")
        .iter()
        .find(|c| c["local"] == local)
        .unwrap_or_else(|| panic!("{local} is no candidate: {json}"));
    (candidate["chosen"] == true, candidate["rule"].clone())
}

fn rule(json: &Value, local: &str) -> f64 {
    verdict(json, local).1.as_f64().expect("a number")
}

nstest!(
    fn rule_1_same_address(ns: Netns) {
        one_interface(&ns, &["2001:db8::1/64", "2001:db8::2/64 preferred_lft 0"]);
        let json = agreed(&ns, "2001:db8::2");
        assert_eq!(json["src"], "2001:db8::2");
        assert_eq!(rule(&json, "2001:db8::1"), 1.0);
    }
);

nstest!(
    fn rule_2_scope(ns: Netns) {
        one_interface(&ns, &["2001:db8::1/64"]);
        let json = agreed(&ns, "2001:db8:9::9");
        let link_local = json["candidates"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["local"].as_str().unwrap().starts_with("fe80::") && c["ifname"] == "e0")
            .expect("e0's link-local address")
            .clone();
        assert_eq!(link_local["rule"], 2);
        assert!(link_local["reason"].as_str().unwrap().contains("smaller"));
    }
);

nstest!(
    fn rule_3_deprecated(ns: Netns) {
        one_interface(&ns, &["2001:db8::1/64", "2001:db8::2/64 preferred_lft 0"]);
        let json = agreed(&ns, "2001:db8:9::9");
        assert_eq!(json["src"], "2001:db8::1");
        assert_eq!(rule(&json, "2001:db8::2"), 3.0);
        assert_eq!(verdict(&json, "2001:db8::2").1, 3);
    }
);

nstest!(
    fn rule_4_home_address_is_reported_unsupported_when_it_would_decide(ns: Netns) {
        one_interface(&ns, &["2001:db8::1/64 home", "2001:db8::2/64"]);
        let (_, json, _) = explain(&ns, "2001:db8:9::9");
        let kernel = kernel_source(&ns, "2001:db8:9::9").unwrap();
        assert_eq!(json["kernel_src"].as_str().map(str::to_string), kernel);
        assert!(
            json["unsupported"]
                .as_str()
                .is_some_and(|r| r.contains("CONFIG_IPV6_MIP6")),
            "{json}"
        );
    }
);

nstest!(
    fn rule_5_outgoing_interface(ns: Netns) {
        one_interface(&ns, &[]);
        ns.veth("e1", "p1");
        ns.add_addr("e0", "2001:db8::1/64");
        ns.add_addr("e1", "2001:db8::2/64");
        ns.ip(&["-6", "route", "add", "2001:db8:9::/48", "dev", "e1"]);
        let json = agreed(&ns, "2001:db8:9::9");
        assert_eq!(json["src"], "2001:db8::2");
        assert_eq!(rule(&json, "2001:db8::1"), 5.0);
    }
);

nstest!(
    fn use_oif_addrs_only_leaves_other_interfaces_out(ns: Netns) {
        one_interface(&ns, &[]);
        ns.veth("e1", "p1");
        ns.add_addr("e0", "2001:db8::1/64");
        sysctl(&ns, &["net.ipv6.conf.e1.use_oif_addrs_only=1".to_string()]);
        ns.ip(&["-6", "route", "add", "2001:db8:9::/48", "dev", "e1"]);
        let json = agreed(&ns, "2001:db8:9::9");
        assert!(
            json["excluded"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["local"] == "2001:db8::1")
        );
    }
);

nstest!(
    fn rule_6_label(ns: Netns) {
        one_interface(&ns, &["fd00::1/64", "2001:db8::1/64"]);
        let json = agreed(&ns, "2a00::9");
        assert_eq!(json["src"], "2001:db8::1");
        assert_eq!(rule(&json, "fd00::1"), 6.0);
        // A label that puts 2a00::/16 with the ULA turns the choice around.
        ns.ip(&["addrlabel", "add", "prefix", "2a00::/16", "label", "5"]);
        let json = agreed(&ns, "2a00::9");
        assert_eq!(json["src"], "fd00::1");
        assert_eq!(rule(&json, "2001:db8::1"), 6.0);
    }
);

nstest!(
    fn rule_orchid(ns: Netns) {
        one_interface(&ns, &[]);
        // Same label for both, so that only ORCHID-ness tells them apart.
        ns.ip(&[
            "addrlabel",
            "add",
            "prefix",
            "2001:10::/28",
            "dev",
            "e0",
            "label",
            "1",
        ]);
        ns.add_addr("e0", "2001:db8::1/16");
        ns.add_addr("e0", "2001:10::1/16");
        let json = agreed(&ns, "2001:db8:9::9");
        assert_eq!(json["src"], "2001:db8::1");
        assert_eq!(rule(&json, "2001:10::1"), 7.5);
    }
);

nstest!(
    fn rule_8_longest_prefix_capped_at_prefix_length(ns: Netns) {
        one_interface(&ns, &["2001:db8:1::1/64", "2001:db8:2::1/64"]);
        let json = agreed(&ns, "2001:db8:1::9");
        assert_eq!(json["src"], "2001:db8:1::1");
        assert_eq!(rule(&json, "2001:db8:2::1"), 8.0);
        ns.add_addr("e0", "2001:db8:1::2/24");
        let json = agreed(&ns, "2001:db8:1::9");
        assert_eq!(rule(&json, "2001:db8:1::2"), 8.0);
    }
);

nstest!(
    fn rule_9_optimistic_and_rule_3_without_use_optimistic(ns: Netns) {
        one_interface(&ns, &[]);
        sysctl(
            &ns,
            &[
                "net.ipv6.conf.e0.accept_dad=1".to_string(),
                "net.ipv6.conf.e0.optimistic_dad=1".to_string(),
                "net.ipv6.conf.e0.use_optimistic=1".to_string(),
                "net.ipv6.neigh.e0.retrans_time_ms=100000".to_string(),
            ],
        );
        ns.add_addr("e0", "2001:db8::2/64 nodad");
        ns.ip(&["addr", "add", "2001:db8::1/64", "dev", "e0", "optimistic"]);
        let json = agreed(&ns, "2001:db8:9::9");
        assert_eq!(json["src"], "2001:db8::2");
        assert_eq!(rule(&json, "2001:db8::1"), 9.0, "{json}");
        sysctl(&ns, &["net.ipv6.conf.e0.use_optimistic=0".to_string()]);
        let json = agreed(&ns, "2001:db8:9::9");
        assert_eq!(rule(&json, "2001:db8::1"), 3.0, "{json}");
    }
);

nstest!(
    fn rule_10_kernel_order(ns: Netns) {
        one_interface(&ns, &["2001:db8::1/64", "2001:db8::2/64"]);
        let json = agreed(&ns, "2001:db8:9::9");
        // The newest address comes first in the kernel's list.
        assert_eq!(json["src"], "2001:db8::2");
        assert_eq!(rule(&json, "2001:db8::1"), 10.0);
    }
);

nstest!(
    fn route_src_bypasses_the_rules(ns: Netns) {
        one_interface(&ns, &["2001:db8::1/64", "2001:db8::2/64 preferred_lft 0"]);
        route_with_src(&ns, "2001:db8:9::/48", "2001:db8::2");
        let json = agreed(&ns, "2001:db8:9::9");
        assert_eq!(json["route_prefsrc"], "2001:db8::2");
        assert_eq!(json["decided_by"], "route_prefsrc");
        let out = ns.nlsel(&["which", "2001:db8:9::9", "--explain"]);
        out.expect_ok();
        assert!(
            out.stdout.contains("RFC 6724's rules are not consulted"),
            "{}",
            out.stdout
        );
    }
);

nstest!(
    fn host_route_src_is_the_configured_one_on_a_kernel_with_fib_match(ns: Netns) {
        // A host route to exactly the destination, with a src, reads the same whether the
        // kernel honoured RTM_F_FIB_MATCH or (before 4.13) ignored it: nlsel asks once more,
        // about ::, and this kernel answers as 4.13 on does, so the src decides, known.
        one_interface(&ns, &["2001:db8::1/64", "2001:db8::2/64"]);
        route_with_src(&ns, "2001:db8:5::5/128", "2001:db8::1");
        let json = agreed(&ns, "2001:db8:5::5");
        assert_eq!(json["decided_by"], "route_prefsrc");
        assert_eq!(json["route_prefsrc"], "2001:db8::1");
        assert_eq!(json["unsupported"], Value::Null);
        // Without a default route the question about :: is refused (ENETUNREACH): the same.
        ns.ip(&["-6", "route", "del", "default"]);
        let json = agreed(&ns, "2001:db8:5::5");
        assert_eq!(json["decided_by"], "route_prefsrc");
        assert_eq!(json["unsupported"], Value::Null);
    }
);

nstest!(
    fn ipv4_names_what_decided(ns: Netns) {
        one_interface(&ns, &["192.0.2.1/24", "192.0.2.2/24"]);
        // The kernel's own prefix route carries a src; a route added without one does not.
        let (_, json, _) = explain(&ns, "192.0.2.99");
        assert_eq!(json["decided_by"], "route_prefsrc");
        ns.ip(&["route", "add", "198.51.100.0/24", "dev", "e0"]);
        let (code, json, _) = explain(&ns, "198.51.100.7");
        assert_eq!(code, 0);
        assert_eq!(json["decided_by"], "primary_address");
        assert_eq!(json["kernel_src"], "192.0.2.1");
        assert_eq!(json["candidates"].as_array().unwrap().len(), 2);
        ns.ip(&[
            "route",
            "add",
            "203.0.113.0/24",
            "dev",
            "e0",
            "src",
            "192.0.2.2",
        ]);
        let (_, json, _) = explain(&ns, "203.0.113.7");
        assert_eq!(json["decided_by"], "route_prefsrc");
        assert_eq!(
            (&json["src"], &json["agrees"]),
            (&Value::from("192.0.2.2"), &Value::Bool(true))
        );
    }
);

nstest!(
    fn probe_predicts_then_reports(ns: Netns) {
        one_interface(&ns, &["2001:db8::2/64", "2001:db8::beef/64"]);
        let dest = "2001:db8:9::9";
        let run = ns.nlsel(&[
            "-j",
            "deprecate",
            "--except",
            "::2",
            "--check",
            "--probe",
            dest,
        ]);
        run.expect_code(3);
        let lines = run.lines();
        let probes: Value = serde_json::from_str(lines[1]).expect("probe JSON");
        let probe = &probes["probes"][0];
        assert_eq!(probe["kernel_src"], "2001:db8::beef");
        assert_eq!(probe["predicted_src"], "2001:db8::2");
        ns.nlsel(&["deprecate", "--except", "::2"]).expect_ok();
        assert_eq!(
            ns.route_get_src(dest),
            "2001:db8::2",
            "the prediction came true"
        );
        let after = ns.nlsel(&["prefer", "2001:db8::beef", "--dry-run", "--probe", dest]);
        after.expect_ok();
        assert!(
        after
            .stdout
            .contains(&format!("probe {dest}: the kernel uses 2001:db8::2 now, 2001:db8::beef after the change (predicted)")),
        "{}",
        after.stdout
    );
        let real = ns.nlsel(&["prefer", "2001:db8::beef", "--probe", dest]);
        real.expect_ok();
        assert!(
            real.stdout.ends_with(&format!(
                "probe {dest}: the kernel uses 2001:db8::beef (as predicted)\n"
            )),
            "{}",
            real.stdout
        );
    }
);

nstest!(
    fn a_probe_without_a_route_says_so_and_fails_nothing(ns: Netns) {
        one_interface(&ns, &["2001:db8::2/64", "2001:db8::beef/64"]);
        // No IPv4 route at all: 198.51.100.1 is unreachable; the IPv6 probe still answers.
        let probes = ["--probe", "198.51.100.1", "--probe", "2001:db8:9::9"];
        let dry = ns.nlsel(&[&["prefer", "2001:db8::2", "--dry-run"][..], &probes].concat());
        dry.expect_ok();
        assert!(
            dry.stdout.contains("probe 198.51.100.1: no route\n"),
            "{}",
            dry.stdout
        );
        assert!(
        dry.stdout.contains("probe 2001:db8:9::9: the kernel uses 2001:db8::beef now, 2001:db8::2 after the change (predicted)"),
        "{}",
        dry.stdout
    );
        let real = ns.nlsel(&[&["-j", "prefer", "2001:db8::2"][..], &probes].concat());
        real.expect_ok();
        let line = real.lines().last().copied().unwrap_or_default();
        let json: Value = serde_json::from_str(line).expect("probe JSON");
        assert_eq!(json["probes"][0]["no_route"], true, "{line}");
        assert_eq!(json["probes"][0]["kernel_src"], Value::Null);
        assert_eq!(json["probes"][1]["no_route"], false, "{line}");
        assert_eq!(json["probes"][1]["kernel_src"], "2001:db8::2", "{line}");
    }
);

/// Waits until `ns` has a temporary address on `dev`, not tentative, and returns
/// (temporary, public) addresses in 2001:db8:5::/64.
fn wait_slaac(ns: &Netns) -> (String, String) {
    for _ in 0..20000 {
        let addrs = ns.addrs_in(&["dev", "e0"]);
        let slaac: Vec<_> = addrs
            .iter()
            .filter(|a| a.local.starts_with("2001:db8:5:"))
            .collect();
        let temporary = slaac.iter().find(|a| a.has("temporary"));
        let public = slaac.iter().find(|a| a.has("mngtmpaddr"));
        if let (Some(t), Some(p)) = (temporary, public)
            && !slaac.iter().any(|a| a.has("tentative"))
        {
            return (t.local.clone(), p.local.clone());
        }
        std::thread::yield_now();
    }
    panic!(
        "no temporary address appeared: {}",
        ns.ip(&["addr", "show"])
    );
}

nstest!(
    fn rule_7_temporary_addresses_from_slaac(_py: Python3, namespaces: Namespaces) {
        for use_tempaddr in [1, 2] {
            let a = namespaces.make();
            let b = namespaces.make();
            a.ip(&["link", "add", "e0", "type", "veth", "peer", "name", "ra0"]);
            a.ip(&["link", "set", "ra0", "netns", b.name()]);
            sysctl(
                &a,
                &[
                    "net.ipv6.conf.e0.accept_ra=2".to_string(),
                    "net.ipv6.conf.e0.autoconf=1".to_string(),
                    format!("net.ipv6.conf.e0.use_tempaddr={use_tempaddr}"),
                ],
            );
            a.ip(&["link", "set", "e0", "up"]);
            b.ip(&["link", "set", "ra0", "up"]);
            b.settle();
            a.settle();
            a.ip(&["-6", "route", "add", "default", "dev", "e0"]);
            let out = b.exec(&["python3", RA_SENDER, "ra0", "2001:db8:5::", "7200", "3600"]);
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let (temporary, public) = wait_slaac(&a);
            let json = agreed(&a, "2001:db8:9::9");
            if use_tempaddr == 1 {
                assert_eq!(json["src"], public.as_str());
                assert_eq!(rule(&json, &temporary), 7.0, "{json}");
            } else {
                assert_eq!(json["src"], temporary.as_str());
                assert_eq!(rule(&json, &public), 7.0, "{json}");
            }
        }
    }
);

/// One global address on each of [`two_interfaces`]' interfaces, in networks of their own.
const TWO_NETWORKS: &[(&str, &str)] = &[("e0", "2001:db8:1::1/64"), ("e1", "2001:db8:2::1/64")];

/// Two veth pairs `e0`/`p0` and `e1`/`p1`, up, with the given addresses, settled.
fn two_interfaces(ns: &Netns, addresses: &[(&str, &str)]) {
    ns.veth("e0", "p0");
    ns.veth("e1", "p1");
    for (dev, spec) in addresses {
        ns.add_addr(dev, &format!("{spec} nodad"));
    }
    ns.settle();
}

/// `nlsel -j which ARGS` must answer what `connect()` gets for `query`.
fn which_is_connect(ns: &Netns, query: &Query) -> String {
    let connected = connect_sources(ns, std::slice::from_ref(query)).remove(0);
    let (code, json, stderr) = which_json(ns, &query.args());
    assert_eq!(
        (code, json["src"].as_str()),
        (0, Some(connected.as_str())),
        "{query:?}: {stderr}"
    );
    connected
}

nstest!(
    fn scoped_destinations_are_asked_on_their_interface(ns: Netns) {
        two_interfaces(&ns, &[]);
        let link_local = |dev: &str| {
            ns.addrs()
                .into_iter()
                .find(|a| a.ifname == dev && a.local.starts_with("fe80:"))
                .expect("a link-local address")
                .local
        };
        for dev in ["e0", "e1"] {
            for dest in ["fe80::1", "ff02::1", "ff01::1"] {
                let scoped = Query::to(&format!("{dest}%{dev}"));
                assert_eq!(which_is_connect(&ns, &scoped), link_local(dev));
                let bound = Query {
                    dev: Some(dev.to_string()),
                    ..Query::to(dest)
                };
                assert_eq!(which_is_connect(&ns, &bound), link_local(dev));
            }
        }
        // Without a scope connect() fails (EINVAL): nlsel says the application must give one.
        for dest in ["fe80::1", "ff02::1", "ff01::1"] {
            let query = Query::to(dest);
            assert_eq!(
                connect_sources(&ns, std::slice::from_ref(&query)),
                ["error 22"]
            );
            let (code, _, stderr) = which_json(&ns, &query.args());
            assert_eq!(code, 2, "{stderr}");
            assert!(stderr.contains(&format!("{dest}%IFACE")), "{stderr}");
        }
        // Multicast of scope 0 needs none (ipv6_addr_type gives it no scope type).
        let reserved = Query {
            dev: None,
            ..Query::to("ff00::1")
        };
        let connected = connect_sources(&ns, std::slice::from_ref(&reserved)).remove(0);
        let (code, _, stderr) = which_json(&ns, &reserved.args());
        assert_ne!(code, 2, "{stderr}");
        assert_ne!(connected, "error 22");
        // connect() ignores a scope a destination does not need: nlsel refuses it.
        let (code, _, stderr) = which_json(&ns, &["2001:db8::1%e0".to_string()]);
        assert_eq!(code, 2, "{stderr}");
        assert!(stderr.contains("--dev"), "{stderr}");
        let (code, _, stderr) = which_json(&ns, &["fe80::1%nosuch".to_string()]);
        assert_eq!(code, 1, "{stderr}");
        assert!(stderr.contains("\"nosuch\" not found"), "{stderr}");
    }
);

nstest!(
    fn the_flow_takes_the_ecmp_path_a_udp_socket_takes(ns: Netns) {
        two_interfaces(&ns, TWO_NETWORKS);
        ns.ip(&[
            "-6",
            "route",
            "add",
            "2001:db8:99::/48",
            "nexthop",
            "via",
            "fe80::1",
            "dev",
            "e0",
            "nexthop",
            "via",
            "fe80::2",
            "dev",
            "e1",
        ]);
        let mut sources = BTreeSet::new();
        let mut flowless_differs = false;
        for n in 1..=40 {
            let query = Query::to(&format!("2001:db8:99::{n:x}"));
            let connected = which_is_connect(&ns, &query);
            // `ip route get` without a protocol hashes another flow: the protocol must be asked.
            let flowless = kernel_source(&ns, &query.dest).expect("a route");
            flowless_differs |= flowless.as_deref() != Some(connected.as_str());
            sources.insert(connected);
        }
        assert_eq!(sources.len(), 2, "both paths are taken: {sources:?}");
        assert!(flowless_differs, "no destination tells the flow from none");
        // --explain lists each path's source instead of one answer.
        let (code, json, stderr) = explain(&ns, "2001:db8:99::1");
        assert_eq!((code, &json["agrees"]), (0, &Value::Bool(true)), "{stderr}");
        let paths: BTreeSet<(String, String)> = json["paths"]
            .as_array()
            .expect("paths")
            .iter()
            .map(|p| (p["dev"].to_string(), p["src"].to_string()))
            .collect();
        let expected: BTreeSet<(String, String)> = [
            ("\"e0\"", "\"2001:db8:1::1\""),
            ("\"e1\"", "\"2001:db8:2::1\""),
        ]
        .iter()
        .map(|(d, s)| (d.to_string(), s.to_string()))
        .collect();
        assert_eq!(paths, expected, "{json}");
        let out = ns.nlsel(&["which", "2001:db8:99::1", "--explain"]);
        assert!(
            out.stdout.contains("ECMP: the route has 2 paths"),
            "{}",
            out.stdout
        );
        // --tcp asks TCP's hash: what `ip route get ... ipproto tcp` answers.
        for n in 1..=10 {
            let dest = format!("2001:db8:99::{n:x}");
            let out = ns.ip(&["-6", "route", "get", &dest, "ipproto", "tcp"]);
            let (code, json, stderr) = which_json(&ns, &[dest.clone(), "--tcp".to_string()]);
            assert_eq!(code, 0, "{stderr}");
            let src = json["src"].as_str().expect("a source");
            assert!(
                out.contains(&format!("src {src} ")),
                "{dest}: {out} vs {json}"
            );
        }
    }
);

nstest!(
    fn mapped_and_unspecified_destinations_as_connect_has_them(ns: Netns) {
        two_interfaces(&ns, &[("e0", "2001:db8:1::1/64"), ("e0", "192.0.2.5/24")]);
        ns.ip(&["-6", "route", "add", "default", "dev", "e0"]);
        // Over IPv4, as an application's dual-stack socket goes.
        let mapped = Query::to("::ffff:192.0.2.9");
        assert_eq!(which_is_connect(&ns, &mapped), "192.0.2.5");
        let (_, json, _) = which_json(&ns, &mapped.args());
        assert_eq!(json["dst"], "192.0.2.9");
        // connect() to :: reaches ::1, not the default route.
        assert_eq!(which_is_connect(&ns, &Query::to("::")), "::1");
    }
);

nstest!(
    fn a_source_specific_route_is_reached_as_connect_reaches_it(ns: Netns) {
        two_interfaces(&ns, TWO_NETWORKS);
        ns.ip(&[
            "-6",
            "route",
            "add",
            "2001:db8:2:5::/64",
            "from",
            "2001:db8:2::/64",
            "dev",
            "e1",
        ]);
        // No route from ::, so `ip route get` fails; connect() chooses 2001:db8:2::1 (longest
        // matching prefix over every interface) and finds the route from it.
        assert!(kernel_source(&ns, "2001:db8:2:5::9").is_err());
        assert_eq!(
            which_is_connect(&ns, &Query::to("2001:db8:2:5::9")),
            "2001:db8:2::1"
        );
        let (code, json, stderr) = explain(&ns, "2001:db8:2:5::9");
        assert_eq!(
            (code, &json["kernel_src"]),
            (0, &Value::from("2001:db8:2::1")),
            "{stderr}"
        );
        assert_eq!(json["dev"], "e1");
        // Bound to e0 the second lookup holds to e0, where no route leads: connect() fails.
        let bound = Query {
            dev: Some("e0".to_string()),
            ..Query::to("2001:db8:2:5::9")
        };
        assert_eq!(
            connect_sources(&ns, std::slice::from_ref(&bound)),
            ["error 101"]
        );
        assert_eq!(which_json(&ns, &bound.args()).0, 1);
    }
);

nstest!(
    fn explain_without_a_source_exits_1_as_which_does(ns: Netns) {
        one_interface(&ns, &[]);
        // A route and no address to send from: no source.
        ns.ip(&["route", "add", "198.51.100.0/24", "dev", "e0"]);
        for args in [&["198.51.100.1"][..], &["198.51.100.1", "--explain"]] {
            let out = ns.nlsel(&[&["which"][..], args].concat());
            out.expect_code(1);
            assert!(out.stderr.contains("no source address"), "{}", out.stderr);
        }
    }
);

nstest!(
    fn a_nexthop_group_gives_its_first_members_source_whatever_the_path(ns: Netns) {
        two_interfaces(&ns, TWO_NETWORKS);
        ns.ip_batch(
            "nexthop add id 1 via fe80::1 dev e0\n\
         nexthop add id 2 via fe80::2 dev e1\n\
         nexthop add id 10 group 2/1\n\
         nexthop add id 3 via fe80::1 dev e0\n\
         route add 2001:db8:99::/48 nhid 10\n\
         route add 2001:db8:98::/48 nhid 3\n",
        );
        // The single nexthop is not one of the group's: the kernel caches a route per nexthop
        // and CPU, so a route through a group member can answer with the group's source on one
        // CPU and its own on another (6.18), which nothing nlsel reads can tell.
        // Group 2/1: its first member is e1's, so every flow gets e1's address, also the flows
        // the hash sends out of e0.
        let mut devices = BTreeSet::new();
        for n in 1..=24 {
            let dest = format!("2001:db8:99::{n:x}");
            assert_eq!(which_is_connect(&ns, &Query::to(&dest)), "2001:db8:2::1");
            let (code, json, stderr) = which_json(&ns, &[dest, "--explain".to_string()]);
            assert_eq!(
                (code, &json["agrees"]),
                (0, &Value::from(true)),
                "{json} {stderr}"
            );
            assert_eq!(json["nexthop_group"], 10, "{json}");
            devices.insert(json["dev"].as_str().unwrap_or("").to_string());
        }
        assert!(
            devices.contains("e0"),
            "no flow takes e0's path: {devices:?}"
        );
        // A single nexthop: its own device.
        assert_eq!(
            which_is_connect(&ns, &Query::to("2001:db8:98::1")),
            "2001:db8:1::1"
        );
        assert_eq!(
            explain(&ns, "2001:db8:98::1").1["nexthop_group"],
            Value::Null
        );
        // use_oif_addrs_only on the first member's device, which has no global address: the
        // kernel takes its link-local address, even for a global destination.
        ns.ip(&["-6", "addr", "del", "2001:db8:2::1/64", "dev", "e1"]);
        sysctl(&ns, &["net.ipv6.conf.e1.use_oif_addrs_only=1".to_string()]);
        let link_local = ns
            .addrs()
            .into_iter()
            .find(|a| a.ifname == "e1" && a.local.starts_with("fe80:"))
            .expect("e1's link-local address")
            .local;
        for n in 1..=8 {
            let dest = format!("2001:db8:99::{n:x}");
            assert_eq!(which_is_connect(&ns, &Query::to(&dest)), link_local);
            assert_eq!(agreed(&ns, &dest)["src"], link_local.as_str());
        }
    }
);

nstest!(
    fn the_device_order_is_the_kernels_not_ifindex_order(ns: Netns, other: Netns) {
        // x1 (index 20) arrives before x0 (index 10); m0 (index 5) is moved in last.
        let add = |ns: &Netns, name: &str, index: &str, peer: &str, peer_index: &str| {
            ns.ip(&[
                "link", "add", name, "index", index, "type", "veth", "peer", "name", peer, "index",
                peer_index,
            ]);
        };
        add(&ns, "x1", "20", "y1", "21");
        add(&ns, "x0", "10", "y0", "11");
        add(&other, "m0", "5", "n0", "6");
        other.ip(&["link", "set", "m0", "netns", ns.name()]);
        other.ip(&["link", "set", "n0", "netns", ns.name()]);
        for dev in ["x1", "y1", "x0", "y0", "m0", "n0"] {
            ns.ip(&["link", "set", dev, "up"]);
        }
        // Equal on every rule but the last: same prefix length and match, none on the outgoing
        // interface (y0).
        ns.add_addr("x1", "2001:db8:1::1/64 nodad");
        ns.add_addr("x0", "2001:db8:1::2/64 nodad");
        ns.add_addr("m0", "2001:db8:1::3/64 nodad");
        ns.settle();
        ns.ip(&["-6", "route", "add", "default", "dev", "y0"]);
        let dest = "2001:db8:9::9";
        assert_eq!(which_is_connect(&ns, &Query::to(dest)), "2001:db8:1::1");
        let json = agreed(&ns, dest);
        assert_eq!(rule(&json, "2001:db8:1::2"), 10.0);
        let position = |local: &str| {
            json["candidates"]
                .as_array()
                .and_then(|c| c.iter().position(|c| c["local"] == local))
                .expect("a candidate")
        };
        assert!(
            position("2001:db8:1::1") < position("2001:db8:1::2"),
            "{json}"
        );
        assert!(
            position("2001:db8:1::2") < position("2001:db8:1::3"),
            "{json}"
        );
        // Without x1's address: x0 (index 10) before m0 (index 5, moved in last).
        ns.ip(&["-6", "addr", "del", "2001:db8:1::1/64", "dev", "x1"]);
        assert_eq!(which_is_connect(&ns, &Query::to(dest)), "2001:db8:1::2");
        assert_eq!(rule(&agreed(&ns, dest), "2001:db8:1::3"), 10.0);
    }
);

nstest!(
    fn a_label_entry_given_as_a_compatible_prefix_is_unsupported_not_wrong(ns: Netns) {
        two_interfaces(&ns, &[("e1", "fe80::5/64")]);
        // e0, the outgoing interface, has no address; ::1 and the link-local addresses tie
        // until the label. The kernel keeps the entry for IPv4-compatible addresses only, so
        // ::1 gets ::/0's label 1, the destination's; the dump shows it as ::/96 label 7.
        ns.ip(&["-6", "addr", "flush", "dev", "e0"]);
        ns.ip(&["-6", "route", "add", "default", "dev", "e0"]);
        // Not ip_batch: it waits for every interface's link-local address, and e0 has none.
        let labels = |commands: &str| {
            let failed = ip_batch_force(&ns, commands);
            assert!(failed.trim().is_empty(), "{failed}");
        };
        labels(
            "addrlabel del prefix ::1/128 label 0\n\
         addrlabel del prefix ::/96 label 3\n\
         addrlabel add prefix ::2/96 label 7\n\
         addrlabel add prefix fe80::/10 label 5\n",
        );
        let dest = "f000::9";
        assert_eq!(which_is_connect(&ns, &Query::to(dest)), "::1");
        let (code, json, stderr) = explain(&ns, dest);
        assert_eq!(code, 0, "{stderr}");
        assert_eq!(json["kernel_src"], "::1");
        assert_ne!(json["agrees"], false, "{json}");
        assert!(
            json["unsupported"]
                .as_str()
                .is_some_and(|reason| reason.contains("::/96")),
            "{json}"
        );
        // Given as ::/96 the entry applies to ::1 too, and the kernel answers otherwise; the
        // dump is the same, so it is still unsupported, and the model's reading agrees.
        labels("addrlabel del prefix ::/96 label 7\naddrlabel add prefix ::/96 label 7\n");
        let (code, json, stderr) = explain(&ns, dest);
        assert_eq!((code, &json["agrees"]), (0, &Value::Bool(true)), "{stderr}");
        assert_ne!(json["kernel_src"], "::1");
        assert_eq!(
            Some(json["kernel_src"].as_str().unwrap_or("").to_string()),
            kernel_source(&ns, dest).expect("a route")
        );
        assert!(json["unsupported"].is_string(), "{json}");
    }
);

nstest!(
    fn an_ipv4_mapped_address_is_never_a_usable_source(ns: Netns) {
        one_interface(&ns, &["::ffff:10.0.0.1/128 nodad"]);
        ns.settle();
        // The kernel chooses it (scope global, the only one), and connect() refuses it.
        let query = Query::to("2001:db8::1");
        assert_eq!(
            connect_sources(&ns, std::slice::from_ref(&query)),
            ["error 97"]
        );
        assert_eq!(
            kernel_source(&ns, "2001:db8::1"),
            Ok(Some("::ffff:10.0.0.1".to_string()))
        );
        for explain in [false, true] {
            let mut args = query.args();
            if explain {
                args.push("--explain".to_string());
            }
            let (code, json, stderr) = which_json(&ns, &args);
            assert_eq!(code, 1, "{json} {stderr}");
            assert!(stderr.contains("EAFNOSUPPORT"), "{stderr}");
            if explain {
                assert_eq!(json["agrees"], true, "{json}");
            }
        }
        let out = ns.nlsel(&["which", "2001:db8::1", "--explain"]);
        assert!(out.stdout.contains("EAFNOSUPPORT"), "{}", out.stdout);
        // A global address of the destination's label beats it at rule 6.
        ns.add_addr("e0", "2001:db8::5/64 nodad");
        ns.settle();
        assert_eq!(which_is_connect(&ns, &query), "2001:db8::5");
        assert_eq!(rule(&agreed(&ns, "2001:db8::1"), "::ffff:10.0.0.1"), 6.0);
    }
);
