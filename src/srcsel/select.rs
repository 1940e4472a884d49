//! The choice itself: every candidate scored rule by rule, in the kernel's order, and the
//! winner; pure (state in, ranked candidates out).

use std::net::Ipv6Addr;

use super::Unsupported;
use super::classify::{
    SCOPE_LINKLOCAL, addr_type, classify, common_prefix_len, is_orchid, label_of,
};
use super::state::{Ipv6Conf, KernelBuild, SourceState};
use crate::model::Address;
use crate::nl::addr::IfaFlags;

/// A rule of the choice, in the kernel's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Rule {
    SameAddress,
    Scope,
    AvoidDeprecated,
    HomeAddress,
    OutgoingInterface,
    MatchingLabel,
    Temporary,
    Orchid,
    LongestPrefix,
    NotOptimistic,
    /// Equal on every rule: the first in the kernel's order wins.
    KernelOrder,
}

impl Rule {
    /// The rule's number: RFC 6724's where it has one; ORCHID, which the kernel checks just
    /// before rule 8, is 7.5, and the kernel's own last two steps are 9 and 10.
    ///
    /// As text: a float would bring the float formatter (5 KiB) into the release binary for
    /// one number with a fraction.
    pub fn number(self) -> &'static str {
        match self {
            Rule::SameAddress => "1",
            Rule::Scope => "2",
            Rule::AvoidDeprecated => "3",
            Rule::HomeAddress => "4",
            Rule::OutgoingInterface => "5",
            Rule::MatchingLabel => "6",
            Rule::Temporary => "7",
            Rule::Orchid => "7.5",
            Rule::LongestPrefix => "8",
            Rule::NotOptimistic => "9",
            Rule::KernelOrder => "10",
        }
    }
}
/// What the rules saw of one candidate: the value of each, and what those values came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Score {
    pub same_address: bool,
    pub scope: i32,
    /// The kernel's scope value: higher is better.
    pub scope_value: i32,
    pub preferred: bool,
    /// Why rule 3 found it not preferred.
    pub deprecated: bool,
    pub optimistic_avoided: bool,
    pub home: bool,
    pub on_outgoing_interface: bool,
    pub label: u32,
    pub label_matches: bool,
    pub temporary: bool,
    /// `use_tempaddr >= 2` on its interface: temporary addresses are wanted.
    pub prefers_temporary: bool,
    pub orchid_matches: bool,
    /// Shared leading bits with the destination, capped at the prefix length.
    pub matchlen: u8,
    pub optimistic: bool,
}

impl Score {
    /// The rules' values in the kernel's order; rules this kernel lacks are left out.
    fn values(&self, build: &KernelBuild) -> Vec<(Rule, i64)> {
        let flag = |b: bool| i64::from(b);
        let mut values = vec![
            (Rule::SameAddress, flag(self.same_address)),
            (Rule::Scope, i64::from(self.scope_value)),
            (Rule::AvoidDeprecated, flag(self.preferred)),
        ];
        if build.home_address_rule == Some(true) {
            values.push((Rule::HomeAddress, flag(self.home)));
        }
        values.extend([
            (Rule::OutgoingInterface, flag(self.on_outgoing_interface)),
            (Rule::MatchingLabel, flag(self.label_matches)),
            (
                Rule::Temporary,
                flag(self.temporary == self.prefers_temporary),
            ),
            (Rule::Orchid, flag(self.orchid_matches)),
            (Rule::LongestPrefix, i64::from(self.matchlen)),
        ]);
        if build.not_optimistic_rule != Some(false) {
            values.push((Rule::NotOptimistic, flag(!self.optimistic)));
        }
        values
    }
}

/// Why an address is not a candidate at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exclusion {
    /// Tentative (duplicate address detection not finished) and not optimistic.
    Tentative,
    /// Duplicate address detection found the address in use (it stays tentative for good).
    DadFailed,
    /// On another interface while only the outgoing one's addresses count.
    NotOutgoingInterface,
    /// The unspecified address, or a multicast one.
    NotUnicast,
}

/// How one candidate fared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Chosen,
    /// Lost to the chosen address at this rule.
    Lost(Rule),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub address: Address,
    pub score: Score,
    pub verdict: Verdict,
}

