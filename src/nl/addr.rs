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

use super::attr::{AttrPayload, AttrWriter, Attrs, attrs_len, ip_octets};
use super::{Emit, Error, Family, Result, add_len, field_mut};

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

    pub fn to_bytes(&self) -> [u8; IFA_CACHEINFO_LEN] {
        let raw = RawIfaCacheinfo {
            ifa_prefered: U32::new(self.preferred_lft),
            ifa_valid: U32::new(self.valid_lft),
            cstamp: U32::new(self.cstamp),
            tstamp: U32::new(self.tstamp),
        };
        // The sizes are checked at compile time, so this cannot fail at run time.
        zerocopy::transmute!(raw)
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
    /// The attributes run to the end of the payload, so nothing is left after them.
    pub fn parse(payload: &'a [u8]) -> Result<(AddrMessage<'a>, &'a [u8])> {
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
                // Another family's address (MCTP's 1 byte, phonet's…), which an AF_UNSPEC
                // dump carries too, is no IP address: it is left out rather than failing the
                // dump. An IP family's address of the wrong size is still an error.
                IFA_ADDRESS | IFA_LOCAL | IFA_BROADCAST
                    if matches!(family, Family::Unknown(_) | Family::Unspec)
                        && !matches!(attr.payload.len(), 4 | 16) => {}
                IFA_ADDRESS => message.address = Some(attr.ip(family, "IFA_ADDRESS")?),
                IFA_LOCAL => message.local = Some(attr.ip(family, "IFA_LOCAL")?),
                IFA_BROADCAST => message.broadcast = Some(attr.ip(family, "IFA_BROADCAST")?),
                IFA_LABEL => message.label = Some(attr.c_str()),
                // Exactly the struct: a longer one would be a kernel this code does not know.
                IFA_CACHEINFO => match CacheInfo::parse(attr.payload) {
                    Ok((info, [])) => message.cacheinfo = Some(info),
                    _ => {
                        return Err(Error::bad_payload_length(
                            "IFA_CACHEINFO",
                            IFA_CACHEINFO_LEN,
                            attr.payload.len(),
                        ));
                    }
                },
                IFA_FLAGS => {
                    message.flags_attr = Some(IfaFlags::from_bits_retain(attr.u32("IFA_FLAGS")?))
                }
                IFA_PROTO => message.proto = Some(attr.u8("IFA_PROTO")?),
                IFA_RT_PRIORITY => message.rt_priority = Some(attr.u32("IFA_RT_PRIORITY")?),
                _ => {}
            }
        }
        Ok((message, &[]))
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

    fn attrs(&self) -> impl Iterator<Item = (u16, AttrPayload<'a>)> {
        let ip = |kind, ip: Option<IpAddr>| ip.map(|ip| (kind, AttrPayload::Ip(ip_octets(&ip))));
        [
            ip(IFA_ADDRESS, self.address),
            ip(IFA_LOCAL, self.local),
            ip(IFA_BROADCAST, self.broadcast),
            self.label
                .map(|label| (IFA_LABEL, AttrPayload::CStr(label))),
            self.cacheinfo
                .map(|info| (IFA_CACHEINFO, AttrPayload::Cacheinfo(info.to_bytes()))),
            self.flags_attr
                .map(|flags| (IFA_FLAGS, AttrPayload::U32(flags.bits()))),
            self.proto.map(|proto| (IFA_PROTO, AttrPayload::U8(proto))),
            self.rt_priority
                .map(|prio| (IFA_RT_PRIORITY, AttrPayload::U32(prio))),
        ]
        .into_iter()
        .flatten()
    }
}

