//! The netlink wire format for the part of NETLINK_ROUTE that nlsel speaks, and the socket.
//!
//! Every object lives in its own file as a private zerocopy struct for the fixed header and a
//! public plain `Repr`-style struct; the rtnetlink objects are declared with `nl_object!`, one
//! line per attribute, and share one table-driven attribute loop (`attr.rs`). Each has three
//! functions:
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
#[cfg(test)]
mod captures;
pub mod error;
pub mod header;
pub mod link;
pub mod nexthop;
#[cfg(test)]
mod objects;
#[cfg(test)]
pub mod replay;
pub mod request;
pub mod route;
pub mod socket;
#[cfg(test)]
mod strategies;

/// Why a byte sequence could not be decoded, or a buffer was too small to encode into. Boxed,
/// so that every `Result` of the decoders is one word larger than its value, not five: the
/// error path is rare, and the copies of the larger results cost the release binary more
/// than the allocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(Box<ErrorInner>);

#[derive(Debug, Clone, PartialEq, Eq)]
struct ErrorInner {
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
    /// Adding or padding lengths overflows `usize`: `len` could not grow by `by`.
    Overflow { len: usize, by: usize },
}

impl Error {
    #[cold]
    fn new(what: &'static str, kind: ErrorKind) -> Self {
        Error(Box::new(ErrorInner { what, kind }))
    }

    pub(crate) fn truncated(what: &'static str, needed: usize, available: usize) -> Self {
        Self::new(what, ErrorKind::Truncated { needed, available })
    }

    pub(crate) fn length_too_small(what: &'static str, declared: usize, minimum: usize) -> Self {
        Self::new(what, ErrorKind::LengthTooSmall { declared, minimum })
    }

    pub(crate) fn bad_payload_length(what: &'static str, expected: usize, actual: usize) -> Self {
        Self::new(what, ErrorKind::BadPayloadLength { expected, actual })
    }

    pub(crate) fn too_long(what: &'static str, len: usize) -> Self {
        Self::new(what, ErrorKind::TooLong { len })
    }

    pub(crate) fn overflow(what: &'static str, len: usize, by: usize) -> Self {
        Self::new(what, ErrorKind::Overflow { len, by })
    }

    /// The wire object that was being read or written.
    pub fn what(&self) -> &'static str {
        self.0.what
    }

    pub fn kind(&self) -> ErrorKind {
        self.0.kind
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
    align4(len).ok_or(Error::overflow(what, len, 3))
}

/// `a + b`, the length of `what`; the one checked addition every computed length uses.
pub(crate) fn add_len(a: usize, b: usize, what: &'static str) -> Result<usize> {
    a.checked_add(b).ok_or(Error::overflow(what, a, b))
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

/// Splits off the front of `bytes` a record (message, attribute, multipath entry) whose length
/// field says `len`, at least its `minimum` fixed part, and returns it and what follows its
/// padding: the last record of a buffer may end without padding.
pub(crate) fn split_record<'a>(
    bytes: &'a [u8],
    len: usize,
    minimum: usize,
    what: &'static str,
) -> Result<(&'a [u8], &'a [u8])> {
    if len < minimum {
        return Err(Error::length_too_small(what, len, minimum));
    }
    let (record, _) = split(bytes, len, what)?;
    let next = padded_len(len, what)?;
    Ok((record, bytes.get(next..).unwrap_or_default()))
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

/// An rtnetlink object: a fixed header (`ifaddrmsg`, `rtmsg`, …) whose first byte is the
/// address family, then attributes to the end of the payload (the extended ack is the one
/// object without a header). `nl_object!` writes each from
/// one declaration; the generic tests and fuzz arms walk every object through this trait.
pub trait Object<'a>: Emit + Sized {
    /// The kernel's name for the fixed header, as errors name it.
    const NAME: &'static str;
    /// Bytes of the fixed header.
    const HEADER_LEN: usize;
    /// The attributes the object reads and writes, in the order it writes them.
    const ATTRS: &'static [attr::AttrSpec];
    /// Reads a message payload. Unknown attributes are skipped; a repeated one keeps the
    /// last. The attributes run to the end of the payload, so nothing is left after them.
    fn parse(payload: &'a [u8]) -> Result<(Self, &'a [u8])>;
}