/// Why only the outgoing interface's addresses were candidates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OifOnly {
    Multicast,
    LinkLocalScope,
    UseOifAddrsOnly,
}

/// The outcome of the choice for one destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    pub destination: Ipv6Addr,
    pub oif: Option<u32>,
    pub dst_scope: i32,
    pub dst_label: u32,
    pub oif_only: Option<OifOnly>,
    /// In the kernel's order.
    pub candidates: Vec<Candidate>,
    pub excluded: Vec<(Address, Exclusion)>,
    /// What makes this state one the model cannot answer for, if anything.
    pub unsupported: Option<Unsupported>,
}

impl Selection {
    pub fn chosen(&self) -> Option<&Candidate> {
        self.candidates
            .iter()
            .find(|candidate| candidate.verdict == Verdict::Chosen)
    }
}

impl SourceState {
    fn conf_of(&self, ifindex: u32) -> Ipv6Conf {
        self.interfaces
            .iter()
            .find(|interface| interface.ifindex == ifindex)
            .map(|interface| interface.conf)
            .unwrap_or_default()
    }

    /// `ipv6_use_optimistic_addr` for an interface.
    fn uses_optimistic(&self, ifindex: u32) -> bool {
        let conf = self.conf_of(ifindex);
        (self.all.optimistic_dad || conf.optimistic_dad)
            && (self.all.use_optimistic || conf.use_optimistic)
            && self.build.not_optimistic_rule != Some(false)
    }

    /// The addresses in the kernel's candidate order: by interface in device order, then in
    /// each interface's list order. Addresses of an interface the device list lacks come last.
    fn in_kernel_order(&self) -> Vec<&Address> {
        let mut ordered: Vec<&Address> = Vec::with_capacity(self.addresses.len());
        for interface in &self.interfaces {
            ordered.extend(
                self.addresses
                    .iter()
                    .filter(|address| address.ifindex == interface.ifindex),
            );
        }
        ordered.extend(self.addresses.iter().filter(|address| {
            !self
                .interfaces
                .iter()
                .any(|interface| interface.ifindex == address.ifindex)
        }));
        ordered
    }

    fn score(&self, address: &Address, ip: Ipv6Addr, dst: &Destination) -> Option<Score> {
        let (kind, scope) = classify(ip)?;
        let flags = address.flags;
        let optimistic = flags.contains(IfaFlags::OPTIMISTIC);
        let optimistic_avoided = optimistic && !self.uses_optimistic(address.ifindex);
        let deprecated = flags.contains(IfaFlags::DEPRECATED);
        let always_preferred =
            kind & (addr_type::MAPPED | addr_type::COMPATV4 | addr_type::LOOPBACK) != 0;
        let label = label_of(&self.labels, ip, address.ifindex);
        Some(Score {
            same_address: ip == dst.addr,
            scope,
            scope_value: if scope >= dst.scope {
                -scope
            } else {
                scope - 128
            },
            preferred: always_preferred || !(deprecated || optimistic_avoided),
            deprecated,
            optimistic_avoided,
            home: flags.contains(IfaFlags::HOMEADDRESS),
            on_outgoing_interface: dst.oif.is_none_or(|oif| oif == address.ifindex),
            label,
            label_matches: label == dst.label,
            temporary: flags.contains(IfaFlags::TEMPORARY),
            prefers_temporary: self.conf_of(address.ifindex).use_tempaddr >= 2,
            orchid_matches: is_orchid(ip) == is_orchid(dst.addr),
            matchlen: common_prefix_len(ip, dst.addr).min(address.prefixlen),
            optimistic,
        })
    }

