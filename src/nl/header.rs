//! `struct nlmsghdr` and the message stream it frames.
//!
//! A receive buffer holds one or more messages, each a 16-byte header whose `nlmsg_len` covers
//! header and payload, padded to 4 bytes. [`Messages`] walks such a buffer and stops for good at
//! the first malformed header, so a corrupt length can never make it read a neighbour's bytes.

use bitflags::bitflags;
use zerocopy::byteorder::native_endian::{U16, U32};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout, Unaligned};

use super::{Emit, Error, Records, Result, add_len, field_mut, padded_len, split, split_record};

#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
struct RawNlMsgHdr {
    nlmsg_len: U32,
    nlmsg_type: U16,
    nlmsg_flags: U16,
    nlmsg_seq: U32,
    nlmsg_pid: U32,
}

pub const NLMSG_HDRLEN: usize = 16;
const _: () = assert!(size_of::<RawNlMsgHdr>() == NLMSG_HDRLEN);

pub const NLMSG_NOOP: u16 = 1;
pub const NLMSG_ERROR: u16 = 2;
pub const NLMSG_DONE: u16 = 3;
pub const NLMSG_OVERRUN: u16 = 4;

pub const RTM_NEWLINK: u16 = 16;
pub const RTM_DELLINK: u16 = 17;
pub const RTM_GETLINK: u16 = 18;
pub const RTM_NEWADDR: u16 = 20;
pub const RTM_DELADDR: u16 = 21;
pub const RTM_GETADDR: u16 = 22;
pub const RTM_NEWROUTE: u16 = 24;
pub const RTM_DELROUTE: u16 = 25;
pub const RTM_GETROUTE: u16 = 26;

/// The NETLINK_ROUTE multicast groups nlsel joins (`RTNLGRP_*` in `<linux/rtnetlink.h>`), as
/// NETLINK_ADD_MEMBERSHIP numbers them.
pub const RTNLGRP_LINK: u32 = 1;
pub const RTNLGRP_IPV4_IFADDR: u32 = 5;
pub const RTNLGRP_IPV6_IFADDR: u32 = 9;

bitflags! {
    /// `nlmsg_flags`. The upper byte means different things for GET, NEW and ACK messages, so
    /// several names share a bit, as in `<linux/netlink.h>`.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct NlmFlags: u16 {
        const REQUEST = 0x01;
        const MULTI = 0x02;
        const ACK = 0x04;
        const ECHO = 0x08;
        const DUMP_INTR = 0x10;
        const DUMP_FILTERED = 0x20;
        // Modifiers to GET requests.
        const ROOT = 0x100;
        const MATCH = 0x200;
        const ATOMIC = 0x400;
        const DUMP = 0x300;
        // Modifiers to NEW requests.
        const REPLACE = 0x100;
        const EXCL = 0x200;
        const CREATE = 0x400;
        const APPEND = 0x800;
        // Flags of an ACK (NLMSG_ERROR).
        const CAPPED = 0x100;
        const ACK_TLVS = 0x200;
    }
}

/// A decoded `nlmsghdr`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// `nlmsg_len`: header plus payload, without trailing padding.
    pub len: u32,
    pub msg_type: u16,
    pub flags: NlmFlags,
    pub seq: u32,
    /// Sender port in kernel replies is the receiver's; user space cannot forge the source
    /// address, which is why the socket checks that, not this field.
    pub pid: u32,
}

impl Header {
    /// Reads a header from the front of `bytes`. The length field is not checked here.
    pub fn parse(bytes: &[u8]) -> Result<(Header, &[u8])> {
        let (raw, rest) = RawNlMsgHdr::ref_from_prefix(bytes)
            .map_err(|_| Error::truncated("netlink message header", NLMSG_HDRLEN, bytes.len()))?;
        let header = Header {
            len: raw.nlmsg_len.get(),
            msg_type: raw.nlmsg_type.get(),
            flags: NlmFlags::from_bits_retain(raw.nlmsg_flags.get()),
            seq: raw.nlmsg_seq.get(),
            pid: raw.nlmsg_pid.get(),
        };
        Ok((header, rest))
    }

    /// Writes the header as it is, `len` included.
    pub fn emit(&self, buf: &mut [u8]) -> Result<()> {
        let raw = RawNlMsgHdr {
            nlmsg_len: U32::new(self.len),
            nlmsg_type: U16::new(self.msg_type),
            nlmsg_flags: U16::new(self.flags.bits()),
            nlmsg_seq: U32::new(self.seq),
            nlmsg_pid: U32::new(self.pid),
        };
        let available = buf.len();
        raw.write_to_prefix(buf)
            .map_err(|_| Error::truncated("netlink message header", NLMSG_HDRLEN, available))
    }
}

