//! Notifications: what the kernel sends unasked to the groups a connection joined, told from
//! replies by what they are, and kept in the kernel's order wherever they are read.

use super::{Call, Conn, RequestError, Transport, io_error};
use crate::nl::header::{
    Message, Messages, NLMSG_DONE, NLMSG_ERROR, NLMSG_NOOP, NLMSG_OVERRUN, NlmFlags,
};

/// A message the kernel sent unasked, to a multicast group this connection joined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub msg_type: u16,
    pub flags: NlmFlags,
    pub payload: Vec<u8>,
}

/// Whether `message` is a notification of a kept type: not a control message, not part of a
/// dump, and of a type in `keep`. Its sequence number says nothing: IPv4 address notifications
/// carry the one of the request that caused them, which may be ours.
fn is_notification(keep: &[u16], message: &Message<'_>) -> bool {
    let control = matches!(
        message.header.msg_type,
        NLMSG_ERROR | NLMSG_DONE | NLMSG_NOOP | NLMSG_OVERRUN
    );
    !control
        && !message.header.flags.contains(NlmFlags::MULTI)
        && keep.contains(&message.header.msg_type)
}

/// Keeps `message` when it is a notification of a kept type (see [`is_notification`]); says
/// whether it was one.
pub(super) fn record(
    keep: &[u16],
    notifications: &mut Vec<Notification>,
    message: &Message<'_>,
) -> bool {
    let is = is_notification(keep, message);
    if is {
        notifications.push(Notification {
            msg_type: message.header.msg_type,
            flags: message.header.flags,
            payload: message.payload.to_vec(),
        });
    }
    is
}

impl<T: Transport> Conn<T> {
    /// Joins the multicast `groups` and keeps the notifications of types `keep` that arrive
    /// from now on, whatever request is being read when they do. Subscriptions add up: each
    /// layer asks for what it needs, and a second call for the same group changes nothing.
    pub fn subscribe(&mut self, groups: &[u32], keep: &[u16]) -> Result<(), RequestError> {
        for &group in groups {
            self.transport
                .add_membership(group)
                .map_err(io_error(Call::JoinGroup))?;
        }
        for &msg_type in keep {
            if !self.keep.contains(&msg_type) {
                self.keep.push(msg_type);
            }
        }
        Ok(())
    }

    /// The notifications kept so far, oldest first.
    pub fn notifications(&self) -> &[Notification] {
        &self.notifications
    }

    /// Hands over the notifications kept so far.
    pub fn take_notifications(&mut self) -> Vec<Notification> {
        std::mem::take(&mut self.notifications)
    }

    /// Whether the kernel dropped messages since the last call: notifications may be missing,
    /// so whoever relies on them must read the state afresh.
    pub fn take_overrun(&mut self) -> bool {
        std::mem::take(&mut self.overrun)
    }

    /// Whether the kernel dropped messages since the last [`Conn::take_overrun`], without
    /// clearing it: for a reader inside a pass, while the loop around it owns the flag.
    pub fn overrun(&self) -> bool {
        self.overrun
    }

    /// Reads whatever the kernel has queued, without waiting, keeping notifications.
    pub fn read_pending(&mut self) -> Result<(), RequestError> {
        while self.read_one_datagram()? {}
        Ok(())
    }

    /// Reads one queued datagram, if there is one, keeping its notifications.
    fn read_one_datagram(&mut self) -> Result<bool, RequestError> {
        let datagram = match self.transport.try_recv() {
            Ok(Some(datagram)) => datagram,
            Ok(None) => return Ok(false),
            Err(error) if error.raw_os_error() == Some(libc::ENOBUFS) => {
                self.overrun = true;
                return Ok(true);
            }
            Err(error) => return Err(io_error(Call::Recv)(error)),
        };
        for message in Messages::new(datagram) {
            // Anything else is a leftover reply to an earlier request.
            let _ = record(&self.keep, &mut self.notifications, &message?);
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nl::header::{Header, RTM_DELADDR, RTM_NEWADDR, RTM_NEWROUTE};

    fn message(msg_type: u16, flags: NlmFlags, seq: u32, pid: u32) -> Message<'static> {
        Message {
            header: Header {
                len: 16,
                msg_type,
                flags,
                seq,
                pid,
            },
            payload: &[],
        }
    }

    #[test]
    fn notifications_are_told_by_kind_not_by_sequence_number() {
        let keep = [RTM_NEWADDR, RTM_DELADDR];
        // IPv4 notifications carry the deleter's sequence number and port, which may even be
        // the ones nlsel awaits; IPv6 ones carry 0.
        assert!(is_notification(
            &keep,
            &message(RTM_DELADDR, NlmFlags::empty(), 1234, 99)
        ));
        assert!(is_notification(
            &keep,
            &message(RTM_DELADDR, NlmFlags::empty(), 0, 0)
        ));
        // Dump replies and control messages never are, whatever their numbers.
        assert!(!is_notification(
            &keep,
            &message(RTM_NEWADDR, NlmFlags::MULTI, 0, 0)
        ));
        for control in [NLMSG_ERROR, NLMSG_DONE, NLMSG_NOOP, NLMSG_OVERRUN] {
            assert!(!is_notification(
                &[control],
                &message(control, NlmFlags::empty(), 0, 0)
            ));
        }
        // A reply to a request that is not a dump, of a type not kept: a reply.
        assert!(!is_notification(
            &keep,
            &message(RTM_NEWROUTE, NlmFlags::empty(), 7, 1)
        ));
    }
}
