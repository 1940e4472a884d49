//! `struct rtmsg` with the attributes of a route lookup: nlsel asks the kernel which source
//! address it would use (`RTM_GETROUTE` with `RTA_DST`) and reads `RTA_PREFSRC` and `RTA_OIF`.

use std::net::IpAddr;

use zerocopy::byteorder::native_endian::U32;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout, Unaligned};

use super::attr::{Attr, AttrWriter, Attrs, ip_octets};
use super::{Emit, Error, Family, Result};

#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
struct RawRtMsg {
    rtm_family: u8,
    rtm_dst_len: u8,
    rtm_src_len: u8,
    rtm_tos: u8,
    rtm_table: u8,
    rtm_protocol: u8,
    rtm_scope: u8,
    rtm_type: u8,
    rtm_flags: U32,
}

pub const RTMSG_LEN: usize = 12;
const _: () = assert!(size_of::<RawRtMsg>() == RTMSG_LEN);

pub const RTA_DST: u16 = 1;
pub const RTA_SRC: u16 = 2;
pub const RTA_IIF: u16 = 3;
pub const RTA_OIF: u16 = 4;
pub const RTA_GATEWAY: u16 = 5;
pub const RTA_PRIORITY: u16 = 6;
pub const RTA_PREFSRC: u16 = 7;
pub const RTA_TABLE: u16 = 15;

/// One route message with the attributes nlsel reads or sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteMessage {
    pub family: Family,
    pub dst_len: u8,
    pub src_len: u8,
    pub tos: u8,
    pub table: u8,
    pub protocol: u8,
    pub scope: u8,
    pub route_type: u8,
    pub flags: u32,
    pub dst: Option<IpAddr>,
    pub gateway: Option<IpAddr>,
    pub prefsrc: Option<IpAddr>,
    pub oif: Option<u32>,
    pub table_id: Option<u32>,
}

impl RouteMessage {
    /// The lookup request for one destination, with every other field zero as strict checking
    /// requires.
    pub fn get(dst: IpAddr) -> Self {
        let (family, dst_len) = match dst {
            IpAddr::V4(_) => (Family::Inet, 32),
            IpAddr::V6(_) => (Family::Inet6, 128),
        };
        RouteMessage {
            family,
            dst_len,
            src_len: 0,
            tos: 0,
            table: 0,
            protocol: 0,
            scope: 0,
            route_type: 0,
            flags: 0,
            dst: Some(dst),
            gateway: None,
            prefsrc: None,
            oif: None,
            table_id: None,
        }
    }

    pub fn parse(payload: &[u8]) -> Result<RouteMessage> {
        let (raw, attrs) = RawRtMsg::ref_from_prefix(payload)
            .map_err(|_| Error::truncated("rtmsg", RTMSG_LEN, payload.len()))?;
        let family = Family::from(raw.rtm_family);
        let mut message = RouteMessage {
            family,
            dst_len: raw.rtm_dst_len,
            src_len: raw.rtm_src_len,
            tos: raw.rtm_tos,
            table: raw.rtm_table,
            protocol: raw.rtm_protocol,
            scope: raw.rtm_scope,
            route_type: raw.rtm_type,
            flags: raw.rtm_flags.get(),
            dst: None,
            gateway: None,
            prefsrc: None,
            oif: None,
            table_id: None,
        };
        for attr in Attrs::new(attrs) {
            let attr = attr?;
            match attr.attr_type() {
                RTA_DST => message.dst = Some(attr.ip(family, "RTA_DST")?),
                RTA_GATEWAY => message.gateway = Some(attr.ip(family, "RTA_GATEWAY")?),
                RTA_PREFSRC => message.prefsrc = Some(attr.ip(family, "RTA_PREFSRC")?),
                RTA_OIF => message.oif = Some(attr.u32("RTA_OIF")?),
                RTA_TABLE => message.table_id = Some(attr.u32("RTA_TABLE")?),
                _ => {}
            }
        }
        Ok(message)
    }

    fn ip_attrs(&self) -> impl Iterator<Item = (u16, IpAddr)> {
        [
            (RTA_DST, self.dst),
            (RTA_GATEWAY, self.gateway),
            (RTA_PREFSRC, self.prefsrc),
        ]
        .into_iter()
        .filter_map(|(kind, ip)| ip.map(|ip| (kind, ip)))
    }

    fn u32_attrs(&self) -> impl Iterator<Item = (u16, u32)> {
        [(RTA_OIF, self.oif), (RTA_TABLE, self.table_id)]
            .into_iter()
            .filter_map(|(kind, value)| value.map(|value| (kind, value)))
    }
}

impl Emit for RouteMessage {
    fn buffer_len(&self) -> usize {
        let ips = self
            .ip_attrs()
            .map(|(_, ip)| Attr::len_for(ip_octets(&ip).as_slice().len()));
        let u32s = self.u32_attrs().map(|_| Attr::len_for(4));
        ips.chain(u32s).fold(RTMSG_LEN, usize::saturating_add)
    }

    fn emit(&self, buf: &mut [u8]) -> Result<()> {
        let raw = RawRtMsg {
            rtm_family: self.family.into(),
            rtm_dst_len: self.dst_len,
            rtm_src_len: self.src_len,
            rtm_tos: self.tos,
            rtm_table: self.table,
            rtm_protocol: self.protocol,
            rtm_scope: self.scope,
            rtm_type: self.route_type,
            rtm_flags: U32::new(self.flags),
        };
        let available = buf.len();
        raw.write_to_prefix(buf)
            .map_err(|_| Error::truncated("rtmsg", RTMSG_LEN, available))?;
        let mut writer = AttrWriter::new(buf, RTMSG_LEN);
        for (kind, ip) in self.ip_attrs() {
            writer.put(kind, ip_octets(&ip).as_slice())?;
        }
        for (kind, value) in self.u32_attrs() {
            writer.put(kind, &value.to_ne_bytes())?;
        }
        Ok(())
    }
}
