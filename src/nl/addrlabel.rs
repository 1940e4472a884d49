//! `struct ifaddrlblmsg` with `IFAL_ADDRESS` and `IFAL_LABEL`: one entry of the kernel's IPv6
//! address-label table (RFC 6724 section 2.1), as an `RTM_GETADDRLABEL` dump returns it.
//!
//! The kernel keeps the table as a list ordered by precedence (longer prefixes first, and an
//! entry bound to an interface before an unbound one of the same length) and dumps it in that
//! order, so the first entry of a dump that matches an address gives its label.

use std::net::IpAddr;

use zerocopy::byteorder::native_endian::U32;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout, Unaligned};

use super::attr::{AttrPayload, AttrWriter, Attrs, attrs_len, ip_octets};
use super::{Emit, Error, Family, Result, add_len};

#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
struct RawIfAddrLblMsg {
    ifal_family: u8,
    ifal_reserved: u8,
    ifal_prefixlen: u8,
    ifal_flags: u8,
    ifal_index: U32,
    ifal_seq: U32,
}

pub const IFADDRLBLMSG_LEN: usize = 12;
const _: () = assert!(size_of::<RawIfAddrLblMsg>() == IFADDRLBLMSG_LEN);

pub const RTM_NEWADDRLABEL: u16 = 72;
pub const RTM_DELADDRLABEL: u16 = 73;
pub const RTM_GETADDRLABEL: u16 = 74;

pub const IFAL_ADDRESS: u16 = 1;
pub const IFAL_LABEL: u16 = 2;

/// One address-label message. `index` 0 means "any interface"; `seq` is the table's change
/// counter, the same in every message of one dump.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddrLabelMessage {
    pub family: Family,
    pub prefixlen: u8,
    pub flags: u8,
    pub ifindex: u32,
    pub seq: u32,
    /// `IFAL_ADDRESS`: the prefix, host bits cleared by the kernel.
    pub address: Option<IpAddr>,
    /// `IFAL_LABEL`.
    pub label: Option<u32>,
}

impl AddrLabelMessage {
    /// The dump request: every header field zero but the family, as strict checking requires.
    pub fn dump_request() -> Self {
        AddrLabelMessage {
            family: Family::Inet6,
            prefixlen: 0,
            flags: 0,
            ifindex: 0,
            seq: 0,
            address: None,
            label: None,
        }
    }

    /// Reads a message payload; its attributes run to its end.
    pub fn parse(payload: &[u8]) -> Result<(AddrLabelMessage, &[u8])> {
        let (raw, attrs) = RawIfAddrLblMsg::ref_from_prefix(payload)
            .map_err(|_| Error::truncated("ifaddrlblmsg", IFADDRLBLMSG_LEN, payload.len()))?;
        let family = Family::from(raw.ifal_family);
        let mut message = AddrLabelMessage {
            family,
            prefixlen: raw.ifal_prefixlen,
            flags: raw.ifal_flags,
            ifindex: raw.ifal_index.get(),
            seq: raw.ifal_seq.get(),
            address: None,
            label: None,
        };
        for attr in Attrs::new(attrs) {
            let attr = attr?;
            match attr.attr_type() {
                IFAL_ADDRESS => message.address = Some(attr.ip(family, "IFAL_ADDRESS")?),
                IFAL_LABEL => message.label = Some(attr.u32("IFAL_LABEL")?),
                _ => {}
            }
        }
        Ok((message, &[]))
    }

    fn attrs(&self) -> impl Iterator<Item = (u16, AttrPayload<'static>)> {
        [
            self.address
                .map(|ip| (IFAL_ADDRESS, AttrPayload::Ip(ip_octets(&ip)))),
            self.label
                .map(|label| (IFAL_LABEL, AttrPayload::U32(label))),
        ]
        .into_iter()
        .flatten()
    }
}

impl Emit for AddrLabelMessage {
    fn buffer_len(&self) -> Result<usize> {
        add_len(IFADDRLBLMSG_LEN, attrs_len(self.attrs())?, "ifaddrlblmsg")
    }

