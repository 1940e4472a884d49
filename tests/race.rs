//! The race the kernel leaves open: an RTM_NEWADDR for an address that no longer exists
//! creates it. Another process deletes addresses while nlsel changes them; nlsel must never
//! leave behind an address that was deleted (see src/apply/race.rs for the guard).

mod common;

use std::io::Write as _;
use std::process::{Command, Stdio};

use common::{Netns, nstest};

const ROUNDS: usize = 20;
const PER_ROUND: usize = 300;

/// `ip -batch` lines that add then delete PER_ROUND addresses, ROUNDS times, each round with
/// addresses of its own: an address brought back in any round is still there at the end.
fn churn_batch() -> String {
    let mut lines = String::new();
    for round in 1..=ROUNDS {
        for i in 1..=PER_ROUND {
            lines.push_str(&format!(
                "addr add 2001:db8::{round:x}:{i:x}/64 dev venet0\n"
            ));
        }
        for i in 1..=PER_ROUND {
            lines.push_str(&format!(
                "addr del 2001:db8::{round:x}:{i:x}/64 dev venet0\n"
            ));
        }
    }
    lines
}

nstest!(
    fn churn_never_brings_back_a_deleted_address(ns: Netns) {
        ns.veth("venet0", "venet0p");
        ns.add_addr("venet0", "2001:db8::2/64");
        let batch = std::env::temp_dir().join(format!("{}-churn.batch", ns.name()));
        std::fs::write(&batch, churn_batch()).expect("write the churn batch");

        let mut churn = Command::new("ip")
            .args(["-n", ns.name(), "-force", "-batch"])
            .arg(&batch)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start ip -batch");

        let mut runs = 0;
        let mut failed = Vec::new();
        loop {
            let churn_done = churn.try_wait().expect("poll ip -batch").is_some();
            let run = ns.nlsel(&["-q", "deprecate", "--except", "::2"]);
            runs += 1;
            match run.code {
                0 => {}
                1 => {
                    let errors: Vec<&str> = run
                        .stderr
                        .lines()
                        .filter(|l| !l.starts_with("nlsel: warning:"))
                        .collect();
                    assert_eq!(
                        errors.len(),
                        1,
                        "exit 1 without one clear error line: {run:?}"
                    );
                    assert!(errors[0].starts_with("nlsel: "), "unclear error: {run:?}");
                    failed.push(run);
                }
                _ => panic!("nlsel crashed or misbehaved under churn: {run:?}"),
            }
            // One more run after the churn ended, so the last state is handled too.
            if churn_done {
                break;
            }
        }
        let _ = std::fs::remove_file(&batch);

        let leftovers: Vec<String> = ns
            .addrs()
            .into_iter()
            .filter(|a| a.is_global_v6() && a.local != "2001:db8::2")
            .map(|a| a.cidr())
            .collect();
        assert!(
            leftovers.is_empty(),
            "{} deleted address(es) brought back after {runs} runs: {leftovers:?}",
            leftovers.len()
        );
        assert!(runs >= 2, "nlsel ran only {runs} time(s) during the churn");
        assert!(
            failed.len() * 10 <= runs,
            "{} of {runs} runs failed: {failed:?}",
            failed.len()
        );
        eprintln!("{runs} runs during the churn, {} exited 1", failed.len());
    }
);

/// IPv4 rounds: each adds an address of its own, then runs `addr change` on it while another
/// process deletes it.
const V4_ROUNDS: usize = 150;
/// The deleter's delay, in harmless requests, goes from 0 to (SWEEP - 1) * SWEEP_STEP.
const SWEEP: usize = 30;
const SWEEP_STEP: usize = 100;
/// IPv4 addresses on the other end of the pair: the dump nlsel reads before its change lists
/// them after the changed one, which widens the window in which a deletion re-creates it.
const V4_BULK: usize = 2000;

nstest!(
    /// The same race for IPv4 and `addr change`. IPv4 notifications carry the deleter's sequence
    /// number and port, where IPv6 ones carry 0/0, so a guard that told notifications by their
    /// sequence number missed every IPv4 deletion. In each round another process deletes the
    /// address nlsel is changing; whatever the order, the address must be gone at the end.
    fn ipv4_addr_change_never_brings_back_a_deleted_address(ns: Netns) {
        ns.veth("venet0", "venet0p");
        let mut bulk = String::new();
        for i in 0..V4_BULK {
            bulk.push_str(&format!(
                "addr add 10.200.{}.{}/32 dev venet0p\n",
                i / 250,
                i % 250 + 1
            ));
        }
        ns.ip_batch(&bulk);

        let mut outcomes = [0usize; 3]; // changed, not found, re-created and removed
        for round in 0..V4_ROUNDS {
            let address = format!("10.{}.{}.1", 100 + round / 250, round % 250);
            ns.ip(&["addr", "add", &format!("{address}/32"), "dev", "venet0"]);
            let nlsel = Command::new(common::BIN)
                .args(["-n", ns.name(), "addr", "change", &address, "dev", "venet0"])
                .args(["preferred_lft", "100", "valid_lft", "200"])
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("start nlsel");
            // The deletion comes after a number of harmless requests that grows with the round,
            // so that over the rounds it sweeps nlsel's run from before its dump to after its
            // change. Correctness never depends on where it lands; only the figures do.
            let mut deleter = String::new();
            for _ in 0..(round % SWEEP) * SWEEP_STEP {
                deleter.push_str("link show dev lo\n");
            }
            deleter.push_str(&format!("addr del {address}/32 dev venet0\n"));
            let mut delete = Command::new("ip")
                .args(["-n", ns.name(), "-batch", "-"])
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start ip -batch");
            delete
                .stdin
                .take()
                .expect("stdin is piped")
                .write_all(deleter.as_bytes())
                .expect("write to ip -batch");
            let deleted = delete.wait().expect("wait for ip -batch");
            assert!(deleted.success(), "ip addr del {address} failed");
            let out = nlsel.wait_with_output().expect("wait for nlsel");
            let stdout = String::from_utf8_lossy(&out.stdout);
            let stderr = String::from_utf8_lossy(&out.stderr);
            let left = ns.find_addr(&address);
            assert!(
                left.is_none(),
                "round {round}: {address} deleted during `addr change` was brought back \
             (exit {:?}, stdout {stdout:?}, stderr {stderr:?}): {left:?}",
                out.status.code()
            );
            match out.status.code() {
                Some(0) if stderr.contains("deleted by another process") => outcomes[2] += 1,
                Some(0) if stdout.starts_with("changed ") && stderr.is_empty() => outcomes[0] += 1,
                Some(1) if stderr.contains("not found") => outcomes[1] += 1,
                other => panic!(
                    "round {round}: unexpected outcome {other:?}: stdout {stdout:?}, stderr {stderr:?}"
                ),
            }
        }
        eprintln!(
            "{V4_ROUNDS} IPv4 rounds: {} changed before the deletion, {} deleted before the dump, \
         {} re-created and removed",
            outcomes[0], outcomes[1], outcomes[2]
        );
    }
);
