//! `nlsel prefer`, `undeprecate`, `addr change` and `which`, against iproute2.

mod common;

use std::collections::BTreeSet;

use common::{
    FOREVER, Netns, SEED_2, SEED_BEEF, SEED_DEST, SEED_IF, SEED_LOW2, assert_rejected, nstest,
    quoted,
};

const TIMED: &str = "2001:db8:5::1";
const TIMED_SPEC: &str = "2001:db8:5::1/64 valid_lft 3600 preferred_lft 1800 nodad noprefixroute";

// ---------------------------------------------------------------- prefer

nstest!(
    fn prefer_makes_address_the_source_and_deprecates_the_rest(ns: Netns) {
        ns.seed();
        // Start from the recipe's fixed state, so ::beef needs un-deprecating.
        ns.nlsel(&["deprecate", "--except", SEED_LOW2]).expect_ok();
        assert_eq!(ns.route_get_src(SEED_DEST), SEED_2, "setup");
        let cidr = |l: &str| ns.addr(l).cidr();

        let run = ns.nlsel(&["prefer", SEED_BEEF]);
        run.expect_ok();

        let beef = ns.addr(SEED_BEEF);
        assert_eq!(beef.preferred, FOREVER, "preferred := valid (forever)");
        assert!(!beef.has("deprecated"));
        for other in [SEED_2, SEED_LOW2] {
            assert!(ns.addr(other).is_deprecated(), "{other}");
        }
        assert_eq!(ns.route_get_src(SEED_DEST), SEED_BEEF);
        assert_eq!(
            run.line_set(),
            BTreeSet::from([
                format!("preferred {} dev {SEED_IF}", cidr(SEED_BEEF)),
                format!("deprecated {} dev {SEED_IF}", cidr(SEED_2)),
                format!("deprecated {} dev {SEED_IF}", cidr(SEED_LOW2)),
            ])
        );
    }
);

nstest!(
    fn prefer_keeps_valid_lifetime_and_flags(ns: Netns) {
        ns.veth(SEED_IF, "venet0p");
        ns.add_addr(SEED_IF, TIMED_SPEC);
        ns.add_addr(SEED_IF, "2001:db8:6::1/64 mngtmpaddr");

        let run = ns.nlsel(&["-j", "prefer", TIMED]);
        run.expect_ok();

        let t = ns.addr(TIMED);
        assert!(t.valid <= 3600 && t.valid > 3000, "{t:?}");
        assert_eq!(t.preferred, t.valid, "preferred := remaining valid: {t:?}");
        assert!(t.has("nodad") && t.has("noprefixroute"), "{t:?}");
        assert!(
            !ns.routes6()
                .iter()
                .any(|r| r.starts_with("2001:db8:5::/64"))
        );
        let other = ns.addr("2001:db8:6::1");
        assert!(
            other.is_deprecated() && other.has("mngtmpaddr"),
            "{other:?}"
        );
        assert_eq!(other.valid, FOREVER);

        let json = run.json();
        let actions: BTreeSet<(String, String)> = json
            .as_array()
            .expect("array")
            .iter()
            .map(|a| {
                (
                    a["action"].as_str().expect("action").to_owned(),
                    a["local"].as_str().expect("local").to_owned(),
                )
            })
            .collect();
        assert_eq!(
            actions,
            BTreeSet::from([
                ("prefer".to_owned(), TIMED.to_owned()),
                ("deprecate".to_owned(), "2001:db8:6::1".to_owned()),
            ])
        );
    }
);

nstest!(
    fn prefer_missing_address_fails(ns: Netns) {
        ns.seed();
        assert_rejected(
            &ns,
            &["prefer", "2001:db8::dead"],
            1,
            &[&quoted("2001:db8::dead"), "not found"],
        );
    }
);

// ---------------------------------------------------------------- undeprecate

nstest!(
    fn undeprecate_restores_preferred_to_valid(ns: Netns) {
        ns.seed();
        ns.add_addr(SEED_IF, TIMED_SPEC);
        ns.nlsel(&["deprecate", "--except", SEED_LOW2]).expect_ok();
        let deprecated: Vec<_> = ns
            .addrs()
            .into_iter()
            .filter(|a| a.preferred == 0)
            .collect();
        assert_eq!(deprecated.len(), 2, "setup: {deprecated:?}");

        let run = ns.nlsel(&["undeprecate"]);
        run.expect_ok();

        for d in &deprecated {
            let a = ns.addr(&d.local);
            assert_eq!(a.preferred, a.valid, "{a:?}");
            assert!(!a.has("deprecated"), "{a:?}");
            assert_eq!(a.flags, {
                let mut f = d.flags.clone();
                f.remove("deprecated");
                f
            });
        }
        assert_eq!(ns.addr(SEED_BEEF).preferred, FOREVER);
        let t = ns.addr(TIMED);
        assert!(t.valid <= 3600 && t.valid > 3000, "{t:?}");
        assert_eq!(
            run.line_set(),
            deprecated
                .iter()
                .map(|d| format!("undeprecated {} dev {SEED_IF}", d.cidr()))
                .collect()
        );

        let settled = ns.snapshot();
        let again = ns.nlsel(&["undeprecate"]);
        again.expect_ok();
        assert_eq!(again.stdout, "", "nothing left to undeprecate");
        ns.assert_unchanged(&settled, &again.command);
    }
);

