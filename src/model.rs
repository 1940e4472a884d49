//! What nlsel knows of the kernel's state: interfaces and addresses, read by one dump each and
//! kept as plain owned values, so that the policy in `crate::plan` is pure.

use std::net::IpAddr;

use crate::nl::Family;
use crate::nl::addr::{AddrMessage, CacheInfo, INFINITY_LIFE_TIME, IfaFlags, Scope};
use crate::nl::header::{
    RTM_GETADDR, RTM_GETLINK, RTM_GETROUTE, RTM_NEWADDR, RTM_NEWLINK, RTM_NEWROUTE,
};
use crate::nl::link::LinkMessage;
use crate::nl::request::{Conn, RequestError};
use crate::nl::route::RouteMessage;

/// An interface: its index, its name as the kernel spells it (any bytes), and its alternative
/// names (`ip link property add dev IF altname ALT`), which name it as well as its name does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interface {
    pub ifindex: u32,
    pub name: Vec<u8>,
    pub alt_names: Vec<Vec<u8>>,
    /// `net.ipv6.conf.NAME.use_tempaddr`, read with the dump ([`read_use_tempaddr`]), so that
    /// a plan is made from what was read before it, not from `/proc` while it is made.
    pub use_tempaddr: Option<i32>,
}

impl Interface {
    /// Whether `name` is this interface's name or one of its alternative names, as `ip` and
    /// the kernel (`dev_get_by_name`) accept either.
    pub fn is_named(&self, name: &[u8]) -> bool {
        self.name == name || self.alt_names.iter().any(|alt| alt == name)
    }
}

/// The flags the kernel keeps when an address is changed, and that a change must therefore
/// send again: the kernel clears them unless they are in the request (`inet6_addr_modify`).
pub const PRESERVED_FLAGS: IfaFlags = IfaFlags::NODAD
    .union(IfaFlags::HOMEADDRESS)
    .union(IfaFlags::MANAGETEMPADDR)
    .union(IfaFlags::NOPREFIXROUTE);

/// `IFAPROT_KERNEL_RA` (<linux/if_addr.h>): made by the kernel from a Router Advertisement.
pub const IFAPROT_KERNEL_RA: u8 = 2;

/// One address as the kernel reported it in a dump.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    pub ifindex: u32,
    pub family: Family,
    pub prefixlen: u8,
    pub scope: Scope,
    pub local: IpAddr,
    /// The peer of a point-to-point address.
    pub peer: Option<IpAddr>,
    pub broadcast: Option<IpAddr>,
    pub label: Option<Vec<u8>>,
    pub flags: IfaFlags,
    /// Remaining lifetimes in seconds; [`INFINITY_LIFE_TIME`] is forever.
    pub preferred_lft: u32,
    pub valid_lft: u32,
    pub proto: Option<u8>,
    pub rt_priority: Option<u32>,
    /// When the kernel created the address and last changed it, in hundredths of a second
    /// since boot. A deleted and re-created address has a new `cstamp`.
    pub cstamp: u32,
    pub tstamp: u32,
}

impl Address {
    /// The owned form of a dumped address; `None` when it carries no address at all.
    pub fn from_message(message: &AddrMessage<'_>) -> Option<Address> {
        let local = message.local_address()?;
        let cacheinfo = message.cacheinfo.unwrap_or(CacheInfo {
            preferred_lft: INFINITY_LIFE_TIME,
            valid_lft: INFINITY_LIFE_TIME,
            cstamp: 0,
            tstamp: 0,
        });
        Some(Address {
            ifindex: message.ifindex,
            family: message.family,
            prefixlen: message.prefixlen,
            scope: message.scope,
            local,
            peer: message.peer_address(),
            broadcast: message.broadcast,
            label: message.label.map(<[u8]>::to_vec),
            flags: message.flags(),
            preferred_lft: cacheinfo.preferred_lft,
            valid_lft: cacheinfo.valid_lft,
            proto: message.proto,
            rt_priority: message.rt_priority,
            cstamp: cacheinfo.cstamp,
            tstamp: cacheinfo.tstamp,
        })
    }

    pub fn is_global_ipv6(&self) -> bool {
        self.family == Family::Inet6 && self.scope == Scope::Universe
    }

    pub fn is_deprecated(&self) -> bool {
        self.preferred_lft == 0 || self.flags.contains(IfaFlags::DEPRECATED)
    }

