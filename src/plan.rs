//! The policy: which addresses to change, and to what, decided from a dump without any I/O.
//!
//! Every plan changes lifetimes only, and only of addresses that are not already in the wanted
//! state, so applying a plan twice sends the kernel nothing the second time.

use std::collections::BTreeMap;
use std::net::IpAddr;

use crate::model::Address;
use crate::nl::addr::IfaFlags;
use crate::pattern::Pattern;

/// Whether a plan is carried out, printed as commands, or only checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    #[default]
    Apply,
    DryRun,
    Check,
}

/// What a change does to an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// preferred_lft := 0.
    Deprecate,
    /// preferred_lft := the remaining valid_lft, for an address that was deprecated.
    Undeprecate,
    /// preferred_lft := the remaining valid_lft, for the address `prefer` names.
    Prefer,
    /// Lifetimes given by `addr change`.
    Change,
}

impl Action {
    /// The verb as the output prints it after the change: "deprecated".
    pub fn past_tense(self) -> &'static str {
        match self {
            Action::Deprecate => "deprecated",
            Action::Undeprecate => "undeprecated",
            Action::Prefer => "preferred",
            Action::Change => "changed",
        }
    }

    /// The verb as JSON and `--check` name it: "deprecate".
    pub fn name(self) -> &'static str {
        match self {
            Action::Deprecate => "deprecate",
            Action::Undeprecate => "undeprecate",
            Action::Prefer => "prefer",
            Action::Change => "change",
        }
    }
}

/// One address to change: its new lifetimes, everything else as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change<'a> {
    pub address: &'a Address,
    pub action: Action,
    pub preferred_lft: u32,
    pub valid_lft: u32,
}

/// A line of a plan, in the order the output shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step<'a> {
    Change(Change<'a>),
    /// An interface with global IPv6 addresses of which none matches a pattern.
    LeaveAlone {
        ifindex: u32,
    },
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan<'a> {
    pub steps: Vec<Step<'a>>,
    /// Interfaces where no kept address is preferred after the plan, so the kernel may still
    /// pick a deprecated one.
    pub no_preferred_kept: Vec<u32>,
    /// Interfaces left unchanged because no address a pattern keeps there is usable and some
    /// are still in duplicate address detection (tentative): the kernel cannot use them as a
    /// source yet, so deprecating the others would leave no working address for now.
    pub tentative_kept: Vec<u32>,
    /// The same, when the kept addresses failed duplicate address detection: they will never
    /// be usable.
    pub dadfailed_kept: Vec<u32>,
}

impl<'a> Plan<'a> {
    pub fn changes(&self) -> impl Iterator<Item = &Change<'a>> {
        self.steps.iter().filter_map(|step| match step {
            Step::Change(change) => Some(change),
            Step::LeaveAlone { .. } => None,
        })
    }
}

/// Why no plan could be made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyError {
    /// An interface named with `--dev` has no global IPv6 address that matches a pattern.
    NoMatchOnNamedInterface { ifindex: u32 },
    /// The address `prefer` names is on no interface.
    AddressNotFound(IpAddr),
}

/// Global-scope IPv6 addresses grouped by interface, in index order.
fn global_ipv6_by_interface(addresses: &[Address]) -> BTreeMap<u32, Vec<&Address>> {
    let mut by_interface: BTreeMap<u32, Vec<&Address>> = BTreeMap::new();
    for address in addresses.iter().filter(|address| address.is_global_ipv6()) {
        by_interface
            .entry(address.ifindex)
            .or_default()
            .push(address);
    }
    by_interface
}

fn deprecation(address: &Address) -> Option<Change<'_>> {
    // An address whose valid lifetime ran out is being removed; the kernel refuses valid 0.
    (!address.is_deprecated() && address.valid_lft > 0).then_some(Change {
        address,
        action: Action::Deprecate,
        preferred_lft: 0,
        valid_lft: address.valid_lft,
    })
}

fn preference(address: &Address, action: Action) -> Option<Change<'_>> {
    (address.preferred_lft != address.valid_lft && address.valid_lft > 0).then_some(Change {
        address,
        action,
        preferred_lft: address.valid_lft,
        valid_lft: address.valid_lft,
    })
}

