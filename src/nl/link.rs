//! `struct ifinfomsg` and the `IFLA_*` attributes that `ip -j addr show` prints for a link:
//! its name, MTU, queueing discipline, master, queue length, operational state, group,
//! hardware addresses, the peer's namespace id, protocol-down state and alternative names.
//! Every other attribute of a dump (statistics, `IFLA_LINKINFO`, `IFLA_AF_SPEC`, ...) is
//! skipped when parsing and never emitted.

use zerocopy::byteorder::native_endian::{U16, U32};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout, Unaligned};

use super::attr::Attrs;
use super::{Family, nl_object};

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

pub const IFLA_ALT_IFNAME: u16 = 53;

nl_object! {
    /// One link message. Names are kept as bytes, not as `str`: the kernel allows any byte but
    /// NUL, '/', ':' and white space in them. Hardware addresses are the kernel's bytes, whose
    /// length depends on the link type (6 for Ethernet, 4 for an IPv4 tunnel, 0 for none).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
    pub struct LinkMessage<'a>: RawIfInfoMsg, "ifinfomsg", IFINFOMSG_LEN {
        pub family: Family = ifi_family,
        /// `ifi_type`, an `ARPHRD_*` value.
        pub link_type: u16 = ifi_type,
        pub ifindex: u32 = ifi_index,
        /// `ifi_flags`, the `IFF_*` bits.
        pub flags: u32 = ifi_flags,
        pub change: u32 = ifi_change,
    }
    attributes {
        /// `IFLA_IFNAME` without its NUL.
        IFLA_IFNAME = 3, CStr => pub name: &'a [u8],
        IFLA_ADDRESS = 1, Raw => pub address: &'a [u8],
        IFLA_BROADCAST = 2, Raw => pub broadcast: &'a [u8],
        IFLA_MTU = 4, U32 => pub mtu: u32,
        /// `IFLA_LINK`: the index of the link this one sits on (a veth's peer, a VLAN's
        /// parent), in the namespace `link_netnsid` names when that is present.
        IFLA_LINK = 5, U32 => pub link: u32,
        IFLA_QDISC = 6, CStr => pub qdisc: &'a [u8],
        IFLA_MASTER = 10, U32 => pub master: u32,
        IFLA_TXQLEN = 13, U32 => pub txqlen: u32,
        /// `IFLA_OPERSTATE`, RFC 2863's `IF_OPER_*`.
        IFLA_OPERSTATE = 16, U8 => pub operstate: u8,
        IFLA_GROUP = 27, U32 => pub group: u32,
        IFLA_LINK_NETNSID = 37, U32 => pub link_netnsid: i32,
        IFLA_PROTO_DOWN = 39, U8 => pub proto_down: u8,
        /// `IFLA_PROP_LIST`'s payload: nested `IFLA_ALT_IFNAME` attributes, checked by `parse`.
        IFLA_PROP_LIST = 52, Nested => pub prop_list: &'a [u8],
        IFLA_PERM_ADDRESS = 54, Raw => pub perm_address: &'a [u8],
    }
}

impl<'a> LinkMessage<'a> {
    /// A request for one link by index (or all links, with index 0 in a dump).
    pub fn by_index(ifindex: u32) -> Self {
        LinkMessage {
            ifindex,
            ..LinkMessage::default()
        }
    }

