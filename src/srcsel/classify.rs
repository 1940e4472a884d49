//! How the kernel classifies an IPv6 address for the choice (`__ipv6_addr_type`), and the
//! label table lookup (`ipv6_addr_label`): pure functions of an address.

use std::net::Ipv6Addr;

use super::state::{LABEL_DEFAULT, LabelEntry};

/// `IPV6_ADDR_*` type bits of `__ipv6_addr_type`, the ones the choice looks at.
pub(super) mod addr_type {
    pub const UNICAST: u32 = 0x0001;
    pub const MULTICAST: u32 = 0x0002;
    pub const LOOPBACK: u32 = 0x0010;
    pub const COMPATV4: u32 = 0x0080;
    pub const MAPPED: u32 = 0x1000;
    /// The bits the label lookup compares.
    pub const LABEL_MASK: u32 = MAPPED | COMPATV4 | LOOPBACK;
}

/// `IPV6_ADDR_SCOPE_*`.
pub const SCOPE_NODELOCAL: i32 = 0x01;
pub const SCOPE_LINKLOCAL: i32 = 0x02;
pub const SCOPE_SITELOCAL: i32 = 0x05;
pub const SCOPE_GLOBAL: i32 = 0x0e;

/// The type bits and the scope of an address, as `__ipv6_addr_type` classifies it; `None` for
/// the unspecified address.
pub(super) fn classify(addr: Ipv6Addr) -> Option<(u32, i32)> {
    use addr_type::*;
    let octets = addr.octets();
    let first = u32::from_be_bytes([octets[0], octets[1], octets[2], octets[3]]);
    let global = Some((UNICAST, SCOPE_GLOBAL));
    if first & 0xe000_0000 != 0 && first & 0xe000_0000 != 0xe000_0000 {
        return global;
    }
    if first & 0xff00_0000 == 0xff00_0000 {
        let scope = i32::from(octets[1] & 0x0f);
        let extra = if scope == SCOPE_NODELOCAL {
            LOOPBACK
        } else {
            0
        };
        return Some((MULTICAST | extra, scope));
    }
    if first & 0xffc0_0000 == 0xfe80_0000 {
        return Some((UNICAST, SCOPE_LINKLOCAL));
    }
    if first & 0xffc0_0000 == 0xfec0_0000 {
        return Some((UNICAST, SCOPE_SITELOCAL));
    }
    if first & 0xfe00_0000 == 0xfc00_0000 {
        return global;
    }
    let words = addr.segments();
    if words[..4] == [0; 4] {
        if words[4..6] == [0, 0] {
            let low = u32::from_be_bytes([octets[12], octets[13], octets[14], octets[15]]);
            return match low {
                0 => None,
                1 => Some((LOOPBACK | UNICAST, SCOPE_LINKLOCAL)),
                _ => Some((COMPATV4 | UNICAST, SCOPE_GLOBAL)),
            };
        }
        if words[4..6] == [0, 0xffff] {
            return Some((MAPPED, SCOPE_GLOBAL));
        }
    }
    global
}

/// How many leading bits two addresses share (`ipv6_addr_diff`): 128 when equal.
pub(super) fn common_prefix_len(a: Ipv6Addr, b: Ipv6Addr) -> u8 {
    let differing = a.to_bits() ^ b.to_bits();
    // At most 128, which fits.
    u8::try_from(differing.leading_zeros()).unwrap_or(128)
}

fn prefix_matches(addr: Ipv6Addr, prefix: Ipv6Addr, prefixlen: u8) -> bool {
    common_prefix_len(addr, prefix) >= prefixlen.min(128)
}

/// ORCHID, 2001:10::/28 (`ipv6_addr_orchid`).
pub(super) fn is_orchid(addr: Ipv6Addr) -> bool {
    addr.to_bits() >> 96 & 0xffff_fff0 == 0x2001_0010
}

/// The type an entry of the label table requires of an address, as `ip6addrlbl_alloc`
/// derives it from the entry's prefix; 0 for none.
fn label_entry_type(entry: &LabelEntry) -> u32 {
    use addr_type::*;
    let kind = classify(entry.prefix).map_or(0, |(kind, _)| kind) & LABEL_MASK;
    match kind {
        MAPPED if entry.prefixlen == 96 => MAPPED,
        COMPATV4 if entry.prefixlen == 96 => COMPATV4,
        LOOPBACK if entry.prefixlen == 128 => LOOPBACK,
        _ => 0,
    }
}

/// The label of `addr` seen from interface `ifindex` (`ipv6_addr_label`).
pub fn label_of(labels: &[LabelEntry], addr: Ipv6Addr, ifindex: u32) -> u32 {
    let kind = classify(addr).map_or(0, |(kind, _)| kind) & addr_type::LABEL_MASK;
    labels
        .iter()
        .find(|entry| {
            (entry.ifindex == 0 || entry.ifindex == ifindex)
                && (label_entry_type(entry) == 0 || label_entry_type(entry) == kind)
                && prefix_matches(addr, entry.prefix, entry.prefixlen)
        })
        .map_or(LABEL_DEFAULT, |entry| entry.label)
}
