//! Bad input and missing privileges: the exit code, one `nlsel: ` line on stderr naming the
//! bad value, and an untouched namespace.

mod common;

use std::process::Command;

use common::{BIN, Netns, Run, SEED_IF, SEED_LOW2, assert_rejected, nstest, quoted};

/// A usage error (exit 2) in a seed namespace; `needles` must appear in the message.
fn usage_error(args: &[&str], needles: &[&str]) {
    let Some(ns) = Netns::new_or_skip() else {
        return;
    };
    ns.seed();
    assert_rejected(&ns, args, 2, needles);
}

/// A usage error after a good argument: exit 2, one line naming the bad value, and nothing
/// changed. Which words are usage errors, and what each message names, is checked without a
/// kernel by the unit tests in src/cli.rs (they need no root and no namespace).
#[test]
fn bad_pattern_after_good_one_changes_nothing() {
    usage_error(
        &["deprecate", "--except", SEED_LOW2, "--except", "zzz"],
        &[&quoted("zzz")],
    );
}

#[test]
fn missing_netns_is_runtime_error() {
    let name = format!("nlsel-t-{}-absent", std::process::id());
    let path = format!("/run/netns/{name}");
    assert!(
        !std::path::Path::new(&path).exists(),
        "setup: {path} must not exist"
    );
    let run = Run::from_command(Command::new(BIN).args(["-n", &name, "show"]));
    run.expect_code(1)
        .expect_one_error_line(&["network namespace", &quoted(&name)]);
}

#[test]
fn missing_netns_path_is_runtime_error() {
    let path = format!("/run/netns/nlsel-t-{}-absent-dir/ns", std::process::id());
    let run = Run::from_command(Command::new(BIN).args(["-n", &path, "show"]));
    run.expect_code(1)
        .expect_one_error_line(&["network namespace", &quoted(&path)]);
}

nstest!(
    fn unprivileged_deprecate_changes_nothing(ns: Netns) {
        ns.seed();
        let before = ns.snapshot();
        let run = ns.nlsel_unprivileged(&["deprecate", "--except", SEED_LOW2]);
        run.expect_code(1).expect_one_error_line(&["CAP_NET_ADMIN"]);
        ns.assert_unchanged(&before, &run.command);
    }
);

nstest!(
    fn unprivileged_addr_change_changes_nothing(ns: Netns) {
        ns.seed();
        let before = ns.snapshot();
        let run = ns.nlsel_unprivileged(&[
            "addr",
            "change",
            "2001:db8:f1c1:8454:964::beef/80",
            "dev",
            SEED_IF,
            "preferred_lft",
            "0",
        ]);
        run.expect_code(1).expect_one_error_line(&["CAP_NET_ADMIN"]);
        ns.assert_unchanged(&before, &run.command);
    }
);

#[test]
fn help_and_version() {
    let help = Run::from_command(Command::new(BIN).arg("--help"));
    help.expect_ok();
    for command in [
        "show",
        "deprecate",
        "prefer",
        "undeprecate",
        "addr change",
        "which",
    ] {
        assert!(help.stdout.contains(command), "--help lacks {command}");
    }
    let short = Run::from_command(Command::new(BIN).arg("-h"));
    short.expect_ok();
    assert_eq!(short.stdout, help.stdout, "-h and --help differ");

    let sub = Run::from_command(Command::new(BIN).args(["deprecate", "--help"]));
    sub.expect_ok();
    assert!(sub.stdout.contains("--except"), "{}", sub.stdout);

    for flag in ["-V", "--version"] {
        let version = Run::from_command(Command::new(BIN).arg(flag));
        version.expect_ok();
        assert!(
            version.stdout.contains(env!("CARGO_PKG_VERSION")),
            "{flag}: {}",
            version.stdout
        );
    }
}
