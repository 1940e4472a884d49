//! Smaller defects of the change path, each reproduced against the real kernel: kept addresses
//! the kernel cannot use, prefix routes a change brings back, IPv4 lifetimes the kernel
//! ignores, namespace paths that are not namespaces, and interface names that are not UTF-8.
//! iproute2 is the oracle throughout.

mod common;

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{BIN, Netns, Run, nstest};

/// Runs nlsel with `args`, which must succeed with `warning` on stderr and leave `working`,
/// the interface's only usable address, not deprecated.
fn spares_the_only_working_address(ns: &Netns, args: &[&str], warning: &str, working: &str) {
    let run = ns.nlsel(args);
    run.expect_ok();
    assert!(run.stderr.contains(warning), "no warning: {run:?}");
    assert!(
        !ns.addr(working).is_deprecated(),
        "the only working address was deprecated: {run:?}"
    );
}

/// `ip -n NS BEFORE... NAME AFTER...`, which must succeed: for names that are not UTF-8.
fn ip_naming(ns: &Netns, before: &[&str], name: &OsStr, after: &[&str]) {
    let out = Command::new("ip")
        .args(["-n", ns.name()])
        .args(before)
        .arg(name)
        .args(after)
        .output()
        .expect("run ip");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

nstest!(
    /// A kept address still in duplicate address detection (on a down link it stays tentative)
    /// is no source the kernel can use: deprecating the others would leave the interface with no
    /// working address. nlsel leaves the interface alone and says why.
    fn tentative_kept_address_does_not_count_as_usable(ns: Netns) {
        ns.ip(&["link", "add", "vt0", "type", "veth", "peer", "name", "vt0p"]);
        ns.exec(&["sysctl", "-qw", "net.ipv6.conf.vt0.accept_dad=1"]);
        ns.ip(&["addr", "add", "2001:db8:6::2/64", "dev", "vt0"]);
        ns.ip(&["addr", "add", "2001:db8:6::beef/64", "dev", "vt0", "nodad"]);
        assert!(
            ns.addr("2001:db8:6::2").has("tentative"),
            "setup: ::2 not tentative"
        );

        spares_the_only_working_address(
            &ns,
            &["deprecate", "--except", "::2"],
            "vt0: every address matching --except is still tentative",
            "2001:db8:6::beef",
        );
    }
);

nstest!(
    /// The same for an address that failed duplicate address detection: the peer holds the same
    /// address, so DAD on vt0 fails (the kernel's own timer; polled with a deadline).
    fn dadfailed_kept_address_does_not_count_as_usable(ns: Netns) {
        ns.veth("vt0", "vt0p");
        ns.add_addr("vt0p", "2001:db8:7::2/64 nodad");
        ns.add_addr("vt0", "2001:db8:7::beef/64 nodad");
        ns.exec(&["sysctl", "-qw", "net.ipv6.conf.vt0.accept_dad=1"]);
        ns.ip(&["addr", "add", "2001:db8:7::2/64", "dev", "vt0"]);
        let on_vt0 = || {
            ns.addrs_in(&["dev", "vt0"])
                .into_iter()
                .find(|a| a.local == "2001:db8:7::2")
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while !on_vt0().is_some_and(|a| a.has("dadfailed")) {
            assert!(
                Instant::now() < deadline,
                "DAD never failed: {:?}",
                on_vt0()
            );
            std::thread::yield_now();
        }

        spares_the_only_working_address(
            &ns,
            &["deprecate", "--except", "::2", "--dev", "vt0"],
            "failed duplicate address detection",
            "2001:db8:7::beef",
        );
    }
);

nstest!(
    /// An IPv6 change without `noprefixroute` makes the kernel re-install the address's prefix
    /// route, also one an operator deleted. nlsel cannot prevent it without changing the flags,
    /// so it says so.
    fn reinstalled_prefix_route_is_reported(ns: Netns) {
        ns.veth("venet0", "venet0p");
        ns.add_addr("venet0", "2001:db8:5::2/64");
        ns.add_addr("venet0", "2001:db8:5::beef/64");
        ns.ip(&["-6", "route", "del", "2001:db8:5::/64", "dev", "venet0"]);
        let has_route = || {
            ns.routes6()
                .iter()
                .any(|r| r.starts_with("2001:db8:5::/64 "))
        };
        assert!(!has_route(), "setup: the prefix route is still there");

        let dry = ns.nlsel(&["deprecate", "--except", "::2", "--dry-run"]);
        dry.expect_ok();
        assert!(
            dry.stderr
                .contains("may re-install the prefix route 2001:db8:5::/64 dev venet0"),
            "{dry:?}"
        );
        let run = ns.nlsel(&["deprecate", "--except", "::2"]);
        run.expect_ok();
        assert!(
            run.stderr
                .contains("re-installed the prefix route 2001:db8:5::/64 dev venet0"),
            "{run:?}"
        );
        assert!(
            has_route(),
            "the kernel did not re-install the route: {run:?}"
        );

        // With the route there, nothing to say.
        let undo = ns.nlsel(&["undeprecate"]);
        undo.expect_ok();
        assert_eq!(undo.stderr, "", "{undo:?}");

        // On a link that is down the kernel installs no prefix route: nothing was re-installed,
        // so nothing is claimed.
        ns.ip(&[
            "link", "add", "down0", "type", "veth", "peer", "name", "down0p",
        ]);
        ns.ip(&["addr", "add", "2001:db8:6::2/64", "dev", "down0", "nodad"]);
        ns.ip(&[
            "addr",
            "add",
            "2001:db8:6::beef/64",
            "dev",
            "down0",
            "nodad",
        ]);
        let down = ns.nlsel(&["deprecate", "--except", "::2", "--dev", "down0"]);
        down.expect_ok();
        assert!(
            !ns.routes6()
                .iter()
                .any(|r| r.starts_with("2001:db8:6::/64 ")),
            "the kernel installed a prefix route on a down link: {down:?}"
        );
        assert_eq!(down.stderr, "", "{down:?}");
        assert!(ns.addr("2001:db8:6::beef").is_deprecated(), "{down:?}");
    }
);

nstest!(
    /// IPv4 marks an address with valid_lft forever permanent and ignores a finite preferred_lft;
    /// nlsel reports what the kernel does, not what it was asked.
    fn ipv4_finite_preferred_with_valid_forever_is_reported_as_the_kernel_keeps_it(ns: Netns) {
        ns.veth("venet0", "venet0p");
        ns.add_addr("venet0", "10.5.0.1/24");
        let change = [
            "addr",
            "change",
            "10.5.0.1",
            "dev",
            "venet0",
            "preferred_lft",
            "100",
        ];
        for _ in 0..2 {
            let run = ns.nlsel(&change);
            run.expect_ok();
            assert!(
                !run.stdout.contains("preferred_lft 100"),
                "nlsel claims a change the kernel does not make: {run:?}"
            );
            assert!(run.stderr.contains("is ignored by the kernel"), "{run:?}");
            let address = ns.addr("10.5.0.1");
            assert_eq!(
                (address.preferred, address.valid),
                (common::FOREVER, common::FOREVER),
                "{run:?}"
            );
        }
        // A finite valid lifetime makes the preferred one count again.
        let run = ns.nlsel(&[&change[..], &["valid_lft", "200"]].concat());
        run.expect_ok();
        assert_eq!(
            run.stdout,
            "changed 10.5.0.1/24 dev venet0 preferred_lft 100 valid_lft 200\n"
        );
        let address = ns.addr("10.5.0.1");
        assert!(
            address.preferred <= 100 && address.valid <= 200,
            "{address:?}"
        );
    }
);

/// Runs `nlsel -n PATH show`, failing the test if it has not ended within ten seconds.
fn nlsel_netns_path(path: &OsStr) -> Run {
    let mut child = Command::new(BIN)
        .arg("-n")
        .arg(path)
        .arg("show")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start nlsel");
    let deadline = Instant::now() + Duration::from_secs(10);
    while child.try_wait().expect("poll nlsel").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("`nlsel -n {}` hangs", path.to_string_lossy());
        }
        std::thread::yield_now();
    }
    let out = child.wait_with_output().expect("nlsel output");
    Run {
        command: format!("nlsel -n {} show", path.to_string_lossy()),
        code: out.status.code().expect("nlsel exited"),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

nstest!(
    /// `-n` with a path that is not a network namespace: a FIFO must not block nlsel (a plain
    /// open waits for a writer), and any other file is refused with one clear line.
    /// (The namespace is unused: the test needs what it needs, root.)
    fn netns_path_that_is_no_namespace_is_refused_without_hanging(_ns: Netns) {
        let dir = std::env::temp_dir().join(format!("nlsel-netns-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create a scratch directory");
        let fifo = dir.join("fifo");
        let _ = std::fs::remove_file(&fifo);
        let made = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
        assert!(made.success());
        let file = dir.join("file");
        std::fs::write(&file, "not a namespace\n").expect("write a file");

        for path in [&fifo, &file, &dir] {
            let run = nlsel_netns_path(path.as_os_str());
            run.expect_code(1)
                .expect_one_error_line(&["not a namespace file"]);
            assert_eq!(run.stdout, "");
        }
        let mount_ns = nlsel_netns_path(OsStr::new("/proc/self/ns/mnt"));
        mount_ns
            .expect_code(1)
            .expect_one_error_line(&["not of a network namespace"]);
        let _ = std::fs::remove_dir_all(&dir);
    }
);

nstest!(
    /// `--dry-run` prints commands to run; an interface name that is not UTF-8 must come out as
    /// the same bytes, not replaced by U+FFFD, which could name another interface. Here that other
    /// interface exists and holds the same address: running the printed lines must deprecate the
    /// address on each interface exactly once.
    fn dry_run_prints_non_utf8_interface_names_exactly(ns: Netns) {
        let raw = OsStr::from_bytes(b"v\xff0");
        let lossy = OsStr::from_bytes("v\u{fffd}0".as_bytes());
        for (name, peer) in [(raw, "p0"), (lossy, "p1")] {
            ip_naming(
                &ns,
                &["link", "add"],
                name,
                &["type", "veth", "peer", "name", peer],
            );
            for address in ["2001:db8:8::2/64", "2001:db8:8::beef/64"] {
                ip_naming(&ns, &["addr", "add", address, "dev"], name, &["nodad"]);
            }
        }
        let dry = ns.nlsel(&["deprecate", "--except", "::2", "--dry-run"]);
        dry.expect_ok();
        let lines = dry.lines();
        assert_eq!(lines.len(), 2, "{dry:?}");
        for line in lines {
            let command = line
                .strip_prefix("ip ")
                .unwrap_or_else(|| panic!("not an ip command: {line}"));
            let out = Command::new("bash")
                .arg("-c")
                .arg(format!("ip -n {} {command}", ns.name()))
                .output()
                .expect("run bash");
            assert!(
                out.status.success(),
                "`{line}` failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let beefs: Vec<_> = ns
            .addrs()
            .into_iter()
            .filter(|a| a.local == "2001:db8:8::beef")
            .collect();
        assert_eq!(beefs.len(), 2);
        assert!(
            beefs.iter().all(|a| a.is_deprecated()),
            "running the dry run's lines did not deprecate beef on both interfaces: {beefs:?}\n{dry:?}"
        );
    }
);
