//! The NETLINK_ROUTE socket, in safe code over the system calls in `crate::sys`.
//!
//! What it promises:
//! - the socket is `AF_NETLINK`/`NETLINK_ROUTE`, close-on-exec, owned by an [`OwnedFd`] so it
//!   is closed exactly once;
//! - the socket is connected to the kernel without an explicit bind (connect autobinds it), so
//!   the kernel refuses unicast datagrams that other user-space sockets address to our port;
//! - whatever was queued before the connection took effect is read and thrown away before
//!   [`Socket::open`] returns: it was sent before we joined a group or sent a request, so it is
//!   forged by construction;
//! - [`Socket::recv_until`] only ever returns datagrams whose sender address has the full
//!   length of a `sockaddr_nl`, family `AF_NETLINK` and port 0 (the kernel), which also covers
//!   multicast: user space cannot forge the sender address the kernel reports. Anything else,
//!   including a short address, is dropped (fail closed);
//! - no wait on the kernel is unbounded: every receive that may block takes a deadline;
//! - a datagram larger than the receive buffer is an error, never a silently cut message.

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::time::Instant;

use crate::sys::{self, SOCKADDR_NL_LEN, SockaddrNl};

/// Large enough for any datagram the kernel builds for a dump (it caps them at 32 KiB).
const RECV_BUF_LEN: usize = 64 * 1024;

/// Receive buffer we ask the kernel for, so that a batch of ACKs is never dropped.
const SO_RCVBUF_BYTES: libc::c_int = 4 * 1024 * 1024;

const SOL_NETLINK: libc::c_int = 270;
const NETLINK_ADD_MEMBERSHIP: libc::c_int = 1;
const NETLINK_CAP_ACK: libc::c_int = 10;
const NETLINK_EXT_ACK: libc::c_int = 11;
const NETLINK_GET_STRICT_CHK: libc::c_int = 12;

/// A NETLINK_ROUTE socket and the buffer its datagrams are read into.
pub struct Socket {
    fd: OwnedFd,
    buf: Box<[u8]>,
    /// The receive buffer the kernel granted, in the kernel's accounting (`SO_RCVBUF` as read
    /// back, which counts each queued datagram's whole allocation, not only its bytes).
    rcvbuf: usize,
}

impl Socket {
    /// Opens the socket, turns on extended acks (4.12), strict checking of requests (4.20) and
    /// capped acks (4.3) where the kernel has them, asks for a large
    /// receive buffer, connects to the kernel and discards whatever was already queued.
    pub fn open() -> io::Result<Socket> {
        let fd = sys::socket(
            libc::AF_NETLINK,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC,
            libc::NETLINK_ROUTE,
        )?;
        let mut socket = Socket {
            fd,
            buf: vec![0u8; RECV_BUF_LEN].into_boxed_slice(),
            rcvbuf: 0,
        };
        // Each option only improves on what nlsel copes with anyway: uncapped ACKs echo the
        // whole request (error.rs reads both), errors come without text, and requests carry
        // every field strict checking wants. So any refusal is ignored. A kernel without the
        // option answers ENOPROTOOPT (`netlink_setsockopt`, from vz7's 3.10 to 6.x: `default:
        // err = -ENOPROTOOPT`), but what stands between may answer otherwise (an LSM's
        // `security_socket_setsockopt`, gVisor, a seccomp filter); a broken socket still
        // fails at the SO_RCVBUF read-back below, which is not optional.
        for option in [NETLINK_EXT_ACK, NETLINK_GET_STRICT_CHK, NETLINK_CAP_ACK] {
            let _ = socket.set_int_option(SOL_NETLINK, option, 1);
        }
        // Forcing the size needs CAP_NET_ADMIN; without it the capped request is good enough.
        if socket
            .set_int_option(libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, SO_RCVBUF_BYTES)
            .is_err()
        {
            let _ = socket.set_int_option(libc::SOL_SOCKET, libc::SO_RCVBUF, SO_RCVBUF_BYTES);
        }
        // What the kernel granted: without CAP_NET_ADMIN in the initial user namespace (any
        // rootless container) the request is capped at net.core.rmem_max, which may be small.
        socket.rcvbuf =
            usize::try_from(socket.int_option(libc::SOL_SOCKET, libc::SO_RCVBUF)?).unwrap_or(0);
        // No bind: connect() assigns the port and marks the socket connected in one call, so
        // there is no moment at which the port exists and accepts any sender.
        socket.connect_to_kernel()?;
        socket.discard_queued()?;
        Ok(socket)
    }

