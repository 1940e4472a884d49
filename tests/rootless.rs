//! Rootless-container conditions: nlsel runs inside `unshare --user --map-root-user --net`, so
//! it has CAP_NET_ADMIN only in its own user namespace, the kernel refuses SO_RCVBUFFORCE, and
//! its receive buffer is capped by `net.core.rmem_max`, here the kernel default 212992 for the
//! test's duration (restored afterwards, even on failure: the sysctl is global). With 1,200
//! addresses to change, a batch sized for a 4 MiB buffer loses ACKs; nlsel must size its
//! batches to the buffer the kernel granted, and every core command must succeed, with
//! iproute2 as the oracle.
//!
//! The test records the addresses changed, the exit codes and, when strace is installed, how
//! many datagrams (batches) `deprecate` sent.

mod common;

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

use common::{BIN, addrs_from_json, have_program, parse_ip_json, skip};

const RMEM_MAX: &str = "/proc/sys/net/core/rmem_max";
/// The kernel's default `net.core.rmem_max`, as a minimal host or container has it.
const DEFAULT_RMEM_MAX: &str = "212992";
const ADDRESSES: usize = 1200;
const KEPT: &str = "2001:db8:c0::2";

/// Sets `net.core.rmem_max` for the test's duration and restores the old value on drop.
struct RmemMax {
    old: String,
}

impl RmemMax {
    fn set(value: &str) -> Option<RmemMax> {
        let old = std::fs::read_to_string(RMEM_MAX).ok()?;
        std::fs::write(RMEM_MAX, value).ok()?;
        Some(RmemMax {
            old: old.trim().to_owned(),
        })
    }
}

impl Drop for RmemMax {
    fn drop(&mut self) {
        if let Err(error) = std::fs::write(RMEM_MAX, &self.old) {
            eprintln!(
                "could not restore net.core.rmem_max to {}: {error}",
                self.old
            );
        }
    }
}

/// A user and network namespace pair held open by a sleeping process, killed on drop.
struct Container {
    holder: Child,
}

impl Container {
    fn start() -> Option<Container> {
        let holder = Command::new("unshare")
            .args(["--user", "--map-root-user", "--net", "sleep", "600"])
            .stdin(Stdio::null())
            .spawn()
            .ok()?;
        let container = Container { holder };
        // unshare execs sleep once both namespaces exist; until then /proc shows unshare.
        let comm = format!("/proc/{}/comm", container.holder.id());
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while std::fs::read_to_string(&comm).ok()?.trim() != "sleep" {
            if std::time::Instant::now() > deadline {
                return None;
            }
            std::thread::yield_now();
        }
        Some(container)
    }

    /// Runs `program ARGS...` inside both namespaces, as the container's root.
    fn exec(&self, program: &str, args: &[&str]) -> Output {
        Command::new("nsenter")
            .args(["-t", &self.holder.id().to_string(), "-U", "-n", "--"])
            .arg(program)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {program} in the container: {e}"))
    }

