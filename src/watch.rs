//! `--watch`: keep a plan applied as the kernel's state changes, with one blocking loop and no
//! threads or async runtime, for as long as the host runs.
//!
//! The loop waits in `poll` on the netlink socket, subscribed to address and link
//! notifications. When a notification shows a global IPv6 address that is preferred (new,
//! re-added, or refreshed by a Router Advertisement) or an interface it has not seen, it runs a
//! pass: dump, plan, apply, exactly as the one-shot command does. Its own changes come back as
//! notifications of deprecated addresses, which trigger nothing, so it never chases itself; and
//! a pass with nothing to do sends nothing. A receive overrun (ENOBUFS) means notifications
//! were lost, so it runs a pass to read the whole state again. Temporary addresses are never
//! changed (see [`crate::plan`]), so their notifications trigger nothing either.
//!
//! The loop decides on everything it has read before it waits again: a pass reads
//! notifications too (among its dump replies, its ACKs, the race guard's reads), and the kernel
//! may report an overrun to any of them, so each turn of the loop first takes all the
//! connection holds, and a pass is always followed by another turn, never by `poll` directly.
//! `poll` runs only when nothing read is undecided.
//!
//! What it promises for a process that runs for months:
//! - Every RA refresh is undone at once, however often the router sends: an address whose
//!   lifetimes come from a router ([`crate::model::Address::lifetimes_from_router`]) is never
//!   held back. Address notifications carry port id 0 whoever caused them, so only the kind of
//!   address tells the kernel's refresh from another program's change.
//! - A fight with another program that resets a lifetime right after each change is bounded:
//!   one address is changed at most once per [`MIN_INTERVAL`], and a change that comes sooner
//!   is deferred to the end of that interval, never dropped, with one warning per episode (its
//!   third deferral). An address deleted and added again is a new one, changed at once: its
//!   hidden address must not leak for a second after `systemctl restart networking`.
//! - Bounded memory: at each pass the limiter forgets every address that is gone from the
//!   dump, or quiet (not changed for [`QUIET`] and nothing deferred); what it holds between
//!   passes is at most the addresses the last passes changed.
//! - No idle work: `poll` has a timeout only while a change is deferred, or while a failed
//!   pass waits to be retried; a deferred change is decided again by each pass, so one for an
//!   address that has gone or no longer needs it clears its timer. A timer is always set in
//!   the future of the pass that set it, so it fires once per deferral. A failed pass is
//!   reported once and tried again at its timer only.
//! - SIGTERM, SIGINT and SIGHUP end the process with exit 0 at once, in any state, by a
//!   handler that only calls `_exit` ([`exit_on_signals`]); `cli` blocks them first thing, so
//!   one that comes before the handler is installed waits for it instead of killing.
//! - With `-n NS`, the deletion of NS (`ip netns del`) ends it with exit 1, seen by inotify on
//!   the namespace's directory, so that a service manager starts it again in the new one.
//! - A report that cannot be written (stdout on a full disk) ends it with exit 1.

use std::ffi::OsStr;
use std::fs::File;
use std::io::Read as _;
use std::net::IpAddr;
use std::os::fd::AsFd;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::apply::execute;
use crate::apply::{Rule, read_state};
use crate::context::{Context, Outcome};
use crate::failure::{Failure, Kind};
use crate::model::{Address, Interface};
use crate::netns::{NetnsError, is_current_netns, netns_path, watch_directory};
use crate::nl::Family;
use crate::nl::addr::{AddrMessage, IfaFlags, Scope};
use crate::nl::header::{RTM_DELADDR, RTM_NEWADDR, RTM_NEWLINK, RTNLGRP_IPV6_IFADDR, RTNLGRP_LINK};
use crate::nl::link::LinkMessage;
use crate::nl::request::Notification;
use crate::plan::{Mode, Plan, Step};
use crate::present;
use crate::sys::{block_signals, exit_on_signals, poll_readable};

