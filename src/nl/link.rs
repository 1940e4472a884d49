//! `struct ifinfomsg` with `IFLA_IFNAME`: what nlsel needs of a link is its index and its name.

use zerocopy::byteorder::native_endian::{U16, U32};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout, Unaligned};

use super::attr::{Attr, AttrWriter, Attrs};
use super::{Emit, Error, Family, Result};

#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
struct RawIfInfoMsg {
    ifi_family: u8,
    ifi_pad: u8,
    ifi_type: U16,
    ifi_index: U32,
    ifi_flags: U32,
    ifi_change: U32,
}

pub const IFINFOMSG_LEN: usize = 16;
const _: () = assert!(size_of::<RawIfInfoMsg>() == IFINFOMSG_LEN);

pub const IFLA_IFNAME: u16 = 3;

/// One link message. `name` is `IFLA_IFNAME` without its NUL: the kernel allows any byte but
/// NUL, '/', ':' and white space in it, so it is kept as bytes, not as a `str`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkMessage<'a> {
    pub family: Family,
    pub link_type: u16,
    pub ifindex: u32,
    pub flags: u32,
    pub change: u32,
    pub name: Option<&'a [u8]>,
}

impl<'a> LinkMessage<'a> {
    /// A request for one link by index (or all links, with index 0 in a dump).
    pub fn by_index(ifindex: u32) -> Self {
        LinkMessage {
            family: Family::Unspec,
            link_type: 0,
            ifindex,
            flags: 0,
            change: 0,
            name: None,
        }
    }

    pub fn parse(payload: &'a [u8]) -> Result<LinkMessage<'a>> {
        let (raw, attrs) = RawIfInfoMsg::ref_from_prefix(payload)
            .map_err(|_| Error::truncated("ifinfomsg", IFINFOMSG_LEN, payload.len()))?;
        let mut message = LinkMessage {
            family: Family::from(raw.ifi_family),
            link_type: raw.ifi_type.get(),
            ifindex: raw.ifi_index.get(),
            flags: raw.ifi_flags.get(),
            change: raw.ifi_change.get(),
            name: None,
        };
        for attr in Attrs::new(attrs) {
            let attr = attr?;
            if attr.attr_type() == IFLA_IFNAME {
                message.name = Some(attr.c_str());
            }
        }
        Ok(message)
    }
}

impl Emit for LinkMessage<'_> {
    fn buffer_len(&self) -> usize {
        let name_len = self
            .name
            .map_or(0, |name| Attr::len_for(name.len().saturating_add(1)));
        IFINFOMSG_LEN.saturating_add(name_len)
    }

    fn emit(&self, buf: &mut [u8]) -> Result<()> {
        let raw = RawIfInfoMsg {
            ifi_family: self.family.into(),
            ifi_pad: 0,
            ifi_type: U16::new(self.link_type),
            ifi_index: U32::new(self.ifindex),
            ifi_flags: U32::new(self.flags),
            ifi_change: U32::new(self.change),
        };
        let available = buf.len();
        raw.write_to_prefix(buf)
            .map_err(|_| Error::truncated("ifinfomsg", IFINFOMSG_LEN, available))?;
        if let Some(name) = self.name {
            AttrWriter::new(buf, IFINFOMSG_LEN).put_c_str(IFLA_IFNAME, name)?;
        }
        Ok(())
    }
}