    fn select_known(&self, destination: Ipv6Addr, oif: Option<u32>) -> Selection {
        let (dst_kind, dst_scope) = classify(destination).unwrap_or((0, -1));
        let dst = Destination {
            addr: destination,
            oif,
            scope: dst_scope,
            label: label_of(&self.labels, destination, oif.unwrap_or(0)),
        };
        let oif_only = oif.and_then(|oif| {
            if dst_kind & addr_type::MULTICAST != 0 {
                Some(OifOnly::Multicast)
            } else if dst_scope <= SCOPE_LINKLOCAL {
                Some(OifOnly::LinkLocalScope)
            } else if self.conf_of(oif).use_oif_addrs_only {
                Some(OifOnly::UseOifAddrsOnly)
            } else {
                None
            }
        });
        let mut excluded = Vec::new();
        let mut scored: Vec<(Address, Score)> = Vec::new();
        for address in self.in_kernel_order() {
            let Some(ip) = address.ipv6() else { continue };
            if oif_only.is_some() && Some(address.ifindex) != oif {
                excluded.push((address.clone(), Exclusion::NotOutgoingInterface));
                continue;
            }
            let flags = address.flags;
            if flags.contains(IfaFlags::TENTATIVE) && !flags.contains(IfaFlags::OPTIMISTIC) {
                // A failed detection leaves the address tentative for good: the same exclusion
                // (the kernel tests only the tentative flag), told apart for the reader.
                let why = if flags.contains(IfaFlags::DADFAILED) {
                    Exclusion::DadFailed
                } else {
                    Exclusion::Tentative
                };
                excluded.push((address.clone(), why));
                continue;
            }
            let unicast = classify(ip).is_some_and(|(kind, _)| kind & addr_type::MULTICAST == 0);
            match self.score(address, ip, &dst) {
                Some(score) if unicast => scored.push((address.clone(), score)),
                _ => excluded.push((address.clone(), Exclusion::NotUnicast)),
            }
        }
        let values: Vec<Vec<(Rule, i64)>> = scored
            .iter()
            .map(|(_, score)| score.values(&self.build))
            .collect();
        // The first of the greatest: `max_by` keeps the last of equals, so compare reversed
        // positions too.
        let winner = values
            .iter()
            .enumerate()
            .max_by(|(i, a), (j, b)| {
                let key = |v: &Vec<(Rule, i64)>| v.iter().map(|(_, x)| *x).collect::<Vec<_>>();
                key(a).cmp(&key(b)).then(j.cmp(i))
            })
            .map(|(i, _)| i);
        let candidates = scored
            .into_iter()
            .enumerate()
            .map(|(i, (address, score))| {
                let verdict = match (winner, values.get(i), winner.and_then(|w| values.get(w))) {
                    (Some(w), _, _) if w == i => Verdict::Chosen,
                    (_, Some(mine), Some(best)) => Verdict::Lost(
                        mine.iter()
                            .zip(best)
                            .find(|((_, a), (_, b))| a != b)
                            .map_or(Rule::KernelOrder, |((rule, _), _)| *rule),
                    ),
                    _ => Verdict::Lost(Rule::KernelOrder),
                };
                Candidate {
                    address,
                    score,
                    verdict,
                }
            })
            .collect::<Vec<_>>();
        Selection {
            destination,
            oif,
            dst_scope,
            dst_label: dst.label,
            oif_only,
            candidates,
            excluded,
            unsupported: None,
        }
    }

    /// The kernel's source address for `destination` routed out of `oif`, with every candidate
    /// and the rule it lost at. When whether this kernel has a rule is unknown, the choice is
    /// made both ways: if they differ, the first is returned marked unsupported.
    pub fn select(&self, destination: Ipv6Addr, oif: Option<u32>) -> Selection {
        let unknowns: [(BuildField, Unsupported); 2] = [
            (
                |build| &mut build.home_address_rule,
                Unsupported::HomeAddressRule,
            ),
            (
                |build| &mut build.not_optimistic_rule,
                Unsupported::NotOptimisticRule,
            ),
        ];
        for (field, reason) in unknowns {
            let mut build = self.build;
            if field(&mut build).is_some() {
                continue;
            }
            let with = |present: bool| {
                let mut state = self.clone();
                *field(&mut state.build) = Some(present);
                state.select(destination, oif)
            };
            let (absent, present) = (with(false), with(true));
            let local = |s: &Selection| s.chosen().map(|c| c.address.local);
            let mut selection = absent;
            if local(&selection) != local(&present) {
                selection.unsupported = Some(reason);
            }
            return selection;
        }
        let mut selection = self.select_known(destination, oif);
        selection.unsupported = self.undecided(&selection);
        selection
    }