/// The signals that end `--watch` with exit 0. SIGHUP too: a daemon's SIGHUP asks it to read
/// everything again, and `--watch` already does on every change, so nothing would be left
/// for it to do but to end as a terminal's hangup ends a foreground process.
pub const WATCH_SIGNALS: [libc::c_int; 3] = [libc::SIGTERM, libc::SIGINT, libc::SIGHUP];

/// The least time between two changes of one address.
pub const MIN_INTERVAL: Duration = Duration::from_secs(1);

/// How long an address must go unchanged, with nothing deferred, before the limiter forgets
/// it; a fight over it after that is a new episode, with a new warning.
pub const QUIET: Duration = Duration::from_secs(10);

/// The deferral in an episode that gets the warning: one early return can be a coincidence
/// (two routers advertising the same prefix a moment apart), three are a fight.
const WARN_AT_DEFERRAL: u32 = 3;

/// The longest wait before a failed pass is tried again; the wait doubles from 1 s up to it.
const MAX_RETRY: Duration = Duration::from_secs(60);

type Key = (u32, IpAddr);

/// What the limiter remembers of one address it changed recently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Recent {
    last_change: Instant,
    /// The last pass wanted to change it and had to wait.
    deferred: bool,
    /// Changes deferred since the limiter last forgot it: an episode.
    deferrals: u32,
}

/// What the limiter says of one change a pass wants to make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Admission {
    Now,
    /// Too soon after the last change; a pass runs again at [`Limiter::next_release`].
    /// `warn` is true once per episode, at its [`WARN_AT_DEFERRAL`]th deferral.
    Deferred {
        warn: bool,
    },
}

/// At most one change per address per [`MIN_INTERVAL`]; see the module comment.
///
/// A vector sorted by key, not a `HashMap` or a `BTreeMap`: std seeds a `HashMap` from
/// getrandom(2) (3.17) or /dev/urandom, which an empty chroot on an older kernel lacks, and a
/// `BTreeMap` costs the release binary 9 KiB. An insertion moves the entries after it, which
/// even at 10,000 addresses is far below what the kernel takes for one change there.
#[derive(Debug, Default)]
struct Limiter {
    recent: Vec<(Key, Recent)>,
}

impl Limiter {
    /// Starts a pass over the addresses the dump holds now (`present`, in any order): forgets
    /// addresses that are gone or quiet, and every deferral, which this pass decides again.
    /// Each present address is looked up in the sorted entries, so nothing is sorted here.
    fn start_pass(&mut self, now: Instant, present: impl IntoIterator<Item = Key>) {
        let mut seen = vec![false; self.recent.len()];
        for key in present {
            if let Some(mark) = self.find(&key).ok().and_then(|at| seen.get_mut(at)) {
                *mark = true;
            }
        }
        // `retain_mut` visits the entries in order, as `seen` has them.
        let mut seen = seen.into_iter();
        self.recent.retain_mut(|(_, recent)| {
            let exists = seen.next().unwrap_or(false);
            let busy = recent.deferred || now.saturating_duration_since(recent.last_change) < QUIET;
            recent.deferred = false;
            busy && exists
        });
    }

    /// Where `key` is, or where it would go.
    fn find(&self, key: &Key) -> Result<usize, usize> {
        self.recent.binary_search_by(|(other, _)| other.cmp(key))
    }

    /// Whether `key` may be changed now; records the change when it may.
    fn admit(&mut self, key: Key, now: Instant) -> Admission {
        let found = self.find(&key);
        match found.ok().and_then(|at| self.recent.get_mut(at)) {
            Some((_, recent))
                if now.saturating_duration_since(recent.last_change) < MIN_INTERVAL =>
            {
                recent.deferred = true;
                recent.deferrals = recent.deferrals.saturating_add(1);
                Admission::Deferred {
                    warn: recent.deferrals == WARN_AT_DEFERRAL,
                }
            }
            Some((_, recent)) => {
                recent.last_change = now;
                Admission::Now
            }
            None => {
                let recent = Recent {
                    last_change: now,
                    deferred: false,
                    deferrals: 0,
                };
                self.recent
                    .insert(found.unwrap_or_else(|at| at), (key, recent));
                Admission::Now
            }
        }
    }

