//! Issue 3, "Peers that are not the kernel": a datagram from any netlink port other than 0 is
//! never acted on, however well it imitates the kernel's reply.
//!
//! A root process inside the namespace (`tests/forge_peer.py`, run with `ip netns exec`, since
//! netlink ports are per namespace; the kernel lets only CAP_NET_ADMIN send NETLINK_ROUTE
//! datagrams to a user-space port) floods nlsel's own port, while nlsel runs, with forged
//! replies carrying the sequence numbers nlsel is about to use: an extra address
//! 2001:db8::dead in the address dump, NLMSG_DONE and ACKs that would cut a dump short, and
//! -EPERM refusals. The namespace holds over two thousand addresses, so that every dump spans
//! many datagrams and is still running when the forgeries arrive. Had nlsel taken any of them
//! for the kernel's, `show -j` would list 2001:db8::dead or miss real addresses, and
//! `deprecate`/`undeprecate` would fail, report other changes than the kernel's state calls
//! for, or ask the kernel to change 2001:db8::dead, which would create it. iproute2 is the
//! oracle throughout.
//!
//! What the test asserts is that nlsel never *acts* on a forged datagram: its output, its exit
//! code and the kernel's state afterwards all match the oracle, run after run. How many
//! forgeries the kernel accepted is only information: nlsel connects its socket to the
//! kernel's port (connect assigns the port and marks the socket connected in one call), so the
//! kernel refuses (ECONNREFUSED) what user space addresses to it from then on, but a datagram
//! that lands in the instant between the port's assignment and the connection is queued.
//! nlsel reads and discards everything queued before it sends anything, and the sender check
//! in `Socket::recv_until` drops whatever is not from port 0 (which also covers multicast), so
//! such a datagram is never acted on; no fix on nlsel's side could stop the kernel accepting
//! it, which is why the count is not asserted. The forger also counts the refusals while
//! nlsel's port was bound (`live`), and the test insists that some were: a flood that never
//! met nlsel would prove nothing.

mod common;

use std::collections::BTreeSet;
use std::io::{BufRead as _, BufReader, Write as _};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::Instant;

use serde_json::Value;

use common::{
    Addr, BIN, Netns, Python3, Run, SEED_2, SEED_BEEF, SEED_IF, SEED_LOW2, addrs_from_json, nstest,
};

const FORGER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/forge_peer.py");

/// The address the forged dump replies describe.
const FAKE: &str = "2001:db8::dead";

/// Link-local addresses on venet0's peer: every dump carries them, so it spans many datagrams
/// and takes a while, but no change touches them (only global addresses are deprecated).
const BULK: usize = 2000;
/// Global addresses on venet0 besides the seed ones: `deprecate` and `undeprecate` change
/// them in one batch. (Not thousands: the kernel's cost of each change grows with the number
/// of addresses on the interface.)
const CHANGED: usize = 300;
const SHOW_RUNS: usize = 30;
const CHANGE_ROUNDS: usize = 10;

/// The flood runs flat out, also while nlsel changes addresses: nlsel does not read during
/// the `sendmsg` in which the kernel handles a batch, and before nlsel connected its socket to
/// the kernel a flat-out flood filled its receive queue meanwhile, so that the kernel dropped
/// its ACKs. Now the kernel refuses the flood, and the ACKs always arrive.
const FLAT_OUT: u32 = 0;
const WHILE_CHANGING_US: u32 = FLAT_OUT;

fn bulk(i: usize) -> String {
    format!("fe80::f00d:{:x}", 0x1000 + i)
}

/// `local` of the `i`th changed address (prefix length 64); its host part is never `::2`.
fn changed(i: usize) -> String {
    format!("2001:db8:f00d::{:x}", 0x1000 + i)
}

/// (ifindex, local, prefixlen) of every address in an `ip -j addr show`-shaped array.
type Key = (u64, String, u64);

fn keys(addrs: &[Addr]) -> BTreeSet<Key> {
    addrs
        .iter()
        .map(|a| (a.ifindex, a.local.clone(), a.prefixlen))
        .collect()
}

/// `tests/forge_peer.py` running in the namespace (see its header for the protocol).
struct Forger {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
}

/// What one flood achieved: datagrams the kernel queued on nlsel's socket (which nlsel must
/// not act on, and discards), those refused
/// (`live` of them while nlsel's port was bound, so refused because its socket is connected
/// to the kernel), and those refused because its queue was full.
#[derive(Debug, Clone, Copy, Default)]
struct Flood {
    delivered: u64,
    refused: u64,
    live: u64,
    full: u64,
}

