//! Carrying out a plan: the batch of RTM_NEWADDR messages, the report of each step, and the
//! guard that no address deleted meanwhile is brought back.
//!
//! The race: the kernel creates the address an RTM_NEWADDR names when it does not exist, even
//! without NLM_F_CREATE. If another process deletes an address between nlsel's dump and its
//! change, the change re-creates it. The guard:
//!
//! 1. The connection joins the address notification groups *before* the dump, so every
//!    RTM_DELADDR from then on reaches nlsel, queued in the kernel's order among the dump
//!    replies and the ACKs (the kernel handles each message under the RTNL lock and queues the
//!    notification before it is done with the next one).
//! 2. A change whose address had an RTM_DELADDR queued before the change's ACK may have
//!    re-created it. If the kernel dropped notifications (ENOBUFS), every change is suspect.
//! 3. For each suspect, nlsel reads the address again. One that is absent was deleted after
//!    the change: nothing to do. One that exists after a deletion was seen is a new
//!    incarnation, since the deletion came after the dump saw the old one; after an overrun,
//!    only a creation stamp (`cstamp` of IFA_CACHEINFO) newer than the dump's shows one. A new
//!    incarnation never changed after its creation (its `tstamp` equals its `cstamp`) is the
//!    one nlsel's change created, and nlsel deletes it. One changed since was re-added by
//!    someone else before the change, which only updated it, and it is kept.
//!
//! What is left: when another process re-adds the address and nlsel's change updates it within
//! the same 10 ms tick, the two look alike, and the address is deleted as if nlsel had created
//! it. The opposite mistake, keeping a copy nlsel created, cannot happen unless someone changes
//! that copy before nlsel reads it back.

use std::net::IpAddr;

use crate::context::{Context, Outcome};
use crate::failure::{ChangeError, ChangeTally, Failure};
use crate::model::{Address, Interface, name_of, read_addresses, read_interfaces};
use crate::nl::Family;
use crate::nl::addr::AddrMessage;
use crate::nl::header::{
    NlmFlags, RTM_DELADDR, RTM_NEWADDR, RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR,
};
use crate::nl::request::{BatchOutcome, Notification};
use crate::plan::{Change, Mode, Plan};
use crate::present;

/// The address a notification of deletion names: (ifindex, address).
fn deleted_address(notification: &Notification) -> Option<(u32, IpAddr)> {
    if notification.msg_type != RTM_DELADDR {
        return None;
    }
    let (message, _) = AddrMessage::parse(&notification.payload).ok()?;
    Some((message.ifindex, message.local_address()?))
}

/// A change that may have re-created a deleted address.
struct Suspect {
    /// Index of the change.
    index: usize,
    /// A deletion of its address was seen; without it the suspicion comes from an overrun.
    deletion_seen: bool,
}

