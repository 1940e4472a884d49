//! Alternative interface names (`ip link property add dev IF altname ALT`): `ip` and the kernel
//! accept them wherever a name is expected, and so does nlsel: `show dev ALT`, `--dev ALT` and
//! `addr change ... dev ALT`, checked with `ip -j addr show`.

mod common;

use common::{Netns, SEED_BEEF, SEED_IF, SEED_LOW2, nstest};

const ALT: &str = "venet0-alt";

fn with_altname(ns: &Netns) {
    ns.seed();
    ns.ip(&["link", "property", "add", "dev", SEED_IF, "altname", ALT]);
}

nstest!(
    fn show_dev_accepts_an_alternative_name(ns: Netns) {
        with_altname(&ns);
        let run = ns.nlsel(&["show", "dev", ALT]);
        run.expect_ok();
        let by_name = ns.nlsel(&["show", "dev", SEED_IF]);
        by_name.expect_ok();
        assert_eq!(run.stdout, by_name.stdout);
        assert!(
            run.lines()
                .first()
                .and_then(|line| line.split(": ").nth(1))
                .is_some_and(|name| name.split('@').next() == Some(SEED_IF)),
            "{}",
            run.stdout
        );
        let json = ns.nlsel(&["-j", "show", "dev", ALT]);
        json.expect_ok();
        assert_eq!(json.json()[0]["ifname"], SEED_IF, "{}", json.stdout);
        ns.nlsel(&["show", "dev", "no-such-name"]).expect_code(1);
    }
);

nstest!(
    fn dev_option_accepts_an_alternative_name(ns: Netns) {
        with_altname(&ns);
        ns.nlsel(&["deprecate", "--except", SEED_LOW2, "--dev", ALT])
            .expect_ok();
        assert!(ns.addr(SEED_BEEF).is_deprecated(), "{SEED_BEEF}");
        ns.nlsel(&["undeprecate", "--dev", ALT]).expect_ok();
        assert!(!ns.addr(SEED_BEEF).is_deprecated(), "{SEED_BEEF}");
    }
);

nstest!(
    fn addr_change_accepts_an_alternative_name(ns: Netns) {
        with_altname(&ns);
        let cidr = ns.addr(SEED_BEEF).cidr();
        ns.nlsel(&["addr", "change", &cidr, "dev", ALT, "preferred_lft", "0"])
            .expect_ok();
        assert!(ns.addr(SEED_BEEF).is_deprecated(), "{SEED_BEEF}");
    }
);

nstest!(
    fn which_accepts_an_alternative_name_as_device_and_scope(ns: Netns) {
        with_altname(&ns);
        for (by_alt, by_name) in [
            (
                vec!["which", "fe80::1%venet0-alt"],
                vec!["which", "fe80::1%venet0"],
            ),
            (
                vec!["which", "ff02::1", "--dev", ALT],
                vec!["which", "ff02::1", "--dev", SEED_IF],
            ),
        ] {
            let alt = ns.nlsel(&by_alt);
            let name = ns.nlsel(&by_name);
            assert_eq!(
                (alt.code, &alt.stdout, &alt.stderr),
                (name.code, &name.stdout, &name.stderr),
                "{by_alt:?}"
            );
            assert!(!name.stderr.contains("not found"), "{}", name.stderr);
        }
    }
);
