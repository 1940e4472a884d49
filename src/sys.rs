//! The only module with `unsafe`: every system call nlsel makes, each wrapped in a small safe
//! function in the manner of rustix. What the calls are for lives with their callers: the
//! netlink socket in `nl::socket`, entering a namespace in `netns`, the wait in `watch`.
//!
//! What it promises:
//! - a descriptor a call returns becomes an [`OwnedFd`] at once, so it is closed exactly once;
//! - every pointer handed to the kernel describes live memory of the length passed with it;
//! - each `unsafe` block holds one operation, with a `// SAFETY:` paragraph saying why it is
//!   sound (`#![deny(unsafe_code)]` at the crate root allows it in this module only).

use std::ffi::CStr;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

/// `struct sockaddr_nl`, spelled out because the libc crate keeps its padding field private.
#[repr(C)]
pub struct SockaddrNl {
    pub nl_family: libc::sa_family_t,
    pub nl_pad: libc::c_ushort,
    pub nl_pid: u32,
    pub nl_groups: u32,
}

const _: () = assert!(size_of::<SockaddrNl>() == size_of::<libc::sockaddr_nl>());

/// The length of a whole [`SockaddrNl`], as the kernel counts it.
pub const SOCKADDR_NL_LEN: libc::socklen_t = size_of::<SockaddrNl>() as libc::socklen_t;

/// The C library's text for an errno, without Rust's " (os error N)" suffix: the system's own
/// word for what its calls return (our advice on top of it is in `present`).
pub fn errno_text(errno: i32) -> String {
    let text = io::Error::from_raw_os_error(errno).to_string();
    match text.find(" (os error") {
        Some(end) => text.get(..end).unwrap_or(&text).to_string(),
        None => text,
    }
}

/// socket(2).
pub fn socket(
    domain: libc::c_int,
    kind: libc::c_int,
    protocol: libc::c_int,
) -> io::Result<OwnedFd> {
    // SAFETY: socket(2) takes only integers and returns a new descriptor or -1.
    let raw = unsafe { libc::socket(domain, kind, protocol) };
    if raw < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `raw` is a descriptor socket(2) just returned; nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(raw) })
}

