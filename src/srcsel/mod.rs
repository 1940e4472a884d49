//! The kernel's choice of an IPv6 source address, as a pure function: state in, ranked
//! candidates out, no I/O, so that `which --explain` can show why and `--probe` can predict the
//! choice on a state that does not exist yet.
//!
//! It follows `ipv6_dev_get_saddr` and `ipv6_get_saddr_eval` in the kernel's
//! `net/ipv6/addrconf.c` (Linux 6.x), not RFC 6724's text, where the two differ:
//!
//! - candidates: a tentative address is left out unless it is also optimistic. Only the
//!   outgoing interface's addresses count when the destination is multicast or of link-local
//!   (or smaller) scope, or when that interface has `use_oif_addrs_only`; otherwise every
//!   interface's, in the kernel's device order, each interface's in its own list order;
//! - rules, in this order: 1 same address, 2 appropriate scope, 3 avoid deprecated addresses
//!   (and optimistic ones unless `optimistic_dad` and `use_optimistic`), 4 home address (only
//!   in a kernel built with `CONFIG_IPV6_MIP6=y`), 5 outgoing interface, 6 matching label,
//!   7 temporary or public address per the candidate interface's `use_tempaddr` (>= 2 prefers
//!   temporary), "7.5" ORCHID with ORCHID only, 8 longest matching prefix capped at the
//!   candidate's prefix length, 9 not optimistic (`CONFIG_IPV6_OPTIMISTIC_DAD`);
//! - each rule gives a candidate a value that depends only on the candidate and the
//!   destination, and the kernel keeps the running best, replacing it only with a strictly
//!   better one. So the winner is the first candidate, in the kernel's order, whose values are
//!   greatest in rule order, and every other candidate lost to it at the first rule where its
//!   value is smaller, or, when all are equal, by coming later ("rule 10" here).
//!
//! The kernel's other shortcut, giving up on an interface's remaining addresses when one has
//! too small a scope, never fires: its condition (a positive scope distance) cannot hold for a
//! unicast candidate, since both branches of the scope value are negative.
//!
//! The reading of that state from the kernel is in [`read`]; everything else here is pure.
//!
//! Not modelled: VRF (l3mdev) domains, socket preferences (`IPV6_ADDR_PREFERENCES`: the route
//! lookup `which` asks for uses none), and rule 5.5 (next-hop prefixes, not implemented by Linux).

pub mod after;
mod classify;
pub mod explain;
pub mod probe;
pub mod read;
mod select;
mod state;

pub use classify::{SCOPE_GLOBAL, SCOPE_LINKLOCAL, SCOPE_NODELOCAL, SCOPE_SITELOCAL};
pub use select::{Candidate, Exclusion, OifOnly, Rule, Score, Selection, Verdict};
pub use state::{
    InterfaceState, Ipv6Conf, KernelBuild, LABEL_DEFAULT, LabelEntry, SourceState,
    with_preferred_lifetimes,
};

/// What makes a state one the model cannot answer for: something nlsel cannot see that decides
/// the answer. `present::explain` says it in words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unsupported {
    /// Rule 4 counts only in a kernel built with `CONFIG_IPV6_MIP6=y`, and it decides.
    HomeAddressRule,
    /// Rule 9 counts only in a kernel built with `CONFIG_IPV6_OPTIMISTIC_DAD`, and it decides.
    NotOptimisticRule,
    /// A tie between interfaces, and `/proc/net/igmp6` (the device order) could not be read.
    DeviceOrderUnknown,
    /// A `::/96` label entry, whose type the dump does not show, decides.
    LabelTypeUnknown,
    /// The kernel ignores `RTM_F_FIB_MATCH` (before 4.13): whether a route's `src` decides is
    /// unknown.
    FibMatchIgnored,
    /// A route through a nexthop object answered otherwise than its device says: the kernel
    /// reuses a route cached per nexthop and CPU (`rt6i_pcpu`) for another route through the
    /// same nexthop, with that route's source (seen on 6.18).
    NexthopCache,
    /// `--probe`: whether the change makes a temporary address preferred again depends on its
    /// age (see [`after`]).
    DoubtfulTemporary,
    /// `--probe`: the change makes the kernel create a temporary address, which wins once it
    /// is no longer tentative.
    NewTemporary,
    /// `--probe`: the change re-installs a prefix route that may or may not take over.
    RouteUnknown,
}
