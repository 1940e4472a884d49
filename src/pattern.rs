//! `--except` patterns, matched against addresses by their bits, never by their text.
//!
//! A pattern is either a prefix (`2001:db8::/48`: keep what lies inside) or a host pattern
//! (`::2`: keep the address equal to it, and every address whose host part — the bits after
//! that address's own prefix length — equals it, when it fits in those bits). So `::2` keeps
//! `2001:db8:f1c1:8454:964::2/80` and `::2/128`, but neither `2001:db8::a:2/64` (host part
//! `::a:2`) nor `2001:db8::12/64` (host part `::12`).

use std::fmt;
use std::net::{IpAddr, Ipv6Addr};

/// One `--except` value, parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pattern {
    /// `ADDR/LEN`: addresses inside the prefix.
    Prefix { network: Ipv6Addr, len: u8 },
    /// `ADDR`: the address itself, or a host part.
    Host(Ipv6Addr),
}

/// Why a pattern could not be read; `text` is the value as given (`present/usage.rs` words it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatternError {
    pub text: String,
    pub problem: PatternProblem,
}

/// What is wrong with a pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatternProblem {
    NotAnAddress,
    /// The prefix length is not a number from 0 to 128.
    BadPrefixLength,
    /// An IPv4 address: nlsel selects among IPv6 addresses.
    Ipv4,
}

/// The mask of the first `len` bits of an IPv6 address (`len` ≤ 128).
pub fn prefix_mask(len: u8) -> u128 {
    match u32::from(len) {
        0 => 0,
        len if len >= 128 => u128::MAX,
        len => u128::MAX << (128 - len),
    }
}

/// What is wrong with an `ADDR[/LEN]` word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressTextError {
    NotAnAddress,
    /// The prefix length is not a number from 0 to `max` (32 or 128, by family).
    BadPrefixLength {
        max: u8,
    },
}

/// `ADDR[/LEN]` as the command line writes an address: the address, and the prefix length if
/// one is given. Shared by `--except` patterns and `addr change`.
pub fn parse_address_text(text: &str) -> Result<(IpAddr, Option<u8>), AddressTextError> {
    let (addr_text, len_text) = match text.split_once('/') {
        Some((addr, len)) => (addr, Some(len)),
        None => (text, None),
    };
    let addr: IpAddr = addr_text
        .parse()
        .map_err(|_| AddressTextError::NotAnAddress)?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let len = match len_text {
        None => None,
        Some(len_text) => Some(
            len_text
                .parse::<u8>()
                .ok()
                .filter(|len| *len <= max)
                .ok_or(AddressTextError::BadPrefixLength { max })?,
        ),
    };
    Ok((addr, len))
}

impl Pattern {
    pub fn parse(text: &str) -> Result<Pattern, PatternError> {
        let error = |problem| PatternError {
            text: text.to_string(),
            problem,
        };
        let (addr, len) = parse_address_text(text).map_err(|problem| match problem {
            AddressTextError::NotAnAddress => error(PatternProblem::NotAnAddress),
            AddressTextError::BadPrefixLength { .. } => error(PatternProblem::BadPrefixLength),
        })?;
        let IpAddr::V6(addr) = addr else {
            return Err(error(PatternProblem::Ipv4));
        };
        match len {
            None => Ok(Pattern::Host(addr)),
            Some(len) => {
                let network = Ipv6Addr::from(u128::from(addr) & prefix_mask(len));
                Ok(Pattern::Prefix { network, len })
            }
        }
    }