    /// Reads and drops every datagram already queued, without waiting. Run before any group is
    /// joined and any request sent, everything queued is forged.
    fn discard_queued(&mut self) -> io::Result<()> {
        loop {
            match self.recv_any(libc::MSG_DONTWAIT) {
                Ok(_) => {}
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                // Dropped datagrams were forged too; the queue is now empty of them.
                Err(error) if error.raw_os_error() == Some(libc::ENOBUFS) => {}
                Err(error) => return Err(error),
            }
        }
    }

    /// The receive buffer the kernel granted, as `SO_RCVBUF` reads back.
    pub fn rcvbuf(&self) -> usize {
        self.rcvbuf
    }

    /// Joins a multicast group (`RTNLGRP_*`), to be told of changes.
    pub fn add_membership(&self, group: u32) -> io::Result<()> {
        let group =
            libc::c_int::try_from(group).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
        self.set_int_option(SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, group)
    }

    fn set_int_option(
        &self,
        level: libc::c_int,
        name: libc::c_int,
        value: libc::c_int,
    ) -> io::Result<()> {
        sys::set_int_option(self.fd.as_fd(), level, name, value)
    }

    fn int_option(&self, level: libc::c_int, name: libc::c_int) -> io::Result<libc::c_int> {
        sys::int_option(self.fd.as_fd(), level, name)
    }

    /// Connects to the kernel's port 0. The kernel then refuses (ECONNREFUSED) any unicast
    /// datagram another user-space socket sends to our port, so a flood of forged messages can
    /// neither reach us nor crowd our acknowledgements out of the receive queue. Multicast
    /// notifications still arrive; [`Socket::recv_until`] checks their sender.
    fn connect_to_kernel(&self) -> io::Result<()> {
        sys::connect(self.fd.as_fd(), &kernel_address())
    }

    /// Sends one datagram, which may hold many messages, to the kernel. EINTR is retried.
    pub fn send(&self, bytes: &[u8]) -> io::Result<()> {
        let addr = kernel_address();
        loop {
            match sys::send_to(self.fd.as_fd(), bytes, &addr) {
                Ok(sent) if sent == bytes.len() => return Ok(()),
                // A netlink datagram is taken whole or refused; a short count would be a
                // kernel bug, reported by its kind (present/errno.rs words errors).
                Ok(_) => return Err(io::ErrorKind::WriteZero.into()),
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => return Err(error),
            }
        }
    }

    /// Receives the next datagram from the kernel, waiting for it until `deadline` (then the
    /// error is `TimedOut`). Datagrams from any other sender are dropped unread. EINTR is
    /// retried; ENOBUFS (the kernel dropped messages for us) is returned.
    pub fn recv_until(&mut self, deadline: Instant) -> io::Result<&[u8]> {
        loop {
            match self.recv_len(libc::MSG_DONTWAIT) {
                Ok(len) => return Ok(self.buf.get(..len).unwrap_or_default()),
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
                Err(error) => return Err(error),
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(io::Error::from(io::ErrorKind::TimedOut));
            }
            // Round up, so that a wait never ends just before the deadline and spins.
            let ms = left.as_millis().saturating_add(1);
            let timeout_ms = libc::c_int::try_from(ms).unwrap_or(libc::c_int::MAX);
            match sys::poll_readable(&[self.fd.as_fd()], timeout_ms) {
                Ok(_) => {}
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => return Err(error),
            }
        }
    }

