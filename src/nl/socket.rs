//! The only file with `unsafe`: the system calls nlsel makes, each wrapped in a small safe
//! function, in the manner of rustix.
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

use std::fs::File;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt as _;
use std::time::Instant;

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

    fn int_option(&self, level: libc::c_int, name: libc::c_int) -> io::Result<libc::c_int> {
        let mut value: libc::c_int = 0;
        let mut len = size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: the pointers describe `value` and `len`, live and writable; the kernel writes
        // at most `len` bytes into `value` and the length it wrote into `len`.
        let rc = unsafe {
            libc::getsockopt(
                self.fd.as_raw_fd(),
                level,
                name,
                (&raw mut value).cast(),
                &raw mut len,
            )
        };
        if rc < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(value)
        }
    }

    /// Connects to the kernel's port 0. The kernel then refuses (ECONNREFUSED) any unicast
    /// datagram another user-space socket sends to our port, so a flood of forged messages can
    /// neither reach us nor crowd our acknowledgements out of the receive queue. Multicast
    /// notifications still arrive; [`Socket::recv_until`] checks their sender.
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
            match poll_readable(&[self.fd.as_fd()], timeout_ms) {
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
            return Ok((received, Sender::of(&addr, addr_len)));
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
        let whole = usize::try_from(addr_len).is_ok_and(|len| len == size_of::<SockaddrNl>());
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

/// Blocks (`block`) or unblocks `signals` for this thread, which is the whole process: nlsel
/// has one thread. A blocked signal stays pending, and is acted on once it is unblocked, so a
/// signal that comes before its handler is installed is not lost to its default action.
pub fn block_signals(signals: &[libc::c_int], block: bool) -> io::Result<()> {
    let mut set = std::mem::MaybeUninit::<libc::sigset_t>::uninit();
    // SAFETY: sigemptyset(3) initialises the sigset_t the pointer names, which is live and
    // writable; it reads nothing.
    let rc = unsafe { libc::sigemptyset(set.as_mut_ptr()) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    for &signal in signals {
        // SAFETY: the set was initialised by sigemptyset above; an invalid signal number is
        // an error (EINVAL), not undefined behaviour.
        let rc = unsafe { libc::sigaddset(set.as_mut_ptr(), signal) };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    let how = if block {
        libc::SIG_BLOCK
    } else {
        libc::SIG_UNBLOCK
    };
    // SAFETY: the set is initialised and only read; the old mask is not wanted, so its pointer
    // is null, which pthread_sigmask(3) allows.
    let rc = unsafe { libc::pthread_sigmask(how, set.as_ptr(), std::ptr::null_mut()) };
    if rc != 0 {
        return Err(io::Error::from_raw_os_error(rc));
    }
    Ok(())
}

/// An inotify descriptor watching the directory `dir` for entries created, deleted or moved,
/// and for the directory itself going away. Non-blocking and close-on-exec; what it reads
/// says only that something changed there, so the caller looks again at what it cares about.
pub fn watch_directory(dir: &std::path::Path) -> io::Result<File> {
    use std::os::unix::ffi::OsStrExt as _;
    let path = std::ffi::CString::new(dir.as_os_str().as_bytes())
        .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    // SAFETY: inotify_init1(2) takes flags only and returns a new descriptor or -1.
    let fd = unsafe { libc::inotify_init1(libc::IN_NONBLOCK | libc::IN_CLOEXEC) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` was just returned by inotify_init1 and is owned by nothing else, so the
    // File is its only owner and closes it once.
    let file = unsafe { File::from_raw_fd(fd) };
    let mask = libc::IN_CREATE
        | libc::IN_DELETE
        | libc::IN_MOVED_FROM
        | libc::IN_MOVED_TO
        | libc::IN_DELETE_SELF
        | libc::IN_MOVE_SELF
        | libc::IN_UNMOUNT;
    // SAFETY: the descriptor is live (owned by `file`); `path` is a NUL-terminated string that
    // outlives the call, which only reads it.
    let rc = unsafe { libc::inotify_add_watch(file.as_raw_fd(), path.as_ptr(), mask) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(file)
}

/// `NSFS_MAGIC` from <linux/magic.h>: the file system of namespace files (`/run/netns/*`,
/// `/proc/PID/ns/*`) since 3.19.
const NSFS_MAGIC: i64 = 0x6e73_6673;

/// `PROC_SUPER_MAGIC`: before 3.19 namespace files were procfs inodes
/// (`proc_ns_get_dentry` on the proc super block, fs/proc/namespaces.c in 3.10 and vz7), and
/// a bind mount of one under /run/netns stays one.
const PROC_SUPER_MAGIC: i64 = 0x9fa0;

/// Why a path given as a network namespace cannot be entered.
#[derive(Debug)]
pub enum NetnsError {
    /// It could not be opened or inspected.
    Io(io::Error),
    /// It is not a namespace file (a FIFO, a regular file, a directory…).
    NotANamespace,
    /// It is a namespace file, but not of a network namespace.
    NotNetwork,
    /// It was entered, and has since been deleted (`ip netns del`) or replaced.
    Gone,
}

/// The file `-n NETNS` names: `/run/netns/NETNS`, as for `ip -n`, or NETNS itself when it
/// holds a '/'.
pub fn netns_path(netns: &std::ffi::OsStr) -> std::path::PathBuf {
    use std::os::unix::ffi::OsStrExt as _;
    if netns.as_bytes().contains(&b'/') {
        std::path::PathBuf::from(netns)
    } else {
        std::path::Path::new("/run/netns").join(netns)
    }
}

/// Moves this thread into the network namespace at `path`, as `ip -n` does. Sockets opened
/// afterwards talk to that namespace's kernel state.
///
/// The path is first located with `O_PATH`, which never blocks (a FIFO would block a plain
/// open until a writer came) and reads nothing. A namespace file is a regular file (nsfs and
/// the older procfs ones alike are `S_IFREG`), so anything else is refused before it is
/// opened; the file opened must then be on nsfs, or be a namespace file on procfs (before
/// 3.19). The type is read with fstat,
/// which works on an `O_PATH` descriptor from 3.6 on; fstatfs needs 3.12.
pub fn enter_netns(path: &std::path::Path) -> Result<(), NetnsError> {
    use std::os::unix::ffi::OsStrExt as _;
    // Not through std's OpenOptions: it masks custom flags with O_ACCMODE, which musl defines
    // as `3 | O_SEARCH` with O_SEARCH = O_PATH, so the static musl binary would drop O_PATH and
    // block on a FIFO.
    let c_path = std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|_| NetnsError::Io(io::Error::from_raw_os_error(libc::EINVAL)))?;
    // SAFETY: open(2) reads the NUL-terminated `c_path`, alive for the call, and returns a new
    // descriptor or -1.
    let fd = unsafe { libc::open(c_path.as_ptr(), libc::O_PATH | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(NetnsError::Io(io::Error::last_os_error()));
    }
    // SAFETY: `fd` was just returned by open and is owned by nothing else, so the File is its
    // only owner and closes it once.
    let located = unsafe { File::from_raw_fd(fd) };
    if !located.metadata().map_err(NetnsError::Io)?.is_file() {
        return Err(NetnsError::NotANamespace);
    }
    // setns refuses an O_PATH descriptor (EBADF): open the very file checked, through its
    // descriptor's link in /proc. Without /proc, open the path again without blocking; the
    // file system check below holds either way.
    let file = match File::open(format!("/proc/self/fd/{}", located.as_raw_fd())) {
        Ok(file) => file,
        Err(_) => std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(path)
            .map_err(NetnsError::Io)?,
    };
    let namespace = match fs_magic(&file).map_err(NetnsError::Io)? {
        NSFS_MAGIC => true,
        PROC_SUPER_MAGIC => is_proc_namespace(&file),
        _ => false,
    };
    if !namespace {
        return Err(NetnsError::NotANamespace);
    }
    // SAFETY: setns(2) takes a descriptor we own for the duration of the call and a flag; it
    // touches no memory of ours.
    let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
    if rc < 0 {
        let error = io::Error::last_os_error();
        // Another kind of namespace (mnt, uts…) is refused with EINVAL for CLONE_NEWNET.
        return Err(if error.raw_os_error() == Some(libc::EINVAL) {
            NetnsError::NotNetwork
        } else {
            NetnsError::Io(error)
        });
    }
    Ok(())
}

/// Whether a procfs file is a namespace file: its descriptor's link reads `net:[4026531956]`
/// (`ns_dname` in 3.10's fs/proc/namespaces.c), where any other procfs file's reads as a path.
fn is_proc_namespace(file: &File) -> bool {
    use std::os::unix::ffi::OsStrExt as _;
    std::fs::read_link(format!("/proc/self/fd/{}", file.as_raw_fd())).is_ok_and(|link| {
        let name = link.as_os_str().as_bytes();
        !name.starts_with(b"/") && name.ends_with(b"]") && name.windows(2).any(|w| w == b":[")
    })
}

/// Whether `path` still names the network namespace this process is in: the same namespace
/// inode. False once the file is gone, or names another namespace (deleted and added again).
/// nlsel has one thread, so `/proc/self` is enough; `/proc/thread-self` would need 3.17.
pub fn is_current_netns(path: &std::path::Path) -> io::Result<bool> {
    use std::os::unix::fs::MetadataExt as _;
    let current = std::fs::metadata("/proc/self/ns/net")?;
    match std::fs::metadata(path) {
        Ok(named) => Ok(named.dev() == current.dev() && named.ino() == current.ino()),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(error) => Err(error),
    }
}

/// `f_type` of the file system `file` lives on.
fn fs_magic(file: &File) -> io::Result<i64> {
    // SAFETY: an all-zero statfs is a valid value of a plain C struct; fstatfs overwrites it.
    let mut stat: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: the pointer is to `stat`, a live, writable statfs; the descriptor is owned by
    // `file` for the duration of the call.
    let rc = unsafe { libc::fstatfs(file.as_raw_fd(), &raw mut stat) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    #[allow(clippy::unnecessary_cast, clippy::useless_conversion)]
    Ok(i64::from(stat.f_type as i64))
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
    fn namespace_files_are_told_from_other_proc_files_by_their_link() {
        // Before 3.19 both are procfs files; the link text is what tells them apart, and it
        // reads the same on nsfs.
        let namespace = File::open("/proc/self/ns/net").unwrap();
        assert!(is_proc_namespace(&namespace));
        let version = File::open("/proc/version").unwrap();
        assert_eq!(fs_magic(&version).unwrap(), PROC_SUPER_MAGIC);
        assert!(!is_proc_namespace(&version));
        assert!(!is_proc_namespace(&File::open("/").unwrap()));
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
