//! `struct ifinfomsg` and the `IFLA_*` attributes that `ip -j addr show` prints for a link:
//! its name, MTU, queueing discipline, master, queue length, operational state, group,
//! hardware addresses, the peer's namespace id, protocol-down state and alternative names.
//! Every other attribute of a dump (statistics, `IFLA_LINKINFO`, `IFLA_AF_SPEC`, ...) is
//! skipped when parsing and never emitted.

use zerocopy::byteorder::native_endian::{U16, U32};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout, Unaligned};

use super::attr::{AttrPayload, AttrWriter, Attrs, attrs_len};
use super::{Emit, Error, Family, Result, add_len};

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

pub const IFLA_ADDRESS: u16 = 1;
pub const IFLA_BROADCAST: u16 = 2;
pub const IFLA_IFNAME: u16 = 3;
pub const IFLA_MTU: u16 = 4;
pub const IFLA_LINK: u16 = 5;
pub const IFLA_QDISC: u16 = 6;
pub const IFLA_MASTER: u16 = 10;
pub const IFLA_TXQLEN: u16 = 13;
pub const IFLA_OPERSTATE: u16 = 16;
pub const IFLA_GROUP: u16 = 27;
pub const IFLA_LINK_NETNSID: u16 = 37;
pub const IFLA_PROTO_DOWN: u16 = 39;
pub const IFLA_PROP_LIST: u16 = 52;
pub const IFLA_ALT_IFNAME: u16 = 53;
pub const IFLA_PERM_ADDRESS: u16 = 54;

/// One link message. Names are kept as bytes, not as `str`: the kernel allows any byte but
/// NUL, '/', ':' and white space in them. Hardware addresses are the kernel's bytes, whose
/// length depends on the link type (6 for Ethernet, 4 for an IPv4 tunnel, 0 for none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkMessage<'a> {
    pub family: Family,
    /// `ifi_type`, an `ARPHRD_*` value.
    pub link_type: u16,
    pub ifindex: u32,
    /// `ifi_flags`, the `IFF_*` bits.
    pub flags: u32,
    pub change: u32,
    /// `IFLA_IFNAME` without its NUL.
    pub name: Option<&'a [u8]>,
    pub address: Option<&'a [u8]>,
    pub broadcast: Option<&'a [u8]>,
    pub mtu: Option<u32>,
    /// `IFLA_LINK`: the index of the link this one sits on (a veth's peer, a VLAN's parent),
    /// in the namespace `link_netnsid` names when that is present.
    pub link: Option<u32>,
    pub qdisc: Option<&'a [u8]>,
    pub master: Option<u32>,
    pub txqlen: Option<u32>,
    /// `IFLA_OPERSTATE`, RFC 2863's `IF_OPER_*`.
    pub operstate: Option<u8>,
    pub group: Option<u32>,
    pub link_netnsid: Option<i32>,
    pub proto_down: Option<u8>,
    /// `IFLA_PROP_LIST`'s payload: nested `IFLA_ALT_IFNAME` attributes, checked by `parse`.
    pub prop_list: Option<&'a [u8]>,
    pub perm_address: Option<&'a [u8]>,
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
            address: None,
            broadcast: None,
            mtu: None,
            link: None,
            qdisc: None,
            master: None,
            txqlen: None,
            operstate: None,
            group: None,
            link_netnsid: None,
            proto_down: None,
            prop_list: None,
            perm_address: None,
        }
    }

    /// Reads a message payload; its attributes run to its end. Unknown attributes are
    /// skipped; a repeated one keeps the last.
    pub fn parse(payload: &'a [u8]) -> Result<(LinkMessage<'a>, &'a [u8])> {
        let (raw, attrs) = RawIfInfoMsg::ref_from_prefix(payload)
            .map_err(|_| Error::truncated("ifinfomsg", IFINFOMSG_LEN, payload.len()))?;
        let mut message = LinkMessage {
            family: Family::from(raw.ifi_family),
            link_type: raw.ifi_type.get(),
            flags: raw.ifi_flags.get(),
            change: raw.ifi_change.get(),
            ..LinkMessage::by_index(raw.ifi_index.get())
        };
        for attr in Attrs::new(attrs) {
            let attr = attr?;
            match attr.attr_type() {
                IFLA_IFNAME => message.name = Some(attr.c_str()),
                IFLA_ADDRESS => message.address = Some(attr.payload),
                IFLA_BROADCAST => message.broadcast = Some(attr.payload),
                IFLA_MTU => message.mtu = Some(attr.u32("IFLA_MTU")?),
                IFLA_LINK => message.link = Some(attr.u32("IFLA_LINK")?),
                IFLA_QDISC => message.qdisc = Some(attr.c_str()),
                IFLA_MASTER => message.master = Some(attr.u32("IFLA_MASTER")?),
                IFLA_TXQLEN => message.txqlen = Some(attr.u32("IFLA_TXQLEN")?),
                IFLA_OPERSTATE => message.operstate = Some(attr.u8("IFLA_OPERSTATE")?),
                IFLA_GROUP => message.group = Some(attr.u32("IFLA_GROUP")?),
                IFLA_LINK_NETNSID => {
                    let id = attr.u32("IFLA_LINK_NETNSID")?;
                    message.link_netnsid = Some(i32::from_ne_bytes(id.to_ne_bytes()));
                }
                IFLA_PROTO_DOWN => message.proto_down = Some(attr.u8("IFLA_PROTO_DOWN")?),
                IFLA_PROP_LIST => {
                    // Checked here, so that `alt_names` cannot fail.
                    for nested in Attrs::new(attr.payload) {
                        nested?;
                    }
                    message.prop_list = Some(attr.payload);
                }
                IFLA_PERM_ADDRESS => message.perm_address = Some(attr.payload),
                _ => {}
            }
        }
        Ok((message, &[]))
    }

    /// The alternative names in `IFLA_PROP_LIST`, in the kernel's order.
    pub fn alt_names(&self) -> impl Iterator<Item = &'a [u8]> {
        Attrs::new(self.prop_list.unwrap_or_default())
            .map_while(Result::ok)
            .filter(|attr| attr.attr_type() == IFLA_ALT_IFNAME)
            .map(|attr| attr.c_str())
    }

    fn attrs(&self) -> impl Iterator<Item = (u16, AttrPayload<'a>)> {
        let raw = |kind, bytes: Option<&'a [u8]>| bytes.map(|b| (kind, AttrPayload::Raw(b)));
        let c_str = |kind, bytes: Option<&'a [u8]>| bytes.map(|b| (kind, AttrPayload::CStr(b)));
        let u32 = |kind, value: Option<u32>| value.map(|v| (kind, AttrPayload::U32(v)));
        let u8 = |kind, value: Option<u8>| value.map(|v| (kind, AttrPayload::U8(v)));
        [
            c_str(IFLA_IFNAME, self.name),
            raw(IFLA_ADDRESS, self.address),
            raw(IFLA_BROADCAST, self.broadcast),
            u32(IFLA_MTU, self.mtu),
            u32(IFLA_LINK, self.link),
            c_str(IFLA_QDISC, self.qdisc),
            u32(IFLA_MASTER, self.master),
            u32(IFLA_TXQLEN, self.txqlen),
            u8(IFLA_OPERSTATE, self.operstate),
            u32(IFLA_GROUP, self.group),
            u32(
                IFLA_LINK_NETNSID,
                self.link_netnsid
                    .map(|id| u32::from_ne_bytes(id.to_ne_bytes())),
            ),
            u8(IFLA_PROTO_DOWN, self.proto_down),
            raw(IFLA_PROP_LIST, self.prop_list),
            raw(IFLA_PERM_ADDRESS, self.perm_address),
        ]
        .into_iter()
        .flatten()
    }
}

