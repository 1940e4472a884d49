//! parse → emit → parse gives back what the first parse gave, for every message that parses.
//!
//! The comparison is against the first parse, not the input bytes: the emitter drops attributes
//! nlsel does not know, writes a repeated attribute once (the parser keeps the last), ends a
//! label at its first NUL, and computes every length and padding byte itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nlsel::nl::addr::AddrMessage;
use nlsel::nl::addrlabel::{AddrLabelMessage, RTM_NEWADDRLABEL};
use nlsel::nl::attr::{Attr, Attrs};
use nlsel::nl::error::{DoneMessage, ErrorMessage, ExtAck};
use nlsel::nl::header::{
    Header, Message, Messages, NLMSG_DONE, NLMSG_ERROR, NlmFlags, RTM_DELADDR, RTM_NEWADDR,
    RTM_NEWLINK, RTM_NEWROUTE, emit_message,
};
use nlsel::nl::link::LinkMessage;
use nlsel::nl::nexthop::{NexthopMessage, RTM_NEWNEXTHOP};
use nlsel::nl::route::RouteMessage;
use nlsel::nl::{Emit, ErrorKind, Object};

/// Bytes past `buffer_len()` that `emit` must leave alone.
const GUARD: usize = 8;

/// Emits `body` into a buffer of exactly `buffer_len()` bytes (plus an untouched guard).
/// `None` when a parsed string is one byte too long to take its NUL back within `rta_len`.
fn emit_body(body: &dyn Emit) -> Option<Vec<u8>> {
    let len = body.buffer_len().unwrap();
    let mut buf = vec![0xa5; len + GUARD];
    match body.emit(&mut buf[..len]) {
        Ok(()) => {}
        Err(error) if matches!(error.kind(), ErrorKind::TooLong { .. }) => return None,
        Err(error) => panic!("emit into buffer_len() bytes failed: {error}"),
    }
    assert!(
        buf[len..].iter().all(|&b| b == 0xa5),
        "emit wrote past buffer_len()"
    );
    buf.truncate(len);
    Some(buf)
}

/// The same body framed as a whole message: the header must come back as written.
fn check_framing(msg_type: u16, flags: NlmFlags, seq: u32, body: &dyn Emit, body_bytes: &[u8]) {
    let mut buf = vec![0xa5; body_bytes.len() + 16 + 3 + GUARD];
    let written = emit_message(&mut buf, msg_type, flags, seq, body).expect("emit_message");
    assert!(
        buf[written..].iter().all(|&b| b == 0xa5),
        "emit_message wrote past its length"
    );
    let (message, rest) = Message::parse(&buf[..written]).expect("reparse of emitted message");
    assert!(rest.is_empty());
    assert_eq!(message.header.msg_type, msg_type);
    assert_eq!(message.header.flags, flags);
    assert_eq!(message.header.seq, seq);
    assert_eq!(message.header.pid, 0);
    assert_eq!(message.payload, body_bytes);
}

fn roundtrip_attrs(bytes: &[u8]) {
    for attr in Attrs::new(bytes) {
        let Ok(attr) = attr else { break };
        let mut buf = vec![0xa5; attr.buffer_len().unwrap() + GUARD];
        attr.emit(&mut buf[..attr.buffer_len().unwrap()])
            .expect("emit of a parsed attribute");
        assert!(buf[attr.buffer_len().unwrap()..].iter().all(|&b| b == 0xa5));
        let (again, rest) =
            Attr::parse(&buf[..attr.buffer_len().unwrap()]).expect("reparse of attribute");
        assert_eq!(again, attr);
        assert!(rest.is_empty());
    }
}

/// parse → emit → parse of `payload` as the [`Object`] `$object` (a macro, not a generic
/// function: the second parse borrows from a local buffer, so it has a shorter lifetime), then
/// the same through `emit_message`.
macro_rules! roundtrip_object {
    ($object:ident, $header:expr, $payload:expr) => {{
        let header: Header = $header;
        let payload: &[u8] = $payload;
        roundtrip_attrs(
            payload
                .get(<$object as Object>::HEADER_LEN..)
                .unwrap_or_default(),
        );
        if let Ok((first, _)) = $object::parse(payload)
            && let Some(bytes) = emit_body(&first)
        {
            let second = $object::parse(&bytes)
                .expect("reparse of an emitted object")
                .0;
            assert_eq!(second, first);
            check_framing(header.msg_type, header.flags, header.seq, &first, &bytes);
        }
    }};
}

fn roundtrip(message: &Message<'_>) {
    let header = message.header;
    let payload = message.payload;
    match header.msg_type {
        NLMSG_ERROR => {
            let Ok((first, _)) = ErrorMessage::parse(header.flags, payload) else {
                return;
            };
            let Some(bytes) = emit_body(&first) else {
                return;
            };
            let flags = first.nlm_flags();
            let second = ErrorMessage::parse(flags, &bytes)
                .expect("reparse of nlmsgerr")
                .0;
            assert_eq!(second, first);
            check_framing(NLMSG_ERROR, flags, header.seq, &first, &bytes);
        }
        NLMSG_DONE => {
            let Ok((first, _)) = DoneMessage::parse(header.flags, payload) else {
                return;
            };
            let Some(bytes) = emit_body(&first) else {
                return;
            };
            let flags = if first.ext_ack.is_empty() {
                NlmFlags::MULTI
            } else {
                NlmFlags::MULTI | NlmFlags::ACK_TLVS
            };
            let second = DoneMessage::parse(flags, &bytes)
                .expect("reparse of NLMSG_DONE")
                .0;
            assert_eq!(second, first);
            check_framing(NLMSG_DONE, flags, header.seq, &first, &bytes);
        }
        RTM_NEWADDR | RTM_DELADDR => roundtrip_object!(AddrMessage, header, payload),
        RTM_NEWLINK => roundtrip_object!(LinkMessage, header, payload),
        RTM_NEWROUTE => roundtrip_object!(RouteMessage, header, payload),
        RTM_NEWADDRLABEL => roundtrip_object!(AddrLabelMessage, header, payload),
        RTM_NEWNEXTHOP => roundtrip_object!(NexthopMessage, header, payload),
        _ => {
            // An extended ack has no header, so any payload reads as one.
            roundtrip_object!(ExtAck, header, payload);
            roundtrip_attrs(payload);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    for message in Messages::new(data) {
        let Ok(message) = message else { break };
        roundtrip(&message);
    }
});
