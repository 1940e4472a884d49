//! `struct ifaddrmsg` with its attributes: one address, as RTM_NEWADDR carries it.
//!
//! The kernel keeps two flag fields: the 8-bit `ifa_flags` in the header and the 32-bit
//! `IFA_FLAGS` attribute, which holds the flags that did not fit (noprefixroute, mngtmpaddr, …).
//! They are distinct types here, [`IfaHeaderFlags`] and [`IfaFlags`]; [`AddrMessage::flags`]
//! prefers the attribute when it is present.

use std::net::IpAddr;

use bitflags::bitflags;
use zerocopy::byteorder::native_endian::U32;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout, Unaligned};

use super::attr::{Attr, AttrWriter, Attrs, ip_octets};
use super::{Emit, Error, Family, Result, field_mut};

#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
struct RawIfAddrMsg {
    ifa_family: u8,
    ifa_prefixlen: u8,
    ifa_flags: u8,
    ifa_scope: u8,
    ifa_index: U32,
}

pub const IFADDRMSG_LEN: usize = 8;
const _: () = assert!(size_of::<RawIfAddrMsg>() == IFADDRMSG_LEN);

#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
struct RawIfaCacheinfo {
    ifa_prefered: U32,
    ifa_valid: U32,
    cstamp: U32,
    tstamp: U32,
}

pub const IFA_CACHEINFO_LEN: usize = 16;
const _: () = assert!(size_of::<RawIfaCacheinfo>() == IFA_CACHEINFO_LEN);

pub const IFA_ADDRESS: u16 = 1;
pub const IFA_LOCAL: u16 = 2;
pub const IFA_LABEL: u16 = 3;
pub const IFA_BROADCAST: u16 = 4;
pub const IFA_ANYCAST: u16 = 5;
pub const IFA_CACHEINFO: u16 = 6;
pub const IFA_MULTICAST: u16 = 7;
pub const IFA_FLAGS: u16 = 8;
pub const IFA_RT_PRIORITY: u16 = 9;
pub const IFA_TARGET_NETNSID: u16 = 10;
pub const IFA_PROTO: u16 = 11;

/// The lifetime value that means "forever".
pub const INFINITY_LIFE_TIME: u32 = u32::MAX;

bitflags! {
    /// The 8-bit `ifa_flags` of the header.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct IfaHeaderFlags: u8 {
        const SECONDARY = 0x01;
        const NODAD = 0x02;
        const OPTIMISTIC = 0x04;
        const DADFAILED = 0x08;
        const HOMEADDRESS = 0x10;
        const DEPRECATED = 0x20;
        const TENTATIVE = 0x40;
        const PERMANENT = 0x80;
    }
}

bitflags! {
    /// The 32-bit `IFA_FLAGS` attribute: the header's flags and those that did not fit.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct IfaFlags: u32 {
        const SECONDARY = 0x01;
        /// IPv6 calls the secondary bit "temporary".
        const TEMPORARY = 0x01;
        const NODAD = 0x02;
        const OPTIMISTIC = 0x04;
        const DADFAILED = 0x08;
        const HOMEADDRESS = 0x10;
        const DEPRECATED = 0x20;
        const TENTATIVE = 0x40;
        const PERMANENT = 0x80;
        const MANAGETEMPADDR = 0x100;
        const NOPREFIXROUTE = 0x200;
        const MCAUTOJOIN = 0x400;
        const STABLE_PRIVACY = 0x800;
    }
}

impl From<IfaHeaderFlags> for IfaFlags {
    fn from(flags: IfaHeaderFlags) -> Self {
        IfaFlags::from_bits_retain(u32::from(flags.bits()))
    }
}

impl IfaFlags {
    /// The low byte, for the header's `ifa_flags`.
    pub fn header_flags(self) -> IfaHeaderFlags {
        IfaHeaderFlags::from_bits_retain(self.bits().to_le_bytes()[0])
    }
}

/// `rtm_scope` / `ifa_scope`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    Universe,
    Site,
    Link,
    Host,
    Nowhere,
    Unknown(u8),
}

impl From<u8> for Scope {
    fn from(value: u8) -> Self {
        match value {
            0 => Scope::Universe,
            200 => Scope::Site,
            253 => Scope::Link,
            254 => Scope::Host,
            255 => Scope::Nowhere,
            other => Scope::Unknown(other),
        }
    }
}

impl From<Scope> for u8 {
    fn from(value: Scope) -> Self {
        match value {
            Scope::Universe => 0,
            Scope::Site => 200,
            Scope::Link => 253,
            Scope::Host => 254,
            Scope::Nowhere => 255,
            Scope::Unknown(other) => other,
        }
    }
}