/// setsockopt(2) of an `int` option.
pub fn set_int_option(
    fd: BorrowedFd<'_>,
    level: libc::c_int,
    name: libc::c_int,
    value: libc::c_int,
) -> io::Result<()> {
    let len = size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: the pointer and length describe `value`, a live c_int the kernel only reads.
    let rc =
        unsafe { libc::setsockopt(fd.as_raw_fd(), level, name, (&raw const value).cast(), len) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// getsockopt(2) of an `int` option.
pub fn int_option(
    fd: BorrowedFd<'_>,
    level: libc::c_int,
    name: libc::c_int,
) -> io::Result<libc::c_int> {
    let mut value: libc::c_int = 0;
    let mut len = size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: the pointers describe `value` and `len`, live and writable; the kernel writes
    // at most `len` bytes into `value` and the length it wrote into `len`.
    let rc = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (&raw mut value).cast(),
            &raw mut len,
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(value)
}

/// connect(2) to a netlink address.
pub fn connect(fd: BorrowedFd<'_>, addr: &SockaddrNl) -> io::Result<()> {
    // SAFETY: the pointer and length describe `addr`, a live sockaddr_nl the kernel only reads.
    let rc = unsafe {
        libc::connect(
            fd.as_raw_fd(),
            (addr as *const SockaddrNl).cast(),
            SOCKADDR_NL_LEN,
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// sendto(2) of one datagram to a netlink address; returns how many bytes went.
pub fn send_to(fd: BorrowedFd<'_>, bytes: &[u8], addr: &SockaddrNl) -> io::Result<usize> {
    // SAFETY: `bytes` is a live slice the kernel only reads; the address pointer and length
    // describe `addr`, a live sockaddr_nl.
    let sent = unsafe {
        libc::sendto(
            fd.as_raw_fd(),
            bytes.as_ptr().cast(),
            bytes.len(),
            0,
            (addr as *const SockaddrNl).cast(),
            SOCKADDR_NL_LEN,
        )
    };
    usize::try_from(sent).map_err(|_| io::Error::last_os_error())
}

/// recvfrom(2) of one datagram into `buf`, with the sender's address in `addr`. Returns what
/// the call returns (the datagram's full length under `MSG_TRUNC`, which may exceed `buf`)
/// and the length of the address the kernel wrote.
pub fn recv_from(
    fd: BorrowedFd<'_>,
    buf: &mut [u8],
    flags: libc::c_int,
    addr: &mut SockaddrNl,
) -> io::Result<(usize, libc::socklen_t)> {
    let mut addr_len = SOCKADDR_NL_LEN;
    // SAFETY: the buffer pointer and length describe `buf`, live and writable; the address
    // pointers describe `addr` and `addr_len`, live and writable. Even under MSG_TRUNC the
    // kernel writes no more than `buf.len()` bytes.
    let received = unsafe {
        libc::recvfrom(
            fd.as_raw_fd(),
            buf.as_mut_ptr().cast(),
            buf.len(),
            flags,
            (addr as *mut SockaddrNl).cast(),
            &raw mut addr_len,
        )
    };
    let received = usize::try_from(received).map_err(|_| io::Error::last_os_error())?;
    Ok((received, addr_len))
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

/// inotify_init1(2).
pub fn inotify_init1(flags: libc::c_int) -> io::Result<OwnedFd> {
    // SAFETY: inotify_init1(2) takes flags only and returns a new descriptor or -1.
    let raw = unsafe { libc::inotify_init1(flags) };
    if raw < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `raw` was just returned by inotify_init1 and is owned by nothing else.
    Ok(unsafe { OwnedFd::from_raw_fd(raw) })
}

/// inotify_add_watch(2).
pub fn inotify_add_watch(fd: BorrowedFd<'_>, path: &CStr, mask: u32) -> io::Result<()> {
    // SAFETY: the descriptor is live for the call; `path` is a NUL-terminated string that
    // outlives the call, which only reads it.
    let rc = unsafe { libc::inotify_add_watch(fd.as_raw_fd(), path.as_ptr(), mask) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// open(2) with `flags`, which may hold `O_PATH`. Not through std's OpenOptions: it masks
/// custom flags with O_ACCMODE, which musl defines as `3 | O_SEARCH` with O_SEARCH = O_PATH,
/// so the static musl binary would drop O_PATH.
pub fn open(path: &CStr, flags: libc::c_int) -> io::Result<OwnedFd> {
    // SAFETY: open(2) reads the NUL-terminated `path`, alive for the call, and returns a new
    // descriptor or -1.
    let raw = unsafe { libc::open(path.as_ptr(), flags) };
    if raw < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `raw` was just returned by open and is owned by nothing else.
    Ok(unsafe { OwnedFd::from_raw_fd(raw) })
}

/// `f_type` of the file system `fd` lives on, from fstatfs(2).
pub fn fs_magic(fd: BorrowedFd<'_>) -> io::Result<i64> {
    // SAFETY: an all-zero statfs is a valid value of a plain C struct; fstatfs overwrites it.
    let mut stat: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: the pointer is to `stat`, a live, writable statfs; the descriptor is live for
    // the call.
    let rc = unsafe { libc::fstatfs(fd.as_raw_fd(), &raw mut stat) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    #[allow(clippy::unnecessary_cast, clippy::useless_conversion)]
    Ok(i64::from(stat.f_type as i64))
}

/// setns(2): moves this thread into the namespace `fd` names, of type `nstype`.
pub fn setns(fd: BorrowedFd<'_>, nstype: libc::c_int) -> io::Result<()> {
    // SAFETY: setns(2) takes a descriptor, live for the call, and a flag; it touches no
    // memory of ours.
    let rc = unsafe { libc::setns(fd.as_raw_fd(), nstype) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
