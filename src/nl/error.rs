//! `struct nlmsgerr` (NLMSG_ERROR, which is also the ACK) and the errno that ends a dump
//! (NLMSG_DONE), both with the extended-ack attributes the kernel appends when asked.
//!
//! Layout of an NLMSG_ERROR payload: the negative errno as an `int`, the request's header, the
//! rest of the request unless the kernel set `NLM_F_CAPPED`, then, if `NLM_F_ACK_TLVS` is set,
//! attributes such as `NLMSGERR_ATTR_MSG` (a text explaining the error).
//!
//! Kernels before 4.12 have neither flag: a success ACK (and, from 4.3 under
//! `NETLINK_CAP_ACK`, an error too) echoes only the request's header, and its message simply
//! ends there. Such an ACK parses as capped.

use zerocopy::byteorder::native_endian::I32;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout, Unaligned};

use super::header::{Header, NLMSG_HDRLEN, NlmFlags};
use super::{Emit, Error, Result, add_len, field_mut, nl_object, padded_len, split};

pub const NLMSGERR_ATTR_COOKIE: u16 = 3;
pub const NLMSGERR_ATTR_POLICY: u16 = 4;
pub const NLMSGERR_ATTR_MISS_NEST: u16 = 6;

const ERRNO_LEN: usize = 4;

/// The extended-ack attributes follow the errno and the echoed request with no header of
/// their own. (Without one there is no family either: none of them is an address.)
#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
struct NoHeader {}

nl_object! {
    /// The extended-ack attributes nlsel reports, which run to the end of the message.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
    pub struct ExtAck<'a>: NoHeader, "extended ack", EXT_ACK_HEADER_LEN {}
    attributes {
        /// `NLMSGERR_ATTR_MSG`, without its NUL.
        NLMSGERR_ATTR_MSG = 1, CStr => pub msg: &'a [u8],
        /// `NLMSGERR_ATTR_OFFS`: offset of the offending attribute in the request.
        NLMSGERR_ATTR_OFFS = 2, U32 => pub offset: u32,
        /// `NLMSGERR_ATTR_MISS_TYPE`: the attribute type the kernel missed.
        NLMSGERR_ATTR_MISS_TYPE = 5, U32 => pub missing_type: u32,
    }
}

const EXT_ACK_HEADER_LEN: usize = 0;

impl<'a> ExtAck<'a> {
    pub fn is_empty(&self) -> bool {
        *self == ExtAck::default()
    }

    /// The attributes of a message whose header `flags` say it has them (`NLM_F_ACK_TLVS`).
    fn parse_if(flags: NlmFlags, tlvs: &'a [u8]) -> Result<ExtAck<'a>> {
        if flags.contains(NlmFlags::ACK_TLVS) {
            Ok(ExtAck::parse(tlvs)?.0)
        } else {
            Ok(ExtAck::default())
        }
    }
}

fn parse_errno<'a>(payload: &'a [u8], what: &'static str) -> Result<(i32, &'a [u8])> {
    let (errno, rest) = I32::read_from_prefix(payload)
        .map_err(|_| Error::truncated(what, ERRNO_LEN, payload.len()))?;
    Ok((errno.get(), rest))
}

/// An NLMSG_ERROR message: an ACK when `error` is 0, a failure otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorMessage<'a> {
    /// The kernel's `-errno`, or 0 for an ACK.
    pub error: i32,
    /// The header of the request this answers; its `seq` ties the two together.
    pub request: Header,
    /// The rest of the request, or `None` when the kernel capped it (`NLM_F_CAPPED`, or a
    /// kernel before 4.12 that echoed the header alone).
    pub request_payload: Option<&'a [u8]>,
    pub ext_ack: ExtAck<'a>,
}

