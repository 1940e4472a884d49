//! `struct nhmsg` with `NHA_ID`, `NHA_GROUP` and `NHA_OIF`: a nexthop object (5.3), asked for
//! by id (`RTM_GETNEXTHOP`) when a route names one (`RTA_NH_ID`). For a group the kernel takes
//! the source from its first member's device (`nexthop_fib6_nh`), whatever path a packet takes.

use zerocopy::byteorder::native_endian::U32;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout, Unaligned};

use super::attr::{AttrPayload, AttrWriter, Attrs, attrs_len};
use super::{Emit, Error, Family, Result, add_len};

#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
struct RawNhMsg {
    nh_family: u8,
    nh_scope: u8,
    nh_protocol: u8,
    resvd: u8,
    nh_flags: U32,
}

pub const NHMSG_LEN: usize = 8;
const _: () = assert!(size_of::<RawNhMsg>() == NHMSG_LEN);

pub const RTM_NEWNEXTHOP: u16 = 104;
pub const RTM_GETNEXTHOP: u16 = 106;

pub const NHA_ID: u16 = 1;
/// An array of `struct nexthop_grp { u32 id; u8 weight; u8 resvd1; u16 resvd2; }`.
pub const NHA_GROUP: u16 = 2;
pub const NHA_OIF: u16 = 5;

/// One nexthop message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NexthopMessage {
    pub family: Family,
    pub scope: u8,
    pub protocol: u8,
    pub flags: u32,
    pub id: Option<u32>,
    /// `NHA_GROUP` as the kernel sent it; [`NexthopMessage::first_member`] reads it.
    pub group: Option<Vec<u8>>,
    pub oif: Option<u32>,
}

impl NexthopMessage {
    /// The request for nexthop `id`: every header field zero, as the kernel requires.
    pub fn get(id: u32) -> Self {
        NexthopMessage {
            family: Family::Unspec,
            scope: 0,
            protocol: 0,
            flags: 0,
            id: Some(id),
            group: None,
            oif: None,
        }
    }

    /// The id of a group's first member; `None` for a single nexthop or an empty group.
    pub fn first_member(&self) -> Option<u32> {
        let (id, _) = U32::read_from_prefix(self.group.as_deref()?).ok()?;
        Some(id.get())
    }

    /// Reads a message payload; its attributes run to its end.
    pub fn parse(payload: &[u8]) -> Result<(NexthopMessage, &[u8])> {
        let (raw, attrs) = RawNhMsg::ref_from_prefix(payload)
            .map_err(|_| Error::truncated("nhmsg", NHMSG_LEN, payload.len()))?;
        let mut message = NexthopMessage {
            family: Family::from(raw.nh_family),
            scope: raw.nh_scope,
            protocol: raw.nh_protocol,
            flags: raw.nh_flags.get(),
            id: None,
            group: None,
            oif: None,
        };
        for attr in Attrs::new(attrs) {
            let attr = attr?;
            match attr.attr_type() {
                NHA_ID => message.id = Some(attr.u32("NHA_ID")?),
                NHA_GROUP => message.group = Some(attr.payload.to_vec()),
                NHA_OIF => message.oif = Some(attr.u32("NHA_OIF")?),
                _ => {}
            }
        }
        Ok((message, &[]))
    }

    fn attrs(&self) -> impl Iterator<Item = (u16, AttrPayload<'_>)> {
        [
            self.id.map(|id| (NHA_ID, AttrPayload::U32(id))),
            self.group
                .as_deref()
                .map(|group| (NHA_GROUP, AttrPayload::Raw(group))),
            self.oif.map(|oif| (NHA_OIF, AttrPayload::U32(oif))),
        ]
        .into_iter()
        .flatten()
    }
}

impl Emit for NexthopMessage {
    fn buffer_len(&self) -> Result<usize> {
        add_len(NHMSG_LEN, attrs_len(self.attrs())?, "nhmsg")
    }

