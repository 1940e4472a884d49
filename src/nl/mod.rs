//! The netlink wire format for the part of NETLINK_ROUTE that nlsel speaks, and the socket.
//!
//! Every object lives in its own file as a private zerocopy struct for the fixed header and a
//! public plain `Repr`-style struct with three functions:
//!
//! - `parse(bytes) -> Result<(Self, rest)>` is total: any byte sequence gives `Ok` or a typed
//!   [`Error`], never a panic and never a read past the end of `bytes`. `rest` is what follows
//!   the object and its padding (empty for a message body, whose attributes run to its end).
//!   A few parsers also take the header flags that change the payload's layout. Parsing
//!   allocates nothing; variable-length parts borrow from the input.
//! - `buffer_len() -> Result<usize>` says how many bytes `emit` writes, or [`Error`] when that
//!   does not fit a `usize`, so a caller sizing a buffer never sees a saturated length.
//!   Fixed-size objects have a `*_LEN` constant instead.
//! - `emit(buf)` writes exactly `buffer_len()` bytes, computing every length and padding field
//!   itself. A buffer shorter than that gives [`Error`] instead of a panic.
//!
//! Every length read from the kernel is untrusted: it goes through `get`, `split`, and the
//! one rounding [`align4`]; every length nlsel computes goes through `add_len`. The lints
//! below hold that line outside tests.
#![cfg_attr(
    not(test),
    deny(
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects,
        clippy::unwrap_used
    )
)]

pub mod addr;
pub mod addrlabel;
pub mod attr;
pub mod error;
pub mod header;
pub mod link;
pub mod nexthop;
#[cfg(test)]
pub mod replay;
pub mod request;
pub mod route;
pub mod socket;
#[cfg(test)]
mod strategies;

use core::fmt;

/// Why a byte sequence could not be decoded, or a buffer was too small to encode into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Error {
    what: &'static str,
    kind: ErrorKind,
}

/// The detail of an [`Error`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Fewer bytes were there than the object needs.
    Truncated { needed: usize, available: usize },
    /// A length field is smaller than the fixed part it must cover.
    LengthTooSmall { declared: usize, minimum: usize },
    /// A fixed-size attribute payload has the wrong size.
    BadPayloadLength { expected: usize, actual: usize },
    /// A length does not fit the field that must carry it.
    TooLong { len: usize },
}

impl Error {
    pub(crate) const fn truncated(what: &'static str, needed: usize, available: usize) -> Self {
        Error {
            what,
            kind: ErrorKind::Truncated { needed, available },
        }
    }

    pub(crate) const fn length_too_small(
        what: &'static str,
        declared: usize,
        minimum: usize,
    ) -> Self {
        Error {
            what,
            kind: ErrorKind::LengthTooSmall { declared, minimum },
        }
    }

    pub(crate) const fn bad_payload_length(
        what: &'static str,
        expected: usize,
        actual: usize,
    ) -> Self {
        Error {
            what,
            kind: ErrorKind::BadPayloadLength { expected, actual },
        }
    }

    pub(crate) const fn too_long(what: &'static str, len: usize) -> Self {
        Error {
            what,
            kind: ErrorKind::TooLong { len },
        }
    }

    /// The wire object that was being read or written.
    pub fn what(&self) -> &'static str {
        self.what
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            ErrorKind::Truncated { needed, available } => write!(
                f,
                "buffer is too small to read {}: need {needed} bytes, have {available}",
                self.what
            ),
            ErrorKind::LengthTooSmall { declared, minimum } => write!(
                f,
                "{} declares length {declared}, less than its minimum {minimum}",
                self.what
            ),
            ErrorKind::BadPayloadLength { expected, actual } => write!(
                f,
                "{} has a payload of {actual} bytes, expected {expected}",
                self.what
            ),
            ErrorKind::TooLong { len } => {
                write!(
                    f,
                    "{} of {len} bytes does not fit its length field",
                    self.what
                )
            }
        }
    }
}

impl std::error::Error for Error {}

pub type Result<T> = core::result::Result<T, Error>;

/// Netlink aligns every message and attribute to 4 bytes. `None` when the rounding overflows.
pub const fn align4(len: usize) -> Option<usize> {
    match len.checked_add(3) {
        Some(n) => Some(n & !3),
        None => None,
    }
}

/// `len` rounded up to netlink's 4-byte alignment, or an error naming `what`.
pub(crate) fn padded_len(len: usize, what: &'static str) -> Result<usize> {
    align4(len).ok_or(Error::too_long(what, len))
}

/// `a + b`, the length of `what`; the one checked addition every computed length uses.
pub(crate) fn add_len(a: usize, b: usize, what: &'static str) -> Result<usize> {
    a.checked_add(b).ok_or(Error::too_long(what, b))
}

/// Splits `n` bytes off the front of `bytes`, or says that `what` is truncated.
pub(crate) fn split<'a>(
    bytes: &'a [u8],
    n: usize,
    what: &'static str,
) -> Result<(&'a [u8], &'a [u8])> {
    bytes
        .split_at_checked(n)
        .ok_or(Error::truncated(what, n, bytes.len()))
}

/// The `len` bytes at `at` in `buf`, or an error naming `what` when `buf` is too short.
pub(crate) fn field_mut<'b>(
    buf: &'b mut [u8],
    at: usize,
    len: usize,
    what: &'static str,
) -> Result<&'b mut [u8]> {
    let available = buf.len();
    let end = add_len(at, len, what)?;
    buf.get_mut(at..end)
        .ok_or(Error::truncated(what, end, available))
}

/// A message body that can be written after a netlink header.
pub trait Emit {
    /// Bytes `emit` writes.
    fn buffer_len(&self) -> Result<usize>;
    /// Writes exactly `buffer_len()` bytes at the start of `buf`.
    fn emit(&self, buf: &mut [u8]) -> Result<()>;
}

/// Address families the tool knows by name; any other value is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    Unspec,
    Inet,
    Inet6,
    Unknown(u8),
}

pub const AF_UNSPEC: u8 = 0;
pub const AF_INET: u8 = 2;
pub const AF_INET6: u8 = 10;

impl From<u8> for Family {
    fn from(value: u8) -> Self {
        match value {
            AF_UNSPEC => Family::Unspec,
            AF_INET => Family::Inet,
            AF_INET6 => Family::Inet6,
            other => Family::Unknown(other),
        }
    }
}

impl From<Family> for u8 {
    fn from(value: Family) -> Self {
        match value {
            Family::Unspec => AF_UNSPEC,
            Family::Inet => AF_INET,
            Family::Inet6 => AF_INET6,
            Family::Unknown(other) => other,
        }
    }
}

impl Family {
    /// The family of an IP address.
    pub fn of(ip: &std::net::IpAddr) -> Family {
        match ip {
            std::net::IpAddr::V4(_) => Family::Inet,
            std::net::IpAddr::V6(_) => Family::Inet6,
        }
    }
}