impl Emit for LinkMessage<'_> {
    fn buffer_len(&self) -> Result<usize> {
        add_len(IFINFOMSG_LEN, attrs_len(self.attrs())?, "ifinfomsg")
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
        AttrWriter::new(buf, IFINFOMSG_LEN).put_all(self.attrs())
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::nl::header::{Messages, NLMSG_DONE, RTM_NEWLINK};
    use crate::nl::strategies::{self, attrs_cut, check_short_buffers, emit_vec};

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

    proptest! {
        #[test]
        fn link_message_roundtrip(link in strategies::link_message()) {
            let bytes = emit_vec(&link);
            prop_assert_eq!(LinkMessage::parse(&bytes), Ok((link, &[][..])));
        }

        #[test]
        fn link_message_emit_into_short_buffers_fails(link in strategies::link_message()) {
            check_short_buffers(&link);
        }

        #[test]
        fn every_truncation_of_a_link_message_is_exact(link in strategies::link_message()) {
            let bytes = emit_vec(&link);
            for cut in 0..=bytes.len() {
                let parsed = LinkMessage::parse(&bytes[..cut]);
                if cut < IFINFOMSG_LEN {
                    prop_assert_eq!(
                        parsed,
                        Err(Error::truncated("ifinfomsg", IFINFOMSG_LEN, cut))
                    );
                    continue;
                }
                match attrs_cut(&bytes[IFINFOMSG_LEN..], cut - IFINFOMSG_LEN) {
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
        fn link_message_parse_never_panics(bytes in strategies::bytes(160)) {
            if let Ok((link, _)) = LinkMessage::parse(&bytes) {
                let emitted = emit_vec(&link);
                prop_assert_eq!(LinkMessage::parse(&emitted), Ok((link, &[][..])));
            }
        }
    }
}