    /// Still in duplicate address detection, or failed it: the kernel does not use it as a
    /// source address.
    pub fn is_unconfirmed(&self) -> bool {
        self.flags
            .intersects(IfaFlags::TENTATIVE | IfaFlags::DADFAILED)
    }

    /// Preferred and confirmed: an address the kernel may pick as a source.
    pub fn is_usable(&self) -> bool {
        !self.is_deprecated() && !self.is_unconfirmed()
    }

    /// A temporary (privacy) address of RFC 8981, which the kernel derives from a SLAAC
    /// address and keeps no more preferred than it.
    pub fn is_temporary(&self) -> bool {
        self.flags.contains(IfaFlags::TEMPORARY)
    }

    /// An address whose temporary addresses the kernel manages (`mngtmpaddr`): every SLAAC
    /// address the kernel creates while `use_tempaddr` is on, or one added with that flag.
    pub fn manages_temporaries(&self) -> bool {
        self.flags.contains(IfaFlags::MANAGETEMPADDR) && !self.is_temporary()
    }

    /// An address whose lifetimes its router gives: one the kernel made from a Router
    /// Advertisement (SLAAC), which every RA for its prefix refreshes (RFC 4862 5.5.3 e). The
    /// kernel says so with protocol `kernel_ra` (Linux 5.18 and later) and without
    /// `IFA_F_PERMANENT`; an older kernel reports no protocol, and there a SLAAC address is
    /// known only by the `mngtmpaddr` the kernel gives it while `use_tempaddr` is on.
    pub fn lifetimes_from_router(&self) -> bool {
        !self.flags.contains(IfaFlags::PERMANENT)
            && match self.proto {
                Some(proto) => proto == IFAPROT_KERNEL_RA,
                None => self.manages_temporaries(),
            }
    }

    pub fn ipv6(&self) -> Option<std::net::Ipv6Addr> {
        match self.local {
            IpAddr::V6(v6) => Some(v6),
            IpAddr::V4(_) => None,
        }
    }

    /// The RTM_NEWADDR body that gives this address new lifetimes and keeps everything else:
    /// peer, preserved flags (in the 32-bit attribute, since some do not fit the header's 8
    /// bits), protocol and route metric.
    pub fn change_message(&self, preferred_lft: u32, valid_lft: u32) -> AddrMessage<'_> {
        let flags = self.flags & PRESERVED_FLAGS;
        AddrMessage {
            prefixlen: self.prefixlen,
            header_flags: flags.header_flags(),
            // IPv4 keeps the scope it is sent on replace; IPv6 ignores it.
            scope: self.scope,
            ifindex: self.ifindex,
            address: Some(self.peer.unwrap_or(self.local)),
            local: Some(self.local),
            cacheinfo: Some(CacheInfo {
                preferred_lft,
                valid_lft,
                cstamp: 0,
                tstamp: 0,
            }),
            flags_attr: Some(flags),
            proto: self.proto,
            rt_priority: self.rt_priority,
            ..AddrMessage::empty(self.family)
        }
    }

    /// The RTM_DELADDR body that removes this address.
    pub fn delete_message(&self) -> AddrMessage<'_> {
        AddrMessage {
            prefixlen: self.prefixlen,
            ifindex: self.ifindex,
            address: Some(self.peer.unwrap_or(self.local)),
            local: Some(self.local),
            ..AddrMessage::empty(self.family)
        }
    }
}

/// Every interface, in the kernel's order.
pub fn read_interfaces(conn: &mut Conn) -> Result<Vec<Interface>, RequestError> {
    let mut interfaces = Vec::new();
    conn.dump(RTM_GETLINK, &LinkMessage::by_index(0), &mut |message| {
        match message {
            // The dump starts again: what was kept may be stale.
            None => interfaces.clear(),
            Some(message) if message.header.msg_type == RTM_NEWLINK => {
                let (link, _) = LinkMessage::parse(message.payload)?;
                let name = link.name.unwrap_or_default().to_vec();
                interfaces.push(Interface {
                    ifindex: link.ifindex,
                    use_tempaddr: read_use_tempaddr(&name),
                    name,
                    alt_names: link.alt_names().map(<[u8]>::to_vec).collect(),
                });
            }
            Some(_) => {}
        }
        Ok(())
    })?;
    Ok(interfaces)
}