    /// The alternative names in `IFLA_PROP_LIST`, in the kernel's order.
    pub fn alt_names(&self) -> impl Iterator<Item = &'a [u8]> {
        Attrs::new(self.prop_list.unwrap_or_default())
            .map_while(Result::ok)
            .filter(|attr| attr.attr_type() == IFLA_ALT_IFNAME)
            .map(|attr| attr.c_str())
    }
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::nl::Error;
    use crate::nl::header::{Messages, NLMSG_DONE, RTM_NEWLINK};
    use crate::nl::strategies::emit_vec;

    static LINK_DUMP: &[u8] = include_bytes!("testdata/link_dump.bin");

    fn links() -> Vec<LinkMessage<'static>> {
        let messages: Vec<_> = Messages::new(LINK_DUMP).map(Result::unwrap).collect();
        let (done, links) = messages.split_last().unwrap();
        assert_eq!(done.header.msg_type, NLMSG_DONE);
        links
            .iter()
            .map(|m| {
                assert_eq!(m.header.msg_type, RTM_NEWLINK);
                LinkMessage::parse(m.payload).unwrap().0
            })
            .collect()
    }

    #[test]
    fn test_parse_link_dump() {
        let found: Vec<(u32, &[u8], u16, u32)> = links()
            .iter()
            .map(|l| (l.ifindex, l.name.unwrap(), l.link_type, l.flags))
            .collect();
        assert_eq!(
            found,
            [
                (1, &b"lo"[..], 772, 0x10049),
                (2, &b"venet0"[..], 1, 0x11043),
                (3, &b"venet0p"[..], 1, 0x11043),
            ]
        );
        assert!(links().iter().all(|l| l.family == Family::Unspec));
    }

    #[test]
    fn test_parse_link_level_attributes() {
        // What `ip addr show` printed for this capture (see testdata/README.md).
        let [lo, venet0, venet0p] = links().try_into().unwrap();
        assert_eq!(lo.mtu, Some(65536));
        assert_eq!(lo.qdisc, Some(&b"noqueue"[..]));
        assert_eq!(lo.operstate, Some(0)); // IF_OPER_UNKNOWN
        assert_eq!(lo.group, Some(0));
        assert_eq!(lo.txqlen, Some(1000));
        assert_eq!(lo.address, Some(&[0u8; 6][..]));
        assert_eq!(lo.broadcast, Some(&[0u8; 6][..]));
        assert_eq!(lo.link, None);
        assert_eq!(venet0.mtu, Some(1500));
        assert_eq!(venet0.operstate, Some(6)); // IF_OPER_UP
        assert_eq!(venet0.address, Some(&[2u8, 0, 0, 0, 0, 1][..]));
        assert_eq!(venet0.broadcast, Some(&[0xffu8; 6][..]));
        // A veth names its peer; both ends are in one namespace, so no netnsid.
        assert_eq!((venet0.link, venet0p.link), (Some(3), Some(2)));
        assert_eq!(venet0.link_netnsid, None);
        assert_eq!(venet0p.address, Some(&[2u8, 0, 0, 0, 0, 2][..]));
        for link in [lo, venet0, venet0p] {
            assert_eq!(link.master, None);
            assert_eq!(link.proto_down, Some(0));
            assert_eq!(link.alt_names().count(), 0);
        }
    }

    #[test]
    fn test_emit_link_dump() {
        // A dump carries some forty attributes nlsel skips; what it keeps must come back.
        for link in links() {
            let bytes = emit_vec(&link);
            assert_eq!(LinkMessage::parse(&bytes), Ok((link, &[][..])));
        }
        let lo = emit_vec(&links()[0]);
        assert_eq!(&lo[IFINFOMSG_LEN..][..8], [7, 0, 3, 0, b'l', b'o', 0, 0]);
        // IFLA_MTU 65536 follows the name and the two addresses (12 bytes each with padding).
        assert_eq!(&lo[IFINFOMSG_LEN + 32..][..8], [8, 0, 4, 0, 0, 0, 1, 0]);
    }

    #[test]
    fn alt_names_are_read_from_the_nested_list() {
        let mut payload = vec![0u8; IFINFOMSG_LEN];
        // IFLA_PROP_LIST with NLA_F_NESTED, holding two IFLA_ALT_IFNAME.
        payload.extend([28, 0, 52, 0x80]);
        payload.extend([12, 0, 53, 0, b'e', b'n', b'p', b'1', b's', b'0', 0, 0]);
        payload.extend([12, 0, 53, 0, b'w', b'a', b'n', 0, 0, 0, 0, 0]);
        let (link, _) = LinkMessage::parse(&payload).unwrap();
        let names: Vec<&[u8]> = link.alt_names().collect();
        assert_eq!(names, [&b"enp1s0"[..], &b"wan"[..]]);
    }

    #[test]
    fn a_broken_nested_list_is_an_error() {
        let mut payload = vec![0u8; IFINFOMSG_LEN];
        payload.extend([12, 0, 52, 0x80, 12, 0, 53, 0, b'x', 0, 0, 0]);
        assert_eq!(
            LinkMessage::parse(&payload),
            Err(Error::truncated("attribute", 12, 8))
        );
    }

    #[test]
    fn fixed_size_attributes_check_their_size() {
        let mut payload = vec![0u8; IFINFOMSG_LEN];
        payload.extend([6, 0, 4, 0, 0xdc, 0x05, 0, 0]);
        assert_eq!(
            LinkMessage::parse(&payload),
            Err(Error::bad_payload_length("IFLA_MTU", 4, 2))
        );
    }

    #[test]
    fn test_emit_request() {
        let request = LinkMessage::by_index(0);
        assert_eq!(emit_vec(&request), [0; IFINFOMSG_LEN]);
        let request = LinkMessage::by_index(0x0102_0304);
        assert_eq!(emit_vec(&request)[4..8], 0x0102_0304u32.to_ne_bytes());
    }

    #[test]
    fn name_stops_at_its_nul() {
        let mut payload = vec![0u8; IFINFOMSG_LEN];
        payload.extend([12, 0, 3, 0, b'e', b't', b'h', 0, b'x', b'y', b'z', 0]);
        let (link, _) = LinkMessage::parse(&payload).unwrap();
        assert_eq!(link.name, Some(&b"eth"[..]));
    }
}
