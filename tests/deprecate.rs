//! `nlsel deprecate`: which addresses it deprecates, what it preserves, and how it treats
//! interfaces, checked against iproute2 in private network namespaces.

mod common;

use std::collections::BTreeSet;

use common::{
    FOREVER, Netns, SEED_2, SEED_BEEF, SEED_DEST, SEED_IF, SEED_LOW2, assert_rejected, nstest,
    quoted,
};

/// The text line nlsel prints for a deprecated address.
fn deprecated_line(cidr: &str, dev: &str) -> String {
    format!("deprecated {cidr} dev {dev}")
}

/// Asserts which of `locals` are deprecated after a run (by iproute2's view).
fn assert_states(ns: &Netns, deprecated: &[&str], preferred: &[&str]) {
    for local in deprecated {
        let a = ns.addr(local);
        assert!(a.is_deprecated(), "{local} should be deprecated: {a:?}");
    }
    for local in preferred {
        let a = ns.addr(local);
        assert!(
            a.preferred > 0 && !a.has("deprecated"),
            "{local} should still be preferred: {a:?}"
        );
    }
}

nstest!(
    fn seed_scenario_deprecates_beef_and_moves_source_address(ns: Netns) {
        ns.seed();
        let before_src = ns.route_get_src(SEED_DEST);
        // The recipe exists because the kernel picks the newest address; make sure the setup
        // reproduces the problem, so the post-condition below means something.
        assert_eq!(
            before_src, SEED_BEEF,
            "setup: kernel should pick the newest address before nlsel runs"
        );
        let beef = ns.addr(SEED_BEEF);

        let run = ns.nlsel(&["deprecate", "--except", SEED_LOW2]);
        run.expect_ok();

        assert_eq!(
            run.line_set(),
            BTreeSet::from([deprecated_line(&beef.cidr(), SEED_IF)]),
            "stdout of `{}`",
            run.command
        );
        assert_eq!(
            run.stderr, "",
            "kept addresses are preferred, so no warning expected"
        );
        assert_states(&ns, &[SEED_BEEF], &[SEED_2, SEED_LOW2]);
        let after = ns.addr(SEED_BEEF);
        assert_eq!(after.valid, FOREVER, "valid lifetime must stay forever");
        assert_eq!(after.preferred, 0);
        assert_eq!(ns.route_get_src(SEED_DEST), SEED_2);
    }
);

nstest!(
    fn preserves_lifetimes_flags_and_metric(ns: Netns) {
        ns.seed();
        let timed = "2001:db8:5::1";
        let mngtmp = "2001:db8:6::1";
        let metric = "2001:db8:7::1";
        let home = "2001:db8:8::1";
        ns.add_addr(
            SEED_IF,
            &format!("{timed}/64 valid_lft 3600 preferred_lft 1800 nodad noprefixroute"),
        );
        ns.add_addr(SEED_IF, &format!("{mngtmp}/64 mngtmpaddr"));
        ns.add_addr(SEED_IF, &format!("{metric}/64 metric 300"));
        ns.add_addr(SEED_IF, &format!("{home}/64 home"));
        // iproute2 6.1 has no `proto` for `ip addr add`, so IFA_PROTO preservation is not
        // exercised here.
        let before: Vec<_> = [timed, mngtmp, metric, home]
            .iter()
            .map(|l| ns.addr(l))
            .collect();
        assert!(
            !ns.routes6()
                .iter()
                .any(|r| r.starts_with("2001:db8:5::/64")),
            "setup: noprefixroute address must have no prefix route"
        );

        ns.nlsel(&["deprecate", "--except", SEED_LOW2]).expect_ok();

        for b in &before {
            let a = ns.addr(&b.local);
            assert!(a.is_deprecated(), "{} should be deprecated: {a:?}", b.local);
            let mut expected_flags = b.flags.clone();
            expected_flags.insert("deprecated".to_owned());
            assert_eq!(a.flags, expected_flags, "flags of {}", b.local);
            assert_eq!(a.metric, b.metric, "metric of {}", b.local);
            assert_eq!(a.prefixlen, b.prefixlen);
        }
        let t = ns.addr(timed);
        assert!(
            t.valid <= 3600 && t.valid > 3000,
            "valid lifetime of {timed} must keep counting down from 3600, got {}",
            t.valid
        );
        for l in [mngtmp, metric, home] {
            assert_eq!(ns.addr(l).valid, FOREVER, "{l} must stay valid forever");
        }
        assert!(
            !ns.routes6()
                .iter()
                .any(|r| r.starts_with("2001:db8:5::/64")),
            "a prefix route appeared for the noprefixroute address: {:?}",
            ns.routes6()
        );
        let metric_route = ns
            .routes6()
            .into_iter()
            .find(|r| r.starts_with("2001:db8:7::/64"))
            .expect("prefix route of the metric 300 address");
        assert!(
            metric_route.contains("metric 300"),
            "prefix route metric changed: {metric_route}"
        );
    }
);