/// The changes that may have re-created a deleted address.
fn suspects(
    changes: &[&Change<'_>],
    outcome: &BatchOutcome,
    notifications: &[Notification],
    overrun: bool,
) -> Vec<Suspect> {
    let deleted: Vec<Option<(u32, IpAddr)>> = notifications.iter().map(deleted_address).collect();
    let applied = |i: &usize| matches!(outcome.results.get(*i), Some(Some(Ok(()))));
    (0..changes.len())
        .filter(applied)
        .filter_map(|index| {
            let change = changes.get(index)?;
            let before_ack = outcome
                .notifications_before_ack
                .get(index)
                .copied()
                .unwrap_or(0);
            let key = Some((change.address.ifindex, change.address.local));
            let deletion_seen = deleted.get(..before_ack).unwrap_or_default().contains(&key);
            (deletion_seen || overrun).then_some(Suspect {
                index,
                deletion_seen,
            })
        })
        .collect()
}

/// Deletes what the changes in `suspects` re-created; returns the indexes of those it deleted.
fn remove_recreated(
    ctx: &mut Context,
    interfaces: &[Interface],
    changes: &[&Change<'_>],
    suspects: &[Suspect],
) -> Result<Vec<usize>, Failure> {
    let mut removed = Vec::new();
    for suspect in suspects {
        let i = suspect.index;
        let Some(change) = changes.get(i) else {
            continue;
        };
        let original = change.address;
        let now = read_addresses(&mut ctx.conn, original.family, |address| {
            address.ifindex == original.ifindex && address.local == original.local
        })
        .map_err(Failure::request("re-reading addresses"))?;
        let Some(current) = now.first() else { continue };
        // After a deletion, what exists is a new incarnation whatever its stamp says (the two
        // can share a 10 ms tick); after an overrun only a new creation stamp shows one.
        let new_incarnation = suspect.deletion_seen || current.cstamp != original.cstamp;
        let created_by_our_change = new_incarnation && current.tstamp == current.cstamp;
        if !created_by_our_change {
            continue;
        }
        let deletion = current.delete_message();
        match ctx.conn.request(RTM_DELADDR, &deletion, |_| Ok(())) {
            Ok(()) => removed.push(i),
            // Deleted again meanwhile: the state is what the other process wanted.
            Err(error)
                if error.errno() == Some(libc::EADDRNOTAVAIL)
                    || error.errno() == Some(libc::ENODEV) =>
            {
                removed.push(i)
            }
            Err(error) => {
                let what = format!(
                    "removing re-created {}",
                    change_description(change, interfaces)
                );
                return Err(Failure::request(what)(error));
            }
        }
    }
    Ok(removed)
}

/// Reads the interfaces and the addresses of `family` that `keep` accepts: what every plan is
/// made from. When the plan is to be applied, the race guard's subscription comes first, so
/// that every deletion after this dump reaches [`execute`] (point 1 above).
pub fn read_state(
    ctx: &mut Context,
    mode: Mode,
    family: Family,
    keep: impl FnMut(&Address) -> bool,
) -> Result<(Vec<Interface>, Vec<Address>), Failure> {
    if mode == Mode::Apply {
        ctx.conn
            .subscribe(&[RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR], &[RTM_DELADDR])
            .map_err(Failure::request("subscribing to address notifications"))?;
    }
    let interfaces =
        read_interfaces(&mut ctx.conn).map_err(Failure::request("reading interfaces"))?;
    let addresses = read_addresses(&mut ctx.conn, family, keep)
        .map_err(Failure::request("reading addresses"))?;
    Ok((interfaces, addresses))
}

/// A policy over the kernel's state: deprecate, prefer, undeprecate. The same rule runs once,
/// or on every change under `--watch`.
pub trait Rule {
    /// Which addresses the plan needs to see; the others are dropped while the dump is read.
    fn reads(&self, address: &Address) -> bool;

    /// The changes that bring `addresses` in line with the rule.
    fn plan<'a>(
        &self,
        addresses: &'a [Address],
        interfaces: &[Interface],
    ) -> Result<Plan<'a>, Failure>;
}

/// The one-shot run of a rule: read the state, plan, carry the plan out in `mode`.
pub fn apply_rule(ctx: &mut Context, rule: &dyn Rule, mode: Mode) -> Result<Outcome, Failure> {
    let (interfaces, addresses) =
        read_state(ctx, mode, Family::Inet6, |address| rule.reads(address))?;
    let plan = rule.plan(&addresses, &interfaces)?;
    execute(ctx, &plan, &interfaces, mode)
}

/// How errors and warnings name a change: "deprecate ADDR/LEN dev IFACE".
fn change_description(change: &Change<'_>, interfaces: &[Interface]) -> String {
    present::describe(change, interfaces, change.action.name())
}

/// Carries out `plan` (or prints it, under `--dry-run`/`--check`), then reports each step.
pub fn execute(
    ctx: &mut Context,
    plan: &Plan<'_>,
    interfaces: &[Interface],
    mode: Mode,
) -> Result<Outcome, Failure> {
    let changes: Vec<&Change<'_>> = plan.changes().collect();
    let mut applied: Vec<bool> = vec![mode == Mode::Apply; changes.len()];
    let mut failure = None;
    if mode == Mode::Apply && !changes.is_empty() {
        let messages = changes.iter().map(|change| {
            change
                .address
                .change_message(change.preferred_lft, change.valid_lft)
        });
        // REPLACE and never CREATE: only addresses just read from the dump are named.
        let outcome = ctx.conn.batch(RTM_NEWADDR, NlmFlags::REPLACE, messages);
        for (slot, result) in applied.iter_mut().zip(&outcome.results) {
            *slot = matches!(result, Some(Ok(())));
        }
        let overrun = ctx.conn.take_overrun();
        let suspects = suspects(&changes, &outcome, ctx.conn.notifications(), overrun);
        for i in remove_recreated(ctx, interfaces, &changes, &suspects)? {
            if let (Some(slot), Some(change)) = (applied.get_mut(i), changes.get(i)) {
                *slot = false;
                crate::warn!(
                    "{}: deleted by another process during the change; removed the copy the kernel re-created",
                    change_description(change, interfaces)
                );
            }
        }
        let refused = outcome
            .results
            .iter()
            .enumerate()
            .find_map(|(i, result)| match result {
                Some(Err(error)) => Some((i, ChangeError::Kernel(error.clone()))),
                _ => None,
            });
        let unanswered = || {
            let i = outcome
                .results
                .iter()
                .position(Option::is_none)
                .unwrap_or(0);
            outcome
                .failure
                .map(|error| (i, ChangeError::Request(error)))
        };
        let acknowledged = outcome.results.iter().flatten().count();
        let refused_count = outcome
            .results
            .iter()
            .filter(|r| matches!(r, Some(Err(_))))
            .count();
        let tally = ChangeTally {
            applied: applied.iter().filter(|ok| **ok).count(),
            refused: refused_count,
            unknown: outcome.sent.saturating_sub(acknowledged),
            not_sent: changes.len().saturating_sub(outcome.sent),
        };
        failure = refused.or_else(unanswered).map(|(i, error)| {
            let change = changes.get(i).map(|c| change_description(c, interfaces));
            (change.unwrap_or_default(), error, tally)
        });
    }

    for line in present::plan_report(plan, interfaces, mode, &applied, ctx.globals.json) {
        ctx.out.line(&line);
    }
    for &ifindex in &plan.no_preferred_kept {
        crate::warn!(
            "{}: no kept address is preferred; the kernel may still choose a deprecated one",
            String::from_utf8_lossy(&name_of(interfaces, ifindex))
        );
    }
    for address in &plan.temporaries_win {
        let ifname = String::from_utf8_lossy(&name_of(interfaces, address.ifindex)).into_owned();
        // sysctl(8) writes a dot in an interface name (eth0.100) as a slash.
        let key = ifname.replace('.', "/");
        crate::warn!(
            "{ifname}: kept {} stays preferred, but the kernel prefers its temporary (privacy) addresses over it (use_tempaddr=2); set net.ipv6.conf.{key}.use_tempaddr=1 to keep them but prefer public addresses",
            present::address_text(address)
        );
    }
    if let Some((change, error, tally)) = failure {
        return Err(Failure::Partial {
            change,
            error,
            tally,
        });
    }
    Ok(if mode == Mode::Check && !changes.is_empty() {
        Outcome::WorkFound
    } else {
        Outcome::Done
    })
}