    /// Why the state as read cannot tell the answer of `selection`, if it cannot.
    fn undecided(&self, selection: &Selection) -> Option<Unsupported> {
        let chosen = selection.chosen()?;
        if self.device_order_unknown
            && selection.candidates.iter().any(|candidate| {
                candidate.verdict == Verdict::Lost(Rule::KernelOrder)
                    && candidate.address.ifindex != chosen.address.ifindex
            })
        {
            return Some(Unsupported::DeviceOrderUnknown);
        }
        // `ip6addrlbl_alloc` keeps the type of the prefix as given, before masking: a `::/96`
        // entry in the dump applies to all of ::/96 when it was given as `::/96` (the default
        // table's), to IPv4-compatible addresses only when given as `::2/96`. Within ::/96
        // only `::1` is not IPv4-compatible (`::` is never a candidate nor asked about), so
        // only a choice involving `::1` can depend on it: try each reading (`::2` stands for
        // the compatible one), the first six entries separately, any more with the sixth.
        let loopback = Ipv6Addr::LOCALHOST;
        let involved = selection.destination == loopback
            || selection
                .candidates
                .iter()
                .any(|c| c.address.ipv6() == Some(loopback));
        let ambiguous: Vec<usize> = (0..self.labels.len())
            .filter(|&i| {
                self.labels
                    .get(i)
                    .is_some_and(|e| e.prefix.is_unspecified() && e.prefixlen == 96)
            })
            .collect();
        if !involved || ambiguous.is_empty() {
            return None;
        }
        for readings in 1..1u32 << ambiguous.len().min(6) {
            let mut state = self.clone();
            for (bit, &i) in ambiguous.iter().enumerate() {
                if readings >> bit.min(5) & 1 == 1
                    && let Some(entry) = state.labels.get_mut(i)
                {
                    entry.prefix = Ipv6Addr::new(0, 0, 0, 0, 0, 0, 0, 2);
                }
            }
            let other = state.select_known(selection.destination, selection.oif);
            if other.chosen().map(|c| &c.address) != Some(&chosen.address) {
                return Some(Unsupported::LabelTypeUnknown);
            }
        }
        None
    }
}

/// Selects one optional-rule field of [`KernelBuild`].
type BuildField = fn(&mut KernelBuild) -> &mut Option<bool>;

struct Destination {
    addr: Ipv6Addr,
    oif: Option<u32>,
    scope: i32,
    label: u32,
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    use super::super::classify::*;
    use super::super::state::*;
    use super::*;

    use crate::nl::addr::INFINITY_LIFE_TIME;

    fn v6(text: &str) -> Ipv6Addr {
        text.parse().unwrap()
    }

    fn address(ifindex: u32, text: &str, prefixlen: u8, flags: IfaFlags) -> Address {
        Address {
            ifindex,
            prefixlen,
            flags: flags | IfaFlags::PERMANENT,
            preferred_lft: if flags.contains(IfaFlags::DEPRECATED) {
                0
            } else {
                INFINITY_LIFE_TIME
            },
            ..Address::for_test(text)
        }
    }

    /// The kernel's default label table, as a fresh namespace dumps it.
    fn default_labels() -> Vec<LabelEntry> {
        [
            ("::1", 128, 0),
            ("::", 96, 3),
            ("::ffff:0:0", 96, 4),
            ("2001::", 32, 6),
            ("2001:10::", 28, 7),
            ("3ffe::", 16, 12),
            ("2002::", 16, 2),
            ("fec0::", 10, 11),
            ("fc00::", 7, 5),
            ("::", 0, 1),
        ]
        .iter()
        .map(|&(prefix, prefixlen, label)| LabelEntry {
            prefix: v6(prefix),
            prefixlen,
            ifindex: 0,
            label,
        })
        .collect()
    }

    fn interface(ifindex: u32, name: &str) -> InterfaceState {
        InterfaceState {
            ifindex,
            name: name.as_bytes().to_vec(),
            conf: Ipv6Conf::default(),
        }
    }

    fn state(addresses: Vec<Address>) -> SourceState {
        SourceState {
            interfaces: vec![
                interface(1, "lo"),
                interface(2, "eth0"),
                interface(3, "eth1"),
            ],
            addresses,
            all: Ipv6Conf::default(),
            labels: default_labels(),
            build: KernelBuild {
                home_address_rule: Some(false),
                not_optimistic_rule: Some(true),
            },
            device_order_unknown: false,
            uptime: None,
        }
    }

    fn chosen(selection: &Selection) -> String {
        selection.chosen().unwrap().address.local.to_string()
    }