nstest!(
    fn undeprecate_dev_limits_interfaces(ns: Netns) {
        ns.veth(SEED_IF, "venet0p");
        ns.veth("eth1", "eth1p");
        ns.add_addr(SEED_IF, "2001:db8:a::1/64 preferred_lft 0");
        ns.add_addr("eth1", "2001:db8:b::1/64 preferred_lft 0");
        ns.add_addr("eth1", "2001:db8:b::2/64");

        let run = ns.nlsel(&["-j", "undeprecate", "--dev", SEED_IF]);
        run.expect_ok();

        assert_eq!(ns.addr("2001:db8:a::1").preferred, FOREVER);
        assert!(ns.addr("2001:db8:b::1").is_deprecated());
        let json = run.json();
        let actions = json.as_array().expect("array");
        assert_eq!(actions.len(), 1, "{json}");
        assert_eq!(actions[0]["action"], "undeprecate");
        assert_eq!(actions[0]["local"], "2001:db8:a::1");
        assert_eq!(actions[0]["ifname"], SEED_IF);
    }
);

// ---------------------------------------------------------------- addr change

nstest!(
    fn addr_change_sets_preferred_and_keeps_the_rest(ns: Netns) {
        ns.veth(SEED_IF, "venet0p");
        ns.add_addr(SEED_IF, TIMED_SPEC);
        let before = ns.addr(TIMED);

        let run = ns.nlsel(&[
            "addr",
            "change",
            &before.cidr(),
            "dev",
            SEED_IF,
            "preferred_lft",
            "100",
        ]);
        run.expect_ok();

        let a = ns.addr(TIMED);
        assert!(a.preferred <= 100 && a.preferred > 0, "{a:?}");
        assert!(a.valid <= 3600 && a.valid > 3000, "valid kept: {a:?}");
        assert_eq!(a.flags, before.flags, "flags kept");
        assert!(
            !ns.routes6()
                .iter()
                .any(|r| r.starts_with("2001:db8:5::/64"))
        );
        let prefix = format!(
            "changed {} dev {SEED_IF} preferred_lft 100 valid_lft ",
            before.cidr()
        );
        let lines = run.lines();
        assert_eq!(lines.len(), 1, "{}", run.stdout);
        let valid: u64 = lines[0]
            .strip_prefix(&prefix)
            .unwrap_or_else(|| panic!("expected `{prefix}N`, got {}", lines[0]))
            .parse()
            .unwrap_or_else(|_| panic!("valid_lft must be a number: {}", lines[0]));
        assert!(valid <= 3600 && valid > 3000, "{}", lines[0]);
    }
);

nstest!(
    fn addr_change_without_len_sets_valid(ns: Netns) {
        ns.veth(SEED_IF, "venet0p");
        ns.add_addr(SEED_IF, TIMED_SPEC);
        let before = ns.addr(TIMED);

        ns.nlsel(&["addr", "change", TIMED, "dev", SEED_IF, "valid_lft", "2500"])
            .expect_ok();

        let a = ns.addr(TIMED);
        assert!(a.valid <= 2500 && a.valid > 2000, "{a:?}");
        assert!(
            a.preferred <= 1800 && a.preferred > 1200,
            "preferred kept: {a:?}"
        );
        assert_eq!(a.flags, before.flags);
        assert_eq!(a.prefixlen, before.prefixlen);
    }
);

nstest!(
    fn addr_change_to_forever(ns: Netns) {
        ns.veth(SEED_IF, "venet0p");
        ns.add_addr(SEED_IF, TIMED_SPEC);
        let before = ns.addr(TIMED);

        let run = ns.nlsel(&[
            "addr",
            "change",
            TIMED,
            "dev",
            SEED_IF,
            "preferred_lft",
            "forever",
            "valid_lft",
            "forever",
        ]);
        run.expect_ok();

        let a = ns.addr(TIMED);
        assert_eq!((a.valid, a.preferred), (FOREVER, FOREVER), "{a:?}");
        // A permanent address loses iproute2's "dynamic" flag; everything else stays.
        let mut expected = before.flags.clone();
        expected.remove("dynamic");
        assert_eq!(a.flags, expected);
        assert_eq!(
            run.stdout.trim_end(),
            format!(
                "changed {} dev {SEED_IF} preferred_lft forever valid_lft forever",
                before.cidr()
            )
        );
    }
);

