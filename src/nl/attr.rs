//! `struct rtattr`: the type-length-value attributes that follow every rtnetlink header, and
//! the one table-driven loop that reads and writes an object's attributes.
//!
//! [`Attrs`] walks an attribute area and stops for good at the first malformed attribute. The
//! typed readers ([`Attr::u32`], [`Attr::ip`], …) check the payload size exactly, so an attribute
//! the kernel grew in a later version is reported instead of silently misread. An object lists
//! its attributes in a table of [`AttrSpec`]s; `parse_attrs` decodes an area into one
//! [`Value`] slot per entry, and `object_len` and `emit_object` write the slots back.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use zerocopy::byteorder::native_endian::U16;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout, Unaligned};

use super::addr::{CacheInfo, IFA_CACHEINFO_LEN, IfaFlags};
use super::{Error, Family, Records, Result, add_len, field_mut, padded_len, split, split_record};

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
        let (whole, rest) = split_record(bytes, len, RTA_HDRLEN, "attribute")?;
        let (_, payload) = split(whole, RTA_HDRLEN, "attribute")?;
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
    pub fn buffer_len(&self) -> Result<usize> {
        Self::len_for(self.payload.len())
    }

    /// Bytes taken by an attribute with `payload_len` bytes of payload, padding included.
    pub fn len_for(payload_len: usize) -> Result<usize> {
        padded_len(add_len(RTA_HDRLEN, payload_len, "attribute")?, "attribute")
    }

    /// Writes the attribute with its length and zeroed padding.
    pub fn emit(&self, buf: &mut [u8]) -> Result<()> {
        emit_parts(buf, self.kind, [self.payload, &[]])?;
        Ok(())
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

    /// The payload decoded as `spec` says; `None` for an address of a family that is no IP
    /// family (MCTP's 1 byte, phonet's…), which an AF_UNSPEC dump carries too: it is left out
    /// rather than failing the dump. An IP family's address of the wrong size is an error.
    fn value(&self, spec: &AttrSpec, family: Family) -> Result<Option<Value<'a>>> {
        let name = spec.name;
        Ok(Some(match spec.codec {
            Codec::Ip
                if matches!(family, Family::Unknown(_) | Family::Unspec)
                    && !matches!(self.payload.len(), 4 | 16) =>
            {
                return Ok(None);
            }
            Codec::Ip => Value::Ip(self.ip(family, name)?),
            Codec::U8 => Value::U8(self.u8(name)?),
            Codec::U32 => Value::U32(self.u32(name)?),
            Codec::Be16 => Value::Be16(u16::from_be_bytes(self.fixed::<2>(name)?)),
            Codec::CStr => Value::Bytes(self.c_str()),
            Codec::Raw => Value::Bytes(self.payload),
            Codec::Nested => {
                // Checked here, so that a reader of the nested list cannot fail.
                for nested in Attrs::new(self.payload) {
                    nested?;
                }
                Value::Bytes(self.payload)
            }
            // Exactly the struct: a longer one would be a kernel this code does not know.
            Codec::Cacheinfo => {
                Value::Cacheinfo(CacheInfo::from(self.fixed::<IFA_CACHEINFO_LEN>(name)?))
            }
        }))
    }
}

/// Iterates over an attribute area; after the first error it yields nothing more.
pub type Attrs<'a> = Records<'a, Attr<'a>>;

impl<'a> Attrs<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Records::walk(bytes, Attr::parse)
    }
}

/// How an attribute's payload is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    /// An address of the header's family: 4 or 16 bytes.
    Ip,
    U8,
    /// Host byte order, as nearly every netlink integer.
    U32,
    /// A port, in network byte order.
    Be16,
    /// A string; its NUL is cut when read and added when written.
    CStr,
    /// Bytes as they are: a hardware address, a multipath list.
    Raw,
    /// Attributes nested in this one, each checked when read, kept as bytes.
    Nested,
    /// `struct ifa_cacheinfo`, the one fixed struct an attribute carries here.
    Cacheinfo,
}

