//! `-n NETNS`: which file names the namespace, entering it as `ip -n` does, noticing that it
//! was deleted, and the inotify watch that tells `--watch` to look. The system calls are in
//! [`crate::sys`]; this module decides what counts as a network namespace file.

use std::ffi::{CString, OsStr};
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::ffi::OsStrExt as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

use crate::sys;

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
pub fn netns_path(netns: &OsStr) -> PathBuf {
    if netns.as_bytes().contains(&b'/') {
        PathBuf::from(netns)
    } else {
        Path::new("/run/netns").join(netns)
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
pub fn enter_netns(path: &Path) -> Result<(), NetnsError> {
    let c_path = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| NetnsError::Io(io::Error::from_raw_os_error(libc::EINVAL)))?;
    let located =
        File::from(sys::open(&c_path, libc::O_PATH | libc::O_CLOEXEC).map_err(NetnsError::Io)?);
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
    let namespace = match sys::fs_magic(file.as_fd()).map_err(NetnsError::Io)? {
        NSFS_MAGIC => true,
        PROC_SUPER_MAGIC => is_proc_namespace(&file),
        _ => false,
    };
    if !namespace {
        return Err(NetnsError::NotANamespace);
    }
    match sys::setns(file.as_fd(), libc::CLONE_NEWNET) {
        Ok(()) => Ok(()),
        // Another kind of namespace (mnt, uts…) is refused with EINVAL for CLONE_NEWNET.
        Err(error) if error.raw_os_error() == Some(libc::EINVAL) => Err(NetnsError::NotNetwork),
        Err(error) => Err(NetnsError::Io(error)),
    }
}

/// Whether a procfs file is a namespace file: its descriptor's link reads `net:[4026531956]`
/// (`ns_dname` in 3.10's fs/proc/namespaces.c), where any other procfs file's reads as a path.
fn is_proc_namespace(file: &File) -> bool {
    std::fs::read_link(format!("/proc/self/fd/{}", file.as_raw_fd())).is_ok_and(|link| {
        let name = link.as_os_str().as_bytes();
        !name.starts_with(b"/") && name.ends_with(b"]") && name.windows(2).any(|w| w == b":[")
    })
}

/// Whether `path` still names the network namespace this process is in: the same namespace
/// inode. False once the file is gone, or names another namespace (deleted and added again).
/// nlsel has one thread, so `/proc/self` is enough; `/proc/thread-self` would need 3.17.
pub fn is_current_netns(path: &Path) -> io::Result<bool> {
    use std::os::unix::fs::MetadataExt as _;
    let current = std::fs::metadata("/proc/self/ns/net")?;
    match std::fs::metadata(path) {
        Ok(named) => Ok(named.dev() == current.dev() && named.ino() == current.ino()),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(error) => Err(error),
    }
}

/// An inotify descriptor watching the directory `dir` for entries created, deleted or moved,
/// and for the directory itself going away. Non-blocking and close-on-exec; what it reads
/// says only that something changed there, so the caller looks again at what it cares about.
pub fn watch_directory(dir: &Path) -> io::Result<File> {
    let path = CString::new(dir.as_os_str().as_bytes())
        .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    let fd = sys::inotify_init1(libc::IN_NONBLOCK | libc::IN_CLOEXEC)?;
    let mask = libc::IN_CREATE
        | libc::IN_DELETE
        | libc::IN_MOVED_FROM
        | libc::IN_MOVED_TO
        | libc::IN_DELETE_SELF
        | libc::IN_MOVE_SELF
        | libc::IN_UNMOUNT;
    sys::inotify_add_watch(fd.as_fd(), &path, mask)?;
    Ok(File::from(fd))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespace_files_are_told_from_other_proc_files_by_their_link() {
        // Before 3.19 both are procfs files; the link text is what tells them apart, and it
        // reads the same on nsfs.
        let namespace = File::open("/proc/self/ns/net").unwrap();
        assert!(is_proc_namespace(&namespace));
        let version = File::open("/proc/version").unwrap();
        assert_eq!(sys::fs_magic(version.as_fd()).unwrap(), PROC_SUPER_MAGIC);
        assert!(!is_proc_namespace(&version));
        assert!(!is_proc_namespace(&File::open("/").unwrap()));
    }
}
