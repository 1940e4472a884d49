//! The race the kernel leaves open: an RTM_NEWADDR for an address that no longer exists
//! creates it. Another process deletes addresses while nlsel changes them; nlsel must never
//! leave behind an address that was deleted (see src/apply.rs for the guard).

mod common;

use std::process::{Command, Stdio};

use common::Netns;

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

#[test]
fn churn_never_brings_back_a_deleted_address() {
    let Some(ns) = Netns::new_or_skip() else {
        return;
    };
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