nstest!(
    fn addr_change_never_creates(ns: Netns) {
        ns.seed();
        let missing = "2001:db8:ab::1";
        assert_rejected(
            &ns,
            &[
                "addr",
                "change",
                &format!("{missing}/64"),
                "dev",
                SEED_IF,
                "preferred_lft",
                "100",
            ],
            1,
            &[missing],
        );
        assert!(ns.find_addr(missing).is_none(), "address was created");
    }
);

nstest!(
    fn addr_change_with_wrong_prefix_length_fails(ns: Netns) {
        ns.veth(SEED_IF, "venet0p");
        ns.add_addr(SEED_IF, TIMED_SPEC);
        let before = ns.snapshot();
        let run = ns.nlsel(&[
            "addr",
            "change",
            &format!("{TIMED}/80"),
            "dev",
            SEED_IF,
            "preferred_lft",
            "100",
        ]);
        assert!(
            run.code == 1 || run.code == 2,
            "`{}` must fail with 1 or 2, got {}: {}",
            run.command,
            run.code,
            run.stderr
        );
        run.expect_one_error_line(&[TIMED]);
        ns.assert_unchanged(&before, &run.command);
    }
);

nstest!(
    fn addr_change_preferred_above_valid_is_usage_error(ns: Netns) {
        ns.veth(SEED_IF, "venet0p");
        ns.add_addr(SEED_IF, TIMED_SPEC);
        assert_rejected(
            &ns,
            &[
                "addr",
                "change",
                &format!("{TIMED}/64"),
                "dev",
                SEED_IF,
                "preferred_lft",
                "500",
                "valid_lft",
                "100",
            ],
            2,
            &["500"],
        );
    }
);

nstest!(
    fn addr_change_ipv4_lifetimes(ns: Netns) {
        ns.veth(SEED_IF, "venet0p");
        ns.add_addr(SEED_IF, "10.9.8.7/24 label venet0:7");
        let before = ns.addr("10.9.8.7");
        assert_eq!(before.valid, FOREVER, "setup");

        ns.nlsel(&[
            "addr",
            "change",
            "10.9.8.7/24",
            "dev",
            SEED_IF,
            "valid_lft",
            "600",
            "preferred_lft",
            "300",
        ])
        .expect_ok();

        let a = ns.addr("10.9.8.7");
        assert!(a.valid <= 600 && a.valid > 0, "{a:?}");
        assert!(a.preferred <= 300 && a.preferred > 0, "{a:?}");
        assert_eq!(a.label.as_deref(), Some("venet0:7"), "label kept");
        assert_eq!(a.prefixlen, 24);
    }
);

// ---------------------------------------------------------------- which

nstest!(
    fn which_prints_the_kernels_source_address(ns: Netns) {
        ns.seed();
        for step in 0..2 {
            let expected = ns.route_get_src(SEED_DEST);
            let run = ns.nlsel(&["which", SEED_DEST]);
            run.expect_ok();
            let lines = run.lines();
            assert_eq!(lines.len(), 1, "{}", run.stdout);
            let words: Vec<&str> = lines[0].split_whitespace().collect();
            assert_eq!(words.first(), Some(&expected.as_str()), "{}", lines[0]);
            assert!(
                words.windows(2).any(|w| w == ["dev", SEED_IF]),
                "{}",
                lines[0]
            );

            let json = ns.nlsel(&["-j", "which", SEED_DEST]);
            json.expect_ok();
            let v = json.json();
            assert_eq!(v["dst"], SEED_DEST, "{v}");
            assert_eq!(v["src"], expected.as_str(), "{v}");
            assert_eq!(v["dev"], SEED_IF, "{v}");

            if step == 0 {
                // Move the source address and ask again, so the answer is not a constant.
                ns.nlsel(&["deprecate", "--except", SEED_LOW2]).expect_ok();
            }
        }
    }
);

nstest!(
    fn which_unreachable_fails_with_kernel_error(ns: Netns) {
        ns.seed();
        ns.ip(&["-6", "route", "add", "unreachable", "2001:db8:dead::/48"]);
        let dest = "2001:db8:dead::1";
        let oracle = ns.ip_try(&["-6", "route", "get", dest]);
        assert!(!oracle.status.success(), "setup: route get should fail");
        let oracle_err = String::from_utf8_lossy(&oracle.stderr);
        let reason = oracle_err
            .trim()
            .rsplit(": ")
            .next()
            .expect("ip prints a reason")
            .to_owned();

        let run = ns.nlsel(&["which", dest]);
        run.expect_code(1).expect_one_error_line(&[&reason]);
    }
);