    /// Forgets an address that was deleted: no timer fires for it, and if it is added again,
    /// that is a new address, changed at once.
    fn deleted(&mut self, key: &Key) {
        if let Ok(at) = self.find(key) {
            self.recent.remove(at);
        }
    }

    /// When the earliest deferred change may be made, if any is deferred.
    fn next_release(&self) -> Option<Instant> {
        self.recent
            .iter()
            .filter(|(_, recent)| recent.deferred)
            .map(|(_, recent)| recent.last_change + MIN_INTERVAL)
            .min()
    }
}

/// Whether a notification can call for a change: a global IPv6 address that is preferred and
/// not temporary, or one the rule watches in any state, or an interface not seen before.
fn calls_for_pass(notification: &Notification, known_links: &[u32], rule: &dyn Rule) -> bool {
    match notification.msg_type {
        RTM_NEWADDR => AddrMessage::parse(&notification.payload).is_ok_and(|(message, _)| {
            let preferred = message.cacheinfo.is_none_or(|info| info.preferred_lft != 0)
                // Before Linux 3.14 a deprecated permanent address reports preferred forever,
                // with this flag.
                && !message.flags().contains(IfaFlags::DEPRECATED);
            message.family == Family::Inet6
                && message.scope == Scope::Universe
                && !message.flags().contains(IfaFlags::TEMPORARY)
                && (preferred
                    || message
                        .local_address()
                        .is_some_and(|local| rule.watches_address(local)))
        }),
        RTM_NEWLINK => LinkMessage::parse(&notification.payload)
            .is_ok_and(|(link, _)| !known_links.contains(&link.ifindex)),
        _ => false,
    }
}

/// The address an RTM_DELADDR notification names.
fn deleted_address(notification: &Notification) -> Option<Key> {
    if notification.msg_type != RTM_DELADDR {
        return None;
    }
    let (message, _) = AddrMessage::parse(&notification.payload).ok()?;
    Some((message.ifindex, message.local_address()?))
}

/// What earlier passes already reported about interfaces, so that a long-running process says
/// "left alone", "no kept address is preferred", "temporaries win", "failed duplicate address
/// detection" or "its router is deprecating the address you prefer" once per change of state
/// (an episode), not on every pass.
#[derive(Default)]
struct Reported {
    left_alone: Vec<u32>,
    no_preferred_kept: Vec<u32>,
    temporaries_win: Vec<Key>,
    dadfailed_kept: Vec<u32>,
    router_deprecates: Vec<Key>,
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
        report_once(
            &mut self.no_preferred_kept,
            &mut plan.no_preferred_kept,
            |i| *i,
        );
        report_once(&mut self.temporaries_win, &mut plan.temporaries_win, |a| {
            key_of(a)
        });
        report_once(&mut self.dadfailed_kept, &mut plan.dadfailed_kept, |i| *i);
        report_once(
            &mut self.router_deprecates,
            &mut plan.router_deprecates,
            |a| key_of(a),
        );
    }
}

/// Keeps in `items` what the last pass did not report, and remembers this pass's `items` (by
/// `key`) for the next one.
fn report_once<T, K: PartialEq>(last: &mut Vec<K>, items: &mut Vec<T>, key: impl Fn(&T) -> K) {
    let now: Vec<K> = items.iter().map(&key).collect();
    let seen = std::mem::replace(last, now);
    items.retain(|item| !seen.contains(&key(item)));
}

fn key_of(address: &Address) -> Key {
    (address.ifindex, address.local)
}

