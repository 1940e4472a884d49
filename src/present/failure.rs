//! Each failure's one line on stderr: the words for every [`Kind`], and the tally of a plan
//! that failed part-way. `failure.rs` holds the values; this file says them.

use std::fmt;

use crate::failure::{ChangeTally, Failure, Kind};
use crate::netns::NetnsError;
use crate::plan::PolicyError;
use crate::sys::errno_text;

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

/// An interface name for a message: quoted, with odd bytes escaped.
fn quoted(bytes: &[u8]) -> String {
    super::quoted(&String::from_utf8_lossy(bytes))
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.kind().fmt(f)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Kind::MappedSource {
                destination,
                source,
            } => write!(
                f,
                "no usable source for \"{destination}\": the kernel chooses {source}, an IPv4-mapped address, and connect() fails with EAFNOSUPPORT"
            ),
            Kind::NoSource { destination } => {
                write!(
                    f,
                    "no source address for \"{destination}\": the kernel has no usable address for that route"
                )
            }
            Kind::Usage(message) => write!(f, "{message} (see 'nlsel --help')"),
            // Not a netlink error: the netlink hints (CAP_NET_ADMIN, …) would mislead here.
            Kind::Netns { name, source } => {
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
            Kind::Request(error) => error.fmt(f),
            Kind::InterfaceNotFound(name) => write!(f, "interface {} not found", quoted(name)),
            Kind::AddressNotFound { address, ifname } => {
                write!(
                    f,
                    "address \"{address}\" not found on interface {}; nothing was changed",
                    quoted(ifname)
                )
            }
            Kind::Policy { error, ifname } => match error {
                PolicyError::NoMatchOnNamedInterface { .. } => write!(
                    f,
                    "interface {}: no global IPv6 address matches --except; nothing was changed",
                    quoted(ifname.as_deref().unwrap_or_default())
                ),
                PolicyError::AddressNotFound(address) => {
                    write!(f, "address \"{address}\" not found; nothing was changed")
                }
                PolicyError::TemporaryAddress(address) => write!(
                    f,
                    "address \"{address}\" is a temporary (privacy) address, which the kernel keeps no more preferred than its SLAAC parent and replaces regularly; prefer the parent (its mngtmpaddr address) instead; nothing was changed"
                ),
            },
            Kind::PrefixMismatch {
                address,
                ifname,
                actual,
            } => write!(
                f,
                "address \"{address}\" on interface {} has prefix length {actual}; nothing was changed",
                quoted(ifname)
            ),
            Kind::Partial {
                change,
                error,
                tally,
            } => write!(f, "{change}: {error}; {tally}"),
            Kind::Output(error) => write!(f, "writing output: {error}"),
            Kind::Disagreement {
                destination,
                model,
                kernel,
            } => write!(
                f,
                "source for \"{destination}\": nlsel's model says {}, the kernel uses {}: a disagreement",
                model.as_deref().unwrap_or("none"),
                kernel.as_deref().unwrap_or("none")
            ),
            Kind::Io { what, source } => write!(f, "{what}: {source}"),
        }
    }
}