    fn lost_at(selection: &Selection, local: &str) -> Verdict {
        let local: IpAddr = local.parse().unwrap();
        selection
            .candidates
            .iter()
            .find(|c| c.address.local == local)
            .unwrap()
            .verdict
    }

    const NONE: IfaFlags = IfaFlags::empty();

    #[test]
    fn seed_scenario_newest_wins_until_deprecated() {
        // Kernel order within an interface is newest first: ::beef was added last.
        let mut addresses = vec![
            address(2, "2001:db8:f1c1:8454:964::beef", 80, NONE),
            address(2, "::2", 128, NONE),
            address(2, "2001:db8:f1c1:8454:964::2", 80, NONE),
        ];
        let dst = v6("2001:db8:9f16:8fc7::9");
        let selection = state(addresses.clone()).select(dst, Some(2));
        assert_eq!(chosen(&selection), "2001:db8:f1c1:8454:964::beef");
        assert_eq!(
            lost_at(&selection, "2001:db8:f1c1:8454:964::2"),
            Verdict::Lost(Rule::KernelOrder)
        );
        // ::2 is label 3 (::/96), the destination label 1 (::/0).
        assert_eq!(
            lost_at(&selection, "::2"),
            Verdict::Lost(Rule::MatchingLabel)
        );
        addresses[0].flags |= IfaFlags::DEPRECATED;
        let selection = state(addresses).select(dst, Some(2));
        assert_eq!(chosen(&selection), "2001:db8:f1c1:8454:964::2");
        assert_eq!(
            lost_at(&selection, "2001:db8:f1c1:8454:964::beef"),
            Verdict::Lost(Rule::AvoidDeprecated)
        );
    }

    #[test]
    fn compat_and_loopback_addresses_are_never_deprecated_for_rule_3() {
        let addresses = vec![address(2, "::2", 128, IfaFlags::DEPRECATED)];
        let selection = state(addresses).select(v6("::3"), Some(2));
        assert!(selection.chosen().unwrap().score.preferred);
    }

    #[test]
    fn rule_1_same_address_beats_everything() {
        let addresses = vec![
            address(2, "2001:db8::1", 64, NONE),
            address(2, "2001:db8::2", 64, IfaFlags::DEPRECATED),
        ];
        let selection = state(addresses).select(v6("2001:db8::2"), Some(2));
        assert_eq!(chosen(&selection), "2001:db8::2");
        assert_eq!(
            lost_at(&selection, "2001:db8::1"),
            Verdict::Lost(Rule::SameAddress)
        );
    }

    #[test]
    fn rule_2_smallest_sufficient_scope() {
        let addresses = vec![
            address(2, "2001:db8::1", 64, NONE),
            address(2, "fe80::1", 64, NONE),
            address(2, "fec0::1", 64, NONE),
        ];
        let st = state(addresses);
        let global = st.select(v6("2001:db8:1::9"), Some(2));
        assert_eq!(chosen(&global), "2001:db8::1");
        assert_eq!(lost_at(&global, "fe80::1"), Verdict::Lost(Rule::Scope));
        assert_eq!(lost_at(&global, "fec0::1"), Verdict::Lost(Rule::Scope));
        let site = st.select(v6("fec0::9"), Some(2));
        assert_eq!(chosen(&site), "fec0::1");
        let link = st.select(v6("fe80::9"), Some(2));
        assert_eq!(chosen(&link), "fe80::1");
        assert_eq!(link.oif_only, Some(OifOnly::LinkLocalScope));
    }

    #[test]
    fn rule_3_optimistic_avoided_unless_used() {
        let addresses = vec![
            address(
                2,
                "2001:db8::1",
                64,
                IfaFlags::OPTIMISTIC | IfaFlags::TENTATIVE,
            ),
            address(2, "2001:db8::2", 64, NONE),
        ];
        let mut st = state(addresses);
        let selection = st.select(v6("2001:db8::1:9"), Some(2));
        assert_eq!(chosen(&selection), "2001:db8::2");
        assert_eq!(
            lost_at(&selection, "2001:db8::1"),
            Verdict::Lost(Rule::AvoidDeprecated)
        );
        st.all.optimistic_dad = true;
        st.interfaces[1].conf.use_optimistic = true;
        let selection = st.select(v6("2001:db8::1:9"), Some(2));
        // Preferred now, but rule 9 still puts it after a settled address.
        assert_eq!(
            lost_at(&selection, "2001:db8::1"),
            Verdict::Lost(Rule::NotOptimistic)
        );
    }