impl Forger {
    fn start(ns: &Netns, ifindex: u64) -> Forger {
        let mut child = Command::new("ip")
            .args(["netns", "exec", ns.name(), "python3", FORGER])
            .arg(ifindex.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("cannot start tests/forge_peer.py");
        let stdin = child.stdin.take();
        let stdout = BufReader::new(child.stdout.take().expect("stdout is piped"));
        let mut forger = Forger {
            child,
            stdin,
            stdout,
        };
        let line = forger.line();
        assert_eq!(
            line.trim(),
            "ready",
            "forge_peer.py did not start: {line:?}"
        );
        forger
    }

    fn line(&mut self) -> String {
        let mut line = String::new();
        self.stdout
            .read_line(&mut line)
            .expect("cannot read from forge_peer.py");
        line
    }

    fn command(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("forger still running");
        writeln!(stdin, "{line}")
            .and_then(|()| stdin.flush())
            .expect("cannot write to forge_peer.py");
    }

    /// Starts flooding the netlink port `pid`, one datagram every `gap_us` (0: flat out).
    fn flood(&mut self, pid: u32, gap_us: u32) {
        self.command(&format!("{pid} {gap_us}"));
    }

    /// Ends the flood and returns what it achieved.
    fn stop(&mut self) -> Flood {
        self.command("stop");
        let line = self.line();
        let mut flood = Flood::default();
        for pair in line.split_whitespace() {
            let parsed = pair
                .split_once('=')
                .and_then(|(key, value)| Some((key, value.parse::<u64>().ok()?)));
            match parsed {
                Some(("delivered", n)) => flood.delivered = n,
                Some(("refused", n)) => flood.refused = n,
                Some(("live", n)) => flood.live = n,
                Some(("full", n)) => flood.full = n,
                _ => panic!("bad report from forge_peer.py: {line:?}"),
            }
        }
        flood
    }

    fn finish(mut self) {
        drop(self.stdin.take());
        let status = self.child.wait().expect("forge_peer.py did not finish");
        assert!(status.success(), "forge_peer.py failed: {status}");
    }
}

impl Drop for Forger {
    fn drop(&mut self) {
        // Still running only when the test failed: end it.
        if self.stdin.take().is_some() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// At most this much of a long stdout goes into a failure message.
const SHOWN: usize = 3000;

fn head(text: &str) -> &str {
    let mut end = text.len().min(SHOWN);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// `nlsel -n NS ARGS...` while the forger floods its port every `gap_us`; also returns what
/// the flood achieved.
fn nlsel_flooded(ns: &Netns, forger: &mut Forger, gap_us: u32, args: &[&str]) -> (Run, Flood) {
    let command = format!("nlsel -n {} {}", ns.name(), args.join(" "));
    let child = Command::new(BIN)
        .arg("-n")
        .arg(ns.name())
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run `{command}`: {e}"));
    forger.flood(child.id(), gap_us);
    let out = child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("`{command}` did not finish: {e}"));
    let flood = forger.stop();
    let code = out
        .status
        .code()
        .unwrap_or_else(|| panic!("`{command}` was killed: {:?}", out.status));
    let run = Run {
        command,
        code,
        stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(out.stderr).expect("stderr is UTF-8"),
    };
    assert!(
        run.code == 0 && run.stderr.is_empty(),
        "`{}` under the flood ({flood:?}) exited {}\n--- stderr:\n{}--- stdout (head):\n{}",
        run.command,
        run.code,
        run.stderr,
        head(&run.stdout)
    );
    assert!(
        !run.stdout.contains(FAKE),
        "`{}` took the forged address {FAKE} for real:\n{}",
        run.command,
        head(&run.stdout)
    );
    (run, flood)
}

/// The (local, prefixlen) of each action in nlsel's JSON, after checking that every action is
/// `action`, applied, on venet0.
fn actions(run: &Run, action: &str, venet0: u64) -> BTreeSet<(String, u64)> {
    let json = run.json();
    let items = json.as_array().expect("nlsel -j prints an array");
    let mut out = BTreeSet::new();
    for item in items {
        assert_eq!(
            item["action"], action,
            "{}: unexpected action {item}",
            run.command
        );
        assert_eq!(
            item["applied"], true,
            "{}: not applied: {item}",
            run.command
        );
        assert_eq!(
            item["ifindex"], venet0,
            "{}: wrong interface: {item}",
            run.command
        );
        assert_eq!(
            item["ifname"], SEED_IF,
            "{}: wrong interface: {item}",
            run.command
        );
        let local = item["local"]
            .as_str()
            .expect("local is a string")
            .to_owned();
        let prefixlen = item["prefixlen"].as_u64().expect("prefixlen is a number");
        assert!(
            out.insert((local, prefixlen)),
            "{}: named twice: {item}",
            run.command
        );
    }
    out
}

/// The kernel's addresses, as iproute2 lists them, after checking that the forged one is not
/// among them: a change to it, which only a forged dump entry could cause, would create it.
fn kernel_state(ns: &Netns, after: &str) -> Vec<Addr> {
    let addrs = ns.addrs();
    assert!(
        addrs.iter().all(|a| a.local != FAKE),
        "after `{after}` the kernel has {FAKE}: nlsel asked for a change to a forged address"
    );
    addrs
}

/// Sums floods and counts those that reached nlsel at all.
#[derive(Debug, Default)]
struct Tally {
    runs: u64,
    hit: u64,
    delivered: u64,
    refused: u64,
    live: u64,
    full: u64,
}

impl Tally {
    fn add(&mut self, flood: Flood) {
        self.runs += 1;
        self.hit += u64::from(flood.live > 0);
        self.delivered += flood.delivered;
        self.refused += flood.refused;
        self.live += flood.live;
        self.full += flood.full;
    }
}

nstest!(
    fn forged_replies_from_user_space_are_ignored(ns: Netns, _py: Python3) {
        ns.seed();
        let mut batch = String::new();
        for i in 0..BULK {
            batch.push_str(&format!("addr add {}/64 dev venet0p\n", bulk(i)));
        }
        for i in 0..CHANGED {
            batch.push_str(&format!("addr add {}/64 dev {SEED_IF}\n", changed(i)));
        }
        ns.ip_batch(&batch);
        let venet0 = ns.ifindex(SEED_IF);

        let initial = kernel_state(&ns, "setup");
        let oracle = keys(&initial);
        assert!(
            oracle.len() > BULK + CHANGED + 3,
            "setup incomplete: {} addresses",
            oracle.len()
        );
        // What `deprecate --except ::2` must change: every global IPv6 address but the ::2 ones.
        let deprecatable: BTreeSet<(String, u64)> = initial
            .iter()
            .filter(|a| a.is_global_v6() && a.local != SEED_2 && a.local != SEED_LOW2)
            .map(|a| (a.local.clone(), a.prefixlen))
            .collect();
        assert_eq!(deprecatable.len(), CHANGED + 1, "setup incomplete");
        assert!(deprecatable.contains(&(SEED_BEEF.to_owned(), 80)));

        let started = Instant::now();
        let mut forger = Forger::start(&ns, venet0);
        let mut dumps = Tally::default();
        let mut changes = Tally::default();

        for _ in 0..SHOW_RUNS {
            let (run, flood) = nlsel_flooded(&ns, &mut forger, FLAT_OUT, &["-j", "show"]);
            dumps.add(flood);
            let shown = keys(&addrs_from_json(&run.json()));
            if shown != oracle {
                let missing: Vec<_> = oracle.difference(&shown).take(5).collect();
                let extra: Vec<_> = shown.difference(&oracle).take(5).collect();
                panic!(
                    "`{}` under the flood ({flood:?}): {} addresses instead of {}; \
                 missing {missing:?}, not in the kernel {extra:?}",
                    run.command,
                    shown.len(),
                    oracle.len()
                );
            }
        }
        assert_eq!(keys(&kernel_state(&ns, "show")), oracle);
        let shown_at = started.elapsed();

        let deprecate = ["-j", "deprecate", "--except", "::2"];
        for _ in 0..CHANGE_ROUNDS {
            let (run, flood) = nlsel_flooded(&ns, &mut forger, WHILE_CHANGING_US, &deprecate);
            changes.add(flood);
            assert_eq!(
                actions(&run, "deprecate", venet0),
                deprecatable,
                "`{}` under the flood ({flood:?}) deprecated the wrong set",
                run.command
            );
            for a in kernel_state(&ns, &run.command)
                .iter()
                .filter(|a| a.is_global_v6())
            {
                let want = deprecatable.contains(&(a.local.clone(), a.prefixlen));
                assert_eq!(a.is_deprecated(), want, "after `{}`: {a:?}", run.command);
            }

            // Nothing left to do: the dumps alone.
            let (again, flood) = nlsel_flooded(&ns, &mut forger, FLAT_OUT, &deprecate);
            dumps.add(flood);
            assert_eq!(again.json(), Value::Array(Vec::new()), "{}", again.command);

            let (undo, flood) =
                nlsel_flooded(&ns, &mut forger, WHILE_CHANGING_US, &["-j", "undeprecate"]);
            changes.add(flood);
            assert_eq!(
                actions(&undo, "undeprecate", venet0),
                deprecatable,
                "`{}` under the flood ({flood:?}) undeprecated the wrong set",
                undo.command
            );
            let after = kernel_state(&ns, &undo.command);
            assert_eq!(keys(&after), oracle, "after `{}`", undo.command);
            assert!(
                after.iter().all(|a| !a.has("deprecated")),
                "after `{}` an address is still deprecated",
                undo.command
            );
        }
        forger.finish();

        eprintln!(
            "forged datagrams while nlsel dumped: {dumps:?}; \
         while it changed addresses: {changes:?}; \
         {SHOW_RUNS} show runs took {shown_at:.1?}, {CHANGE_ROUNDS} change rounds {:.1?}",
            started.elapsed() - shown_at
        );
        // Forged datagrams the kernel queued (`delivered`) were shown above for information: the
        // assertions on every run are what matters. A flood that was never aimed at a bound port
        // would prove nothing, hence `live`.
        assert!(
            dumps.live > 0 && changes.live > 0,
            "no forged datagram was aimed at nlsel's bound port, so nothing was shown: \
         while dumping {dumps:?}, while changing {changes:?}"
        );
    }
);
