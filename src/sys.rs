//! The only module with `unsafe`: every system call nlsel makes, each wrapped in a small safe
//! function in the manner of rustix. What the calls are for lives with their callers: the
//! netlink socket in `nl::socket`, entering a namespace in `netns`, the wait in `watch`.
//!
//! What it promises:
//! - a descriptor a call returns becomes an [`OwnedFd`] at once, so it is closed exactly once;
//! - every pointer handed to the kernel describes live memory of the length passed with it;
//! - each `unsafe` block holds one operation, with a `// SAFETY:` paragraph saying why it is
//!   sound (`#![deny(unsafe_code)]` at the crate root allows it in this module only).

use std::alloc::{GlobalAlloc, Layout};
use std::ffi::CStr;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering};

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

/// The names in the directory at `path` (not `.` and `..`), in the order getdents64(2) gives
/// them. In place of `std::fs::read_dir`, whose opendir(3) is the only caller of the C
/// library's malloc besides Rust's allocator: without it, [`Allocator`] replaces musl's
/// malloc entirely, 8.7 KB of the shipped binary.
pub fn directory_names(path: &CStr) -> io::Result<Vec<Vec<u8>>> {
    let dir = open(path, libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC)?;
    let mut names = Vec::new();
    let mut buffer = vec![0u8; 4096];
    loop {
        // SAFETY: getdents64(2) writes at most `buffer.len()` bytes into `buffer`, which is
        // live and writable for that length, and reads nothing else of ours.
        let read = unsafe {
            libc::syscall(
                libc::SYS_getdents64,
                dir.as_raw_fd(),
                buffer.as_mut_ptr(),
                buffer.len(),
            )
        };
        let Ok(read) = usize::try_from(read) else {
            return Err(io::Error::last_os_error());
        };
        if read == 0 {
            return Ok(names);
        }
        let mut records = buffer.get(..read).unwrap_or_default();
        // struct linux_dirent64: d_ino (8), d_off (8), d_reclen (2), d_type (1), d_name.
        while let Some(&[low, high]) = records.get(16..18) {
            let length = usize::from(u16::from_ne_bytes([low, high]));
            let record = records.get(..length).filter(|_| length > 19);
            let Some(record) = record else {
                return Err(io::Error::from(io::ErrorKind::InvalidData));
            };
            let name = record.get(19..).unwrap_or_default();
            let name = name.split(|&b| b == 0).next().unwrap_or_default();
            if name != b"." && name != b".." {
                names.push(name.to_vec());
            }
            records = records.get(length..).unwrap_or_default();
        }
    }
}

/// nlsel's memory allocator, in place of musl's malloc (which costs the shipped binary 8.7 KB):
/// blocks of 16, 32, … 4096 bytes, each size on its own free list, cut from 64 KiB mappings;
/// anything larger is a mapping of its own, unmapped when freed. A freed block waits on its
/// list for the next request of its size, so a long `--watch` holds at most the peak it has
/// needed of each size. One lock (a spin flag: nlsel runs one thread) guards the lists.
pub struct Allocator;

const SMALLEST_SHIFT: u32 = 4;
const PAGE: usize = 4096;
const CHUNK: usize = 64 * 1024;
/// Block sizes 16 (1 << 4) to 4096 (1 << 12).
const CLASSES: usize = 9;

static LOCK: AtomicBool = AtomicBool::new(false);
static FREE: [AtomicPtr<u8>; CLASSES] = [const { AtomicPtr::new(ptr::null_mut()) }; CLASSES];
/// The current chunk's first unused byte, and how many bytes of it are left.
static NEXT: AtomicPtr<u8> = AtomicPtr::new(ptr::null_mut());
static LEFT: AtomicUsize = AtomicUsize::new(0);

/// The free list a block for `layout` comes from, or `None` for a mapping of its own. A block
/// is a power of two at least as large as the size and the alignment, so cut at a multiple of
/// its own size it is aligned enough.
fn size_class(layout: Layout) -> Option<usize> {
    let size = layout.size().max(layout.align());
    if size > PAGE {
        return None;
    }
    let shift = size.next_power_of_two().trailing_zeros();
    Some(shift.saturating_sub(SMALLEST_SHIFT) as usize)
}

fn class_size(class: usize) -> usize {
    1 << (class as u32 + SMALLEST_SHIFT)
}

/// `size` rounded up to whole pages: the length of a mapping of its own.
fn mapped_len(size: usize) -> usize {
    size.div_ceil(PAGE).saturating_mul(PAGE)
}

