//! `struct ifaddrlblmsg` with `IFAL_ADDRESS` and `IFAL_LABEL`: one entry of the kernel's IPv6
//! address-label table (RFC 6724 section 2.1), as an `RTM_GETADDRLABEL` dump returns it.
//!
//! The kernel keeps the table as a list ordered by precedence (longer prefixes first, and an
//! entry bound to an interface before an unbound one of the same length) and dumps it in that
//! order, so the first entry of a dump that matches an address gives its label.

use std::net::IpAddr;

use zerocopy::byteorder::native_endian::U32;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout, Unaligned};

use super::{Family, nl_object};

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

nl_object! {
    /// One address-label message. `index` 0 means "any interface"; `seq` is the table's change
    /// counter, the same in every message of one dump.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
    pub struct AddrLabelMessage: RawIfAddrLblMsg, "ifaddrlblmsg", IFADDRLBLMSG_LEN {
        pub family: Family = ifal_family,
        pub prefixlen: u8 = ifal_prefixlen,
        pub flags: u8 = ifal_flags,
        pub ifindex: u32 = ifal_index,
        pub seq: u32 = ifal_seq,
    }
    attributes {
        /// `IFAL_ADDRESS`: the prefix, host bits cleared by the kernel.
        IFAL_ADDRESS = 1, Ip => pub address: IpAddr,
        IFAL_LABEL = 2, U32 => pub label: u32,
    }
}

impl AddrLabelMessage {
    /// The dump request: every header field zero but the family, as strict checking requires.
    pub fn dump_request() -> Self {
        AddrLabelMessage {
            family: Family::Inet6,
            ..AddrLabelMessage::default()
        }
    }
}

#[cfg(test)]
mod tests {

    use super::*;

    use crate::nl::header::{Messages, NLMSG_DONE};
    use crate::nl::strategies::emit_vec;

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
}