/// One line of an object's attribute table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttrSpec {
    pub kind: u16,
    /// The kernel's name, as errors name the attribute.
    pub name: &'static str,
    pub codec: Codec,
}

/// An attribute's decoded payload, borrowed from the message it was read from or the object
/// it is written from, so that neither direction allocates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value<'a> {
    Ip(IpAddr),
    U8(u8),
    U32(u32),
    Be16(u16),
    /// A string without its NUL, raw bytes or a nested list, as the codec says.
    Bytes(&'a [u8]),
    Cacheinfo(CacheInfo),
}

impl Value<'_> {
    /// The payload bytes as two parts written back to back (a string's second part is its
    /// NUL); fixed-size values are laid out in `scratch`.
    fn parts<'s>(&'s self, codec: Codec, scratch: &'s mut [u8; 16]) -> [&'s [u8]; 2] {
        let fixed: &[u8] = match self {
            Value::Bytes(bytes) if codec == Codec::CStr => return [bytes, &[0]],
            Value::Bytes(bytes) => return [bytes, &[]],
            Value::Ip(IpAddr::V4(v4)) => &v4.octets(),
            Value::Ip(IpAddr::V6(v6)) => &v6.octets(),
            Value::U8(value) => &[*value],
            Value::U32(value) => &value.to_ne_bytes(),
            Value::Be16(value) => &value.to_be_bytes(),
            Value::Cacheinfo(info) => &info.to_bytes(),
        };
        for (to, from) in scratch.iter_mut().zip(fixed) {
            *to = *from;
        }
        [scratch.get(..fixed.len()).unwrap_or_default(), &[]]
    }
}

/// A field type an attribute decodes into and is written from.
pub trait AttrValue<'a>: Sized {
    /// `None` when the value has another shape than the table's codec gives this type.
    fn from_value(value: Value<'a>) -> Option<Self>;
    fn to_value(&self) -> Value<'_>;
}

/// Implements [`AttrValue`] for a type carried by one [`Value`] variant.
macro_rules! attr_value {
    ($type:ty, $variant:ident, |$from:ident| $read:expr, |$to:ident| $write:expr) => {
        impl<'a> AttrValue<'a> for $type {
            fn from_value(value: Value<'a>) -> Option<Self> {
                match value {
                    Value::$variant($from) => Some($read),
                    _ => None,
                }
            }
            fn to_value(&self) -> Value<'_> {
                let $to = self;
                Value::$variant($write)
            }
        }
    };
}