    fn emit(&self, buf: &mut [u8]) -> Result<()> {
        let raw = RawNhMsg {
            nh_family: self.family.into(),
            nh_scope: self.scope,
            nh_protocol: self.protocol,
            resvd: 0,
            nh_flags: U32::new(self.flags),
        };
        let available = buf.len();
        raw.write_to_prefix(buf)
            .map_err(|_| Error::truncated("nhmsg", NHMSG_LEN, available))?;
        AttrWriter::new(buf, NHMSG_LEN).put_all(self.attrs())
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::nl::header::Message;
    use crate::nl::strategies::{self, attrs_cut, check_short_buffers, emit_vec};

    /// `ip -6 nexthop add id 1 via fe80::1 dev venet0` (2), `id 2 via fe80::2 dev venet1` (4),
    /// `ip nexthop add id 10 group 2/1`: the kernel's answers about 10 and 2.
    static GROUP: &[u8] = include_bytes!("testdata/nexthop_get_group.bin");
    static SINGLE: &[u8] = include_bytes!("testdata/nexthop_get_single.bin");

    fn nexthop(bytes: &[u8]) -> NexthopMessage {
        let (message, rest) = Message::parse(bytes).unwrap();
        assert!(rest.is_empty());
        assert_eq!(message.header.msg_type, RTM_NEWNEXTHOP);
        NexthopMessage::parse(message.payload).unwrap().0
    }

    #[test]
    fn test_parse_group_and_member() {
        let group = nexthop(GROUP);
        assert_eq!((group.id, group.oif), (Some(10), None));
        // Members in the order given: 2 first (weight 1 is sent as 0).
        assert_eq!(
            group.group.as_deref(),
            Some(&[2, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0][..])
        );
        assert_eq!(group.first_member(), Some(2));
        let single = nexthop(SINGLE);
        assert_eq!(single.family, Family::Inet6);
        assert_eq!(
            (single.id, single.oif, single.first_member()),
            (Some(2), Some(4), None)
        );
    }

    #[test]
    fn test_emit_get_request_and_known_attributes() {
        // What `ip nexthop get id 10` sends: a zero header and NHA_ID.
        let bytes = emit_vec(&NexthopMessage::get(10));
        assert_eq!(bytes, [0, 0, 0, 0, 0, 0, 0, 0, 8, 0, 1, 0, 10, 0, 0, 0]);
        // The group's header, NHA_ID and NHA_GROUP as the kernel wrote them (it also sends
        // NHA_GROUP_TYPE and flags nlsel skips).
        let emitted = emit_vec(&nexthop(GROUP));
        assert_eq!(emitted[..16], GROUP[16..32]);
        assert_eq!(emitted[16..], GROUP[40..60]);
        assert_eq!(NexthopMessage::first_member(&NexthopMessage::get(1)), None);
    }

    proptest! {
        #[test]
        fn nexthop_message_roundtrip(message in strategies::nexthop_message()) {
            let bytes = emit_vec(&message);
            prop_assert_eq!(NexthopMessage::parse(&bytes), Ok((message, &[][..])));
        }

        #[test]
        fn nexthop_message_emit_into_short_buffers_fails(
            message in strategies::nexthop_message()
        ) {
            check_short_buffers(&message);
        }

        #[test]
        fn every_truncation_of_a_nexthop_message_is_exact(
            message in strategies::nexthop_message()
        ) {
            let bytes = emit_vec(&message);
            for cut in 0..=bytes.len() {
                let parsed = NexthopMessage::parse(&bytes[..cut]);
                if cut < NHMSG_LEN {
                    prop_assert_eq!(parsed, Err(Error::truncated("nhmsg", NHMSG_LEN, cut)));
                    continue;
                }
                match attrs_cut(&bytes[NHMSG_LEN..], cut - NHMSG_LEN) {
                    Ok(()) => {
                        let emitted = emit_vec(&parsed.unwrap().0);
                        prop_assert_eq!(&emitted[..], &bytes[..cut.next_multiple_of(4)]);
                    }
                    Err(expected) => prop_assert_eq!(parsed, Err(expected)),
                }
            }
        }

        #[test]
        fn nexthop_message_with_attributes_never_panics(
            header in any::<[u8; NHMSG_LEN]>(),
            attrs in proptest::collection::vec((0u16..8, strategies::bytes(20)), 0..6),
        ) {
            let bytes = strategies::header_and_attrs(&header, &attrs);
            if let Ok((message, _)) = NexthopMessage::parse(&bytes) {
                let _ = message.first_member();
                let emitted = emit_vec(&message);
                prop_assert_eq!(NexthopMessage::parse(&emitted), Ok((message, &[][..])));
            }
        }
    }
}
