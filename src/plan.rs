//! The policy: which addresses to change, and to what, decided from a dump without any I/O.
//!
//! Every plan changes lifetimes only, and only of addresses that are not already in the wanted
//! state, so applying a plan twice sends the kernel nothing the second time.
//!
//! A temporary (privacy) address is never changed. The kernel keeps it no more preferred than
//! the SLAAC address it was made from (its `mngtmpaddr` parent): deprecating the parent
//! deprecates its temporaries, and those the kernel makes later are made deprecated. Changing
//! a temporary directly fights the kernel instead: a temporary deprecated while its parent is
//! preferred is replaced by a new, preferred one a second or two later. So a temporary follows
//! its parent's fate, `prefer` refuses one, and when a kept parent stays preferred on an
//! interface whose `use_tempaddr` is 2, the plan says that its temporaries win (RFC 6724 rule
//! 7), which only that sysctl can change.

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
    /// Kept addresses that stay preferred but whose temporary addresses the kernel prefers over
    /// them (`use_tempaddr` 2): work no change of lifetimes can do.
    pub temporaries_win: Vec<&'a Address>,
    /// Addresses `prefer` names whose router deprecates them: their lifetimes are the
    /// router's (see [`Address::lifetimes_from_router`]), and their preferred lifetime is 0.
    pub router_deprecates: Vec<&'a Address>,
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
    /// The address `prefer` names is a temporary address, which follows its parent.
    TemporaryAddress(IpAddr),
}

/// Whether the kernel prefers temporary addresses over public ones on an interface: its
/// `use_tempaddr` is 2 or more. The caller reads the sysctl; asked only for interfaces where a
/// kept address manages temporaries.
pub type PrefersTemporaries<'f> = &'f dyn Fn(u32) -> bool;

/// The kept addresses among `kept` whose temporaries win over them.
fn temporaries_win<'a>(
    kept: &[&'a Address],
    ifindex: u32,
    prefers_temporaries: PrefersTemporaries<'_>,
) -> Vec<&'a Address> {
    let parents: Vec<&Address> = kept
        .iter()
        .copied()
        .filter(|address| address.manages_temporaries() && !address.is_deprecated())
        .collect();
    if parents.is_empty() || !prefers_temporaries(ifindex) {
        return Vec::new();
    }
    parents
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
    // A temporary follows its parent (see the module comment).
    (!address.is_deprecated() && address.valid_lft > 0 && !address.is_temporary()).then_some(
        Change {
            address,
            action: Action::Deprecate,
            preferred_lft: 0,
            valid_lft: address.valid_lft,
        },
    )
}

fn preference(address: &Address, action: Action) -> Option<Change<'_>> {
    let wanted = address.preferred_lft != address.valid_lft && address.valid_lft > 0;
    (wanted && !address.is_temporary()).then_some(Change {
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
    prefers_temporaries: PrefersTemporaries<'_>,
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
        plan.temporaries_win
            .extend(temporaries_win(&kept, ifindex, prefers_temporaries));
    }
    Ok(plan)
}