/// One pass: read the state, plan, drop what was reported already and the changes the limiter
/// defers, apply the rest. The caller has taken every notification read before it, so that
/// those the race guard sees are the pass's own.
fn pass(
    ctx: &mut Context,
    rule: &dyn Rule,
    limiter: &mut Limiter,
    reported: &mut Reported,
) -> Result<Vec<Interface>, Failure> {
    let (interfaces, addresses) = read_state(ctx, Mode::Apply, Family::Inet6, |address| {
        rule.reads(address)
    })?;
    let mut plan = rule.plan(&addresses, &interfaces)?;
    reported.filter(&mut plan);
    // A tentative address notifies again when DAD ends, and the next pass handles it then.
    plan.tentative_kept.clear();
    let now = Instant::now();
    limiter.start_pass(now, addresses.iter().map(key_of));
    plan.steps.retain(|step| {
        let Step::Change(change) = step else {
            return true;
        };
        // The kernel's own refresh from a Router Advertisement is undone at once, however
        // often the router sends: only what other programs do is a fight to bound.
        if change.address.lifetimes_from_router() {
            return true;
        }
        match limiter.admit(key_of(change.address), now) {
            Admission::Now => true,
            Admission::Deferred { warn } => {
                if warn {
                    crate::warn!("{}", present::watch::limited(change.address));
                }
                false
            }
        }
    });
    execute(ctx, &plan, &interfaces, Mode::Apply)?;
    // A daemon whose report cannot be written must say so and end, not carry on unheard.
    if let Some(error) = ctx.out.take_error() {
        return Err(Kind::Output(error).into());
    }
    Ok(interfaces)
}

/// The `poll` timeout until `at`, rounded up so that the wait never ends before it; -1 (no
/// timeout) when there is nothing to wait for.
fn timeout_until(at: Option<Instant>, now: Instant) -> libc::c_int {
    at.map_or(-1, |at| {
        let wait = at.saturating_duration_since(now);
        let ms = wait.as_micros().div_ceil(1000);
        libc::c_int::try_from(ms).unwrap_or(libc::c_int::MAX)
    })
}

/// The file of the namespace `-n` entered, watched through its directory (`/run/netns`):
/// `ip netns del` unmounts and unlinks it, which inotify reports, while nlsel's socket keeps
/// the namespace itself alive, so nothing on the netlink socket would ever say it is gone.
struct NetnsFile {
    name: String,
    path: PathBuf,
    events: File,
}

impl NetnsFile {
    /// Starts watching the namespace `netns` names (a name in /run/netns, or a path), and
    /// checks it is still the one entered, which covers a deletion before the watch began.
    /// A path whose directory cannot be watched, or a namespace that cannot be compared with
    /// the file (no /proc), is not watched: the watch then runs as it did before.
    fn watch(netns: &OsStr) -> Result<Option<NetnsFile>, Failure> {
        let path = netns_path(netns);
        let Some(dir) = path.parent() else {
            return Ok(None);
        };
        let Ok(events) = watch_directory(dir) else {
            return Ok(None);
        };
        let file = NetnsFile {
            name: netns.to_string_lossy().into_owned(),
            path,
            events,
        };
        match file.check() {
            Ok(()) => Ok(Some(file)),
            Err(failure) if matches!(failure.kind(), Kind::Io { .. }) => Ok(None),
            Err(gone) => Err(gone),
        }
    }

    /// After an event in the directory: ends the command unless the file still names the
    /// namespace this process is in.
    fn check(&self) -> Result<(), Failure> {
        let mut buf = [0u8; 4096];
        // Non-blocking: read whatever is queued, until EAGAIN. Only that something happened
        // matters; the check below decides what.
        while (&self.events).read(&mut buf).is_ok_and(|n| n > 0) {}
        match is_current_netns(&self.path) {
            Ok(true) => Ok(()),
            Ok(false) => Err(Kind::Netns {
                name: self.name.clone(),
                source: NetnsError::Gone,
            }
            .into()),
            Err(source) => Err(Kind::Io {
                what: "checking the network namespace file",
                source,
            }
            .into()),
        }
    }
}

