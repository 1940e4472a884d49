//! The addresses as the kernel will have them once a plan's changes are made, for `--probe`'s
//! prediction: each changed address with its new preferred lifetime, and what the kernel does
//! on its own in answer to that change (`inet6_addr_modify` in `net/ipv6/addrconf.c`).
//!
//! A change of an address with `mngtmpaddr` passes its lifetimes on to its temporary
//! addresses (`manage_tempaddrs`): each gets the parent's preferred lifetime, capped at what
//! is left of its own (`temp_prefered_lft` minus a random desync factor, counted from its
//! creation). So deprecating a parent deprecates its temporaries at once, and making it
//! preferred makes them preferred again unless they have outlived their own cap. Whether one
//! has is known when the parent is preferred now (its temporaries are deprecated only then
//! because they outlived it) or when the temporary is young; otherwise it is doubtful, and
//! the caller asks both ways. A parent made preferred on an interface without any temporary
//! address makes the kernel create one, tentative at first; it can win only where temporaries
//! are preferred (`use_tempaddr` 2): elsewhere its parent, on its interface and equal to it on
//! every earlier rule, beats it at rule 7.
//!
//! The kernel knows which parent a temporary came from; the dump does not say, so a temporary
//! is taken to belong to the `mngtmpaddr` address of its /64 on its interface.

use std::net::IpAddr;

use super::with_preferred_lifetimes;
use crate::model::Address;
use crate::nl::addr::IfaFlags;

/// The addresses after a plan, and what cannot be known of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct After {
    /// Doubtful temporaries taken as made preferred again.
    pub addresses: Vec<Address>,
    /// Temporaries that are preferred again only if they have not outlived their own
    /// preferred lifetime, which nlsel cannot tell: (ifindex, address).
    pub doubtful: Vec<(u32, IpAddr)>,
    /// Interfaces preferring temporaries where the change makes the kernel create one.
    pub new_temporary: Vec<u32>,
}

impl After {
    /// The addresses with every doubtful temporary left deprecated.
    pub fn without_doubtful(&self) -> Vec<Address> {
        let mut addresses = self.addresses.clone();
        for address in &mut addresses {
            if self.doubtful.contains(&(address.ifindex, address.local)) {
                address.preferred_lft = 0;
                address.flags |= IfaFlags::DEPRECATED;
            }
        }
        addresses
    }
}

/// The parent of `temporary` among `addresses`: the `mngtmpaddr` address of its /64.
fn parent_of<'a>(addresses: &'a [Address], temporary: &Address) -> Option<&'a Address> {
    let prefix = |address: &Address| address.ipv6().map(|ip| ip.to_bits() >> 64);
    addresses.iter().find(|address| {
        address.manages_temporaries()
            && address.ifindex == temporary.ifindex
            && address.prefixlen == 64
            && prefix(address) == prefix(temporary)
    })
}

