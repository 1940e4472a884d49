//! Batches: many changes per datagram, their ACKs collected without a round trip per message,
//! and a batch no larger than the receive buffer the kernel really granted allows.

use super::notify::record;
use super::{Call, Conn, KernelError, RequestError, Transport, io_error};
use crate::nl::error::ErrorMessage;
use crate::nl::header::{Message, Messages, NLMSG_ERROR, NlmFlags, emit_message};
use crate::nl::{Emit, add_len};

/// At most this many messages go out in one datagram, however large the receive buffer.
pub const MAX_BATCH_MESSAGES: usize = 512;

/// What one change costs in the receive queue, in the kernel's accounting (`truesize`, the
/// whole allocation of each queued datagram): its ACK and the address notification it causes,
/// each a datagram of its own of well under 1 KiB.
const QUEUE_BYTES_PER_CHANGE: usize = 2048;

/// How many changes go out in one datagram when the kernel granted a receive buffer of
/// `rcvbuf` bytes: their ACKs and notifications must fit in half of it, the other half left
/// for notifications caused by other processes meanwhile. Never less than one.
pub fn batch_messages(rcvbuf: usize) -> usize {
    (rcvbuf / 2 / QUEUE_BYTES_PER_CHANGE).clamp(1, MAX_BATCH_MESSAGES)
}

/// The outcome of a batch: one entry per message, in order. `None` means the message was not
/// sent, or its ACK never came, because of `failure`.
#[derive(Debug)]
pub struct BatchOutcome {
    pub results: Vec<Option<Result<(), KernelError>>>,
    /// For each message, how many notifications had been kept when its ACK arrived: those
    /// happened before the kernel finished with the message.
    pub notifications_before_ack: Vec<usize>,
    /// How many messages, from the first, were sent; the rest never left.
    pub sent: usize,
    pub failure: Option<RequestError>,
}

impl<T: Transport> Conn<T> {
    /// How many changes [`Conn::batch`] sends per datagram on this socket.
    pub fn batch_len(&self) -> usize {
        batch_messages(self.transport.rcvbuf())
    }

    /// Sends the messages `bodies` (all of type `msg_type`, with `flags`, `NLM_F_REQUEST` and
    /// `NLM_F_ACK`) in batches of many messages per datagram, and collects every ACK. Stops sending after the first batch in
    /// which the kernel refused a message, so that a failure part-way changes as little as
    /// possible beyond what is reported.
    pub fn batch<E: Emit>(
        &mut self,
        msg_type: u16,
        flags: NlmFlags,
        bodies: impl ExactSizeIterator<Item = E>,
    ) -> BatchOutcome {
        let flags = flags | NlmFlags::REQUEST | NlmFlags::ACK;
        let total = bodies.len();
        let mut bodies = bodies.fuse();
        let mut outcome = BatchOutcome {
            results: vec![None; total],
            notifications_before_ack: vec![0; total],
            sent: 0,
            failure: None,
        };
        let batch_len = self.batch_len();
        let mut start: usize = 0;
        while start < total {
            // Keep the chunk's sequence numbers contiguous: restart below a wrap (and 0).
            let span = u32::try_from(batch_len).unwrap_or(u32::MAX);
            if self.next_seq.checked_add(span).is_none() || self.next_seq == 0 {
                self.next_seq = 1;
            }
            let first_seq = self.next_seq;
            let count = match self.send_chunk(msg_type, flags, &mut bodies, batch_len) {
                Ok(0) => break,
                Ok(count) => count,
                Err(failure) => {
                    outcome.failure = Some(failure);
                    break;
                }
            };
            let end = start.saturating_add(count);
            outcome.sent = end;
            let results = outcome.results.get_mut(start..end).unwrap_or_default();
            let positions = outcome
                .notifications_before_ack
                .get_mut(start..end)
                .unwrap_or_default();
            if let Err(failure) = self.collect_acks(first_seq, results, positions) {
                outcome.failure = Some(failure);
                break;
            }
            if results.iter().any(|result| matches!(result, Some(Err(_)))) {
                break;
            }
            start = end;
        }
        outcome
    }

    /// Emits up to `batch_len` messages from `bodies` into one datagram and sends it.
    /// Each message is built only now, so a large plan never exists as messages all at once.
    /// Returns how many were sent.
    fn send_chunk<E: Emit>(
        &mut self,
        msg_type: u16,
        flags: NlmFlags,
        bodies: &mut impl Iterator<Item = E>,
        batch_len: usize,
    ) -> Result<usize, RequestError> {
        self.send_buf.clear();
        let mut count: usize = 0;
        for body in bodies.take(batch_len) {
            let seq = self.take_seq();
            let at = self.send_buf.len();
            let len = Message::buffer_len(body.buffer_len()?)?;
            self.send_buf.resize(add_len(at, len, "batch")?, 0);
            let out = self.send_buf.get_mut(at..).unwrap_or_default();
            emit_message(out, msg_type, flags, seq, &body)?;
            count = count.saturating_add(1);
        }
        if count > 0 {
            self.transport
                .send(&self.send_buf)
                .map_err(io_error(Call::Send))?;
        }
        Ok(count)
    }

    /// Reads the ACKs for the messages numbered `first_seq` onwards into `results`, noting in
    /// `positions` how many notifications had arrived before each.
    ///
    /// The kernel handles a datagram's messages inside the `sendmsg` call, so by the time it
    /// returns every ACK is already queued, or was dropped on overrun. Reading therefore never
    /// waits: an ACK still missing when the queue is empty is lost, and said so.
    fn collect_acks(
        &mut self,
        first_seq: u32,
        results: &mut [Option<Result<(), KernelError>>],
        positions: &mut [usize],
    ) -> Result<(), RequestError> {
        let mut pending = results.len();
        while pending > 0 {
            let datagram = match self.transport.try_recv() {
                Ok(Some(datagram)) => datagram,
                Ok(None) => return Err(RequestError::AcksLost { missing: pending }),
                Err(error) if error.raw_os_error() == Some(libc::ENOBUFS) => {
                    self.overrun = true;
                    continue;
                }
                Err(error) => return Err(io_error(Call::Recv)(error)),
            };
            for message in Messages::new(datagram) {
                let message = message?;
                if record(&self.keep, &mut self.notifications, &message) {
                    continue;
                }
                let index = message.header.seq.wrapping_sub(first_seq) as usize;
                let slot = results.get_mut(index);
                let (NLMSG_ERROR, Some(slot @ None)) = (message.header.msg_type, slot) else {
                    // A leftover reply to an earlier request.
                    continue;
                };
                let (ack, _) = ErrorMessage::parse(message.header.flags, message.payload)?;
                *slot = Some(match ack.errno() {
                    Some(errno) => Err(KernelError::from_ext_ack(errno, &ack.ext_ack)),
                    None => Ok(()),
                });
                if let Some(position) = positions.get_mut(index) {
                    *position = self.notifications.len();
                }
                pending = pending.saturating_sub(1);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_fit_the_granted_receive_buffer() {
        // rmem_max at the kernel default 212992, doubled by the kernel: a rootless container.
        assert_eq!(batch_messages(425_984), 104);
        // The 4 MiB nlsel asks for, granted (and doubled) under CAP_NET_ADMIN.
        assert_eq!(batch_messages(8 << 20), MAX_BATCH_MESSAGES);
        assert_eq!(batch_messages(0), 1);
        assert_eq!(batch_messages(usize::MAX), MAX_BATCH_MESSAGES);
    }
}
