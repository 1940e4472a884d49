//! `--watch`: keep a plan applied as the kernel's state changes, with one blocking loop and no
//! threads or async runtime.
//!
//! The loop waits in `poll` on two descriptors: the netlink socket, subscribed to address and
//! link notifications, and a signalfd for SIGTERM and SIGINT. When a notification shows a
//! global IPv6 address that is preferred (new, re-added, or refreshed by a Router
//! Advertisement) or an interface it has not seen, it runs a pass: dump, plan, apply, exactly as
//! the one-shot command does. Its own changes come back as notifications of deprecated
//! addresses, which trigger nothing, so it never chases itself; and a pass with nothing to do
//! sends nothing. A receive overrun (ENOBUFS) means notifications were lost, so it runs a pass
//! to resynchronise. An address the kernel keeps bringing back is changed at most
//! [`MAX_CHANGES_PER_MINUTE`] times a minute, then left for the rest of that minute with one
//! warning.

use std::collections::HashMap;
use std::net::IpAddr;
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use crate::apply::execute;
use crate::apply::{Rule, read_state};
use crate::context::{Context, Outcome};
use crate::failure::Failure;
use crate::model::Interface;
use crate::nl::Family;
use crate::nl::addr::{AddrMessage, Scope};
use crate::nl::header::{RTM_DELADDR, RTM_NEWADDR, RTM_NEWLINK, RTNLGRP_IPV6_IFADDR, RTNLGRP_LINK};
use crate::nl::link::LinkMessage;
use crate::nl::request::Notification;
use crate::nl::socket::{SignalFd, poll_readable};
use crate::plan::Mode;
use crate::plan::{Plan, Step};

/// How often one address may be changed in [`WINDOW`] before nlsel stops fighting over it.
pub const MAX_CHANGES_PER_MINUTE: usize = 4;
const WINDOW: Duration = Duration::from_secs(60);

/// Recent changes per address, to bound the effort spent on an address that keeps coming back.
#[derive(Default)]
struct Limiter {
    history: HashMap<(u32, IpAddr), Vec<Instant>>,
    warned: HashMap<(u32, IpAddr), Instant>,
}

impl Limiter {
    /// Whether `key` may be changed now; records the change when it may.
    fn allow(&mut self, key: (u32, IpAddr), now: Instant) -> bool {
        let changes = self.history.entry(key).or_default();
        changes.retain(|at| now.duration_since(*at) < WINDOW);
        if changes.len() >= MAX_CHANGES_PER_MINUTE {
            return false;
        }
        changes.push(now);
        self.warned.remove(&key);
        true
    }

    /// Whether the warning for `key` is still to be given in this window.
    fn first_refusal(&mut self, key: (u32, IpAddr), now: Instant) -> bool {
        match self.warned.get(&key) {
            Some(at) if now.duration_since(*at) < WINDOW => false,
            _ => {
                self.warned.insert(key, now);
                true
            }
        }
    }

    /// When the earliest refused address may be changed again.
    fn next_release(&self) -> Option<Instant> {
        self.warned
            .keys()
            .filter_map(|key| self.history.get(key)?.first().map(|at| *at + WINDOW))
            .min()
    }
}

/// Whether a notification can call for a change: a global IPv6 address that is preferred, or
/// an interface not seen before.
fn calls_for_pass(notification: &Notification, known_links: &[u32]) -> bool {
    match notification.msg_type {
        RTM_NEWADDR => AddrMessage::parse(&notification.payload).is_ok_and(|(message, _)| {
            message.family == Family::Inet6
                && message.scope == Scope::Universe
                && message.cacheinfo.is_none_or(|info| info.preferred_lft != 0)
        }),
        RTM_NEWLINK => LinkMessage::parse(&notification.payload)
            .is_ok_and(|(link, _)| !known_links.contains(&link.ifindex)),
        _ => false,
    }
}

/// What earlier passes already reported about interfaces, so that a long-running process says
/// "left alone" or "no kept address is preferred" once per change of state, not on every pass.
#[derive(Default)]
struct Reported {
    left_alone: Vec<u32>,
    no_preferred_kept: Vec<u32>,
}

