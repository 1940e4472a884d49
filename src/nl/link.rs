//! `struct ifinfomsg` with `IFLA_IFNAME`: what nlsel needs of a link is its index and its name.

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

    /// Reads a message payload; its attributes run to its end.
    pub fn parse(payload: &'a [u8]) -> Result<(LinkMessage<'a>, &'a [u8])> {
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
        Ok((message, &[]))
    }

    fn attrs(&self) -> impl Iterator<Item = (u16, AttrPayload<'a>)> {
        self.name
            .map(|name| (IFLA_IFNAME, AttrPayload::CStr(name)))
            .into_iter()
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
    use crate::nl::attr::Attr;
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
    fn test_emit_link_dump() {
        // A dump carries some forty attributes nlsel skips; what it keeps must come back.
        for link in links() {
            let bytes = emit_vec(&link);
            assert_eq!(
                bytes.len(),
                IFINFOMSG_LEN + Attr::len_for(link.name.unwrap().len() + 1).unwrap()
            );
            assert_eq!(LinkMessage::parse(&bytes), Ok((link, &[][..])));
        }
        let lo = emit_vec(&links()[0]);
        assert_eq!(&lo[IFINFOMSG_LEN..], [7, 0, 3, 0, b'l', b'o', 0, 0]);
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
        let link = LinkMessage::parse(&payload).unwrap().0;
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
                    Ok(()) => {
                        let (parsed, _) = parsed.unwrap();
                        prop_assert_eq!(parsed.name.is_some(), cut > IFINFOMSG_LEN);
                        prop_assert_eq!(parsed, LinkMessage { name: parsed.name, ..link });
                        if cut > IFINFOMSG_LEN {
                            prop_assert_eq!(parsed, link);
                        }
                    }
                    Err(expected) => prop_assert_eq!(parsed, Err(expected)),
                }
            }
        }

        #[test]
        fn link_message_parse_never_panics(bytes in strategies::bytes(96)) {
            if let Ok((link, _)) = LinkMessage::parse(&bytes) {
                let emitted = emit_vec(&link);
                prop_assert_eq!(LinkMessage::parse(&emitted), Ok((link, &[][..])));
            }
        }
    }
}
