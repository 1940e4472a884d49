//! Every captured kernel reply in `testdata/` (written by `tools/capture.py`) read as a stream
//! of messages: each parses, the messages tile the capture, and re-emitting them gives the
//! capture back byte for byte. The object files test their own captures' contents.

use super::header::{
    Message, Messages, NLMSG_DONE, NLMSG_ERROR, NLMSG_HDRLEN, NlmFlags, RTM_NEWADDR, RTM_NEWLINK,
    RTM_NEWROUTE, emit_message,
};
use super::strategies::{Bytes, GUARD};
use super::{Error, Result};

/// The port the capture's main socket was bound to, echoed in every reply.
const CAPTURE_PID: u32 = 0x6e6c7331;

/// A capture's name, its bytes, and the (type, nlmsg_len, seq) of each of its messages.
type Capture = (&'static str, &'static [u8], &'static [(u16, u32, u32)]);

/// The port of the fresh socket that `error_extack_uncapped.bin` was read from.
const UNCAPPED_PID: u32 = 0x6e6c7332;

/// Every capture, with the messages `tools/capture.py --decode` lists for it.
const CAPTURES: &[Capture] = &[
    (
        "addr_dump_v6.bin",
        include_bytes!("testdata/addr_dump_v6.bin"),
        &[
            (RTM_NEWADDR, 80, 1),
            (RTM_NEWADDR, 72, 1),
            (RTM_NEWADDR, 72, 1),
            (RTM_NEWADDR, 72, 1),
            (RTM_NEWADDR, 80, 1),
            (RTM_NEWADDR, 80, 1),
            (NLMSG_DONE, 20, 1),
        ],
    ),
    (
        "addr_dump_v6_deprecated.bin",
        include_bytes!("testdata/addr_dump_v6_deprecated.bin"),
        &[
            (RTM_NEWADDR, 80, 6),
            (RTM_NEWADDR, 72, 6),
            (RTM_NEWADDR, 72, 6),
            (RTM_NEWADDR, 72, 6),
            (RTM_NEWADDR, 80, 6),
            (RTM_NEWADDR, 80, 6),
            (NLMSG_DONE, 20, 6),
        ],
    ),
    (
        "addr_dump_v4.bin",
        include_bytes!("testdata/addr_dump_v4.bin"),
        &[
            (RTM_NEWADDR, 76, 2),
            (RTM_NEWADDR, 84, 2),
            (NLMSG_DONE, 20, 2),
        ],
    ),
    (
        "link_dump.bin",
        include_bytes!("testdata/link_dump.bin"),
        &[
            (RTM_NEWLINK, 1468, 3),
            (RTM_NEWLINK, 1496, 3),
            (RTM_NEWLINK, 1496, 3),
            (NLMSG_DONE, 20, 3),
        ],
    ),
    (
        "route_get_v6.bin",
        include_bytes!("testdata/route_get_v6.bin"),
        &[(RTM_NEWROUTE, 156, 4)],
    ),
    (
        "route_get_v6_ack.bin",
        include_bytes!("testdata/route_get_v6_ack.bin"),
        &[(NLMSG_ERROR, 36, 4)],
    ),
    (
        "route_get_v6_deprecated.bin",
        include_bytes!("testdata/route_get_v6_deprecated.bin"),
        &[(RTM_NEWROUTE, 156, 7)],
    ),
    (
        "newaddr_ack.bin",
        include_bytes!("testdata/newaddr_ack.bin"),
        &[(NLMSG_ERROR, 36, 5)],
    ),
    (
        "error_extack.bin",
        include_bytes!("testdata/error_extack.bin"),
        &[(NLMSG_ERROR, 96, 8)],
    ),
    (
        "error_extack_uncapped.bin",
        include_bytes!("testdata/error_extack_uncapped.bin"),
        &[(NLMSG_ERROR, 128, 1)],
    ),
    (
        "done_with_errno.bin",
        include_bytes!("testdata/done_with_errno.bin"),
        &[(NLMSG_DONE, 80, 9)],
    ),
];

fn capture_pid(name: &str) -> u32 {
    if name == "error_extack_uncapped.bin" {
        UNCAPPED_PID
    } else {
        CAPTURE_PID
    }
}

#[test]
fn test_parse_every_capture() {
    for (name, bytes, expected) in CAPTURES {
        let messages: Vec<Message<'_>> = Messages::new(bytes)
            .collect::<Result<_>>()
            .unwrap_or_else(|error| panic!("{name}: {error}"));
        let found: Vec<_> = messages
            .iter()
            .map(|m| (m.header.msg_type, m.header.len, m.header.seq))
            .collect();
        assert_eq!(&found, expected, "{name}");
        for message in &messages {
            assert_eq!(message.header.pid, capture_pid(name), "{name}");
            assert_eq!(
                message.payload.len() + NLMSG_HDRLEN,
                message.header.len as usize
            );
        }
        let total: usize = messages
            .iter()
            .map(|m| Message::buffer_len(m.payload.len()).unwrap())
            .sum();
        assert_eq!(
            total,
            bytes.len(),
            "{name}: messages do not tile the buffer"
        );
    }
}

#[test]
fn test_parse_flags_of_captures() {
    let dump = include_bytes!("testdata/addr_dump_v6.bin");
    assert!(Messages::new(dump).all(|m| m.unwrap().header.flags == NlmFlags::MULTI));
    let (ack, _) = Message::parse(include_bytes!("testdata/newaddr_ack.bin")).unwrap();
    assert_eq!(ack.header.flags, NlmFlags::CAPPED);
    let (error, _) = Message::parse(include_bytes!("testdata/error_extack.bin")).unwrap();
    assert_eq!(error.header.flags, NlmFlags::CAPPED | NlmFlags::ACK_TLVS);
    let (done, _) = Message::parse(include_bytes!("testdata/done_with_errno.bin")).unwrap();
    assert_eq!(done.header.flags, NlmFlags::MULTI | NlmFlags::ACK_TLVS);
    let (route, _) = Message::parse(include_bytes!("testdata/route_get_v6.bin")).unwrap();
    assert_eq!(route.header.flags, NlmFlags::empty());
}

#[test]
fn test_emit_header_of_captures() {
    for (name, bytes, _) in CAPTURES {
        for message in Messages::new(bytes) {
            let message = message.unwrap();
            let mut buf = [0xa5u8; NLMSG_HDRLEN + GUARD];
            message.header.emit(&mut buf).unwrap();
            let at = message.payload.as_ptr() as usize - bytes.as_ptr() as usize;
            let captured = &bytes[at - NLMSG_HDRLEN..at];
            assert_eq!(&buf[..NLMSG_HDRLEN], captured, "{name}");
            assert!(buf[NLMSG_HDRLEN..].iter().all(|&b| b == 0xa5));
        }
    }
}

#[test]
fn test_emit_message_reproduces_captures() {
    // emit_message always sends port 0, as user space must; the kernel's replies carry ours.
    for (name, bytes, _) in CAPTURES {
        let mut rebuilt = Vec::new();
        for message in Messages::new(bytes) {
            let message = message.unwrap();
            let body = Bytes(message.payload);
            let len = Message::buffer_len(message.payload.len()).unwrap();
            let mut buf = vec![0xa5u8; len + GUARD];
            let written = emit_message(
                &mut buf,
                message.header.msg_type,
                message.header.flags,
                message.header.seq,
                &body,
            )
            .unwrap();
            assert_eq!(written, len);
            assert!(buf[len..].iter().all(|&b| b == 0xa5), "{name}");
            buf[12..16].copy_from_slice(&capture_pid(name).to_ne_bytes());
            rebuilt.extend_from_slice(&buf[..len]);
        }
        assert_eq!(&rebuilt[..], *bytes, "{name}");
    }
}

#[test]
fn messages_stop_after_a_truncated_message() {
    let bytes = include_bytes!("testdata/addr_dump_v4.bin");
    let cut = &bytes[..100]; // inside the second message (76..160)
    let items: Vec<_> = Messages::new(cut).collect();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0].as_ref().unwrap().header.len, 76);
    assert_eq!(items[1], Err(Error::truncated("netlink message", 84, 24)));
}

#[test]
fn unpadded_last_message_is_accepted() {
    // The final message of a buffer may lack its padding: its rest is simply empty.
    let mut buf = [0u8; 21];
    buf[0] = 21;
    let (message, rest) = Message::parse(&buf).unwrap();
    assert_eq!(message.payload, &[0; 5]);
    assert!(rest.is_empty());
}

#[test]
fn huge_length_is_truncated_not_overflowing() {
    let mut buf = [0u8; 16];
    buf[..4].copy_from_slice(&u32::MAX.to_ne_bytes());
    assert_eq!(
        Message::parse(&buf),
        Err(Error::truncated("netlink message", u32::MAX as usize, 16))
    );
}
