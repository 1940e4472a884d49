//! A scripted [`Transport`] for tests: the kernel's side of a connection replayed from bytes,
//! so the connection logic can be run against what each kernel generation writes (the
//! fixtures of `tools/kernel_fixtures.py` and the captures of `tools/capture.py`) without
//! that kernel.
//!
//! The script follows how the kernel answers: it handles every message of a datagram inside
//! `sendmsg`, so the answer to the n-th datagram sent is queued, whole, when that send
//! returns. Datagrams queued before any send stand for notifications already waiting.

use std::collections::VecDeque;
use std::io;
use std::time::Instant;

use super::header::NLMSG_ERROR;
use super::request::Transport;

/// One thing the kernel does to the receive queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A datagram is queued.
    Datagram(Vec<u8>),
    /// The kernel dropped messages: the next receive fails with ENOBUFS.
    Overrun,
}

pub struct Replay {
    /// What the kernel queues in answer to each datagram sent, in order.
    answers: VecDeque<Vec<Event>>,
    queue: VecDeque<Event>,
    current: Vec<u8>,
    /// Every datagram sent, in order.
    pub sent: Vec<Vec<u8>>,
    /// Every group joined.
    pub groups: Vec<u32>,
    rcvbuf: usize,
}

impl Default for Replay {
    fn default() -> Replay {
        Replay::new()
    }
}

impl Replay {
    /// A kernel that has queued nothing yet and grants the receive buffer nlsel asks for.
    pub fn new() -> Replay {
        Replay {
            answers: VecDeque::new(),
            queue: VecDeque::new(),
            current: Vec::new(),
            sent: Vec::new(),
            groups: Vec::new(),
            rcvbuf: 8 << 20,
        }
    }

    /// Queues `events` now, before anything is sent.
    pub fn queued(mut self, events: Vec<Event>) -> Replay {
        self.queue.extend(events);
        self
    }

    /// What the kernel queues when the next unanswered datagram is sent.
    pub fn answer(mut self, events: Vec<Event>) -> Replay {
        self.answers.push_back(events);
        self
    }

    /// The receive buffer the kernel grants, as `SO_RCVBUF` reads back.
    pub fn rcvbuf(mut self, rcvbuf: usize) -> Replay {
        self.rcvbuf = rcvbuf;
        self
    }

    /// Whether every scripted answer was asked for and every queued event read.
    pub fn finished(&self) -> bool {
        self.answers.is_empty() && self.queue.is_empty()
    }

    fn next(&mut self) -> Option<io::Result<&[u8]>> {
        match self.queue.pop_front()? {
            Event::Datagram(datagram) => {
                self.current = datagram;
                Some(Ok(&self.current))
            }
            Event::Overrun => Some(Err(io::Error::from_raw_os_error(libc::ENOBUFS))),
        }
    }
}

impl Transport for Replay {
    fn send(&mut self, datagram: &[u8]) -> io::Result<()> {
        self.sent.push(datagram.to_vec());
        let answer = self.answers.pop_front().unwrap_or_else(|| {
            panic!(
                "datagram {} sent, but the script has no answer for it",
                self.sent.len()
            )
        });
        self.queue.extend(answer);
        Ok(())
    }

    fn recv_until(&mut self, _deadline: Instant) -> io::Result<&[u8]> {
        // Nothing more will ever come: waiting out the deadline would end the same way.
        self.next()
            .unwrap_or_else(|| Err(io::Error::from(io::ErrorKind::TimedOut)))
    }

    fn try_recv(&mut self) -> io::Result<Option<&[u8]>> {
        self.next().transpose()
    }

    fn add_membership(&mut self, group: u32) -> io::Result<()> {
        self.groups.push(group);
        Ok(())
    }

    fn rcvbuf(&self) -> usize {
        self.rcvbuf
    }
}

/// `datagram` with every message's sequence number, and the one of the request an
/// NLMSG_ERROR echoes, set to `seq`: one fixture answers a request of any number.
pub fn with_seq(datagram: &[u8], seq: u32) -> Vec<u8> {
    let mut out = datagram.to_vec();
    let mut at = 0;
    while at + 16 <= out.len() {
        let len = u32::from_ne_bytes(out[at..at + 4].try_into().unwrap()) as usize;
        let msg_type = u16::from_ne_bytes(out[at + 4..at + 6].try_into().unwrap());
        out[at + 8..at + 12].copy_from_slice(&seq.to_ne_bytes());
        if msg_type == NLMSG_ERROR {
            let echoed = at + 16 + 4 + 8;
            out[echoed..echoed + 4].copy_from_slice(&seq.to_ne_bytes());
        }
        at += len.next_multiple_of(4).max(16);
    }
    out
}

/// A datagram event of `bytes`.
pub fn datagram(bytes: &[u8]) -> Event {
    Event::Datagram(bytes.to_vec())
}

#[cfg(test)]
mod tests {
    use std::process::Command;

    /// The fixtures committed are the ones `tools/kernel_fixtures.py` writes today, so the
    /// kernel source each one cites is the one its bytes follow.
    #[test]
    fn fixtures_are_what_their_generator_writes() {
        let root = env!("CARGO_MANIFEST_DIR");
        let out = std::env::temp_dir().join(format!("nlsel-fixtures-{}", std::process::id()));
        std::fs::create_dir_all(&out).unwrap();
        let run = Command::new("python3")
            .arg(format!("{root}/tools/kernel_fixtures.py"))
            .arg(&out)
            .output();
        let run = match run {
            Ok(run) => run,
            Err(error) if std::env::var_os("CI").is_none() => {
                eprintln!("skipped: python3 cannot run ({error})");
                return;
            }
            Err(error) => panic!("python3: {error}"),
        };
        assert!(run.status.success(), "{run:?}");
        let mut count = 0;
        for entry in std::fs::read_dir(&out).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name();
            let written = std::fs::read(entry.path()).unwrap();
            let committed =
                std::fs::read(format!("{root}/src/nl/testdata/{}", name.to_string_lossy()))
                    .unwrap();
            assert_eq!(written, committed, "{name:?} differs from its generator");
            count += 1;
        }
        std::fs::remove_dir_all(&out).unwrap();
        assert_eq!(count, 8);
    }
}
