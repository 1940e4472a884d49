//! `nlsel -j show` is a drop-in for `ip -j addr show`: the whole JSON document, link-level keys
//! included, is compared value for value with iproute2's on links of several kinds (loopback,
//! veth pairs up and down, a veth whose peer is in another namespace, a bridge and its port, a
//! VLAN where the kernel offers one) and addresses of every kind, with and without `dev IF`.
//!
//! Two differences are allowed, both narrow: a lifetime that counts down between the calls
//! must lie between iproute2's readings taken before and after nlsel's; and the "protocol"
//! key (`IFA_PROTO`), which iproute2 prints from 6.2 on, is ignored only when the installed
//! iproute2 prints it for no address at all although the kernel sent one.

mod common;

use common::{Netns, nstest, parse_ip_json};
use serde_json::Value;

/// Links and addresses of every kind this kernel offers, in `ns`; `other` holds a veth peer.
fn scenario(ns: &Netns, other: &Netns) -> Vec<&'static str> {
    let mut devs = vec!["lo", "va", "vb", "vc", "vd", "vx"];
    // A pair that is up on one side only: NO-CARRIER on vc, M-DOWN on both.
    ns.ip(&["link", "add", "vc", "type", "veth", "peer", "name", "vd"]);
    ns.ip(&["link", "set", "vc", "up"]);
    ns.veth("va", "vb");
    ns.ip(&[
        "link",
        "set",
        "vb",
        "mtu",
        "1400",
        "txqueuelen",
        "0",
        "group",
        "5",
    ]);
    ns.ip(&["link", "set", "vb", "address", "02:00:00:00:00:0b"]);
    ns.ip(&["link", "property", "add", "dev", "va", "altname", "uplink0"]);
    // A peer in another namespace: "link_index" and "link_netnsid" instead of "link".
    ns.ip(&[
        "link",
        "add",
        "vx",
        "type",
        "veth",
        "peer",
        "name",
        "vy",
        "netns",
        other.name(),
    ]);
    if ns
        .ip_try(&["link", "add", "br0", "type", "bridge"])
        .status
        .success()
    {
        ns.ip(&["link", "set", "vx", "master", "br0"]);
        ns.ip(&["link", "set", "br0", "up"]);
        devs.push("br0");
    } else {
        eprintln!("note: this kernel has no bridge driver; the bridge case is not covered");
    }
    if ns
        .ip_try(&[
            "link", "add", "link", "va", "name", "va.7", "type", "vlan", "id", "7",
        ])
        .status
        .success()
    {
        ns.ip(&["link", "set", "va.7", "up"]);
        devs.push("va.7");
    } else {
        eprintln!("note: this kernel has no 802.1Q driver; the VLAN case is not covered");
    }
    for spec in [
        "2001:db8:1::2/64 nodad",
        "2001:db8:1::3/64 noprefixroute valid_lft 7200 preferred_lft 3600",
        "2001:db8:1::4/64 mngtmpaddr",
        "2001:db8:1::5/64 home preferred_lft 0",
        "2001:db8:1::6/64 metric 300",
        "192.0.2.1/24 brd + label va:pub",
        "192.0.2.2/24",
        "10.9.0.1 peer 10.9.0.2/32",
        "2001:db8:2::1 peer 2001:db8:2::2/128",
    ] {
        ns.add_addr("va", spec);
    }
    ns.add_addr("vb", "198.51.100.7/25 scope link");
    ns.add_addr("vb", "2001:db8:3::1/64 scope site");
    ns.settle();
    devs
}

/// `ip -j addr show ARGS` and `nlsel -j show ARGS` agree; `ip` runs before and after nlsel so
/// that a lifetime counting down is checked against both readings.
fn assert_same_as_ip(ns: &Netns, args: &[&str]) {
    let mut ip_args = vec!["-j", "addr", "show"];
    ip_args.extend(args);
    let before = parse_ip_json(&ns.ip(&ip_args));
    let mut nlsel_args = vec!["-j", "show"];
    nlsel_args.extend(args);
    let run = ns.nlsel(&nlsel_args);
    run.expect_ok();
    let after = parse_ip_json(&ns.ip(&ip_args));
    let mut ours = run.json();

    if !mentions_key(&before, "protocol") && mentions_key(&ours, "protocol") {
        eprintln!("note: this iproute2 predates IFA_PROTO; \"protocol\" is not compared");
        strip_key(&mut ours, "protocol");
    }
    settle_lifetimes(&mut ours, &before, &after, "");
    assert_eq!(
        ours,
        before,
        "nlsel -j show {args:?} differs from ip -j addr show:\nnlsel: {}\nip:    {}",
        serde_json::to_string(&ours).unwrap(),
        serde_json::to_string(&before).unwrap()
    );
}

fn mentions_key(value: &Value, key: &str) -> bool {
    match value {
        Value::Object(map) => {
            map.contains_key(key) || map.values().any(|value| mentions_key(value, key))
        }
        Value::Array(items) => items.iter().any(|value| mentions_key(value, key)),
        _ => false,
    }
}

fn strip_key(value: &mut Value, key: &str) {
    match value {
        Value::Object(map) => {
            map.remove(key);
            map.values_mut().for_each(|value| strip_key(value, key));
        }
        Value::Array(items) => items.iter_mut().for_each(|value| strip_key(value, key)),
        _ => {}
    }
}

/// Where `ours` has a lifetime that iproute2 read differently, it must lie between iproute2's
/// two readings; it is then replaced by the first, so that the rest compares exactly.
fn settle_lifetimes(ours: &mut Value, before: &Value, after: &Value, key: &str) {
    match (ours, before, after) {
        (Value::Object(map), Value::Object(before), Value::Object(after)) => {
            for (key, value) in map.iter_mut() {
                if let (Some(b), Some(a)) = (before.get(key), after.get(key)) {
                    settle_lifetimes(value, b, a, key);
                }
            }
        }
        (Value::Array(items), Value::Array(before), Value::Array(after)) => {
            for ((item, b), a) in items.iter_mut().zip(before).zip(after) {
                settle_lifetimes(item, b, a, "");
            }
        }
        (ours @ Value::Number(_), Value::Number(b), Value::Number(a))
            if key.ends_with("_life_time") && Some(&*ours) != Some(&Value::Number(b.clone())) =>
        {
            let (b, a, o) = (
                b.as_u64().unwrap(),
                a.as_u64().unwrap(),
                ours.as_u64().unwrap(),
            );
            assert!(
                a <= o && o <= b,
                "{key}: nlsel read {o}, iproute2 read {b} before and {a} after"
            );
            *ours = Value::from(b);
        }
        _ => {}
    }
}

nstest!(
    fn json_show_is_ip_json_addr_show(ns: Netns, other: Netns) {
        let devs = scenario(&ns, &other);
        let whole = parse_ip_json(&ns.ip(&["-j", "addr", "show"]));
        // The scenario really produced what the comparison is meant to cover.
        let text = whole.to_string();
        for needle in [
            "\"link_index\"",
            "\"link_netnsid\"",
            "\"altnames\"",
            "\"M-DOWN\"",
            "\"NO-CARRIER\"",
            "\"secondary\"",
            "\"deprecated\"",
            "\"dynamic\"",
            "\"group\":\"5\"",
        ] {
            assert!(text.contains(needle), "scenario lacks {needle}: {text}");
        }
        assert_same_as_ip(&ns, &[]);
        for dev in devs {
            assert_same_as_ip(&ns, &["dev", dev]);
        }
        assert_same_as_ip(&other, &[]);
    }
);