nstest!(
    /// What the naive `ip addr change ... preferred_lft 0` of the seed recipe does to the same
    /// address: it resets valid_lft to forever and drops nodad/noprefixroute. This shows the
    /// preservation test above can fail.
    fn naive_ip_addr_change_would_break_preservation(ns: Netns) {
        ns.veth(SEED_IF, "venet0p");
        let timed = "2001:db8:5::1";
        ns.add_addr(
            SEED_IF,
            &format!("{timed}/64 valid_lft 3600 preferred_lft 1800 nodad noprefixroute"),
        );
        ns.ip(&[
            "addr",
            "change",
            &format!("{timed}/64"),
            "dev",
            SEED_IF,
            "preferred_lft",
            "0",
        ]);
        let a = ns.addr(timed);
        let kept_everything = a.valid <= 3600 && a.has("nodad") && a.has("noprefixroute");
        assert!(
            !kept_everything,
            "this kernel/iproute2 keeps lifetimes and flags on a bare change; the preservation test \
         no longer distinguishes nlsel from the naive recipe: {a:?}"
        );
    }
);

nstest!(
    fn second_run_changes_nothing(ns: Netns) {
        ns.seed();
        ns.add_addr(
            SEED_IF,
            "2001:db8:5::1/64 valid_lft 3600 preferred_lft 1800 nodad noprefixroute",
        );
        ns.nlsel(&["deprecate", "--except", SEED_LOW2]).expect_ok();
        let after_first = ns.snapshot();

        let check = ns.nlsel(&["deprecate", "--except", SEED_LOW2, "--check"]);
        check.expect_ok();
        ns.assert_unchanged(&after_first, &check.command);

        let second = ns.nlsel(&["deprecate", "--except", SEED_LOW2]);
        second.expect_ok();
        assert_eq!(
            second.stdout, "",
            "already deprecated addresses get no message"
        );
        ns.assert_unchanged(&after_first, &second.command);

        let json = ns.nlsel(&["-j", "deprecate", "--except", SEED_LOW2]);
        json.expect_ok();
        assert_eq!(
            json.json(),
            serde_json::json!([]),
            "empty plan must print []"
        );
        ns.assert_unchanged(&after_first, &json.command);
    }
);

nstest!(
    fn host_part_pattern_matches_by_bits(ns: Netns) {
        ns.veth(SEED_IF, "venet0p");
        ns.add_addr(SEED_IF, &format!("{SEED_2}/80"));
        ns.add_addr(SEED_IF, &format!("{SEED_LOW2}/128"));
        ns.add_addr(SEED_IF, "2001:db8::a:2/64");
        ns.add_addr(SEED_IF, "2001:db8::12/64");

        let run = ns.nlsel(&["deprecate", "--except", "::2"]);
        run.expect_ok();

        assert_states(
            &ns,
            &["2001:db8::a:2", "2001:db8::12"],
            &[SEED_2, SEED_LOW2],
        );
        assert_eq!(
            run.line_set(),
            BTreeSet::from([
                deprecated_line("2001:db8::a:2/64", SEED_IF),
                deprecated_line("2001:db8::12/64", SEED_IF),
            ])
        );
    }
);