/// One message of a stream: its header and the payload `nlmsg_len` covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Message<'a> {
    pub header: Header,
    pub payload: &'a [u8],
}

impl<'a> Message<'a> {
    /// Reads one message and returns the bytes after it and its padding.
    pub fn parse(bytes: &'a [u8]) -> Result<(Message<'a>, &'a [u8])> {
        let (header, _) = Header::parse(bytes)?;
        let len = header.len as usize;
        let (whole, rest) = split_record(bytes, len, NLMSG_HDRLEN, "netlink message")?;
        let (_, payload) = split(whole, NLMSG_HDRLEN, "netlink message")?;
        Ok((Message { header, payload }, rest))
    }

    /// Bytes taken by a message with `payload_len` bytes of payload, padding included.
    pub fn buffer_len(payload_len: usize) -> Result<usize> {
        padded_len(
            add_len(NLMSG_HDRLEN, payload_len, "netlink message")?,
            "netlink message",
        )
    }
}

/// Writes a whole message: `header` with its `len` computed from `body`, then `body`, then
/// zeroed padding. Returns the bytes written.
pub fn emit_message(
    buf: &mut [u8],
    msg_type: u16,
    flags: NlmFlags,
    seq: u32,
    body: &dyn Emit,
) -> Result<usize> {
    let body_len = body.buffer_len()?;
    let len = add_len(NLMSG_HDRLEN, body_len, "netlink message")?;
    let padded = padded_len(len, "netlink message")?;
    let len32 = u32::try_from(len).map_err(|_| Error::too_long("netlink message", len))?;
    let out = field_mut(buf, 0, padded, "netlink message")?;
    let header = Header {
        len: len32,
        msg_type,
        flags,
        seq,
        pid: 0,
    };
    header.emit(out)?;
    body.emit(field_mut(out, NLMSG_HDRLEN, body_len, "netlink message")?)?;
    field_mut(out, len, padded.saturating_sub(len), "netlink message")?.fill(0);
    Ok(padded)
}

/// Iterates over the messages of a receive buffer; after the first error it yields nothing more.
pub type Messages<'a> = Records<'a, Message<'a>>;