fn map(len: usize) -> *mut u8 {
    // SAFETY: a new private anonymous mapping, placed by the kernel, touches no memory that
    // exists; a failure returns MAP_FAILED, turned into null for the caller.
    let mapped = unsafe {
        libc::mmap(
            ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if mapped == libc::MAP_FAILED {
        return ptr::null_mut();
    }
    mapped.cast()
}

fn lock() {
    while LOCK
        .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
        .is_err()
    {
        std::hint::spin_loop();
    }
}

fn unlock() {
    LOCK.store(false, Ordering::Release);
}

/// A block of `class`: the head of its free list, else cut from the current chunk (a new one
/// when it has too little left). Null when the kernel has no memory. Called with the lock held.
fn take(class: usize) -> *mut u8 {
    let Some(list) = FREE.get(class) else {
        return ptr::null_mut();
    };
    let head = list.load(Ordering::Relaxed);
    if !head.is_null() {
        // SAFETY: a block on a free list was handed back by `dealloc`, which wrote the next
        // block's address into its first 8 bytes; blocks are 16-aligned and at least 16 long.
        let next = unsafe { head.cast::<*mut u8>().read() };
        list.store(next, Ordering::Relaxed);
        return head;
    }
    let size = class_size(class);
    let mut next = NEXT.load(Ordering::Relaxed);
    let mut left = LEFT.load(Ordering::Relaxed);
    let pad = next.align_offset(size);
    if next.is_null() || pad.saturating_add(size) > left {
        next = map(CHUNK);
        if next.is_null() {
            return ptr::null_mut();
        }
        // A new chunk is page-aligned, and every block size divides a page.
        left = CHUNK;
    } else {
        next = next.wrapping_add(pad);
        left -= pad;
    }
    NEXT.store(next.wrapping_add(size), Ordering::Relaxed);
    LEFT.store(left - size, Ordering::Relaxed);
    next
}

// SAFETY: `alloc` returns null or a block of at least `layout.size()` bytes, aligned to
// `layout.align()`, that overlaps no block in use: a block is either on one free list, cut once
// from a chunk, or a mapping of its own, and it is handed out only after leaving its list.
// `dealloc` takes back exactly such a block with the layout it was made for, as `GlobalAlloc`'s
// contract requires, so it goes back to the list (or the mapping) it came from.
unsafe impl GlobalAlloc for Allocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        match size_class(layout) {
            Some(class) => {
                lock();
                let block = take(class);
                unlock();
                block
            }
            None if layout.align() <= PAGE => map(mapped_len(layout.size())),
            None => ptr::null_mut(),
        }
    }

    unsafe fn dealloc(&self, block: *mut u8, layout: Layout) {
        match size_class(layout) {
            Some(class) => {
                let Some(list) = FREE.get(class) else {
                    return;
                };
                lock();
                // SAFETY: `block` came from `alloc` for this layout (the caller's contract), so
                // it is ours, 16-aligned, at least 16 bytes and no longer used by anyone.
                unsafe { block.cast::<*mut u8>().write(list.load(Ordering::Relaxed)) };
                list.store(block, Ordering::Relaxed);
                unlock();
            }
            None => {
                // SAFETY: `block` is a mapping `alloc` made of exactly this length for this
                // layout, and its caller no longer uses it.
                unsafe { libc::munmap(block.cast(), mapped_len(layout.size())) };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(size: usize, align: usize) -> Layout {
        Layout::from_size_align(size, align).unwrap()
    }

    #[test]
    fn a_block_is_the_smallest_power_of_two_covering_size_and_alignment() {
        assert_eq!(size_class(layout(1, 1)), Some(0));
        assert_eq!(size_class(layout(16, 8)), Some(0));
        assert_eq!(size_class(layout(17, 1)), Some(1));
        assert_eq!(size_class(layout(8, 64)), Some(2));
        assert_eq!(size_class(layout(4096, 1)), Some(CLASSES - 1));
        assert_eq!(size_class(layout(4097, 1)), None);
        assert_eq!(size_class(layout(16, 8192)), None);
        for class in 0..CLASSES {
            assert_eq!(size_class(layout(class_size(class), 1)), Some(class));
        }
        assert_eq!(mapped_len(4097), 8192);
        assert_eq!(mapped_len(8192), 8192);
    }

    /// Blocks of every class and some mapped ones, written to their last byte while all are
    /// held: none overlaps another, each is aligned, and freed blocks are handed out again.
    #[test]
    fn blocks_are_aligned_disjoint_and_reused() {
        let sizes = [1, 7, 16, 24, 100, 512, 1000, 4096, 5000, 70_000];
        let mut held = Vec::new();
        for round in 0..3u8 {
            for (i, &size) in sizes.iter().enumerate() {
                for align in [1, 8, 16, 4096] {
                    let l = layout(size, align);
                    // SAFETY: a nonzero size; the block is freed below with the same layout.
                    let block = unsafe { Allocator.alloc(l) };
                    assert!(!block.is_null());
                    assert_eq!(block.align_offset(align), 0);
                    let fill = round.wrapping_mul(31).wrapping_add(i as u8);
                    // SAFETY: the block is ours and `size` bytes long.
                    unsafe { block.write_bytes(fill, size) };
                    held.push((block, l, fill));
                }
            }
            for &(block, l, fill) in &held {
                // SAFETY: still held, `l.size()` bytes long.
                let bytes = unsafe { std::slice::from_raw_parts(block, l.size()) };
                assert!(bytes.iter().all(|&b| b == fill), "a block was overwritten");
            }
            let freed_small: Vec<*mut u8> = held
                .iter()
                .filter(|(_, l, _)| size_class(*l) == Some(0))
                .map(|&(block, ..)| block)
                .collect();
            for (block, l, _) in held.drain(..) {
                // SAFETY: made by `alloc` with `l`, not used again.
                unsafe { Allocator.dealloc(block, l) };
            }
            // A freed block is handed out again before a chunk is cut further.
            let l = layout(1, 1);
            // SAFETY: as above.
            let again = unsafe { Allocator.alloc(l) };
            assert!(freed_small.contains(&again), "a freed block was not reused");
            // SAFETY: as above.
            unsafe { Allocator.dealloc(again, l) };
        }
    }

    #[test]
    fn directory_names_lists_a_directory_and_refuses_a_file() {
        let dir = std::env::temp_dir().join(format!("nlsel-sys-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for name in ["a.service", "b"] {
            std::fs::write(dir.join(name), "").unwrap();
        }
        let path = std::ffi::CString::new(dir.to_str().unwrap()).unwrap();
        let mut names = directory_names(&path).unwrap();
        names.sort();
        assert_eq!(names, [b"a.service".to_vec(), b"b".to_vec()]);
        let file = std::ffi::CString::new(dir.join("b").to_str().unwrap()).unwrap();
        let error = directory_names(&file).unwrap_err();
        assert_eq!(error.raw_os_error(), Some(libc::ENOTDIR));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