    #[test]
    fn tentative_addresses_are_not_candidates() {
        let addresses = vec![
            address(2, "2001:db8::1", 64, IfaFlags::TENTATIVE),
            address(2, "2001:db8::2", 64, IfaFlags::DEPRECATED),
        ];
        let selection = state(addresses).select(v6("2001:db8::1:9"), Some(2));
        assert_eq!(chosen(&selection), "2001:db8::2");
        assert_eq!(selection.excluded.len(), 1);
        assert_eq!(selection.excluded[0].1, Exclusion::Tentative);
        let failed = vec![
            address(
                2,
                "2001:db8::1",
                64,
                IfaFlags::TENTATIVE | IfaFlags::DADFAILED,
            ),
            address(2, "2001:db8::2", 64, IfaFlags::DEPRECATED),
        ];
        let selection = state(failed).select(v6("2001:db8::1:9"), Some(2));
        assert_eq!(chosen(&selection), "2001:db8::2");
        assert_eq!(selection.excluded[0].1, Exclusion::DadFailed);
    }

    #[test]
    fn rule_5_outgoing_interface_and_use_oif_addrs_only() {
        let addresses = vec![
            address(2, "2001:db8:2::1", 64, NONE),
            address(3, "2001:db8:3::1", 64, NONE),
        ];
        let mut st = state(addresses);
        let selection = st.select(v6("2001:db8:9::9"), Some(3));
        assert_eq!(chosen(&selection), "2001:db8:3::1");
        assert_eq!(
            lost_at(&selection, "2001:db8:2::1"),
            Verdict::Lost(Rule::OutgoingInterface)
        );
        // With every candidate on another interface, the outgoing one does not matter.
        st.interfaces[2].conf.use_oif_addrs_only = true;
        st.addresses.truncate(1);
        let selection = st.select(v6("2001:db8:9::9"), Some(3));
        assert!(selection.chosen().is_none());
        assert_eq!(selection.oif_only, Some(OifOnly::UseOifAddrsOnly));
        assert_eq!(selection.excluded[0].1, Exclusion::NotOutgoingInterface);
    }

    #[test]
    fn rule_6_labels_including_interface_bound_entries() {
        let addresses = vec![
            address(2, "fd00::1", 64, NONE),
            address(2, "2001:db8::1", 64, NONE),
        ];
        let mut st = state(addresses);
        let selection = st.select(v6("2001:db9::9"), Some(2));
        assert_eq!(chosen(&selection), "2001:db8::1");
        assert_eq!(
            lost_at(&selection, "fd00::1"),
            Verdict::Lost(Rule::MatchingLabel)
        );
        // A label for 2001:db9::/32 on eth0 only: the destination's label is now 50.
        st.labels.insert(
            0,
            LabelEntry {
                prefix: v6("2001:db9::"),
                prefixlen: 32,
                ifindex: 2,
                label: 50,
            },
        );
        st.labels.insert(
            0,
            LabelEntry {
                prefix: v6("fd00::"),
                prefixlen: 64,
                ifindex: 0,
                label: 50,
            },
        );
        let selection = st.select(v6("2001:db9::9"), Some(2));
        assert_eq!(chosen(&selection), "fd00::1");
        assert_eq!(selection.dst_label, 50);
    }

