//! `struct rtattr`: the type-length-value attributes that follow every rtnetlink header.
//!
//! [`Attrs`] walks an attribute area and stops for good at the first malformed attribute. The
//! typed readers ([`Attr::u32`], [`Attr::ip`], …) check the payload size exactly, so an attribute
//! the kernel grew in a later version is reported instead of silently misread.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use zerocopy::byteorder::native_endian::U16;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout, Unaligned};

use super::{Error, Family, Result, align4, field_mut, split};

#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
struct RawRtAttr {
    rta_len: U16,
    rta_type: U16,
}

pub const RTA_HDRLEN: usize = 4;
const _: () = assert!(size_of::<RawRtAttr>() == RTA_HDRLEN);

pub const NLA_F_NESTED: u16 = 0x8000;
pub const NLA_F_NET_BYTEORDER: u16 = 0x4000;
pub const NLA_TYPE_MASK: u16 = !(NLA_F_NESTED | NLA_F_NET_BYTEORDER);

/// One attribute: its type (flag bits included) and its payload, without padding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attr<'a> {
    pub kind: u16,
    pub payload: &'a [u8],
}

impl<'a> Attr<'a> {
    /// Reads one attribute and returns the bytes after it and its padding.
    pub fn parse(bytes: &'a [u8]) -> Result<(Attr<'a>, &'a [u8])> {
        let (raw, _) = RawRtAttr::ref_from_prefix(bytes)
            .map_err(|_| Error::truncated("attribute header", RTA_HDRLEN, bytes.len()))?;
        let len = usize::from(raw.rta_len.get());
        if len < RTA_HDRLEN {
            return Err(Error::length_too_small("attribute", len, RTA_HDRLEN));
        }
        let (whole, _) = split(bytes, len, "attribute")?;
        let (_, payload) = split(whole, RTA_HDRLEN, "attribute")?;
        let next = align4(len).ok_or(Error::too_long("attribute", len))?;
        let rest = bytes.get(next..).unwrap_or_default();
        Ok((
            Attr {
                kind: raw.rta_type.get(),
                payload,
            },
            rest,
        ))
    }

    /// The type without the nested and byte-order flag bits.
    pub fn attr_type(&self) -> u16 {
        self.kind & NLA_TYPE_MASK
    }

    /// Bytes taken by this attribute, padding included.
    pub fn buffer_len(&self) -> usize {
        Self::len_for(self.payload.len())
    }

    /// Bytes taken by an attribute with `payload_len` bytes of payload, padding included.
    /// Saturates, so an impossible size is caught by `emit` as a buffer too small.
    pub fn len_for(payload_len: usize) -> usize {
        RTA_HDRLEN
            .checked_add(payload_len)
            .and_then(align4)
            .unwrap_or(usize::MAX)
    }

    /// Writes the attribute with its length and zeroed padding.
    pub fn emit(&self, buf: &mut [u8]) -> Result<()> {
        emit_parts(buf, self.kind, &[self.payload])
    }

    pub fn u8(&self, what: &'static str) -> Result<u8> {
        let [value] = self.fixed::<1>(what)?;
        Ok(value)
    }

    pub fn u32(&self, what: &'static str) -> Result<u32> {
        Ok(u32::from_ne_bytes(self.fixed::<4>(what)?))
    }

    /// An address of `family`: 4 bytes for IPv4, 16 for IPv6. Any other family is read by size.
    pub fn ip(&self, family: Family, what: &'static str) -> Result<IpAddr> {
        match (family, self.payload.len()) {
            (Family::Inet6, _) | (Family::Unknown(_) | Family::Unspec, 16) => {
                Ok(IpAddr::V6(Ipv6Addr::from(self.fixed::<16>(what)?)))
            }
            _ => Ok(IpAddr::V4(Ipv4Addr::from(self.fixed::<4>(what)?))),
        }
    }

    /// A NUL-terminated string, returned without the NUL and anything after it.
    pub fn c_str(&self) -> &'a [u8] {
        let end = self
            .payload
            .iter()
            .position(|&b| b == 0)
            .unwrap_or(self.payload.len());
        self.payload.get(..end).unwrap_or_default()
    }

    fn fixed<const N: usize>(&self, what: &'static str) -> Result<[u8; N]> {
        <[u8; N]>::try_from(self.payload)
            .map_err(|_| Error::bad_payload_length(what, N, self.payload.len()))
    }
}

/// The bytes of an address as the kernel carries them.
pub fn ip_octets(ip: &IpAddr) -> IpOctets {
    match ip {
        IpAddr::V4(v4) => IpOctets {
            bytes: ip_pad(&v4.octets()),
            len: 4,
        },
        IpAddr::V6(v6) => IpOctets {
            bytes: v6.octets(),
            len: 16,
        },
    }
}

fn ip_pad(v4: &[u8; 4]) -> [u8; 16] {
    let [a, b, c, d] = *v4;
    [a, b, c, d, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
}

/// An address's bytes without allocating: 4 or 16 of `bytes` are used.
pub struct IpOctets {
    bytes: [u8; 16],
    len: usize,
}

impl IpOctets {
    pub fn as_slice(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or_default()
    }
}

/// Iterates over an attribute area; after the first error it yields nothing more.
pub struct Attrs<'a> {
    rest: &'a [u8],
    failed: bool,
}

