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
//!
//! This file holds the connection and single requests; dumps, batches and notifications are
//! `Conn` methods in `request/dump.rs`, `request/batch.rs` and `request/notify.rs`.

use std::io;
use std::time::{Duration, Instant};

use super::error::{ErrorMessage, ExtAck};
use super::header::{
    Message, Messages, NLMSG_DONE, NLMSG_ERROR, NLMSG_NOOP, NlmFlags, emit_message,
};
use super::socket::Socket;
use super::{Emit, Error};

mod batch;
mod dump;
mod notify;

pub use batch::{BatchOutcome, MAX_BATCH_MESSAGES, batch_messages};
pub use dump::MAX_DUMP_ATTEMPTS;
pub use notify::Notification;
use notify::record;

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

/// The longest nlsel waits for the kernel's next datagram while it expects one (a reply, the
/// rest of a dump, an ACK). The kernel answers within microseconds unless the RTNL lock is
/// held for long; past this, the request fails with [`RequestError::NoAnswer`].
pub const REPLY_DEADLINE: Duration = Duration::from_secs(10);

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
    /// The kernel refused the request. Boxed, like [`Error`], to keep every `Result` of a
    /// request small.
    Kernel(Box<KernelError>),
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
                        Some(errno) => Err(RequestError::Kernel(Box::new(
                            KernelError::from_ext_ack(errno, &error.ext_ack),
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
    use crate::nl::header::RTM_NEWADDR;

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
                Err(RequestError::Kernel(error)) => *error,
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
            let mut found = Vec::new();
            let result = conn.dump(
                RTM_GETADDR,
                &AddrMessage::empty(Family::Inet6),
                &mut |message| {
                    let Some(message) = message else {
                        found.clear();
                        return Ok(());
                    };
                    let (address, _) = AddrMessage::parse(message.payload)?;
                    let preferred = address.cacheinfo.map_or(0, |c| c.preferred_lft);
                    found.push((address.address.unwrap(), address.flags(), preferred));
                    Ok(())
                },
            );
            (result.map(|()| found), conn.transport)
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
