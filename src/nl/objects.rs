//! The contract every [`Object`] keeps, checked for each through the trait rather than once per
//! file: emit → parse gives the object back with nothing left over; every buffer shorter than
//! `buffer_len()` is refused; every truncation of the emitted bytes gives the exact framing error
//! of what it cuts, or a prefix of the attributes; and whatever bytes parse emit and parse again
//! to the same value.
//!
//! The strategies leak what they generate, so the objects and their bytes are `'static`.

use std::fmt::Debug;

use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

use super::addr::AddrMessage;
use super::addrlabel::AddrLabelMessage;
use super::error::ExtAck;
use super::link::LinkMessage;
use super::nexthop::NexthopMessage;
use super::route::RouteMessage;
use super::strategies::{self, attrs_cut, check_short_buffers, emit_vec, leak};
use super::{Error, Object};

/// Emits `object` and parses it back, then cuts the emitted bytes at every length.
fn check_object<T>(object: &T) -> Result<(), TestCaseError>
where
    T: Object<'static> + PartialEq + Debug,
{
    let bytes = leak(emit_vec(object));
    let (parsed, rest) = T::parse(bytes).map_err(|error| TestCaseError::fail(error.to_string()))?;
    prop_assert_eq!(&parsed, object);
    prop_assert!(rest.is_empty());
    check_short_buffers(object);
    for cut in 0..=bytes.len() {
        let parsed = T::parse(&bytes[..cut]);
        if cut < T::HEADER_LEN {
            prop_assert_eq!(
                parsed.err(),
                Some(Error::truncated(T::NAME, T::HEADER_LEN, cut))
            );
            continue;
        }
        match attrs_cut(&bytes[T::HEADER_LEN..], cut - T::HEADER_LEN) {
            // Whole attributes survive: the object keeps a prefix of its attributes, and a
            // last one cut in its padding (a port, a string) is emitted whole again.
            Ok(()) => {
                let emitted = emit_vec(&parsed.unwrap().0);
                prop_assert_eq!(&emitted[..], &bytes[..cut.next_multiple_of(4)]);
            }
            Err(expected) => prop_assert_eq!(parsed.err(), Some(expected)),
        }
    }
    Ok(())
}

/// Whatever `bytes` hold, parsing gives an error or an object that emits and parses again to
/// itself.
fn check_parse<T>(bytes: &'static [u8]) -> Result<(), TestCaseError>
where
    T: Object<'static> + PartialEq + Debug,
{
    if let Ok((object, _)) = T::parse(bytes) {
        let emitted = leak(emit_vec(&object));
        prop_assert_eq!(T::parse(emitted).ok(), Some((object, &[][..])));
    }
    Ok(())
}

/// [`check_parse`] for every object.
fn check_parse_all(bytes: &'static [u8]) -> Result<(), TestCaseError> {
    check_parse::<AddrMessage<'_>>(bytes)?;
    check_parse::<LinkMessage<'_>>(bytes)?;
    check_parse::<RouteMessage>(bytes)?;
    check_parse::<NexthopMessage>(bytes)?;
    check_parse::<AddrLabelMessage>(bytes)?;
    check_parse::<ExtAck<'_>>(bytes)
}

proptest! {
    #[test]
    fn addr_message_keeps_the_contract(object in strategies::addr_message()) {
        check_object(&object)?;
    }

    #[test]
    fn link_message_keeps_the_contract(object in strategies::link_message()) {
        check_object(&object)?;
    }

    #[test]
    fn route_message_keeps_the_contract(object in strategies::route_message()) {
        check_object(&object)?;
    }

    #[test]
    fn nexthop_message_keeps_the_contract(object in strategies::nexthop_message()) {
        check_object(&object)?;
    }

    #[test]
    fn addrlabel_message_keeps_the_contract(object in strategies::addrlabel_message()) {
        check_object(&object)?;
    }

    #[test]
    fn ext_ack_keeps_the_contract(object in strategies::ext_ack()) {
        check_object(&object)?;
    }

    #[test]
    fn any_payload_parses_or_fails_cleanly(bytes in strategies::bytes(160)) {
        check_parse_all(leak(bytes))?;
    }

    #[test]
    fn any_attributes_parse_or_fail_cleanly(
        header in any::<[u8; 16]>(),
        attrs in proptest::collection::vec((0u16..56, strategies::bytes(20)), 0..8),
    ) {
        // Past a header of any length up to the longest, attributes of every type an object
        // reads, with payloads of any size: each reaches its typed reader.
        for header_len in [0, 8, 12, 16] {
            check_parse_all(leak(strategies::header_and_attrs(&header[..header_len], &attrs)))?;
        }
    }
}
