//! Requests and the answers that belong to them, on top of [`Socket`].
//!
//! Every request gets a fresh sequence number and `NLM_F_ACK`; a reply whose sequence number is
//! not the one awaited is a leftover of an earlier request and is dropped. Dumps are read to
//! NLMSG_DONE and started again, a bounded number of times, when the kernel marks them
//! inconsistent (`NLM_F_DUMP_INTR`) or drops part of them (ENOBUFS). Changes go out in batches,
//! many messages per datagram, and their ACKs are collected without a round trip per message;
//! a batch is as large as the receive buffer the kernel really granted allows.
//!
//! Notifications are told from replies by what they are, not by their sequence number: a
//! message that is not a control message (`NLMSG_ERROR`, `NLMSG_DONE`…) and not part of a dump
//! (`NLM_F_MULTI`) is a notification when its type is one the connection keeps. IPv4 address
//! notifications carry the sequence number and port of whoever caused them, IPv6 ones 0/0, so
//! the sequence number cannot tell.
//!
//! Every wait has a bound: no read waits longer than [`REPLY_DEADLINE`] for the kernel's next
//! datagram, and after an overrun a request stops waiting for an ACK the kernel may have
//! dropped and reports its outcome as unknown, so that the caller reads the state again.
//!
//! The connection talks to the kernel through [`Transport`]: the real [`Socket`] in the
//! binary, a scripted replay of what each kernel generation writes in the tests
//! (`nl/replay.rs`). `Conn` is generic over it with `Socket` as the default, so the binary
//! has one instance of every method and no dynamic dispatch.

use std::io;
use std::time::{Duration, Instant};

use super::error::{DoneMessage, ErrorMessage, ExtAck};
use super::header::{
    Message, Messages, NLMSG_DONE, NLMSG_ERROR, NLMSG_NOOP, NLMSG_OVERRUN, NlmFlags, emit_message,
};
use super::socket::Socket;
use super::{Emit, Error, add_len};

/// What a connection needs from its socket: datagrams out and in, group membership, and the
/// receive buffer the kernel granted. Errors keep the kernel's errno: ENOBUFS from a receive
/// means the kernel dropped messages for this socket; `TimedOut` means nothing came by the
/// deadline.
pub trait Transport {
    /// Sends one datagram, which may hold many messages. The kernel handles every message
    /// before the call returns, so their replies are queued by then.
    fn send(&mut self, datagram: &[u8]) -> io::Result<()>;
    /// The next datagram from the kernel, waiting for it until `deadline`.
    fn recv_until(&mut self, deadline: Instant) -> io::Result<&[u8]>;
    /// The next datagram from the kernel, or `None` at once when nothing is queued.
    fn try_recv(&mut self) -> io::Result<Option<&[u8]>>;
    /// Joins a multicast group (`RTNLGRP_*`).
    fn add_membership(&mut self, group: u32) -> io::Result<()>;
    /// The receive buffer the kernel granted, in its own accounting.
    fn rcvbuf(&self) -> usize;
}

impl Transport for Socket {
    fn send(&mut self, datagram: &[u8]) -> io::Result<()> {
        Socket::send(self, datagram)
    }

    fn recv_until(&mut self, deadline: Instant) -> io::Result<&[u8]> {
        Socket::recv_until(self, deadline)
    }

    fn try_recv(&mut self) -> io::Result<Option<&[u8]>> {
        Socket::try_recv(self)
    }

    fn add_membership(&mut self, group: u32) -> io::Result<()> {
        Socket::add_membership(self, group)
    }

    fn rcvbuf(&self) -> usize {
        Socket::rcvbuf(self)
    }
}

/// How many times a dump is started before nlsel gives up on getting a consistent one.
pub const MAX_DUMP_ATTEMPTS: u32 = 8;

/// At most this many messages go out in one datagram, however large the receive buffer.
pub const MAX_BATCH_MESSAGES: usize = 512;

