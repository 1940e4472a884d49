//! Everything that can make nlsel fail, each with the context the user needs, shown as one
//! line on stderr. Usage errors exit 2 and are always found before any system call; the rest
//! exit 1.

use std::fmt;
use std::io;

use crate::model::{Interface, name_of};
use crate::nl::request::{KernelError, RequestError, errno_text};
use crate::nl::socket::NetnsError;
use crate::plan::PolicyError;

#[derive(Debug)]
pub enum Failure {
    /// `--help` was asked for: not a failure, but it ends parsing the same way. Exit 0.
    Help(String),
    /// The command line is wrong; nothing was done.
    Usage(String),
    /// `-n NETNS` could not be entered.
    Netns {
        name: String,
        source: NetnsError,
    },
    /// A request failed; `context` says which.
    Request {
        context: String,
        source: RequestError,
    },
    InterfaceNotFound(Vec<u8>),
    AddressNotFound {
        address: String,
        ifname: Option<Vec<u8>>,
    },
    /// `prefer` was given a temporary (privacy) address.
    TemporaryAddress {
        address: String,
    },
    /// An interface named with `--dev` has no global IPv6 address that matches a pattern.
    NoMatch {
        ifname: Vec<u8>,
    },
    /// A prefix length given on the command line differs from the address's.
    PrefixMismatch {
        address: String,
        ifname: Vec<u8>,
        actual: u8,
    },
    /// The kernel refused a change part-way through a plan.
    Partial {
        change: String,
        error: ChangeError,
        tally: ChangeTally,
    },
    /// The kernel found a route but no source address for it.
    NoSource {
        destination: String,
    },
    /// The kernel's source is an IPv4-mapped address, which `connect()` refuses for an IPv6
    /// destination (`ip6_dst_lookup_tail`: EAFNOSUPPORT).
    MappedSource {
        destination: String,
        source: String,
    },
    /// `which --explain`: nlsel's model of the source choice and the kernel differ.
    Disagreement {
        destination: String,
        model: Option<String>,
        kernel: Option<String>,
    },
    /// A system call outside netlink failed.
    Io {
        what: &'static str,
        source: io::Error,
    },
    /// The output could not be written (other than a closed pipe, which is not an error).
    Output(io::Error),
}

/// How the changes of a plan that failed part-way ended, so the user knows what to check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ChangeTally {
    /// The kernel acknowledged them.
    pub applied: usize,
    /// The kernel refused them.
    pub refused: usize,
    /// Sent, but their acknowledgement never came: they may or may not have been applied.
    pub unknown: usize,
    /// Never sent.
    pub not_sent: usize,
}

impl fmt::Display for ChangeTally {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.applied == 0 && self.unknown == 0 {
            return write!(f, "nothing was changed");
        }
        write!(f, "{} change(s) applied", self.applied)?;
        for (count, what) in [
            (self.refused, "refused"),
            (self.unknown, "of unknown outcome"),
            (self.not_sent, "not sent"),
        ] {
            if count > 0 {
                write!(f, ", {count} {what}")?;
            }
        }
        Ok(())
    }
}

/// What went wrong with one change of a batch.
#[derive(Debug)]
pub enum ChangeError {
    Kernel(KernelError),
    Request(RequestError),
}

impl fmt::Display for ChangeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChangeError::Kernel(error) => error.fmt(f),
            ChangeError::Request(error) => error.fmt(f),
        }
    }
}

impl Failure {
    pub fn exit_code(&self) -> u8 {
        match self {
            Failure::Help(_) => 0,
            Failure::Usage(_) => 2,
            _ => 1,
        }
    }

    pub fn usage(message: impl Into<String>) -> Self {
        Failure::Usage(message.into())
    }

    /// The failure for a plan that could not be made.
    pub fn from_policy(error: PolicyError, interfaces: &[Interface]) -> Failure {
        match error {
            PolicyError::NoMatchOnNamedInterface { ifindex } => Failure::NoMatch {
                ifname: name_of(interfaces, ifindex),
            },
            PolicyError::AddressNotFound(address) => Failure::AddressNotFound {
                address: address.to_string(),
                ifname: None,
            },
            PolicyError::TemporaryAddress(address) => Failure::TemporaryAddress {
                address: address.to_string(),
            },
        }
    }