attr_value! { IpAddr, Ip, |ip| ip, |ip| *ip }
attr_value! { u8, U8, |value| value, |value| *value }
attr_value! { u32, U32, |value| value, |value| *value }
attr_value! { u16, Be16, |value| value, |value| *value }
attr_value! { &'a [u8], Bytes, |bytes| bytes, |bytes| bytes }
attr_value! { Vec<u8>, Bytes, |bytes| bytes.to_vec(), |bytes| bytes }
attr_value! { CacheInfo, Cacheinfo, |info| info, |info| *info }
attr_value! { IfaFlags, U32, |bits| IfaFlags::from_bits_retain(bits), |flags| flags.bits() }
// IFLA_LINK_NETNSID is a signed id in a u32-sized attribute.
attr_value! { i32, U32, |id| id.cast_signed(), |id| id.cast_unsigned() }

/// Decodes an attribute area into `values`, one slot per `table` entry; attributes the table
/// does not list are skipped, and a repeated one keeps the last.
pub(crate) fn parse_attrs<'a>(
    area: &'a [u8],
    family: Family,
    table: &[AttrSpec],
    values: &mut [Option<Value<'a>>],
) -> Result<()> {
    for attr in Attrs::new(area) {
        let attr = attr?;
        let slot = table
            .iter()
            .zip(values.iter_mut())
            .find(|(spec, _)| spec.kind == attr.attr_type());
        if let Some((spec, slot)) = slot
            && let Some(value) = attr.value(spec, family)?
        {
            *slot = Some(value);
        }
    }
    Ok(())
}

/// Bytes an object takes: its `header_len`-byte header and the attributes `values` holds.
pub(crate) fn object_len(
    header_len: usize,
    what: &'static str,
    table: &[AttrSpec],
    values: &[Option<Value<'_>>],
) -> Result<usize> {
    let mut len = header_len;
    for (spec, value) in table.iter().zip(values) {
        if let Some(value) = value {
            let mut scratch = [0; 16];
            let [body, nul] = value.parts(spec.codec, &mut scratch);
            let payload_len = add_len(body.len(), nul.len(), "attribute")?;
            len = add_len(len, Attr::len_for(payload_len)?, what)?;
        }
    }
    Ok(len)
}

/// Writes an object: its raw `header`, then the attributes `values` holds, in table order.
pub(crate) fn emit_object(
    header: &[u8],
    what: &'static str,
    table: &[AttrSpec],
    values: &[Option<Value<'_>>],
    buf: &mut [u8],
) -> Result<()> {
    field_mut(buf, 0, header.len(), what)?.copy_from_slice(header);
    let mut at = header.len();
    for (spec, value) in table.iter().zip(values) {
        if let Some(value) = value {
            let mut scratch = [0; 16];
            let parts = value.parts(spec.codec, &mut scratch);
            // Past the end, the empty rest makes `emit_parts` say how many bytes it needed.
            let out = buf.get_mut(at..).unwrap_or_default();
            at = add_len(at, emit_parts(out, spec.kind, parts)?, "attribute")?;
        }
    }
    Ok(())
}

/// Writes one attribute whose payload is `parts` back to back, then zeroed padding; returns
/// the bytes written.
fn emit_parts(buf: &mut [u8], kind: u16, parts: [&[u8]; 2]) -> Result<usize> {
    let [body, nul] = parts;
    let payload_len = add_len(body.len(), nul.len(), "attribute")?;
    let len = add_len(RTA_HDRLEN, payload_len, "attribute")?;
    let rta_len = u16::try_from(len).map_err(|_| Error::too_long("attribute", len))?;
    let padded = Attr::len_for(payload_len)?;
    let out = field_mut(buf, 0, padded, "attribute")?;
    out.fill(0);
    let raw = RawRtAttr {
        rta_len: U16::new(rta_len),
        rta_type: U16::new(kind),
    };
    raw.write_to_prefix(out)
        .map_err(|_| Error::truncated("attribute", len, 0))?;
    field_mut(out, RTA_HDRLEN, body.len(), "attribute")?.copy_from_slice(body);
    let nul_at = add_len(RTA_HDRLEN, body.len(), "attribute")?;
    field_mut(out, nul_at, nul.len(), "attribute")?.copy_from_slice(nul);
    Ok(padded)
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
        assert_eq!(attr.buffer_len().unwrap(), 12);
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

    use super::super::ErrorKind;
    use super::super::header::{Messages, RTM_NEWADDR, RTM_NEWLINK, RTM_NEWROUTE};
    use super::super::strategies::{self, GUARD, attrs_cut};
    use proptest::prelude::*;

    /// The attribute area of every RTM_NEW* message of every capture that has them.
    fn captured_areas() -> Vec<(&'static str, &'static [u8])> {
        let captures: [(&str, &[u8]); 5] = [
            (
                "addr_dump_v6.bin",
                include_bytes!("testdata/addr_dump_v6.bin"),
            ),
            (
                "addr_dump_v4.bin",
                include_bytes!("testdata/addr_dump_v4.bin"),
            ),
            ("link_dump.bin", include_bytes!("testdata/link_dump.bin")),
            (
                "route_get_v6.bin",
                include_bytes!("testdata/route_get_v6.bin"),
            ),
            (
                "route_get_v6_deprecated.bin",
                include_bytes!("testdata/route_get_v6_deprecated.bin"),
            ),
        ];
        let mut areas = Vec::new();
        for (name, bytes) in captures {
            for message in Messages::new(bytes) {
                let message = message.unwrap();
                let fixed = match message.header.msg_type {
                    RTM_NEWADDR => 8,
                    RTM_NEWLINK => 16,
                    RTM_NEWROUTE => 12,
                    _ => continue,
                };
                areas.push((name, &message.payload[fixed..]));
            }
        }
        areas
    }

    #[test]
    fn test_parse_ipv6_address_attributes() {
        // The first message of addr_dump_v6.bin: ::1 on lo.
        let bytes = include_bytes!("testdata/addr_dump_v6.bin");
        let area = &bytes[16 + 8..80];
        let attrs: Vec<Attr<'_>> = Attrs::new(area).collect::<Result<_>>().unwrap();
        let kinds: Vec<(u16, usize)> = attrs.iter().map(|a| (a.kind, a.payload.len())).collect();
        // IFA_ADDRESS, IFA_CACHEINFO, IFA_FLAGS, IFA_PROTO (one byte, then padding).
        assert_eq!(kinds, [(1, 16), (6, 16), (8, 4), (11, 1)]);
        assert_eq!(
            attrs[0].ip(Family::Inet6, "IFA_ADDRESS"),
            Ok(IpAddr::V6(Ipv6Addr::LOCALHOST))
        );
        assert_eq!(attrs[2].u32("IFA_FLAGS"), Ok(0x80));
        assert_eq!(attrs[3].u8("IFA_PROTO"), Ok(1));
        assert_eq!(
            attrs[3].u32("IFA_PROTO"),
            Err(Error::bad_payload_length("IFA_PROTO", 4, 1))
        );
    }

    #[test]
    fn test_parse_label_and_ipv4() {
        // The second message of addr_dump_v4.bin: 192.0.2.30 labelled venet0:0.
        let bytes = include_bytes!("testdata/addr_dump_v4.bin");
        let area = &bytes[76 + 16 + 8..160];
        let attrs: Vec<Attr<'_>> = Attrs::new(area).collect::<Result<_>>().unwrap();
        let label = attrs.iter().find(|a| a.kind == 3).unwrap();
        assert_eq!(label.payload, b"venet0:0\0");
        assert_eq!(label.c_str(), b"venet0:0");
        let local = attrs.iter().find(|a| a.kind == 2).unwrap();
        assert_eq!(
            local.ip(Family::Inet, "IFA_LOCAL"),
            Ok(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 30)))
        );
        assert_eq!(
            local.ip(Family::Inet6, "IFA_LOCAL"),
            Err(Error::bad_payload_length("IFA_LOCAL", 16, 4))
        );
        // A family the parser does not know is read by size.
        assert_eq!(
            local.ip(Family::Unknown(99), "IFA_LOCAL"),
            Ok(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 30)))
        );
    }

    #[test]
    fn test_parse_every_captured_attribute() {
        for (name, area) in captured_areas() {
            let mut walked = 0;
            for attr in Attrs::new(area) {
                let attr = attr.unwrap_or_else(|error| panic!("{name}: {error}"));
                walked += attr.buffer_len().unwrap();
            }
            assert_eq!(
                walked,
                area.len(),
                "{name}: attributes do not tile the area"
            );
        }
    }

    #[test]
    fn test_emit_every_captured_attribute() {
        // The kernel zeroes padding, and Attr keeps nested payloads as bytes, so re-emitting
        // each attribute gives back the capture byte for byte.
        for (name, area) in captured_areas() {
            let mut rebuilt = Vec::new();
            for attr in Attrs::new(area) {
                let attr = attr.unwrap();
                let len = attr.buffer_len().unwrap();
                let mut buf = vec![0xa5u8; len + GUARD];
                attr.emit(&mut buf[..len]).unwrap();
                assert!(buf[len..].iter().all(|&b| b == 0xa5), "{name}");
                rebuilt.extend_from_slice(&buf[..len]);
            }
            assert_eq!(rebuilt, area, "{name}");
        }
    }

    #[test]
    fn errors_say_what_and_how_many_bytes() {
        let error = Attr::parse(&[12, 0, 1, 0, 0, 0]).unwrap_err();
        assert_eq!(error.what(), "attribute");
        assert_eq!(
            error.kind(),
            ErrorKind::Truncated {
                needed: 12,
                available: 6
            }
        );
        assert_eq!(
            error.to_string(),
            "buffer is too small to read attribute: need 12 bytes, have 6"
        );
        let error = Attr::parse(&[2, 0, 1, 0]).unwrap_err();
        assert_eq!(
            error.kind(),
            ErrorKind::LengthTooSmall {
                declared: 2,
                minimum: RTA_HDRLEN
            }
        );
        let (attr, _) = Attr::parse(&[5, 0, 8, 0, 1, 0, 0, 0]).unwrap();
        let error = attr.u32("IFA_FLAGS").unwrap_err();
        assert_eq!(error.what(), "IFA_FLAGS");
        assert_eq!(
            error.kind(),
            ErrorKind::BadPayloadLength {
                expected: 4,
                actual: 1
            }
        );
    }

    #[test]
    fn nested_flag_bits_are_kept_but_masked_from_the_type() {
        let bytes = [8, 0, 0x1a, 0x80, 1, 0, 0, 0];
        let (attr, _) = Attr::parse(&bytes).unwrap();
        assert_eq!(attr.kind, 0x801a);
        assert_eq!(attr.attr_type(), 0x1a);
    }

    #[test]
    fn oversized_payload_is_too_long() {
        let payload = vec![0u8; usize::from(u16::MAX)];
        let attr = Attr {
            kind: 1,
            payload: &payload,
        };
        let mut buf = vec![0u8; attr.buffer_len().unwrap()];
        assert_eq!(
            attr.emit(&mut buf),
            Err(Error::too_long(
                "attribute",
                usize::from(u16::MAX) + RTA_HDRLEN
            ))
        );
    }

    proptest! {
        #[test]
        fn attr_roundtrip(attr in strategies::attr(), junk in strategies::junk()) {
            let len = attr.buffer_len().unwrap();
            prop_assert_eq!(len, (RTA_HDRLEN + attr.payload.len()).next_multiple_of(4));
            let mut buf = vec![0xa5u8; len + GUARD];
            attr.emit(&mut buf[..len]).unwrap();
            prop_assert!(buf[len..].iter().all(|&b| b == 0xa5));
            prop_assert!(buf[RTA_HDRLEN + attr.payload.len()..len].iter().all(|&b| b == 0));
            buf.truncate(len);
            buf.extend_from_slice(&junk);
            let (parsed, rest) = Attr::parse(&buf).unwrap();
            prop_assert_eq!(parsed, attr);
            prop_assert_eq!(rest, &junk[..]);
        }

        #[test]
        fn attrs_walks_emitted_attributes(
            attrs in proptest::collection::vec(strategies::attr(), 0..8),
        ) {
            let mut area = Vec::new();
            for attr in &attrs {
                let mut buf = vec![0xa5u8; attr.buffer_len().unwrap()];
                attr.emit(&mut buf).unwrap();
                area.extend(buf);
            }
            let parsed: Vec<Attr<'_>> = Attrs::new(&area).collect::<Result<_>>().unwrap();
            prop_assert_eq!(parsed, attrs);
        }

        #[test]
        fn every_truncation_of_attributes_is_exact(
            attrs in proptest::collection::vec(strategies::attr(), 1..4),
        ) {
            let mut area = Vec::new();
            for attr in &attrs {
                let mut buf = vec![0xa5u8; attr.buffer_len().unwrap()];
                attr.emit(&mut buf).unwrap();
                area.extend(buf);
            }
            for cut in 0..=area.len() {
                let walked: Result<Vec<Attr<'_>>> = Attrs::new(&area[..cut]).collect();
                match attrs_cut(&area, cut) {
                    Ok(()) => {
                        let walked = walked.unwrap();
                        prop_assert_eq!(&walked[..], &attrs[..walked.len()]);
                    }
                    Err(expected) => {
                        let error = walked.unwrap_err();
                        prop_assert_eq!(&error, &expected);
                        prop_assert!(error.what().starts_with("attribute"));
                        let truncated = matches!(
                            error.kind(),
                            ErrorKind::Truncated { needed, available } if available < needed
                        );
                        prop_assert!(truncated);
                    }
                }
            }
        }

        #[test]
        fn every_short_buffer_is_an_error(attr in strategies::attr()) {
            for short in 0..attr.buffer_len().unwrap() {
                let mut buf = vec![0xa5u8; short + GUARD];
                prop_assert_eq!(
                    attr.emit(&mut buf[..short]),
                    Err(Error::truncated("attribute", attr.buffer_len().unwrap(), short))
                );
                prop_assert!(buf.iter().all(|&b| b == 0xa5), "a failed emit wrote");
            }
        }

        #[test]
        fn attr_parse_never_panics(bytes in strategies::bytes(64)) {
            if let Ok((attr, rest)) = Attr::parse(&bytes) {
                prop_assert!(attr.payload.len() + RTA_HDRLEN <= bytes.len());
                prop_assert!(rest.len() + attr.payload.len() + RTA_HDRLEN <= bytes.len());
            }
        }

        #[test]
        fn attrs_never_panic_and_stop_after_an_error(bytes in strategies::bytes(128)) {
            let mut attrs = Attrs::new(&bytes);
            while let Some(item) = attrs.next() {
                if item.is_err() {
                    prop_assert!(attrs.next().is_none());
                    break;
                }
            }
        }

        #[test]
        fn typed_readers_check_the_exact_size(
            kind in any::<u16>(),
            payload in strategies::bytes(24),
            family in strategies::family(),
        ) {
            let attr = Attr { kind, payload: &payload };
            let len = payload.len();
            prop_assert_eq!(attr.u8("x").is_ok(), len == 1);
            prop_assert_eq!(attr.u32("x").is_ok(), len == 4);
            if len != 4 {
                prop_assert_eq!(attr.u32("x"), Err(Error::bad_payload_length("x", 4, len)));
            }
            let ip_ok = match family {
                Family::Inet => len == 4,
                Family::Inet6 => len == 16,
                Family::Unspec | Family::Unknown(_) => len == 4 || len == 16,
            };
            prop_assert_eq!(attr.ip(family, "x").is_ok(), ip_ok);
            let c_str = attr.c_str();
            prop_assert!(!c_str.contains(&0));
            prop_assert!(payload.starts_with(c_str));
            prop_assert!(c_str.len() == len || payload[c_str.len()] == 0);
        }

        #[test]
        fn ip_values_roundtrip(ip in prop_oneof![strategies::ipv4(), strategies::ipv6()]) {
            let value = Value::Ip(ip);
            let mut scratch = [0xa5; 16];
            let [octets, nul] = value.parts(Codec::Ip, &mut scratch);
            prop_assert!(nul.is_empty());
            let attr = Attr { kind: 1, payload: octets };
            prop_assert_eq!(attr.ip(Family::of(&ip), "x"), Ok(ip));
            prop_assert_eq!(attr.ip(Family::Unspec, "x"), Ok(ip));
        }
    }
}