nstest!(
    /// The host part is only the bits after the address's own prefix length, and only when that
    /// length is below 128; the pattern must fit in those bits.
    fn host_part_pattern_respects_prefix_length(ns: Netns) {
        ns.veth(SEED_IF, "venet0p");
        ns.add_addr(SEED_IF, &format!("{SEED_2}/80")); // keeps the interface non-empty
        ns.add_addr(SEED_IF, "2001:db8:77::2/128"); // /128: no host part, not equal to ::2
        ns.add_addr(SEED_IF, "2001:db8:78::2/126"); // 2 host bits hold 2
        ns.add_addr(SEED_IF, "2001:db8:79::2/127"); // 1 host bit cannot hold 2

        ns.nlsel(&["deprecate", "--except", "::2"]).expect_ok();

        assert_states(
            &ns,
            &["2001:db8:77::2", "2001:db8:79::2"],
            &[SEED_2, "2001:db8:78::2"],
        );
    }
);

nstest!(
    fn prefix_pattern_keeps_addresses_inside(ns: Netns) {
        ns.veth(SEED_IF, "venet0p");
        let inside = ["2001:db8:1::5", "2001:db8:1:ff::9"];
        let outside = ["2001:db8:2::5", "2001:db8:0:1::5"];
        for a in inside.iter().chain(&outside) {
            ns.add_addr(SEED_IF, &format!("{a}/64"));
        }

        ns.nlsel(&["deprecate", "--except", "2001:db8:1::/48"])
            .expect_ok();

        assert_states(&ns, &outside, &inside);
    }
);

nstest!(
    fn full_address_pattern_matches_exactly(ns: Netns) {
        ns.veth(SEED_IF, "venet0p");
        ns.add_addr(SEED_IF, "2001:db8:2::5/64");
        ns.add_addr(SEED_IF, "2001:db8:2::6/64");
        ns.add_addr(SEED_IF, "2001:db8:3::5/64"); // same host part, different prefix

        ns.nlsel(&["deprecate", "--except", "2001:db8:2::5"])
            .expect_ok();

        assert_states(&ns, &["2001:db8:2::6", "2001:db8:3::5"], &["2001:db8:2::5"]);
    }
);

nstest!(
    fn several_patterns_are_ored(ns: Netns) {
        ns.veth(SEED_IF, "venet0p");
        ns.add_addr(SEED_IF, "2001:db8:2::5/64");
        ns.add_addr(SEED_IF, "2001:db8:3::7/64");
        ns.add_addr(SEED_IF, "2001:db8:4::9/64");

        ns.nlsel(&[
            "deprecate",
            "--except",
            "::5",
            "--except",
            "2001:db8:3::/48",
        ])
        .expect_ok();

        assert_states(&ns, &["2001:db8:4::9"], &["2001:db8:2::5", "2001:db8:3::7"]);
    }
);

/// Two interfaces, `venet0` (seed) and `eth1` whose addresses match no pattern.
fn two_interfaces(ns: &Netns) -> [&'static str; 2] {
    ns.seed();
    ns.veth("eth1", "eth1p");
    let eth1 = ["2001:db8:aaaa::5/64", "2001:db8:bbbb::7/64"];
    for a in eth1 {
        ns.add_addr("eth1", a);
    }
    // IPv4 and link-local addresses only: must be ignored silently.
    ns.add_addr("eth1p", "10.0.0.1/24");
    eth1
}

fn is_left_alone_line(line: &str, ifname: &str) -> bool {
    let head = format!("left alone: {ifname}");
    line == head || line.starts_with(&format!("{head} "))
}