impl Emit for AddrMessage<'_> {
    fn buffer_len(&self) -> Result<usize> {
        add_len(IFADDRMSG_LEN, attrs_len(self.attrs())?, "ifaddrmsg")
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
        AttrWriter::new(buf, IFADDRMSG_LEN).put_all(self.attrs())
    }
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr};

    use proptest::prelude::*;

    use super::*;
    use crate::nl::error::DoneMessage;
    use crate::nl::header::{Header, Message, Messages, NLMSG_DONE, RTM_NEWADDR, emit_message};
    use crate::nl::strategies::{self, attrs_cut, check_short_buffers, emit_vec};

    static DUMP_V6: &[u8] = include_bytes!("testdata/addr_dump_v6.bin");
    static DUMP_V6_DEPRECATED: &[u8] = include_bytes!("testdata/addr_dump_v6_deprecated.bin");
    static DUMP_V4: &[u8] = include_bytes!("testdata/addr_dump_v4.bin");

    fn v6(text: &str) -> IpAddr {
        IpAddr::V6(text.parse::<Ipv6Addr>().unwrap())
    }

    /// The RTM_NEWADDR messages of a dump, checking that it ends in a successful NLMSG_DONE.
    fn dump(bytes: &[u8]) -> Vec<Message<'_>> {
        let mut messages: Vec<Message<'_>> = Messages::new(bytes).map(Result::unwrap).collect();
        let done = messages.pop().unwrap();
        assert_eq!(done.header.msg_type, NLMSG_DONE);
        let done = DoneMessage::parse(done.header.flags, done.payload)
            .unwrap()
            .0;
        assert_eq!((done.error, done.errno()), (0, None));
        assert!(messages.iter().all(|m| m.header.msg_type == RTM_NEWADDR));
        messages
    }

    fn find<'m>(messages: &'m [AddrMessage<'m>], address: IpAddr) -> &'m AddrMessage<'m> {
        messages
            .iter()
            .find(|m| m.address == Some(address))
            .unwrap()
    }

    #[test]
    fn an_address_of_a_family_that_is_not_ip_is_left_out() {
        // AF_MCTP (45): ifaddrmsg, then IFA_LOCAL and IFA_ADDRESS of one byte each, as
        // mctp_fill_addrinfo writes them into an AF_UNSPEC dump.
        let mut payload = vec![45, 0, 0, 0, 2, 0, 0, 0];
        payload.extend([5, 0, IFA_LOCAL as u8, 0, 8, 0, 0, 0]);
        payload.extend([5, 0, IFA_ADDRESS as u8, 0, 8, 0, 0, 0]);
        let (message, rest) = AddrMessage::parse(&payload).unwrap();
        assert!(rest.is_empty());
        assert_eq!(message.family, Family::Unknown(45));
        assert_eq!((message.address, message.local), (None, None));
        assert_eq!(message.ifindex, 2);
        // An IP family's address of the wrong size stays an error.
        payload[0] = 10;
        assert_eq!(
            AddrMessage::parse(&payload),
            Err(Error::bad_payload_length("IFA_LOCAL", 16, 1))
        );
    }

    #[test]
    fn test_parse_v6_dump() {
        let parsed: Vec<AddrMessage<'_>> = dump(DUMP_V6)
            .iter()
            .map(|m| AddrMessage::parse(m.payload).unwrap().0)
            .collect();
        let addresses: Vec<_> = parsed.iter().map(|m| m.address.unwrap()).collect();
        assert_eq!(
            addresses,
            [
                v6("::1"),
                v6("::2"),
                v6("2001:db8:f1c1:8454:964::beef"),
                v6("2001:db8:f1c1:8454:964::2"),
                v6("fe80::ff:fe00:1"),
                v6("fe80::ff:fe00:2"),
            ]
        );
        for message in &parsed {
            assert_eq!(message.family, Family::Inet6);
            assert_eq!(message.local, None, "IPv6 dumps carry IFA_ADDRESS only");
            assert_eq!(message.local_address(), message.address);
            assert_eq!(message.peer_address(), None);
            assert_eq!(message.label, None);
            assert_eq!(message.broadcast, None);
            assert!(message.cacheinfo.is_some());
        }

        let beef = find(&parsed, v6("2001:db8:f1c1:8454:964::beef"));
        assert_eq!(beef.prefixlen, 80);
        assert_eq!(beef.ifindex, 2);
        assert_eq!(beef.scope, Scope::Universe);
        assert_eq!(beef.header_flags, IfaHeaderFlags::NODAD);
        assert_eq!(
            beef.flags_attr,
            Some(IfaFlags::NODAD | IfaFlags::NOPREFIXROUTE)
        );
        assert_eq!(beef.flags(), IfaFlags::NODAD | IfaFlags::NOPREFIXROUTE);
        let lifetimes = beef.cacheinfo.unwrap();
        assert!(0 < lifetimes.preferred_lft && lifetimes.preferred_lft <= 1800);
        assert!(0 < lifetimes.valid_lft && lifetimes.valid_lft <= 3600);
        assert!(lifetimes.cstamp <= lifetimes.tstamp);
        assert_eq!(beef.proto, None);

        let two = find(&parsed, v6("2001:db8:f1c1:8454:964::2"));
        assert_eq!((two.prefixlen, two.ifindex), (80, 2));
        assert_eq!(two.flags(), IfaFlags::PERMANENT);
        assert_eq!(two.cacheinfo.unwrap().preferred_lft, INFINITY_LIFE_TIME);
        assert_eq!(two.cacheinfo.unwrap().valid_lft, INFINITY_LIFE_TIME);

        let lo = find(&parsed, v6("::1"));
        assert_eq!((lo.prefixlen, lo.ifindex, lo.scope), (128, 1, Scope::Host));
        assert_eq!(lo.proto, Some(1), "kernel-made addresses carry IFA_PROTO");
        let link_local = find(&parsed, v6("fe80::ff:fe00:2"));
        assert_eq!(link_local.scope, Scope::Link);
        assert_eq!((link_local.prefixlen, link_local.ifindex), (64, 3));
    }

    #[test]
    fn test_parse_v6_dump_after_deprecation() {
        let parsed: Vec<AddrMessage<'_>> = dump(DUMP_V6_DEPRECATED)
            .iter()
            .map(|m| AddrMessage::parse(m.payload).unwrap().0)
            .collect();
        let beef = find(&parsed, v6("2001:db8:f1c1:8454:964::beef"));
        assert_eq!(
            beef.header_flags,
            IfaHeaderFlags::NODAD | IfaHeaderFlags::DEPRECATED
        );
        assert_eq!(
            beef.flags(),
            IfaFlags::NODAD | IfaFlags::DEPRECATED | IfaFlags::NOPREFIXROUTE
        );
        assert_eq!(beef.cacheinfo.unwrap().preferred_lft, 0);
        assert!(beef.cacheinfo.unwrap().valid_lft <= 3600);
    }

    #[test]
    fn test_parse_v4_dump() {
        let parsed: Vec<AddrMessage<'_>> = dump(DUMP_V4)
            .iter()
            .map(|m| AddrMessage::parse(m.payload).unwrap().0)
            .collect();
        assert_eq!(parsed.len(), 2);
        let lo = IpAddr::V4(Ipv4Addr::LOCALHOST);
        assert_eq!(parsed[0].family, Family::Inet);
        assert_eq!((parsed[0].address, parsed[0].local), (Some(lo), Some(lo)));
        assert_eq!(parsed[0].label, Some(&b"lo"[..]));
        assert_eq!((parsed[0].prefixlen, parsed[0].scope), (8, Scope::Host));

        let venet = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 30));
        let message = &parsed[1];
        assert_eq!(message.local, Some(venet), "IPv4 dumps carry IFA_LOCAL");
        assert_eq!(message.address, Some(venet));
        assert_eq!(message.local_address(), Some(venet));
        assert_eq!(message.peer_address(), None);
        assert_eq!(message.label, Some(&b"venet0:0"[..]));
        assert_eq!((message.prefixlen, message.ifindex), (32, 2));
        assert_eq!(message.scope, Scope::Universe);
        assert_eq!(message.flags_attr, Some(IfaFlags::PERMANENT));
        assert_eq!(message.cacheinfo.unwrap().valid_lft, INFINITY_LIFE_TIME);
    }

    #[test]
    fn test_emit_v6_dump_is_byte_exact() {
        // The kernel sends IPv6 addresses with attributes nlsel knows, in the order it emits.
        let mut messages = dump(DUMP_V6);
        messages.extend(dump(DUMP_V6_DEPRECATED));
        for message in messages {
            let parsed = AddrMessage::parse(message.payload).unwrap().0;
            assert_eq!(parsed.buffer_len().unwrap(), message.payload.len());
            assert_eq!(emit_vec(&parsed), message.payload);
        }
    }

    #[test]
    fn test_emit_v6_dump_messages_whole() {
        // Framed by emit_message, only the port differs: user space sends 0.
        for message in dump(DUMP_V6) {
            let parsed = AddrMessage::parse(message.payload).unwrap().0;
            let len = Message::buffer_len(parsed.buffer_len().unwrap()).unwrap();
            let mut buf = vec![0xa5u8; len + strategies::GUARD];
            let written = emit_message(
                &mut buf,
                RTM_NEWADDR,
                message.header.flags,
                message.header.seq,
                &parsed,
            );
            assert_eq!(written, Ok(len));
            assert!(buf[len..].iter().all(|&b| b == 0xa5));
            let (reparsed, rest) = Message::parse(&buf[..len]).unwrap();
            assert!(rest.is_empty());
            assert_eq!(
                reparsed.header,
                Header {
                    pid: 0,
                    ..message.header
                }
            );
            assert_eq!(reparsed.payload, message.payload);
        }
    }

    #[test]
    fn test_emit_v4_dump_has_the_same_attributes() {
        // IPv4 dumps put IFA_FLAGS before IFA_CACHEINFO; nlsel emits them the other way round.
        for message in dump(DUMP_V4) {
            let parsed = AddrMessage::parse(message.payload).unwrap().0;
            let emitted = emit_vec(&parsed);
            assert_eq!(emitted.len(), message.payload.len());
            assert_eq!(emitted[..IFADDRMSG_LEN], message.payload[..IFADDRMSG_LEN]);
            let sorted = |area: &[u8]| {
                let mut attrs: Vec<(u16, Vec<u8>)> = Attrs::new(area)
                    .map(|a| a.map(|a| (a.kind, a.payload.to_vec())))
                    .collect::<Result<_>>()
                    .unwrap();
                attrs.sort();
                attrs
            };
            assert_eq!(
                sorted(&emitted[IFADDRMSG_LEN..]),
                sorted(&message.payload[IFADDRMSG_LEN..])
            );
            assert_eq!(AddrMessage::parse(&emitted), Ok((parsed, &[][..])));
        }
    }

    #[test]
    fn test_emit_change_request() {
        // The body of newaddr_ack.bin's request, as the README lists it: 72 bytes with header.
        let beef = v6("2001:db8:f1c1:8454:964::beef");
        let request = AddrMessage {
            prefixlen: 80,
            header_flags: IfaHeaderFlags::NODAD,
            ifindex: 2,
            address: Some(beef),
            cacheinfo: Some(CacheInfo {
                preferred_lft: 0,
                valid_lft: 3600,
                cstamp: 0,
                tstamp: 0,
            }),
            flags_attr: Some(IfaFlags::NODAD | IfaFlags::NOPREFIXROUTE),
            ..AddrMessage::empty(Family::Inet6)
        };
        assert_eq!(16 + request.buffer_len().unwrap(), 72);
        let bytes = emit_vec(&request);
        assert_eq!(bytes[..IFADDRMSG_LEN], [10, 80, 0x02, 0, 2, 0, 0, 0]);
        assert_eq!(AddrMessage::parse(&bytes), Ok((request, &[][..])));
    }

    #[test]
    fn unknown_and_repeated_attributes() {
        let mut payload = vec![10, 64, 0, 0, 1, 0, 0, 0];
        payload.extend([8, 0, 0x63, 0, 1, 2, 3, 4]); // unknown type 99: skipped
        payload.extend([8, 0, 9, 0, 1, 0, 0, 0]); // IFA_RT_PRIORITY 1
        payload.extend([8, 0, 9, 0, 2, 0, 0, 0]); // again: the last one wins
        let parsed = AddrMessage::parse(&payload).unwrap().0;
        assert_eq!(parsed.rt_priority, Some(2));
        assert_eq!(emit_vec(&parsed).len(), IFADDRMSG_LEN + 8);
    }

    #[test]
    fn wrong_sizes_are_typed_errors() {
        let mut payload = vec![10, 64, 0, 0, 1, 0, 0, 0];
        payload.extend([8, 0, 1, 0, 127, 0, 0, 1]); // a 4-byte IFA_ADDRESS on AF_INET6
        assert_eq!(
            AddrMessage::parse(&payload),
            Err(Error::bad_payload_length("IFA_ADDRESS", 16, 4))
        );
        let mut payload = vec![2, 8, 0, 0, 1, 0, 0, 0];
        payload.extend([8, 0, 6, 0, 0, 0, 0, 0]); // a 4-byte IFA_CACHEINFO
        assert_eq!(
            AddrMessage::parse(&payload),
            Err(Error::bad_payload_length(
                "IFA_CACHEINFO",
                IFA_CACHEINFO_LEN,
                4
            ))
        );
        let mut payload = vec![2, 8, 0, 0, 1, 0, 0, 0];
        payload.extend([24, 0, 6, 0]); // a 20-byte IFA_CACHEINFO: a later kernel's, not ours
        payload.extend([0; 20]);
        assert_eq!(
            AddrMessage::parse(&payload),
            Err(Error::bad_payload_length(
                "IFA_CACHEINFO",
                IFA_CACHEINFO_LEN,
                20
            ))
        );
        let mut payload = vec![2, 8, 0, 0, 1, 0, 0, 0];
        payload.extend([6, 0, 8, 0, 0, 0, 0, 0]); // a 2-byte IFA_FLAGS
        assert_eq!(
            AddrMessage::parse(&payload),
            Err(Error::bad_payload_length("IFA_FLAGS", 4, 2))
        );
    }

    #[test]
    fn header_flags_are_the_low_byte() {
        let flags = IfaFlags::NODAD | IfaFlags::DEPRECATED | IfaFlags::NOPREFIXROUTE;
        assert_eq!(
            flags.header_flags(),
            IfaHeaderFlags::NODAD | IfaHeaderFlags::DEPRECATED
        );
        let mut message = AddrMessage::empty(Family::Inet6);
        message.header_flags = IfaHeaderFlags::PERMANENT;
        assert_eq!(message.flags(), IfaFlags::PERMANENT);
        message.flags_attr = Some(flags);
        assert_eq!(message.flags(), flags);
    }

    proptest! {
        #[test]
        fn addr_message_roundtrip(message in strategies::addr_message()) {
            let bytes = emit_vec(&message);
            prop_assert_eq!(AddrMessage::parse(&bytes), Ok((message, &[][..])));
        }

        #[test]
        fn addr_message_emit_into_short_buffers_fails(message in strategies::addr_message()) {
            check_short_buffers(&message);
        }

        #[test]
        fn every_truncation_of_an_addr_message_is_exact(message in strategies::addr_message()) {
            let bytes = emit_vec(&message);
            for cut in 0..=bytes.len() {
                let parsed = AddrMessage::parse(&bytes[..cut]);
                if cut < IFADDRMSG_LEN {
                    prop_assert_eq!(
                        parsed,
                        Err(Error::truncated("ifaddrmsg", IFADDRMSG_LEN, cut))
                    );
                    continue;
                }
                match attrs_cut(&bytes[IFADDRMSG_LEN..], cut - IFADDRMSG_LEN) {
                    // Whole attributes survive: the message is the original one with a
                    // prefix of its attributes, so it emits a prefix of the bytes.
                    Ok(()) => {
                        let (parsed, _) = parsed.unwrap();
                        let emitted = emit_vec(&parsed);
                        prop_assert_eq!(&emitted[..], &bytes[..cut.next_multiple_of(4)]);
                    }
                    Err(expected) => prop_assert_eq!(parsed, Err(expected)),
                }
            }
        }

        #[test]
        fn cache_info_roundtrip(info in strategies::cache_info(), junk in strategies::junk()) {
            let mut buf = vec![0xa5u8; IFA_CACHEINFO_LEN + strategies::GUARD];
            info.emit(&mut buf).unwrap();
            prop_assert!(buf[IFA_CACHEINFO_LEN..].iter().all(|&b| b == 0xa5));
            prop_assert_eq!(&buf[..IFA_CACHEINFO_LEN], &info.to_bytes()[..]);
            buf.truncate(IFA_CACHEINFO_LEN);
            buf.extend_from_slice(&junk);
            let (parsed, rest) = CacheInfo::parse(&buf).unwrap();
            prop_assert_eq!(parsed, info);
            prop_assert_eq!(rest, &junk[..]);
            for cut in 0..IFA_CACHEINFO_LEN {
                prop_assert_eq!(
                    CacheInfo::parse(&buf[..cut]),
                    Err(Error::truncated("IFA_CACHEINFO", IFA_CACHEINFO_LEN, cut))
                );
                prop_assert_eq!(
                    info.emit(&mut buf[..cut]),
                    Err(Error::truncated("IFA_CACHEINFO", IFA_CACHEINFO_LEN, cut))
                );
            }
        }

        #[test]
        fn addr_message_parse_never_panics(bytes in strategies::bytes(160)) {
            if let Ok((message, _)) = AddrMessage::parse(&bytes) {
                // Whatever parses can be written back within the same number of bytes or so.
                let emitted = emit_vec(&message);
                prop_assert_eq!(AddrMessage::parse(&emitted), Ok((message, &[][..])));
            }
        }

        #[test]
        fn addr_message_with_attributes_never_panics(
            header in any::<[u8; IFADDRMSG_LEN]>(),
            attrs in proptest::collection::vec((0u16..12, strategies::bytes(20)), 0..6),
        ) {
            // Known attribute types with payloads of any size, so the typed readers are hit.
            let bytes = strategies::header_and_attrs(&header, &attrs);
            if let Ok((message, _)) = AddrMessage::parse(&bytes) {
                let emitted = emit_vec(&message);
                prop_assert_eq!(AddrMessage::parse(&emitted), Ok((message, &[][..])));
            }
        }

        #[test]
        fn cache_info_parse_never_panics(bytes in strategies::bytes(40)) {
            let parsed = CacheInfo::parse(&bytes);
            prop_assert_eq!(parsed.is_ok(), bytes.len() >= IFA_CACHEINFO_LEN);
        }
    }
}