/// `prefer ADDR`: on every interface that has ADDR, make it preferred for as long as it is
/// valid, and deprecate every other global IPv6 address there. A temporary ADDR is refused:
/// deprecating its parent would deprecate it too.
pub fn prefer<'a>(
    addresses: &'a [Address],
    target: IpAddr,
    prefers_temporaries: PrefersTemporaries<'_>,
) -> Result<Plan<'a>, PolicyError> {
    let targets: Vec<&Address> = addresses
        .iter()
        .filter(|address| address.local == target)
        .collect();
    if targets.is_empty() {
        return Err(PolicyError::AddressNotFound(target));
    }
    if targets.iter().any(|address| address.is_temporary()) {
        return Err(PolicyError::TemporaryAddress(target));
    }
    let mut plan = Plan::default();
    for chosen in targets {
        // The router gives a SLAAC address its preferred lifetime, and its next RA sets it
        // again: prefer never raises it above what the router gave, and leaves a router's
        // preferred 0 (the prefix being retired) in place, with a warning.
        let from_router = chosen.lifetimes_from_router();
        // Once preferred, a parent is beaten by its own temporaries as any kept one is.
        let mut after = chosen.clone();
        if !from_router {
            after.preferred_lft = after.valid_lft;
        }
        if !temporaries_win(&[&after], chosen.ifindex, prefers_temporaries).is_empty() {
            plan.temporaries_win.push(chosen);
        }
        if !from_router {
            plan.steps
                .extend(preference(chosen, Action::Prefer).map(Step::Change));
        } else if chosen.is_deprecated() {
            plan.router_deprecates.push(chosen);
        }
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

/// What a plan, or carrying it out (`crate::apply`), found worth a warning, for
/// `present::warning` to put into words.
#[derive(Debug, Clone, Copy)]
pub enum Warning<'a> {
    /// Another process deleted the address during the change, and the copy the kernel
    /// re-created was removed (`crate::apply`'s race guard).
    Recreated(&'a Change<'a>),
    /// The change makes the kernel re-install a prefix route that was missing
    /// (`reinstalled`: it did, in a real run).
    PrefixRoute {
        address: &'a Address,
        prefix: IpAddr,
        len: u8,
        reinstalled: bool,
    },
    /// On this interface every address matching `--except` is still tentative.
    TentativeKept(u32),
    /// On this interface every address matching `--except` failed DAD.
    DadFailedKept(u32),
    /// On this interface no kept address is preferred.
    NoPreferredKept(u32),
    /// A kept address whose temporaries the kernel prefers (`use_tempaddr` 2).
    TemporariesWin(&'a Address),
    /// The address `prefer` keeps is being deprecated by its router.
    RouterDeprecates(&'a Address),
    /// `addr change` on an IPv4 address whose lifetimes are both forever: the kernel ignores
    /// the preferred lifetime `preferred` asked for.
    Ipv4PreferredIgnored {
        address: &'a Address,
        preferred: u32,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nl::addr::{INFINITY_LIFE_TIME, Scope};

    fn address(ifindex: u32, text: &str, prefixlen: u8, preferred_lft: u32) -> Address {
        Address {
            ifindex,
            prefixlen,
            preferred_lft,
            ..Address::for_test(text)
        }
    }

    const NEVER: fn(u32) -> bool = |_| false;

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
        let plan = deprecate(&addresses, &[Pattern::parse("::2").unwrap()], None, &NEVER).unwrap();
        assert_eq!(changed(&plan), ["2001:db8:f1c1:8454:964::beef"]);
        let change = plan.changes().next().unwrap();
        assert_eq!(
            (change.preferred_lft, change.valid_lft),
            (0, INFINITY_LIFE_TIME)
        );
        assert!(plan.no_preferred_kept.is_empty());
    }

    #[test]
    fn expired_addresses_are_never_changed() {
        // The kernel refuses valid_lft 0 and is about to remove the address anyway.
        let mut addresses = seed();
        addresses[1].valid_lft = 0;
        // Not deprecated by its preferred lifetime: only valid 0 keeps it out of the plan.
        addresses[1].preferred_lft = 1;
        let plan = deprecate(&addresses, &[Pattern::parse("::2").unwrap()], None, &NEVER).unwrap();
        assert!(plan.steps.is_empty());
        addresses[1].preferred_lft = 0;
        addresses[1].flags |= IfaFlags::DEPRECATED;
        assert!(undeprecate(&addresses, None).steps.is_empty());
        // Even with lifetimes the kernel would never report together, valid 0 is not changed.
        addresses[0].valid_lft = 0;
        addresses[0].preferred_lft = 1;
        let target: IpAddr = "2001:db8:f1c1:8454:964::2".parse().unwrap();
        let plan = prefer(&addresses, target, &NEVER).unwrap();
        assert_eq!(changed(&plan), ["::2"]);
    }

    #[test]
    fn prefer_touches_only_global_addresses_on_the_target_interface() {
        let mut addresses = seed();
        addresses.push(address(3, "2001:db8::beef", 64, INFINITY_LIFE_TIME));
        let mut link_local = address(2, "fe80::1", 64, INFINITY_LIFE_TIME);
        link_local.scope = Scope::Link;
        addresses.push(link_local);
        let target: IpAddr = "2001:db8:f1c1:8454:964::2".parse().unwrap();
        let plan = prefer(&addresses, target, &NEVER).unwrap();
        // Already preferred: only the two other global addresses of interface 2 change.
        assert_eq!(changed(&plan), ["2001:db8:f1c1:8454:964::beef", "::2"]);
    }

    #[test]
    fn deprecated_addresses_are_not_touched_again() {
        let mut addresses = seed();
        addresses[1].preferred_lft = 0;
        let plan = deprecate(&addresses, &[Pattern::parse("::2").unwrap()], None, &NEVER).unwrap();
        assert!(plan.steps.is_empty());
    }

    #[test]
    fn interface_without_match_is_left_alone_or_an_error_when_named() {
        let mut addresses = seed();
        addresses.push(address(3, "2001:db8::beef", 64, INFINITY_LIFE_TIME));
        let patterns = [Pattern::parse("::2").unwrap()];
        let plan = deprecate(&addresses, &patterns, None, &NEVER).unwrap();
        assert!(plan.steps.contains(&Step::LeaveAlone { ifindex: 3 }));
        assert_eq!(changed(&plan).len(), 1);
        assert_eq!(
            deprecate(&addresses, &patterns, Some(&[2, 3]), &NEVER),
            Err(PolicyError::NoMatchOnNamedInterface { ifindex: 3 })
        );
        assert_eq!(
            deprecate(&addresses, &patterns, Some(&[4]), &NEVER),
            Err(PolicyError::NoMatchOnNamedInterface { ifindex: 4 })
        );
    }

    #[test]
    fn warns_when_every_kept_address_is_deprecated() {
        let mut addresses = seed();
        addresses[0].preferred_lft = 0;
        addresses[2].preferred_lft = 0;
        let plan = deprecate(&addresses, &[Pattern::parse("::2").unwrap()], None, &NEVER).unwrap();
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
            let plan =
                deprecate(&addresses, &[Pattern::parse("::2").unwrap()], None, &NEVER).unwrap();
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
        let plan = deprecate(&addresses, &[Pattern::parse("::2").unwrap()], None, &NEVER).unwrap();
        assert_eq!(changed(&plan), ["2001:db8:f1c1:8454:964::beef"]);
        assert!(plan.tentative_kept.is_empty() && plan.dadfailed_kept.is_empty());
    }

    #[test]
    fn prefer_makes_target_preferred_and_deprecates_the_rest() {
        let mut addresses = seed();
        addresses[1].preferred_lft = 0;
        addresses[1].valid_lft = 3600;
        let target: IpAddr = "2001:db8:f1c1:8454:964::beef".parse().unwrap();
        let plan = prefer(&addresses, target, &NEVER).unwrap();
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
            prefer(&addresses, missing, &NEVER),
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

    /// venet0 with a kept ::2, a SLAAC parent and its temporary.
    fn slaac() -> Vec<Address> {
        let mut parent = address(2, "2001:db8:5::ff:fe00:1", 64, 3600);
        parent.flags = IfaFlags::MANAGETEMPADDR;
        parent.valid_lft = 7200;
        let mut temporary = address(2, "2001:db8:5:0:1234:5678:9abc:def0", 64, 3600);
        temporary.flags = IfaFlags::TEMPORARY;
        temporary.valid_lft = 7200;
        vec![
            address(2, "2001:db8::2", 64, INFINITY_LIFE_TIME),
            parent,
            temporary,
        ]
    }

    #[test]
    fn temporaries_are_never_changed_their_parent_is() {
        let addresses = slaac();
        let plan = deprecate(&addresses, &[Pattern::parse("::2").unwrap()], None, &NEVER).unwrap();
        assert_eq!(changed(&plan), ["2001:db8:5::ff:fe00:1"]);
        let mut deprecated = slaac();
        deprecated[1].preferred_lft = 0;
        deprecated[2].preferred_lft = 0;
        assert!(
            undeprecate(&deprecated, None)
                .changes()
                .all(|c| !c.address.is_temporary())
        );
        assert_eq!(undeprecate(&deprecated, None).changes().count(), 1);
    }

    #[test]
    fn a_kept_parent_beaten_by_its_temporaries_is_reported_only_under_use_tempaddr_2() {
        let addresses = slaac();
        let parent = [Pattern::parse("::ff:fe00:1").unwrap()];
        let asked = std::cell::Cell::new(0);
        let prefers = |ifindex: u32| {
            asked.set(asked.get() + 1);
            ifindex == 2
        };
        let plan = deprecate(&addresses, &parent, None, &prefers).unwrap();
        assert_eq!(
            changed(&plan),
            ["2001:db8::2"],
            "the temporary is left to the kernel"
        );
        let beaten: Vec<String> = plan
            .temporaries_win
            .iter()
            .map(|a| a.local.to_string())
            .collect();
        assert_eq!(beaten, ["2001:db8:5::ff:fe00:1"]);
        assert!(
            deprecate(&addresses, &parent, None, &NEVER)
                .unwrap()
                .temporaries_win
                .is_empty()
        );
        // A kept address that manages no temporaries never asks for the sysctl.
        asked.set(0);
        let plan = deprecate(
            &addresses,
            &[Pattern::parse("::2").unwrap()],
            None,
            &prefers,
        )
        .unwrap();
        assert!(plan.temporaries_win.is_empty());
        assert_eq!(asked.get(), 0);
        let target: IpAddr = "2001:db8:5::ff:fe00:1".parse().unwrap();
        assert_eq!(
            prefer(&addresses, target, &prefers)
                .unwrap()
                .temporaries_win
                .len(),
            1
        );
        assert!(
            prefer(&addresses, target, &NEVER)
                .unwrap()
                .temporaries_win
                .is_empty()
        );
    }

    #[test]
    fn prefer_refuses_a_temporary() {
        let addresses = slaac();
        let temporary: IpAddr = "2001:db8:5:0:1234:5678:9abc:def0".parse().unwrap();
        assert_eq!(
            prefer(&addresses, temporary, &NEVER),
            Err(PolicyError::TemporaryAddress(temporary))
        );
    }

    #[test]
    fn prefer_never_raises_what_a_router_gave_and_reports_its_deprecation() {
        let mut addresses = slaac();
        addresses[1].proto = Some(crate::model::IFAPROT_KERNEL_RA);
        // An RA with valid 7200, preferred 30.
        addresses[1].preferred_lft = 30;
        let target: IpAddr = "2001:db8:5::ff:fe00:1".parse().unwrap();
        let plan = prefer(&addresses, target, &NEVER).unwrap();
        assert_eq!(changed(&plan), ["2001:db8::2"], "only the other is changed");
        assert!(plan.router_deprecates.is_empty());
        // The router retires the prefix: preferred 0 stays, and is reported.
        addresses[1].preferred_lft = 0;
        let plan = prefer(&addresses, target, &NEVER).unwrap();
        assert_eq!(changed(&plan), ["2001:db8::2"]);
        assert_eq!(plan.router_deprecates, [&addresses[1]]);
        // Without the protocol (kernels before 5.18), mngtmpaddr marks a SLAAC address; a
        // permanent one never has its lifetimes from a router.
        addresses[1].proto = None;
        assert_eq!(
            prefer(&addresses, target, &NEVER)
                .unwrap()
                .router_deprecates
                .len(),
            1
        );
        addresses[1].flags |= IfaFlags::PERMANENT;
        let plan = prefer(&addresses, target, &NEVER).unwrap();
        assert!(plan.router_deprecates.is_empty());
        assert_eq!(changed(&plan), ["2001:db8:5::ff:fe00:1", "2001:db8::2"]);
        // A static address with finite lifetimes and no protocol is the user's: raised.
        addresses[1].flags = IfaFlags::empty();
        assert_eq!(
            changed(&prefer(&addresses, target, &NEVER).unwrap())[0],
            "2001:db8:5::ff:fe00:1"
        );
    }

    /// Under use_tempaddr 2, prefer judges the temporaries against the parent as it leaves it:
    /// the user's deprecated parent is raised and then beaten by them; a router's keeps its
    /// preferred 0, and a deprecated parent is beaten by nothing.
    #[test]
    fn prefer_judges_the_temporaries_against_the_parent_it_leaves() {
        let mut addresses = slaac();
        addresses[1].preferred_lft = 0;
        let target: IpAddr = "2001:db8:5::ff:fe00:1".parse().unwrap();
        let prefers = |ifindex: u32| ifindex == 2;
        // SLAAC (mngtmpaddr, no protocol): the router's preferred 0 stays.
        let plan = prefer(&addresses, target, &prefers).unwrap();
        assert_eq!(plan.router_deprecates, [&addresses[1]]);
        assert!(plan.temporaries_win.is_empty());
        // The user's own: raised to its valid lifetime, where its temporaries beat it.
        addresses[1].flags |= IfaFlags::PERMANENT;
        let plan = prefer(&addresses, target, &prefers).unwrap();
        assert!(plan.router_deprecates.is_empty());
        assert_eq!(plan.temporaries_win, [&addresses[1]]);
    }
}