    #[test]
    fn a_label_entry_dumped_as_compat_prefix_is_unsupported_where_it_decides() {
        // `ip addrlabel del prefix ::1/128; del prefix ::/96; add prefix ::2/96 label 7;
        // add prefix fe80::/10 label 5`: the dump shows ::/96 label 7, the kernel applies it
        // to IPv4-compatible addresses only, so ::1 gets ::/0's label 1, the destination's.
        let addresses = vec![
            address(1, "::1", 128, NONE),
            address(3, "fe80::5", 64, NONE),
        ];
        let mut st = state(addresses);
        st.labels
            .retain(|e| !(e.prefix.is_unspecified() && e.prefixlen == 96) && e.prefixlen != 128);
        st.labels.insert(
            0,
            LabelEntry {
                prefix: v6("fe80::"),
                prefixlen: 10,
                ifindex: 0,
                label: 5,
            },
        );
        st.labels.insert(
            0,
            LabelEntry {
                prefix: v6("::"),
                prefixlen: 96,
                ifindex: 0,
                label: 7,
            },
        );
        let dst = v6("f000::9");
        let selection = st.select(dst, Some(2));
        assert_eq!(selection.unsupported, Some(Unsupported::LabelTypeUnknown));
        // Read as the compatible-only entry it is, ::1 matches the destination's label.
        st.labels[0].prefix = v6("::2");
        let selection = st.select(dst, Some(2));
        assert_eq!(chosen(&selection), "::1");
        assert_eq!(
            lost_at(&selection, "fe80::5"),
            Verdict::Lost(Rule::MatchingLabel)
        );
        assert_eq!(selection.unsupported, None);
        // With the default table's ::1/128 first, the ::/96 entry never labels ::1.
        let selection = state(vec![
            address(1, "::1", 128, NONE),
            address(3, "fe80::5", 64, NONE),
        ])
        .select(dst, Some(2));
        assert_eq!(selection.unsupported, None);
    }

    #[test]
    fn an_unknown_device_order_is_unsupported_where_it_breaks_a_tie() {
        let mut st = state(vec![
            address(3, "2001:db8::1", 64, NONE),
            address(2, "2001:db8::2", 64, NONE),
        ]);
        // Device order eth0 (2) before eth1 (3), whatever the dump order.
        let selection = st.select(v6("2001:db8:1::9"), None);
        assert_eq!(chosen(&selection), "2001:db8::2");
        assert_eq!(selection.unsupported, None);
        st.interfaces.swap(1, 2);
        assert_eq!(chosen(&st.select(v6("2001:db8:1::9"), None)), "2001:db8::1");
        st.device_order_unknown = true;
        assert_eq!(
            st.select(v6("2001:db8:1::9"), None).unsupported,
            Some(Unsupported::DeviceOrderUnknown)
        );
        // A tie within one interface does not depend on it.
        st.addresses[1].ifindex = 3;
        assert_eq!(st.select(v6("2001:db8:1::9"), None).unsupported, None);
    }

    #[test]
    fn label_lookup_follows_the_kernel_types() {
        let labels = default_labels();
        assert_eq!(label_of(&labels, v6("::1"), 0), 0);
        assert_eq!(label_of(&labels, v6("::2"), 0), 3);
        assert_eq!(label_of(&labels, v6("::ffff:1.2.3.4"), 0), 4);
        assert_eq!(label_of(&labels, v6("2001:10::1"), 0), 7);
        assert_eq!(label_of(&labels, v6("2001:0:1::1"), 0), 6);
        assert_eq!(label_of(&labels, v6("2001:db8::1"), 0), 1);
        assert_eq!(label_of(&labels, v6("fd12::1"), 0), 5);
        assert_eq!(label_of(&labels, v6("2a00::1"), 0), 1);
        assert_eq!(label_of(&[], v6("2a00::1"), 0), LABEL_DEFAULT);
    }

    #[test]
    fn rule_7_temporary_per_use_tempaddr() {
        let addresses = vec![
            address(2, "2001:db8::1111", 64, IfaFlags::TEMPORARY),
            address(2, "2001:db8::2", 64, IfaFlags::MANAGETEMPADDR),
        ];
        let mut st = state(addresses);
        st.interfaces[1].conf.use_tempaddr = 1;
        let selection = st.select(v6("2001:db8:1::9"), Some(2));
        assert_eq!(chosen(&selection), "2001:db8::2");
        assert_eq!(
            lost_at(&selection, "2001:db8::1111"),
            Verdict::Lost(Rule::Temporary)
        );
        st.interfaces[1].conf.use_tempaddr = 2;
        let selection = st.select(v6("2001:db8:1::9"), Some(2));
        assert_eq!(chosen(&selection), "2001:db8::1111");
        assert_eq!(
            lost_at(&selection, "2001:db8::2"),
            Verdict::Lost(Rule::Temporary)
        );
    }

