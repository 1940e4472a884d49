//! Carrying out a plan: the batch of RTM_NEWADDR messages, the report of each step, the
//! prefix routes a change makes the kernel re-install, and what is worth a warning, as typed
//! values that `present` words. The guard that no address deleted meanwhile is brought back
//! is [`race`]; `--probe`, the same question asked before and after a plan, is [`probe`].

pub mod probe;
mod race;

use std::net::{IpAddr, Ipv6Addr};

use crate::context::{Context, Outcome};
use crate::failure::{ChangeTally, Failure, Kind};
use crate::model::{
    Address, Interface, PrefixRoute, read_addresses, read_interfaces, read_ipv6_prefix_routes,
};
use crate::nl::Family;
use crate::nl::addr::IfaFlags;
use crate::nl::header::{
    NlmFlags, RTM_DELADDR, RTM_NEWADDR, RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR,
};
use crate::nl::request::RequestError;
use crate::pattern::prefix_mask;
use crate::plan::{Change, Mode, Plan, Warning};
use crate::present;

/// Reads the interfaces and the addresses of `family` that `keep` accepts: what every plan is
/// made from. When the plan is to be applied, the race guard's subscription comes first, so
/// that every deletion after this dump reaches [`execute`] (point 1 of [`race`]).
pub fn read_state(
    ctx: &mut Context,
    mode: Mode,
    family: Family,
    keep: impl FnMut(&Address) -> bool,
) -> Result<(Vec<Interface>, Vec<Address>), Failure> {
    if mode == Mode::Apply {
        ctx.conn
            .subscribe(
                &[RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR],
                &[RTM_NEWADDR, RTM_DELADDR],
            )
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

    /// Whether under `--watch` any notification of the address `local`, even one that shows
    /// it deprecated, calls for a pass: `prefer` watches its own address, to say when its
    /// router deprecates it.
    fn watches_address(&self, _local: IpAddr) -> bool {
        false
    }

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

/// The prefix route an IPv6 change may make the kernel re-install, with the change: an
/// address without `noprefixroute` gets its prefix route back on every RTM_NEWADDR
/// (`inet6_addr_modify`), also when an operator deleted it on purpose. IPv4 leaves routes alone
/// on a change, and an address with `noprefixroute` has none.
fn prefix_route_of(change: &Change<'_>) -> Option<PrefixRoute> {
    let address = change.address;
    if address.family != Family::Inet6 || address.flags.contains(IfaFlags::NOPREFIXROUTE) {
        return None;
    }
    let bits = u128::from(address.ipv6()?) & prefix_mask(address.prefixlen);
    let prefix = IpAddr::V6(Ipv6Addr::from(bits));
    Some((address.ifindex, prefix, address.prefixlen))
}

/// The changes whose prefix route is missing now, with that route: the kernel may re-install
/// it (not on a link that is down, for one), which [`reinstalled`] tells afterwards. The
/// lookups are linear: a host has few prefix routes, and a set costs the shipped binary more
/// than the 256 KiB budget has left.
pub fn missing_prefix_routes<'a, 'b>(
    ctx: &mut Context,
    changes: &[&'a Change<'b>],
) -> Result<Vec<(&'a Change<'b>, PrefixRoute)>, Failure> {
    if !changes
        .iter()
        .any(|change| prefix_route_of(change).is_some())
    {
        return Ok(Vec::new());
    }
    let routes =
        read_ipv6_prefix_routes(&mut ctx.conn).map_err(Failure::request("reading routes"))?;
    Ok(changes
        .iter()
        .filter_map(|change| Some((*change, prefix_route_of(change)?)))
        .filter(|(_, route)| !routes.contains(route))
        .collect())
}

/// Of the routes `missing` before the changes, those that exist now.
fn reinstalled<'a, 'b>(
    ctx: &mut Context,
    missing: Vec<(&'a Change<'b>, PrefixRoute)>,
) -> Result<Vec<(&'a Change<'b>, PrefixRoute)>, Failure> {
    if missing.is_empty() {
        return Ok(missing);
    }
    let routes =
        read_ipv6_prefix_routes(&mut ctx.conn).map_err(Failure::request("reading routes"))?;
    Ok(missing
        .into_iter()
        .filter(|(_, route)| routes.contains(route))
        .collect())
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
    let missing_routes = missing_prefix_routes(ctx, &changes)?;
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
        // Read, not taken: under `--watch` the loop takes it, and re-reads everything.
        let overrun = ctx.conn.overrun();
        let suspects = race::suspects(&changes, &outcome, ctx.conn.notifications(), overrun);
        for i in race::remove_recreated(ctx, interfaces, &changes, &suspects, overrun)? {
            if let (Some(slot), Some(change)) = (applied.get_mut(i), changes.get(i)) {
                *slot = false;
                crate::warn!(
                    "{}",
                    present::warning(&Warning::Recreated(change), interfaces)
                );
            }
        }
        let refused = outcome
            .results
            .iter()
            .enumerate()
            .find_map(|(i, result)| match result {
                Some(Err(error)) => Some((i, RequestError::Kernel(Box::new(error.clone())))),
                _ => None,
            });
        let unanswered = || {
            let i = outcome
                .results
                .iter()
                .position(Option::is_none)
                .unwrap_or(0);
            outcome.failure.map(|error| (i, error))
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
    let missing_routes = if mode == Mode::Apply {
        reinstalled(ctx, missing_routes)?
    } else {
        missing_routes
    };
    let warn = |warning: Warning<'_>| {
        crate::warn!("{}", present::warning(&warning, interfaces));
    };
    for &(change, (_, prefix, len)) in &missing_routes {
        warn(Warning::PrefixRoute {
            address: change.address,
            prefix,
            len,
            reinstalled: mode == Mode::Apply,
        });
    }
    for &ifindex in &plan.tentative_kept {
        warn(Warning::TentativeKept(ifindex));
    }
    for &ifindex in &plan.dadfailed_kept {
        warn(Warning::DadFailedKept(ifindex));
    }
    for &ifindex in &plan.no_preferred_kept {
        warn(Warning::NoPreferredKept(ifindex));
    }
    for &address in &plan.temporaries_win {
        warn(Warning::TemporariesWin(address));
    }
    for &address in &plan.router_deprecates {
        warn(Warning::RouterDeprecates(address));
    }
    if let Some((change, error, tally)) = failure {
        return Err(Kind::Partial {
            change,
            error,
            tally,
        }
        .into());
    }
    Ok(if mode == Mode::Check && !changes.is_empty() {
        Outcome::WorkFound
    } else {
        Outcome::Done
    })
}