/// Applies the rule now and again whenever the kernel's state calls for it, until SIGTERM,
/// SIGINT or SIGHUP end the process. Errors of the first pass end the command; a later one is
/// reported once, and the pass is tried again after 1 s, then 2 s, up to [`MAX_RETRY`], at
/// those times only.
///
/// The loop's one rule: it waits in `poll` only when every notification read so far, wherever
/// it was read (the wake-up, or a pass's dumps, ACKs and race guard), and every overrun seen,
/// has been decided on. So each turn starts by reading what is queued and taking everything
/// the connection holds, and a pass is followed by another turn, not by a wait.
pub fn watch(ctx: &mut Context, rule: &dyn Rule) -> Result<Outcome, Failure> {
    // cli blocked these before anything else: one that came early is delivered now.
    exit_on_signals(&WATCH_SIGNALS)
        .and_then(|()| block_signals(&WATCH_SIGNALS, false))
        .map_err(|source| Kind::Io {
            what: "setting up SIGTERM, SIGINT and SIGHUP",
            source,
        })?;
    let netns = match &ctx.globals.netns {
        Some(netns) => NetnsFile::watch(netns)?,
        None => None,
    };
    let groups = [RTNLGRP_LINK, RTNLGRP_IPV6_IFADDR];
    ctx.conn
        .subscribe(&groups, &[RTM_NEWADDR, RTM_DELADDR, RTM_NEWLINK])
        .map_err(Failure::request(
            "subscribing to address and link notifications",
        ))?;
    ctx.out.set_flush_each_line(true);
    let mut limiter = Limiter::default();
    let mut reported = Reported::default();
    // Notifications from before the first dump are in it.
    ctx.conn
        .read_pending()
        .map_err(Failure::request("reading notifications"))?;
    drop(ctx.conn.take_notifications());
    let interfaces = pass(ctx, rule, &mut limiter, &mut reported)?;
    // Type=notify: units ordered after this one start only once the first pass is applied.
    if let Err(source) = crate::notify::ready(present::watch::READY_STATUS) {
        crate::warn!("{}", present::watch::not_ready(&source));
    }
    let mut known_links: Vec<u32> = interfaces
        .iter()
        .map(|interface| interface.ifindex)
        .collect();
    crate::output::diagnostic(format_args!("{}", present::watch::WATCHING));
    // After a failed pass: when to try again, and the wait after that.
    let mut retry: Option<(Instant, Duration)> = None;
    loop {
        ctx.conn
            .read_pending()
            .map_err(Failure::request("reading notifications"))?;
        let notifications = ctx.conn.take_notifications();
        let overrun = ctx.conn.take_overrun();
        for key in notifications.iter().filter_map(deleted_address) {
            limiter.deleted(&key);
        }
        // While a pass keeps failing, only its timer tries again: the notifications meanwhile
        // are mostly about what the failure does not depend on.
        let wake = match retry {
            Some((at, _)) => Some(at),
            None => limiter.next_release(),
        };
        let due = wake.is_some_and(|at| Instant::now() >= at);
        let needed = due
            || retry.is_none()
                && (overrun
                    || notifications
                        .iter()
                        .any(|notification| calls_for_pass(notification, &known_links, rule)));
        if needed {
            match pass(ctx, rule, &mut limiter, &mut reported) {
                Ok(interfaces) => {
                    if retry.take().is_some() {
                        crate::output::diagnostic(format_args!("{}", present::watch::RECOVERED));
                    }
                    known_links = interfaces
                        .iter()
                        .map(|interface| interface.ifindex)
                        .collect();
                }
                Err(failure) if matches!(failure.kind(), Kind::Output(_)) => return Err(failure),
                Err(failure) => {
                    let wait = retry.map_or(Duration::from_secs(1), |(_, wait)| {
                        wait.saturating_mul(2).min(MAX_RETRY)
                    });
                    if retry.is_none() {
                        crate::output::diagnostic(format_args!(
                            "{}",
                            present::watch::retrying(&failure, MAX_RETRY)
                        ));
                    }
                    retry = Some((Instant::now() + wait, wait));
                }
            }
            // What the pass read is decided on before any wait.
            continue;
        }
        let socket = ctx.conn.socket().as_fd();
        let ready = match &netns {
            Some(netns) => poll_readable(
                &[socket, netns.events.as_fd()],
                timeout_until(wake, Instant::now()),
            ),
            None => poll_readable(&[socket], timeout_until(wake, Instant::now())),
        };
        match ready {
            Ok(ready) => {
                if let (Some(netns), Some(true)) = (&netns, ready.get(1)) {
                    netns.check()?;
                }
            }
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
            Err(source) => {
                return Err(Kind::Io {
                    what: "waiting for the kernel",
                    source,
                }
                .into());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u16) -> Key {
        (
            2,
            IpAddr::V6(std::net::Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, n)),
        )
    }

    /// Every address the limiter holds, as a dump that still has them all would list them.
    fn all(limiter: &Limiter) -> Vec<Key> {
        limiter.recent.iter().map(|(key, _)| *key).collect()
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn refresh_at_the_shortest_ra_interval_is_never_deferred() {
        let mut limiter = Limiter::default();
        let t0 = Instant::now();
        for n in 0..100u32 {
            let now = t0 + Duration::from_secs(3) * n;
            limiter.start_pass(now, all(&limiter));
            assert_eq!(limiter.admit(key(1), now), Admission::Now, "RA #{n}");
            assert_eq!(limiter.next_release(), None);
        }
        assert_eq!(limiter.recent.len(), 1);
    }

    #[test]
    fn a_fight_gets_one_change_a_second_and_one_warning() {
        let mut limiter = Limiter::default();
        let t0 = Instant::now();
        let mut changes = 0;
        let mut warnings = 0;
        // The other program undoes each change 10 ms later, for a minute; every wake-up runs a
        // pass, as the loop does.
        let mut now = t0;
        while now < t0 + Duration::from_secs(60) {
            limiter.start_pass(now, all(&limiter));
            match limiter.admit(key(1), now) {
                Admission::Now => {
                    changes += 1;
                    now += ms(10);
                }
                Admission::Deferred { warn } => {
                    warnings += usize::from(warn);
                    let release = limiter.next_release().expect("a deferral sets a timer");
                    assert!(release > now, "a timer in the past is a busy loop");
                    assert!(release - now <= MIN_INTERVAL);
                    now = release;
                }
            }
        }
        assert_eq!(changes, 60, "one change a second, never given up");
        assert_eq!(warnings, 1, "one warning per episode");
    }

    #[test]
    fn a_deferral_that_is_no_longer_needed_clears_its_timer() {
        let mut limiter = Limiter::default();
        let t0 = Instant::now();
        limiter.start_pass(t0, all(&limiter));
        assert_eq!(limiter.admit(key(1), t0), Admission::Now);
        limiter.start_pass(t0 + ms(5), all(&limiter));
        assert_eq!(
            limiter.admit(key(1), t0 + ms(5)),
            Admission::Deferred { warn: false }
        );
        assert_eq!(limiter.next_release(), Some(t0 + MIN_INTERVAL));
        // The released pass finds nothing to do for it (someone else deprecated it).
        limiter.start_pass(t0 + MIN_INTERVAL, all(&limiter));
        assert_eq!(limiter.next_release(), None);
    }

    #[test]
    fn a_deleted_address_clears_its_timer_and_its_state() {
        let mut limiter = Limiter::default();
        let t0 = Instant::now();
        limiter.start_pass(t0, all(&limiter));
        limiter.admit(key(1), t0);
        limiter.start_pass(t0 + ms(5), all(&limiter));
        limiter.admit(key(1), t0 + ms(5));
        limiter.deleted(&key(1));
        assert_eq!(limiter.next_release(), None);
        assert!(limiter.recent.is_empty());
        // Added again: a new address, changed at once.
        limiter.start_pass(t0 + ms(10), all(&limiter));
        assert_eq!(limiter.admit(key(1), t0 + ms(10)), Admission::Now);
    }

    #[test]
    fn quiet_addresses_are_forgotten_and_a_new_episode_warns_again() {
        let mut limiter = Limiter::default();
        let t0 = Instant::now();
        for n in 0..1000u16 {
            limiter.start_pass(t0, all(&limiter));
            limiter.admit(key(n), t0);
        }
        for n in 1..=WARN_AT_DEFERRAL {
            limiter.start_pass(t0 + ms(n.into()), all(&limiter));
            let warn = n == WARN_AT_DEFERRAL;
            assert_eq!(
                limiter.admit(key(7), t0 + ms(n.into())),
                Admission::Deferred { warn }
            );
        }
        limiter.start_pass(t0 + QUIET, all(&limiter));
        assert_eq!(limiter.recent.len(), 1, "only the deferred address is kept");
        limiter.start_pass(t0 + QUIET + QUIET, all(&limiter));
        assert!(limiter.recent.is_empty(), "memory is bounded");
        let later = t0 + QUIET * 3;
        limiter.admit(key(7), later);
        let warnings: Vec<bool> = (1..=WARN_AT_DEFERRAL + 2)
            .map(|n| {
                limiter.admit(key(7), later + ms(n.into())) == (Admission::Deferred { warn: true })
            })
            .collect();
        assert_eq!(
            warnings,
            [false, false, true, false, false],
            "a new episode warns again"
        );
    }

    #[test]
    fn an_address_missing_from_the_dump_is_forgotten_even_when_recent() {
        let mut limiter = Limiter::default();
        let t0 = Instant::now();
        for n in [5, 1, 9] {
            limiter.admit(key(n), t0);
        }
        // A dump that lists 9 and 5 (and an address the limiter never saw), not 1.
        limiter.start_pass(t0 + ms(5), [key(9), key(3), key(5)]);
        let kept: Vec<Key> = all(&limiter);
        assert_eq!(kept, [key(5), key(9)]);
        assert_eq!(limiter.admit(key(1), t0 + ms(6)), Admission::Now);
    }

    #[test]
    fn a_report_is_made_once_per_episode() {
        let mut last: Vec<u32> = Vec::new();
        let mut items = vec![1, 2];
        report_once(&mut last, &mut items, |i| *i);
        assert_eq!(items, [1, 2], "first seen: reported");
        let mut items = vec![2, 3];
        report_once(&mut last, &mut items, |i| *i);
        assert_eq!(items, [3], "2 was reported last pass");
        let mut items = vec![1];
        report_once(&mut last, &mut items, |i| *i);
        assert_eq!(items, [1], "1 went away and came back: a new episode");
        assert_eq!(last, [1]);
    }

    #[test]
    fn keys_admitted_in_any_order_are_each_found_again() {
        let mut limiter = Limiter::default();
        let t0 = Instant::now();
        // 0..97 in a scrambled order (37 is coprime with 97).
        let order: Vec<u16> = (0..97u16).map(|n| n * 37 % 97).collect();
        limiter.start_pass(t0, all(&limiter));
        for &n in &order {
            assert_eq!(
                limiter.admit(key(n), t0),
                Admission::Now,
                "first sight of {n}"
            );
        }
        assert!(limiter.recent.is_sorted_by_key(|(key, _)| *key));
        limiter.deleted(&key(40));
        for &n in &order {
            let again = limiter.admit(key(n), t0 + ms(5));
            let expected = if n == 40 {
                Admission::Now
            } else {
                Admission::Deferred { warn: false }
            };
            assert_eq!(again, expected, "second sight of {n}");
        }
        assert_eq!(limiter.recent.len(), 97);
    }

    #[test]
    fn timeout_rounds_up_and_waits_for_ever_without_a_timer() {
        let now = Instant::now();
        assert_eq!(timeout_until(None, now), -1);
        assert_eq!(timeout_until(Some(now), now), 0);
        assert_eq!(timeout_until(Some(now + Duration::from_micros(1)), now), 1);
        assert_eq!(timeout_until(Some(now + ms(1500)), now), 1500);
    }

    /// A rule that watches `2001:db8::7` in any state, as `prefer` watches its own address.
    struct Watching;

    impl Rule for Watching {
        fn reads(&self, _address: &Address) -> bool {
            true
        }
        fn watches_address(&self, local: IpAddr) -> bool {
            local == key(7).1
        }
        fn plan<'a>(
            &self,
            _addresses: &'a [Address],
            _interfaces: &[Interface],
        ) -> Result<Plan<'a>, Failure> {
            Ok(Plan::default())
        }
    }

    fn notification(msg_type: u16, body: &dyn crate::nl::Emit) -> Notification {
        let mut payload = vec![0; body.buffer_len().unwrap()];
        body.emit(&mut payload).unwrap();
        Notification {
            msg_type,
            flags: crate::nl::header::NlmFlags::empty(),
            payload,
        }
    }

    /// A global IPv6 address on link 2 with `preferred_lft` `preferred`.
    fn address(n: u16, preferred: u32) -> AddrMessage<'static> {
        let mut message = AddrMessage::empty(Family::Inet6);
        message.ifindex = 2;
        message.prefixlen = 64;
        message.address = Some(key(n).1);
        message.cacheinfo = Some(crate::nl::addr::CacheInfo {
            preferred_lft: preferred,
            valid_lft: 7200,
            cstamp: 0,
            tstamp: 0,
        });
        message
    }

    fn calls(message: &AddrMessage<'_>) -> bool {
        calls_for_pass(&notification(RTM_NEWADDR, message), &[2], &Watching)
    }

    #[test]
    fn only_a_preferred_global_ipv6_address_or_a_watched_one_calls_for_a_pass() {
        assert!(
            calls(&address(1, 3600)),
            "a preferred address may need deprecating"
        );
        let mut forever = address(1, 0);
        forever.cacheinfo = None;
        assert!(calls(&forever), "no cacheinfo: preferred for ever");
        assert!(!calls(&address(1, 0)), "already deprecated");
        // Before 3.14 a deprecated permanent address says preferred forever, and this flag.
        forever.flags_attr = Some(IfaFlags::DEPRECATED);
        assert!(!calls(&forever));
        assert!(calls(&address(7, 0)), "the rule watches it even deprecated");
        let mut temporary = address(1, 3600);
        temporary.flags_attr = Some(IfaFlags::TEMPORARY);
        assert!(!calls(&temporary), "temporary addresses are never changed");
        let mut link_local = address(1, 3600);
        link_local.scope = Scope::Link;
        assert!(!calls(&link_local));
        let mut ipv4 = address(1, 3600);
        ipv4.family = Family::Inet;
        ipv4.address = Some(IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1)));
        assert!(!calls(&ipv4));
        // A deletion needs no pass: nothing is left to change.
        let deleted = notification(RTM_DELADDR, &address(1, 3600));
        assert!(!calls_for_pass(&deleted, &[2], &Watching));
    }

    #[test]
    fn a_new_interface_calls_for_a_pass_and_a_known_one_does_not() {
        let link = notification(RTM_NEWLINK, &LinkMessage::by_index(3));
        assert!(calls_for_pass(&link, &[2], &Watching));
        assert!(!calls_for_pass(&link, &[2, 3], &Watching));
    }

    #[test]
    fn a_deleted_address_is_named_by_its_deletion_only() {
        let message = address(5, 3600);
        assert_eq!(
            deleted_address(&notification(RTM_DELADDR, &message)),
            Some(key(5))
        );
        assert_eq!(deleted_address(&notification(RTM_NEWADDR, &message)), None);
    }
}
