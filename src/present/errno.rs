//! How the kernel's refusals and a failed request read: the C library's text for the errno,
//! the kernel's extended-ack text, and our own short advice for the errnos users meet. The
//! netlink layer returns them as values ([`KernelError`], [`RequestError`]); these are their
//! words.

use std::fmt;

use crate::nl;
use crate::nl::request::{Call, KernelError, RequestError};
use crate::sys::errno_text;

/// Our own short explanation of the errnos users meet, for kernels that send no extended ack.
fn errno_hint(errno: i32) -> Option<&'static str> {
    match errno {
        libc::EPERM | libc::EACCES => Some("CAP_NET_ADMIN (root) is needed to change addresses"),
        libc::ENODEV => Some("no such interface"),
        libc::EADDRNOTAVAIL => Some("no such address on that interface"),
        libc::EEXIST => Some("the address already exists"),
        libc::EINVAL => Some("the kernel rejected a value in the request"),
        libc::ENETUNREACH => Some("no route to that destination"),
        libc::EHOSTUNREACH => Some("destination unreachable"),
        libc::ENOBUFS => Some("the kernel dropped messages: receive buffer overrun"),
        libc::EOPNOTSUPP => Some("not supported by this kernel or interface"),
        _ => None,
    }
}

impl fmt::Display for KernelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", errno_text(self.errno))?;
        match (&self.message, errno_hint(self.errno)) {
            // A missing capability is the one error whose remedy the kernel's text never names.
            (Some(message), Some(hint)) if self.errno == libc::EPERM => {
                write!(f, ": {message} ({hint})")
            }
            (Some(message), _) if !message.is_empty() => write!(f, ": {message}"),
            (_, Some(hint)) => write!(f, " ({hint})"),
            _ => Ok(()),
        }
    }
}

/// What the user reads for the system call behind a request's failure.
fn call_name(call: Call) -> &'static str {
    match call {
        Call::Socket => "netlink socket",
        Call::JoinGroup => "joining a netlink group",
        Call::Send => "send",
        Call::Recv => "recv",
    }
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RequestError::Io { call, source } => {
                let call = call_name(*call);
                let errno = source.raw_os_error();
                match errno {
                    Some(errno) => write!(
                        f,
                        "{call}: {}",
                        KernelError {
                            errno,
                            message: None
                        }
                    ),
                    None => write!(f, "{call}: {source}"),
                }
            }
            RequestError::Kernel(error) => error.fmt(f),
            RequestError::Decode(error) => write!(f, "malformed reply from the kernel: {error}"),
            RequestError::AcksLost { missing } => write!(
                f,
                "the kernel dropped {missing} acknowledgement(s) (receive buffer overrun); their outcome is unknown"
            ),
            RequestError::NoAnswer { waited } => {
                write!(f, "no answer from the kernel in {} s", waited.as_secs())
            }
            RequestError::DumpInconsistent { attempts } => write!(
                f,
                "no consistent dump in {attempts} attempts: the kernel's state kept changing, or it dropped messages"
            ),
        }
    }
}

/// The one line a decoding error gives: what was read, and the sizes that did not fit.
impl fmt::Display for nl::Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = self.what();
        match self.kind() {
            nl::ErrorKind::Truncated { needed, available } => write!(
                f,
                "buffer is too small to read {what}: need {needed} bytes, have {available}"
            ),
            nl::ErrorKind::LengthTooSmall { declared, minimum } => write!(
                f,
                "{what} declares length {declared}, less than its minimum {minimum}"
            ),
            nl::ErrorKind::BadPayloadLength { expected, actual } => write!(
                f,
                "{what} has a payload of {actual} bytes, expected {expected}"
            ),
            nl::ErrorKind::TooLong { len } => {
                write!(f, "{what} of {len} bytes does not fit its length field")
            }
            nl::ErrorKind::Overflow { len, by } => {
                write!(f, "the length of {what} overflows: {len} plus {by} bytes")
            }
        }
    }
}
