//! `struct nhmsg` with `NHA_ID`, `NHA_GROUP` and `NHA_OIF`: a nexthop object (5.3), asked for
//! by id (`RTM_GETNEXTHOP`) when a route names one (`RTA_NH_ID`). For a group the kernel takes
//! the source from its first member's device (`nexthop_fib6_nh`), whatever path a packet takes.

use zerocopy::byteorder::native_endian::U32;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout, Unaligned};

use super::{Family, nl_object};

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

nl_object! {
    /// One nexthop message.
    #[derive(Debug, Clone, PartialEq, Eq, Default)]
    pub struct NexthopMessage: RawNhMsg, "nhmsg", NHMSG_LEN {
        pub family: Family = nh_family,
        pub scope: u8 = nh_scope,
        pub protocol: u8 = nh_protocol,
        pub flags: u32 = nh_flags,
    }
    attributes {
        NHA_ID = 1, U32 => pub id: u32,
        /// `NHA_GROUP` as the kernel sent it, an array of `struct nexthop_grp { u32 id;
        /// u8 weight; u8 resvd1; u16 resvd2; }`; [`NexthopMessage::first_member`] reads it.
        NHA_GROUP = 2, Raw => pub group: Vec<u8>,
        NHA_OIF = 5, U32 => pub oif: u32,
    }
}

impl NexthopMessage {
    /// The request for nexthop `id`: every header field zero, as the kernel requires.
    pub fn get(id: u32) -> Self {
        NexthopMessage {
            id: Some(id),
            ..NexthopMessage::default()
        }
    }

    /// The id of a group's first member; `None` for a single nexthop or an empty group.
    pub fn first_member(&self) -> Option<u32> {
        let (id, _) = U32::read_from_prefix(self.group.as_deref()?).ok()?;
        Some(id.get())
    }
}

#[cfg(test)]
mod tests {

    use super::*;

    use crate::nl::header::Message;
    use crate::nl::strategies::emit_vec;

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
}