/// `struct ifa_cacheinfo`. In a dump the kernel reports the *remaining* lifetimes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CacheInfo {
    pub preferred_lft: u32,
    pub valid_lft: u32,
    /// Creation and last-update times, in hundredths of a second since boot.
    pub cstamp: u32,
    pub tstamp: u32,
}

impl CacheInfo {
    pub fn parse(bytes: &[u8]) -> Result<(CacheInfo, &[u8])> {
        let (raw, rest) = RawIfaCacheinfo::ref_from_prefix(bytes)
            .map_err(|_| Error::truncated("IFA_CACHEINFO", IFA_CACHEINFO_LEN, bytes.len()))?;
        let info = CacheInfo {
            preferred_lft: raw.ifa_prefered.get(),
            valid_lft: raw.ifa_valid.get(),
            cstamp: raw.cstamp.get(),
            tstamp: raw.tstamp.get(),
        };
        Ok((info, rest))
    }

    pub const fn buffer_len() -> usize {
        IFA_CACHEINFO_LEN
    }

    pub fn to_bytes(&self) -> [u8; IFA_CACHEINFO_LEN] {
        let raw = RawIfaCacheinfo {
            ifa_prefered: U32::new(self.preferred_lft),
            ifa_valid: U32::new(self.valid_lft),
            cstamp: U32::new(self.cstamp),
            tstamp: U32::new(self.tstamp),
        };
        let mut bytes = [0u8; IFA_CACHEINFO_LEN];
        // Cannot fail: the array is exactly the struct's size.
        let _ = raw.write_to(&mut bytes);
        bytes
    }

    pub fn emit(&self, buf: &mut [u8]) -> Result<()> {
        field_mut(buf, 0, IFA_CACHEINFO_LEN, "IFA_CACHEINFO")?.copy_from_slice(&self.to_bytes());
        Ok(())
    }
}

/// One address message: the `ifaddrmsg` header and the attributes nlsel reads or writes.
/// Attributes it does not know are skipped when parsing and never emitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddrMessage<'a> {
    pub family: Family,
    pub prefixlen: u8,
    pub header_flags: IfaHeaderFlags,
    pub scope: Scope,
    pub ifindex: u32,
    /// `IFA_ADDRESS`: the address, or the peer's on a point-to-point address.
    pub address: Option<IpAddr>,
    /// `IFA_LOCAL`: the local address when it differs from `IFA_ADDRESS` (always sent for IPv4).
    pub local: Option<IpAddr>,
    pub broadcast: Option<IpAddr>,
    pub label: Option<&'a [u8]>,
    pub cacheinfo: Option<CacheInfo>,
    /// The 32-bit `IFA_FLAGS` attribute, when present.
    pub flags_attr: Option<IfaFlags>,
    pub proto: Option<u8>,
    pub rt_priority: Option<u32>,
}

impl<'a> AddrMessage<'a> {
    /// A message for `family` with every attribute absent.
    pub fn empty(family: Family) -> Self {
        AddrMessage {
            family,
            prefixlen: 0,
            header_flags: IfaHeaderFlags::empty(),
            scope: Scope::Universe,
            ifindex: 0,
            address: None,
            local: None,
            broadcast: None,
            label: None,
            cacheinfo: None,
            flags_attr: None,
            proto: None,
            rt_priority: None,
        }
    }