/// The addresses after `changes` (ifindex, address, new preferred lifetime). `young` says
/// whether a temporary is surely younger than its own preferred cap;
/// `use_tempaddr` gives an interface's setting.
pub fn after_changes(
    addresses: &[Address],
    changes: &[(u32, IpAddr, u32)],
    young: &dyn Fn(&Address) -> bool,
    use_tempaddr: &dyn Fn(u32) -> i32,
) -> After {
    let mut after = After {
        addresses: with_preferred_lifetimes(addresses, changes),
        doubtful: Vec::new(),
        new_temporary: Vec::new(),
    };
    for (now, new) in addresses.iter().zip(after.addresses.iter_mut()) {
        if !now.is_temporary() {
            continue;
        }
        let Some(parent) = parent_of(addresses, now) else {
            continue;
        };
        let Some(&(_, _, preferred_lft)) = changes
            .iter()
            .find(|(ifindex, local, _)| *ifindex == parent.ifindex && *local == parent.local)
        else {
            continue;
        };
        // Outlived when deprecated while the parent is not; doubtful when both are and its
        // age does not settle it.
        let restored = preferred_lft > 0
            && (!now.is_deprecated()
                || (parent.is_deprecated() && {
                    if !young(now) {
                        after.doubtful.push((now.ifindex, now.local));
                    }
                    true
                }));
        if restored {
            new.preferred_lft = preferred_lft;
            new.flags.remove(IfaFlags::DEPRECATED);
        } else {
            new.preferred_lft = 0;
            new.flags |= IfaFlags::DEPRECATED;
        }
    }
    for &(ifindex, local, preferred_lft) in changes {
        let parent = addresses
            .iter()
            .find(|a| a.ifindex == ifindex && a.local == local && a.manages_temporaries());
        let has_temporary = addresses
            .iter()
            .any(|a| a.ifindex == ifindex && a.is_temporary());
        if parent.is_some()
            && preferred_lft > 0
            && !has_temporary
            && use_tempaddr(ifindex) >= 2
            && !after.new_temporary.contains(&ifindex)
        {
            after.new_temporary.push(ifindex);
        }
    }
    after
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nl::addr::INFINITY_LIFE_TIME;

    fn address(text: &str, flags: IfaFlags, preferred_lft: u32) -> Address {
        let deprecated = if preferred_lft == 0 {
            IfaFlags::DEPRECATED
        } else {
            IfaFlags::empty()
        };
        Address {
            ifindex: 2,
            prefixlen: 64,
            flags: flags | deprecated,
            preferred_lft,
            valid_lft: 7200,
            ..Address::for_test(text)
        }
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn deprecated(after: &[Address], text: &str) -> bool {
        let found = after.iter().find(|a| a.local == ip(text)).unwrap();
        found.is_deprecated() && found.flags.contains(IfaFlags::DEPRECATED)
    }

    const SLAAC: IfaFlags = IfaFlags::MANAGETEMPADDR;
    const TEMP: IfaFlags = IfaFlags::TEMPORARY;

    #[test]
    fn deprecating_a_parent_deprecates_its_temporaries_only() {
        let addresses = vec![
            address("2001:db8:5::1111", TEMP, 3000),
            address("2001:db8:5::2", SLAAC, 3600),
            address("2001:db8:6::1111", TEMP, 3000),
            address("2001:db8:6::2", SLAAC, 3600),
        ];
        let changes = [(2, ip("2001:db8:5::2"), 0)];
        let after = after_changes(&addresses, &changes, &|_| true, &|_| 1);
        assert!(deprecated(&after.addresses, "2001:db8:5::2"));
        assert!(deprecated(&after.addresses, "2001:db8:5::1111"));
        assert!(!deprecated(&after.addresses, "2001:db8:6::1111"));
        assert!(after.doubtful.is_empty() && after.new_temporary.is_empty());
    }

    #[test]
    fn a_preferred_parent_restores_young_temporaries_and_doubts_the_others() {
        let addresses = vec![
            address("2001:db8:5::1111", TEMP, 0),
            address("2001:db8:5::2222", TEMP, 0),
            address("2001:db8:5::3333", TEMP, 0),
            address("2001:db8:5::2", SLAAC | IfaFlags::PERMANENT, 0),
        ];
        let changes = [(2, ip("2001:db8:5::2"), INFINITY_LIFE_TIME)];
        let young = |a: &Address| a.local != ip("2001:db8:5::3333");
        let after = after_changes(&addresses, &changes, &young, &|_| 2);
        assert!(!deprecated(&after.addresses, "2001:db8:5::1111"));
        assert!(!deprecated(&after.addresses, "2001:db8:5::2222"));
        assert!(!deprecated(&after.addresses, "2001:db8:5::3333"));
        assert_eq!(after.doubtful, vec![(2, ip("2001:db8:5::3333"))]);
        let without = after.without_doubtful();
        assert!(deprecated(&without, "2001:db8:5::3333"));
        assert!(!deprecated(&without, "2001:db8:5::2222"));
        assert!(after.new_temporary.is_empty());
    }

    #[test]
    fn temporaries_deprecated_under_a_preferred_parent_have_outlived_it() {
        let addresses = vec![
            address("2001:db8:5::1111", TEMP, 0),
            address("2001:db8:5::2222", TEMP, 500),
            address("2001:db8:5::2", SLAAC, 600),
        ];
        let changes = [(2, ip("2001:db8:5::2"), 7200)];
        let after = after_changes(&addresses, &changes, &|_| false, &|_| 2);
        assert!(deprecated(&after.addresses, "2001:db8:5::1111"));
        assert!(!deprecated(&after.addresses, "2001:db8:5::2222"));
        assert!(after.doubtful.is_empty());
    }

    #[test]
    fn a_parent_made_preferred_without_temporaries_gets_one() {
        let addresses = vec![address("2001:db8:5::2", SLAAC, 0)];
        let changes = [(2, ip("2001:db8:5::2"), 7200)];
        assert_eq!(
            after_changes(&addresses, &changes, &|_| false, &|_| 2).new_temporary,
            vec![2]
        );
        assert!(
            after_changes(&addresses, &changes, &|_| false, &|_| 1)
                .new_temporary
                .is_empty()
        );
        let deprecating = [(2, ip("2001:db8:5::2"), 0)];
        assert!(
            after_changes(&addresses, &deprecating, &|_| false, &|_| 2)
                .new_temporary
                .is_empty()
        );
    }
}