impl<'a> Messages<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Records::walk(bytes, Message::parse)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emit_pads_and_sets_len() {
        let mut buf = [0xa5u8; 32];
        let flags = NlmFlags::REQUEST | NlmFlags::ACK;
        let written =
            emit_message(&mut buf, RTM_GETADDR, flags, 7, &Bytes(&[1, 2, 3, 4, 5])).unwrap();
        assert_eq!(written, 24);
        let (message, rest) = Message::parse(&buf[..written]).unwrap();
        assert_eq!(message.header.len, 21);
        assert_eq!(message.header.msg_type, RTM_GETADDR);
        assert_eq!(message.header.flags, flags);
        assert_eq!(message.header.seq, 7);
        assert_eq!(message.payload, &[1, 2, 3, 4, 5]);
        assert_eq!(&buf[21..24], &[0, 0, 0]);
        assert_eq!(buf[24], 0xa5, "wrote past the padded length");
        assert!(rest.is_empty());
    }

    #[test]
    fn emit_into_short_buffer_is_an_error() {
        let mut buf = [0u8; 20];
        let result = emit_message(&mut buf, RTM_GETADDR, NlmFlags::REQUEST, 1, &Bytes(&[0; 8]));
        assert_eq!(result, Err(Error::truncated("netlink message", 24, 20)));
    }

    #[test]
    fn length_below_header_is_rejected() {
        let mut buf = [0u8; 16];
        buf[0] = 15;
        assert_eq!(
            Message::parse(&buf),
            Err(Error::length_too_small("netlink message", 15, NLMSG_HDRLEN))
        );
    }

    #[test]
    fn length_past_buffer_is_truncated() {
        let mut buf = [0u8; 20];
        buf[0] = 40;
        assert_eq!(
            Message::parse(&buf),
            Err(Error::truncated("netlink message", 40, 20))
        );
    }

    #[test]
    fn every_short_header_is_truncated() {
        let buf = [0u8; NLMSG_HDRLEN];
        for len in 0..NLMSG_HDRLEN {
            assert_eq!(
                Message::parse(&buf[..len]),
                Err(Error::truncated(
                    "netlink message header",
                    NLMSG_HDRLEN,
                    len
                ))
            );
        }
    }

    #[test]
    fn iterator_stops_after_error() {
        let mut buf = vec![0u8; 40];
        buf[0] = 16; // a valid empty message
        buf[16] = 3; // then a broken one
        let items: Vec<_> = Messages::new(&buf).collect();
        assert_eq!(items.len(), 2);
        assert!(items[0].is_ok());
        assert!(items[1].is_err());
    }

    use super::super::addr::AddrMessage;
    use super::super::error::{DoneMessage, ErrorMessage};
    use super::super::link::LinkMessage;
    use super::super::route::RouteMessage;
    use super::super::strategies::{self, Bytes, GUARD};
    use crate::nl::ErrorKind;
    use proptest::prelude::*;

    /// A body emitted through `emit_message`, with `flags` the body needs, parsed back by type.
    fn frame(msg_type: u16, flags: NlmFlags, seq: u32, body: &dyn Emit, junk: &[u8]) -> Vec<u8> {
        let len = Message::buffer_len(body.buffer_len().unwrap()).unwrap();
        let mut buf = vec![0xa5u8; len + GUARD];
        assert_eq!(emit_message(&mut buf, msg_type, flags, seq, body), Ok(len));
        assert!(
            buf[len..].iter().all(|&b| b == 0xa5),
            "wrote past the message"
        );
        buf.truncate(len);
        buf.extend_from_slice(junk);
        buf
    }

    /// Parses what `frame` built and checks the header and the leftover.
    fn unframe<'b>(
        bytes: &'b [u8],
        msg_type: u16,
        flags: NlmFlags,
        seq: u32,
        body_len: usize,
        junk: &[u8],
    ) -> &'b [u8] {
        let (message, rest) = Message::parse(bytes).unwrap();
        assert_eq!(
            message.header,
            Header {
                len: u32::try_from(NLMSG_HDRLEN + body_len).unwrap(),
                msg_type,
                flags,
                seq,
                pid: 0,
            }
        );
        assert_eq!(rest, junk);
        message.payload
    }

    proptest! {
        #[test]
        fn header_roundtrip(header in strategies::header(), junk in strategies::junk()) {
            let mut buf = vec![0xa5u8; NLMSG_HDRLEN];
            header.emit(&mut buf).unwrap();
            buf.extend_from_slice(&junk);
            let (parsed, rest) = Header::parse(&buf).unwrap();
            prop_assert_eq!(parsed, header);
            prop_assert_eq!(rest, &junk[..]);
        }

        #[test]
        fn raw_payload_roundtrip(
            msg_type in any::<u16>(),
            flags in strategies::nlm_flags(),
            seq in any::<u32>(),
            payload in strategies::bytes(64),
            junk in strategies::junk(),
        ) {
            let bytes = frame(msg_type, flags, seq, &Bytes(&payload), &junk);
            let parsed = unframe(&bytes, msg_type, flags, seq, payload.len(), &junk);
            prop_assert_eq!(parsed, &payload[..]);
            let padding = &bytes[NLMSG_HDRLEN + payload.len()..bytes.len() - junk.len()];
            prop_assert!(padding.iter().all(|&b| b == 0), "padding is not zero");
        }

        #[test]
        fn addr_message_roundtrip(
            body in strategies::addr_message(),
            seq in any::<u32>(),
            junk in strategies::junk(),
        ) {
            let flags = NlmFlags::REQUEST | NlmFlags::ACK | NlmFlags::REPLACE;
            let bytes = frame(RTM_NEWADDR, flags, seq, &body, &junk);
            let payload = unframe(&bytes, RTM_NEWADDR, flags, seq, body.buffer_len().unwrap(), &junk);
            prop_assert_eq!(AddrMessage::parse(payload), Ok((body, &[][..])));
        }

        #[test]
        fn link_message_roundtrip(
            body in strategies::link_message(),
            seq in any::<u32>(),
            junk in strategies::junk(),
        ) {
            let bytes = frame(RTM_NEWLINK, NlmFlags::MULTI, seq, &body, &junk);
            let payload =
                unframe(&bytes, RTM_NEWLINK, NlmFlags::MULTI, seq, body.buffer_len().unwrap(), &junk);
            prop_assert_eq!(LinkMessage::parse(payload), Ok((body, &[][..])));
        }

        #[test]
        fn route_message_roundtrip(
            body in strategies::route_message(),
            seq in any::<u32>(),
            junk in strategies::junk(),
        ) {
            let flags = NlmFlags::REQUEST;
            let bytes = frame(RTM_GETROUTE, flags, seq, &body, &junk);
            let payload = unframe(&bytes, RTM_GETROUTE, flags, seq, body.buffer_len().unwrap(), &junk);
            prop_assert_eq!(RouteMessage::parse(payload), Ok((body, &[][..])));
        }

        #[test]
        fn error_message_roundtrip(
            body in strategies::error_message(),
            seq in any::<u32>(),
            junk in strategies::junk(),
        ) {
            let flags = body.nlm_flags();
            let bytes = frame(NLMSG_ERROR, flags, seq, &body, &junk);
            let payload = unframe(&bytes, NLMSG_ERROR, flags, seq, body.buffer_len().unwrap(), &junk);
            prop_assert_eq!(ErrorMessage::parse(flags, payload), Ok((body, &[][..])));
        }

        #[test]
        fn done_message_roundtrip(
            body in strategies::done_message(),
            seq in any::<u32>(),
            junk in strategies::junk(),
        ) {
            let flags = strategies::done_flags(&body);
            let bytes = frame(NLMSG_DONE, flags, seq, &body, &junk);
            let payload = unframe(&bytes, NLMSG_DONE, flags, seq, body.buffer_len().unwrap(), &junk);
            prop_assert_eq!(DoneMessage::parse(flags, payload), Ok((body, &[][..])));
        }

        #[test]
        fn messages_walks_a_stream_of_emitted_messages(
            bodies in proptest::collection::vec(strategies::addr_message(), 0..6),
            done in strategies::done_message(),
        ) {
            let mut stream = Vec::new();
            for (seq, body) in (0u32..).zip(&bodies) {
                stream.extend(frame(RTM_NEWADDR, NlmFlags::MULTI, seq, body, &[]));
            }
            stream.extend(frame(NLMSG_DONE, strategies::done_flags(&done), 99, &done, &[]));
            let messages: Vec<_> = Messages::new(&stream).collect::<Result<_>>().unwrap();
            prop_assert_eq!(messages.len(), bodies.len() + 1);
            for ((seq, body), message) in (0u32..).zip(&bodies).zip(&messages) {
                prop_assert_eq!(message.header.seq, seq);
                prop_assert_eq!(AddrMessage::parse(message.payload), Ok((*body, &[][..])));
            }
            let last = messages.last().unwrap();
            prop_assert_eq!(DoneMessage::parse(last.header.flags, last.payload), Ok((done, &[][..])));
        }

        #[test]
        fn every_truncation_of_a_message_is_exact(
            body in strategies::addr_message(),
            junk in strategies::junk(),
        ) {
            let bytes = frame(RTM_NEWADDR, NlmFlags::MULTI, 1, &body, &junk);
            let len = NLMSG_HDRLEN + body.buffer_len().unwrap();
            for cut in 0..len {
                let expected = if cut < NLMSG_HDRLEN {
                    Error::truncated("netlink message header", NLMSG_HDRLEN, cut)
                } else {
                    Error::truncated("netlink message", len, cut)
                };
                let error = Message::parse(&bytes[..cut]).unwrap_err();
                prop_assert_eq!(&error, &expected);
                let truncated = matches!(error.kind(), ErrorKind::Truncated { .. });
                prop_assert!(truncated);
                // The iterator reports the same error, then nothing more.
                let mut messages = Messages::new(&bytes[..cut]);
                if cut > 0 {
                    prop_assert_eq!(messages.next(), Some(Err(expected)));
                }
                prop_assert_eq!(messages.next(), None);
            }
            // From its length on, the message parses; the rest is what follows its padding.
            for cut in len..bytes.len() {
                let (message, rest) = Message::parse(&bytes[..cut]).unwrap();
                prop_assert_eq!(message.payload.len(), body.buffer_len().unwrap());
                let padded = Message::buffer_len(body.buffer_len().unwrap()).unwrap();
                prop_assert_eq!(rest, bytes.get(padded..cut).unwrap_or_default());
            }
        }

        #[test]
        fn message_parse_never_panics(bytes in strategies::bytes(128)) {
            if let Ok((message, rest)) = Message::parse(&bytes) {
                prop_assert!(message.header.len as usize >= NLMSG_HDRLEN);
                prop_assert_eq!(message.payload.len() + NLMSG_HDRLEN, message.header.len as usize);
                prop_assert!(rest.len() + message.header.len as usize <= bytes.len());
            }
        }

        #[test]
        fn messages_never_panic_and_stop_after_an_error(bytes in strategies::bytes(256)) {
            let mut messages = Messages::new(&bytes);
            let mut consumed = 0usize;
            while let Some(item) = messages.next() {
                match item {
                    Ok(message) => consumed += message.header.len as usize,
                    Err(_) => {
                        prop_assert!(messages.next().is_none());
                        break;
                    }
                }
            }
            prop_assert!(consumed <= bytes.len());
        }

        #[test]
        fn valid_header_lengths_frame_any_stream(
            payloads in proptest::collection::vec(strategies::bytes(24), 0..8),
        ) {
            // Whatever the payloads hold, correct lengths alone decide the framing.
            let mut stream = Vec::new();
            for payload in &payloads {
                stream.extend(frame(NLMSG_NOOP, NlmFlags::empty(), 0, &Bytes(payload), &[]));
            }
            let parsed: Vec<_> = Messages::new(&stream)
                .map(|m| m.map(|m| m.payload.to_vec()))
                .collect::<Result<_>>()
                .unwrap();
            prop_assert_eq!(parsed, payloads);
        }
    }
}