    #[test]
    fn rule_orchid_and_rule_8() {
        let labels_same = vec![LabelEntry {
            prefix: v6("::"),
            prefixlen: 0,
            ifindex: 0,
            label: 1,
        }];
        let addresses = vec![
            address(2, "2001:10::1", 64, NONE),
            address(2, "2001:db8::1", 48, NONE),
            address(2, "2001:db8:1::1", 64, NONE),
        ];
        let mut st = state(addresses);
        st.labels = labels_same;
        let selection = st.select(v6("2001:db8:1::9"), Some(2));
        assert_eq!(chosen(&selection), "2001:db8:1::1");
        assert_eq!(
            lost_at(&selection, "2001:10::1"),
            Verdict::Lost(Rule::Orchid)
        );
        assert_eq!(
            lost_at(&selection, "2001:db8::1"),
            Verdict::Lost(Rule::LongestPrefix)
        );
        // The match is capped at the prefix length: a /16 shares at most 16 bits.
        st.addresses[2].prefixlen = 16;
        let selection = st.select(v6("2001:db8:1::9"), Some(2));
        assert_eq!(chosen(&selection), "2001:db8::1");
    }

    #[test]
    fn multicast_destinations_use_the_outgoing_interface_only() {
        let addresses = vec![
            address(2, "2001:db8:2::1", 64, NONE),
            address(3, "2001:db8:3::1", 64, NONE),
        ];
        let selection = state(addresses).select(v6("ff0e::1"), Some(3));
        assert_eq!(selection.oif_only, Some(OifOnly::Multicast));
        assert_eq!(chosen(&selection), "2001:db8:3::1");
    }

    #[test]
    fn home_rule_only_when_built_in_and_unknown_is_unsupported() {
        let addresses = vec![
            address(2, "2001:db8::1", 64, NONE),
            address(2, "2001:db8::2", 64, IfaFlags::HOMEADDRESS),
        ];
        let mut st = state(addresses);
        let dst = v6("2001:db8:1::9");
        assert_eq!(chosen(&st.select(dst, Some(2))), "2001:db8::1");
        st.build.home_address_rule = Some(true);
        let selection = st.select(dst, Some(2));
        assert_eq!(chosen(&selection), "2001:db8::2");
        assert_eq!(
            lost_at(&selection, "2001:db8::1"),
            Verdict::Lost(Rule::HomeAddress)
        );
        st.build.home_address_rule = None;
        assert!(st.select(dst, Some(2)).unsupported.is_some());
    }

    #[test]
    fn planned_lifetimes_set_and_clear_the_deprecated_flag() {
        let addresses = vec![
            address(2, "2001:db8::1", 64, NONE),
            address(2, "2001:db8::2", 64, IfaFlags::DEPRECATED),
        ];
        let changes = [
            (2, "2001:db8::1".parse().unwrap(), 0),
            (2, "2001:db8::2".parse().unwrap(), 600),
        ];
        let after = with_preferred_lifetimes(&addresses, &changes);
        assert!(after[0].flags.contains(IfaFlags::DEPRECATED));
        assert!(!after[1].flags.contains(IfaFlags::DEPRECATED));
        assert_eq!(after[1].preferred_lft, 600);
    }

    #[test]
    fn classify_matches_the_kernel() {
        assert_eq!(classify(v6("::")), None);
        assert_eq!(
            classify(v6("::1")),
            Some((addr_type::LOOPBACK | addr_type::UNICAST, SCOPE_LINKLOCAL))
        );
        assert_eq!(classify(v6("ff02::1")).unwrap().1, SCOPE_LINKLOCAL);
        assert_eq!(classify(v6("ff05::1")).unwrap().1, SCOPE_SITELOCAL);
        assert_eq!(classify(v6("fd00::1")).unwrap().1, SCOPE_GLOBAL);
        assert_eq!(classify(v6("fec0::1")).unwrap().1, SCOPE_SITELOCAL);
        assert_eq!(classify(v6("::ffff:1.2.3.4")).unwrap().0, addr_type::MAPPED);
        assert!(is_orchid(v6("2001:1f::1")) && !is_orchid(v6("2001:20::1")));
        assert_eq!(common_prefix_len(v6("2001:db8::"), v6("2001:db8::")), 128);
        assert_eq!(common_prefix_len(v6("8000::"), v6("::")), 0);
    }
}
