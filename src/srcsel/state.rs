//! The state the kernel's source-address choice depends on (interfaces in device order with
//! their `/proc/sys/net/ipv6/conf` settings, addresses, the label table, the kernel's build),
//! as plain values: [`super::read`] fills it once, before anything is planned or chosen.

use std::net::Ipv6Addr;

use crate::model::Address;
use crate::nl::addr::IfaFlags;

/// The per-interface settings the choice depends on, from `/proc/sys/net/ipv6/conf/IF/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Ipv6Conf {
    pub use_tempaddr: i32,
    pub optimistic_dad: bool,
    pub use_optimistic: bool,
    pub use_oif_addrs_only: bool,
    /// `temp_prefered_lft` (0 when unreadable) and `max_desync_factor` (`i32::MAX` when
    /// unreadable), which bound a temporary address's preferred lifetime (`--probe` asks
    /// whether one is surely still young; unreadable, none is).
    pub temp_prefered_lft: i32,
    pub max_desync_factor: i32,
}

/// One entry of the address-label table, in the kernel's precedence order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LabelEntry {
    pub prefix: Ipv6Addr,
    pub prefixlen: u8,
    /// 0: any interface.
    pub ifindex: u32,
    pub label: u32,
}

/// The label of an address no entry matches (`IPV6_ADDR_LABEL_DEFAULT`).
pub const LABEL_DEFAULT: u32 = 0xffff_ffff;

/// Which optional rules the running kernel was built with; `None` when that is unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct KernelBuild {
    /// Rule 4, `CONFIG_IPV6_MIP6=y` (a module does not count: the code tests the symbol).
    pub home_address_rule: Option<bool>,
    /// Rule 9: `CONFIG_IPV6_OPTIMISTIC_DAD` in a kernel that has `use_optimistic` (3.19 on).
    /// Without it optimistic addresses are always avoided at rule 3.
    pub not_optimistic_rule: Option<bool>,
}

/// An interface as the choice sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfaceState {
    pub ifindex: u32,
    pub name: Vec<u8>,
    pub conf: Ipv6Conf,
}

/// Everything the choice depends on.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SourceState {
    /// In the kernel's device order.
    pub interfaces: Vec<InterfaceState>,
    /// IPv6 addresses, each interface's in the kernel's list order (the dump's order).
    pub addresses: Vec<Address>,
    /// `/proc/sys/net/ipv6/conf/all/`, which the optimistic settings are OR-ed with.
    pub all: Ipv6Conf,
    pub labels: Vec<LabelEntry>,
    pub build: KernelBuild,
    /// `interfaces` is in ifindex order only: the kernel's device order could not be read.
    pub device_order_unknown: bool,
    /// Hundredths of a second since boot (`/proc/uptime`), the clock of `cstamp`.
    pub uptime: Option<u64>,
}

/// The address list after a plan: each `(ifindex, local, preferred_lft)` given its new
/// preferred lifetime, and the deprecated flag the kernel then sets or clears.
pub fn with_preferred_lifetimes(
    addresses: &[Address],
    changes: &[(u32, std::net::IpAddr, u32)],
) -> Vec<Address> {
    addresses
        .iter()
        .map(|address| {
            let mut address = address.clone();
            let change = changes
                .iter()
                .find(|(ifindex, local, _)| *ifindex == address.ifindex && *local == address.local);
            if let Some(&(_, _, preferred_lft)) = change {
                address.preferred_lft = preferred_lft;
                address.flags.set(IfaFlags::DEPRECATED, preferred_lft == 0);
            }
            address
        })
        .collect()
}