/// `deprecate --except PATTERN… [--dev …]`: on each interface (those in `only`, or all), keep
/// what matches a pattern and deprecate the rest; an interface where nothing matches is left
/// alone, and is an error when it was named in `only`.
pub fn deprecate<'a>(
    addresses: &'a [Address],
    patterns: &[Pattern],
    only: Option<&[u32]>,
) -> Result<Plan<'a>, PolicyError> {
    let by_interface = global_ipv6_by_interface(addresses);
    let unknown = only.and_then(|only| only.iter().find(|i| !by_interface.contains_key(i)));
    if let Some(&ifindex) = unknown {
        return Err(PolicyError::NoMatchOnNamedInterface { ifindex });
    }
    let mut plan = Plan::default();
    for (&ifindex, on_interface) in &by_interface {
        if only.is_some_and(|only| !only.contains(&ifindex)) {
            continue;
        }
        let is_kept = |address: &Address| {
            address
                .ipv6()
                .is_some_and(|ip| patterns.iter().any(|p| p.matches(ip, address.prefixlen)))
        };
        let (kept, others): (Vec<&Address>, Vec<&Address>) =
            on_interface.iter().partition(|address| is_kept(address));
        if kept.is_empty() {
            if only.is_some() {
                return Err(PolicyError::NoMatchOnNamedInterface { ifindex });
            }
            plan.steps.push(Step::LeaveAlone { ifindex });
            continue;
        }
        let usable = kept.iter().any(|address| address.is_usable());
        if !usable && kept.iter().any(|address| address.is_unconfirmed()) {
            let dad_failed = kept
                .iter()
                .all(|address| address.flags.contains(IfaFlags::DADFAILED));
            if dad_failed {
                plan.dadfailed_kept.push(ifindex);
            } else {
                plan.tentative_kept.push(ifindex);
            }
            continue;
        }
        plan.steps
            .extend(others.into_iter().filter_map(deprecation).map(Step::Change));
        if kept.iter().all(|address| address.is_deprecated()) {
            plan.no_preferred_kept.push(ifindex);
        }
    }
    Ok(plan)
}

/// `prefer ADDR`: on every interface that has ADDR, make it preferred for as long as it is
/// valid, and deprecate every other global IPv6 address there.
pub fn prefer(addresses: &[Address], target: IpAddr) -> Result<Plan<'_>, PolicyError> {
    let targets: Vec<&Address> = addresses
        .iter()
        .filter(|address| address.local == target)
        .collect();
    if targets.is_empty() {
        return Err(PolicyError::AddressNotFound(target));
    }
    let mut plan = Plan::default();
    for chosen in targets {
        plan.steps
            .extend(preference(chosen, Action::Prefer).map(Step::Change));
        let others = addresses.iter().filter(|address| {
            address.ifindex == chosen.ifindex && address.is_global_ipv6() && address.local != target
        });
        plan.steps
            .extend(others.filter_map(deprecation).map(Step::Change));
    }
    Ok(plan)
}