    fn ok(&self, program: &str, args: &[&str]) -> String {
        let out = self.exec(program, args);
        assert!(
            out.status.success(),
            "`{program} {}` in the container failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("UTF-8 output")
    }

    fn nlsel(&self, args: &[&str]) -> (i32, String, String) {
        let out = self.exec(BIN, args);
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// The global IPv6 addresses of venet0 as (local, deprecated).
    fn globals(&self) -> Vec<(String, bool)> {
        let json = parse_ip_json(&self.ok("ip", &["-j", "-6", "addr", "show", "dev", "venet0"]));
        addrs_from_json(&json)
            .into_iter()
            .filter(|a| a.is_global_v6())
            .map(|a| {
                let deprecated = a.is_deprecated();
                (a.local, deprecated)
            })
            .collect()
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        let _ = self.holder.kill();
        let _ = self.holder.wait();
    }
}

fn address(i: usize) -> String {
    format!("2001:db8:c0::{:x}", 0x1000 + i)
}

fn expect_ok(what: &str, (code, stdout, stderr): &(i32, String, String)) {
    assert!(
        *code == 0 && stderr.is_empty(),
        "`nlsel {what}` in a rootless container exited {code}\n--- stderr:\n{stderr}--- stdout (head):\n{}",
        stdout.chars().take(2000).collect::<String>()
    );
}

#[test]
fn core_commands_succeed_with_the_default_rmem_max_and_no_rcvbufforce() {
    if !Path::new(RMEM_MAX).exists() || !have_program("unshare") || !have_program("nsenter") {
        skip("needs unshare, nsenter and /proc/sys/net/core/rmem_max");
        return;
    }
    let Some(_rmem) = RmemMax::set(DEFAULT_RMEM_MAX) else {
        skip("cannot set net.core.rmem_max (needs root)");
        return;
    };
    let Some(container) = Container::start() else {
        skip("cannot create a user and network namespace with unshare");
        return;
    };
    container.ok(
        "ip",
        &[
            "link", "add", "venet0", "type", "veth", "peer", "name", "venet0p",
        ],
    );
    container.ok("ip", &["link", "set", "venet0", "up"]);
    container.ok("ip", &["link", "set", "venet0p", "up"]);
    let mut batch = format!("addr add {KEPT}/64 dev venet0 nodad\n");
    for i in 0..ADDRESSES {
        batch.push_str(&format!("addr add {}/64 dev venet0 nodad\n", address(i)));
    }
    let batch_file =
        std::env::temp_dir().join(format!("nlsel-rootless-{}.batch", std::process::id()));
    std::fs::write(&batch_file, batch).expect("write the address batch");
    container.ok("ip", &["-batch", batch_file.to_str().expect("UTF-8 path")]);
    let _ = std::fs::remove_file(&batch_file);
    assert_eq!(container.globals().len(), ADDRESSES + 1, "setup incomplete");

    // The conditions the test is about: the kernel refuses to force the buffer size.
    if have_program("python3") {
        let probe = "import socket\ns=socket.socket(socket.AF_NETLINK,socket.SOCK_RAW,0)\n\
                     try:\n s.setsockopt(socket.SOL_SOCKET,33,4<<20)\n print('forced')\n\
                     except PermissionError:\n print('refused')\n\
                     print(s.getsockopt(socket.SOL_SOCKET,socket.SO_RCVBUF))";
        let probed = container.ok("python3", &["-c", probe]);
        let mut lines = probed.lines();
        assert_eq!(
            lines.next(),
            Some("refused"),
            "SO_RCVBUFFORCE was allowed: {probed}"
        );
        eprintln!(
            "receive buffer granted in the container: {}",
            lines.next().unwrap_or("?")
        );
    }

    // deprecate, counting its datagrams with strace when there is one.
    let deprecate = ["deprecate", "--except", "::2"];
    let trace = std::env::temp_dir().join(format!("nlsel-rootless-{}.strace", std::process::id()));
    let run = if have_program("strace") {
        let trace_path = trace.to_str().expect("UTF-8 path");
        let mut args = vec!["-f", "-qq", "-e", "trace=sendto", "-o", trace_path, BIN];
        args.extend(deprecate);
        let out = container.exec("strace", &args);
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    } else {
        container.nlsel(&deprecate)
    };
    expect_ok("deprecate --except ::2", &run);
    let deprecated_lines = run
        .1
        .lines()
        .filter(|l| l.starts_with("deprecated "))
        .count();
    assert_eq!(
        deprecated_lines, ADDRESSES,
        "deprecate reported {deprecated_lines} changes"
    );
    let after = container.globals();
    let wrong: Vec<_> = after
        .iter()
        .filter(|(local, deprecated)| *deprecated == (local == KEPT))
        .take(5)
        .collect();
    assert!(wrong.is_empty(), "after deprecate, wrong state: {wrong:?}");
    let batches = std::fs::read_to_string(&trace).ok().map(|text| {
        // A batch is a sendto whose first message is an RTM_NEWADDR (20, 0x14); strace
        // names the type or, when it does not decode the protocol, prints it in hex.
        let is_batch = |l: &&str| {
            l.contains("sendto(") && (l.contains("RTM_NEWADDR") || l.contains("nlmsg_type=0x14"))
        };
        text.lines().filter(is_batch).count()
    });
    let _ = std::fs::remove_file(&trace);

    let show = container.nlsel(&["-j", "show", "dev", "venet0"]);
    expect_ok("-j show dev venet0", &show);
    let shown = addrs_from_json(&serde_json::from_str(&show.1).expect("show -j prints JSON"));
    assert_eq!(
        shown.iter().filter(|a| a.is_global_v6()).count(),
        ADDRESSES + 1,
        "show lists a different number of global addresses than ip"
    );

    let undeprecate = container.nlsel(&["undeprecate"]);
    expect_ok("undeprecate", &undeprecate);
    assert!(
        container
            .globals()
            .iter()
            .all(|(_, deprecated)| !deprecated),
        "after undeprecate an address is still deprecated"
    );

    let target = address(7);
    let prefer = container.nlsel(&["prefer", &target]);
    expect_ok("prefer", &prefer);
    let wrong: Vec<_> = container
        .globals()
        .into_iter()
        .filter(|(local, deprecated)| *deprecated == (*local == target))
        .take(5)
        .collect();
    assert!(wrong.is_empty(), "after prefer, wrong state: {wrong:?}");

    let change = container.nlsel(&[
        "addr",
        "change",
        &target,
        "dev",
        "venet0",
        "preferred_lft",
        "100",
        "valid_lft",
        "200",
    ]);
    expect_ok("addr change", &change);

    eprintln!(
        "rootless container, rmem_max {DEFAULT_RMEM_MAX}: {ADDRESSES} addresses deprecated, \
         exit {}; batches used: {}",
        run.0,
        batches.map_or("unknown (no strace)".to_owned(), |n| n.to_string())
    );
    if let Some(batches) = batches {
        assert!(
            batches > 1,
            "1,200 changes went out in {batches} datagram(s)"
        );
    }
}