    pub fn request(context: impl Into<String>) -> impl FnOnce(RequestError) -> Failure {
        let context = context.into();
        move |source| Failure::Request { context, source }
    }
}

/// An interface name for a message: quoted, with odd bytes escaped.
pub fn quoted(bytes: &[u8]) -> String {
    format!("\"{}\"", String::from_utf8_lossy(bytes).escape_debug())
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Help(text) => f.write_str(text),
            Failure::MappedSource {
                destination,
                source,
            } => write!(
                f,
                "no usable source for \"{destination}\": the kernel chooses {source}, an IPv4-mapped address, and connect() fails with EAFNOSUPPORT"
            ),
            Failure::NoSource { destination } => {
                write!(
                    f,
                    "no source address for \"{destination}\": the kernel has no usable address for that route"
                )
            }
            Failure::Usage(message) => write!(f, "{message} (see 'nlsel --help')"),
            // Not a netlink error: the netlink hints (CAP_NET_ADMIN, …) would mislead here.
            Failure::Netns { name, source } => {
                write!(f, "network namespace \"{}\": ", name.escape_debug())?;
                let source = match source {
                    NetnsError::NotANamespace => {
                        return f.write_str(
                            "not a namespace file (expected /run/netns/NAME or /proc/PID/ns/net)",
                        );
                    }
                    NetnsError::NotNetwork => {
                        return f.write_str("a namespace file, but not of a network namespace");
                    }
                    NetnsError::Gone => {
                        return f.write_str(
                            "deleted while nlsel watched it; exiting, so that a restart enters the new one",
                        );
                    }
                    NetnsError::Io(source) => source,
                };
                match source.raw_os_error() {
                    Some(errno @ libc::EPERM) => write!(
                        f,
                        "{} (entering it needs CAP_SYS_ADMIN, i.e. root, and no seccomp filter or RestrictNamespaces= setting that forbids setns)",
                        errno_text(errno)
                    ),
                    Some(errno @ libc::EACCES) => {
                        write!(f, "{} (opening it needs root)", errno_text(errno))
                    }
                    Some(errno) => f.write_str(&errno_text(errno)),
                    None => write!(f, "{source}"),
                }
            }
            Failure::Request { context, source } => write!(f, "{context}: {source}"),
            Failure::InterfaceNotFound(name) => write!(f, "interface {} not found", quoted(name)),
            Failure::AddressNotFound {
                address,
                ifname: Some(ifname),
            } => {
                write!(
                    f,
                    "address \"{address}\" not found on interface {}; nothing was changed",
                    quoted(ifname)
                )
            }
            Failure::AddressNotFound {
                address,
                ifname: None,
            } => {
                write!(f, "address \"{address}\" not found; nothing was changed")
            }
            Failure::TemporaryAddress { address } => write!(
                f,
                "address \"{address}\" is a temporary (privacy) address, which the kernel keeps no more preferred than its SLAAC parent and replaces regularly; prefer the parent (its mngtmpaddr address) instead; nothing was changed"
            ),
            Failure::NoMatch { ifname } => write!(
                f,
                "interface {}: no global IPv6 address matches --except; nothing was changed",
                quoted(ifname)
            ),
            Failure::PrefixMismatch {
                address,
                ifname,
                actual,
            } => write!(
                f,
                "address \"{address}\" on interface {} has prefix length {actual}; nothing was changed",
                quoted(ifname)
            ),
            Failure::Partial {
                change,
                error,
                tally,
            } => write!(f, "{change}: {error}; {tally}"),
            Failure::Output(error) => write!(f, "writing output: {error}"),
            Failure::Disagreement {
                destination,
                model,
                kernel,
            } => write!(
                f,
                "source for \"{destination}\": nlsel's model says {}, the kernel uses {}: a disagreement",
                model.as_deref().unwrap_or("none"),
                kernel.as_deref().unwrap_or("none")
            ),
            Failure::Io { what, source } => write!(f, "{what}: {source}"),
        }
    }
}