impl Reported {
    /// Drops from `plan` what was already reported, and remembers what it still reports.
    fn filter(&mut self, plan: &mut Plan<'_>) {
        let left_alone: Vec<u32> = plan
            .steps
            .iter()
            .filter_map(|step| match step {
                Step::LeaveAlone { ifindex } => Some(*ifindex),
                Step::Change(_) => None,
            })
            .collect();
        let seen = std::mem::replace(&mut self.left_alone, left_alone);
        plan.steps
            .retain(|step| !matches!(step, Step::LeaveAlone { ifindex } if seen.contains(ifindex)));
        let seen = std::mem::replace(&mut self.no_preferred_kept, plan.no_preferred_kept.clone());
        plan.no_preferred_kept
            .retain(|ifindex| !seen.contains(ifindex));
    }
}

/// One pass: read the state, plan, drop what was reported already and the changes the limiter
/// refuses, apply the rest.
fn pass(
    ctx: &mut Context,
    rule: &dyn Rule,
    limiter: &mut Limiter,
    reported: &mut Reported,
) -> Result<Vec<Interface>, Failure> {
    // Notifications from before this pass must not be taken for concurrent deletions.
    drop(ctx.conn.take_notifications());
    let (interfaces, addresses) = read_state(ctx, Mode::Apply, Family::Inet6, |address| {
        rule.reads(address)
    })?;
    let mut plan = rule.plan(&addresses, &interfaces)?;
    reported.filter(&mut plan);
    // A tentative address notifies again when DAD ends, and the next pass handles it then.
    plan.tentative_kept.clear();
    let now = Instant::now();
    plan.steps.retain(|step| {
        let Step::Change(change) = step else { return true };
        let key = (change.address.ifindex, change.address.local);
        if limiter.allow(key, now) {
            return true;
        }
        if limiter.first_refusal(key, now) {
            crate::warn!(
                "{}/{} keeps coming back ({MAX_CHANGES_PER_MINUTE} changes in a minute); leaving it for now",
                change.address.local, change.address.prefixlen
            );
        }
        false
    });
    execute(ctx, &plan, &interfaces, Mode::Apply)?;
    Ok(interfaces)
}

/// Applies `rule` now and again whenever the kernel's state calls for it, until SIGTERM or
/// SIGINT. Errors of the first pass end the command; later ones are reported and waited out.
pub fn watch(ctx: &mut Context, rule: &dyn Rule) -> Result<Outcome, Failure> {
    let signals =
        SignalFd::block(&[libc::SIGTERM, libc::SIGINT]).map_err(|source| Failure::Io {
            what: "blocking SIGTERM and SIGINT",
            source,
        })?;
    let groups = [RTNLGRP_LINK, RTNLGRP_IPV6_IFADDR];
    ctx.conn
        .subscribe(&groups, &[RTM_NEWADDR, RTM_DELADDR, RTM_NEWLINK])
        .map_err(Failure::request(
            "subscribing to address and link notifications",
        ))?;
    ctx.out.set_flush_each_line(true);
    let mut limiter = Limiter::default();
    let mut reported = Reported::default();
    let interfaces = pass(ctx, rule, &mut limiter, &mut reported)?;
    let mut known_links: Vec<u32> = interfaces
        .iter()
        .map(|interface| interface.ifindex)
        .collect();
    crate::output::diagnostic(format_args!("watching for address changes"));
    loop {
        let release = limiter.next_release();
        let timeout_ms = release.map_or(-1, |at| {
            let wait = at.saturating_duration_since(Instant::now());
            i32::try_from(wait.as_millis().saturating_add(1)).unwrap_or(i32::MAX)
        });
        let ready = match poll_readable(&[ctx.conn.socket().as_fd(), signals.as_fd()], timeout_ms) {
            Ok(ready) => ready,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(source) => {
                return Err(Failure::Io {
                    what: "waiting for the kernel",
                    source,
                });
            }
        };
        if ready.get(1).copied().unwrap_or(false) {
            let signal = signals.take().map_err(|source| Failure::Io {
                what: "reading a signal",
                source,
            })?;
            if signal.is_some() {
                return Ok(Outcome::Done);
            }
        }
        ctx.conn
            .read_pending()
            .map_err(Failure::request("reading notifications"))?;
        let notifications = ctx.conn.take_notifications();
        let overrun = ctx.conn.take_overrun();
        let released = release.is_some_and(|at| Instant::now() >= at);
        let needed = overrun
            || released
            || notifications
                .iter()
                .any(|notification| calls_for_pass(notification, &known_links));
        if !needed {
            continue;
        }
        match pass(ctx, rule, &mut limiter, &mut reported) {
            Ok(interfaces) => {
                known_links = interfaces
                    .iter()
                    .map(|interface| interface.ifindex)
                    .collect()
            }
            Err(failure) => crate::output::diagnostic(format_args!("{failure}")),
        }
    }
}