/// A link with what `ip addr show` prints about it, for `show`; the commands that change
/// addresses need only [`Interface`]. Names and hardware addresses are the kernel's bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub ifindex: u32,
    pub name: Vec<u8>,
    /// `ARPHRD_*`.
    pub link_type: u16,
    /// `IFF_*`.
    pub flags: u32,
    pub mtu: Option<u32>,
    pub qdisc: Option<Vec<u8>>,
    /// The index of the link this one sits on, and the peer namespace's id when it is in
    /// another namespace.
    pub link: Option<u32>,
    pub link_netnsid: Option<i32>,
    pub master: Option<u32>,
    pub txqlen: Option<u32>,
    pub operstate: Option<u8>,
    pub group: Option<u32>,
    pub address: Option<Vec<u8>>,
    pub broadcast: Option<Vec<u8>>,
    pub perm_address: Option<Vec<u8>>,
    pub proto_down: bool,
    /// `None` when the kernel sent no `IFLA_PROP_LIST`.
    pub alt_names: Option<Vec<Vec<u8>>>,
}

impl Link {
    pub fn from_message(message: &LinkMessage<'_>) -> Link {
        let owned = |bytes: Option<&[u8]>| bytes.map(<[u8]>::to_vec);
        Link {
            ifindex: message.ifindex,
            name: message.name.unwrap_or_default().to_vec(),
            link_type: message.link_type,
            flags: message.flags,
            mtu: message.mtu,
            qdisc: owned(message.qdisc),
            link: message.link,
            link_netnsid: message.link_netnsid,
            master: message.master,
            txqlen: message.txqlen,
            operstate: message.operstate,
            group: message.group,
            address: owned(message.address),
            broadcast: owned(message.broadcast),
            perm_address: owned(message.perm_address),
            proto_down: message.proto_down.is_some_and(|down| down != 0),
            alt_names: message
                .prop_list
                .map(|_| message.alt_names().map(<[u8]>::to_vec).collect()),
        }
    }
}

/// Every link with its link-level details, in the kernel's order.
pub fn read_links(conn: &mut Conn) -> Result<Vec<Link>, RequestError> {
    let mut links = Vec::new();
    conn.dump(RTM_GETLINK, &LinkMessage::by_index(0), &mut |message| {
        match message {
            None => links.clear(),
            Some(message) if message.header.msg_type == RTM_NEWLINK => {
                links.push(Link::from_message(&LinkMessage::parse(message.payload)?.0));
            }
            Some(_) => {}
        }
        Ok(())
    })?;
    Ok(links)
}

/// Every address of `family` (`Family::Unspec` for all), in the kernel's order, kept only when
/// `keep` says so, so that a large dump is decoded as a stream and not held whole.
pub fn read_addresses(
    conn: &mut Conn,
    family: Family,
    mut keep: impl FnMut(&Address) -> bool,
) -> Result<Vec<Address>, RequestError> {
    read_addresses_kept(conn, family, &mut keep)
}

/// [`read_addresses`] compiled once, not once per `keep` (each copy cost about 700 bytes).
fn read_addresses_kept(
    conn: &mut Conn,
    family: Family,
    keep: &mut dyn FnMut(&Address) -> bool,
) -> Result<Vec<Address>, RequestError> {
    let mut addresses = Vec::new();
    conn.dump(RTM_GETADDR, &AddrMessage::empty(family), &mut |message| {
        match message {
            None => addresses.clear(),
            Some(message) if message.header.msg_type == RTM_NEWADDR => {
                let (parsed, _) = AddrMessage::parse(message.payload)?;
                if let Some(address) = Address::from_message(&parsed).filter(|a| keep(a)) {
                    addresses.push(address);
                }
            }
            Some(_) => {}
        }
        Ok(())
    })?;
    Ok(addresses)
}

/// A route to a whole prefix through an interface, as the kernel installs for an address:
/// (ifindex, destination, prefix length).
pub type PrefixRoute = (u32, IpAddr, u8);