/// What one change costs in the receive queue, in the kernel's accounting (`truesize`, the
/// whole allocation of each queued datagram): its ACK and the address notification it causes,
/// each a datagram of its own of well under 1 KiB.
const QUEUE_BYTES_PER_CHANGE: usize = 2048;

/// The longest nlsel waits for the kernel's next datagram while it expects one (a reply, the
/// rest of a dump, an ACK). The kernel answers within microseconds unless the RTNL lock is
/// held for long; past this, the request fails with [`RequestError::NoAnswer`].
pub const REPLY_DEADLINE: Duration = Duration::from_secs(10);

/// How many changes go out in one datagram when the kernel granted a receive buffer of
/// `rcvbuf` bytes: their ACKs and notifications must fit in half of it, the other half left
/// for notifications caused by other processes meanwhile. Never less than one.
pub fn batch_messages(rcvbuf: usize) -> usize {
    (rcvbuf / 2 / QUEUE_BYTES_PER_CHANGE).clamp(1, MAX_BATCH_MESSAGES)
}

/// What the kernel answered, as errno and its extended-ack text. `present::errno` words it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelError {
    /// The positive errno.
    pub errno: i32,
    /// `NLMSGERR_ATTR_MSG`, when the kernel sent one.
    pub message: Option<String>,
}

impl KernelError {
    fn from_ext_ack(errno: i32, ext_ack: &ExtAck<'_>) -> Self {
        let message = ext_ack
            .msg
            .map(|msg| String::from_utf8_lossy(msg).into_owned());
        KernelError { errno, message }
    }
}

/// Why a request did not get its answer. Its words, and the advice for each errno, are in
/// `present::errno`.
#[derive(Debug)]
pub enum RequestError {
    /// A system call failed.
    Io { call: Call, source: io::Error },
    /// The kernel refused the request.
    Kernel(KernelError),
    /// The kernel's answer could not be decoded.
    Decode(Error),
    /// Every attempt at a dump was interrupted by concurrent changes or overruns.
    DumpInconsistent { attempts: u32 },
    /// The kernel dropped acknowledgements (receive buffer overrun), so the outcome of that
    /// many changes is unknown.
    AcksLost { missing: usize },
    /// The kernel sent nothing for [`REPLY_DEADLINE`] while an answer was due.
    NoAnswer { waited: Duration },
}

impl std::error::Error for RequestError {}

impl From<Error> for RequestError {
    fn from(error: Error) -> Self {
        RequestError::Decode(error)
    }
}

impl RequestError {
    /// The errno behind this error, when there is one.
    pub fn errno(&self) -> Option<i32> {
        match self {
            RequestError::Io { source, .. } => source.raw_os_error(),
            RequestError::Kernel(error) => Some(error.errno),
            _ => None,
        }
    }
}

/// The system call behind a [`RequestError::Io`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    /// Opening the socket.
    Socket,
    /// Joining a multicast group.
    JoinGroup,
    Send,
    Recv,
}

fn io_error(call: Call) -> impl FnOnce(io::Error) -> RequestError {
    move |source| RequestError::Io { call, source }
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

/// A message the kernel sent unasked, to a multicast group this connection joined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub msg_type: u16,
    pub flags: NlmFlags,
    pub payload: Vec<u8>,
}

/// A NETLINK_ROUTE connection: the socket, the sequence counter, a send buffer, and the
/// notifications read so far, in the kernel's order.
///
/// Notifications share the socket with replies, and the kernel queues both in the order it
/// produced them, so the position of a notification among replies tells what happened first.
pub struct Conn<T: Transport = Socket> {
    transport: T,
    next_seq: u32,
    send_buf: Vec<u8>,
    /// Which notification types to keep; the others are read and dropped.
    keep: Vec<u16>,
    notifications: Vec<Notification>,
    /// The kernel dropped messages for us (ENOBUFS): notifications may be missing.
    overrun: bool,
}