    /// Like [`Socket::recv_until`], but returns `None` at once when nothing from the kernel
    /// is queued.
    pub fn try_recv(&mut self) -> io::Result<Option<&[u8]>> {
        match self.recv_len(libc::MSG_DONTWAIT) {
            Ok(len) => Ok(Some(self.buf.get(..len).unwrap_or_default())),
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// Reads datagrams into the buffer until one comes from the kernel, and returns its
    /// length.
    fn recv_len(&mut self, flags: libc::c_int) -> io::Result<usize> {
        loop {
            let (received, sender) = self.recv_any(flags)?;
            if sender != Sender::Kernel {
                continue;
            }
            if received > self.buf.len() {
                return Err(io::Error::from_raw_os_error(libc::EMSGSIZE));
            }
            return Ok(received);
        }
    }

    /// Reads one datagram, from whoever sent it, into the buffer; returns its full length
    /// (which may exceed the buffer) and who sent it. EINTR is retried.
    fn recv_any(&mut self, flags: libc::c_int) -> io::Result<(usize, Sender)> {
        loop {
            // Starts as an address no kernel reply has, so that a call that writes none fails
            // closed.
            let mut addr = SockaddrNl {
                nl_pid: u32::MAX,
                ..kernel_address()
            };
            match sys::recv_from(
                self.fd.as_fd(),
                &mut self.buf,
                libc::MSG_TRUNC | flags,
                &mut addr,
            ) {
                Ok((received, addr_len)) => return Ok((received, Sender::of(&addr, addr_len))),
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => return Err(error),
            }
        }
    }
}

/// Who sent a datagram, as far as the address the kernel reported tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sender {
    Kernel,
    /// Another port, or an address that is not a whole `sockaddr_nl`.
    Other,
}

impl Sender {
    fn of(addr: &SockaddrNl, addr_len: libc::socklen_t) -> Sender {
        let whole = addr_len == SOCKADDR_NL_LEN;
        let netlink = addr.nl_family == libc::AF_NETLINK as libc::sa_family_t;
        if whole && netlink && addr.nl_pid == 0 {
            Sender::Kernel
        } else {
            Sender::Other
        }
    }
}

impl AsFd for Socket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// The kernel's netlink address (port 0, no groups); also the template for our own.
fn kernel_address() -> SockaddrNl {
    SockaddrNl {
        nl_family: libc::AF_NETLINK as libc::sa_family_t,
        nl_pad: 0,
        nl_pid: 0,
        nl_groups: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(nl_family: libc::sa_family_t, nl_pid: u32) -> SockaddrNl {
        SockaddrNl {
            nl_family,
            nl_pid,
            ..kernel_address()
        }
    }

    #[test]
    fn only_a_whole_kernel_address_is_the_kernel() {
        let netlink = libc::AF_NETLINK as libc::sa_family_t;
        let whole = size_of::<SockaddrNl>() as libc::socklen_t;
        assert_eq!(Sender::of(&from(netlink, 0), whole), Sender::Kernel);
        // Another port: a user-space peer.
        assert_eq!(Sender::of(&from(netlink, 4242), whole), Sender::Other);
        // A short or missing address proves nothing, whatever the buffer held before.
        assert_eq!(Sender::of(&from(netlink, 0), 0), Sender::Other);
        assert_eq!(Sender::of(&from(netlink, 0), whole - 1), Sender::Other);
        assert_eq!(Sender::of(&from(netlink, 0), whole + 4), Sender::Other);
        // Not a netlink address at all.
        let inet = libc::AF_INET as libc::sa_family_t;
        assert_eq!(Sender::of(&from(inet, 0), whole), Sender::Other);
    }
}