    /// Whether `addr`, configured with prefix length `prefixlen`, matches.
    pub fn matches(&self, addr: Ipv6Addr, prefixlen: u8) -> bool {
        let bits = u128::from(addr);
        match *self {
            Pattern::Prefix { network, len } => bits & prefix_mask(len) == u128::from(network),
            Pattern::Host(host) => {
                let host = u128::from(host);
                if bits == host {
                    return true;
                }
                if prefixlen >= 128 {
                    return false;
                }
                let network_mask = prefix_mask(prefixlen);
                let fits_in_host_part = host & network_mask == 0;
                fits_in_host_part && bits & !network_mask == host
            }
        }
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Pattern::Prefix { network, len } => write!(f, "{network}/{len}"),
            Pattern::Host(host) => write!(f, "{host}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v6(text: &str) -> Ipv6Addr {
        text.parse().unwrap()
    }

    #[test]
    fn host_pattern_matches_by_bits() {
        let two = Pattern::parse("::2").unwrap();
        assert!(two.matches(v6("2001:db8:f1c1:8454:964::2"), 80));
        assert!(two.matches(v6("::2"), 128));
        assert!(!two.matches(v6("2001:db8:f1c1:8454:964::beef"), 80));
        assert!(
            !two.matches(v6("2001:db8::a:2"), 64),
            "text suffix :2 is not host part ::2"
        );
        assert!(!two.matches(v6("2001:db8::12"), 64));
        assert!(
            !two.matches(v6("2001:db8::2"), 128),
            "a /128 has no host part"
        );
    }

    #[test]
    fn host_pattern_must_fit_the_host_part() {
        // ::1:0:0:2 needs 49 host bits; a /80 has only 48.
        let wide = Pattern::parse("::1:0:0:2").unwrap();
        assert!(!wide.matches(v6("2001:db8:0:0:1::2"), 80));
        assert!(wide.matches(v6("2001:db8:0:0:1::2"), 64));
    }

    #[test]
    fn prefix_pattern_matches_inside_only() {
        let net = Pattern::parse("2001:db8:1::/48").unwrap();
        assert!(net.matches(v6("2001:db8:1:ffff::1"), 64));
        assert!(!net.matches(v6("2001:db8:2::1"), 64));
        let host_bits_ignored = Pattern::parse("2001:db8:1::99/48").unwrap();
        assert_eq!(host_bits_ignored, net);
    }

    #[test]
    fn bad_patterns_are_rejected_with_their_text() {
        for (text, problem) in [
            ("10.0.0.1", PatternProblem::Ipv4),
            ("10.0.0.1/8", PatternProblem::Ipv4),
            ("zzz", PatternProblem::NotAnAddress),
            ("", PatternProblem::NotAnAddress),
            ("::2/129", PatternProblem::BadPrefixLength),
            ("::2/", PatternProblem::BadPrefixLength),
            ("::2/x", PatternProblem::BadPrefixLength),
        ] {
            let error = Pattern::parse(text).unwrap_err();
            assert_eq!((error.text.as_str(), error.problem), (text, problem));
        }
    }

    use proptest::prelude::*;

    /// The bits after the first `prefixlen`, computed by shifts rather than by `prefix_mask`.
    fn host_part(addr: u128, prefixlen: u8) -> u128 {
        let host_bits = 128u32.saturating_sub(u32::from(prefixlen));
        match host_bits {
            0 => 0,
            128 => addr,
            n => addr & ((1u128 << n) - 1),
        }
    }

    /// Whether `addr` lies in `network/len`, by comparing the top `len` bits.
    fn in_prefix(addr: u128, network: u128, len: u8) -> bool {
        let shift = 128 - u32::from(len);
        addr.checked_shr(shift).unwrap_or(0) == network.checked_shr(shift).unwrap_or(0)
    }

    fn prefix_pattern(network: u128, len: u8) -> Pattern {
        Pattern::parse(&format!("{}/{len}", Ipv6Addr::from(network))).unwrap()
    }

    /// An address in `network/len` with random host bits, or any address at all.
    fn near(network: u128, len: u8) -> impl Strategy<Value = u128> {
        prop_oneof![
            any::<u128>().prop_map(move |bits| {
                (network & prefix_mask(len)) | (bits & !prefix_mask(len))
            }),
            any::<u128>(),
            // One bit flipped: the addresses just outside (or inside) the prefix.
            (0u32..128).prop_map(move |bit| network ^ (1u128 << bit)),
        ]
    }

    proptest! {
        #[test]
        fn address_matches_itself_as_host(addr in any::<u128>(), prefixlen in any::<u8>()) {
            let addr = Ipv6Addr::from(addr);
            let pattern = Pattern::parse(&addr.to_string()).unwrap();
            prop_assert_eq!(pattern, Pattern::Host(addr));
            prop_assert!(pattern.matches(addr, prefixlen));
        }

        #[test]
        fn prefix_matches_exactly_the_addresses_inside(
            (network, len, addr) in (any::<u128>(), 0u8..=128)
                .prop_flat_map(|(network, len)| (Just(network), Just(len), near(network, len))),
            prefixlen in any::<u8>(),
        ) {
            let pattern = prefix_pattern(network, len);
            prop_assert_eq!(
                pattern.matches(Ipv6Addr::from(addr), prefixlen),
                in_prefix(addr, network, len)
            );
        }

        #[test]
        fn prefix_pattern_text_roundtrips(network in any::<u128>(), len in 0u8..=128) {
            let pattern = prefix_pattern(network, len);
            prop_assert_eq!(Pattern::parse(&pattern.to_string()), Ok(pattern));
            let Pattern::Prefix { network: kept, len: kept_len } = pattern else {
                return Err(TestCaseError::fail("not a prefix"));
            };
            prop_assert_eq!(kept_len, len);
            prop_assert_eq!(host_part(u128::from(kept), len), 0, "host bits are cleared");
        }

        #[test]
        fn host_pattern_matches_by_host_part(
            host in prop_oneof![any::<u128>(), any::<u64>().prop_map(u128::from), 0u128..256],
            network in any::<u128>(),
            prefixlen in any::<u8>(),
            same_host in any::<bool>(),
            other in any::<u128>(),
        ) {
            // An address whose host part is the pattern's, or a random one.
            let addr = if same_host {
                (network & prefix_mask(prefixlen)) | host_part(host, prefixlen)
            } else {
                other
            };
            let matched = Pattern::Host(Ipv6Addr::from(host)).matches(Ipv6Addr::from(addr), prefixlen);
            let expected = addr == host
                || (prefixlen < 128 && host_part(host, prefixlen) == host
                    && host_part(addr, prefixlen) == host);
            prop_assert_eq!(matched, expected);
            if addr != host && host_part(addr, prefixlen) != host {
                prop_assert!(!matched, "a different host part never matches");
            }
        }

        #[test]
        fn two_never_matches_a_longer_host_part(
            network in any::<u64>(),
            group in 1u16..,
            low in any::<u16>(),
        ) {
            let two = Pattern::parse("::2").unwrap();
            let network = u128::from(network) << 64;
            // X::a:2, X::<group>:2 and X::12: text that ends in "2", host parts that are not ::2.
            for host in [0xa_0002, (u128::from(group) << 16) | 2, 0x12] {
                prop_assert!(!two.matches(Ipv6Addr::from(network | host), 64));
            }
            if low != 2 {
                prop_assert!(!two.matches(Ipv6Addr::from(network | u128::from(low)), 64));
            }
            prop_assert!(two.matches(Ipv6Addr::from(network | 2), 64));
        }
    }
}