/// `undeprecate [--dev …]`: every deprecated global IPv6 address becomes preferred for as long
/// as it is valid.
pub fn undeprecate<'a>(addresses: &'a [Address], only: Option<&[u32]>) -> Plan<'a> {
    let selected = addresses.iter().filter(|address| {
        address.is_global_ipv6()
            && address.is_deprecated()
            && only.is_none_or(|only| only.contains(&address.ifindex))
    });
    Plan {
        steps: selected
            .filter_map(|address| preference(address, Action::Undeprecate))
            .map(Step::Change)
            .collect(),
        ..Plan::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nl::Family;
    use crate::nl::addr::{INFINITY_LIFE_TIME, Scope};

    fn address(ifindex: u32, text: &str, prefixlen: u8, preferred_lft: u32) -> Address {
        let local: IpAddr = text.parse().unwrap();
        Address {
            ifindex,
            family: Family::of(&local),
            prefixlen,
            scope: Scope::Universe,
            local,
            peer: None,
            broadcast: None,
            label: None,
            flags: IfaFlags::PERMANENT,
            preferred_lft,
            valid_lft: INFINITY_LIFE_TIME,
            proto: None,
            rt_priority: None,
            cstamp: 0,
            tstamp: 0,
        }
    }

    fn seed() -> Vec<Address> {
        vec![
            address(2, "2001:db8:f1c1:8454:964::2", 80, INFINITY_LIFE_TIME),
            address(2, "2001:db8:f1c1:8454:964::beef", 80, INFINITY_LIFE_TIME),
            address(2, "::2", 128, INFINITY_LIFE_TIME),
        ]
    }

    fn changed(plan: &Plan<'_>) -> Vec<String> {
        plan.changes()
            .map(|change| change.address.local.to_string())
            .collect()
    }

    #[test]
    fn seed_scenario_deprecates_only_beef() {
        let addresses = seed();
        let plan = deprecate(&addresses, &[Pattern::parse("::2").unwrap()], None).unwrap();
        assert_eq!(changed(&plan), ["2001:db8:f1c1:8454:964::beef"]);
        let change = plan.changes().next().unwrap();
        assert_eq!(
            (change.preferred_lft, change.valid_lft),
            (0, INFINITY_LIFE_TIME)
        );
        assert!(plan.no_preferred_kept.is_empty());
    }

    #[test]
    fn deprecated_addresses_are_not_touched_again() {
        let mut addresses = seed();
        addresses[1].preferred_lft = 0;
        let plan = deprecate(&addresses, &[Pattern::parse("::2").unwrap()], None).unwrap();
        assert!(plan.steps.is_empty());
    }

    #[test]
    fn interface_without_match_is_left_alone_or_an_error_when_named() {
        let mut addresses = seed();
        addresses.push(address(3, "2001:db8::beef", 64, INFINITY_LIFE_TIME));
        let patterns = [Pattern::parse("::2").unwrap()];
        let plan = deprecate(&addresses, &patterns, None).unwrap();
        assert!(plan.steps.contains(&Step::LeaveAlone { ifindex: 3 }));
        assert_eq!(changed(&plan).len(), 1);
        assert_eq!(
            deprecate(&addresses, &patterns, Some(&[2, 3])),
            Err(PolicyError::NoMatchOnNamedInterface { ifindex: 3 })
        );
        assert_eq!(
            deprecate(&addresses, &patterns, Some(&[4])),
            Err(PolicyError::NoMatchOnNamedInterface { ifindex: 4 })
        );
    }

    #[test]
    fn warns_when_every_kept_address_is_deprecated() {
        let mut addresses = seed();
        addresses[0].preferred_lft = 0;
        addresses[2].preferred_lft = 0;
        let plan = deprecate(&addresses, &[Pattern::parse("::2").unwrap()], None).unwrap();
        assert_eq!(plan.no_preferred_kept, [2]);
    }

    #[test]
    fn tentative_or_dadfailed_kept_addresses_are_not_usable() {
        for flag in [
            IfaFlags::DADFAILED | IfaFlags::TENTATIVE,
            IfaFlags::TENTATIVE,
        ] {
            let mut addresses = seed();
            addresses[0].flags = flag;
            addresses[2].flags = flag;
            let plan = deprecate(&addresses, &[Pattern::parse("::2").unwrap()], None).unwrap();
            assert!(plan.steps.is_empty(), "{flag:?}: {plan:?}");
            let listed = if flag.contains(IfaFlags::DADFAILED) {
                &plan.dadfailed_kept
            } else {
                &plan.tentative_kept
            };
            assert_eq!(listed, &[2]);
        }
        // One usable kept address is enough.
        let mut addresses = seed();
        addresses[0].flags = IfaFlags::DADFAILED | IfaFlags::TENTATIVE;
        let plan = deprecate(&addresses, &[Pattern::parse("::2").unwrap()], None).unwrap();
        assert_eq!(changed(&plan), ["2001:db8:f1c1:8454:964::beef"]);
        assert!(plan.tentative_kept.is_empty() && plan.dadfailed_kept.is_empty());
    }

    #[test]
    fn prefer_makes_target_preferred_and_deprecates_the_rest() {
        let mut addresses = seed();
        addresses[1].preferred_lft = 0;
        addresses[1].valid_lft = 3600;
        let target: IpAddr = "2001:db8:f1c1:8454:964::beef".parse().unwrap();
        let plan = prefer(&addresses, target).unwrap();
        let actions: Vec<_> = plan
            .changes()
            .map(|c| (c.action, c.preferred_lft))
            .collect();
        assert_eq!(
            actions,
            [
                (Action::Prefer, 3600),
                (Action::Deprecate, 0),
                (Action::Deprecate, 0)
            ]
        );
        let missing: IpAddr = "2001:db8::99".parse().unwrap();
        assert_eq!(
            prefer(&addresses, missing),
            Err(PolicyError::AddressNotFound(missing))
        );
    }

    #[test]
    fn undeprecate_restores_valid_lifetime() {
        let mut addresses = seed();
        addresses[1].preferred_lft = 0;
        addresses[1].valid_lft = 1234;
        let plan = undeprecate(&addresses, None);
        let lifetimes: Vec<_> = plan
            .changes()
            .map(|c| (c.preferred_lft, c.valid_lft))
            .collect();
        assert_eq!(lifetimes, [(1234, 1234)]);
        assert!(undeprecate(&addresses, Some(&[7])).steps.is_empty());
    }
}