/// What [`Conn::read_replies`] hands its caller.
enum Incoming<'a> {
    Reply(Message<'a>),
    /// The kernel dropped messages for this socket (ENOBUFS).
    Overrun,
}

/// Whether a reply ends what the caller waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Done {
    Yes,
    No,
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
fn record(keep: &[u16], notifications: &mut Vec<Notification>, message: &Message<'_>) -> bool {
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

impl Conn {
    pub fn open() -> Result<Conn, RequestError> {
        let socket = Socket::open().map_err(io_error(Call::Socket))?;
        // Start from a value unlikely to match leftovers addressed to an earlier socket.
        let next_seq = std::process::id().rotate_left(16) | 1;
        Ok(Conn::over(socket, next_seq))
    }

    pub fn socket(&self) -> &Socket {
        &self.transport
    }
}

impl<T: Transport> Conn<T> {
    /// A connection over `transport` whose first request has sequence number `first_seq`.
    pub fn over(transport: T, first_seq: u32) -> Conn<T> {
        Conn {
            transport,
            next_seq: first_seq,
            send_buf: Vec::new(),
            keep: Vec::new(),
            notifications: Vec::new(),
            overrun: false,
        }
    }

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

    /// How many changes [`Conn::batch`] sends per datagram on this socket.
    pub fn batch_len(&self) -> usize {
        batch_messages(self.transport.rcvbuf())
    }

    /// A fresh sequence number; never 0, which marks the kernel's notifications.
    fn take_seq(&mut self) -> u32 {
        if self.next_seq == 0 {
            self.next_seq = 1;
        }
        let seq = self.next_seq;
        self.next_seq = self.next_seq.wrapping_add(1);
        seq
    }

    fn send_one(
        &mut self,
        msg_type: u16,
        flags: NlmFlags,
        body: &dyn Emit,
    ) -> Result<u32, RequestError> {
        let seq = self.take_seq();
        self.send_buf.clear();
        let len = Message::buffer_len(body.buffer_len()?)?;
        self.send_buf.resize(len, 0);
        emit_message(&mut self.send_buf, msg_type, flags, seq, body)?;
        self.transport
            .send(&self.send_buf)
            .map_err(io_error(Call::Send))?;
        Ok(seq)
    }

    /// Reads datagrams until `handle` says it has what it waited for, handing it every reply
    /// with sequence number `seq`, and [`Incoming::Overrun`] when the kernel dropped messages.
    /// Notifications are kept by [`record`]; other replies are leftovers of earlier requests
    /// and dropped. No datagram is waited for longer than [`REPLY_DEADLINE`].
    /// `handle` is a trait object so that this loop is compiled once, not once per caller.
    fn read_replies(
        &mut self,
        seq: u32,
        handle: &mut dyn FnMut(Incoming<'_>) -> Result<Done, RequestError>,
    ) -> Result<(), RequestError> {
        loop {
            let datagram = match self.transport.recv_until(reply_deadline()) {
                Ok(datagram) => datagram,
                Err(error) if error.kind() == io::ErrorKind::TimedOut => {
                    return Err(RequestError::NoAnswer {
                        waited: REPLY_DEADLINE,
                    });
                }
                Err(error) if error.raw_os_error() == Some(libc::ENOBUFS) => {
                    self.overrun = true;
                    if handle(Incoming::Overrun)? == Done::Yes {
                        return Ok(());
                    }
                    continue;
                }
                Err(error) => return Err(io_error(Call::Recv)(error)),
            };
            for message in Messages::new(datagram) {
                let message = message?;
                if record(&self.keep, &mut self.notifications, &message)
                    || message.header.seq != seq
                {
                    continue;
                }
                if handle(Incoming::Reply(message))? == Done::Yes {
                    return Ok(());
                }
            }
        }
    }

    /// Dumps objects of one kind. `each` sees every message of the dump in order and folds it
    /// into a state made by `init`; when the dump must start again, so does the state.
    pub fn dump<State>(
        &mut self,
        msg_type: u16,
        body: &dyn Emit,
        mut init: impl FnMut() -> State,
        mut each: impl FnMut(&mut State, Message<'_>) -> Result<(), Error>,
    ) -> Result<State, RequestError> {
        let mut state = init();
        self.dump_messages(msg_type, body, &mut |message| match message {
            Some(message) => each(&mut state, message),
            None => {
                state = init();
                Ok(())
            }
        })?;
        Ok(state)
    }

    /// [`Conn::dump`] without its state, so that it is compiled once for every kind of object
    /// (each copy cost the release binary about 600 bytes): `each` sees `Some` message of the
    /// dump in order, and `None` when the dump starts again.
    fn dump_messages(
        &mut self,
        msg_type: u16,
        body: &dyn Emit,
        each: &mut dyn FnMut(Option<Message<'_>>) -> Result<(), Error>,
    ) -> Result<(), RequestError> {
        let flags = NlmFlags::REQUEST | NlmFlags::DUMP | NlmFlags::ACK;
        for attempt in 0..MAX_DUMP_ATTEMPTS {
            let seq = self.send_one(msg_type, flags, body)?;
            if attempt > 0 {
                each(None)?;
            }
            let mut consistent = true;
            self.read_replies(seq, &mut |incoming| {
                let message = match incoming {
                    // Part of the dump was dropped; read on to its end, then start again.
                    Incoming::Overrun => {
                        consistent = false;
                        return Ok(Done::No);
                    }
                    Incoming::Reply(message) => message,
                };
                if message.header.flags.contains(NlmFlags::DUMP_INTR) {
                    consistent = false;
                }
                match message.header.msg_type {
                    NLMSG_DONE => {
                        let (done, _) = DoneMessage::parse(message.header.flags, message.payload)?;
                        match done.errno() {
                            // The dump was interrupted: start again.
                            Some(libc::EINTR) => consistent = false,
                            Some(errno) => {
                                let error = KernelError::from_ext_ack(errno, &done.ext_ack);
                                return Err(RequestError::Kernel(error));
                            }
                            None => {}
                        }
                        return Ok(Done::Yes);
                    }
                    NLMSG_ERROR => {
                        let (error, _) =
                            ErrorMessage::parse(message.header.flags, message.payload)?;
                        if let Some(errno) = error.errno() {
                            let error = KernelError::from_ext_ack(errno, &error.ext_ack);
                            return Err(RequestError::Kernel(error));
                        }
                        return Ok(Done::Yes);
                    }
                    NLMSG_OVERRUN => consistent = false,
                    NLMSG_NOOP => {}
                    _ if consistent => each(Some(message))?,
                    _ => {}
                }
                Ok(Done::No)
            })?;
            if consistent {
                return Ok(());
            }
        }
        Err(RequestError::DumpInconsistent {
            attempts: MAX_DUMP_ATTEMPTS,
        })
    }

    /// Sends one request that is not a dump and hands each reply message to `each`, until the
    /// kernel's ACK. After an overrun the ACK may have been dropped: the request then ends with
    /// [`RequestError::AcksLost`] at once, and its outcome is for the caller to read back.
    pub fn request(
        &mut self,
        msg_type: u16,
        body: &dyn Emit,
        mut each: impl FnMut(Message<'_>) -> Result<(), Error>,
    ) -> Result<(), RequestError> {
        let seq = self.send_one(msg_type, NlmFlags::REQUEST | NlmFlags::ACK, body)?;
        self.read_replies(seq, &mut |incoming| {
            let Incoming::Reply(message) = incoming else {
                return Err(RequestError::AcksLost { missing: 1 });
            };
            match message.header.msg_type {
                NLMSG_ERROR => {
                    let (error, _) = ErrorMessage::parse(message.header.flags, message.payload)?;
                    match error.errno() {
                        Some(errno) => Err(RequestError::Kernel(KernelError::from_ext_ack(
                            errno,
                            &error.ext_ack,
                        ))),
                        None => Ok(Done::Yes),
                    }
                }
                NLMSG_NOOP | NLMSG_DONE => Ok(Done::No),
                _ => {
                    each(message)?;
                    Ok(Done::No)
                }
            }
        })
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

/// [`REPLY_DEADLINE`] from now.
fn reply_deadline() -> Instant {
    let now = Instant::now();
    // Never fails: Instant has centuries of room.
    now.checked_add(REPLY_DEADLINE).unwrap_or(now)
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
    fn batches_fit_the_granted_receive_buffer() {
        // rmem_max at the kernel default 212992, doubled by the kernel: a rootless container.
        assert_eq!(batch_messages(425_984), 104);
        // The 4 MiB nlsel asks for, granted (and doubled) under CAP_NET_ADMIN.
        assert_eq!(batch_messages(8 << 20), MAX_BATCH_MESSAGES);
        assert_eq!(batch_messages(0), 1);
        assert_eq!(batch_messages(usize::MAX), MAX_BATCH_MESSAGES);
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

    /// Replays of what each kernel generation writes, through the connection logic.
    mod replay {
        use std::net::IpAddr;

        use super::*;
        use crate::nl::Family;
        use crate::nl::addr::{AddrMessage, IfaFlags};
        use crate::nl::header::RTM_GETADDR;
        use crate::nl::replay::{Event, Replay, datagram, with_seq};
        use crate::nl::route::RouteMessage;

        // netlink_ack of 3.10 (vz7) to 4.11: a success ACK echoes the request header only,
        // without NLM_F_CAPPED.
        static ACK_V3_10: &[u8] = include_bytes!("testdata/ack_v3.10.bin");
        // 6.18 (the 4.12 layout): the same, flagged NLM_F_CAPPED.
        static ACK_CAPPED: &[u8] = include_bytes!("testdata/newaddr_ack.bin");
        static ERROR_V3_10: &[u8] = include_bytes!("testdata/error_v3.10.bin");
        static ERROR_V4_9_CAP_ACK: &[u8] = include_bytes!("testdata/error_v4.9_cap_ack.bin");
        static ERROR_V4_12_OFFS: &[u8] = include_bytes!("testdata/error_v4.12_capped_offs.bin");
        static ERROR_EXTACK: &[u8] = include_bytes!("testdata/error_extack.bin");
        static ERROR_EXTACK_UNCAPPED: &[u8] = include_bytes!("testdata/error_extack_uncapped.bin");
        static DUMP_V3_10: &[u8] = include_bytes!("testdata/addr_dump_v3.10.bin");
        static DUMP_V3_10_INTR: &[u8] = include_bytes!("testdata/addr_dump_v3.10_intr.bin");
        static DUMP_V6_18: &[u8] = include_bytes!("testdata/addr_dump_v6.bin");

        const GET_ROUTE_TEXT: &str = "ipv6: Invalid values in header for get route request";

        fn body() -> RouteMessage {
            RouteMessage::get(IpAddr::from([0x2001, 0xdb8, 0, 0, 0, 0, 0, 9]))
        }

        fn request(answer: &[u8], first_seq: u32) -> Result<(), RequestError> {
            let replay = Replay::new().answer(vec![datagram(answer)]);
            let mut conn = Conn::over(replay, first_seq);
            let result = conn.request(RTM_NEWADDR, &body(), |_| Ok(()));
            assert!(conn.transport.finished());
            result
        }

        fn kernel_error(result: Result<(), RequestError>) -> KernelError {
            match result {
                Err(RequestError::Kernel(error)) => error,
                other => panic!("expected the kernel's refusal, got {other:?}"),
            }
        }

        #[test]
        fn success_acks_of_every_generation_complete_a_request() {
            request(ACK_V3_10, 5).unwrap();
            request(ACK_CAPPED, 5).unwrap();
            // An ACK of another request is a leftover: the request waits on, and then times
            // out, rather than taking it for its own.
            assert!(matches!(
                request(ACK_V3_10, 4),
                Err(RequestError::NoAnswer { .. })
            ));
        }

        #[test]
        fn error_acks_of_every_generation_give_the_errno_and_text() {
            let nodev = KernelError {
                errno: libc::ENODEV,
                message: None,
            };
            // 3.10 to 4.11 echo the whole request; 4.3 to 4.11 under NETLINK_CAP_ACK its
            // header only, without saying so.
            assert_eq!(kernel_error(request(ERROR_V3_10, 6)), nodev);
            assert_eq!(kernel_error(request(ERROR_V4_9_CAP_ACK, 6)), nodev);
            // 4.12 on: capped, with NLMSGERR_ATTR_OFFS and no text.
            let range = kernel_error(request(ERROR_V4_12_OFFS, 7));
            assert_eq!((range.errno, range.message), (libc::ERANGE, None));
            // 6.18, capped and uncapped, with a text.
            for (bytes, seq) in [(ERROR_EXTACK, 8), (ERROR_EXTACK_UNCAPPED, 1)] {
                let error = kernel_error(request(bytes, seq));
                assert_eq!(error.errno, libc::EINVAL);
                assert_eq!(error.message.as_deref(), Some(GET_ROUTE_TEXT));
            }
        }

        fn batch(answer: Vec<Event>, count: usize) -> (BatchOutcome, Conn<Replay>) {
            let replay = Replay::new().answer(answer);
            let mut conn = Conn::over(replay, 5);
            conn.subscribe(&[], &[RTM_NEWADDR]).unwrap();
            let outcome = conn.batch(
                RTM_NEWADDR,
                NlmFlags::REPLACE,
                std::iter::repeat_n(body(), count),
            );
            (outcome, conn)
        }

        #[test]
        fn a_batch_reads_pre_4_12_acks_and_stops_after_a_refusal() {
            let refused = with_seq(ERROR_V3_10, 6);
            let answer = vec![
                datagram(ACK_V3_10),
                datagram(&refused),
                datagram(&with_seq(ACK_V3_10, 7)),
            ];
            let (outcome, conn) = batch(answer, 3);
            assert!(outcome.failure.is_none(), "{:?}", outcome.failure);
            assert_eq!(outcome.sent, 3);
            assert_eq!(outcome.results[0], Some(Ok(())));
            assert_eq!(
                outcome.results[1]
                    .as_ref()
                    .unwrap()
                    .as_ref()
                    .unwrap_err()
                    .errno,
                libc::ENODEV
            );
            assert_eq!(outcome.results[2], Some(Ok(())));
            assert_eq!(
                conn.transport.sent.len(),
                1,
                "one datagram for the whole batch"
            );
        }

        #[test]
        fn an_overrun_mid_batch_loses_only_the_dropped_ack() {
            // The kernel queued the first ACK, dropped the second, queued the third.
            let answer = vec![
                datagram(ACK_V3_10),
                Event::Overrun,
                datagram(&with_seq(ACK_CAPPED, 7)),
            ];
            let (outcome, mut conn) = batch(answer, 3);
            assert!(matches!(
                outcome.failure,
                Some(RequestError::AcksLost { missing: 1 })
            ));
            assert_eq!(outcome.results, vec![Some(Ok(())), None, Some(Ok(()))]);
            assert!(
                conn.take_overrun(),
                "whoever relies on notifications must look again"
            );
            assert!(!conn.take_overrun());
        }

        #[test]
        fn a_notification_among_the_acks_is_kept_in_its_place() {
            // inet6_ifa_notify: an RTM_NEWADDR without NLM_F_MULTI, sequence number 0.
            let mut notification = DUMP_V3_10[128..192].to_vec();
            notification[6..8].copy_from_slice(&0u16.to_ne_bytes());
            notification[8..16].fill(0);
            let answer = vec![
                datagram(ACK_V3_10),
                datagram(&notification),
                datagram(&with_seq(ACK_V3_10, 6)),
            ];
            let (outcome, conn) = batch(answer, 2);
            assert!(outcome.failure.is_none());
            assert_eq!(outcome.notifications_before_ack, vec![0, 1]);
            assert_eq!(conn.notifications().len(), 1);
            assert_eq!(conn.notifications()[0].msg_type, RTM_NEWADDR);
        }

        /// Each address of a dump: where, its flags, its preferred lifetime.
        type Found = Vec<(IpAddr, IfaFlags, u32)>;

        fn dump_addresses(replay: Replay) -> (Result<Found, RequestError>, Replay) {
            let mut conn = Conn::over(replay, 1);
            let result = conn.dump(
                RTM_GETADDR,
                &AddrMessage::empty(Family::Inet6),
                Vec::new,
                |found, message| {
                    let (address, _) = AddrMessage::parse(message.payload)?;
                    let preferred = address.cacheinfo.map_or(0, |c| c.preferred_lft);
                    found.push((address.address.unwrap(), address.flags(), preferred));
                    Ok(())
                },
            );
            (result, conn.transport)
        }

        #[test]
        fn a_3_10_dump_without_ifa_flags_reads_its_header_flags() {
            let (found, replay) = dump_addresses(Replay::new().answer(vec![datagram(DUMP_V3_10)]));
            let found = found.unwrap();
            assert!(replay.finished());
            assert_eq!(found.len(), 5);
            let (dead, flags, preferred) = found[3];
            assert_eq!(
                dead,
                "2001:db8:f1c1:8454:964::dead".parse::<IpAddr>().unwrap()
            );
            assert!(flags.contains(IfaFlags::DEPRECATED) && flags.contains(IfaFlags::NODAD));
            assert!(!flags.contains(IfaFlags::PERMANENT));
            assert_eq!(preferred, 0);
            assert!(found[1].1.contains(IfaFlags::PERMANENT));
        }

        #[test]
        fn an_interrupted_dump_is_started_again() {
            // NLM_F_DUMP_INTR (3.10's nl_dump_check_consistent) on the first; then a clean
            // one of 6.18's layout.
            let replay = Replay::new()
                .answer(vec![datagram(DUMP_V3_10_INTR)])
                .answer(vec![datagram(&with_seq(DUMP_V6_18, 2))]);
            let (found, replay) = dump_addresses(replay);
            assert!(replay.finished());
            assert_eq!(replay.sent.len(), 2);
            let found = found.unwrap();
            assert_eq!(found.len(), 6, "only the second dump's addresses");
        }

        #[test]
        fn a_dump_overrun_mid_way_is_read_to_its_end_and_started_again() {
            let (first, rest) = DUMP_V3_10.split_at(128);
            let replay = Replay::new()
                .answer(vec![datagram(first), Event::Overrun, datagram(rest)])
                .answer(vec![datagram(&with_seq(DUMP_V3_10, 2))]);
            let (found, replay) = dump_addresses(replay);
            assert!(replay.finished());
            assert_eq!(found.unwrap().len(), 5);
        }

        #[test]
        fn a_dump_interrupted_every_time_gives_up() {
            let mut replay = Replay::new();
            for attempt in 0..MAX_DUMP_ATTEMPTS {
                replay = replay.answer(vec![datagram(&with_seq(DUMP_V3_10_INTR, attempt + 1))]);
            }
            let (found, replay) = dump_addresses(replay);
            assert!(replay.finished());
            assert!(matches!(
                found,
                Err(RequestError::DumpInconsistent {
                    attempts: MAX_DUMP_ATTEMPTS
                })
            ));
        }
    }
}