    /// Reads a message payload. Unknown attributes are skipped; a repeated one keeps the last.
    pub fn parse(payload: &'a [u8]) -> Result<AddrMessage<'a>> {
        let (raw, attrs) = RawIfAddrMsg::ref_from_prefix(payload)
            .map_err(|_| Error::truncated("ifaddrmsg", IFADDRMSG_LEN, payload.len()))?;
        let family = Family::from(raw.ifa_family);
        let mut message = AddrMessage {
            prefixlen: raw.ifa_prefixlen,
            header_flags: IfaHeaderFlags::from_bits_retain(raw.ifa_flags),
            scope: Scope::from(raw.ifa_scope),
            ifindex: raw.ifa_index.get(),
            ..AddrMessage::empty(family)
        };
        for attr in Attrs::new(attrs) {
            let attr = attr?;
            match attr.attr_type() {
                IFA_ADDRESS => message.address = Some(attr.ip(family, "IFA_ADDRESS")?),
                IFA_LOCAL => message.local = Some(attr.ip(family, "IFA_LOCAL")?),
                IFA_BROADCAST => message.broadcast = Some(attr.ip(family, "IFA_BROADCAST")?),
                IFA_LABEL => message.label = Some(attr.c_str()),
                IFA_CACHEINFO => message.cacheinfo = Some(CacheInfo::parse(attr.payload)?.0),
                IFA_FLAGS => {
                    message.flags_attr = Some(IfaFlags::from_bits_retain(attr.u32("IFA_FLAGS")?))
                }
                IFA_PROTO => message.proto = Some(attr.u8("IFA_PROTO")?),
                IFA_RT_PRIORITY => message.rt_priority = Some(attr.u32("IFA_RT_PRIORITY")?),
                _ => {}
            }
        }
        Ok(message)
    }

    /// The address's flags: `IFA_FLAGS` when the kernel sent it, else the header's 8 bits.
    pub fn flags(&self) -> IfaFlags {
        self.flags_attr.unwrap_or(IfaFlags::from(self.header_flags))
    }

    /// The interface's own address: `IFA_LOCAL` when present, else `IFA_ADDRESS`.
    pub fn local_address(&self) -> Option<IpAddr> {
        self.local.or(self.address)
    }

    /// The peer of a point-to-point address: `IFA_ADDRESS` when it differs from `IFA_LOCAL`.
    pub fn peer_address(&self) -> Option<IpAddr> {
        match (self.local, self.address) {
            (Some(local), Some(address)) if local != address => Some(address),
            _ => None,
        }
    }

    fn attrs(&self) -> impl Iterator<Item = (u16, AttrBytes<'a>)> {
        let ip = |kind, ip: Option<IpAddr>| ip.map(|ip| (kind, AttrBytes::Ip(ip_octets(&ip))));
        [
            ip(IFA_ADDRESS, self.address),
            ip(IFA_LOCAL, self.local),
            ip(IFA_BROADCAST, self.broadcast),
            self.label.map(|label| (IFA_LABEL, AttrBytes::CStr(label))),
            self.cacheinfo
                .map(|info| (IFA_CACHEINFO, AttrBytes::Cacheinfo(info.to_bytes()))),
            self.flags_attr
                .map(|f| (IFA_FLAGS, AttrBytes::U32(f.bits().to_ne_bytes()))),
            self.proto.map(|proto| (IFA_PROTO, AttrBytes::U8([proto]))),
            self.rt_priority
                .map(|prio| (IFA_RT_PRIORITY, AttrBytes::U32(prio.to_ne_bytes()))),
        ]
        .into_iter()
        .flatten()
    }
}

/// An attribute payload held by value, so that emitting allocates nothing.
enum AttrBytes<'a> {
    Ip(super::attr::IpOctets),
    CStr(&'a [u8]),
    Cacheinfo([u8; IFA_CACHEINFO_LEN]),
    U32([u8; 4]),
    U8([u8; 1]),
}

impl AttrBytes<'_> {
    /// Payload length; a C string counts its NUL.
    fn len(&self) -> usize {
        match self {
            AttrBytes::Ip(octets) => octets.as_slice().len(),
            AttrBytes::CStr(bytes) => bytes.len().saturating_add(1),
            AttrBytes::Cacheinfo(bytes) => bytes.len(),
            AttrBytes::U32(bytes) => bytes.len(),
            AttrBytes::U8(bytes) => bytes.len(),
        }
    }

    fn put(&self, kind: u16, writer: &mut AttrWriter<'_>) -> Result<()> {
        match self {
            AttrBytes::Ip(octets) => writer.put(kind, octets.as_slice()),
            AttrBytes::CStr(bytes) => writer.put_c_str(kind, bytes),
            AttrBytes::Cacheinfo(bytes) => writer.put(kind, bytes),
            AttrBytes::U32(bytes) => writer.put(kind, bytes),
            AttrBytes::U8(bytes) => writer.put(kind, bytes),
        }
    }
}

impl Emit for AddrMessage<'_> {
    fn buffer_len(&self) -> usize {
        self.attrs()
            .map(|(_, bytes)| Attr::len_for(bytes.len()))
            .fold(IFADDRMSG_LEN, usize::saturating_add)
    }

    fn emit(&self, buf: &mut [u8]) -> Result<()> {
        let raw = RawIfAddrMsg {
            ifa_family: self.family.into(),
            ifa_prefixlen: self.prefixlen,
            ifa_flags: self.header_flags.bits(),
            ifa_scope: self.scope.into(),
            ifa_index: U32::new(self.ifindex),
        };
        let available = buf.len();
        raw.write_to_prefix(buf)
            .map_err(|_| Error::truncated("ifaddrmsg", IFADDRMSG_LEN, available))?;
        let mut writer = AttrWriter::new(buf, IFADDRMSG_LEN);
        for (kind, bytes) in self.attrs() {
            bytes.put(kind, &mut writer)?;
        }
        Ok(())
    }
}