/// Declares an rtnetlink object once: its struct, whose header fields each name the raw
/// field they are converted from and into, and one line per attribute (kernel name and
/// number, [`attr::Codec`], field). From that come the struct (every attribute an `Option`),
/// the attribute constants, `parse`, the [`Object`] table and [`Emit`]. Parsing and emitting
/// run the one table-driven loop in `attr.rs`, not a copy per object; what each object adds
/// is the copy of its fields to and from [`attr::Value`]s.
macro_rules! nl_object {
    // The struct's own lifetime is the one its payload borrows from; an owning struct gets
    // one for `parse` alone.
    ($(#[$meta:meta])* pub struct $name:ident <$lt:lifetime> : $($rest:tt)*) => {
        $crate::nl::nl_object!(@define [$(#[$meta])*] $name [<$lt>] $lt : $($rest)*);
    };
    ($(#[$meta:meta])* pub struct $name:ident : $($rest:tt)*) => {
        $crate::nl::nl_object!(@define [$(#[$meta])*] $name [] 'a : $($rest)*);
    };
    (
        @define [$($meta:tt)*] $name:ident [$($generics:tt)*] $lt:lifetime :
        $raw:ident, $what:literal, $len:ident {
            $( $(#[$hmeta:meta])* pub $hfield:ident: $htype:ty = $rawfield:ident, )*
        }
        attributes {
            $(
                $(#[$ameta:meta])*
                $kind:ident = $number:literal, $codec:ident => pub $afield:ident: $atype:ty,
            )*
        }
    ) => {
        $( $(#[$ameta])* pub const $kind: u16 = $number; )*

        $($meta)*
        pub struct $name $($generics)* {
            $( $(#[$hmeta])* pub $hfield: $htype, )*
            $( $(#[$ameta])* pub $afield: Option<$atype>, )*
        }

        impl<$lt> $name $($generics)* {
            /// Reads a message payload. Unknown attributes are skipped; a repeated one keeps
            /// the last. The attributes run to the end of the payload, so nothing is left
            /// after them.
            pub fn parse(payload: &$lt [u8]) -> $crate::nl::Result<(Self, &$lt [u8])> {
                #[allow(unused_variables)] // A header-less object reads no field.
                let (raw, area) = <$raw as ::zerocopy::FromBytes>::ref_from_prefix(payload)
                    .map_err(|_| $crate::nl::Error::truncated($what, $len, payload.len()))?;
                // Every rtnetlink header starts with the family, which sizes the addresses.
                let family = $crate::nl::Family::from(payload.first().copied().unwrap_or(0));
                // One empty slot per attribute, in the table's order.
                let mut values = [$( { stringify!($afield); None } ),*];
                let table = <Self as $crate::nl::Object<$lt>>::ATTRS;
                $crate::nl::attr::parse_attrs(area, family, table, &mut values)?;
                let [$($afield),*] = values;
                let message = $name {
                    $( $hfield: raw.$rawfield.into(), )*
                    $( $afield: $afield.and_then($crate::nl::attr::AttrValue::from_value), )*
                };
                Ok((message, &[]))
            }
        }

        impl<$lt> $crate::nl::Object<$lt> for $name $($generics)* {
            const NAME: &'static str = $what;
            const HEADER_LEN: usize = $len;
            const ATTRS: &'static [$crate::nl::attr::AttrSpec] = &[$(
                $crate::nl::attr::AttrSpec {
                    kind: $kind,
                    name: stringify!($kind),
                    codec: $crate::nl::attr::Codec::$codec,
                },
            )*];
            fn parse(payload: &$lt [u8]) -> $crate::nl::Result<(Self, &$lt [u8])> {
                Self::parse(payload)
            }
        }

        impl<$lt> $crate::nl::Emit for $name $($generics)* {
            fn buffer_len(&self) -> $crate::nl::Result<usize> {
                let values = [$( self.$afield.as_ref().map($crate::nl::attr::AttrValue::to_value) ),*];
                let table = <Self as $crate::nl::Object<$lt>>::ATTRS;
                $crate::nl::attr::object_len($len, $what, table, &values)
            }

            fn emit(&self, buf: &mut [u8]) -> $crate::nl::Result<()> {
                // Reserved fields stay zero; a header-less object assigns nothing.
                #[allow(unused_mut)]
                let mut raw = <$raw as ::zerocopy::FromZeros>::new_zeroed();
                $( raw.$rawfield = self.$hfield.into(); )*
                let values = [$( self.$afield.as_ref().map($crate::nl::attr::AttrValue::to_value) ),*];
                $crate::nl::attr::emit_object(
                    ::zerocopy::IntoBytes::as_bytes(&raw),
                    $what,
                    <Self as $crate::nl::Object<$lt>>::ATTRS,
                    &values,
                    buf,
                )
            }
        }
    };
}
pub(crate) use nl_object;

/// Records laid end to end (messages, attributes, multipath entries), each read by `parse`,
/// which returns the bytes after the record and its padding. After the first error the walk
/// yields nothing more.
pub struct Records<'a, T> {
    rest: &'a [u8],
    parse: RecordParser<'a, T>,
}

/// Reads one record and returns the bytes after it and its padding.
type RecordParser<'a, T> = fn(&'a [u8]) -> Result<(T, &'a [u8])>;

impl<'a, T> Records<'a, T> {
    const fn walk(rest: &'a [u8], parse: RecordParser<'a, T>) -> Self {
        Records { rest, parse }
    }
}

impl<T> Iterator for Records<'_, T> {
    type Item = Result<T>;

    fn next(&mut self) -> Option<Result<T>> {
        if self.rest.is_empty() {
            return None;
        }
        let record = (self.parse)(self.rest);
        self.rest = record.as_ref().map_or(&[], |(_, rest)| *rest);
        Some(record.map(|(record, _)| record))
    }
}

/// An enum of the values of a kernel byte that nlsel knows by name, and `Unknown` keeping
/// any other; the first variant is the default. Both conversions come from the one list.
macro_rules! known_u8 {
    (
        $(#[$meta:meta])*
        pub enum $name:ident { $first:ident = $first_value:literal, $($variant:ident = $value:literal,)* }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
        pub enum $name {
            #[default]
            $first,
            $($variant,)*
            Unknown(u8),
        }

        impl From<u8> for $name {
            fn from(value: u8) -> Self {
                match value {
                    $first_value => $name::$first,
                    $($value => $name::$variant,)*
                    other => $name::Unknown(other),
                }
            }
        }

        impl From<$name> for u8 {
            fn from(value: $name) -> Self {
                match value {
                    $name::$first => $first_value,
                    $($name::$variant => $value,)*
                    $name::Unknown(other) => other,
                }
            }
        }
    };
}
pub(crate) use known_u8;

known_u8! {
    /// Address families the tool knows by name (`AF_UNSPEC`, `AF_INET`, `AF_INET6`); any other
    /// value is kept.
    pub enum Family { Unspec = 0, Inet = 2, Inet6 = 10, }
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