nstest!(
    fn interface_without_match_is_left_alone(ns: Netns) {
        two_interfaces(&ns);
        let eth1_before: Vec<_> = ns
            .addrs()
            .into_iter()
            .filter(|a| a.ifname == "eth1")
            .collect();

        let run = ns.nlsel(&["deprecate", "--except", SEED_LOW2]);
        run.expect_ok();

        let lines = run.lines();
        assert!(
            lines.iter().any(|l| is_left_alone_line(l, "eth1")),
            "expected `left alone: eth1` in:\n{}",
            run.stdout
        );
        for quiet in ["eth1p", "lo", "venet0p"] {
            assert!(
                !lines.iter().any(|l| is_left_alone_line(l, quiet)),
                "{quiet} has no global IPv6 address and must be ignored silently:\n{}",
                run.stdout
            );
        }
        assert!(
            lines.contains(&deprecated_line(&format!("{SEED_BEEF}/80"), SEED_IF).as_str()),
            "venet0 is still handled:\n{}",
            run.stdout
        );
        let eth1_after: Vec<_> = ns
            .addrs()
            .into_iter()
            .filter(|a| a.ifname == "eth1")
            .collect();
        common::Snapshot::of(&eth1_before)
            .assert_same(&common::Snapshot::of(&eth1_after), "eth1 left alone");
        assert_states(&ns, &[SEED_BEEF], &[SEED_2, SEED_LOW2]);
    }
);

nstest!(
    fn dev_naming_left_alone_interface_changes_nothing(ns: Netns) {
        two_interfaces(&ns);
        assert_rejected(
            &ns,
            &["deprecate", "--except", SEED_LOW2, "--dev", "eth1"],
            1,
            &["eth1"],
        );
        // venet0 would have been changed; it must not be either.
        assert_rejected(
            &ns,
            &[
                "deprecate",
                "--except",
                SEED_LOW2,
                "--dev",
                SEED_IF,
                "--dev",
                "eth1",
            ],
            1,
            &["eth1"],
        );
        assert_states(&ns, &[], &[SEED_BEEF, SEED_2, SEED_LOW2]);
    }
);

nstest!(
    fn dev_naming_missing_interface_fails(ns: Netns) {
        ns.seed();
        assert_rejected(
            &ns,
            &["deprecate", "--except", SEED_LOW2, "--dev", "nosuch"],
            1,
            &[&quoted("nosuch"), "not found"],
        );
    }
);

nstest!(
    fn dev_limits_which_interfaces_change(ns: Netns) {
        ns.seed();
        ns.veth("eth1", "eth1p");
        ns.add_addr("eth1", "2001:db8:cc::2/64");
        ns.add_addr("eth1", "2001:db8:cc::99/64");

        let run = ns.nlsel(&["deprecate", "--except", SEED_LOW2, "--dev", "eth1"]);
        run.expect_ok();

        assert_states(&ns, &["2001:db8:cc::99"], &["2001:db8:cc::2", SEED_BEEF]);
        assert_eq!(
            run.line_set(),
            BTreeSet::from([deprecated_line("2001:db8:cc::99/64", "eth1")])
        );
    }
);

nstest!(
    fn warns_when_no_kept_address_is_preferred(ns: Netns) {
        ns.veth(SEED_IF, "venet0p");
        ns.add_addr(SEED_IF, &format!("{SEED_2}/80 preferred_lft 0"));
        ns.add_addr(SEED_IF, &format!("{SEED_BEEF}/80"));

        let run = ns.nlsel(&["deprecate", "--except", SEED_LOW2]);
        run.expect_ok();

        assert_states(&ns, &[SEED_BEEF, SEED_2], &[]);
        let warning = format!("nlsel: warning: {SEED_IF}: ");
        assert!(
            run.stderr.lines().any(|l| l.starts_with(&warning)),
            "expected a line starting with `{warning}` on stderr, got:\n{}",
            run.stderr
        );
    }
);

nstest!(
    fn ipv4_and_link_local_addresses_are_untouched(ns: Netns) {
        ns.seed();
        ns.add_addr(SEED_IF, "10.10.23.159/32 label venet0:0");
        let others_before: Vec<_> = ns
            .addrs()
            .into_iter()
            .filter(|a| !a.is_global_v6())
            .collect();
        assert!(
            others_before
                .iter()
                .any(|a| a.scope == "link" && a.ifname == SEED_IF),
            "setup: venet0 should have a link-local address"
        );

        ns.nlsel(&["deprecate", "--except", SEED_LOW2]).expect_ok();

        let others_after: Vec<_> = ns
            .addrs()
            .into_iter()
            .filter(|a| !a.is_global_v6())
            .collect();
        common::Snapshot::of(&others_before).assert_same(
            &common::Snapshot::of(&others_after),
            "non-global or IPv4 addresses",
        );
    }
);