    fn emit(&self, buf: &mut [u8]) -> Result<()> {
        let raw = RawIfAddrLblMsg {
            ifal_family: self.family.into(),
            ifal_reserved: 0,
            ifal_prefixlen: self.prefixlen,
            ifal_flags: self.flags,
            ifal_index: U32::new(self.ifindex),
            ifal_seq: U32::new(self.seq),
        };
        let available = buf.len();
        raw.write_to_prefix(buf)
            .map_err(|_| Error::truncated("ifaddrlblmsg", IFADDRLBLMSG_LEN, available))?;
        AttrWriter::new(buf, IFADDRLBLMSG_LEN).put_all(self.attrs())
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::nl::header::{Messages, NLMSG_DONE};
    use crate::nl::strategies::{self, attrs_cut, check_short_buffers, emit_vec};

    /// The default table of a fresh namespace plus
    /// `ip addrlabel add prefix 2001:db8:f1c1:8454::/64 dev venet0 label 100` (venet0 = 2).
    static LABEL_DUMP: &[u8] = include_bytes!("testdata/addrlabel_dump.bin");

    fn labels() -> Vec<AddrLabelMessage> {
        let messages: Vec<_> = Messages::new(LABEL_DUMP).map(Result::unwrap).collect();
        let (done, labels) = messages.split_last().unwrap();
        assert_eq!(done.header.msg_type, NLMSG_DONE);
        labels
            .iter()
            .map(|m| {
                assert_eq!(m.header.msg_type, RTM_NEWADDRLABEL);
                AddrLabelMessage::parse(m.payload).unwrap().0
            })
            .collect()
    }

    #[test]
    fn test_parse_addrlabel_dump() {
        let table: Vec<(String, u8, u32, u32)> = labels()
            .iter()
            .map(|l| {
                assert_eq!(l.family, Family::Inet6);
                assert_eq!((l.flags, l.seq), (0, 11));
                (
                    l.address.unwrap().to_string(),
                    l.prefixlen,
                    l.ifindex,
                    l.label.unwrap(),
                )
            })
            .collect();
        let expected: Vec<(String, u8, u32, u32)> = [
            ("::1", 128, 0, 0),
            ("::", 96, 0, 3),
            ("::ffff:0.0.0.0", 96, 0, 4),
            ("2001:db8:f1c1:8454::", 64, 2, 100),
            ("2001::", 32, 0, 6),
            ("2001:10::", 28, 0, 7),
            ("3ffe::", 16, 0, 12),
            ("2002::", 16, 0, 2),
            ("fec0::", 10, 0, 11),
            ("fc00::", 7, 0, 5),
            ("::", 0, 0, 1),
        ]
        .iter()
        .map(|&(prefix, len, ifindex, label)| (prefix.to_string(), len, ifindex, label))
        .collect();
        assert_eq!(table, expected);
    }

    #[test]
    fn test_emit_addrlabel_dump() {
        // Each message is exactly the header and the two attributes nlsel knows: emit must
        // reproduce the kernel's bytes.
        for message in Messages::new(LABEL_DUMP).map(Result::unwrap) {
            if message.header.msg_type != RTM_NEWADDRLABEL {
                continue;
            }
            let parsed = AddrLabelMessage::parse(message.payload).unwrap().0;
            assert_eq!(emit_vec(&parsed), message.payload);
        }
    }

    #[test]
    fn test_emit_dump_request() {
        let bytes = emit_vec(&AddrLabelMessage::dump_request());
        assert_eq!(bytes, [10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    }

    proptest! {
        #[test]
        fn addrlabel_message_roundtrip(message in strategies::addrlabel_message()) {
            let bytes = emit_vec(&message);
            prop_assert_eq!(AddrLabelMessage::parse(&bytes), Ok((message, &[][..])));
        }

        #[test]
        fn addrlabel_message_emit_into_short_buffers_fails(
            message in strategies::addrlabel_message()
        ) {
            check_short_buffers(&message);
        }

        #[test]
        fn every_truncation_of_an_addrlabel_message_is_exact(
            message in strategies::addrlabel_message()
        ) {
            let bytes = emit_vec(&message);
            for cut in 0..=bytes.len() {
                let parsed = AddrLabelMessage::parse(&bytes[..cut]);
                if cut < IFADDRLBLMSG_LEN {
                    prop_assert_eq!(
                        parsed,
                        Err(Error::truncated("ifaddrlblmsg", IFADDRLBLMSG_LEN, cut))
                    );
                    continue;
                }
                match attrs_cut(&bytes[IFADDRLBLMSG_LEN..], cut - IFADDRLBLMSG_LEN) {
                    Ok(()) => {
                        let emitted = emit_vec(&parsed.unwrap().0);
                        prop_assert_eq!(&emitted[..], &bytes[..cut]);
                    }
                    Err(expected) => prop_assert_eq!(parsed, Err(expected)),
                }
            }
        }

        #[test]
        fn addrlabel_message_with_attributes_never_panics(
            header in any::<[u8; IFADDRLBLMSG_LEN]>(),
            attrs in proptest::collection::vec((0u16..4, strategies::bytes(20)), 0..4),
        ) {
            let bytes = strategies::header_and_attrs(&header, &attrs);
            if let Ok((message, _)) = AddrLabelMessage::parse(&bytes) {
                let emitted = emit_vec(&message);
                prop_assert_eq!(AddrLabelMessage::parse(&emitted), Ok((message, &[][..])));
            }
        }
    }
}
