//! `struct nlmsghdr` and the message stream it frames.
//!
//! A receive buffer holds one or more messages, each a 16-byte header whose `nlmsg_len` covers
//! header and payload, padded to 4 bytes. [`Messages`] walks such a buffer and stops for good at
//! the first malformed header, so a corrupt length can never make it read a neighbour's bytes.

use bitflags::bitflags;
use zerocopy::byteorder::native_endian::{U16, U32};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout, Unaligned};

use super::{Emit, Error, Result, align4, field_mut, split};

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

    pub const fn buffer_len() -> usize {
        NLMSG_HDRLEN
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
        if len < NLMSG_HDRLEN {
            return Err(Error::length_too_small(
                "netlink message",
                len,
                NLMSG_HDRLEN,
            ));
        }
        let (whole, _) = split(bytes, len, "netlink message")?;
        let (_, payload) = split(whole, NLMSG_HDRLEN, "netlink message")?;
        // The kernel pads every message, but the last one in a buffer may end without padding.
        let next = align4(len).ok_or(Error::too_long("netlink message", len))?;
        let rest = bytes.get(next..).unwrap_or_default();
        Ok((Message { header, payload }, rest))
    }

    /// Bytes taken by a message with `payload_len` bytes of payload, padding included.
    pub fn buffer_len(payload_len: usize) -> Option<usize> {
        align4(NLMSG_HDRLEN.checked_add(payload_len)?)
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
    let body_len = body.buffer_len();
    let len = NLMSG_HDRLEN
        .checked_add(body_len)
        .ok_or(Error::too_long("netlink message", body_len))?;
    let padded = align4(len).ok_or(Error::too_long("netlink message", len))?;
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
pub struct Messages<'a> {
    rest: &'a [u8],
    failed: bool,
}

impl<'a> Messages<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Messages {
            rest: bytes,
            failed: false,
        }
    }
}

impl<'a> Iterator for Messages<'a> {
    type Item = Result<Message<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.rest.is_empty() {
            return None;
        }
        match Message::parse(self.rest) {
            Ok((message, rest)) => {
                self.rest = rest;
                Some(Ok(message))
            }
            Err(error) => {
                self.failed = true;
                Some(Err(error))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Bytes<'b>(&'b [u8]);
    impl Emit for Bytes<'_> {
        fn buffer_len(&self) -> usize {
            self.0.len()
        }
        fn emit(&self, buf: &mut [u8]) -> Result<()> {
            field_mut(buf, 0, self.0.len(), "test body")?.copy_from_slice(self.0);
            Ok(())
        }
    }

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
}