impl<'a> ErrorMessage<'a> {
    /// Reads the payload of an NLMSG_ERROR whose header carried `flags`.
    pub fn parse(flags: NlmFlags, payload: &'a [u8]) -> Result<(ErrorMessage<'a>, &'a [u8])> {
        let (error, rest) = parse_errno(payload, "nlmsgerr")?;
        let (request, after_header) = Header::parse(rest)
            .map_err(|_| Error::truncated("nlmsgerr", ERRNO_LEN + NLMSG_HDRLEN, payload.len()))?;
        let (request_payload, tlvs) = if flags.contains(NlmFlags::CAPPED) {
            (None, after_header)
        } else {
            let request_len = request.len as usize;
            let body_len = request_len
                .checked_sub(NLMSG_HDRLEN)
                .ok_or(Error::length_too_small(
                    "nlmsgerr request",
                    request_len,
                    NLMSG_HDRLEN,
                ))?;
            // Capped without saying so: before 4.12 no flag existed, and `netlink_ack` (3.10
            // to 4.2: `memcpy(&errmsg->msg, nlh, err ? nlh->nlmsg_len : sizeof(*nlh))`; 4.3
            // to 4.11 also for an error under NETLINK_CAP_ACK) echoed only the header, whose
            // length still counts the whole request. Those kernels wrote no TLVs either.
            if after_header.is_empty() && body_len > 0 && !flags.contains(NlmFlags::ACK_TLVS) {
                (None, after_header)
            } else {
                let (body, _) = split(after_header, body_len, "nlmsgerr request")?;
                let tlv_start = padded_len(
                    add_len(ERRNO_LEN, request_len, "nlmsgerr request")?,
                    "nlmsgerr request",
                )?;
                (Some(body), payload.get(tlv_start..).unwrap_or_default())
            }
        };
        let ext_ack = ExtAck::parse_if(flags, tlvs)?;
        let message = ErrorMessage {
            error,
            request,
            request_payload,
            ext_ack,
        };
        Ok((message, &[]))
    }

    /// The positive errno, or `None` for an ACK.
    pub fn errno(&self) -> Option<i32> {
        (self.error != 0).then(|| self.error.saturating_neg())
    }

    /// The header flags a message carrying this payload must have.
    pub fn nlm_flags(&self) -> NlmFlags {
        let mut flags = NlmFlags::empty();
        if self.request_payload.is_none() {
            flags |= NlmFlags::CAPPED;
        }
        if !self.ext_ack.is_empty() {
            flags |= NlmFlags::ACK_TLVS;
        }
        flags
    }

    fn request_area_len(&self) -> Result<usize> {
        let body = self.request_payload.map_or(0, <[u8]>::len);
        padded_len(
            add_len(NLMSG_HDRLEN, body, "nlmsgerr request")?,
            "nlmsgerr request",
        )
    }
}

impl Emit for ErrorMessage<'_> {
    fn buffer_len(&self) -> Result<usize> {
        let tlv_start = add_len(ERRNO_LEN, self.request_area_len()?, "nlmsgerr")?;
        add_len(tlv_start, self.ext_ack.buffer_len()?, "nlmsgerr")
    }

    fn emit(&self, buf: &mut [u8]) -> Result<()> {
        field_mut(buf, 0, ERRNO_LEN, "nlmsgerr")?.copy_from_slice(&self.error.to_ne_bytes());
        let area_len = self.request_area_len()?;
        let area = field_mut(buf, ERRNO_LEN, area_len, "nlmsgerr")?;
        area.fill(0);
        // An echoed request's length covers what is echoed; a capped one keeps the original's.
        let request = match self.request_payload {
            Some(body) => {
                let len = add_len(NLMSG_HDRLEN, body.len(), "nlmsgerr request")?;
                let len =
                    u32::try_from(len).map_err(|_| Error::too_long("nlmsgerr request", len))?;
                Header {
                    len,
                    ..self.request
                }
            }
            None => self.request,
        };
        request.emit(area)?;
        if let Some(body) = self.request_payload {
            field_mut(area, NLMSG_HDRLEN, body.len(), "nlmsgerr request")?.copy_from_slice(body);
        }
        let tlv_start = add_len(ERRNO_LEN, area_len, "nlmsgerr")?;
        let tlvs = field_mut(buf, tlv_start, self.ext_ack.buffer_len()?, "nlmsgerr")?;
        self.ext_ack.emit(tlvs)
    }
}

/// The payload of NLMSG_DONE: the dump's final errno, 0 when it completed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DoneMessage<'a> {
    pub error: i32,
    pub ext_ack: ExtAck<'a>,
}

impl<'a> DoneMessage<'a> {
    pub fn parse(flags: NlmFlags, payload: &'a [u8]) -> Result<(DoneMessage<'a>, &'a [u8])> {
        let (error, rest) = parse_errno(payload, "NLMSG_DONE errno")?;
        let ext_ack = ExtAck::parse_if(flags, rest)?;
        Ok((DoneMessage { error, ext_ack }, &[]))
    }