impl<'a> Attrs<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Attrs {
            rest: bytes,
            failed: false,
        }
    }
}

impl<'a> Iterator for Attrs<'a> {
    type Item = Result<Attr<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.rest.is_empty() {
            return None;
        }
        match Attr::parse(self.rest) {
            Ok((attr, rest)) => {
                self.rest = rest;
                Some(Ok(attr))
            }
            Err(error) => {
                self.failed = true;
                Some(Err(error))
            }
        }
    }
}

/// Writes attributes one after another into `buf`, tracking the offset.
pub(crate) struct AttrWriter<'b> {
    buf: &'b mut [u8],
    at: usize,
}

impl<'b> AttrWriter<'b> {
    pub(crate) fn new(buf: &'b mut [u8], at: usize) -> Self {
        AttrWriter { buf, at }
    }

    pub(crate) fn put(&mut self, kind: u16, payload: &[u8]) -> Result<()> {
        self.put_parts(kind, &[payload])
    }

    /// A string attribute with its terminating NUL.
    pub(crate) fn put_c_str(&mut self, kind: u16, bytes: &[u8]) -> Result<()> {
        self.put_parts(kind, &[bytes, &[0]])
    }

    fn put_parts(&mut self, kind: u16, parts: &[&[u8]]) -> Result<()> {
        let len = Attr::len_for(parts_len(parts));
        let out = self
            .buf
            .get_mut(self.at..)
            .ok_or(Error::truncated("attribute", len, 0))?;
        emit_parts(out, kind, parts)?;
        self.at = self
            .at
            .checked_add(len)
            .ok_or(Error::too_long("attribute", len))?;
        Ok(())
    }
}

fn parts_len(parts: &[&[u8]]) -> usize {
    parts
        .iter()
        .map(|part| part.len())
        .fold(0, usize::saturating_add)
}

/// Writes one attribute whose payload is `parts` back to back, then zeroed padding.
fn emit_parts(buf: &mut [u8], kind: u16, parts: &[&[u8]]) -> Result<()> {
    let payload_len = parts_len(parts);
    let len = RTA_HDRLEN
        .checked_add(payload_len)
        .ok_or(Error::too_long("attribute", payload_len))?;
    let rta_len = u16::try_from(len).map_err(|_| Error::too_long("attribute", len))?;
    let out = field_mut(buf, 0, Attr::len_for(payload_len), "attribute")?;
    out.fill(0);
    let raw = RawRtAttr {
        rta_len: U16::new(rta_len),
        rta_type: U16::new(kind),
    };
    raw.write_to_prefix(out)
        .map_err(|_| Error::truncated("attribute", len, 0))?;
    let mut at = RTA_HDRLEN;
    for part in parts {
        field_mut(out, at, part.len(), "attribute")?.copy_from_slice(part);
        at = at.saturating_add(part.len());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_u32_attribute() {
        // IFA_FLAGS = 0x200 (noprefixroute), as the kernel sends it.
        let bytes = [8, 0, 8, 0, 0x00, 0x02, 0x00, 0x00, 0xff];
        let (attr, rest) = Attr::parse(&bytes).unwrap();
        assert_eq!(attr.kind, 8);
        assert_eq!(attr.u32("IFA_FLAGS"), Ok(0x200));
        assert_eq!(rest, &[0xff]);
    }

    #[test]
    fn emit_pads_with_zeros() {
        let mut buf = [0xa5u8; 12];
        let attr = Attr {
            kind: 3,
            payload: b"eth0\0",
        };
        assert_eq!(attr.buffer_len(), 12);
        attr.emit(&mut buf).unwrap();
        assert_eq!(buf, [9, 0, 3, 0, b'e', b't', b'h', b'0', 0, 0, 0, 0]);
        let (parsed, rest) = Attr::parse(&buf).unwrap();
        assert_eq!(parsed, attr);
        assert_eq!(parsed.c_str(), b"eth0");
        assert!(rest.is_empty());
    }

    #[test]
    fn wrong_payload_size_is_reported() {
        let bytes = [6, 0, 8, 0, 1, 2];
        let (attr, _) = Attr::parse(&bytes).unwrap();
        assert_eq!(
            attr.u32("IFA_FLAGS"),
            Err(Error::bad_payload_length("IFA_FLAGS", 4, 2))
        );
    }

    #[test]
    fn every_truncation_is_an_error() {
        let bytes = [8, 0, 1, 0, 1, 2, 3, 4];
        for len in 0..RTA_HDRLEN {
            assert_eq!(
                Attr::parse(&bytes[..len]),
                Err(Error::truncated("attribute header", RTA_HDRLEN, len))
            );
        }
        for len in RTA_HDRLEN..bytes.len() {
            assert_eq!(
                Attr::parse(&bytes[..len]),
                Err(Error::truncated("attribute", 8, len))
            );
        }
    }

    #[test]
    fn zero_length_attribute_stops_the_walk() {
        let bytes = [0, 0, 1, 0, 8, 0, 1, 0, 0, 0, 0, 0];
        let items: Vec<_> = Attrs::new(&bytes).collect();
        assert_eq!(
            items,
            vec![Err(Error::length_too_small("attribute", 0, RTA_HDRLEN))]
        );
    }
}
