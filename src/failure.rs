//! Everything that can make nlsel fail, each with the context the user needs, shown as one
//! line on stderr (`present/failure.rs` words it). Usage errors exit 2 and are always found
//! before any system call; the rest exit 1. (`--help` and `--version` are not failures: the command line parses to them.)

use std::io;

use crate::model::{Interface, name_of};
use crate::netns::NetnsError;
use crate::nl::request::RequestError;
use crate::plan::PolicyError;
use crate::srcsel::read::ReadError;

/// A failure, boxed: a `Result` that carries one is a pointer wide, so `?` moves 8 bytes
/// rather than the 96 of the largest [`Kind`], and a call that can fail returns in registers
/// rather than through memory (the unboxed enum cost 13 KB of the release binary in copies).
#[derive(Debug)]
pub struct Failure(Box<Kind>);

/// What failed.
#[derive(Debug)]
pub enum Kind {
    /// The command line is wrong; nothing was done.
    Usage(String),
    /// `-n NETNS` could not be entered.
    Netns {
        name: String,
        source: NetnsError,
    },
    /// A request failed; its `what` says which.
    Request(ReadError),
    InterfaceNotFound(Vec<u8>),
    /// `addr change` names an address that interface `ifname` does not have.
    AddressNotFound {
        address: String,
        ifname: Vec<u8>,
    },
    /// The policy could not be planned; `ifname` names the interface `error` is about, when
    /// it is about one.
    Policy {
        error: PolicyError,
        ifname: Option<Vec<u8>>,
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
        error: RequestError,
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

impl From<Kind> for Failure {
    #[cold]
    fn from(kind: Kind) -> Self {
        Failure(Box::new(kind))
    }
}

impl From<Box<ReadError>> for Failure {
    fn from(error: Box<ReadError>) -> Self {
        Kind::Request(*error).into()
    }
}

impl Failure {
    pub fn kind(&self) -> &Kind {
        &self.0
    }

    pub fn exit_code(&self) -> u8 {
        match *self.0 {
            Kind::Usage(_) => 2,
            _ => 1,
        }
    }

    pub fn usage(message: impl Into<String>) -> Self {
        Kind::Usage(message.into()).into()
    }

    /// The failure for a plan that could not be made.
    pub fn from_policy(error: PolicyError, interfaces: &[Interface]) -> Failure {
        let ifname = match error {
            PolicyError::NoMatchOnNamedInterface { ifindex } => Some(name_of(interfaces, ifindex)),
            PolicyError::AddressNotFound(_) | PolicyError::TemporaryAddress(_) => None,
        };
        Kind::Policy { error, ifname }.into()
    }

    /// For `map_err`: the context is copied only when the request failed.
    pub fn request(what: &'static str) -> impl FnOnce(RequestError) -> Failure {
        move |source| {
            Kind::Request(ReadError {
                what: what.to_owned(),
                source,
            })
            .into()
        }
    }
}

impl std::error::Error for Failure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &*self.0 {
            Kind::Netns {
                source: NetnsError::Io(source),
                ..
            }
            | Kind::Io { source, .. }
            | Kind::Output(source) => Some(source),
            Kind::Request(error) => Some(error),
            Kind::Partial { error, .. } => Some(error),
            _ => None,
        }
    }
}
