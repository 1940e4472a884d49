//! Readiness for systemd (`Type=notify`): the sd_notify datagram protocol, without a library.
//! systemd passes a unix datagram socket in `$NOTIFY_SOCKET`, a path or, when it starts with
//! `@`, an abstract name; one datagram of `KEY=VALUE` lines tells it the service's state. A
//! process started without the variable (a shell, `Type=exec`) sends nothing.
//!
//! A path reaches systemd from any network namespace; an abstract name belongs to the
//! namespace the socket is created in, which under `-n NETNS` is NETNS, not systemd's.

use std::ffi::OsStr;
use std::io;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};

/// The datagram that says the service is ready, with the `STATUS=` line `systemctl status`
/// shows: one `KEY=VALUE` per line, so `status` is one line.
fn ready_state(status: &str) -> String {
    ["READY=1\nSTATUS=", status, "\n"].concat()
}

/// Tells the service manager that the service is ready, and `status` (one line). Sends
/// nothing, successfully, when `$NOTIFY_SOCKET` is not set.
pub fn ready(status: &str) -> io::Result<()> {
    send(
        std::env::var_os("NOTIFY_SOCKET").as_deref(),
        &ready_state(status),
    )
}

/// Sends `state` to the socket `target` names, if any.
fn send(target: Option<&OsStr>, state: &str) -> io::Result<()> {
    let Some(target) = target else {
        return Ok(());
    };
    let address = match target.as_bytes() {
        [b'@', name @ ..] => SocketAddr::from_abstract_name(name)?,
        path => SocketAddr::from_pathname(OsStr::from_bytes(path))?,
    };
    // A unix datagram is sent whole or not at all.
    UnixDatagram::unbound()?.send_to_addr(state.as_bytes(), &address)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A path and an abstract name receive exactly the datagram systemd parses.
    #[test]
    fn ready_reaches_a_path_and_an_abstract_socket() {
        let dir = std::env::temp_dir().join(format!("nlsel-notify-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("notify");
        let _ = std::fs::remove_file(&path); // left by a run that was killed
        let listener = UnixDatagram::bind(&path).unwrap();
        let name = format!("nlsel-notify-test-{}", std::process::id());
        let abstract_listener =
            UnixDatagram::bind_addr(&SocketAddr::from_abstract_name(name.as_bytes()).unwrap())
                .unwrap();
        // A datagram that never comes fails the test instead of hanging it.
        for socket in [&listener, &abstract_listener] {
            socket
                .set_read_timeout(Some(std::time::Duration::from_secs(5)))
                .unwrap();
        }
        let mut buffer = [0u8; 256];
        let expected = &ready_state("ready");

        send(Some(path.as_os_str()), expected).unwrap();
        let n = listener.recv(&mut buffer).unwrap();
        assert_eq!(&buffer[..n], expected.as_bytes());

        let at_name = format!("@{name}");
        send(Some(OsStr::new(&at_name)), expected).unwrap();
        let n = abstract_listener.recv(&mut buffer).unwrap();
        assert_eq!(&buffer[..n], expected.as_bytes());

        // A socket nobody listens on is an error the caller reports.
        assert!(send(Some(dir.join("absent").as_os_str()), expected).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Without `$NOTIFY_SOCKET` nothing is sent, and that is no error.
    #[test]
    fn no_socket_sends_nothing() {
        send(None, &ready_state("ready")).unwrap();
    }

    /// systemd reads `READY=1` as a line of its own, and shows the STATUS= line.
    #[test]
    fn ready_is_what_systemd_parses() {
        let state = ready_state("first pass applied");
        let lines: Vec<&str> = state.lines().collect();
        assert_eq!(lines, ["READY=1", "STATUS=first pass applied"]);
        assert!(state.ends_with('\n'));
    }
}