    pub fn errno(&self) -> Option<i32> {
        (self.error != 0).then(|| self.error.saturating_neg())
    }
}

impl Emit for DoneMessage<'_> {
    fn buffer_len(&self) -> Result<usize> {
        add_len(ERRNO_LEN, self.ext_ack.buffer_len()?, "NLMSG_DONE")
    }

    fn emit(&self, buf: &mut [u8]) -> Result<()> {
        field_mut(buf, 0, ERRNO_LEN, "NLMSG_DONE errno")?
            .copy_from_slice(&self.error.to_ne_bytes());
        let tlvs = field_mut(buf, ERRNO_LEN, self.ext_ack.buffer_len()?, "NLMSG_DONE")?;
        self.ext_ack.emit(tlvs)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::nl::attr::Attr;
    use crate::nl::header::{Message, NLMSG_DONE, NLMSG_ERROR, RTM_GETROUTE, RTM_NEWADDR};
    use crate::nl::route::RouteMessage;
    use crate::nl::strategies::{self, GUARD, attrs_cut, check_short_buffers, emit_vec};
    use crate::nl::{Emit, Family};

    static NEWADDR_ACK: &[u8] = include_bytes!("testdata/newaddr_ack.bin");
    static ERROR_EXTACK: &[u8] = include_bytes!("testdata/error_extack.bin");
    static ERROR_EXTACK_UNCAPPED: &[u8] = include_bytes!("testdata/error_extack_uncapped.bin");
    static DONE_WITH_ERRNO: &[u8] = include_bytes!("testdata/done_with_errno.bin");
    static ADDR_DUMP_V4: &[u8] = include_bytes!("testdata/addr_dump_v4.bin");

    const GET_ROUTE_TEXT: &[u8] = b"ipv6: Invalid values in header for get route request";
    const ADDR_DUMP_TEXT: &[u8] = b"ipv6: Invalid values in header for address dump request";

    fn only_message(bytes: &[u8]) -> Message<'_> {
        let (message, rest) = Message::parse(bytes).unwrap();
        assert!(rest.is_empty());
        message
    }

    fn error_message(bytes: &[u8]) -> ErrorMessage<'_> {
        let message = only_message(bytes);
        assert_eq!(message.header.msg_type, NLMSG_ERROR);
        let parsed = ErrorMessage::parse(message.header.flags, message.payload)
            .unwrap()
            .0;
        assert_eq!(parsed.nlm_flags(), message.header.flags);
        parsed
    }

    /// The request both error captures answer: RTM_GETROUTE | REQUEST | ACK, 48 bytes.
    fn get_route_header(seq: u32) -> Header {
        Header {
            len: 48,
            msg_type: RTM_GETROUTE,
            flags: NlmFlags::REQUEST | NlmFlags::ACK,
            seq,
            pid: 0,
        }
    }

    #[test]
    fn test_parse_newaddr_ack() {
        let message = only_message(NEWADDR_ACK);
        assert_eq!(message.header.flags, NlmFlags::CAPPED);
        assert_eq!(message.header.seq, 5);
        let ack = error_message(NEWADDR_ACK);
        assert_eq!(
            ack,
            ErrorMessage {
                error: 0,
                request: Header {
                    len: 72,
                    msg_type: RTM_NEWADDR,
                    flags: NlmFlags::REQUEST | NlmFlags::ACK | NlmFlags::REPLACE,
                    seq: 5,
                    pid: 0,
                },
                request_payload: None,
                ext_ack: ExtAck::default(),
            }
        );
        assert_eq!(ack.errno(), None);
        assert_eq!(ack.request.seq, message.header.seq);
    }

    #[test]
    fn test_parse_error_extack() {
        let message = only_message(ERROR_EXTACK);
        assert_eq!(message.header.flags, NlmFlags::CAPPED | NlmFlags::ACK_TLVS);
        let error = error_message(ERROR_EXTACK);
        assert_eq!(error.error, -libc::EINVAL);
        assert_eq!(error.errno(), Some(libc::EINVAL));
        assert_eq!(error.request, get_route_header(8));
        assert_eq!(error.request_payload, None);
        assert_eq!(
            error.ext_ack,
            ExtAck {
                msg: Some(GET_ROUTE_TEXT),
                offset: None,
                missing_type: None,
            }
        );
    }

    #[test]
    fn test_parse_error_extack_uncapped() {
        let message = only_message(ERROR_EXTACK_UNCAPPED);
        assert_eq!(message.header.flags, NlmFlags::ACK_TLVS);
        assert_eq!(message.header.seq, 1);
        let error = error_message(ERROR_EXTACK_UNCAPPED);
        assert_eq!(error.errno(), Some(libc::EINVAL));
        assert_eq!(error.request, get_route_header(1));
        assert_eq!(error.ext_ack.msg, Some(GET_ROUTE_TEXT));
        // The whole request is echoed: the rtmsg with table=254 that strict checking refused.
        let echoed = error.request_payload.unwrap();
        assert_eq!(echoed.len(), 48 - 16);
        let request = RouteMessage::parse(echoed).unwrap().0;
        assert_eq!(request.family, Family::Inet6);
        assert_eq!((request.dst_len, request.table), (128, 254));
        assert_eq!(request.dst, Some("2001:db8:9f16:8fc7::9".parse().unwrap()));
    }

    #[test]
    fn test_parse_done_with_errno() {
        let message = only_message(DONE_WITH_ERRNO);
        assert_eq!(message.header.msg_type, NLMSG_DONE);
        assert_eq!(message.header.flags, NlmFlags::MULTI | NlmFlags::ACK_TLVS);
        let done = DoneMessage::parse(message.header.flags, message.payload)
            .unwrap()
            .0;
        assert_eq!(done.error, -libc::EINVAL);
        assert_eq!(done.errno(), Some(libc::EINVAL));
        assert_eq!(done.ext_ack.msg, Some(ADDR_DUMP_TEXT));
        assert_eq!(
            (done.ext_ack.offset, done.ext_ack.missing_type),
            (None, None)
        );
        // Without NLM_F_ACK_TLVS the same bytes are only an errno.
        let bare = DoneMessage::parse(NlmFlags::MULTI, message.payload)
            .unwrap()
            .0;
        assert_eq!(bare.error, -libc::EINVAL);
        assert!(bare.ext_ack.is_empty());
    }

    #[test]
    fn test_parse_done_of_a_dump() {
        let done = &ADDR_DUMP_V4[160..];
        let message = only_message(done);
        let done = DoneMessage::parse(message.header.flags, message.payload)
            .unwrap()
            .0;
        assert_eq!(
            done,
            DoneMessage {
                error: 0,
                ext_ack: ExtAck::default()
            }
        );
        assert_eq!(done.errno(), None);
    }

    #[test]
    fn test_emit_is_byte_exact() {
        for bytes in [NEWADDR_ACK, ERROR_EXTACK, ERROR_EXTACK_UNCAPPED] {
            let message = only_message(bytes);
            let parsed = error_message(bytes);
            assert_eq!(parsed.buffer_len().unwrap(), message.payload.len());
            assert_eq!(emit_vec(&parsed), message.payload);
        }
        let message = only_message(DONE_WITH_ERRNO);
        let done = DoneMessage::parse(message.header.flags, message.payload)
            .unwrap()
            .0;
        assert_eq!(done.buffer_len().unwrap(), message.payload.len());
        assert_eq!(emit_vec(&done), message.payload);
    }

    #[test]
    fn ext_ack_reads_offset_and_missing_type() {
        let ext_ack = ExtAck {
            msg: Some(b"missing attribute"),
            offset: Some(36),
            missing_type: Some(1),
        };
        let mut bytes = vec![0xa5u8; ext_ack.buffer_len().unwrap() + GUARD];
        ext_ack.emit(&mut bytes).unwrap();
        bytes.truncate(ext_ack.buffer_len().unwrap());
        // An attribute nlsel does not read, in between, is skipped.
        bytes.extend([8, 0, NLMSGERR_ATTR_COOKIE as u8, 0, 1, 2, 3, 4]);
        assert_eq!(ExtAck::parse(&bytes), Ok((ext_ack, &[][..])));
        let short_offset = [6, 0, NLMSGERR_ATTR_OFFS as u8, 0, 1, 2, 0, 0];
        assert_eq!(
            ExtAck::parse(&short_offset),
            Err(Error::bad_payload_length("NLMSGERR_ATTR_OFFS", 4, 2))
        );
    }

    #[test]
    fn uncapped_request_shorter_than_a_header_is_rejected() {
        let mut payload = vec![0xea, 0xff, 0xff, 0xff];
        payload.extend([8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(
            ErrorMessage::parse(NlmFlags::empty(), &payload),
            Err(Error::length_too_small("nlmsgerr request", 8, NLMSG_HDRLEN))
        );
        // Capped, the echoed length is only a number.
        assert!(ErrorMessage::parse(NlmFlags::CAPPED, &payload).is_ok());
    }

    /// What parsing an emitted `ErrorMessage` cut to `cut` bytes must give.
    /// An echoed request's length counts what is echoed, whatever the header it was given
    /// says; a capped one keeps the original request's length.
    #[test]
    fn emit_computes_an_echoed_requests_length() {
        let body = [1u8, 2, 3, 4];
        let mut message = ErrorMessage {
            error: -22,
            request: get_route_header(7),
            request_payload: Some(&body),
            ext_ack: ExtAck::default(),
        };
        let echoed_len = |message: &ErrorMessage<'_>| {
            let bytes = emit_vec(message);
            Header::parse(&bytes[ERRNO_LEN..]).unwrap().0.len
        };
        assert_eq!(echoed_len(&message), 20);
        message.request_payload = None;
        assert_eq!(echoed_len(&message), 48);
    }

    fn error_cut(message: &ErrorMessage<'_>, bytes: &[u8], cut: usize) -> Result<()> {
        if cut < ERRNO_LEN {
            return Err(Error::truncated("nlmsgerr", ERRNO_LEN, cut));
        }
        let header_end = ERRNO_LEN + NLMSG_HDRLEN;
        if cut < header_end {
            return Err(Error::truncated("nlmsgerr", header_end, cut));
        }
        let body_len = message.request_payload.map_or(0, <[u8]>::len);
        if message.request_payload.is_some() && cut < header_end + body_len {
            return Err(Error::truncated(
                "nlmsgerr request",
                body_len,
                cut - header_end,
            ));
        }
        let tlv_start = (header_end + body_len).next_multiple_of(4);
        if cut <= tlv_start {
            return Ok(());
        }
        attrs_cut(&bytes[tlv_start..], cut - tlv_start)
    }

    proptest! {
        #[test]
        fn error_message_roundtrip(
            message in strategies::error_message(),
            other_flags in any::<u16>(),
        ) {
            let bytes = emit_vec(&message);
            let flags = message.nlm_flags();
            prop_assert_eq!(ErrorMessage::parse(flags, &bytes), Ok((message, &[][..])));
            // Only CAPPED and ACK_TLVS change how the payload reads.
            let other = NlmFlags::from_bits_retain(other_flags & !0x300);
            prop_assert_eq!(ErrorMessage::parse(flags | other, &bytes), Ok((message, &[][..])));
        }

        #[test]
        fn error_message_emit_into_short_buffers_fails(message in strategies::error_message()) {
            check_short_buffers(&message);
        }

        #[test]
        fn every_truncation_of_an_error_message_is_exact(
            message in strategies::error_message(),
        ) {
            let bytes = emit_vec(&message);
            let flags = message.nlm_flags();
            for cut in 0..=bytes.len() {
                let parsed = ErrorMessage::parse(flags, &bytes[..cut]);
                let body_len = message.request_payload.map_or(0, <[u8]>::len);
                if cut == ERRNO_LEN + NLMSG_HDRLEN && body_len > 0 && !flags.contains(NlmFlags::ACK_TLVS) {
                    // Cut right after the echoed header: a pre-4.12 capped ACK.
                    let (parsed, _) = parsed.unwrap();
                    prop_assert_eq!(parsed.request_payload, None);
                    prop_assert_eq!((parsed.error, parsed.request), (message.error, message.request));
                    prop_assert_eq!(&emit_vec(&parsed)[..], &bytes[..cut]);
                    continue;
                }
                match error_cut(&message, &bytes, cut) {
                    Ok(()) => {
                        let (parsed, _) = parsed.unwrap();
                        prop_assert_eq!(parsed.error, message.error);
                        prop_assert_eq!(parsed.request, message.request);
                        prop_assert_eq!(parsed.request_payload, message.request_payload);
                        let emitted = emit_vec(&parsed);
                        prop_assert_eq!(&emitted[..], &bytes[..cut.next_multiple_of(4)]);
                    }
                    Err(expected) => prop_assert_eq!(parsed, Err(expected)),
                }
            }
        }

        #[test]
        fn done_message_roundtrip(done in strategies::done_message()) {
            let bytes = emit_vec(&done);
            prop_assert_eq!(DoneMessage::parse(strategies::done_flags(&done), &bytes), Ok((done, &[][..])));
        }

        #[test]
        fn done_message_emit_into_short_buffers_fails(done in strategies::done_message()) {
            check_short_buffers(&done);
        }

        #[test]
        fn every_truncation_of_a_done_message_is_exact(done in strategies::done_message()) {
            let bytes = emit_vec(&done);
            let flags = strategies::done_flags(&done);
            for cut in 0..=bytes.len() {
                let parsed = DoneMessage::parse(flags, &bytes[..cut]);
                if cut < ERRNO_LEN {
                    prop_assert_eq!(
                        parsed,
                        Err(Error::truncated("NLMSG_DONE errno", ERRNO_LEN, cut))
                    );
                    continue;
                }
                match attrs_cut(&bytes[ERRNO_LEN..], cut - ERRNO_LEN) {
                    Ok(()) => {
                        let emitted = emit_vec(&parsed.unwrap().0);
                        prop_assert_eq!(&emitted[..], &bytes[..cut.next_multiple_of(4)]);
                    }
                    Err(expected) => prop_assert_eq!(parsed, Err(expected)),
                }
            }
        }

        #[test]
        fn ext_ack_roundtrip(ext_ack in strategies::ext_ack(), junk_attr in strategies::attr()) {
            let mut bytes = vec![0xa5u8; ext_ack.buffer_len().unwrap() + GUARD];
            ext_ack.emit(&mut bytes[..ext_ack.buffer_len().unwrap()]).unwrap();
            prop_assert!(bytes[ext_ack.buffer_len().unwrap()..].iter().all(|&b| b == 0xa5));
            bytes.truncate(ext_ack.buffer_len().unwrap());
            prop_assert_eq!(ExtAck::parse(&bytes), Ok((ext_ack, &[][..])));
            // A TLV nlsel does not read, after them, changes nothing.
            let ignored = Attr { kind: NLMSGERR_ATTR_COOKIE, ..junk_attr };
            let mut buf = vec![0u8; ignored.buffer_len().unwrap()];
            ignored.emit(&mut buf).unwrap();
            bytes.extend(buf);
            prop_assert_eq!(ExtAck::parse(&bytes), Ok((ext_ack, &[][..])));
        }

        #[test]
        fn error_message_parse_never_panics(flags in any::<u16>(), bytes in strategies::bytes(128)) {
            let flags = NlmFlags::from_bits_retain(flags);
            if let Ok((message, _)) = ErrorMessage::parse(flags, &bytes) {
                let emitted = emit_vec(&message);
                prop_assert_eq!(ErrorMessage::parse(message.nlm_flags(), &emitted), Ok((message, &[][..])));
            }
        }

        #[test]
        fn error_message_with_tlvs_never_panics(
            flags in any::<u16>(),
            head in strategies::bytes(48),
            tlvs in proptest::collection::vec((0u16..8, strategies::bytes(12)), 0..4),
        ) {
            // Well-framed TLVs of the types ExtAck reads, with payloads of any size.
            let mut bytes = head;
            for (kind, payload) in &tlvs {
                let attr = Attr { kind: *kind, payload };
                let mut buf = vec![0u8; attr.buffer_len().unwrap()];
                attr.emit(&mut buf).unwrap();
                bytes.extend(buf);
            }
            let flags = NlmFlags::from_bits_retain(flags);
            let _ = ErrorMessage::parse(flags, &bytes);
            let _ = DoneMessage::parse(flags, &bytes);
        }

        #[test]
        fn done_message_parse_never_panics(flags in any::<u16>(), bytes in strategies::bytes(64)) {
            let flags = NlmFlags::from_bits_retain(flags);
            if let Ok((done, _)) = DoneMessage::parse(flags, &bytes) {
                let emitted = emit_vec(&done);
                prop_assert_eq!(DoneMessage::parse(strategies::done_flags(&done), &emitted), Ok((done, &[][..])));
            }
        }
    }
}