/// Every IPv6 route with a destination (`::/0` for a default route) and an outgoing
/// interface, outside the local table.
pub fn read_ipv6_prefix_routes(conn: &mut Conn) -> Result<Vec<PrefixRoute>, RequestError> {
    /// RT_TABLE_LOCAL: the host's own addresses, not prefix routes.
    const LOCAL_TABLE: u32 = 255;
    let request = RouteMessage {
        dst: None,
        dst_len: 0,
        ..RouteMessage::get(IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED))
    };
    let mut routes = Vec::new();
    conn.dump(RTM_GETROUTE, &request, &mut |message| {
        // None: the dump starts again.
        let Some(message) = message else {
            routes.clear();
            return Ok(());
        };
        if message.header.msg_type == RTM_NEWROUTE {
            let (route, _) = RouteMessage::parse(message.payload)?;
            let table = route.table_id.unwrap_or(u32::from(route.table));
            // A default route has no RTA_DST: `::/0`, when it is a unicast one (RTN_UNICAST).
            let default = (route.dst_len == 0 && route.route_type == 1)
                .then_some(IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED));
            if let (Some(oif), Some(dst), false) =
                (route.oif, route.dst.or(default), table == LOCAL_TABLE)
            {
                routes.push((oif, dst, route.dst_len));
            }
        }
        Ok(())
    })?;
    Ok(routes)
}

/// `net.ipv6.conf.IFNAME.use_tempaddr` in the current network namespace (the `/proc/sys/net`
/// a process opens is its own namespace's), or `None` when it cannot be read: the interface is
/// gone, IPv6 is off on it, or `/proc` is not mounted.
pub fn read_use_tempaddr(ifname: &[u8]) -> Option<i32> {
    read_ipv6_setting(ifname, "use_tempaddr")
}

/// One integer setting `net.ipv6.conf.IFNAME.KEY`, as [`read_use_tempaddr`] reads it.
fn read_ipv6_setting(ifname: &[u8], key: &str) -> Option<i32> {
    use std::os::unix::ffi::OsStrExt;
    if ifname.is_empty() || ifname.contains(&b'/') || ifname == b"." || ifname == b".." {
        return None;
    }
    let path = std::path::Path::new("/proc/sys/net/ipv6/conf")
        .join(std::ffi::OsStr::from_bytes(ifname))
        .join(key);
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// Whether the kernel prefers temporary addresses over public ones on `ifindex`: its
/// `use_tempaddr` is 2 or more (`ipv6_use_tempaddr` in RFC 6724 rule 7's terms), as read with
/// the interfaces; an interface that is gone or unreadable counts as not.
pub fn prefers_temporaries(interfaces: &[Interface], ifindex: u32) -> bool {
    interfaces
        .iter()
        .find(|interface| interface.ifindex == ifindex)
        .and_then(|interface| interface.use_tempaddr)
        .is_some_and(|value| value >= 2)
}

/// The name of `ifindex`, or its number when the interface is gone.
pub fn name_of(interfaces: &[Interface], ifindex: u32) -> Vec<u8> {
    interfaces
        .iter()
        .find(|interface| interface.ifindex == ifindex)
        .map_or_else(
            || format!("if{ifindex}").into_bytes(),
            |interface| interface.name.clone(),
        )
}

/// The interfaces `--dev` names, or `None` for all when it names none; the first unknown name
/// is the error.
pub fn selected_interfaces(
    interfaces: &[Interface],
    names: &[Vec<u8>],
) -> Result<Option<Vec<u32>>, Vec<u8>> {
    if names.is_empty() {
        return Ok(None);
    }
    resolve_names(interfaces, names).map(Some)
}

/// Resolves `--dev` names to indexes; the first unknown name is returned as the error.
pub fn resolve_names(interfaces: &[Interface], names: &[Vec<u8>]) -> Result<Vec<u32>, Vec<u8>> {
    names
        .iter()
        .map(|name| {
            interfaces
                .iter()
                .find(|interface| interface.is_named(name))
                .map(|interface| interface.ifindex)
                .ok_or_else(|| name.clone())
        })
        .collect()
}

#[cfg(test)]
impl Address {
    /// The base that unit tests adjust: a global address on interface 2, /64, permanent,
    /// preferred and valid forever.
    pub(crate) fn for_test(text: &str) -> Address {
        let local: IpAddr = text.parse().unwrap();
        Address {
            ifindex: 2,
            family: Family::of(&local),
            prefixlen: 64,
            scope: Scope::Universe,
            local,
            peer: None,
            broadcast: None,
            label: None,
            flags: IfaFlags::PERMANENT,
            preferred_lft: INFINITY_LIFE_TIME,
            valid_lft: INFINITY_LIFE_TIME,
            proto: None,
            rt_priority: None,
            cstamp: 0,
            tstamp: 0,
        }
    }
}
