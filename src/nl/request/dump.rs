//! Dumps: read to NLMSG_DONE, and started again, a bounded number of times, when the kernel
//! marks one inconsistent (`NLM_F_DUMP_INTR`) or drops part of it (ENOBUFS).

use super::{Conn, Done, Incoming, KernelError, RequestError, Transport};
use crate::nl::error::{DoneMessage, ErrorMessage};
use crate::nl::header::{Message, NLMSG_DONE, NLMSG_ERROR, NLMSG_NOOP, NLMSG_OVERRUN, NlmFlags};
use crate::nl::{Emit, Error};

/// How many times a dump is started before nlsel gives up on getting a consistent one.
pub const MAX_DUMP_ATTEMPTS: u32 = 8;

impl<T: Transport> Conn<T> {
    /// Dumps objects of one kind: `each` sees `Some` message of the dump in order, and `None`
    /// when the dump starts again (the caller then forgets what it kept). Not generic, so that
    /// it is compiled once for every kind of object (each copy of the generic version it
    /// replaced cost the release binary about 600 bytes).
    pub fn dump(
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
                                return Err(RequestError::Kernel(Box::new(error)));
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
                            return Err(RequestError::Kernel(Box::new(error)));
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
}
