//! The only file with `unsafe`: the system calls nlsel makes, each wrapped in a small safe
//! function, in the manner of rustix.
//!
//! What it promises:
//! - the socket is `AF_NETLINK`/`NETLINK_ROUTE`, close-on-exec, bound to a kernel-assigned port,
//!   owned by an [`OwnedFd`] so it is closed exactly once;
//! - the socket is connected to the kernel, so the kernel refuses unicast datagrams that other
//!   user-space sockets address to our port;
//! - [`Socket::recv`] only ever returns datagrams whose sender is the kernel (port 0), which
//!   also covers multicast: user space cannot forge the sender address the kernel reports;
//! - a datagram larger than the receive buffer is an error, never a silently cut message.

use std::fs::File;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

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
}

impl Socket {
    /// Opens and binds the socket, and turns on extended acks, strict checking of requests and
    /// capped acks. Kernels too old for an option answer ENOPROTOOPT, which is ignored.
    pub fn open() -> io::Result<Socket> {
        // SAFETY: socket(2) takes only integers and returns a new descriptor or -1.
        let raw = unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                libc::NETLINK_ROUTE,
            )
        };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `raw` is a descriptor socket(2) just returned; nothing else owns it.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let socket = Socket {
            fd,
            buf: vec![0u8; RECV_BUF_LEN].into_boxed_slice(),
        };
        for option in [NETLINK_EXT_ACK, NETLINK_GET_STRICT_CHK, NETLINK_CAP_ACK] {
            match socket.set_int_option(SOL_NETLINK, option, 1) {
                Err(error) if error.raw_os_error() == Some(libc::ENOPROTOOPT) => {}
                other => other?,
            }
        }
        // Forcing the size needs CAP_NET_ADMIN; without it the capped request is good enough.
        if socket
            .set_int_option(libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, SO_RCVBUF_BYTES)
            .is_err()
        {
            let _ = socket.set_int_option(libc::SOL_SOCKET, libc::SO_RCVBUF, SO_RCVBUF_BYTES);
        }
        socket.bind()?;
        socket.connect_to_kernel()?;
        Ok(socket)
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
        let len = size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: the pointer and length describe `value`, a live c_int the kernel only reads.
        let rc = unsafe {
            libc::setsockopt(
                self.fd.as_raw_fd(),
                level,
                name,
                (&raw const value).cast(),
                len,
            )
        };
        if rc < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(())
        }
    }

    fn bind(&self) -> io::Result<()> {
        let addr = kernel_address();
        let len = size_of::<SockaddrNl>() as libc::socklen_t;
        // SAFETY: the pointer and length describe `addr`, a live sockaddr_nl the kernel only
        // reads; port 0 asks the kernel to assign one.
        let rc = unsafe { libc::bind(self.fd.as_raw_fd(), (&raw const addr).cast(), len) };
        if rc < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(())
        }
    }

    /// Connects to the kernel's port 0. The kernel then refuses (ECONNREFUSED) any unicast
    /// datagram another user-space socket sends to our port, so a flood of forged messages can
    /// neither reach us nor crowd our acknowledgements out of the receive queue. Multicast
    /// notifications still arrive; [`Socket::recv`] checks their sender.
    fn connect_to_kernel(&self) -> io::Result<()> {
        let addr = kernel_address();
        let len = size_of::<SockaddrNl>() as libc::socklen_t;
        // SAFETY: the pointer and length describe `addr`, a live sockaddr_nl the kernel only
        // reads.
        let rc = unsafe { libc::connect(self.fd.as_raw_fd(), (&raw const addr).cast(), len) };
        if rc < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(())
        }
    }

    /// Sends one datagram, which may hold many messages, to the kernel. EINTR is retried.
    pub fn send(&self, bytes: &[u8]) -> io::Result<()> {
        let addr = kernel_address();
        let len = size_of::<SockaddrNl>() as libc::socklen_t;
        loop {
            // SAFETY: `bytes` is a live slice the kernel only reads; the address pointer and
            // length describe `addr`, a live sockaddr_nl.
            let sent = unsafe {
                libc::sendto(
                    self.fd.as_raw_fd(),
                    bytes.as_ptr().cast(),
                    bytes.len(),
                    0,
                    (&raw const addr).cast(),
                    len,
                )
            };
            match usize::try_from(sent) {
                Ok(sent) if sent == bytes.len() => return Ok(()),
                Ok(_) => {
                    return Err(io::Error::new(
                        io::ErrorKind::WriteZero,
                        "short netlink send",
                    ));
                }
                Err(_) => {
                    let error = io::Error::last_os_error();
                    if error.kind() != io::ErrorKind::Interrupted {
                        return Err(error);
                    }
                }
            }
        }
    }

    /// Receives the next datagram from the kernel, waiting for it. Datagrams from any other
    /// sender are dropped unread. EINTR is retried; ENOBUFS (the kernel dropped messages for
    /// us) is returned.
    pub fn recv(&mut self) -> io::Result<&[u8]> {
        let len = self.recv_len(0)?;
        Ok(self.buf.get(..len).unwrap_or_default())
    }

    /// Like [`Socket::recv`], but returns `None` at once when nothing from the kernel is queued.
    pub fn try_recv(&mut self) -> io::Result<Option<&[u8]>> {
        match self.recv_len(libc::MSG_DONTWAIT) {
            Ok(len) => Ok(Some(self.buf.get(..len).unwrap_or_default())),
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// Reads one datagram from the kernel into the buffer and returns its length.
    fn recv_len(&mut self, flags: libc::c_int) -> io::Result<usize> {
        loop {
            let mut addr = kernel_address();
            let mut addr_len = size_of::<SockaddrNl>() as libc::socklen_t;
            // SAFETY: the buffer pointer and length describe `self.buf`, live and writable; the
            // address pointers describe `addr` and `addr_len`, live and writable. MSG_TRUNC makes
            // the call return the datagram's full length without writing past the buffer.
            let received = unsafe {
                libc::recvfrom(
                    self.fd.as_raw_fd(),
                    self.buf.as_mut_ptr().cast(),
                    self.buf.len(),
                    libc::MSG_TRUNC | flags,
                    (&raw mut addr).cast(),
                    &raw mut addr_len,
                )
            };
            let Ok(received) = usize::try_from(received) else {
                let error = io::Error::last_os_error();
                if error.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(error);
            };
            if addr.nl_pid != 0 {
                continue;
            }
            if received > self.buf.len() {
                return Err(io::Error::from_raw_os_error(libc::EMSGSIZE));
            }
            return Ok(received);
        }
    }
}

impl AsFd for Socket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// `struct sockaddr_nl`, spelled out because the libc crate keeps its padding field private.
#[repr(C)]
struct SockaddrNl {
    nl_family: libc::sa_family_t,
    nl_pad: libc::c_ushort,
    nl_pid: u32,
    nl_groups: u32,
}

const _: () = assert!(size_of::<SockaddrNl>() == size_of::<libc::sockaddr_nl>());

/// The kernel's netlink address (port 0, no groups); also the template for our own.
fn kernel_address() -> SockaddrNl {
    SockaddrNl {
        nl_family: libc::AF_NETLINK as libc::sa_family_t,
        nl_pad: 0,
        nl_pid: 0,
        nl_groups: 0,
    }
}

/// Waits until one of `fds` is readable or `timeout_ms` passes (-1 waits for ever), and says
/// which are. A signal that interrupts the wait gives EINTR.
pub fn poll_readable(fds: &[BorrowedFd<'_>], timeout_ms: libc::c_int) -> io::Result<Vec<bool>> {
    let mut pollfds: Vec<libc::pollfd> = fds
        .iter()
        .map(|fd| libc::pollfd {
            fd: fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    let count = libc::nfds_t::try_from(pollfds.len())
        .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    // SAFETY: the pointer and count describe `pollfds`, a live, writable vector of pollfd.
    let rc = unsafe { libc::poll(pollfds.as_mut_ptr(), count, timeout_ms) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(pollfds
        .iter()
        .map(|p| p.revents & (libc::POLLIN | libc::POLLHUP | libc::POLLERR) != 0)
        .collect())
}

/// The handler [`exit_on_signals`] installs: ends the process at once with exit 0.
extern "C" fn exit_zero(_signal: libc::c_int) {
    // SAFETY: _exit(2) is async-signal-safe (signal-safety(7)) and touches no memory of ours;
    // skipping atexit handlers and buffered output is the point: every line a long-running
    // command prints is flushed as it is written.
    unsafe { libc::_exit(0) }
}

/// Makes each of `signals` end the process with exit 0 the moment it is delivered, whatever
/// the process is doing: waiting in `poll`, reading a dump, or between the datagrams of a
/// batch. The only bound is the system call in progress, since a signal is acted on when the
/// kernel returns to user space. The kernel's state needs no cleanup: every change nlsel sends
/// is complete in itself.
pub fn exit_on_signals(signals: &[libc::c_int]) -> io::Result<()> {
    // SAFETY: an all-zero sigaction is a valid value: no flags, an empty mask, no handler.
    let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
    action.sa_sigaction = exit_zero as extern "C" fn(libc::c_int) as libc::sighandler_t;
    for &signal in signals {
        // SAFETY: `action` is a live, initialised sigaction the call only reads, whose handler
        // calls nothing but _exit; the old action is not wanted, so its pointer is null, which
        // sigaction(2) allows. An invalid signal number is an error, not undefined behaviour.
        let rc = unsafe { libc::sigaction(signal, &raw const action, std::ptr::null_mut()) };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Moves this thread into the network namespace `netns` refers to, as `ip -n` does. Sockets
/// opened afterwards talk to that namespace's kernel state.
pub fn enter_netns(netns: &File) -> io::Result<()> {
    // SAFETY: setns(2) takes a descriptor we own for the duration of the call and a flag; it
    // touches no memory of ours.
    let rc = unsafe { libc::setns(netns.as_raw_fd(), libc::CLONE_NEWNET) };
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}
