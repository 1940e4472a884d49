//! What `--watch` says on stderr while it runs, and the status `systemctl status` shows once
//! the first pass is applied.

use std::io;
use std::time::Duration;

use super::address_text;
use crate::failure::Failure;
use crate::model::Address;

/// The `STATUS=` sent with `READY=1` (`notify::ready`): one line.
pub const READY_STATUS: &str = "first pass applied; watching for address changes";
/// After the first pass.
pub const WATCHING: &str = "watching for address changes";
/// After a pass succeeds that follows a failed one.
pub const RECOVERED: &str = "the pass succeeded again; watching for address changes";

/// A pass failed; the watch tries again after 1 s, doubling up to `max_wait`.
pub fn retrying(failure: &Failure, max_wait: Duration) -> String {
    format!(
        "{failure}; trying again after 1 s, then at most every {} s, until it succeeds",
        max_wait.as_secs()
    )
}

/// `$NOTIFY_SOCKET` is set, but the datagram could not be sent.
pub fn not_ready(source: &io::Error) -> String {
    format!("cannot tell systemd the service is ready ($NOTIFY_SOCKET): {source}")
}

/// The per-address limiter deferred a change (`watch`'s `Admission::Deferred`).
pub fn limited(address: &Address) -> String {
    format!(
        "{} keeps coming back preferred (another program resets its lifetime); changing it at most once a second",
        address_text(address)
    )
}
