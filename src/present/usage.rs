//! The words of a command line nlsel cannot read: lexopt's errors, and what is wrong with an
//! address or a pattern. Each names the bad value in double quotes, escaped, so that an empty
//! or odd value is still visible in the one line.

use std::fmt;

use super::quoted;
use crate::pattern::{AddressTextError, PatternError, PatternProblem};

/// A lexopt error in words.
pub fn option_error(error: lexopt::Error) -> String {
    match error {
        lexopt::Error::MissingValue {
            option: Some(option),
        } => format!("missing value for option {}", quoted(&option)),
        lexopt::Error::MissingValue { option: None } => "missing value".to_string(),
        lexopt::Error::UnexpectedOption(option) => format!("unknown option {}", quoted(&option)),
        lexopt::Error::UnexpectedArgument(value) => {
            format!("unexpected argument {}", quoted(&value.to_string_lossy()))
        }
        lexopt::Error::UnexpectedValue { option, value } => format!(
            "option {} takes no value, got {}",
            quoted(&option),
            quoted(&value.to_string_lossy())
        ),
        lexopt::Error::NonUnicodeValue(value) => format!(
            "argument {} is not valid UTF-8",
            quoted(&value.to_string_lossy())
        ),
        other => other.to_string(),
    }
}

impl fmt::Display for AddressTextError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AddressTextError::NotAnAddress => f.write_str("not an IP address"),
            AddressTextError::BadPrefixLength { max } => {
                write!(f, "prefix length must be a number from 0 to {max}")
            }
        }
    }
}

impl fmt::Display for PatternError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let reason = match self.problem {
            PatternProblem::NotAnAddress => "not an IPv6 address",
            PatternProblem::BadPrefixLength => "prefix length must be a number from 0 to 128",
            PatternProblem::Ipv4 => "an IPv4 address; nlsel selects among IPv6 addresses",
        };
        write!(f, "invalid pattern {}: {reason}", quoted(&self.text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pattern::Pattern;

    #[test]
    fn a_pattern_error_names_the_value_and_the_reason() {
        for (text, reason) in [
            ("10.0.0.1", "an IPv4 address"),
            ("zzz", "not an IPv6 address"),
            ("::2/129", "from 0 to 128"),
        ] {
            let line = Pattern::parse(text).unwrap_err().to_string();
            assert!(
                line.starts_with(&format!("invalid pattern \"{text}\": ")),
                "{line}"
            );
            assert!(line.contains(reason), "{line}");
        }
        // An escaped value stays on one line.
        let line = Pattern::parse("a\nb").unwrap_err().to_string();
        assert!(line.contains("\"a\\nb\""), "{line}");
    }

    #[test]
    fn an_address_error_gives_the_family_s_prefix_limit() {
        assert_eq!(
            AddressTextError::BadPrefixLength { max: 32 }.to_string(),
            "prefix length must be a number from 0 to 32"
        );
        assert_eq!(
            AddressTextError::NotAnAddress.to_string(),
            "not an IP address"
        );
    }

    #[test]
    fn lexopt_errors_quote_the_value() {
        let cases = [
            (
                lexopt::Error::MissingValue {
                    option: Some("--dev".into()),
                },
                "missing value for option \"--dev\"",
            ),
            (
                lexopt::Error::UnexpectedOption("--zz".into()),
                "unknown option \"--zz\"",
            ),
            (
                lexopt::Error::UnexpectedArgument("x\ty".into()),
                "unexpected argument \"x\\ty\"",
            ),
            (
                lexopt::Error::UnexpectedValue {
                    option: "--check".into(),
                    value: "1".into(),
                },
                "option \"--check\" takes no value, got \"1\"",
            ),
        ];
        for (error, words) in cases {
            assert_eq!(option_error(error), words);
        }
    }
}
